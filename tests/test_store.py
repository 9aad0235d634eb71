"""The SQLite store: schema, events, pain, interrupted sessions, concurrency, bad paths."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from voicecoach.store import Store, StoreError
from voicecoach.store.migrations import LATEST, MIGRATIONS
from voicecoach.store.process import is_alive, process_start

STARTED = "2024-05-01T08:00:00+00:00"

# Every event type the engine logs, with the data keys it logs them with.
SESSION_EVENTS: list[tuple[float, str, dict[str, Any]]] = [
    (0.0, "phase", {"name": "checklist"}),
    (1.25, "prompt", {"id": "pain_before", "text": "How is your pain, from zero to ten?"}),
    (3.5, "pain", {"value": 3, "phase": "before", "confidence": 0.82, "transcript": "three"}),
    (4.0, "heard", {"word": "ready", "confidence": 0.91, "transcript": "ready"}),
    (5.0, "unrecognised", {"transcript": "banana"}),
    (6.0, "phase", {"name": "hold"}),
    (8.0, "hold_started", {"angle": 20, "duration_s": 60}),
    (38.0, "pain", {"value": 4, "phase": "hold", "confidence": 0.7, "transcript": "four"}),
    (68.5, "hold_ended", {"held_s": 60.5}),
    (69.0, "alert", {"sound": "heard"}),
    (70.0, "return_started", {"reason": "program_done"}),
    (120.0, "pain", {"value": 2, "phase": "after", "confidence": 0.88, "transcript": "two"}),
    (121.0, "session_end", {"reason": "completed"}),
]


def _open(tmp_path: Path, **kwargs: Any) -> Store:
    return Store.open(tmp_path / "voicecoach.db", **kwargs)


def _start(store: Store, program: str = "first-session", pid: int | None = None) -> int:
    return store.start_session(program=program, started_at=STARTED,
                               pid=os.getpid() if pid is None else pid, options={"mode": "text"})


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


# -- schema ------------------------------------------------------------------------


def test_a_new_database_gets_every_migration_in_wal_mode(tmp_path: Path) -> None:
    store = _open(tmp_path)
    store.close()
    db = _raw(tmp_path / "voicecoach.db")
    rows = db.execute("SELECT number, name FROM _migrations ORDER BY number").fetchall()
    assert rows == [(m.number, m.name) for m in MIGRATIONS]
    assert rows[-1][0] == LATEST
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"sessions", "events", "pain", "_migrations"} <= tables
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrations_are_numbered_one_after_another() -> None:
    assert [m.number for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert len({m.name for m in MIGRATIONS}) == len(MIGRATIONS)


def test_reopening_applies_nothing_again_and_makes_no_backup(tmp_path: Path) -> None:
    store = _open(tmp_path)
    _start(store)
    store.close()
    db = _raw(tmp_path / "voicecoach.db")
    before = db.execute("SELECT number, applied_at FROM _migrations").fetchall()
    _open(tmp_path).close()
    assert db.execute("SELECT number, applied_at FROM _migrations").fetchall() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".db") == ["voicecoach.db"]


def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    store = _open(tmp_path)
    sid = _start(store)
    store.log_event(sid, 1.0, "phase", {"name": "hold"})
    # Deleting a session takes its events with it only if foreign keys are on.
    assert store._conn is not None
    store._conn.execute("DELETE FROM sessions WHERE id = ?", (sid,))
    assert store._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0


# -- sessions and events -------------------------------------------------------------


def test_events_round_trip_in_order(tmp_path: Path) -> None:
    store = _open(tmp_path)
    sid = _start(store)
    for t, type_, data in SESSION_EVENTS:
        store.log_event(sid, t, type_, data)
    store.end_session(sid, "completed")
    store.close()

    store = _open(tmp_path)
    assert store.events(sid) == [{"t": t, "type": ty, **d} for t, ty, d in SESSION_EVENTS]
    session = store.session(sid)
    assert session is not None
    assert session["status"] == "completed"
    assert session["end_reason"] == "completed"
    assert session["ended_at"] is not None
    assert session["options"] == {"mode": "text"}
    assert session["pid"] == os.getpid()
    assert session["event_count"] == len(SESSION_EVENTS)
    assert session["duration_s"] == 121.0
    assert session["pain_before"] == 3
    assert session["pain_after"] == 2
    assert session["held_s"] == 60.5
    assert store.session(sid + 100) is None


def test_each_event_is_committed_before_log_event_returns(tmp_path: Path) -> None:
    store = _open(tmp_path)
    sid = _start(store)
    reader = _raw(tmp_path / "voicecoach.db")
    for n, (t, type_, data) in enumerate(SESSION_EVENTS, start=1):
        store.log_event(sid, t, type_, data)
        assert reader.execute("SELECT COUNT(*) FROM events").fetchone()[0] == n


def test_pain_events_fill_the_pain_table(tmp_path: Path) -> None:
    store = _open(tmp_path)
    sid = _start(store)
    for t, type_, data in SESSION_EVENTS:
        store.log_event(sid, t, type_, data)
    assert store.pain_ratings(sid) == [
        {"session_id": sid, "t": 3.5, "phase": "before", "value": 3, "transcript": "three",
         "confidence": 0.82},
        {"session_id": sid, "t": 38.0, "phase": "hold", "value": 4, "transcript": "four",
         "confidence": 0.7},
        {"session_id": sid, "t": 120.0, "phase": "after", "value": 2, "transcript": "two",
         "confidence": 0.88},
    ]


def test_a_malformed_pain_event_is_kept_but_not_rated(tmp_path: Path) -> None:
    store = _open(tmp_path)
    sid = _start(store)
    store.log_event(sid, 1.0, "pain", {"value": "seven", "phase": "before"})
    store.log_event(sid, 2.0, "pain", {"value": 11, "phase": "before"})
    store.log_event(sid, 3.0, "pain", {"value": 5, "phase": "before"})
    assert [e["value"] for e in store.events(sid)] == ["seven", 11, 5]
    assert [p["value"] for p in store.pain_ratings(sid)] == [5]
    assert store.failure is None


def test_end_reasons_give_the_status(tmp_path: Path) -> None:
    store = _open(tmp_path)
    done, stopped, running = _start(store), _start(store), _start(store)
    store.end_session(done, "completed")
    store.end_session(stopped, "pain_rise")
    by_id = {s["id"]: s for s in store.sessions()}
    assert (by_id[done]["status"], by_id[done]["end_reason"]) == ("completed", "completed")
    assert (by_id[stopped]["status"], by_id[stopped]["end_reason"]) == ("ended_early",
                                                                        "pain_rise")
    assert (by_id[running]["status"], by_id[running]["ended_at"]) == ("running", None)


def test_sessions_newest_first_with_limit(tmp_path: Path) -> None:
    store = _open(tmp_path)
    ids = [_start(store, program=f"p{n}") for n in range(4)]
    assert [s["id"] for s in store.sessions()] == ids[::-1]
    assert [s["program"] for s in store.sessions(limit=2)] == ["p3", "p2"]
    assert set(store.sessions()[0]) == {
        "id", "started_at", "ended_at", "program", "status", "end_reason", "pain_before",
        "pain_after", "duration_s", "held_s", "event_count", "simulated", "dizzy",
        "dizziness_passed", "angle"}


@pytest.mark.parametrize(("events", "held"), [
    # hold_ended's own figure wins over the event times
    ([(5, "hold_started", {}), (65, "hold_ended", {"held_s": 59.5}), (90, "phase", {})], 59.5),
    # no hold_ended: from hold_started to return_started
    ([(5, "hold_started", {}), (45, "return_started", {"reason": "stop"}),
      (90, "phase", {})], 40.0),
    # no end and no return (a killed session): to the last event
    ([(5, "hold_started", {}), (20, "heard", {}), (32.5, "pain", {"value": 1})], 27.5),
    # two holds, the second cut short by the return
    ([(5, "hold_started", {}), (35, "hold_ended", {"held_s": 30}), (40, "hold_started", {}),
      (50, "return_started", {"reason": "dizzy"})], 40.0),
    # never inverted
    ([(1, "phase", {"name": "checklist"}), (2, "session_end", {"reason": "stop"})], None),
])
def test_held_seconds(tmp_path: Path, events: list[tuple[float, str, dict[str, Any]]],
                      held: float | None) -> None:
    store = _open(tmp_path)
    sid = _start(store)
    for t, type_, data in events:
        store.log_event(sid, t, type_, data)
    assert store.sessions()[0]["held_s"] == held
    assert store.sessions()[0]["duration_s"] == events[-1][0]


# -- interrupted sessions ---------------------------------------------------------------

CHILD_WRITER = """
import os, sys, time
from pathlib import Path
from voicecoach.store import Store

