from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"

# Private PulseAudio server fixtures (pulse_server, pulse_env, fresh_pulse): tests/pulse.py.
pytest_plugins = ["pulse"]


@pytest.fixture(autouse=True)
def _voicecoach_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test touches the real home: data, config and caches go to a temp dir."""
    home = tmp_path / "voicecoach-home"
    monkeypatch.setenv("VOICECOACH_HOME", str(home))
    monkeypatch.delenv("VOICECOACH_DB", raising=False)
    return home


@pytest.fixture
def data_dir() -> Path:
    return DATA


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


@pytest.fixture
def screened_db(tmp_path: Path) -> Path:
    db = tmp_path / "session.db"
    record_clean_screening(db)
    return db


@pytest.fixture
def seasoned_db(screened_db: Path) -> Path:
    """Screened, with ten sessions long past: `--no-checklist` is allowed."""
    record_past_sessions(screened_db)
    return screened_db
