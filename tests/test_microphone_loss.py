"""A microphone unplugged during the hold: the PulseAudio module behind the virtual
microphone is unloaded while `voicecoach start` runs as a user runs it. The user, who
can no longer be heard, is told why and brought up at once, and nothing is lost."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from devkit.pulse import PulseServer
from devkit.session_events import read_events, wait_for_event
from live_session import start_live_session


def test_an_unplugged_microphone_mid_hold_brings_the_user_up(
        fresh_pulse: PulseServer, tmp_path: Path, _voicecoach_home: Path):
    proc, db, events = start_live_session(fresh_pulse, tmp_path, "--answer-wait", "15")
    try:
        wait_for_event(events, lambda e: e["type"] == "hold_started", 40, proc)
        time.sleep(1.0)
        fresh_pulse.remove_microphone()
        unplugged = time.monotonic()
        lost = wait_for_event(events, lambda e: e["type"] == "device_lost", 10, proc)
        found_s = time.monotonic() - unplugged
        print(f"\nmicrophone loss found after {1000 * found_s:.0f} ms: {lost['detail']}")
        assert lost["device"] == "microphone"
        started = wait_for_event(events, lambda e: e["type"] == "return_started", 5, proc)
        assert started["reason"] == "device_lost"
        wait_for_event(events, lambda e: e["type"] == "prompt"
                       and e["id"] == "return_microphone", 5, proc)
        # The microphone reports its loss within a second (tests/test_audio_in.py). Here
        # PulseAudio moves the orphaned stream to the next source, the speaker's monitor,
        # so the coach's own prompt is heard until it ends and digital silence follows:
        # about 2.5 s. This bound only catches a session that does not act on the loss.
        assert found_s < 3
        # The return is guided to its end by the speaker alone, the pain question waits
        # for a key (--answer-wait 15 s here, the least, twice), and the session ends.
        _, stderr = proc.communicate(timeout=150)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    terminal = stderr.decode(errors="replace")
    assert "Traceback" not in terminal, terminal
    assert proc.returncode == 1, terminal
    logged = read_events(events)
    types = [e["type"] for e in logged]
    assert types.index("device_lost") < types.index("return_started")
    # Each return step after the loss was spoken, upright included.
    spoken = [e["id"] for e in logged[types.index("return_started"):] if e["type"] == "prompt"]
    assert spoken[0] == "return_microphone"
    assert len(spoken) >= 2, spoken
    with sqlite3.connect(db) as con:
        session_id, end_reason = con.execute(
            "SELECT id, end_reason FROM sessions ORDER BY id DESC LIMIT 1").fetchone()
        stored = con.execute("SELECT COUNT(*) FROM events WHERE session_id = ?",
                             (session_id,)).fetchone()[0]
    assert end_reason == "device_lost"
    assert stored == len(logged)