store = Store.open(Path(sys.argv[1]))
sid = store.start_session(program="first-session", started_at="2024-05-01T08:00:00+00:00",
                          pid=os.getpid(), options={"mode": "voice"})
count = int(sys.argv[2])
for i in range(count):
    store.log_event(sid, i * 0.5, "heard", {"word": "ready", "confidence": 0.9, "n": i})
store.log_event(sid, count * 0.5, "pain", {"value": 6, "phase": "hold"})
print(sid, flush=True)
time.sleep(120)
"""


def _kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)


def test_a_killed_session_is_marked_interrupted_with_every_event(tmp_path: Path) -> None:
    db = tmp_path / "voicecoach.db"
    child = subprocess.Popen([sys.executable, "-c", CHILD_WRITER, str(db), "50"],
                             stdout=subprocess.PIPE, text=True)
    try:
        sid = int(child.stdout.readline())  # type: ignore[union-attr]
        # While the writer lives, its session is running, not interrupted.
        with Store.open(db) as store:
            assert store.sessions()[0]["status"] == "running"
    finally:
        _kill(child)

    store = Store.open(db)
    session = store.session(sid)
    assert session is not None
    assert session["status"] == "interrupted"
    assert session["ended_at"] is None
    events = store.events(sid)
    assert [e["n"] for e in events[:-1]] == list(range(50))
    assert events[-1] == {"t": 25.0, "type": "pain", "value": 6, "phase": "hold"}
    assert [p["value"] for p in store.pain_ratings(sid)] == [6]


def test_process_identity_tells_a_reused_pid_and_a_zombie(tmp_path: Path) -> None:
    me = os.getpid()
    assert is_alive(me, process_start(me))
    assert not is_alive(me, "another-boot:12345")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert is_alive(child.pid, process_start(child.pid))
        child.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 10
        # Killed but not reaped yet: a zombie, which will never write again.
        while is_alive(child.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not is_alive(child.pid)
    finally:
        child.kill()
        child.wait(timeout=10)


# -- concurrency (WAL) ---------------------------------------------------------------

GATED_WRITER = """
import os, sys, time
from pathlib import Path
from voicecoach.store import Store

