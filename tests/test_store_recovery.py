"""When the database fails mid-session: the recovery journal, merging it back, backups."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from voicecoach.store import RecoveryJournal, Store, StoreError
from voicecoach.store.journal import journal_files, read_journal

STARTED = "2024-05-01T08:00:00+00:00"


def _events(first: int, last: int) -> list[tuple[float, str, dict[str, Any]]]:
    """Events numbered first..last; every fifth is a pain rating, to fill the pain table."""
    result: list[tuple[float, str, dict[str, Any]]] = []
    for n in range(first, last + 1):
        if n % 5 == 0:
            result.append((n * 1.5, "pain", {"value": n % 11, "phase": "hold", "n": n,
                                             "confidence": 0.8, "transcript": str(n % 11)}))
        else:
            result.append((n * 1.5, "heard", {"word": "ready", "confidence": 0.9, "n": n}))
    return result


def _log(store: Store, sid: int, events: list[tuple[float, str, dict[str, Any]]]) -> None:
    for t, type_, data in events:
        store.log_event(sid, t, type_, data)


def _expected(events: list[tuple[float, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [{"t": t, "type": type_, **data} for t, type_, data in events]


def _start(store: Store) -> int:
    return store.start_session(program="first-session", started_at=STARTED, pid=os.getpid(),
                               options={"mode": "voice"})


def _garbage(size: int = 16384) -> bytes:
    return (b"\x00garbage\xff" * (size // 9 + 1))[:size]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "voicecoach.db"


@pytest.fixture
def journals(tmp_path: Path) -> Path:
    return tmp_path / "recovery"


def _open(db: Path, journals: Path, **kwargs: Any) -> Store:
    return Store.open(db, journal_dir=journals, **kwargs)


# -- the database fails while a session runs ---------------------------------------------


def test_a_locked_database_sends_events_to_the_journal_and_they_come_back(
        db: Path, journals: Path) -> None:
    store = _open(db, journals, event_busy_timeout_s=0.05)
    sid = _start(store)
    _log(store, sid, _events(1, 4))
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    started = time.monotonic()
    _log(store, sid, _events(5, 6))  # must not raise, must not stall
    assert time.monotonic() - started < 2.0
    assert store.failure is not None and "locked" in store.failure
    other.execute("ROLLBACK")
    other.close()
    _log(store, sid, _events(7, 12))
    store.end_session(sid, "completed")

    [journal] = journal_files(journals, db)
    contents = read_journal(journal)
    # The journal holds the whole session, not just what the database missed.
    assert [e["data"]["n"] for e in contents.events] == list(range(1, 13))
    assert contents.end is not None and contents.end["reason"] == "completed"
    store.close()

    store = _open(db, journals)
    assert journal_files(journals, db) == []
    assert store.events(sid) == _expected(_events(1, 12))  # once each, in order
    session = store.session(sid)
    assert session is not None
    assert (session["status"], session["end_reason"]) == ("completed", "completed")
    assert [p["t"] for p in store.pain_ratings(sid)] == [7.5, 15.0]


def test_a_database_replaced_by_garbage_mid_session_loses_nothing(
        db: Path, journals: Path) -> None:
    store = _open(db, journals)
    sid = _start(store)
    _log(store, sid, _events(1, 6))
    garbage = db.with_name("garbage")
    garbage.write_bytes(_garbage())
    os.replace(garbage, db)
    _log(store, sid, _events(7, 20))
    store.end_session(sid, "stop")
    assert store.failure is not None and "replaced" in store.failure
    with pytest.raises(StoreError, match="kept in"):
        store.sessions()  # reads say where the events are, rather than lie
    store.close()

    with pytest.raises(StoreError) as caught:
        _open(db, journals)
    assert "not a SQLite database" in str(caught.value)
    assert "1 session log(s) kept in" in str(caught.value)
    assert len(journal_files(journals, db)) == 1  # kept until it can be merged

    db.rename(db.with_name("voicecoach.db.damaged"))  # what the message tells the user
    store = _open(db, journals)
    assert journal_files(journals, db) == []
    [session] = store.sessions()
    assert (session["id"], session["program"], session["started_at"]) == (
        sid, "first-session", STARTED)
    assert (session["status"], session["end_reason"]) == ("ended_early", "stop")
    assert store.events(sid) == _expected(_events(1, 20))
    assert len(store.pain_ratings(sid)) == 4
    assert store.session(sid)["options"] == {"mode": "voice"}  # type: ignore[index]


def test_a_database_overwritten_in_place_is_restored_from_a_backup_plus_the_journal(
        db: Path, journals: Path, tmp_path: Path) -> None:
    store = _open(db, journals)
    sid = _start(store)
    _log(store, sid, _events(1, 5))
    backup = store.backup(tmp_path / "earlier.db")
    _log(store, sid, _events(6, 9))
    # Everything into the main file, then scribble over its first pages.
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with db.open("r+b") as handle:
        handle.write(_garbage(8192))
    _log(store, sid, _events(10, 15))
    store.end_session(sid, "completed")
    store.close()
    other.close()
    assert store.failure is not None and "overwritten" in store.failure

    with pytest.raises(StoreError):
        _open(db, journals)
    os.replace(backup, db)  # the user restores the backup
    store = _open(db, journals)
    assert store.events(sid) == _expected(_events(1, 15))
    assert store.session(sid)["status"] == "completed"  # type: ignore[index]
    assert [p["t"] for p in store.pain_ratings(sid)] == [7.5, 15.0, 22.5]


KILLED_IN_JOURNAL_MODE = """
import os, sys, time
from pathlib import Path
from voicecoach.store import Store

