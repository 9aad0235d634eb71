"""A database made at every earlier schema version opens with today's code, data intact."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from voicecoach.store import Store
from voicecoach.store.migrations import LATEST, migrate
from voicecoach.store.process import host_name

EVENTS = [
    (0.5, "pain", {"value": 4, "phase": "before", "confidence": 0.8, "transcript": "four"}),
    (2.0, "hold_started", {"angle": 20, "duration_s": 60}),
    (31.0, "heard", {"word": "stop", "confidence": 0.93, "transcript": "stop"}),
    (62.0, "hold_ended", {"held_s": 60.0}),
    (70.0, "pain", {"value": 3, "phase": "after", "confidence": 0.9, "transcript": "three"}),
]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f'PRAGMA table_info("{table}")')}


def _tables(db: sqlite3.Connection) -> list[str]:
    return [row[0] for row in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]


def _fill(db: sqlite3.Connection) -> None:
    """Write two sessions the way the code of this schema version would have."""
    session_columns = _columns(db, "sessions")
    dead = _dead_pid()
    for sid, status, ended_at, reason in [
            (1, "completed", "2024-05-01T08:30:00+00:00", "completed"),
            (2, "running", None, None)]:
        row = {"id": sid, "started_at": f"2024-05-0{sid}T08:00:00+00:00",
               "program": "first-session", "status": status, "ended_at": ended_at,
               "end_reason": reason, "pid": dead, "options": json.dumps({"mode": "text"})}
        if "host" in session_columns:
            row["host"] = host_name()
        names = ", ".join(row)
        db.execute(f"INSERT INTO sessions ({names}) VALUES ({', '.join('?' * len(row))})",
                   tuple(row.values()))
    has_seq = "seq" in _columns(db, "events")
    has_pain = "pain" in _tables(db)
    for seq, (t, type_, data) in enumerate(EVENTS, start=1):
        if has_seq:
            db.execute("INSERT INTO events (session_id, seq, t, type, data)"
                       " VALUES (1, ?, ?, ?, ?)", (seq, t, type_, json.dumps(data)))
        else:
            db.execute("INSERT INTO events (session_id, t, type, data) VALUES (1, ?, ?, ?)",
                       (t, type_, json.dumps(data)))
        if has_pain and type_ == "pain":
            db.execute("INSERT INTO pain (session_id, t, phase, value, transcript, confidence)"
                       " VALUES (1, ?, ?, ?, ?, ?)", (t, data["phase"], data["value"],
                                                     data["transcript"], data["confidence"]))
    db.execute("INSERT INTO events (session_id, t, type, data) VALUES (2, 1.0, 'phase', ?)",
               (json.dumps({"name": "checklist"}),))


def _database_at(path: Path, version: int, *, with_data: bool = True) -> dict[str, int]:
    """Build a database at schema `version`; return the row count of each table."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    migrate(db, upto=version)
    if with_data:
        _fill(db)
    counts = {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in _tables(db)}
    db.close()
    return counts


@pytest.mark.parametrize("version", range(1, LATEST))
def test_data_from_an_earlier_schema_survives(tmp_path: Path, version: int) -> None:
    path = tmp_path / "voicecoach.db"
    counts = _database_at(path, version)

    with Store.open(path) as store:
        completed, interrupted = store.session(1), store.session(2)
        assert completed is not None and interrupted is not None
        assert store.events(1) == [{"t": t, "type": ty, **d} for t, ty, d in EVENTS]
        assert (completed["status"], completed["end_reason"]) == ("completed", "completed")
        assert (completed["pain_before"], completed["pain_after"]) == (4, 3)
        assert completed["held_s"] == 60.0
        assert completed["options"] == {"mode": "text"}
        assert [p["value"] for p in store.pain_ratings(1)] == [4, 3]
        # Left running by a process that is gone.
        assert interrupted["status"] == "interrupted"
        # The upgraded database takes new events after the old ones.
        store.log_event(1, 80.0, "alert", {"sound": "heard"})
        assert store.events(1)[-1] == {"t": 80.0, "type": "alert", "sound": "heard"}

    db = sqlite3.connect(path)
    assert db.execute("SELECT MAX(number) FROM _migrations").fetchone()[0] == LATEST
    seqs = db.execute("SELECT seq FROM events WHERE session_id = 1 ORDER BY id").fetchall()
    assert [s[0] for s in seqs] == list(range(1, len(EVENTS) + 2))
    for table, count in counts.items():
        if table not in ("_migrations", "pain", "events"):
            assert db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] == count, table
    db.close()

    # The database as it was, saved before the first migration touched it.
    [backup] = tmp_path.glob(f"voicecoach-before-m{version + 1:03d}-*.db")
    saved = sqlite3.connect(backup)
    assert saved.execute("SELECT MAX(number) FROM _migrations").fetchone()[0] == version
    assert {t: saved.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
            for t in _tables(saved)} == counts
    saved.close()


def test_an_old_database_without_data_is_upgraded_without_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "voicecoach.db"
    _database_at(path, 1, with_data=False)
    Store.open(path).close()
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["voicecoach.db"]


def test_pain_events_logged_before_the_pain_table_are_copied_into_it(tmp_path: Path) -> None:
    path = tmp_path / "voicecoach.db"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(db, upto=1)
    db.execute("INSERT INTO sessions (id, started_at, program, status)"
               " VALUES (1, 'then', 'p', 'completed')")
    for t, data in [(1.0, {"value": 5, "phase": "before"}),
                    (2.0, {"value": "five", "phase": "hold"}),  # not a rating: left out
                    (3.0, {"value": 2, "phase": "after", "transcript": "two"})]:
        db.execute("INSERT INTO events (session_id, t, type, data) VALUES (1, ?, 'pain', ?)",
                   (t, json.dumps(data)))
    db.close()
    with Store.open(path) as store:
        assert [(p["t"], p["value"], p["transcript"]) for p in store.pain_ratings(1)] == [
            (1.0, 5, None), (3.0, 2, "two")]
        assert len(store.events(1)) == 3
