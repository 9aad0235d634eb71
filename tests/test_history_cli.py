"""`voicecoach history` and `voicecoach backup` through the real click group."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

from click.testing import CliRunner, Result

from voicecoach.cli import main
from voicecoach.store import Store


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _fill(db: Path) -> None:
    with Store.open(db) as store:
        first = store.start_session(program="first-session",
                                    started_at="2024-05-01T08:00:00+00:00", pid=os.getpid(),
                                    options={})
        store.log_event(first, 1.0, "pain", {"value": 3, "phase": "before"})
        store.log_event(first, 5.0, "hold_started", {"angle": 20, "duration_s": 90})
        store.log_event(first, 95.0, "hold_ended", {"held_s": 90.0})
        store.log_event(first, 130.0, "pain", {"value": 2, "phase": "after"})
        store.end_session(first, "completed")
        second = store.start_session(program="weeks-1-2",
                                     started_at="2024-05-02T08:00:00+00:00", pid=os.getpid(),
                                     options={})
        store.log_event(second, 1.0, "pain", {"value": 4, "phase": "before"})
        store.log_event(second, 5.0, "hold_started", {"angle": 30, "duration_s": 120})
        store.log_event(second, 47.0, "return_started", {"reason": "pain_rise"})
        store.end_session(second, "pain_rise")


def _single_error_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_history_table(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    _fill(db)
    result = _run("history", "--db", str(db))
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if re.match(r"\s*\d+\s", line)]
    assert len(rows) == 2
    newest, oldest = rows
    assert "weeks-1-2" in newest and "ended early: pain rise" in newest
    assert "0:42" in newest and "4 -> -" in newest
    assert "first-session" in oldest and "completed" in oldest
    assert "1:30" in oldest and "3 -> 2" in oldest
    assert re.search(r"2024-05-0[12] \d\d:\d\d", oldest)


def test_history_json_and_limit(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    _fill(db)
    sessions = json.loads(_run("history", "-d", str(db), "--json").stdout)
    assert [s["program"] for s in sessions] == ["weeks-1-2", "first-session"]
    assert sessions[0] | {"ended_at": None} == {
        "id": 2, "started_at": "2024-05-02T08:00:00+00:00", "ended_at": None,
        "program": "weeks-1-2", "status": "ended_early", "end_reason": "pain_rise",
        "pain_before": 4, "pain_after": None, "duration_s": 47.0, "held_s": 42.0,
        "event_count": 3, "simulated": False, "dizzy": False, "dizziness_passed": None,
        "angle": 30}
    assert sessions[1]["held_s"] == 90.0 and sessions[1]["angle"] == 20
    limited = json.loads(_run("history", "-d", str(db), "--json", "-n", "1").stdout)
    assert [s["id"] for s in limited] == [2]


def test_history_with_no_database_yet_says_so_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    result = _run("history", "--db", str(db))
    assert result.exit_code == 0
    assert result.stdout == f"No sessions recorded yet (no database at {db}).\n"
    assert not db.exists()
    assert json.loads(_run("history", "--db", str(db), "--json").stdout) == []


def test_history_with_an_empty_database(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    Store.open(db).close()
    result = _run("history", "--db", str(db))
    assert result.exit_code == 0
    assert result.stdout == f"No sessions recorded yet in {db}.\n"


def test_history_uses_the_data_dir_by_default(_voicecoach_home: Path) -> None:
    from voicecoach.paths import default_db_path

    _fill(default_db_path())
    assert default_db_path().parent == _voicecoach_home
    assert len(json.loads(_run("history", "--json").stdout)) == 2


def test_history_with_a_missing_directory(tmp_path: Path) -> None:
    line = _single_error_line(_run("history", "--db", str(tmp_path / "no" / "v.db")))
    assert line == (f"Error: cannot open database {tmp_path / 'no' / 'v.db'}:"
                    f" directory {tmp_path / 'no'} does not exist")


def test_history_with_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list\n" * 500)
    line = _single_error_line(_run("history", "--db", str(notes)))
    assert "not a SQLite database" in line


def test_history_limit_must_be_positive(tmp_path: Path) -> None:
    result = _run("history", "--db", str(tmp_path / "v.db"), "-n", "0")
    assert result.exit_code == 2


def test_backup_command(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    _fill(db)
    out = tmp_path / "copy.db"
    result = _run("backup", "--db", str(db), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Backed up 2 session(s) to {out}\n"
    copy = sqlite3.connect(out)
    assert copy.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 7
    copy.close()
    again = _single_error_line(_run("backup", "--db", str(db), "--out", str(out)))
    assert again == (f"Error: {out} already exists: choose another --out, or add --force"
                     " to replace it")


def test_backup_by_default_goes_next_to_the_database(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    _fill(db)
    assert _run("backup", "--db", str(db)).exit_code == 0
    [copy] = tmp_path.glob("v-backup-*.db")
    with Store.open(copy) as store:
        assert len(store.sessions()) == 2


def test_backup_without_a_database(tmp_path: Path) -> None:
    line = _single_error_line(_run("backup", "--db", str(tmp_path / "v.db")))
    assert line == f"Error: no database at {tmp_path / 'v.db'}: nothing to back up"


def test_the_commands_have_help_with_examples() -> None:
    for command in ("history", "backup"):
        result = _run(command, "-h")
        assert result.exit_code == 0
        assert "Examples:\n" in result.stdout
        assert f"\n    voicecoach {command}\n" in result.stdout  # \b kept the lines as written


def test_a_long_history_is_listed_as_plain_aligned_lines():
    from voicecoach.cli.history import RICH_TABLE_MAX_ROWS, _plain

    sessions = [{"id": i, "started_at": "2026-01-01T08:00:00+00:00", "program": "weeks-1-2",
                 "status": "completed", "end_reason": "completed", "held_s": 95.0,
                 "pain_before": 4, "pain_after": 3} for i in range(RICH_TABLE_MAX_ROWS + 1, 0, -1)]
    lines = _plain(sessions).splitlines()
    assert len(lines) == len(sessions) + 3  # header, rule, rows, legend
    assert lines[0].split() == ["#", "Date", "Program", "Status", "Held", "Pain"]
    assert lines[2].split()[0] == str(RICH_TABLE_MAX_ROWS + 1)
    assert "1:35" in lines[2] and "4 -> 3" in lines[2]
    # Columns line up: every row's program starts where the header's does.
    column = lines[0].index("Program")
    assert all(line[column:].startswith("weeks-1-2") for line in lines[2:-1])
