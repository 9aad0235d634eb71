"""The README's set-up command, word for word, as a new user on a fresh account runs it:
the screening answered, `plan` asked, then the first session on a private PulseAudio
server's devices, in a terminal (a pty), answered by keys the way "Your first session"
says: Enter for each checklist item, a digit for each pain question.

`bash scripts/setup.sh` itself has run before the suite (scripts/test.sh runs it first);
everything after it runs here exactly as the README writes it."""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

from devkit.pulse import PulseServer
from voicecoach.protocol.screening import QUESTIONS
from voicecoach.store import queries
from voicecoach.store.connection import read_only

ROOT = Path(__file__).resolve().parents[1]
SESSION_LIMIT_S = 360.0
"""The first session: checklist, 20 degrees for 90 s, the return, the pain afterwards."""


def _set_up_line() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    [line] = [ln for ln in readme.splitlines() if ln.startswith("bash scripts/setup.sh && ")]
    return line.split(" && ")


def _new_user(tmp_path: Path, pulse: PulseServer) -> dict[str, str]:
    """A fresh account: its own home, nothing of voicecoach's anywhere, the sound server's
    devices as its default microphone and speaker."""
    home = tmp_path / "user"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VOICECOACH_", "XDG_"))}
    return {**env, **pulse.client_env(), "HOME": str(home)}


def _events(db: Path) -> list[dict]:
    """The newest session's events as the database holds them now (read while the
    session writes; nothing before the database exists)."""
    if not db.exists():
        return []
    with read_only(db) as conn:
        try:
            [(newest,)] = conn.execute("SELECT MAX(id) FROM sessions").fetchall()
            return [] if newest is None else queries.events(conn, newest)
        except sqlite3.OperationalError:  # the schema is still being made
            return []


def test_the_readme_s_first_session_works_as_written(fresh_pulse: PulseServer,
                                                     tmp_path: Path) -> None:
    setup, screen, start = _set_up_line()
    assert setup == "bash scripts/setup.sh"
    env = _new_user(tmp_path, fresh_pulse)

    # No health reason, a rated and certified table, the release practised: "no" to all.
    screened = subprocess.run(shlex.split(screen), input="n\n" * len(QUESTIONS), text=True,
                              capture_output=True, cwd=ROOT, env=env, timeout=60)
    assert screened.returncode == 0, screened.stderr
    assert "found no reason to avoid inversion" in screened.stdout

    # "Your first session", step 2.
    planned = subprocess.run(shlex.split(screen.replace(" screen", " plan")), text=True,
                             capture_output=True, cwd=ROOT, env=env, timeout=60)
    assert planned.returncode == 0, planned.stderr
    assert "first-session" in planned.stdout

    # Step 3: in a terminal, so the keyboard is live as it is for the user.
    main_fd, terminal = os.openpty()
    proc = subprocess.Popen(shlex.split(start), stdin=terminal, stdout=terminal,
                            stderr=terminal, cwd=ROOT, env=env, start_new_session=True)
    os.close(terminal)
    shown: list[bytes] = []

    def read_terminal() -> None:
        while True:
            try:
                data = os.read(main_fd, 4096)
            except OSError:
                return
            if not data:
                return
            shown.append(data)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    db = Path(env["HOME"]) / ".local" / "share" / "voicecoach" / "voicecoach.db"
    answered: set[int] = set()
    deadline = time.monotonic() + SESSION_LIMIT_S
    try:
        while proc.poll() is None:
            assert time.monotonic() < deadline, "the first session never ended"
            windows = [(i, e) for i, e in enumerate(_events(db)) if e["type"] == "answer_window"]
            for i, window in windows:
                if i in answered:
                    continue
                answered.add(i)
                question = window["question"]
                # A digit for a pain question (Enter there, as at any moment of the hold,
                # would start the return), Enter for "say ready".
                key = (b"2" if question == "post_pain_ask" else
                       b"3" if "pain" in question or "checkin" in question else b"\r")
                os.write(main_fd, key)
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        reader.join(timeout=5)
        os.close(main_fd)
    screen_text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", b"".join(shown)).decode(
        errors="replace")
    assert proc.returncode == 0, screen_text[-3000:]

    logged = _events(db)
    kinds = [e["type"] for e in logged]
    assert kinds[0] == "session_start" and kinds[-1] == "session_end", kinds
    assert logged[-1]["reason"] == "completed", logged[-1]
    # The first session: 20 degrees for 90 seconds, held to the end, the checklist gone
    # through (it cannot be skipped in the first ten sessions).
    [hold] = [e for e in logged if e["type"] == "hold_started"]
    assert (hold["angle"], hold["duration_s"]) == (20, 90.0)
    asked = [e["question"] for e in logged if e["type"] == "answer_window"]
    assert asked[0] != "pre_pain_ask" and "pre_pain_ask" in asked, asked
    pains = [(e["phase"], e["value"]) for e in logged if e["type"] == "pain"]
    assert pains[0] == ("before", 3) and pains[-1] == ("after", 2), pains
    assert all(pain == ("hold", 3) for pain in pains[1:-1]), pains  # the pain checks
    # The session says how it went, in words, at its end.
    assert "Session completed; logged." in screen_text, screen_text[-2000:]
