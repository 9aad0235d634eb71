"""Safety rules every program must pass before anyone hangs by it.

Parsing (program.py) makes sure a program is well formed; this module makes
sure it is safe: angles and hold times for its progression stage, the
10-minute ceiling at steep angles, the return-upright timings, check-ins often
enough to notice distress, and cues that can actually be spoken in the time
given. The figures come from the domain sources (see DESIGN.md); each rule
says where it came from.

`load_program()` is the one way the rest of voicecoach gets a program: it
finds it (built-in, the user's config dir, or a file), parses it and refuses
it with one line naming the file, the field and the rule if it is unsafe.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from voicecoach.paths import config_dir
from voicecoach.protocol.exercises import get_exercise
from voicecoach.protocol.program import (
    STAGES,
    Program,
    ProgramError,
    builtin_program_names,
    load_builtin,
    load_program_file,
)

logger = logging.getLogger(__name__)

STEEP_ANGLE = 60
"""From this angle on, a hold is steep (degrees)."""
MAX_STEEP_HOLD_S = 600.0
"""Time at a steep angle never goes past 10 minutes: longer strains the ligaments."""
MAX_SESSION_HOLD_S = 600.0
"""No session holds anyone inverted for more than 10 minutes, whatever its stage."""
MIN_STEP_S = 10.0
"""A step shorter than this cannot even be announced before it is over (seconds)."""
MAX_ANGLE_CHANGE = 15
"""Largest change of angle between two consecutive steps (degrees)."""
DESCEND_RANGE_S = (10.0, 60.0)
MAX_DESCEND_DEG_PER_S = 3.0
"""Leaning back slowly: no faster than this on the way down (degrees a second)."""
RISE_RANGE_S = (5.0, 30.0)
"""Coming up too fast spikes blood pressure; much slower leaves the user hanging."""
PAUSE_RANGE_S = (10.0, 15.0)
"""Pause at about 30 degrees on the way up: 10-15 seconds."""
UPRIGHT_RANGE_S = (30.0, 60.0)
"""Stay upright 30-60 seconds before releasing the ankles."""
ANNOUNCE_RANGE_S = (15.0, 120.0)
"""Time left is spoken at least every 2 minutes, and not so often that it drowns the cues."""
CHECKIN_RANGE_S = (30.0, 120.0)
"""Pain check-ins at least every 2 minutes so distress is noticed; 30 s leaves room for an
answer and one re-ask before the next one."""
MAX_SESSIONS_PER_DAY = 3
WORDS_PER_S = 2.5
"""A cautious speaking rate for judging whether a cue fits before the next one."""
FINAL_COUNTDOWN_S = 10.0
"""The last seconds of the hold are a spoken countdown; no cue may talk over it."""


@dataclass(frozen=True)
class Limits:
    min_angle: int
    max_angle: int
    max_hold_s: float
    rule: str
    """The rule in words, quoted in the error message."""
    min_hold_s: float = 0.0


STAGE_LIMITS: dict[str, Limits] = {
    "first": Limits(15, 30, 120.0, "a first session stays at 15-30 degrees for 30 s to 2 min",
                    min_hold_s=30.0),
    "weeks-1-2": Limits(15, 30, 120.0, "weeks 1-2 stay at 15-30 degrees for 30 s to 2 min",
                        min_hold_s=30.0),
    "weeks-3-4": Limits(15, 60, 300.0, "weeks 3-4 go up to 60 degrees for at most 5 min",
                        min_hold_s=30.0),
    # Seed 003: "Week 5+: 60-90 degrees, limit to 5-10 minutes": a floor as well as a ceiling,
    # so a program staged week-5-plus cannot skip past the weeks before it by name alone.
    "week-5-plus": Limits(60, 90, 600.0, "from week 5, 60-90 degrees for 5 to 10 min",
                          min_hold_s=300.0),
}

CONDITION_LIMITS: dict[str, Limits] = {
    "herniated-disc": Limits(30, 45, 300.0,
                             "the herniated-disc protocol is 30-45 degrees, never over 5 min"),
    "sciatica": Limits(15, 45, 600.0, "the sciatica protocol builds from 15 up to 45 degrees"),
    "muscle-spasm": Limits(30, 60, 300.0, "the muscle-spasm protocol is 30-60 degrees for 5 min"),
}

KNOWN_CONDITIONS = (*CONDITION_LIMITS, "back-pain", "neck-pain", "shoulder-pain", "scoliosis")
"""Condition names a program may declare. Unknown names are refused, so a misspelt
"herniated_disc" cannot slip past the herniated-disc limits."""


def stage_index(stage: str) -> int:
    return STAGES.index(stage)


def _fmt(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _words(text: str) -> int:
    return len(text.split())


def _range(value: float, bounds: tuple[float, float], src: str, where: str,
           rule: str) -> Iterator[ProgramError]:
    low, high = bounds
    if not low <= value <= high:
        yield ProgramError(src, where, f"{value:g} s is outside {low:g}-{high:g} s ({rule})")


def problems(program: Program) -> Iterator[ProgramError]:
    """Every safety rule the program breaks, in a stable order, one ProgramError each."""
    src = program.source or program.name
    yield from _steep_time(program, src)
    yield from _limits(program, STAGE_LIMITS[program.stage], f"stage {program.stage}", src)
    for condition in program.conditions:
        if condition not in KNOWN_CONDITIONS:
            yield ProgramError(src, "conditions",
                               f"unknown condition {condition!r}; known: "
                               f"{', '.join(KNOWN_CONDITIONS)}")
        elif condition in CONDITION_LIMITS:
            yield from _limits(program, CONDITION_LIMITS[condition], condition, src)
    if program.hold_s > MAX_SESSION_HOLD_S:
        yield ProgramError(src, "steps", f"total hold {_fmt(program.hold_s)} is over the "
                           f"{_fmt(MAX_SESSION_HOLD_S)} a session may last")
    yield from _steps(program, src)
    yield from _timing(program, src)


def validate(program: Program) -> None:
    """Raise ProgramError (one line: file, field, rule) for the first unsafe thing found."""
    for problem in problems(program):
        raise problem


def _steep_time(program: Program, src: str) -> Iterator[ProgramError]:
    steep_total = 0.0
    for i, step in enumerate(program.steps, start=1):
        if step.angle < STEEP_ANGLE:
            continue
        if step.duration_s > MAX_STEEP_HOLD_S:
            yield ProgramError(src, f"steps[{i}].duration_s",
                               f"{_fmt(step.duration_s)} at {step.angle} degrees; a hold at "
                               f"{STEEP_ANGLE} degrees or more never exceeds "
                               f"{_fmt(MAX_STEEP_HOLD_S)}")
        steep_total += step.duration_s
    if steep_total > MAX_STEEP_HOLD_S and all(s.duration_s <= MAX_STEEP_HOLD_S
                                              for s in program.steps):
        yield ProgramError(src, "steps", f"{_fmt(steep_total)} in total at {STEEP_ANGLE} degrees "
                           f"or more; time that steep never exceeds {_fmt(MAX_STEEP_HOLD_S)}")


def _limits(program: Program, limits: Limits, label: str, src: str) -> Iterator[ProgramError]:
    for i, step in enumerate(program.steps, start=1):
        if not limits.min_angle <= step.angle <= limits.max_angle:
            yield ProgramError(src, f"steps[{i}].angle",
                               f"{step.angle} degrees is outside {limits.min_angle}-"
                               f"{limits.max_angle} for {label} ({limits.rule})")
    if program.hold_s > limits.max_hold_s:
        yield ProgramError(src, "steps", f"total hold {_fmt(program.hold_s)} is over "
                           f"{_fmt(limits.max_hold_s)} for {label} ({limits.rule})")
    if program.hold_s < limits.min_hold_s:
        yield ProgramError(src, "steps", f"total hold {_fmt(program.hold_s)} is under "
                           f"{_fmt(limits.min_hold_s)} for {label} ({limits.rule})")


def _steps(program: Program, src: str) -> Iterator[ProgramError]:
    last = len(program.steps)
    for i, step in enumerate(program.steps, start=1):
        where = f"steps[{i}]"
        if step.duration_s < MIN_STEP_S:
            yield ProgramError(src, f"{where}.duration_s",
                               f"{_fmt(step.duration_s)} is too short to announce "
                               f"(at least {_fmt(MIN_STEP_S)})")
        if i > 1:
            change = abs(step.angle - program.steps[i - 2].angle)
            if change > MAX_ANGLE_CHANGE:
                yield ProgramError(src, f"{where}.angle",
                                   f"jumps {change} degrees from the step before; change the "
                                   f"angle by at most {MAX_ANGLE_CHANGE} degrees at a time")
        if step.exercise:
            exercise = get_exercise(step.exercise)
            if exercise is not None and stage_index(program.stage) < stage_index(
                    exercise.min_stage):
                yield ProgramError(src, f"{where}.exercise",
                                   f"{step.exercise} belongs in stage {exercise.min_stage} or "
                                   f"later, not {program.stage}")
        cues = step.cues
        for j, cue in enumerate(cues, start=1):
            cwhere = f"{where}.cues[{j}]"
            if not cue.text.strip():
                yield ProgramError(src, f"{cwhere}.text", "is empty")
            speaking_s = _words(cue.text) / WORDS_PER_S
            next_at = cues[j].at_s if j < len(cues) else step.duration_s
            if j < len(cues) and cues[j].at_s <= cue.at_s:
                yield ProgramError(src, f"{where}.cues[{j + 1}].at_s",
                                   f"{cues[j].at_s:g} s is not after cues[{j}] "
                                   f"({cue.at_s:g} s); cues go in time order")
            elif cue.at_s + speaking_s > next_at:
                what = f"cues[{j + 1}] starts" if j < len(cues) else "the step ends"
                yield ProgramError(src, f"{cwhere}.text",
                                   f"takes about {speaking_s:.0f} s to say, but {what} "
                                   f"{next_at - cue.at_s:g} s after it")
            if i == last and cue.at_s + speaking_s > step.duration_s - FINAL_COUNTDOWN_S:
                yield ProgramError(src, f"{cwhere}.at_s",
                                   f"would talk over the final {FINAL_COUNTDOWN_S:g}-second "
                                   "countdown; end the last cue earlier")


_PER_DAY = re.compile(r"(\d+)(?:\s*-\s*(\d+))?")


def _timing(program: Program, src: str) -> Iterator[ProgramError]:
    first_angle = program.steps[0].angle
    yield from _range(program.descend_s, DESCEND_RANGE_S, src, "descend_s",
                      "lean back slowly, but do not linger on the way")
    if first_angle / program.descend_s > MAX_DESCEND_DEG_PER_S:
        yield ProgramError(src, "descend_s",
                           f"{program.descend_s:g} s to reach {first_angle} degrees is faster "
                           f"than {MAX_DESCEND_DEG_PER_S:g} degrees a second; lean back slowly")
    rp = program.return_protocol
    yield from _range(rp.rise_s, RISE_RANGE_S, src, "return.rise_s",
                      "rise slowly, pushing with the palms")
    yield from _range(rp.pause_s, PAUSE_RANGE_S, src, "return.pause_s",
                      "the pause at about 30 degrees lasts 10-15 s")
    yield from _range(rp.upright_s, UPRIGHT_RANGE_S, src, "return.upright_s",
                      "stay upright 30-60 s before releasing the ankles")
    yield from _range(program.announce_every_s, ANNOUNCE_RANGE_S, src, "announce_every_s",
                      "time left is spoken at least every 2 min")
    yield from _range(program.checkin_every_s, CHECKIN_RANGE_S, src, "checkin_every_s",
                      "pain check-ins at least every 2 min so distress is noticed")
    if program.sessions_per_day:
        match = _PER_DAY.fullmatch(program.sessions_per_day.strip())
        if match is None:
            yield ProgramError(src, "sessions_per_day",
                               f"{program.sessions_per_day!r} must be a number or a range "
                               "like \"1-2\"")
        else:
            most = int(match.group(2) or match.group(1))
            if most > MAX_SESSIONS_PER_DAY:
                yield ProgramError(src, "sessions_per_day",
                                   f"{most} a day is more than the {MAX_SESSIONS_PER_DAY} "
                                   "short sessions the early weeks allow")


# ---- finding programs ---------------------------------------------------------------------


def user_programs_dir() -> Path:
    """Where a user's own programs live: <config dir>/programs/NAME.toml."""
    return config_dir(create=False) / "programs"