db, journals = Path(sys.argv[1]), Path(sys.argv[2])
store = Store.open(db, journal_dir=journals)
sid = store.start_session(program="first-session", started_at="2024-05-01T08:00:00+00:00",
                          pid=os.getpid(), options={})
for n in range(1, 6):
    store.log_event(sid, n * 1.0, "heard", {"word": "ready", "n": n})
(db.parent / "garbage").write_bytes(b"not a database" * 1000)
os.replace(db.parent / "garbage", db)
for n in range(6, 11):
    store.log_event(sid, n * 1.0, "heard", {"word": "ready", "n": n})
print(sid, flush=True)
time.sleep(120)
"""


def test_a_journal_is_merged_only_once_its_writer_is_gone(db: Path, journals: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_IN_JOURNAL_MODE, str(db), str(journals)],
        stdout=subprocess.PIPE, text=True)
    try:
        sid = int(child.stdout.readline())  # type: ignore[union-attr]
        db.rename(db.with_name("voicecoach.db.damaged"))
        with _open(db, journals) as store:
            # The session is still being written: its journal is left alone.
            assert store.sessions() == []
            assert len(store.unmerged_journals()) == 1
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)

    with _open(db, journals) as store:
        assert store.unmerged_journals() == []
        session = store.session(sid)
        assert session is not None
        assert session["status"] == "interrupted"  # its process died without ending it
        assert [e["n"] for e in store.events(sid)] == list(range(1, 11))


def test_a_journal_that_cannot_be_written_yet_keeps_events_for_the_next_try(
        db: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the journal directory should be")
    store = _open(db, blocker, event_busy_timeout_s=0.05)
    sid = _start(store)
    _log(store, sid, _events(1, 2))
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    _log(store, sid, _events(3, 4))  # the db is locked and the journal cannot be created
    assert not blocker.is_dir()
    other.execute("ROLLBACK")
    other.close()
    blocker.unlink()
    _log(store, sid, _events(5, 6))  # now the journal takes everything held so far
    store.end_session(sid, "completed")
    store.close()
    [journal] = journal_files(blocker, db)
    assert [e["data"]["n"] for e in read_journal(journal).events] == [1, 2, 3, 4, 5, 6]
    with _open(db, blocker) as store:
        assert store.events(sid) == _expected(_events(1, 6))


# -- merging details ---------------------------------------------------------------------


def _write_journal(journals: Path, db: Path, session: dict[str, Any],
                   events: list[tuple[int, float, str, dict[str, Any]]],
                   end: str | None = None) -> Path:
    journal = RecoveryJournal.create(journals, db, session)
    for seq, t, type_, data in events:
        journal.event(seq, t, type_, data)
    if end is not None:
        journal.end(end, "2024-05-01T08:30:00+00:00")
    journal.close()
    return journal.path


def test_a_cut_off_last_line_is_skipped(db: Path, journals: Path) -> None:
    path = _write_journal(journals, db, {"id": 1, "started_at": STARTED, "program": "p"},
                          [(1, 1.0, "heard", {"word": "stop"}), (2, 2.0, "phase", {"name": "x"})])
    with path.open("a") as handle:
        handle.write('{"kind": "event", "seq": 3, "t": 3.0, "ty')  # power lost mid-write
    with _open(db, journals) as store:
        assert [e["type"] for e in store.events(1)] == ["heard", "phase"]
        assert not path.exists()


def test_a_journal_without_a_header_is_kept_aside(db: Path, journals: Path) -> None:
    path = _write_journal(journals, db, {"id": 1}, [])
    path.write_text("not json at all\n")
    with _open(db, journals) as store:
        assert store.sessions() == []
    assert not path.exists()
    assert path.with_suffix(".unreadable").read_text() == "not json at all\n"


def test_merging_twice_adds_nothing(db: Path, journals: Path) -> None:
    session = {"id": 1, "started_at": STARTED, "program": "p", "pid": 1}
    events = [(n, float(n), "heard", {"n": n}) for n in range(1, 6)]
    _write_journal(journals, db, session, events, end="completed")
    _open(db, journals).close()
    # As if the first merge committed but died before removing the file.
    _write_journal(journals, db, session, events, end="completed")
    with _open(db, journals) as store:
        assert [e["n"] for e in store.events(1)] == [1, 2, 3, 4, 5]
        assert len(store.sessions()) == 1


def test_a_different_event_under_the_same_seq_is_kept_too(db: Path, journals: Path) -> None:
    with _open(db, journals) as store:
        sid = _start(store)
        store.log_event(sid, 1.0, "heard", {"word": "ready"})
        store.log_event(sid, 2.0, "heard", {"word": "stop"})
    session = {"id": sid, "started_at": STARTED, "program": "first-session"}
    _write_journal(journals, db, session, [(2, 2.5, "pain", {"value": 4, "phase": "hold"})])
    with _open(db, journals) as store:
        assert [e["type"] for e in store.events(sid)] == ["heard", "heard", "pain"]
        assert [p["value"] for p in store.pain_ratings(sid)] == [4]


def test_a_journal_whose_id_is_taken_by_another_session_gets_a_new_id(
        db: Path, journals: Path, tmp_path: Path) -> None:
    # A fresh database already holds a session 1 of its own.
    with Store.open(db, journal_dir=tmp_path / "elsewhere") as store:
        mine = store.start_session(program="other", started_at="2024-06-01T08:00:00+00:00",
                                   pid=os.getpid(), options={})
    _write_journal(journals, db, {"id": mine, "started_at": STARTED, "program": "old"},
                   [(1, 1.0, "heard", {"word": "ready"})], end="completed")
    with _open(db, journals) as store:
        sessions = {s["program"]: s for s in store.sessions()}
        assert sessions["other"]["id"] == mine
        assert sessions["other"]["event_count"] == 0
        assert sessions["old"]["id"] != mine
        assert sessions["old"]["event_count"] == 1
        assert sessions["old"]["status"] == "completed"


CHILD_LEAVES_WAL = """
import os, sys, time
from pathlib import Path
from voicecoach.store import Store

