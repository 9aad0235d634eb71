"""The safety limits that hold across sessions, each in one place, each from the seeds.

A program's own shape (angles, hold times, the return) is checked by
validate.py; these are the limits on the person: how far pain may rise in a
session, how many sessions and how much time upside down a day and a week, how
long the first sessions need a spotter and the spoken checklist, and what
dizziness after a session means. docs/safety.md lists every rule with the test
that holds it.
"""

from __future__ import annotations

from voicecoach.protocol.program import STAGES

PAIN_RISE_LIMIT = 2
"""A rating more than this many points above the pre-session one brings the user up
(seed 003: "pain spikes exceeding 2 points on a 0-10 scale")."""
EARLY_PAIN_RISE_LIMIT = 0
"""In the first session and weeks 1-2 any rise at all brings the user up (seed 003, weeks
1-2: "stop immediately if pain increases")."""
EARLY_STAGES = frozenset({"first", "weeks-1-2"})

SPOTTER_SESSIONS = 10
"""A spotter for the first this-many sessions (seed 003), and the spoken checklist cannot be
skipped before then."""
SESSIONS_PER_WEEK = (3, 4)
"""Three or four sessions a week beat daily extreme inversion (seed 003)."""
MAX_SESSION_DAYS_PER_WEEK = SESSIONS_PER_WEEK[1]
"""Days with a session in any 7, at most: the early weeks' two or three short sessions a
day fall on these days (the choice is in docs/safety.md)."""
SESSIONS_PER_DAY: dict[str, int] = {
    "first": 1,
    "weeks-1-2": 3,
    "weeks-3-4": 2,
    "week-5-plus": 1,
}
"""Sessions a day by stage, when a program says nothing (seed 003: weeks 1-2 "2-3x daily",
weeks 3-4 "1-2x daily", week 5+ "once daily"). A program's own sessions_per_day takes its
place: the herniated-disc flare-up allows 2-3 (validate.py caps every program at 3)."""
MAX_DAILY_HOLD_S = 15 * 60.0
"""Time inverted a day, all sessions together (seconds). The most any seed protocol gives
within the 10-minute session cap is the herniated-disc flare-up's three sessions of at most
5 minutes; seed 004's "30 minutes twice daily" is refused (docs/safety.md)."""
DIZZY_DOCTOR_AFTER_MIN = 5
"""Dizziness lasting over this many minutes after a session needs a doctor before the next
one (seed 003)."""
REPEATED_ENDINGS = 2
"""This many sessions in a row ended for pain, or without an answer or a device, and the
plan says to see a clinician."""


def pain_rise_limit(stage: str) -> int:
    """How many points pain may rise over the pre-session rating at this stage."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    return EARLY_PAIN_RISE_LIMIT if stage in EARLY_STAGES else PAIN_RISE_LIMIT


def sessions_per_day(stage: str, declared: str = "") -> int:
    """The most sessions a day for a program of this stage that declares `declared`
    ("1", "2-3", or "" for the stage's own)."""
    if not declared.strip():
        return SESSIONS_PER_DAY[stage]
    low, _, high = declared.strip().partition("-")
    return int(high or low)
