from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"

# Private PulseAudio server fixtures (pulse_server, pulse_env, fresh_pulse): devkit/pulse.py.
pytest_plugins = ["devkit.pulse"]

from devkit.session_history import record_clean_screening, record_past_sessions  # noqa: E402


@pytest.fixture(autouse=True)
def _voicecoach_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test touches the real home: data, config and caches go to a temp dir."""
    home = tmp_path / "voicecoach-home"
    monkeypatch.setenv("VOICECOACH_HOME", str(home))
    monkeypatch.delenv("VOICECOACH_DB", raising=False)
    from voicecoach.config import KEYS  # a user's own settings must not steer a test

    for key in KEYS.values():
        monkeypatch.delenv(key.env_var, raising=False)
    return home


@pytest.fixture
def data_dir() -> Path:
    return DATA


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
