"""Whether a live session may start today: the limits on the person, checked before anyone
leans back.

`start_problem()` is a pure function of the live sessions so far (simulated ones
are left out by `summaries_from_rows`), the program asked for and today's date.
The screening is checked beside it (screening.py); the program itself was
validated when it was loaded (validate.py). Each refusal is one plain sentence
naming the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from voicecoach.protocol.limits import (
    MAX_DAILY_HOLD_S,
    MAX_SESSION_DAYS_PER_WEEK,
    SPOTTER_SESSIONS,
    sessions_per_day,
)
from voicecoach.protocol.plan import SessionSummary, dizziness_hold, progression_problem
from voicecoach.protocol.program import Program


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:.0f} minutes" if minutes >= 2 else f"{seconds:.0f} seconds"


def daily_problem(history: Sequence[SessionSummary], program: Program,
                  today: date) -> str | None:
    """Too many sessions today or this week, or too long inverted today; None if fine."""
    todays = [s for s in history if s.day == today]
    most = sessions_per_day(program.stage, program.sessions_per_day)
    if len(todays) >= most:
        return (f"You have had {len(todays)} session{'s' if len(todays) != 1 else ''} today, "
                f"and {program.name} allows {most} a day: rest until tomorrow.")
    week_start = today - timedelta(days=6)
    days = {s.day for s in history if week_start <= s.day <= today} | {today}
    if len(days) > MAX_SESSION_DAYS_PER_WEEK:
        return (f"Today would be the {len(days)}th day with a session in 7 days; "
                f"{MAX_SESSION_DAYS_PER_WEEK} days a week is the most that helps (regular "
                "beats intense): rest today.")
    held = sum(s.held_s or 0.0 for s in todays)
    if held + program.hold_s > MAX_DAILY_HOLD_S:
        return (f"You have been inverted {_minutes(held)} today; {program.name} would add "
                f"{_minutes(program.hold_s)}, past the {_minutes(MAX_DAILY_HOLD_S)} a day "
                "that is the most any protocol gives: rest until tomorrow.")
    return None


def checklist_problem(history: Sequence[SessionSummary], checklist: bool) -> str | None:
    """The spoken checklist (with the spotter item) is not skipped in the first sessions."""
    if checklist or len(history) >= SPOTTER_SESSIONS:
        return None
    return (f"The spoken checklist cannot be skipped in your first {SPOTTER_SESSIONS} "
            f"sessions (this is session {len(history) + 1}): leave out --no-checklist.")


def start_problem(history: Sequence[SessionSummary], program: Program, today: date, *,
                  checklist: bool, cleared_on: date | None) -> str | None:
    """The first reason a live session of `program` may not start today, or None."""
    return (dizziness_hold(history, cleared_on)
            or daily_problem(history, program, today)
            or checklist_problem(history, checklist)
            or progression_problem(history, program.stage, today))
