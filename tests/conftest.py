from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


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
