"""Programs are data: TOML files read into frozen dataclasses.

Parsing checks shape and types and names the offending field; the safety
rules that a well-formed program must also pass live in validate.py.
"""

from __future__ import annotations

import math
import os
import stat
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from voicecoach.protocol.exercises import exercise_library, get_exercise

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MAX_NUMBER = 1e6
"""No number in a program is larger than this: a longer hold or a wider angle is refused by
the safety rules anyway, and a bounded number cannot overflow a float."""

STAGES = ("first", "weeks-1-2", "weeks-3-4", "week-5-plus")
"""Progression stages from the seeds, in order. "first" is the very first session."""


class ProgramError(ValueError):
    """A program that cannot be used, with where and why in one line."""

    def __init__(self, source: str, where: str, message: str) -> None:
        self.source = source
        self.where = where
        self.message = message
        super().__init__(f"{source}: {where}: {message}")


@dataclass(frozen=True)
class Cue:
    at_s: float
    """Seconds after the step starts."""
    text: str


@dataclass(frozen=True)
class Step:
    title: str
    angle: int
    """Degrees of inversion below horizontal-upright, as the table's angle scale shows."""
    duration_s: float
    """Hold time (seconds)."""
    instruction: str = ""
    """Spoken when the step starts, after the angle and time."""
    cues: tuple[Cue, ...] = ()
    """Sub-steps of an exercise, spoken at fixed offsets into the step."""
    exercise: str = ""
    """Name of the library exercise (exercises.toml) this step performs; empty = plain hold.
    Its title, instruction and cues are already filled in above."""


@dataclass(frozen=True)
class ReturnProtocol:
    rise_s: float = 10.0
    """Time given to rise slowly to about 30 degrees (seconds)."""
    pause_s: float = 15.0
    """Pause at about 30 degrees; the seeds say 10-15 seconds."""
    upright_s: float = 30.0
    """Stay upright before releasing the ankles; the seeds say 30-60 seconds."""


@dataclass(frozen=True)
class Program:
    name: str
    title: str
    stage: str
    steps: tuple[Step, ...]
    description: str = ""
    conditions: tuple[str, ...] = ()
    """Conditions this program is written for (e.g. "herniated-disc"); empty = general."""
    sessions_per_day: str = ""
    descend_s: float = 15.0
    """Time given to lean back to the first step's angle before the hold clock starts."""
    announce_every_s: float = 30.0
    """Remaining hold time is spoken at this interval."""
    checkin_every_s: float = 60.0
    """Pain check-ins during the hold at this interval."""
    return_protocol: ReturnProtocol = field(default_factory=ReturnProtocol)
    source: str = ""
    """Where the program was read from, for messages."""

    @property
    def hold_s(self) -> float:
        return sum(s.duration_s for s in self.steps)


def _get(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str,
         source: str, default: Any = ..., ) -> Any:
    if key not in table:
        if default is ...:
            raise ProgramError(source, f"{where}{key}", "is missing")
        return default
    value = table[key]
    # bool is an int in Python; a program saying `angle = true` is malformed.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ProgramError(source, f"{where}{key}", f"must be {_kind_name(kind)}, not {value!r}")
    if not isinstance(value, kind):
        raise ProgramError(source, f"{where}{key}", f"must be {_kind_name(kind)}, not {value!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # TOML allows nan and inf, and integers of any size: a hold of nan seconds passes
        # every comparison with a limit, so no such number gets past parsing.
        if not math.isfinite(value):
            raise ProgramError(source, f"{where}{key}", f"must be a finite number, not {value}")
        if abs(value) > MAX_NUMBER:
            raise ProgramError(source, f"{where}{key}",
                               f"{value:.3g} is out of range (at most {MAX_NUMBER:g})")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {int: "a number", float: "a number", str: "text", list: "a list", dict: "a table"}
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))


_NUMBER = (int, float)


def _positive(value: float, where: str, source: str) -> float:
    if value <= 0:
        raise ProgramError(source, where, f"must be more than 0, not {value}")
    return float(value)


