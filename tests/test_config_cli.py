"""`voicecoach config` and the order every setting follows: option > env var > file > default.

Sessions here run in text mode on the simulated clock; what they ran with is read back
from the session's own row in the store, as a clinician reviewing it would see it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from voicecoach.cli import main
from voicecoach.config import KEYS, config_path
from voicecoach.config.keys import DEFAULT_ANSWER_WAIT_S, DEFAULT_RATE
from voicecoach.session.engine import EngineSettings
from voicecoach.store import Store
from voicecoach.voice.speaking.clips import ClipMaker
from voicecoach.voice.speaking.prerendered import PromptLibrary
from voicecoach.voice.speaking.render import DEFAULT_VOICE


def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, env=env)


def one_line_error(result: Result) -> str:
    """The error a user sees: exit 2, one line, no traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def ran_with(db: Path) -> dict[str, object]:
    """The settings the last session in `db` was logged as running with."""
    with Store.open(db) as store:
        newest = store.sessions(limit=1)[0]
        session = store.session(newest["id"])
    assert session is not None
    return session["options"]["settings"]


def short_session(seasoned: Path, *extra: str, env: dict[str, str] | None = None) -> dict:
    """Run a session on a copy of `seasoned` (one session a day is allowed) and return the
    settings it was logged as running with."""
    db = seasoned.with_name(f"run-{len(list(seasoned.parent.glob('run-*.db')))}.db")
    shutil.copyfile(seasoned, db)
    result = invoke("start", "--text", "--fast", "--no-checklist", "--pain", "2",
                    "--db", str(db), *extra, input="1\n" * 6, env=env)
    assert result.exit_code == 0, result.output
    return ran_with(db)


def test_the_defaults_match_the_parts_they_describe() -> None:
    # config show answers without loading the speech stack, so the defaults are copied:
    # here they are held equal to the ones the session really uses.
    assert DEFAULT_VOICE.rate == DEFAULT_RATE
    assert EngineSettings().after_answer_timeout_s == DEFAULT_ANSWER_WAIT_S


def test_path_and_show_create_nothing(_voicecoach_home: Path) -> None:
    path = invoke("config", "path")
    assert path.exit_code == 0
    assert Path(path.output.strip()) == config_path()
    shown = invoke("config", "show", "--json")
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert data["file_exists"] is False
    assert set(data["settings"]) == set(KEYS)
    assert all(s["from"] == "default" for s in data["settings"].values())
    assert data["settings"]["rate"]["value"] == DEFAULT_RATE
    # Neither command (nor history, which only reads) leaves a folder behind.
    assert invoke("history").exit_code == 0
    assert not _voicecoach_home.exists()


def test_set_show_unset_keeps_comments_and_other_keys() -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text("# my settings\nvoice = \"en-us\"  # the clear one\n", encoding="utf-8")

    assert invoke("config", "set", "rate", "150").exit_code == 0
    assert invoke("config", "set", "headphones", "yes").exit_code == 0
    assert invoke("config", "set", "rate", "140").exit_code == 0  # replaced, not repeated
    text = path.read_text(encoding="utf-8")
    assert text == ("# my settings\nvoice = \"en-us\"  # the clear one\nrate = 140\n"
                    "headphones = true\n")

    shown = json.loads(invoke("config", "show", "--json").output)["settings"]
    assert (shown["rate"]["value"], shown["rate"]["from"]) == (140, "file")
    assert shown["headphones"]["value"] is True
    assert shown["volume"]["from"] == "default"

    assert invoke("config", "unset", "rate").exit_code == 0
    assert "rate" not in path.read_text(encoding="utf-8")
    assert "# my settings" in path.read_text(encoding="utf-8")
    again = invoke("config", "unset", "rate")
    assert again.exit_code == 0 and "not set" in again.output
    # No temporary file is left beside the config file.
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml"]


@pytest.mark.parametrize(("key", "value", "words"), [
    ("rate", "1000", "from 80 to 400"),
    ("rate", "fast", "whole number"),
    ("volume", "0", "from 0.1 to 1"),
    ("volume", "nan", "from 0.1 to 1"),
    ("headphones", "maybe", "true or false"),
    ("checkin_interval", "300", "from 30 to 120"),
    ("answer_wait", "5", "from 15 to 120"),
    ("loudness", "3", "unknown key"),
    ("whisper_model", "/nonexistent/model", "holds no Whisper model"),
])
def test_a_bad_value_is_refused_and_changes_nothing(key: str, value: str, words: str) -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text("rate = 150\n", encoding="utf-8")
    line = one_line_error(invoke("config", "set", key, value))
    assert words in line
    assert path.read_text(encoding="utf-8") == "rate = 150\n"


