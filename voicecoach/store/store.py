"""The SQLite store: sessions, every event as it happens, and pain ratings.

Durability rules, because the user is upside down while this runs:

- Each event is its own committed transaction (WAL, synchronous=FULL), so a
  crash or SIGKILL loses nothing already logged.
- `log_event` and `end_session` never raise. If the database fails mid-session
  (locked for longer than `event_busy_timeout_s`, damaged, replaced, disk
  full), the store switches to a recovery journal (see journal.py) for the rest
  of its life and the session goes on. The journal repeats the events of the
  session that the database already holds, so the session survives even if the
  database file has to be thrown away.
- The next `Store.open` of the same database merges finished journals in and
  removes them. A merge is idempotent: events are keyed by (session, seq).
- Sessions left 'running' by a process that is gone are marked 'interrupted'
  on open. Their `ended_at` stays NULL: the events' `t` is on the session's own
  timeline (simulated in --fast runs), so no honest wall time is known.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

from voicecoach.store.backup import backup_path, backup_to
from voicecoach.store.errors import StoreError, describe_sqlite_error
from voicecoach.store.journal import (
    JournalContents,
    RecoveryJournal,
    claimed,
    journal_files,
    read_journal,
)
from voicecoach.store.migrations import LATEST, applied_numbers, migrate, pending
from voicecoach.store.process import host_name, is_alive, process_start
from voicecoach.store.reserve import NoSpace, ensure_reserve, is_out_of_space, release_reserve
from voicecoach.store.summary import HOLD_EVENT_TYPES, held_seconds

logger = logging.getLogger(__name__)

OPEN_BUSY_TIMEOUT_S = 5.0
"""How long opening (migrations, merging journals) waits for another writer."""

EVENT_BUSY_TIMEOUT_S = 0.5
"""How long one event write waits for a lock before it goes to the journal instead:
the session loop must not stall while the user is inverted."""

SQLITE_MAGIC = b"SQLite format 3\x00"

SESSION_COLUMNS = """
    s.id, s.started_at, s.ended_at, s.program, s.status, s.end_reason,
    (SELECT value FROM pain AS p WHERE p.session_id = s.id AND p.phase = 'before'
     ORDER BY p.t DESC, p.id DESC LIMIT 1) AS pain_before,
    (SELECT value FROM pain AS p WHERE p.session_id = s.id AND p.phase = 'after'
     ORDER BY p.t DESC, p.id DESC LIMIT 1) AS pain_after,
    (SELECT MAX(t) FROM events AS e WHERE e.session_id = s.id) AS duration_s,
    (SELECT COUNT(*) FROM events AS e WHERE e.session_id = s.id) AS event_count,
    s.simulated,
    EXISTS (SELECT 1 FROM events AS e WHERE e.session_id = s.id AND e.type = 'dizzy') AS dizzy,
    (SELECT json_extract(e.data, '$.passed') FROM events AS e
     WHERE e.session_id = s.id AND e.type = 'dizziness'
     ORDER BY e.seq DESC, e.id DESC LIMIT 1) AS dizziness_passed
"""


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, default=str, ensure_ascii=False, separators=(",", ":"))


def _normalised(data: dict[str, Any]) -> Any:
    """`data` as it reads back from JSON, for comparing a journal's event with the db's."""
    return json.loads(_dumps(data))


def _status_for(reason: str) -> str:
    return "completed" if reason == "completed" else "ended_early"


JOURNAL_FOLDER = "recovery"
"""The recovery journals' folder in the data folder."""


def default_journal_dir(db_path: Path) -> Path:
    from voicecoach.paths import data_dir

    try:
        return data_dir() / JOURNAL_FOLDER
    except OSError:
        return db_path.parent / "voicecoach-recovery"


class _DatabaseGone(Exception):
    """The file at the database's path is no longer the database this store opened."""

    def __init__(self, message: str, *, moved: bool) -> None:
        super().__init__(message)
        self.moved = moved
        """True if the path now names another file (or none): its -wal is no longer ours."""