store = Store.open(Path(sys.argv[1]))
sid = store.start_session(program="p", started_at="2024-05-01T08:00:00+00:00",
                          pid=os.getpid(), options={})
for n in range(20):
    store.log_event(sid, float(n), "heard", {"n": n})
print(sid, flush=True)
time.sleep(120)
"""


def test_a_wal_file_left_without_its_database_is_set_aside(db: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD_LEAVES_WAL, str(db)],
                             stdout=subprocess.PIPE, text=True)
    child.stdout.readline()  # type: ignore[union-attr]
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    wal = db.with_name(db.name + "-wal")
    assert wal.stat().st_size > 0
    db.unlink()  # the user deleted the database but not its -wal
    with Store.open(db) as store:
        assert store.sessions() == []
        sid = _start(store)
        store.log_event(sid, 1.0, "heard", {"n": 0})
    with Store.open(db) as store:
        assert [s["id"] for s in store.sessions()] == [sid]
    assert list(db.parent.glob("voicecoach.db-wal.orphan-*"))


CHILD_LOGS_ON_REQUEST = """
import os, sys
from pathlib import Path
from voicecoach.store import Store

store = Store.open(Path(sys.argv[1]), journal_dir=Path(sys.argv[2]))
sid = store.start_session(program="p", started_at="2024-05-01T08:00:00+00:00",
                          pid=os.getpid(), options={})
n = 0
for line in sys.stdin:
    for _ in range(int(line)):
        store.log_event(sid, float(n), "heard", {"n": n})
        n += 1
    print(sid, n, flush=True)
