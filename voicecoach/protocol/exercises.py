"""The exercise library: short spoken routines a program step can name.

A step with `exercise = "side-arch"` takes its title, instruction, cues and
(unless it says otherwise) its duration from here, so every program that uses
an exercise says it the same way. The library is built-in data in
exercises.toml; the validator also knows each exercise's earliest stage.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LIBRARY_FILE = "exercises.toml"


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    min_stage: str
    """The earliest progression stage this exercise belongs in."""
    hold_s: float
    """How long each position is held (seconds); 0 for a continuous movement."""
    duration_s: float
    """Time the whole routine needs (seconds)."""
    instruction: str
    cues: tuple[tuple[float, str], ...]
    """(seconds into the step, words to say)."""


class ExerciseLibraryError(ValueError):
    """The built-in exercise file is malformed (a packaging bug, caught by the tests)."""


def _field(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ExerciseLibraryError(f"{LIBRARY_FILE}: {where}.{key}: missing or of the wrong type")
    return value


def parse_library(data: dict[str, Any]) -> dict[str, Exercise]:
    library: dict[str, Exercise] = {}
    for name, table in data.items():
        if not isinstance(table, dict):
            raise ExerciseLibraryError(f"{LIBRARY_FILE}: [{name}]: must be a table")
        where = f"[{name}]"
        cues = []
        for j, cue in enumerate(_field(table, "cues", list, where), start=1):
            if not isinstance(cue, dict):
                raise ExerciseLibraryError(f"{LIBRARY_FILE}: {where}.cues[{j}]: must be a table")
            cues.append((float(_field(cue, "at_s", (int, float), f"{where}.cues[{j}]")),
                         _field(cue, "text", str, f"{where}.cues[{j}]")))
        library[name] = Exercise(
            name=name,
            title=_field(table, "title", str, where),
            min_stage=_field(table, "min_stage", str, where),
            hold_s=float(_field(table, "hold_s", (int, float), where)),
            duration_s=float(_field(table, "duration_s", (int, float), where)),
            instruction=_field(table, "instruction", str, where),
            cues=tuple(cues),
        )
    return library


@lru_cache(maxsize=1)
def exercise_library() -> dict[str, Exercise]:
    entry = resources.files("voicecoach.protocol") / LIBRARY_FILE
    return parse_library(tomllib.loads(entry.read_text(encoding="utf-8")))


def get_exercise(name: str) -> Exercise | None:
    return exercise_library().get(name)
