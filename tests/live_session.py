"""A live `voicecoach start` as a user runs it, on a private PulseAudio server's devices:
screened, past its first ten sessions, the short program, its events in a file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from devkit.pulse import PulseServer
from devkit.session_history import record_clean_screening, record_past_sessions

PROGRAM = Path(__file__).parent / "data" / "programs" / "short-descend.toml"
"""20 degrees, descend 10 s, hold 60 s."""


def start_live_session(pulse: PulseServer, tmp_path: Path, *options: str
                       ) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """The session process, its database and its --events file; `options` are added to
    the command line."""
    db, events = tmp_path / "session.db", tmp_path / "ev.jsonl"
    record_clean_screening(db)
    record_past_sessions(db)
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicecoach", "start", "--program", str(PROGRAM), "--pain",
         "3", "--no-checklist", *options, "--db", str(db), "--events", str(events)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, **pulse.client_env()})
    return proc, db, events
