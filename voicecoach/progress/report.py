"""The progress report: which weeks are in view, their sessions and daily records, and
the success markers (computed on the whole history, see markers.py).

Drawn by chart.py (PNG), page.py (a self-contained web page) and terminal.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from voicecoach.progress.history import History, SessionPoint, WeekSummary
from voicecoach.progress.markers import MarkerResult, evaluate_markers
from voicecoach.progress.tracking import DailyEntry
from voicecoach.protocol.end_reasons import END_REASONS

ADVISED_SESSIONS_A_WEEK = (3, 4)
"""Consistency over intensity: three or four sessions a week at moderate angles."""


def frequency_line(weeks: list[WeekSummary]) -> str:
    """Sessions a week in view against the 3-4 advised, and the weeks outside it."""
    low, high = ADVISED_SESSIONS_A_WEEK
    if not weeks:
        return f"Sessions a week: none recorded ({low}-{high} advised)"
    mean = sum(w.sessions for w in weeks) / len(weeks)
    under = sum(w.sessions < low for w in weeks)
    over = sum(w.sessions > high for w in weeks)
    return (f"Sessions a week: {mean:.1f} on average over {len(weeks)} week(s)"
            f" ({low}-{high} advised); {under} week(s) under {low}, {over} over {high}")


RECENT_SESSIONS = 6
"""Sessions listed one by one with their dose under "Recent sessions" (the newest)."""


def dose_line(session: SessionPoint) -> str:
    """One session as a clinician reads it: when, the angle and minutes held, pain before
    and after, and how it ended, in words."""
    angle = f"{session.angle:g} deg" if session.angle is not None else "no hold"
    held = f"{session.held_s / 60:.1f} min held" if session.held_s is not None else "-"
    pain = " -> ".join("?" if p is None else str(p)
                       for p in (session.pain_before, session.pain_after))
    if session.status == "ended_early" and session.end_reason:
        ended = "ended early: " + END_REASONS.get(session.end_reason,
                                                  session.end_reason.replace("_", " "))
    else:
        ended = session.status.replace("_", " ")
    return (f"{session.started:%a %d %b %H:%M}  {angle:>7}  {held:>13}  pain {pain:<7}  "
            f"{ended}" + ("; dizzy" if session.dizzy else ""))


@dataclass(frozen=True)
class Safety:
    """What a clinician looks for first: sessions that ended early and why, dizziness,
    and where the screening stands."""

    early_returns: list[tuple[str, int]]
    """(why, in words; sessions), the commonest first."""
    interrupted: int
    """Sessions whose process ended before they did (a crash, a power cut)."""
    dizzy_sessions: int
    screening: str | None
    """The screening's standing in one sentence (None: not looked up)."""

    def lines(self) -> list[str]:
        early = sum(count for _, count in self.early_returns)
        lines = [f"Ended early: {early} session(s)" + (": " + "; ".join(
            f"{why} ({count})" for why, count in self.early_returns) if early else "")]
        if self.interrupted:
            lines.append(f"Interrupted (the coach stopped running): {self.interrupted}"
                         " session(s)")
        lines.append(f"Dizziness reported in {self.dizzy_sessions} session(s)")
        if self.screening:
            lines.append(f"Screening: {self.screening}")
        return lines


def _safety(sessions: list[SessionPoint], screening: str | None) -> Safety:
    reasons = Counter(s.end_reason for s in sessions
                      if s.status == "ended_early" and s.end_reason)
    return Safety(
        early_returns=[(END_REASONS.get(r, r.replace("_", " ")), n)
                       for r, n in reasons.most_common()],
        interrupted=sum(s.status == "interrupted" for s in sessions),
        dizzy_sessions=sum(s.dizzy for s in sessions), screening=screening)


@dataclass(frozen=True)
class Report:
    history: History
    weeks: list[WeekSummary]
    """The weeks in view, oldest first."""
    sessions: list[SessionPoint]
    """The sessions in those weeks."""
    daily: list[DailyEntry]
    markers: list[MarkerResult]
    safety: Safety

    def dose_and_safety(self) -> list[str]:
        """Sessions a week, then the safety lines: what every view of the report shows
        under "Dose and safety"."""
        return [frequency_line(self.weeks), *self.safety.lines()]

    def recent_sessions(self, count: int = RECENT_SESSIONS) -> list[str]:
        """The newest sessions in view, newest first, one dose line each."""
        return [dose_line(s) for s in reversed(self.sessions[-count:])]

    @property
    def empty(self) -> bool:
        return not self.history.sessions and not self.history.daily

    def period(self) -> str:
        if not self.weeks:
            return "nothing recorded yet"
        first, last = self.weeks[0], self.weeks[-1]
        weeks = f"week {first.number}" if first is last else \
            f"weeks {first.number}-{last.number}"
        return f"{weeks}: {first.start} to {last.end}, {len(self.sessions)} session(s)"


def report_dict(report: Report) -> dict[str, Any]:
    """The report's figures as JSON-ready data: what `report --json` prints."""
    weeks = [{**dataclasses.asdict(w), "start": w.start.isoformat(), "end": w.end.isoformat()}
             for w in report.weeks]
    return {"period": report.period(), "weeks": weeks,
            "markers": [m.as_dict() for m in report.markers],
            "sessions_a_week": {"advised": list(ADVISED_SESSIONS_A_WEEK),
                                "line": frequency_line(report.weeks)},
            "safety": dataclasses.asdict(report.safety),
            "recent_sessions": report.recent_sessions()}


def build_report(history: History, *, weeks: int | None = None,
                 today: dt.date | None = None, screening: str | None = None) -> Report:
    """The last `weeks` weeks (all by default) up to `today`'s week, and the markers."""
    all_weeks = history.weeks(through=today)
    shown = all_weeks[-weeks:] if weeks is not None else all_weeks
    since = shown[0].start if shown else None
    sessions = [s for s in history.sessions if since is not None and s.day >= since]
    return Report(
        history=history, weeks=shown, sessions=sessions,
        daily=[d for d in history.daily if since is not None and d.date >= since],
        markers=evaluate_markers(history), safety=_safety(sessions, screening))
