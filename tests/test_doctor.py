"""`voicecoach doctor` on the private PulseAudio server: healthy, and broken in plain words."""

from __future__ import annotations

import json
import sqlite3

from click.testing import CliRunner

from speech_helpers import break_speech_engine
from voicecoach.cli import main


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
        "speech engine": "ok", "safety prompts": "ok", "sound system": "ok", "speaker": "ok",
        "microphone": "ok", "recogniser model": "ok", "judge model": "ok", "database": "ok"}
    mic = checks["microphone"]["data"]
    assert mic["device"] == "pulse" and mic["seconds"] >= 1.9
    assert -80 < mic["dbfs"] < -60  # the virtual mic's faint noise floor
    assert any(d["name"] == "pulse" and d["input"] and d["output"] for d in report["devices"])


def test_plain_report_names_each_part(pulse_env, tmp_path):
    result = doctor("--no-sound", "--db", str(tmp_path / "v.db"))
    assert result.exit_code == 0, result.output
    for words in ("speech engine", "safety prompts", "sound system", "recogniser model",
                  "judge model", "database", "skipped (--no-sound)", "All set."):
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
