"""`voicecoach backup` and `voicecoach restore` through the real CLI on real SQLite files:
a restore brings back exactly what the backup held, keeps the database it replaces, and
refuses, changing nothing, a damaged backup, a file that is not voicecoach's, and a
database a session is writing to."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from devkit.session_history import record_clean_screening, record_past_sessions
from voicecoach.cli import main
from voicecoach.store import Store


def _sessions(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return int(con.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_a_restore_brings_back_the_backup_and_keeps_what_it_replaced(tmp_path: Path) -> None:
    db = tmp_path / "voicecoach.db"
    record_clean_screening(db)
    record_past_sessions(db, count=3)
    code, out = _run("backup", "--db", str(db), "--out", str(tmp_path / "b.db"), "--json")
    assert code == 0, out
    assert json.loads(out) == {"database": str(db), "backup": str(tmp_path / "b.db"),
                               "sessions": 3}
    record_past_sessions(db, count=2, days_ago=30)  # sessions after the backup
    assert _sessions(db) == 5

    code, out = _run("restore", "--db", str(db), str(tmp_path / "b.db"), "--json")
    assert code == 0, out
    done = json.loads(out)
    assert done["sessions"] == 3 and _sessions(db) == 3
    # The database as it was, its two later sessions included, is kept beside it.
    assert _sessions(Path(done["previous"])) == 5
    # The restored database is a working one: it reads, and takes new sessions.
    code, out = _run("history", "--db", str(db), "--json")
    assert code == 0 and len(json.loads(out)) == 3, out
    with Store.open(db) as store:
        sid = store.start_session(program="first-session", started_at="2026-01-01T00:00:00",
                                  pid=os.getpid(), options={})
        store.end_session(sid, "completed")
    assert _sessions(db) == 4


def test_a_restore_onto_a_new_machine_makes_the_database(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    record_past_sessions(old, count=2)
    _run("backup", "--db", str(old), "--out", str(tmp_path / "b.db"))
    new = tmp_path / "new" / "voicecoach.db"
    new.parent.mkdir()
    code, out = _run("restore", "--db", str(new), str(tmp_path / "b.db"))
    assert code == 0, out
    assert "Restored 2 session(s)" in out and "kept at" not in out
    assert _sessions(new) == 2


def _refused(db: Path, backup: Path, why: str) -> None:
    before = db.read_bytes()
    code, out = _run("restore", "--db", str(db), str(backup))
    assert code == 2, out
    assert why in out, out
    assert len(out.strip().splitlines()) == 1 and "Traceback" not in out
    assert _sessions(db) == 3
    assert db.read_bytes() == before or _sessions(db) == 3


def test_a_damaged_or_foreign_backup_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    db = tmp_path / "voicecoach.db"
    record_past_sessions(db, count=3)
    backup = tmp_path / "b.db"
    _run("backup", "--db", str(db), "--out", str(backup))
    damaged = tmp_path / "damaged.db"
    data = bytearray(backup.read_bytes())
    pages = len(data) // 4096
    for page in range(1, pages):  # every b-tree page but the schema's: an invalid type
        data[page * 4096: page * 4096 + 8] = b"\xff" * 8
    damaged.write_bytes(bytes(data))
    _refused(db, damaged, "damaged")
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as con:
        con.execute("CREATE TABLE notes (text TEXT)")
    _refused(db, foreign, "not a voicecoach one")
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all\n" * 100)
    code, out = _run("restore", "--db", str(db), str(text))
    assert code == 2 and "Traceback" not in out, out
    assert _sessions(db) == 3


def test_a_restore_is_refused_while_a_session_runs(tmp_path: Path) -> None:
    db = tmp_path / "voicecoach.db"
    record_past_sessions(db, count=3)
    backup = tmp_path / "b.db"
    _run("backup", "--db", str(db), "--out", str(backup))
    with Store.open(db) as store:
        sid = store.start_session(program="first-session", started_at="2026-01-01T00:00:00",
                                  pid=os.getpid(), options={})
        code, out = _run("restore", "--db", str(db), str(backup))
        assert code == 2, out
        assert "a session is running" in out
        store.end_session(sid, "completed")
    assert _sessions(db) == 4


def test_backup_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    db = tmp_path / "voicecoach.db"
    record_past_sessions(db, count=1)
    out_file = tmp_path / "b.db"
    out_file.write_text("something the user keeps")
    code, out = _run("backup", "--db", str(db), "--out", str(out_file))
    assert code == 2 and "already exists" in out and "--force" in out, out
    assert out_file.read_text() == "something the user keeps"
    code, out = _run("backup", "--db", str(db), "--out", str(out_file), "--force")
    assert code == 0, out
    assert _sessions(out_file) == 1
    code, out = _run("backup", "--db", str(db), "--out", str(db), "--force")
    assert code == 2 and "onto itself" in out, out
    assert _sessions(db) == 1
