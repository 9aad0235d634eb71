"""`voicecoach programs list|show|check|exercises` through the real click group."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from voicecoach.cli import main
from voicecoach.paths import config_dir
from voicecoach.protocol.program import builtin_program_names

GOOD = """
name = "mine"
title = "My gentle hold"
stage = "weeks-1-2"
[[steps]]
title = "Rest"
angle = 20
duration_s = 60
"""


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_list_shows_every_builtin_with_stage_angles_and_time():
    result = invoke("programs", "list")
    assert result.exit_code == 0, result.output
    for name in builtin_program_names():
        assert f"\n{name}: " in "\n" + result.output
    assert "herniated-disc: weeks-3-4, 30-45 degrees, 4 min 30 s [herniated-disc]" in result.output
    assert "first-session: first, 20 degrees, 1 min 30 s" in result.output


def test_list_marks_the_users_programs_and_refuses_unsafe_ones():
    folder = config_dir() / "programs"
    folder.mkdir(parents=True)
    (folder / "mine.toml").write_text(GOOD)
    (folder / "steep.toml").write_text(GOOD.replace("angle = 20", "angle = 50"))
    result = invoke("programs", "list", "--json")
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["mine"]["origin"] == "user" and rows["mine"]["stage"] == "weeks-1-2"
    assert "steps[1].angle: 50 degrees is outside 15-30" in rows["steep"]["problem"]
    text = invoke("programs", "list").output
    assert "mine (yours): weeks-1-2, 20 degrees, 1 min" in text
    assert "steep (yours): REFUSED:" in text


def test_show_prints_steps_cues_and_the_return():
    result = invoke("programs", "show", "sciatica-week-1")
    assert result.exit_code == 0, result.output
    assert "Stage: weeks-1-2; for: sciatica" in result.output
    assert "1. Leg rotations: 15 degrees, 1 min" in result.output
    assert "at 14 s: Release." in result.output
    assert "pause at about 30 degrees for 15 s" in result.output
    data = json.loads(invoke("programs", "show", "weeks-3-4", "--json").output)
    assert data["stage"] == "weeks-3-4" and data["steps"][1]["exercise"] == "arm-circles"


def test_check_prints_ok_for_a_safe_file(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD)
    result = invoke("programs", "check", str(path))
    assert (result.exit_code, result.output) == (0, "ok\n")


def test_check_prints_the_one_line_error_and_exits_2(tmp_path: Path):
    path = tmp_path / "long.toml"
    path.write_text(GOOD.replace("duration_s = 60", "duration_s = 300"))
    result = CliRunner().invoke(main, ["programs", "check", str(path)])
    assert result.exit_code == 2
    assert result.output == (f"{path}: steps: total hold 5 min is over 2 min for stage "
                             "weeks-1-2 (weeks 1-2 stay at 15-30 degrees for 30 s to 2 min)\n")


def test_check_names_a_malformed_field(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace("angle = 20", 'angle = "steep"'))
    result = CliRunner().invoke(main, ["programs", "check", str(path)])
    assert result.exit_code == 2
    assert result.output.strip() == f"{path}: steps[1].angle: must be a number, not 'steep'"


def test_show_of_an_unknown_program_is_one_line_exit_2():
    result = CliRunner().invoke(main, ["programs", "show", "nope"])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and "no such program" in result.output


def test_exercises_lists_the_library_with_hold_times():
    result = invoke("programs", "exercises")
    assert result.exit_code == 0
    assert "leg-rotation: Leg rotations, 52 s, holds of 10 s; from stage first" in result.output
    assert "partial-sit-up: Partial sit-ups" in result.output
    assert "from stage week-5-plus" in result.output


def test_every_new_command_has_help():
    for args in (["programs"], ["programs", "list"], ["programs", "show"],
                 ["programs", "check"], ["programs", "exercises"], ["screen"], ["clearance"],
                 ["plan"]):
        result = invoke(*args, "--help")
        assert result.exit_code == 0
        assert len(result.output.split("\n\n")) > 2, args


def test_listing_programs_creates_no_folder(tmp_path: Path, monkeypatch):
    home = tmp_path / "fresh-home"
    monkeypatch.setenv("VOICECOACH_HOME", str(home))
    result = invoke("programs", "list")
    assert result.exit_code == 0 and "first-session" in result.output
    assert not (home / "config").exists()
