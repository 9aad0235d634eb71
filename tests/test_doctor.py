"""`voicecoach doctor` on the private PulseAudio server: healthy, and broken in plain words."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from speech_helpers import break_speech_engine
from voicecoach.cli import main
from voicecoach.voice.pcm import read_wav

SPEECH = Path(__file__).parent / "data" / "speech"


def doctor(*args: str):
    return CliRunner().invoke(main, ["doctor", *args])


def checks_of(result) -> dict[str, dict]:
    return {c["name"]: c for c in json.loads(result.output)["checks"]}


def test_everything_works_on_the_virtual_devices(pulse_env, tmp_path):
    result = doctor("--json", "--mic", "pulse", "--speaker", "pulse", "--db",
                    str(tmp_path / "v.db"))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True
    checks = checks_of(result)
    assert {name: c["status"] for name, c in checks.items()} == {
        "speech engine": "ok", "safety prompts": "ok", "sound system": "ok",
        "microphones hearing sound": "ok", "speaker": "ok", "microphone": "ok",
        "echo path": "ok", "recogniser model": "ok", "judge model": "ok", "hearing": "ok",
        "database": "ok"}
    # The virtual microphone does not hear the virtual speaker (no loopback): no echo.
    assert checks["echo path"]["data"]["found"] is False
    mic = checks["microphone"]["data"]
    assert mic["device"] == "pulse" and mic["seconds"] >= 1.9
    assert -80 < mic["dbfs"] < -60  # the virtual mic's faint noise floor
    # SpeechRecognition's bar for sound (RMS 30) is above that floor
    assert 8 < mic["energy_threshold"] < 100
    pulse = [d for d in report["devices"] if d["name"] == "pulse"]
    assert pulse and pulse[0]["input"] and pulse[0]["output"]
    assert pulse[0]["hears_sound"] is False
    assert checks["microphones hearing sound"]["detail"].startswith("none right now")
    hearing = checks["hearing"]
    assert hearing["data"]["stop_after_ms"] < 500  # the recorded "stop", as a session hears
    assert hearing["data"]["microphone_heard"] == []  # the quiet room said nothing


def test_a_stop_said_into_the_microphone_is_heard(pulse_env, tmp_path):
    """A user who says "stop" while doctor records is told it was heard; the microphone
    that picked it up is named. The room has a fan (noise at RMS 300) and "stop" is said
    every 1.5 s, so that every moment of the check hears sound and the recording holds
    at least one whole word."""
    stop = read_wav(SPEECH / "stop_b87bdb22.wav").astype(np.float64)
    said = np.concatenate([np.concatenate([stop, np.zeros(24000 - len(stop))])] * 20)
    room = np.random.default_rng(5).normal(0, 300, len(said))
    player = pulse_env.play_into_mic(np.clip(said + room, -32768, 32767))
    try:
        result = doctor("--json", "--mic", "pulse", "--speaker", "pulse", "--seconds", "3",
                        "--db", str(tmp_path / "v.db"))
    finally:
        player.kill()
        player.wait()
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    pulse = [d for d in report["devices"] if d["name"] == "pulse"][0]
    assert pulse["hears_sound"] is True
    assert not any(d["hears_sound"] for d in report["devices"] if not d["input"])
    checks = checks_of(result)
    listing = checks["microphones hearing sound"]
    assert pulse["index"] in listing["data"]["devices"] and "pulse" in listing["detail"]
    # SpeechRecognition's threshold follows the louder room
    assert checks["microphone"]["data"]["energy_threshold"] > 300
    assert "stop" in checks["hearing"]["data"]["microphone_heard"]
    assert "from the microphone: stop" in checks["hearing"]["detail"]


def test_the_echo_path_is_measured_when_the_microphone_hears_the_speaker(pulse_env, tmp_path):
    """PulseAudio's loopback carries the speaker into the microphone 20 ms late, at the
    level played: doctor finds the echo at the coach's speech level (the sweep is made at
    -19.7 dBFS) and its delay, and says how loud a stop must be to be heard over it."""
    pulse_env.set_loopback(True)
    try:
        result = doctor("--json", "--mic", "pulse", "--speaker", "pulse",
                        "--db", str(tmp_path / "v.db"))
    finally:
        pulse_env.set_loopback(False)
    assert result.exit_code == 0, result.output
    echo = checks_of(result)["echo path"]
    assert echo["status"] == "ok", echo
    assert echo["data"]["found"] is True and echo["data"]["clipped"] is False
    assert -23 < echo["data"]["echo_dbfs"] < -16
    assert 5 < echo["data"]["delay_ms"] < 80  # 20 ms of loopback, and the devices' timing
    assert "a stop said over the coach is heard if it reaches the microphone at" in \
        echo["detail"]


def test_plain_report_names_each_part(pulse_env, tmp_path):
    result = doctor("--no-sound", "--db", str(tmp_path / "v.db"))
    assert result.exit_code == 0, result.output
    for words in ("speech engine", "safety prompts", "sound system", "echo path",
                  "recogniser model",
                  "judge model", "hearing", "database", "skipped (--no-sound)", "All set."):
        assert words in result.output


def test_a_broken_speech_engine_is_named_and_exits_1(pulse_env, tmp_path, monkeypatch):
    break_speech_engine(tmp_path, monkeypatch)
    result = doctor("--json", "--no-sound", "--db", str(tmp_path / "v.db"))
    assert result.exit_code == 1
    engine = checks_of(result)["speech engine"]
    assert engine["status"] == "fail"
    assert "espeak-ng" in engine["detail"] and "apt-get install espeak-ng" in engine["hint"]


def test_a_damaged_database_is_reported(pulse_env, tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database at all" * 100)
    result = doctor("--json", "--no-sound", "--db", str(bad))
    assert result.exit_code == 1
    db = checks_of(result)["database"]
    assert db["status"] == "fail" and "cannot be read" in db["detail"]


def test_a_database_that_cannot_be_created_is_reported(pulse_env, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = doctor("--json", "--no-sound", "--db", str(blocker / "sub" / "v.db"))
    assert result.exit_code == 1
    assert "is not a folder" in checks_of(result)["database"]["detail"]


def test_an_intact_database_passes(pulse_env, tmp_path):
    path = tmp_path / "ok.db"
    with sqlite3.connect(path) as db:
        db.execute("create table t (x)")
    result = doctor("--json", "--no-sound", "--db", str(path))
    assert checks_of(result)["database"]["status"] == "ok"


def test_unknown_device_is_a_usage_error(pulse_env, tmp_path):
    result = doctor("--mic", "no-such-microphone", "--db", str(tmp_path / "v.db"))
    assert result.exit_code == 2
    assert "no input device matches 'no-such-microphone'" in result.output