@dataclass
class _Recording:
    """What this store logged for one session: enough to rebuild it in a journal."""

    session: dict[str, Any]
    base_seq: int = 0
    events: list[tuple[int, float, str, dict[str, Any]]] = field(default_factory=list)
    ended: tuple[str, str] | None = None
    journal: RecoveryJournal | None = None

    def next_seq(self) -> int:
        return (self.events[-1][0] if self.events else self.base_seq) + 1


class Store:
    """One open database. Safe to share between threads (calls are serialised)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, journal_dir: Path) -> None:
        self.path = path
        self.journal_dir = journal_dir
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.RLock()
        self._recordings: dict[int, _Recording] = {}
        self._failure: str | None = None
        st = os.stat(path)
        self._file_identity = (st.st_dev, st.st_ino)
        self._wal_identity = _identity(_wal_path(path))

    # -- opening -----------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, journal_dir: Path | None = None,
             busy_timeout_s: float = OPEN_BUSY_TIMEOUT_S,
             event_busy_timeout_s: float = EVENT_BUSY_TIMEOUT_S) -> Store:
        """Open (or create) the database at `path`, bring its schema up to date,
        merge recovery journals, and mark sessions of dead processes interrupted.

        The parent directory must exist and be writable. Raises StoreError with a
        one-line message if the database cannot be used.
        """
        path = Path(path)
        _check_location(path)
        _set_aside_orphan_wal(path)
        journal_dir = journal_dir if journal_dir is not None else default_journal_dir(path)
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                   timeout=busy_timeout_s)
        except sqlite3.Error as e:
            raise StoreError(describe_sqlite_error(path, e)) from e
        try:
            _configure(conn, busy_timeout_s)
            _check_health(conn, path)
            _upgrade(conn, path)
            store = cls(path, conn, journal_dir)
            store._merge_journals()
            store._mark_interrupted()
            conn.execute(f"PRAGMA busy_timeout = {int(event_busy_timeout_s * 1000)}")
        except sqlite3.Error as e:
            conn.close()
            raise StoreError(describe_sqlite_error(path, e)
                             + _unmerged_note(journal_dir, path)) from e
        except StoreError as e:
            conn.close()
            raise StoreError(str(e) + _unmerged_note(journal_dir, path)) from e
        except BaseException:
            conn.close()
            raise
        return store

    def close(self) -> None:
        with self._lock:
            for recording in self._recordings.values():
                if recording.journal is not None:
                    recording.journal.close()
                    recording.journal = None
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None
                self._failure = self._failure or f"database {self.path} is closed"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- writing a session -------------------------------------------------------

    def start_session(self, *, program: str, started_at: str, pid: int,
                      options: dict[str, Any], simulated: bool = False) -> int:
        """Record a new session as 'running'; return its id. A `simulated` session (driven
        from files) is kept out of the plan, the daily limits and the reports.

        Unlike the calls made during a session, this raises StoreError: before
        the session starts, refusing is the safe answer.
        """
        with self._lock:
            conn = self._usable()
            host, started = host_name(), process_start(pid)
            try:
                ensure_reserve(self.journal_dir)
            except NoSpace as e:
                raise StoreError(str(e)) from None
            try:
                self._check_file()
                cursor = conn.execute(
                    "INSERT INTO sessions (started_at, program, status, pid, host,"
                    " process_start, options, simulated) VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
                    (started_at, program, pid, host, started, _dumps(options), int(simulated)))
            except sqlite3.Error as e:
                raise StoreError(describe_sqlite_error(self.path, e)) from e
            except _DatabaseGone as e:
                raise StoreError(f"database {self.path}: {e}") from e
            session_id = cursor.lastrowid
            assert session_id is not None
            self._recordings[session_id] = _Recording(session={
                "id": session_id, "started_at": started_at, "program": program, "pid": pid,
                "host": host, "process_start": started, "options": options,
                "simulated": simulated})
            return session_id

    def log_event(self, session_id: int, t: float, type: str, data: dict[str, Any]) -> None:
        """Commit one event now; on any database failure, write it to the journal."""
        try:
            with self._lock:
                self._log_event(session_id, float(t), type, dict(data))
        except Exception:
            # Last resort: whatever went wrong, the session loop must carry on.
            logger.exception("could not record event %r of session %s", type, session_id)

    def end_session(self, session_id: int, reason: str) -> None:
        """Mark the session completed (reason "completed") or ended early; never raises."""
        try:
            with self._lock:
                self._end_session(session_id, reason, _now_iso())
        except Exception:
            logger.exception("could not record the end of session %s", session_id)

    @property
    def failure(self) -> str | None:
        """Why events now go to the recovery journal, or None while the database works."""
        return self._failure

    def _log_event(self, session_id: int, t: float, type_: str, data: dict[str, Any]) -> None:
        recording = self._recording(session_id)
        if self._failure is None and recording.journal is None:
            try:
                seq = self._write_event(session_id, t, type_, data)
            except (sqlite3.Error, _DatabaseGone) as e:
                self._fail(e)
            else:
                recording.events.append((seq, t, type_, data))
                return
        seq = recording.next_seq()
        recording.events.append((seq, t, type_, data))
        self._journal(recording, lambda j: j.event(seq, t, type_, data))

    def _end_session(self, session_id: int, reason: str, ended_at: str) -> None:
        recording = self._recording(session_id)
        recording.ended = (reason, ended_at)
        if self._failure is None and recording.journal is None:
            try:
                conn = self._usable()
                self._check_file()
                cursor = conn.execute(
                    "UPDATE sessions SET status = ?, end_reason = ?, ended_at = ? WHERE id = ?",
                    (_status_for(reason), reason, ended_at, session_id))
            except (sqlite3.Error, _DatabaseGone, StoreError) as e:
                self._fail(e)
            else:
                if cursor.rowcount == 0:
                    logger.warning("end of session %s: no such session", session_id)
                damage = self._damage()
                if damage is None:
                    return
                # Damaged while the session ran (a failing disk, a stray write): the whole
                # session goes to a journal, which `recover` and the next open bring back.
                self._fail(StoreError(f"is damaged ({damage}); run `voicecoach recover`"))
        self._journal(recording, lambda j: j.end(reason, ended_at))
        if recording.journal is not None:
            # Finished: release the journal so the next open may merge it.
            recording.journal.close()
            recording.journal = None

    def _damage(self) -> str | None:
        """SQLite's quick check of the whole file, as a session ends: None if it is sound,
        else its first complaint. Through a connection of its own: this one's page cache
        would still hold the pages as they were before the damage."""
        from voicecoach.store.connection import read_only  # it builds on this module

        try:
            with read_only(self.path, OPEN_BUSY_TIMEOUT_S) as check:
                problems = _quick_check_problems(check)
        except sqlite3.DatabaseError as e:
            return str(e)
        return problems[0] if problems else None

    def _write_event(self, session_id: int, t: float, type_: str, data: dict[str, Any]) -> int:
        conn = self._usable()
        self._check_file()
        conn.execute("BEGIN IMMEDIATE")
        try:
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE session_id = ?",
                               (session_id,)).fetchone()[0]
            self._insert_event(session_id, seq, t, type_, data)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        return int(seq)

    def _insert_event(self, session_id: int, seq: int, t: float, type_: str,
                      data: dict[str, Any]) -> None:
        conn = self._usable()
        conn.execute("INSERT INTO events (session_id, seq, t, type, data) VALUES (?, ?, ?, ?, ?)",
                     (session_id, seq, t, type_, _dumps(data)))
        if type_ != "pain":
            return
        value, phase = data.get("value"), data.get("phase")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10 \
                or not isinstance(phase, str):
            # Kept as an event; a malformed rating must not break the log.
            logger.warning("pain event without a 0-10 value and a phase: %r", data)
            return
        transcript = data.get("transcript")
        confidence = data.get("confidence")
        conn.execute(
            "INSERT INTO pain (session_id, t, phase, value, transcript, confidence)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, t, phase, value, transcript if isinstance(transcript, str) else None,
             confidence if isinstance(confidence, int | float)
             and not isinstance(confidence, bool) else None))

    def _recording(self, session_id: int) -> _Recording:
        recording = self._recordings.get(session_id)
        if recording is not None:
            return recording
        # A session this store did not start: take what the database knows of it.
        recording = _Recording(session={"id": session_id})
        if self._failure is None and self._conn is not None:
            try:
                row = self._conn.execute(
                    "SELECT id, started_at, program, pid, host, process_start, options,"
                    " (SELECT COALESCE(MAX(seq), 0) FROM events WHERE session_id = s.id)"
                    " FROM sessions AS s WHERE id = ?", (session_id,)).fetchone()
            except sqlite3.Error:
                row = None
            if row is not None:
                keys = ("id", "started_at", "program", "pid", "host", "process_start")
                recording.session = dict(zip(keys, row[:6], strict=True))
                recording.session["options"] = _loads(row[6])
                recording.base_seq = int(row[7])
        self._recordings[session_id] = recording
        return recording

    def _journal(self, recording: _Recording, write: Any) -> None:
        try:
            if recording.journal is None:
                # A new journal holds the whole session as this store knows it,
                # so it stands alone even if the database file is lost.
                journal = RecoveryJournal.create(self.journal_dir, self.path, recording.session)
                recording.journal = journal
                for seq, t, type_, data in recording.events:
                    journal.event(seq, t, type_, data)
                if recording.ended is not None:
                    journal.end(*recording.ended)
            else:
                write(recording.journal)
        except OSError as e:
            if recording.journal is not None:
                recording.journal.close()
                recording.journal = None
            if is_out_of_space(e) and release_reserve(self.journal_dir):
                self._journal(recording, write)  # a fresh journal, in the space released
                return
            # Kept in memory: the next write opens a fresh journal holding everything.
            logger.exception("cannot write the recovery journal in %s", self.journal_dir)

    def _fail(self, error: BaseException) -> None:
        if isinstance(error, sqlite3.Error):
            reason = describe_sqlite_error(self.path, error)
        else:
            reason = f"database {self.path}: {error}"
        self._failure = reason
        logger.error("%s; events now go to the recovery journal in %s", reason, self.journal_dir)
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()  # not trusted again
            self._conn = None
        if isinstance(error, _DatabaseGone) and error.moved:
            # SQLite leaves the -wal of a moved database in place, and would replay it
            # into whatever file now has this path, making garbage look like our data.
            _set_aside_wal(self.path)

    def _check_file(self) -> None:
        """Catch what SQLite does not notice: the file replaced, removed or overwritten."""
        try:
            st = os.stat(self.path)
            with open(self.path, "rb") as handle:
                head = handle.read(len(SQLITE_MAGIC))
        except FileNotFoundError:
            raise _DatabaseGone("the database file was removed", moved=True) from None
        except OSError as e:
            raise _DatabaseGone(f"cannot read the database file ({e.strerror})",
                                moved=False) from None
        if (st.st_dev, st.st_ino) != self._file_identity:
            raise _DatabaseGone("the database file was replaced by another file", moved=True)
        if head != SQLITE_MAGIC:
            raise _DatabaseGone("the database file was overwritten", moved=False)
        # SQLite goes on writing to a -wal file that was deleted (or replaced) under it,
        # and a crash then takes every commit not yet checkpointed with it: the whole
        # session, silently. Its name must still be the file this connection writes.
        wal = _identity(_wal_path(self.path))
        if self._wal_identity is None:
            self._wal_identity = wal
        elif wal != self._wal_identity:
            raise _DatabaseGone("the database's -wal file was deleted or replaced",
                                moved=False)

    def _usable(self) -> sqlite3.Connection:
        if self._failure is not None or self._conn is None:
            raise StoreError((self._failure or f"database {self.path} is closed")
                             + _unmerged_note(self.journal_dir, self.path))
        return self._conn

    # -- reading -----------------------------------------------------------------

    def sessions(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Sessions, newest first, with their pain ratings, duration and time held."""
        with self._lock:
            conn = self._usable()
            try:
                rows = conn.execute(
                    f"SELECT {SESSION_COLUMNS} FROM sessions AS s ORDER BY s.id DESC LIMIT ?",
                    (-1 if limit is None else limit,)).fetchall()
                held = self._held(conn, {row[0]: row[8] for row in rows})
            except sqlite3.Error as e:
                raise StoreError(describe_sqlite_error(self.path, e)) from e
        return [self._session_dict(row, held) for row in rows]

    def session(self, session_id: int) -> dict[str, Any] | None:
        """One session as in `sessions()`, plus pid, host and the options it ran with."""
        with self._lock:
            conn = self._usable()
            try:
                row = conn.execute(
                    f"SELECT {SESSION_COLUMNS}, s.pid, s.host, s.options"
                    " FROM sessions AS s WHERE s.id = ?", (session_id,)).fetchone()
                if row is None:
                    return None
                held = self._held(conn, {session_id: row[8]})
            except sqlite3.Error as e:
                raise StoreError(describe_sqlite_error(self.path, e)) from e
        result = self._session_dict(row, held)
        result.update(pid=row[13], host=row[14], options=_loads(row[15]))
        return result

    def events(self, session_id: int) -> list[dict[str, Any]]:
        """The session's events in order, each as {"t": ..., "type": ..., **data}."""
        with self._lock:
            conn = self._usable()
            try:
                rows = conn.execute(
                    "SELECT t, type, data FROM events WHERE session_id = ? ORDER BY seq, id",
                    (session_id,)).fetchall()
            except sqlite3.Error as e:
                raise StoreError(describe_sqlite_error(self.path, e)) from e
        result = []
        for t, type_, data in rows:
            fields = {k: v for k, v in _loads(data).items() if k not in ("t", "type")}
            result.append({"t": t, "type": type_, **fields})
        return result

    def pain_ratings(self, session_id: int | None = None) -> list[dict[str, Any]]:
        """Rows of the pain table (all sessions, or one), in the order they were given."""
        where, args = ("WHERE session_id = ?", (session_id,)) if session_id is not None \
            else ("", ())
        with self._lock:
            conn = self._usable()
            try:
                rows = conn.execute(
                    "SELECT session_id, t, phase, value, transcript, confidence FROM pain "
                    f"{where} ORDER BY session_id, t, id", args).fetchall()
            except sqlite3.Error as e:
                raise StoreError(describe_sqlite_error(self.path, e)) from e
        keys = ("session_id", "t", "phase", "value", "transcript", "confidence")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def backup(self, dest: Path) -> Path:
        """Write a consistent copy of the database to `dest` (which must not exist)."""
        dest = Path(dest)
        if dest.exists():
            raise StoreError(f"cannot back up to {dest}: the file already exists")
        if not dest.parent.is_dir():
            raise StoreError(f"cannot back up to {dest}: directory {dest.parent} does not exist")
        with self._lock:
            conn = self._usable()
            try:
                backup_to(conn, dest)
            except sqlite3.Error as e:
                raise StoreError(f"cannot back up {self.path}: {e}") from e
            except OSError as e:
                raise StoreError(f"cannot write backup {dest}: {e.strerror or e}") from e
        return dest

    @staticmethod
    def _held(conn: sqlite3.Connection,
              last_t: dict[int, float | None]) -> dict[int, float | None]:
        """held_s for each session id, given the t of its last event."""
        session_ids = list(last_t)
        if not session_ids:
            return {}
        marks = ",".join("?" * len(HOLD_EVENT_TYPES))
        per_session: dict[int, list[tuple[float, str, dict[str, Any]]]] = {
            sid: [] for sid in session_ids}
        # Chunked: older SQLite builds allow only 999 bound parameters.
        for start in range(0, len(session_ids), 500):
            chunk = session_ids[start:start + 500]
            rows = conn.execute(
                f"SELECT session_id, t, type, data FROM events WHERE type IN ({marks})"
                f" AND session_id IN ({','.join('?' * len(chunk))}) ORDER BY session_id, seq, id",
                (*HOLD_EVENT_TYPES, *chunk))
            for sid, t, type_, data in rows:
                per_session[sid].append((t, type_, _loads(data)))
        return {sid: held_seconds(events, last_t[sid]) for sid, events in per_session.items()}

    @staticmethod
    def _session_dict(row: tuple[Any, ...], held: dict[int, float | None]) -> dict[str, Any]:
        keys = ("id", "started_at", "ended_at", "program", "status", "end_reason",
                "pain_before", "pain_after", "duration_s", "event_count")
        result = dict(zip(keys, row[:10], strict=True))
        result["simulated"] = bool(row[10])
        # Dizziness reported in the session, and the user's last word on whether it passed:
        # True, False, or None (never answered).
        result["dizzy"] = bool(row[11])
        result["dizziness_passed"] = None if row[12] is None else bool(row[12])
        result["held_s"] = held.get(result["id"])
        return result

    # -- recovery on open --------------------------------------------------------

    def unmerged_journals(self) -> list[Path]:
        """Recovery journals for this database that are not merged yet."""
        return journal_files(self.journal_dir, self.path)

    def _merge_journals(self) -> int:
        merged = 0
        try:
            paths = journal_files(self.journal_dir, self.path)
        except OSError as e:
            logger.error("cannot list recovery journals in %s: %s", self.journal_dir, e)
            return 0
        for path in paths:
            try:
                merged += self._merge_journal(path)
            except OSError as e:
                # Left where it is: the next open tries again.
                logger.error("cannot merge recovery journal %s: %s", path, e)
        return merged

    def _merge_journal(self, path: Path) -> int:
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
            self._merge_one(contents)
        path.unlink(missing_ok=True)
        logger.warning("merged recovery journal %s (%d events)", path, len(contents.events))
        return 1

    def _merge_one(self, contents: JournalContents) -> None:
        conn = self._usable()
        assert contents.header is not None
        session = contents.header["session"]
        conn.execute("BEGIN IMMEDIATE")
        try:
            session_id = self._session_for_journal(conn, session)
            for record in contents.events:
                self._merge_event(conn, session_id, record)
            if contents.end is not None:
                reason = str(contents.end.get("reason"))
                conn.execute(
                    "UPDATE sessions SET status = ?, end_reason = ?, ended_at = ?"
                    " WHERE id = ? AND status IN ('running', 'interrupted')",
                    (_status_for(reason), reason, contents.end.get("ended_at"), session_id))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @staticmethod
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
            (session_id, started_at or _now_iso(), program or "unknown", session.get("pid"),
             session.get("host"), session.get("process_start"),
             _dumps(session.get("options") or {}), int(bool(session.get("simulated")))))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def _merge_event(self, conn: sqlite3.Connection, session_id: int,
                     record: dict[str, Any]) -> None:
        seq, t, type_, data = record.get("seq"), float(record["t"]), record["type"], record["data"]
        if isinstance(seq, int):
            row = conn.execute("SELECT t, type, data FROM events WHERE session_id = ? AND seq = ?",
                               (session_id, seq)).fetchone()
            if row is None:
                self._insert_event(session_id, seq, t, type_, data)
                return
            if (row[0], row[1], _loads(row[2])) == (t, type_, _normalised(data)):
                return  # already in the database
        # The same seq holds a different event (another writer): keep both, this one last.
        next_seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM events"
                                " WHERE session_id = ?", (session_id,)).fetchone()[0]
        self._insert_event(session_id, int(next_seq), t, type_, data)

    def _mark_interrupted(self) -> None:
        conn = self._usable()
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


