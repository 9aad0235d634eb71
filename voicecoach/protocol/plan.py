"""What today's session should be, and why, from the sessions so far.

The rules, from the domain sources:

- A brand-new user starts with the first session (low angle, short hold).
- Progress goes by the week, not the day: a level is kept for its weeks and
  for enough pain-free sessions before moving on, and never more than one
  stage up in under a week (`progression_problem` checks any choice of program).
- A session that ended because pain rose holds progress back: stay, or step
  down if it was the first session at a new level or pain keeps ending them.
  A warning sign (numbness, blurred vision, headache) steps down at once.
- A week or more without a session steps back a level for each week missed.
- Three or four sessions a week; a spotter for the first ten sessions.

`plan()` is a pure function of the history and today's date.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from voicecoach.protocol.limits import (
    DIZZY_DOCTOR_AFTER_MIN,
    PAIN_RISE_LIMIT,
    REPEATED_ENDINGS,
    SESSIONS_PER_WEEK,
    SPOTTER_SESSIONS,
    pain_rise_limit,
)
from voicecoach.protocol.program import STAGES, ProgramError, builtin_program_names, load_builtin

logger = logging.getLogger(__name__)

MISSED_WEEK_DAYS = 7
STAGE_STEP_DAYS = 7
"""No more than one stage up within this many days."""
REPEAT_LEVEL_DAYS = 7
REPEAT_LEVEL_SESSIONS = 2
"""Back at a level already passed once: a clean week and this many sessions are enough."""

PAIN_REASONS = frozenset({"pain_rise"})
WARNING_REASONS = frozenset({"symptom"})
DISTRESS_REASONS = frozenset({"no_answer", "help"})
DEVICE_REASONS = frozenset({"device_lost"})


@dataclass(frozen=True)
class SessionSummary:
    started_at: datetime
    program: str
    status: str = "completed"
    """As the store says: completed, ended_early, interrupted, running."""
    end_reason: str | None = "completed"
    pain_before: int | None = None
    pain_after: int | None = None
    stage: str | None = None
    """The program's stage; None = look the name up among the built-in programs."""
    held_s: float | None = None
    """Time inverted in the hold (seconds)."""
    dizzy: bool = False
    """Dizziness was reported during or after the session."""
    dizziness_passed: bool | None = None
    """The user's last word on whether the dizziness passed (None: never answered)."""

    @classmethod
    def from_row(cls, row: Mapping[str, Any], stage: str | None = None) -> SessionSummary:
        """From a row of `Store.sessions()`."""
        return cls(started_at=datetime.fromisoformat(str(row["started_at"])),
                   program=str(row["program"]), status=str(row.get("status") or ""),
                   end_reason=row.get("end_reason"), pain_before=row.get("pain_before"),
                   pain_after=row.get("pain_after"), stage=stage, held_s=row.get("held_s"),
                   dizzy=bool(row.get("dizzy")), dizziness_passed=row.get("dizziness_passed"))

    @property
    def day(self) -> date:
        """The day the session started, in the user's own time zone."""
        when = self.started_at
        return (when.astimezone() if when.tzinfo is not None else when).date()

    @property
    def completed(self) -> bool:
        return self.end_reason == "completed" or (self.end_reason is None
                                                  and self.status == "completed")

    @property
    def ended_for_pain(self) -> bool:
        if self.end_reason in PAIN_REASONS:
            return True
        stage = stage_of(self)
        limit = pain_rise_limit(stage) if stage is not None else PAIN_RISE_LIMIT
        return (self.pain_before is not None and self.pain_after is not None
                and self.pain_after - self.pain_before > limit)

    @property
    def clean(self) -> bool:
        """Completed with no rise in pain: counts toward moving on."""
        return self.completed and not self.ended_for_pain


@dataclass(frozen=True)
class Level:
    program: str
    stage: str
    min_days: int = 0
    """Days since the first session at this level before moving on."""
    min_sessions: int = 1
    """Clean (completed, pain-free) sessions at this level before moving on."""


