"""A whole guided session driven through the CLI in text mode, then read back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voicecoach.cli import main
from voicecoach.voice.pcm import write_wav

PROGRAMS = Path(__file__).parent / "data" / "programs"
CHECKLIST_READY = "ready\n" * 9  # eight checklist items and the microphone check


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_whole_text_session_then_history_json(tmp_path: Path, screened_db: Path):
    db = screened_db
    events = tmp_path / "ev.jsonl"
    # "11" and "banana" are re-asked and never logged; 3 is the real rating.
    typed = CHECKLIST_READY + "11\nbanana\n3\n" + "2\n" + "1\n"
    result = invoke("start", "--text", "--fast", "--db", str(db), "--events", str(events),
                    input=typed)
    assert result.exit_code == 0, result.output
    assert "Lean back slowly to 20 degrees" in result.output
    assert "Session complete" in result.output

    lines = [json.loads(line) for line in events.read_text().splitlines()]
    pains = [(e["phase"], e["value"]) for e in lines if e["type"] == "pain"]
    assert pains == [("before", 3), ("hold", 2), ("after", 1)]
    assert [e["transcript"] for e in lines if e["type"] == "unrecognised"] == ["11", "banana"]
    assert lines[-1]["type"] == "session_end" and lines[-1]["reason"] == "completed"
    # The hold of the built-in first session: 15 s descent, then 90 s.
    hold = next(e for e in lines if e["type"] == "hold_started")
    assert hold["t"] == 15.0 and hold["duration_s"] == 90.0

    history = invoke("history", "--json", "--db", str(db))
    assert history.exit_code == 0, history.output
    sessions = json.loads(history.output)
    assert len(sessions) == 1
    s = sessions[0]
    assert s["program"] == "first-session"
    assert s["status"] == "completed"
    assert (s["pain_before"], s["pain_after"]) == (3, 1)


def test_stop_typed_at_a_checkin_ends_early_with_exit_1(seasoned_db: Path):
    db = seasoned_db
    result = invoke("start", "--text", "--fast", "--pain", "2", "--no-checklist",
                    "--db", str(db), input="stop\n4\n")
    assert result.exit_code == 1, result.output
    assert "Coming up now." in result.output
    sessions = json.loads(invoke("history", "--json", "--db", str(db)).output)
    assert sessions[0]["status"] == "ended_early"
    assert sessions[0]["end_reason"] == "stop"


def _one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_unknown_program_is_one_line_exit_2(tmp_path: Path):
    line = _one_line_error(invoke("start", "--text", "--program", "no-such-program",
                                  "--db", str(tmp_path / "x.db")))
    assert "no-such-program" in line


def test_malformed_program_names_the_field(tmp_path: Path):
    line = _one_line_error(invoke("start", "--text", "--program",
                                  str(PROGRAMS / "malformed-angle.toml"),
                                  "--db", str(tmp_path / "x.db")))
    assert "steps[1].angle" in line


def test_unwritable_db_path_is_one_line_exit_2(tmp_path: Path):
    line = _one_line_error(invoke("start", "--text", "--db", str(tmp_path / "no" / "dir" / "x.db"),
                                  input="stop\n"))
    assert "x.db" in line


def test_audio_in_that_is_not_audio_is_one_line_exit_2_and_no_session(tmp_path: Path):
    """The file is read before a session is opened: a bad one leaves nothing half-started
    (it used to end in a traceback, exit 1, and an "interrupted" session in the history)."""
    db = tmp_path / "x.db"
    for content in (b"root:x:0:0:root:/root:/bin/bash\n", b"RIFF\x04\x00\x00\x00WAVE", b""):
        bad = tmp_path / "in.wav"
        bad.write_bytes(content)
        line = _one_line_error(invoke("start", "--audio-in", str(bad), "--fast",
                                      "--audio-out", str(tmp_path / "out.wav"),
                                      "--db", str(db)))
        assert "in.wav" in line and "WAV" in line, line
    history = invoke("history", "--json", "--db", str(db))
    assert history.exit_code == 0, history.output
    assert json.loads(history.output) == []


def test_unwritable_audio_out_or_events_is_one_line_exit_2_and_no_session(tmp_path: Path):
    """OUT.wav is written as the session ends: a path that cannot be written is refused
    up front, not found out after the session (a traceback, exit 1, no recording)."""
    db = tmp_path / "x.db"
    good_in = tmp_path / "in.wav"
    write_wav(good_in, np.zeros(16000, dtype=np.int16))
    nowhere = tmp_path / "no" / "such" / "dir"
    for flag in ("--audio-out", "--events"):
        line = _one_line_error(invoke("start", "--audio-in", str(good_in), "--fast",
                                      flag, str(nowhere / "f"), "--db", str(db)))
        assert str(nowhere / "f") in line, line
    history = invoke("history", "--json", "--db", str(db))
    assert json.loads(history.output) == []


def test_pain_out_of_range_on_the_command_line_is_one_line_exit_2(tmp_path: Path):
    line = _one_line_error(invoke("start", "--text", "--pain", "11"))
    assert "--pain" in line


def test_sigkill_mid_hold_leaves_an_interrupted_session_with_every_event(tmp_path: Path,
                                                                         seasoned_db: Path):
    db = seasoned_db
    events = tmp_path / "ev.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicecoach", "start", "--text", "--pain", "3", "--no-checklist",
         "--program", str(PROGRAMS / "short-descend.toml"), "--db", str(db),
         "--events", str(events)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ})
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if events.exists() and '"hold_started"' in events.read_text():
                break
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.05)
        else:
            raise AssertionError("the hold never started")
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    logged = [json.loads(line) for line in events.read_text().splitlines()]
    history = json.loads(invoke("history", "--json", "--db", str(db)).output)
    assert history[0]["status"] == "interrupted"
    from voicecoach.store import Store

    store = Store.open(db)
    try:
        stored = store.events(history[0]["id"])
    finally:
        store.close()
    # The database is written first: the events file holds all of it, or lacks the last.
    as_stored = [(e["type"], e["t"]) for e in stored]
    as_logged = [(e["type"], e["t"]) for e in logged]
    assert as_stored[:len(as_logged)] == as_logged and len(as_stored) - len(as_logged) <= 1
    assert "hold_started" in [e["type"] for e in stored]


def test_without_an_audio_device_start_says_so_and_points_to_text(seasoned_db: Path,
                                                                  tmp_path: Path):
    # No sound server to reach and no sound card: PortAudio finds no device at all.
    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path / 'no-such-server'}",
           "PULSE_CLIENTCONFIG": str(tmp_path / "client.conf")}
    (tmp_path / "client.conf").write_text("autospawn = no\n")
    result = subprocess.run(
        [sys.executable, "-m", "voicecoach", "start", "--pain", "2", "--no-checklist",
         "--db", str(seasoned_db)], env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "--text" in lines[0]


def test_a_whisper_model_that_does_not_load_is_one_line_exit_2_and_no_session(tmp_path: Path):
    """`--whisper-model` names the judge's model: a folder without one is refused before
    anything starts, and one whose model is damaged stops the recogniser from starting,
    which is also one line and exit 2, with no half-started session in the history."""
    db = tmp_path / "x.db"
    good_in = tmp_path / "in.wav"
    write_wav(good_in, np.zeros(16000, dtype=np.int16))
    empty = tmp_path / "empty"
    empty.mkdir()
    line = _one_line_error(invoke("start", "--audio-in", str(good_in), "--fast",
                                  "--whisper-model", str(empty), "--db", str(db)))
    assert "empty holds no Whisper model" in line, line
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "model.bin").write_bytes(b"not a model")
    line = _one_line_error(invoke("start", "--audio-in", str(good_in), "--fast",
                                  "--whisper-model", str(damaged), "--db", str(db)))
    assert "recogniser could not start" in line and "Whisper model did not load" in line, line
    history = invoke("history", "--json", "--db", str(db))
    assert json.loads(history.output) == []


@pytest.mark.parametrize(("given", "shown"), [("abc", "'abc'"), ("11", "11"), ("-1", "-1"),
                                              ("2.5", "'2.5'")])
def test_a_pain_rating_outside_0_to_10_says_the_range(given: str, shown: str):
    line = _one_line_error(invoke("start", "--text", "--pain", given))
    assert f"--pain': must be a whole number from 0 to 10, not {shown}" in line


def test_a_typed_session_asks_to_type_and_checks_no_microphone(screened_db):
    """Typed prompts say "type", not "say", and there is no microphone check to answer."""
    from voicecoach.session.prompts import for_typing

    assert for_typing("Microphone check. Say ready.") == "Microphone check. Type ready."
    assert for_typing("I heard 4. Say yes, or say the number again.") == \
        "I read 4. Type yes, or type the number again."
    assert for_typing("I did not hear you. Please say yes or no.") == \
        "I did not get an answer. Please type yes or no."
    result = CliRunner().invoke(main, ["start", "--text", "--fast", "--program",
                                       "first-session", "--db", str(screened_db)],
                                input="ready\n" * 12 + "3\n" + "2\n" * 10)
    assert "Microphone check" not in result.output
    assert "Say " not in result.output and " say " not in result.output, result.output
    assert "Type a number from zero to ten" in result.output
