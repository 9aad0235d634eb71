"""`voicecoach paths`: where everything lives, and nothing created by asking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from voicecoach.cli import main


def test_paths_names_every_place_and_creates_none(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("VOICECOACH_HOME", str(home))
    result = CliRunner().invoke(main, ["paths", "--json"])
    assert result.exit_code == 0, result.output
    where = json.loads(result.output)
    assert where == {
        "database": str(home / "voicecoach.db"),
        "programs": str(home / "config" / "programs"),
        "speech_cache": str(home / "cache" / "speech"),
        "session_log": str(home / "voicecoach.log"),
        "recovery_journals": str(home / "recovery"),
    }
    assert not home.exists()
    monkeypatch.setenv("VOICECOACH_DB", str(tmp_path / "other.db"))
    plain = CliRunner().invoke(main, ["paths"])
    assert f"database           {tmp_path / 'other.db'}" in plain.output
    assert not home.exists()