TRACKS: dict[str, tuple[Level, ...]] = {
    "general": (
        # Progress goes by the week (seed 003): even the first session's day is over
        # before weeks 1-2 begin.
        Level("first-session", "first", 1, 1),
        Level("weeks-1-2", "weeks-1-2", 14, 4),
        Level("weeks-3-4", "weeks-3-4", 14, 4),
        Level("week-5-plus", "week-5-plus"),
    ),
    "sciatica": (
        Level("first-session", "first", 1, 1),
        Level("sciatica-week-1", "weeks-1-2", 7, 2),
        Level("sciatica-week-2", "weeks-1-2", 7, 2),
        Level("sciatica-week-3", "weeks-3-4"),
    ),
    "herniated-disc": (
        Level("first-session", "first", 1, 1),
        Level("weeks-1-2", "weeks-1-2", 14, 4),
        Level("herniated-disc", "weeks-3-4"),
    ),
}
"""Each track is a ladder of programs; the last level is kept once reached."""


@dataclass(frozen=True)
class Plan:
    program: str
    """The program to run today."""
    reasons: list[str]
    """Plain sentences: first why this program, then reminders for today (spotter,
    sessions a week)."""
    track: str = "general"
    stage: str = "first"
    spotter: bool = True
    """A spotter should be there (one of the first ten sessions)."""
    held: str | None = None
    """Why no session should start today at all (dizziness not yet known to have passed),
    or None."""


@lru_cache(maxsize=1)
def _builtin_stages() -> dict[str, str]:
    stages = {}
    for name in builtin_program_names():
        try:
            stages[name] = load_builtin(name).stage
        except ProgramError:  # pragma: no cover - the test suite validates every built-in
            logger.exception("built-in program %s does not parse", name)
    return stages


def stage_of(session: SessionSummary) -> str | None:
    return session.stage or _builtin_stages().get(session.program)


def _level_of(track: tuple[Level, ...], session: SessionSummary) -> int | None:
    """Where a session sits on a track: its program's level, else the highest level at or
    below its stage; None if its stage is unknown."""
    for i, level in enumerate(track):
        if level.program == session.program:
            return i
    stage = stage_of(session)
    if stage is None:
        return None
    fitting = [i for i, level in enumerate(track)
               if STAGES.index(level.stage) <= STAGES.index(stage)]
    return max(fitting) if fitting else 0


def infer_track(history: Sequence[SessionSummary]) -> str:
    """The condition track of the latest session that ran a track's own program."""
    own = {level.program: name for name, levels in TRACKS.items() if name != "general"
           for level in levels if not any(level.program == g.program
                                          for g in TRACKS["general"])}
    for session in sorted(history, key=lambda s: s.started_at, reverse=True):
        if session.program in own:
            return own[session.program]
    return "general"


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _sessions(n: int) -> str:
    return f"{n} session" if n == 1 else f"{n} sessions"


def plan(history: Iterable[SessionSummary], today: date, track: str | None = None,
         cleared_on: date | None = None) -> Plan:
    """Today's program and the reasons for it. `track` picks a condition ladder
    ("sciatica", "herniated-disc"); by default the one the user has been following.
    `cleared_on` is the date of the latest medical clearance, if any."""
    sessions = sorted(history, key=lambda s: s.started_at)
    if track is not None and track not in TRACKS:
        raise ValueError(f"unknown track {track!r}; known: {', '.join(TRACKS)}")
    track_name = track or infer_track(sessions)
    ladder = TRACKS[track_name]
    notes = _notes(sessions, today)
    repeated = repeated_endings(sessions)
    if repeated is not None:
        notes.insert(0, repeated)
    spotter = len(sessions) < SPOTTER_SESSIONS
    placed = [(s, lvl) for s in sessions if (lvl := _level_of(ladder, s)) is not None]
    if not placed:
        first = ladder[0]
        return Plan(first.program, [
            "You have no sessions yet, so begin with the first session: a low angle and a "
            "short hold while your body learns what inversion feels like.", *notes],
            track_name, first.stage, spotter, held=dizziness_hold(sessions, cleared_on))

    last, current = placed[-1]
    target, reasons = _choose(placed, ladder, current, last, today)
    # A history that already climbed too fast (programs picked by hand) must not be
    # rewarded: the plan itself never goes more than one stage above last week.
    capped = target
    while capped > 0 and progression_problem(sessions, ladder[capped].stage, today):
        capped -= 1
    if capped != target:
        reasons = [f"Go no further than {ladder[capped].program} today: "
                   f"{progression_problem(sessions, ladder[target].stage, today)}."]
        target = capped
    level = ladder[target]
    return Plan(level.program, reasons + notes, track_name, level.stage, spotter,
                held=dizziness_hold(sessions, cleared_on))


