"""Synthetic histories for the progress tests, written through the real store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from voicecoach.progress.tracking import record_daily
from voicecoach.store import Store

START = dt.date(2024, 1, 1)
"""Day 0 of every synthetic history (a Monday); weeks count from here."""

# Twelve weeks, three sessions a week on days 0, 2 and 4 of the week, 08:00 UTC.
# Pain before each session, per week:
PAIN_BEFORE = [
    [7, 6, 5],   # week 1: mean 6.0 (the baseline)
    [6, 6, 6],   # week 2: mean 6.0 -> 0% less: not met *in week 2*
    [6, 5, 6], [5, 5, 6], [5, 5, 5], [5, 4, 5], [4, 5, 5], [4, 5, 4], [4, 4, 5], [4, 4, 4],
    [4, 5, 4],   # week 11
    [4, 4, 5],   # week 12: mean 13/3 = 4.333 -> (6.0 - 4.333) / 6.0 = 27.8% less: met
]
PAIN_AFTER_DROP = 2
"""Pain after = pain before - 2 (never below 0)."""
HELD_S = 120.0
"""Each session holds once for 120 s: 3 sessions = 6.0 minutes inverted per week."""

# Toe-touch gap (cm) on the same days:
TOE_TOUCH_WEEK_1 = [30.0, 28.0, 26.0]    # mean 28.0 (the baseline)
TOE_TOUCH_WEEK_12 = [20.0, 21.0, 22.0]   # mean 21.0 -> (28 - 21) / 28 = 25% better: not yet
# Night pain: week 1 = yes, yes, no; from week 11 on, no pain at all. The marker's window
# is the 7 days ending on the last answer (day 81): days 77, 79 and 81 answered, none with
# pain, 3 >= 3 answers -> met.
NIGHT_PAIN_WEEK_1 = [True, True, False]

NASTY_NOTE = ('comma, "double quotes", \'single\'\nsecond line\r\nthird line; unicode: '
              'ñandú 日本語 😀 — tab\there =SUM(A1)')


def session_day(week: int, index: int) -> dt.date:
    return START + dt.timedelta(days=7 * (week - 1) + 2 * index)


def write_session(store: Store, day: dt.date, pain_before: int | None, pain_after: int | None,
                  *, held_s: float = HELD_S, transcript: str | None = None,
                  end: str = "completed") -> int:
    """One session as the runner logs it: pain, a hold, the return, pain again."""
    session_id = store.start_session(program="weeks-1-2",
                                     started_at=f"{day.isoformat()}T08:00:00+00:00",
                                     pid=1, options={})
    if pain_before is not None:
        store.log_event(session_id, 5.0, "pain", {
            "value": pain_before, "phase": "before",
            "transcript": transcript if transcript is not None else str(pain_before),
            "confidence": 0.9})
    store.log_event(session_id, 10.0, "hold_started", {"angle": 30, "duration_s": held_s})
    store.log_event(session_id, 10.0 + held_s, "hold_ended", {"held_s": held_s})
    store.log_event(session_id, 15.0 + held_s, "return_started", {"reason": end})
    if pain_after is not None:
        store.log_event(session_id, 60.0 + held_s, "pain", {
            "value": pain_after, "phase": "after", "transcript": str(pain_after),
            "confidence": 0.8})
    store.log_event(session_id, 61.0 + held_s, "session_end", {"reason": end})
    store.end_session(session_id, end)
    return session_id


def write_twelve_weeks(db_path: Path) -> None:
    """The history described above, into a new database at `db_path`."""
    with Store.open(db_path) as store:
        for week, ratings in enumerate(PAIN_BEFORE, start=1):
            for index, before in enumerate(ratings):
                day = session_day(week, index)
                write_session(store, day, before, max(0, before - PAIN_AFTER_DROP))
                if week == 1:
                    record_daily(store, day, toe_touch_cm=TOE_TOUCH_WEEK_1[index],
                                 night_pain=NIGHT_PAIN_WEEK_1[index], stiffness_min=40,
                                 medication_doses=2)
                elif week == 12:
                    record_daily(store, day, toe_touch_cm=TOE_TOUCH_WEEK_12[index],
                                 night_pain=False, stiffness_min=15, medication_doses=0)
                elif week >= 11:
                    record_daily(store, day, night_pain=False)
        # A session cut off before its first rating: counted in minutes, not in pain.
        write_session(store, session_day(12, 2), None, None, held_s=30.0, end="interrupted")
