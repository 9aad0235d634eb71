"""The progress report: which weeks are in view, their sessions and daily records, and
the success markers (computed on the whole history, see markers.py).

Drawn by chart.py (PNG), page.py (a self-contained web page) and terminal.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from voicecoach.progress.history import History, SessionPoint, WeekSummary
from voicecoach.progress.markers import MarkerResult, evaluate_markers
from voicecoach.progress.tracking import DailyEntry


@dataclass(frozen=True)
class Report:
    history: History
    weeks: list[WeekSummary]
    """The weeks in view, oldest first."""
    sessions: list[SessionPoint]
    """The sessions in those weeks."""
    daily: list[DailyEntry]
    markers: list[MarkerResult]

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
            "markers": [m.as_dict() for m in report.markers]}


def build_report(history: History, *, weeks: int | None = None,
                 today: dt.date | None = None) -> Report:
    """The last `weeks` weeks (all by default) up to `today`'s week, and the markers."""
    all_weeks = history.weeks(through=today)
    shown = all_weeks[-weeks:] if weeks is not None else all_weeks
    since = shown[0].start if shown else None
    return Report(
        history=history, weeks=shown,
        sessions=[s for s in history.sessions if since is not None and s.day >= since],
        daily=[d for d in history.daily if since is not None and d.date >= since],
        markers=evaluate_markers(history))