def _choose(placed: list[tuple[SessionSummary, int]], ladder: tuple[Level, ...], current: int,
            last: SessionSummary, today: date) -> tuple[int, list[str]]:
    here = ladder[current]
    gap = (today - last.day).days
    if gap >= MISSED_WEEK_DAYS:
        weeks = gap // 7
        target = max(0, current - weeks)
        if target == current:
            return target, [f"Your last session was {_days(gap)} ago. After a week or more "
                            f"away, start gently again with {ladder[target].program}."]
        return target, [f"Your last session was {_days(gap)} ago. After time away the body "
                        f"loses some of its tolerance, so go back "
                        f"{'a stage' if current - target == 1 else f'{current - target} stages'}"
                        f", from {here.program} to {ladder[target].program}."]

    if last.end_reason in WARNING_REASONS:
        target = max(0, current - 1)
        return target, [
            f"Your last session ended on a warning sign, so step down to "
            f"{ladder[target].program}.",
            "If numbness, weakness, blurred vision or a headache stayed after that session, or "
            "you were "
            "dizzy for more than five minutes afterwards, see a doctor before inverting again."]

    run = _run_at(placed, current)
    if last.ended_for_pain:
        rise = (last.pain_after or 0) - (last.pain_before or 0)
        why = ("ended because your pain rose" if last.end_reason in PAIN_REASONS
               else f"left your pain {rise} points higher than before it")
        earlier_pain = [s for s, _ in placed[-3:-1] if s.ended_for_pain]
        if current > 0 and len(run) == 1:
            return current - 1, [
                f"Your last session, the first at {here.program}, {why}: go back to "
                f"{ladder[current - 1].program} for now."]
        if earlier_pain:
            target = max(0, current - 1)
            return target, [
                f"Your last session {why}, and so did another of your last three: step down "
                f"to {ladder[target].program}."]
        return current, [f"Your last session {why}, so stay at {here.program} rather than "
                         "move on. If it happens again, you will step down."]

    if last.end_reason in DISTRESS_REASONS | DEVICE_REASONS:
        what = {"help": "you asked for help",
                "device_lost": "the microphone, the speaker or the recogniser stopped working"
                }.get(str(last.end_reason), "a check-in went unanswered")
        return current, [f"Your last session ended early because {what}, so stay at "
                         f"{here.program} today rather than move on."]

    if current == len(ladder) - 1:
        reasons = [f"Keep to {here.program}: it is the top of this plan. More angle or time "
                   "would not help more, and a session never goes past ten minutes."]
        if here.program == "week-5-plus":
            reasons.append("If your doctor agrees to core work on the table, week-5-plus-core "
                           "adds partial sit-ups.")
        return current, reasons

    return _advance_or_stay(placed, ladder, current, run, today)


def repeated_endings(sessions: Sequence[SessionSummary]) -> str | None:
    """A word to see a clinician when the last sessions in a row all ended for pain, or all
    ended without an answer or with a device lost; None otherwise."""
    last = sessions[-REPEATED_ENDINGS:]
    if len(last) < REPEATED_ENDINGS:
        return None
    if all(s.ended_for_pain for s in last):
        return (f"Your last {REPEATED_ENDINGS} sessions both ended with your pain higher: "
                "see your doctor or physical therapist before the next one, and tell them "
                "what `voicecoach report` shows.")
    if all(s.end_reason in {"no_answer"} | DEVICE_REASONS for s in last):
        return (f"Your last {REPEATED_ENDINGS} sessions both ended early because a check-in "
                "went unanswered or a device stopped working: check the microphone and the "
                "speaker with `voicecoach doctor`, and if you could not answer, see your "
                "doctor before the next session.")
    return None


def dizziness_hold(sessions: Sequence[SessionSummary], cleared_on: date | None) -> str | None:
    """Why no session should start until the dizziness of the last session is known to have
    passed (seed 003: dizziness lasting over five minutes needs a doctor first), or None."""
    dizzy = [s for s in sessions if s.dizzy]
    if not dizzy:
        return None
    last = dizzy[-1]
    if last.dizziness_passed or (cleared_on is not None and cleared_on >= last.day):
        return None
    return (f"Your session on {last.day} left you dizzy, and you have not said that it "
            f"passed. If it lasted more than {DIZZY_DOCTOR_AFTER_MIN} minutes, see a doctor "
            "before inverting again and record their clearance with `voicecoach clearance "
            "--by NAME`; if it passed sooner, say so with `voicecoach dizziness passed`.")


def _run_at(placed: list[tuple[SessionSummary, int]], level: int) -> list[SessionSummary]:
    """The latest unbroken run of sessions at `level`, oldest first."""
    run: list[SessionSummary] = []
    for session, lvl in reversed(placed):
        if lvl != level:
            break
        run.append(session)
    return run[::-1]