def parse_program(data: dict[str, Any], source: str) -> Program:
    """Build a Program from parsed TOML, naming the first malformed field."""
    known = {"name", "title", "stage", "description", "conditions", "sessions_per_day",
             "descend_s", "announce_every_s", "checkin_every_s", "return", "steps"}
    for key in data:
        if key not in known:
            raise ProgramError(source, key, "is not a program field")
    name = _get(data, "name", str, "", source)
    stage = _get(data, "stage", str, "", source)
    if stage not in STAGES:
        raise ProgramError(source, "stage", f"must be one of {', '.join(STAGES)}, not {stage!r}")
    raw_steps = _get(data, "steps", list, "", source)
    if not raw_steps:
        raise ProgramError(source, "steps", "must hold at least one step")
    steps = []
    for i, raw in enumerate(raw_steps, start=1):
        where = f"steps[{i}]."
        if not isinstance(raw, dict):
            raise ProgramError(source, f"steps[{i}]", "must be a table")
        for key in raw:
            if key not in {"title", "angle", "duration_s", "instruction", "cues", "exercise"}:
                raise ProgramError(source, f"{where}{key}", "is not a step field")
        angle = _get(raw, "angle", int, where, source)
        if not 0 < angle <= 90:
            raise ProgramError(source, f"{where}angle", f"must be 1 to 90 degrees, not {angle}")
        exercise_name = _get(raw, "exercise", str, where, source, "")
        exercise = get_exercise(exercise_name) if exercise_name else None
        if exercise_name and exercise is None:
            raise ProgramError(source, f"{where}exercise", f"no such exercise {exercise_name!r}; "
                               f"known: {', '.join(sorted(exercise_library()))}")
        if exercise is not None and "cues" not in raw:
            raw_cues: list[Any] = [{"at_s": at, "text": text} for at, text in exercise.cues]
        else:
            raw_cues = _get(raw, "cues", list, where, source, [])
        cues = []
        for j, cue in enumerate(raw_cues, start=1):
            cwhere = f"{where}cues[{j}]."
            if not isinstance(cue, dict):
                raise ProgramError(source, f"{where}cues[{j}]", "must be a table")
            cues.append(Cue(at_s=float(_get(cue, "at_s", _NUMBER, cwhere, source)),
                            text=_get(cue, "text", str, cwhere, source)))
        duration = _positive(
            _get(raw, "duration_s", _NUMBER, where, source,
                 exercise.duration_s if exercise is not None else ...),
            f"{where}duration_s", source)
        if exercise is not None and "cues" not in raw and duration < exercise.duration_s:
            raise ProgramError(source, f"{where}duration_s",
                               f"{duration:g} s is too short for the {exercise.name} exercise, "
                               f"which needs {exercise.duration_s:g} s")
        for j, cue in enumerate(cues, start=1):
            if not 0 <= cue.at_s < duration:
                raise ProgramError(source, f"{where}cues[{j}].at_s",
                                   f"must fall inside the step (0 to {duration:g} s)")
        steps.append(Step(
            title=_get(raw, "title", str, where, source,
                       exercise.title if exercise is not None else f"Step {i}"),
            angle=angle,
            duration_s=duration,
            instruction=_get(raw, "instruction", str, where, source,
                             exercise.instruction if exercise is not None else ""),
            cues=tuple(cues),
            exercise=exercise_name,
        ))
    ret = _get(data, "return", dict, "", source, {})
    for key in ret:
        if key not in {"rise_s", "pause_s", "upright_s"}:
            raise ProgramError(source, f"return.{key}", "is not a return field")
    defaults = ReturnProtocol()
    return_protocol = ReturnProtocol(**{
        key: _positive(_get(ret, key, _NUMBER, "return.", source, getattr(defaults, key)),
                       f"return.{key}", source)
        for key in ("rise_s", "pause_s", "upright_s")
    })
    conditions = _get(data, "conditions", list, "", source, [])
    if not all(isinstance(c, str) for c in conditions):
        raise ProgramError(source, "conditions", "must be a list of text")
    return Program(
        name=name,
        title=_get(data, "title", str, "", source, name),
        stage=stage,
        steps=tuple(steps),
        description=_get(data, "description", str, "", source, ""),
        conditions=tuple(conditions),
        sessions_per_day=_get(data, "sessions_per_day", str, "", source, ""),
        descend_s=_positive(_get(data, "descend_s", _NUMBER, "", source, 15.0), "descend_s",
                            source),
        announce_every_s=_positive(_get(data, "announce_every_s", _NUMBER, "", source, 30.0),
                                   "announce_every_s", source),
        checkin_every_s=_positive(_get(data, "checkin_every_s", _NUMBER, "", source, 60.0),
                                  "checkin_every_s", source),
        return_protocol=return_protocol,
        source=source,
    )


MAX_PROGRAM_BYTES = 64 * 1024
"""A program is a few hundred bytes; anything this large is not one (and is not read)."""


def load_program_file(path: Path) -> Program:
    """A program from a file the user hands in: only a regular file, size-capped, UTF-8,
    valid TOML, each failure one ProgramError line."""
    source = str(path)
    try:
        # Opened without blocking, and checked before a byte is read: a FIFO or a device
        # would hang the read or never end it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        raise ProgramError(source, "file", f"cannot be read ({e.strerror})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ProgramError(source, "file", "is not a regular file")
    with os.fdopen(fd, "rb") as f:
        try:
            raw = f.read(MAX_PROGRAM_BYTES + 1)
        except OSError as e:
            raise ProgramError(source, "file", f"cannot be read ({e.strerror})") from None
    if len(raw) > MAX_PROGRAM_BYTES:
        raise ProgramError(source, "file", f"is over {MAX_PROGRAM_BYTES // 1024} KB: "
                           "not a program")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProgramError(source, "file", f"is not UTF-8 text (byte {e.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ProgramError(source, "file", f"is not valid TOML ({e})") from None
    except RecursionError:
        raise ProgramError(source, "file", "nests too deeply to be a program") from None
    return parse_program(data, source)


def builtin_program_names() -> list[str]:
    folder = resources.files("voicecoach.protocol") / "programs"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir()
                  if p.name.endswith(".toml"))


def load_builtin(name: str) -> Program:
    folder = resources.files("voicecoach.protocol") / "programs"
    entry = folder / f"{name}.toml"
    if not entry.is_file():
        raise ProgramError(name, "program", "no such built-in program; "
                           f"known: {', '.join(builtin_program_names())}")
    data = tomllib.loads(entry.read_text(encoding="utf-8"))
    return parse_program(data, f"built-in program {name!r}")


DEFAULT_PROGRAM = "first-session"
