"""Histories a test (or a benchmark) starts from: a clean screening, sessions long past.

Plain functions, imported by the tests and by the benchmarks in scripts/ alike.
"""

from __future__ import annotations

from pathlib import Path


def record_clean_screening(db: Path) -> None:
    """A screening with every answer "no", taken today: sessions are allowed."""
    from datetime import date

    from voicecoach.protocol.screening import QUESTIONS, record_screening

    record_screening(db, {q.id: False for q in QUESTIONS}, date.today())


def record_past_sessions(db: Path, count: int = 10, days_ago: int = 60) -> None:
    """`count` completed live first sessions, `days_ago` days back: past the first ten
    sessions (the spoken checklist may be skipped), and no limit of today's is touched."""
    from datetime import datetime, timedelta, timezone

    from voicecoach.store import Store

    started = datetime.now(timezone.utc) - timedelta(days=days_ago)
    with Store.open(db) as store:
        for i in range(count):
            when = (started + timedelta(hours=i)).isoformat(timespec="seconds")
            sid = store.start_session(program="first-session", started_at=when, pid=1,
                                      options={"mode": "text"})
            store.log_event(sid, 15.0, "hold_started", {"angle": 20, "duration_s": 90.0})
            store.log_event(sid, 105.0, "hold_ended", {"held_s": 90.0})
            store.end_session(sid, "completed")
