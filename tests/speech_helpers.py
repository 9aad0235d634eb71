"""Helpers for the speech tests."""

from __future__ import annotations

from pathlib import Path

import pytest


def break_speech_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the speech engine process find a pyttsx3 that cannot load, as if espeak-ng
    were missing. Only new engine processes are affected: they import pyttsx3 afresh."""
    fake = tmp_path / "broken-site" / "pyttsx3"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise OSError('libespeak-ng.so.1: cannot open shared object file')\n")
    monkeypatch.setenv("PYTHONPATH", str(fake.parent))