def test_option_beats_env_beats_file_beats_default(seasoned_db: Path) -> None:
    settings = short_session(seasoned_db)
    assert (settings["rate"], settings["answer_wait"]) == (DEFAULT_RATE, DEFAULT_ANSWER_WAIT_S)

    assert invoke("config", "set", "rate", "150").exit_code == 0
    assert invoke("config", "set", "answer_wait", "45").exit_code == 0
    assert invoke("config", "set", "checkin_interval", "40").exit_code == 0
    settings = short_session(seasoned_db)
    assert (settings["rate"], settings["answer_wait"], settings["checkin_interval"]) == \
        (150, 45.0, 40.0)

    env = {"VOICECOACH_RATE": "170"}
    shown = json.loads(invoke("config", "show", "--json", env=env).output)["settings"]
    assert (shown["rate"]["value"], shown["rate"]["from"]) == (170, "env")
    settings = short_session(seasoned_db, env=env)
    assert settings["rate"] == 170
    assert settings["answer_wait"] == 45.0  # still from the file

    assert short_session(seasoned_db, "--rate", "180", env=env)["rate"] == 180


def test_the_checkin_interval_sets_how_often_the_hold_asks(seasoned_db: Path,
                                                           tmp_path: Path) -> None:
    events = tmp_path / "ev.jsonl"
    assert invoke("config", "set", "checkin_interval", "30").exit_code == 0
    short_session(seasoned_db, "--events", str(events))
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    asked = [e["t"] for e in lines if e["type"] == "checkin"]
    hold = next(e for e in lines if e["type"] == "hold_started")
    assert len(asked) >= 2, "a 90 s hold asked every 30 s asks more than once"
    assert all(abs((b - a) - 30.0) < 1.0 for a, b in zip(asked, asked[1:], strict=False))
    assert asked[0] - hold["t"] == pytest.approx(30.0, abs=1.0)


def test_a_broken_file_stops_a_session_not_the_commands_that_mend_it(
        seasoned_db: Path) -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text("rate = 150\nvolume = 3\n", encoding="utf-8")
    line = one_line_error(invoke("start", "--text", "--fast", "--no-checklist",
                                 "--db", str(seasoned_db), input="1\n" * 6))
    assert str(path) in line and "volume" in line
    with Store.open(seasoned_db) as store:
        before = len(store.sessions())
    assert before == 10  # nothing was started

    # Reading and mending still work, and the mend is one key at a time.
    assert invoke("history", "--db", str(seasoned_db)).exit_code == 0
    assert invoke("config", "unset", "volume").exit_code == 0
    assert path.read_text(encoding="utf-8") == "rate = 150\n"
    short_session(seasoned_db)

    path.write_text("rate = [\n", encoding="utf-8")
    assert "not valid TOML" in one_line_error(invoke("config", "show"))
    path.write_text("microphone = 2\nmystery = 1\n", encoding="utf-8")
    assert "unknown key 'mystery'" in one_line_error(invoke("config", "show"))


def test_a_bad_env_var_is_named(seasoned_db: Path) -> None:
    result = invoke("start", "--text", "--fast", "--no-checklist", "--db", str(seasoned_db),
                    env={"VOICECOACH_VOLUME": "loud"})
    line = one_line_error(result)
    assert "VOICECOACH_VOLUME" in line or "--volume" in line
    assert "from 0.1 to 1" in line


def test_help_names_the_env_var_and_the_key() -> None:
    result = invoke("start", "--help")
    assert result.exit_code == 0
    flat = " ".join(result.output.split())
    for key in ("rate", "volume", "microphone", "answer_wait"):
        assert f"Config key: {key}" in flat
        assert KEYS[key].env_var in flat
    keys = " ".join(invoke("config", "--help").output.split())
    assert all(name in keys for name in KEYS)


def test_volume_scales_speech_but_is_the_same_prompt() -> None:
    # No speech engine: both play the recorded hold_complete prompt.
    library = PromptLibrary()
    full = ClipMaker(None, library).make("hold_complete", "The hold is complete.")
    half = ClipMaker(None, library, volume=0.5).make("hold_complete", "The hold is complete.")
    loud = np.abs(full.samples.astype(np.int32)).max()
    assert loud > 1000
    assert np.abs(half.samples.astype(np.int32)).max() == pytest.approx(loud / 2, abs=1)
    assert len(half.samples) == len(full.samples)
