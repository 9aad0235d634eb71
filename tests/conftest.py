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


@pytest.fixture
def screened_db(tmp_path: Path) -> Path:
    db = tmp_path / "session.db"
    record_clean_screening(db)
    return db