store = Store.open(Path(sys.argv[1]))
sid = store.start_session(program="first-session", started_at="2024-05-01T08:00:00+00:00",
                          pid=os.getpid(), options={})
print(sid, flush=True)
sys.stdin.readline()
for i in range(int(sys.argv[2])):
    store.log_event(sid, float(i), "heard", {"word": "stop", "n": i})
    time.sleep(0.002)
store.end_session(sid, "completed")
store.close()
"""


def test_a_reader_sees_committed_events_while_a_session_writes(tmp_path: Path) -> None:
    db = tmp_path / "voicecoach.db"
    total = 300
    writer = subprocess.Popen([sys.executable, "-c", GATED_WRITER, str(db), str(total)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        sid = int(writer.stdout.readline())  # type: ignore[union-attr]
        reader = Store.open(db)
        writer.stdin.write("go\n")  # type: ignore[union-attr]
        writer.stdin.flush()  # type: ignore[union-attr]
        counts = []
        while writer.poll() is None:
            events = reader.events(sid)
            # Always a whole prefix of the session: never a torn or reordered read.
            assert [e["n"] for e in events] == list(range(len(events)))
            counts.append(len(events))
        assert writer.wait(timeout=30) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert counts == sorted(counts)
    assert len(set(counts)) > 2  # it read while the writer was busy
    assert len(reader.events(sid)) == total
    assert reader.session(sid)["status"] == "completed"  # type: ignore[index]


def test_an_open_write_transaction_does_not_block_readers(tmp_path: Path) -> None:
    store = _open(tmp_path)
    sid = _start(store)
    store.log_event(sid, 1.0, "phase", {"name": "hold"})
    other = _raw(tmp_path / "voicecoach.db")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO events (session_id, seq, t, type) VALUES (?, 99, 2.0, 'x')",
                  (sid,))
    started = time.monotonic()
    assert [e["type"] for e in store.events(sid)] == ["phase"]
    assert time.monotonic() - started < 0.5  # not waiting on the writer's lock
    other.execute("ROLLBACK")


# -- bad paths and bad files -------------------------------------------------------------


def _message(path: Path, **kwargs: Any) -> str:
    with pytest.raises(StoreError) as caught:
        Store.open(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_missing_directory_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "voicecoach.db"
    assert _message(path) == (f"cannot open database {path}: directory {path.parent}"
                              " does not exist")
    assert not path.parent.exists()


def test_a_parent_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    assert "is not a directory" in _message(tmp_path / "afile" / "voicecoach.db")


def test_a_database_path_that_is_a_directory(tmp_path: Path) -> None:
    assert _message(tmp_path).endswith("it is a directory")


def test_a_directory_that_cannot_be_written(tmp_path: Path) -> None:
    # procfs refuses new files even to root, unlike a chmod-ed directory.
    message = _message(Path("/proc/self/voicecoach.db"))
    assert message.startswith("cannot open database /proc/self/voicecoach.db: "
                              "directory /proc/self is not writable")


def test_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    assert "the file is damaged or is not a SQLite database" in _message(path)
    assert path.read_bytes().startswith(b"these are my notes")


def test_a_damaged_database(tmp_path: Path) -> None:
    store = _open(tmp_path)
    sid = _start(store)
    for i in range(2000):
        store.log_event(sid, float(i), "heard", {"word": "ready", "pad": "x" * 200})
    store.close()
    path = tmp_path / "voicecoach.db"
    data = bytearray(path.read_bytes())
    page = 4096
    # Scribble over the middle pages (b-tree pages), leaving the header intact.
    for offset in range(page * 3, len(data) - page, page * 7):
        data[offset:offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    message = _message(path)
    assert "is damaged" in message or "not a SQLite database" in message
    assert "restore a backup" in message


def test_a_sqlite_database_of_another_program(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = _raw(path)
    db.execute("CREATE TABLE recipes (name TEXT)")
    db.close()
    assert _message(path).endswith("it is a SQLite database, but not a voicecoach one")
    assert _raw(path).execute("SELECT name FROM sqlite_master").fetchall() == [("recipes",)]


def test_a_database_from_a_newer_voicecoach(tmp_path: Path) -> None:
    _open(tmp_path).close()
    path = tmp_path / "voicecoach.db"
    _raw(path).execute("INSERT INTO _migrations VALUES (?, 'm999_future', 'then')",
                       (LATEST + 1,))
    assert "written by a newer voicecoach" in _message(path)


def test_a_database_locked_while_it_needs_upgrading(tmp_path: Path) -> None:
    from voicecoach.store.migrations import migrate

    path = tmp_path / "voicecoach.db"
    db = _raw(path)
    db.execute("PRAGMA journal_mode = WAL")
    migrate(db, upto=LATEST - 1)
    db.execute("BEGIN IMMEDIATE")
    try:
        message = _message(path, busy_timeout_s=0.2)
    finally:
        db.execute("ROLLBACK")
    assert message == (f"database {path} is locked by another program;"
                       " try again when that program has finished")
    _open(tmp_path).close()  # fine once the lock is gone


def test_start_session_on_a_closed_store_raises(tmp_path: Path) -> None:
    store = _open(tmp_path)
    store.close()
    with pytest.raises(StoreError, match="is closed"):
        _start(store)
