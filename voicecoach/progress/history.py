"""The user's history in weeks: sessions and daily records on one calendar.

Week 1 is the seven days starting on the first day anything was recorded (a
session or a daily record), in the user's local time; week N covers days
7(N-1) to 7N-1 from there. Every figure in reports and markers uses this
numbering, so "week 2" means the same thing everywhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any

from voicecoach.progress.tracking import DailyEntry, daily_entries
from voicecoach.store import Store


@dataclass(frozen=True)
class SessionPoint:
    """One session as the progress views need it."""

    id: int
    started: dt.datetime
    """Start time in the history's time zone."""
    started_at: str
    """Start time as stored (ISO 8601)."""
    ended_at: str | None
    program: str
    status: str
    end_reason: str | None
    pain_before: int | None
    pain_after: int | None
    duration_s: float | None
    held_s: float | None
    """Time spent in holds, i.e. inverted (seconds); None if no hold began."""
    dizzy: bool = False
    """Dizziness was reported during the session."""
    angle: float | None = None
    """The steepest hold's angle (degrees); None if no hold began."""

    @property
    def day(self) -> dt.date:
        return self.started.date()


@dataclass(frozen=True)
class WeekSummary:
    """Figures for one week; a mean is None when nothing was recorded that week."""

    number: int
    start: dt.date
    sessions: int
    minutes_inverted: float
    pain_before: float | None
    pain_after: float | None
    toe_touch_cm: float | None
    stiffness_min: float | None
    medication_doses: int | None
    """Total doses over the days that recorded them."""
    night_pain_nights: int
    night_pain_answers: int

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=6)


def _mean(values: list[float]) -> float | None:
    return fmean(values) if values else None


def session_start(started_at: str, tz: dt.tzinfo | None = None) -> dt.datetime:
    """A stored start time in `tz` (default: this machine's local zone).

    A time stored without an offset is taken as already in `tz` (or local).
    """
    when = dt.datetime.fromisoformat(started_at)
    if when.tzinfo is None:
        return when.replace(tzinfo=tz) if tz is not None else when.astimezone()
    return when.astimezone(tz)


def session_point(row: dict[str, Any], tz: dt.tzinfo | None = None) -> SessionPoint:
    """A SessionPoint from one dict of `Store.sessions()`."""
    return SessionPoint(
        id=int(row["id"]), started=session_start(str(row["started_at"]), tz),
        started_at=str(row["started_at"]), ended_at=row["ended_at"],
        program=str(row["program"]), status=str(row["status"]), end_reason=row["end_reason"],
        pain_before=row["pain_before"], pain_after=row["pain_after"],
        duration_s=row["duration_s"], held_s=row["held_s"], dizzy=bool(row.get("dizzy")),
        angle=row.get("angle"))


@dataclass(frozen=True)
class History:
    """Sessions and daily records, oldest first."""

    sessions: list[SessionPoint]
    daily: list[DailyEntry]

    @property
    def first_day(self) -> dt.date | None:
        days = [s.day for s in self.sessions[:1]] + [d.date for d in self.daily[:1]]
        return min(days) if days else None

    @property
    def last_day(self) -> dt.date | None:
        days = [s.day for s in self.sessions[-1:]] + [d.date for d in self.daily[-1:]]
        return max(days) if days else None

    def week_of(self, day: dt.date) -> int:
        """The week number (1-based) of `day`; 0 or less before the history began."""
        first = self.first_day
        if first is None:
            raise ValueError("an empty history has no weeks")
        return (day - first).days // 7 + 1

    def week_start(self, number: int) -> dt.date:
        first = self.first_day
        if first is None:
            raise ValueError("an empty history has no weeks")
        return first + dt.timedelta(days=7 * (number - 1))

    def weeks(self, through: dt.date | None = None) -> list[WeekSummary]:
        """Every week from week 1 to the last recorded day's week (or `through`'s,
        if later, so a lapse up to today shows as empty weeks)."""
        last = self.last_day
        if last is None:
            return []
        if through is not None and through > last:
            last = through
        count = self.week_of(last)
        by_week_sessions: list[list[SessionPoint]] = [[] for _ in range(count)]
        by_week_daily: list[list[DailyEntry]] = [[] for _ in range(count)]
        for s in self.sessions:
            by_week_sessions[self.week_of(s.day) - 1].append(s)
        for d in self.daily:
            by_week_daily[self.week_of(d.date) - 1].append(d)
        result = []
        for index in range(count):
            sessions, daily = by_week_sessions[index], by_week_daily[index]
            doses = [d.medication_doses for d in daily if d.medication_doses is not None]
            nights = [d.night_pain for d in daily if d.night_pain is not None]
            result.append(WeekSummary(
                number=index + 1, start=self.week_start(index + 1), sessions=len(sessions),
                minutes_inverted=sum(s.held_s or 0.0 for s in sessions) / 60.0,
                pain_before=_mean([s.pain_before for s in sessions
                                   if s.pain_before is not None]),
                pain_after=_mean([s.pain_after for s in sessions if s.pain_after is not None]),
                toe_touch_cm=_mean([d.toe_touch_cm for d in daily
                                    if d.toe_touch_cm is not None]),
                stiffness_min=_mean([d.stiffness_min for d in daily
                                     if d.stiffness_min is not None]),
                medication_doses=sum(doses) if doses else None,
                night_pain_nights=sum(nights), night_pain_answers=len(nights)))
        return result


def load_history(store_or_db_path: Store | Path | str,
                 tz: dt.tzinfo | None = None) -> History:
    """Everything recorded, oldest first; days and weeks in `tz` (default: local). Simulated
    sessions (driven from audio files) are left out."""
    if isinstance(store_or_db_path, Store):
        rows = store_or_db_path.sessions()
    else:
        with Store.open(Path(store_or_db_path)) as store:
            rows = store.sessions()
    # Sessions driven from audio files were simulations: nobody was on a table.
    sessions = sorted((session_point(row, tz) for row in rows if not row.get("simulated")),
                      key=lambda s: (s.started, s.id))
    return History(sessions=sessions, daily=daily_entries(store_or_db_path))
