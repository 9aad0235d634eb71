"""Helpers for the speech tests."""

from __future__ import annotations

import os
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
    # espeak-ng's own command line, the renderer's last resort, is broken the same way.
    shims = tmp_path / "broken-bin"
    shims.mkdir()
    shim = shims / "espeak-ng"
    shim.write_text("#!/bin/sh\necho 'espeak-ng: libespeak-ng.so.1: cannot open shared object "
                    "file' >&2\nexit 127\n")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}{os.pathsep}{os.environ.get('PATH', '')}")
