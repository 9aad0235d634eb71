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


def start_live_session(pulse: PulseServer, tmp_path: Path, *options: str,
                       events: Path | None = None
                       ) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """The session process, its database and its events file; `options` are added to
    the command line. `events`: where the options already have the events written
    (--record-dir); by default --events names a file in `tmp_path`."""
    db = tmp_path / "session.db"
    record_clean_screening(db)
    record_past_sessions(db)
    more = ()
    if events is None:
        events = tmp_path / "ev.jsonl"
        more = ("--events", str(events))
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicecoach", "start", "--program", str(PROGRAM), "--pain",
         "3", "--no-checklist", *options, "--db", str(db), *more],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, **pulse.client_env()})
    return proc, db, events