def _advance_or_stay(placed: list[tuple[SessionSummary, int]], ladder: tuple[Level, ...],
                     current: int, run: list[SessionSummary],
                     today: date) -> tuple[int, list[str]]:
    here, nxt = ladder[current], ladder[current + 1]
    been_above = any(lvl > current for _, lvl in placed)
    need_days = min(here.min_days, REPEAT_LEVEL_DAYS) if been_above else here.min_days
    need_sessions = (min(here.min_sessions, REPEAT_LEVEL_SESSIONS) if been_above
                     else here.min_sessions)
    since = run[0].day
    days_here = (today - since).days
    clean = sum(1 for s in run if s.clean)
    recent_pain = [s for s in run if s.ended_for_pain
                   and (today - s.day).days < MISSED_WEEK_DAYS]
    missing: list[str] = []
    if days_here < need_days:
        ready_on = since + timedelta(days=need_days)
        missing.append(f"progress goes by the week, not the day: you began {here.program} "
                       f"on {since}, so move on from {ready_on} ({_days(need_days - days_here)}"
                       " from now)")
    if clean < need_sessions:
        missing.append(f"you have {_sessions(clean)} completed without a rise in pain at "
                       f"{here.program}; {need_sessions} are needed before moving on")
    if recent_pain:
        missing.append("pain ended a session here in the last week; a clean week comes first")
    if missing:
        return current, [f"Stay at {here.program}. "
                         + " ".join(m[0].upper() + m[1:] + "." for m in missing)]
    if days_here and need_days:
        done = f"{_sessions(clean)} without a rise in pain over {_days(days_here)}"
    else:
        done = f"{_sessions(clean)} without a rise in pain"
    again = " again" if been_above else ""
    return current + 1, [f"Move on{again} to {nxt.program}: you have done {done} at "
                         f"{here.program}."]


def _notes(sessions: list[SessionSummary], today: date) -> list[str]:
    notes = []
    if len(sessions) < SPOTTER_SESSIONS:
        notes.append(f"Have a spotter with you: this will be session {len(sessions) + 1} of "
                     f"your first {SPOTTER_SESSIONS}.")
    week = [s for s in sessions if 0 <= (today - s.day).days < 7]
    low, high = SESSIONS_PER_WEEK
    if len(week) > high:
        notes.append(f"You have had {_sessions(len(week))} in the last 7 days. {low} to {high} "
                     "a week works better than more: regular beats intense, so a rest day "
                     "would do you good.")
    else:
        notes.append(f"Aim for {low} to {high} sessions a week; you have had "
                     f"{len(week)} in the last 7 days.")
    return notes


def progression_problem(history: Iterable[SessionSummary], stage: str,
                        today: date) -> str | None:
    """Why starting a program of `stage` today would climb too fast, or None if it is fine.

    The rule: no more than one stage above where the user was a week ago (a brand-new
    user counts as at the first stage).
    """
    week_ago = today - timedelta(days=STAGE_STEP_DAYS)
    before = [s for s in sorted(history, key=lambda s: s.started_at) if s.day <= week_ago]
    known = [st for s in before if (st := stage_of(s)) is not None]
    base = STAGES.index(known[-1]) if known else 0
    wanted = STAGES.index(stage)
    if wanted <= base + 1:
        return None
    where = (f"you were at {STAGES[base]} a week ago" if known
             else "you have not been inverting for a week yet")
    return (f"{stage} is {wanted - base} stages above {STAGES[base]}, and {where}; move up "
            "at most one stage a week")


def summaries_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[SessionSummary]:
    """SessionSummary for each live row of `Store.sessions()` (simulated ones are left out),
    with the stage of its program (built-in or the user's own) when it can still be found."""
    from voicecoach.protocol.validate import parse_program_ref

    stages: dict[str, str | None] = dict(_builtin_stages())
    result = []
    for row in rows:
        if row.get("simulated"):
            continue  # driven from audio files: nobody was on a table
        name = str(row["program"])
        if name not in stages:
            try:
                stages[name] = parse_program_ref(name).stage
            except ProgramError:
                stages[name] = None  # renamed or deleted since: placed by nothing
        try:
            result.append(SessionSummary.from_row(row, stages[name]))
        except (KeyError, ValueError):
            logger.warning("session %s has an unreadable start time; left out of the plan",
                           row.get("id"))
    return result
