"""Recovery journals merged into the database when it opens, and sessions whose
process is gone marked interrupted. A merge is idempotent: events are keyed by
(session, seq), so a journal merged twice adds nothing."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from voicecoach.store.journal import JournalContents, claimed, journal_files, read_journal
from voicecoach.store.process import host_name, is_alive
from voicecoach.store.rows import dumps, insert_event, loads, normalised, now_iso, status_for

logger = logging.getLogger(__name__)


def merge_journals(conn: sqlite3.Connection, journal_dir: Path, db_path: Path) -> int:
    """Merge every finished recovery journal of the database at `db_path` and remove it;
    the number merged."""
    merged = 0
    try:
        paths = journal_files(journal_dir, db_path)
    except OSError as e:
        logger.error("cannot list recovery journals in %s: %s", journal_dir, e)
        return 0
    for path in paths:
        try:
            merged += _merge_journal(conn, path)
        except OSError as e:
            # Left where it is: the next open tries again.
            logger.error("cannot merge recovery journal %s: %s", path, e)
    return merged

def _merge_journal(conn: sqlite3.Connection, path: Path) -> int:
    with claimed(path) as ours:
        if not ours:
            logger.info("recovery journal %s is still being written", path)
            return 0
        contents = read_journal(path)
        header = contents.header or {}
        if not isinstance(header.get("session"), dict):
            bad = path.with_suffix(".unreadable")
            path.rename(bad)
            logger.warning("recovery journal %s has no header; kept as %s", path, bad)
            return 0
        _merge_one(conn, contents)
    path.unlink(missing_ok=True)
    logger.warning("merged recovery journal %s (%d events)", path, len(contents.events))
    return 1

def _merge_one(conn: sqlite3.Connection, contents: JournalContents) -> None:
    assert contents.header is not None
    session = contents.header["session"]
    conn.execute("BEGIN IMMEDIATE")
    try:
        session_id = _session_for_journal(conn, session)
        for record in contents.events:
            _merge_event(conn, session_id, record)
        if contents.end is not None:
            reason = str(contents.end.get("reason"))
            conn.execute(
                "UPDATE sessions SET status = ?, end_reason = ?, ended_at = ?"
                " WHERE id = ? AND status IN ('running', 'interrupted')",
                (status_for(reason), reason, contents.end.get("ended_at"), session_id))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise

def _session_for_journal(conn: sqlite3.Connection, session: dict[str, Any]) -> int:
    session_id = session.get("id")
    started_at, program = session.get("started_at"), session.get("program")
    if isinstance(session_id, int):
        row = conn.execute("SELECT started_at, program FROM sessions WHERE id = ?",
                           (session_id,)).fetchone()
        if row is not None and (started_at is None or tuple(row) == (started_at, program)):
            return session_id
        if row is not None:
            session_id = None  # that id belongs to another session in this database
    if started_at is not None:
        # A merge that committed but could not remove its file gave the session a new id.
        row = conn.execute(
            "SELECT id FROM sessions WHERE started_at = ? AND program = ? AND pid IS ?"
            " ORDER BY id LIMIT 1", (started_at, program, session.get("pid"))).fetchone()
        if row is not None:
            return int(row[0])
    cursor = conn.execute(
        "INSERT INTO sessions (id, started_at, program, status, pid, host, process_start,"
        " options, simulated) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?)",
        (session_id, started_at or now_iso(), program or "unknown", session.get("pid"),
         session.get("host"), session.get("process_start"),
         dumps(session.get("options") or {}), int(bool(session.get("simulated")))))
    assert cursor.lastrowid is not None
    return cursor.lastrowid

def _merge_event(conn: sqlite3.Connection, session_id: int,
                 record: dict[str, Any]) -> None:
    seq, t, type_, data = record.get("seq"), float(record["t"]), record["type"], record["data"]
    if isinstance(seq, int):
        row = conn.execute("SELECT t, type, data FROM events WHERE session_id = ? AND seq = ?",
                           (session_id, seq)).fetchone()
        if row is None:
            insert_event(conn, session_id, seq, t, type_, data)
            return
        if (row[0], row[1], loads(row[2])) == (t, type_, normalised(data)):
            return  # already in the database
    # The same seq holds a different event (another writer): keep both, this one last.
    next_seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM events"
                            " WHERE session_id = ?", (session_id,)).fetchone()[0]
    insert_event(conn, session_id, int(next_seq), t, type_, data)


def mark_interrupted(conn: sqlite3.Connection) -> None:
    """Sessions left 'running' by a process that is gone (on this host) become
    'interrupted'."""
    here = host_name()
    rows = conn.execute(
        "SELECT id, pid, host, process_start FROM sessions WHERE status = 'running'").fetchall()
    dead = [sid for sid, pid, host, started in rows
            if pid is not None and (host is None or host == here)
            and not is_alive(int(pid), started)]
    if dead:
        conn.execute(
            f"UPDATE sessions SET status = 'interrupted' WHERE status = 'running'"
            f" AND id IN ({','.join('?' * len(dead))})", dead)
        logger.warning("sessions %s were left running by a process that is gone;"
                       " marked interrupted", dead)


def unmerged_note(journal_dir: Path, db_path: Path) -> str:
    try:
        count = len(journal_files(journal_dir, db_path))
    except OSError:
        return ""
    if not count:
        return ""
    return (f"; {count} session log(s) kept in {journal_dir} will be merged once the"
            " database opens")