"""


def test_a_session_whose_wal_was_deleted_survives_a_crash(db: Path, journals: Path) -> None:
    # Deleting the -wal of an open database does not stop SQLite: it goes on writing to
    # the deleted file, and a crash then loses every commit not yet checkpointed. The
    # store notices the -wal is gone at its next write and the journal takes over.
    child = subprocess.Popen([sys.executable, "-c", CHILD_LOGS_ON_REQUEST, str(db),
                              str(journals)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write("20\n")
    child.stdin.flush()
    sid = int(child.stdout.readline().split()[0])
    db.with_name(db.name + "-wal").unlink()
    child.stdin.write("5\n")
    child.stdin.flush()
    assert child.stdout.readline().split() == [str(sid), "25"]
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    with _open(db, journals) as store:
        session = store.session(sid)
        assert session is not None and session["status"] == "interrupted"
        assert [e["n"] for e in store.events(sid)] == list(range(25))


# -- backups -----------------------------------------------------------------------------


def test_a_backup_is_one_self_contained_file(db: Path, journals: Path, tmp_path: Path) -> None:
    with _open(db, journals) as store:
        sid = _start(store)
        _log(store, sid, _events(1, 10))
        dest = store.backup(tmp_path / "copy.db")
        with pytest.raises(StoreError, match="already exists"):
            store.backup(dest)
        with pytest.raises(StoreError, match="does not exist"):
            store.backup(tmp_path / "nowhere" / "copy.db")
    assert not dest.with_name("copy.db-wal").exists()
    copy = sqlite3.connect(dest)
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    copy.close()
    with Store.open(dest) as restored:
        assert restored.events(sid) == _expected(_events(1, 10))


BUSY_WRITER = """
import os, sys, time
from pathlib import Path
from voicecoach.store import Store

store = Store.open(Path(sys.argv[1]))
sid = store.start_session(program="p", started_at="2024-05-01T08:00:00+00:00",
                          pid=os.getpid(), options={})
print(sid, flush=True)
sys.stdin.readline()
for n in range(1, int(sys.argv[2]) + 1):
    if n % 5 == 0:
        store.log_event(sid, float(n), "pain", {"value": n % 11, "phase": "hold", "n": n})
    else:
        store.log_event(sid, float(n), "heard", {"word": "ready", "n": n})
store.end_session(sid, "completed")
store.close()
"""


def test_a_backup_taken_while_a_session_writes_is_consistent(db: Path, tmp_path: Path) -> None:
    total = 400
    writer = subprocess.Popen([sys.executable, "-c", BUSY_WRITER, str(db), str(total)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    copies: list[Path] = []
    try:
        sid = int(writer.stdout.readline())  # type: ignore[union-attr]
        store = Store.open(db)
        writer.stdin.write("go\n")  # type: ignore[union-attr]
        writer.stdin.flush()  # type: ignore[union-attr]
        while writer.poll() is None:
            copies.append(store.backup(tmp_path / f"copy-{len(copies)}.db"))
        assert writer.wait(timeout=30) == 0
        copies.append(store.backup(tmp_path / "final.db"))
        store.close()
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    sizes = []
    for copy in copies:
        conn = sqlite3.connect(copy)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        seqs = [r[0] for r in conn.execute(
            "SELECT seq FROM events WHERE session_id = ? ORDER BY seq", (sid,))]
        ns = [json.loads(r[0])["n"] for r in conn.execute(
            "SELECT data FROM events WHERE session_id = ? ORDER BY seq", (sid,))]
        pains = conn.execute("SELECT COUNT(*) FROM pain").fetchone()[0]
        conn.close()
        # A snapshot: a whole prefix of the session, and a pain row for each pain event.
        assert seqs == list(range(1, len(seqs) + 1))
        assert ns == seqs
        assert pains == len(seqs) // 5
        sizes.append(len(seqs))
    assert sizes[-1] == total
    assert len(copies) >= 2


# -- the journal file itself -------------------------------------------------------------


def test_every_journal_line_is_on_disk_when_the_call_returns(db: Path, journals: Path) -> None:
    journal = RecoveryJournal.create(journals, db, {"id": 7, "program": "p"})
    journal.event(1, 0.5, "heard", {"word": "stop", "text": "line\nbreak \u00e9"})
    # Read through a separate handle while the writer's is still open.
    lines = journal.path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["session"] == {"id": 7, "program": "p"}
    assert json.loads(lines[1])["data"]["text"] == "line\nbreak \u00e9"
    journal.close()