def _looks_like_path(text: str) -> bool:
    return text.endswith(".toml") or "/" in text or (os.sep in text) or text.startswith("~")


@dataclass(frozen=True)
class ProgramEntry:
    name: str
    origin: str
    """"built-in" or "user"."""
    path: Path | None = None
    shadowed: bool = False
    """A user program with a built-in's name: the built-in wins, so this file is never used."""


def available_programs() -> list[ProgramEntry]:
    """Built-in programs, then the user's own, by name."""
    builtins = builtin_program_names()
    entries = [ProgramEntry(name, "built-in") for name in builtins]
    folder = user_programs_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            name = path.name.removesuffix(".toml")
            entries.append(ProgramEntry(name, "user", path, shadowed=name in builtins))
    return entries


def parse_program_ref(name_or_path: str | Path) -> Program:
    """Find and parse a program without the safety rules (for showing a refused one)."""
    if isinstance(name_or_path, Path) or _looks_like_path(name_or_path):
        return load_program_file(Path(name_or_path).expanduser())
    name = name_or_path
    if name in builtin_program_names():
        return load_builtin(name)
    user_file = user_programs_dir() / f"{name}.toml"
    if user_file.is_file():
        return load_program_file(user_file)
    raise ProgramError(name, "program",
                       f"no such program; built-in: {', '.join(builtin_program_names())}; "
                       f"your own go in {user_programs_dir()}/NAME.toml")


def load_program(name_or_path: str | Path) -> Program:
    """A program ready to run: a built-in name, a program in the user's config dir, or a file.

    Built-in names win over a user file of the same name. Raises ProgramError with one
    line naming the file, the field and the broken rule.
    """
    program = parse_program_ref(name_or_path)
    validate(program)
    logger.debug("loaded program %s from %s", program.name, program.source)
    return program