def _loads(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {"raw": text}
    return value if isinstance(value, dict) else {"value": value}


def _check_location(path: Path) -> None:
    parent = path.parent
    if not parent.exists():
        raise StoreError(f"cannot open database {path}: directory {parent} does not exist")
    if not parent.is_dir():
        raise StoreError(f"cannot open database {path}: {parent} is not a directory")
    if path.is_dir():
        raise StoreError(f"cannot open database {path}: it is a directory")
    # SQLite needs to create its -wal and -shm files beside the database; a real
    # probe also catches read-only mounts, where permission bits say nothing.
    try:
        with tempfile.TemporaryFile(dir=parent, prefix=".voicecoach-probe-"):
            pass
    except OSError as e:
        why = {errno.EROFS: " (read-only file system)", errno.ENOSPC: " (the disk is full)"}
        raise StoreError(f"cannot open database {path}: directory {parent} is not writable"
                         f"{why.get(e.errno or 0, '')}") from e
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise StoreError(f"cannot open database {path}: you cannot read and write the file")


def _wal_path(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`, or None if there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _set_aside_orphan_wal(path: Path) -> None:
    """A -wal file whose database is gone would be replayed into a new database."""
    if not path.exists():
        _set_aside_wal(path)


def _set_aside_wal(path: Path) -> None:
    for suffix in ("-wal", "-shm"):
        leftover = path.with_name(path.name + suffix)
        aside = leftover.with_name(f"{leftover.name}.orphan-{os.getpid()}-{int(time.time())}")
        try:
            leftover.rename(aside)
        except FileNotFoundError:
            continue
        except OSError as e:
            logger.error("cannot move %s aside: %s", leftover, e)
            continue
        logger.warning("%s belongs to a database that is no longer at %s; moved to %s",
                       leftover.name, path, aside)


def _configure(conn: sqlite3.Connection, busy_timeout_s: float) -> None:
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        logger.warning("WAL mode is not available here (journal mode %s)", mode)
    conn.execute("PRAGMA foreign_keys = ON")
    # FULL: each commit is on disk before log_event returns, power loss included.
    conn.execute("PRAGMA synchronous = FULL")


def _quick_check_problems(conn: sqlite3.Connection) -> list[str]:
    """SQLite's quick check: nothing if the file is sound, else each problem it names."""
    rows = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
    if rows == ["ok"]:
        return []
    # One row may hold several lines, headed by "*** in database main ***".
    return [line.strip() for row in rows for line in row.splitlines()
            if line.strip() and not line.startswith("***")] or ["unknown problem"]


def _check_health(conn: sqlite3.Connection, path: Path) -> None:
    problems = _quick_check_problems(conn)
    if problems:
        more = f", and {len(problems) - 1} more problems" if len(problems) > 1 else ""
        raise StoreError(f"database {path} is damaged ({problems[0]}{more});"
                         " move it aside or restore a backup")
    tables = {row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
    if tables and "_migrations" not in tables:
        raise StoreError(f"cannot open database {path}: it is a SQLite database,"
                         " but not a voicecoach one")
    newer = [n for n in applied_numbers(conn) if n > LATEST]
    if newer:
        raise StoreError(f"database {path} was written by a newer voicecoach (schema"
                         f" {max(newer)}, this one knows up to {LATEST}); upgrade voicecoach")


def _upgrade(conn: sqlite3.Connection, path: Path) -> None:
    todo = pending(conn)
    if not todo:
        return
    if _has_data(conn):
        dest = backup_path(path, f"before-m{todo[0].number:03d}")
        try:
            backup_to(conn, dest)
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"cannot back up database {path} before upgrading it: {e}") from e
        logger.warning("backed up %s to %s before upgrading its schema", path, dest)
    migrate(conn)


def _has_data(conn: sqlite3.Connection) -> bool:
    tables = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        " AND name NOT LIKE 'sqlite_%' AND name != '_migrations'")]
    return any(conn.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone() is not None
               for name in tables)


def _unmerged_note(journal_dir: Path, db_path: Path) -> str:
    try:
        count = len(journal_files(journal_dir, db_path))
    except OSError:
        return ""
    if not count:
        return ""
    return (f"; {count} session log(s) kept in {journal_dir} will be merged once the"
            " database opens")
