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

Beside this writer: health.py (checks before use), merge.py (journals merged on
open), queries.py (what readers ask), rows.py (event and pain rows).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from voicecoach.store import queries
from voicecoach.store.backup import backup_to
from voicecoach.store.errors import StoreError, describe_sqlite_error
from voicecoach.store.health import (
    check_health,
    check_location,
    configure,
    identity,
    quick_check_problems,
    read_only_uri,
    set_aside_orphan_wal,
    set_aside_wal,
    upgrade,
    wal_path,
)
from voicecoach.store.journal import RecoveryJournal, journal_files
from voicecoach.store.merge import mark_interrupted, merge_journals, unmerged_note
from voicecoach.store.migrations import pending
from voicecoach.store.process import host_name, process_start
from voicecoach.store.reserve import NoSpace, ensure_reserve, is_out_of_space, release_reserve
from voicecoach.store.rows import dumps, insert_event, loads, now_iso, status_for

_T = TypeVar("_T")

logger = logging.getLogger(__name__)

OPEN_BUSY_TIMEOUT_S = 5.0
"""How long opening (migrations, merging journals) waits for another writer."""

EVENT_BUSY_TIMEOUT_S = 0.5
"""How long one event write waits for a lock before it goes to the journal instead:
the session loop must not stall while the user is inverted."""

SQLITE_MAGIC = b"SQLite format 3\x00"



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
        self._wal_identity = identity(wal_path(path))

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
        check_location(path)
        set_aside_orphan_wal(path)
        journal_dir = journal_dir if journal_dir is not None else default_journal_dir(path)
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                   timeout=busy_timeout_s)
        except sqlite3.Error as e:
            raise StoreError(describe_sqlite_error(path, e)) from e
        try:
            configure(conn, busy_timeout_s)
            check_health(conn, path)
            upgrade(conn, path)
            store = cls(path, conn, journal_dir)
            merge_journals(conn, journal_dir, path)
            mark_interrupted(conn)
            conn.execute(f"PRAGMA busy_timeout = {int(event_busy_timeout_s * 1000)}")
        except sqlite3.Error as e:
            conn.close()
            raise StoreError(describe_sqlite_error(path, e)
                             + unmerged_note(journal_dir, path)) from e
        except StoreError as e:
            conn.close()
            raise StoreError(str(e) + unmerged_note(journal_dir, path)) from e
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def open_read_only(cls, path: Path) -> Store:
        """Open a database only to read it: for a file (a backup on a read-only medium,
        say) that this user may not write. Nothing is merged, marked or upgraded, and
        every write fails over to the journal as on any other fault."""
        path = Path(path)
        if not path.is_file():
            raise StoreError(f"cannot open database {path}: there is no such file")
        uri = read_only_uri(path, immutable=not os.access(path.parent, os.W_OK))
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as e:
            raise StoreError(describe_sqlite_error(path, e)) from e
        try:
            check_health(conn, path)
            if pending(conn):
                raise StoreError(f"database {path} was written by an older voicecoach and"
                                 " needs upgrading, which a file you cannot write cannot"
                                 " be: copy it somewhere writable first")
        except sqlite3.Error as e:
            conn.close()
            raise StoreError(describe_sqlite_error(path, e)) from e
        except BaseException:
            conn.close()
            raise
        return cls(path, conn, default_journal_dir(path))

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
                    (started_at, program, pid, host, started, dumps(options), int(simulated)))
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
                self._end_session(session_id, reason, now_iso())
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
                    (status_for(reason), reason, ended_at, session_id))
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
                problems = quick_check_problems(check)
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
            insert_event(self._usable(), session_id, seq, t, type_, data)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        return int(seq)

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
                recording.session["options"] = loads(row[6])
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
            set_aside_wal(self.path)

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
        wal = identity(wal_path(self.path))
        if self._wal_identity is None:
            self._wal_identity = wal
        elif wal != self._wal_identity:
            raise _DatabaseGone("the database's -wal file was deleted or replaced",
                                moved=False)

    def _usable(self) -> sqlite3.Connection:
        if self._failure is not None or self._conn is None:
            raise StoreError((self._failure or f"database {self.path} is closed")
                             + unmerged_note(self.journal_dir, self.path))
        return self._conn

    # -- reading -----------------------------------------------------------------

    def sessions(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Sessions, newest first, with their pain ratings, duration and time held."""
        return self._query(queries.sessions, limit)

    def session(self, session_id: int) -> dict[str, Any] | None:
        """One session as in `sessions()`, plus pid, host and the options it ran with."""
        return self._query(queries.session, session_id)

    def events(self, session_id: int) -> list[dict[str, Any]]:
        """The session's events in order, each as {"t": ..., "type": ..., **data}."""
        return self._query(queries.events, session_id)

    def pain_ratings(self, session_id: int | None = None) -> list[dict[str, Any]]:
        """Rows of the pain table (all sessions, or one), in the order they were given."""
        return self._query(queries.pain_ratings, session_id)

    def _query(self, query: Callable[..., _T], *args: Any) -> _T:
        with self._lock:
            conn = self._usable()
            try:
                return query(conn, *args)
            except sqlite3.Error as e:
                raise StoreError(describe_sqlite_error(self.path, e)) from e

    def backup(self, dest: Path, *, replace: bool = False) -> Path:
        """Write a consistent copy of the database to `dest` (which must not exist, unless
        `replace`: then it is replaced only once the whole copy is written)."""
        dest = Path(dest)
        if dest.exists() and not replace:
            raise StoreError(f"cannot back up to {dest}: the file already exists")
        if dest.exists() and dest.resolve() == self.path.resolve():
            raise StoreError(f"cannot back up {self.path} onto itself")
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

    def restore_from(self, source: Path) -> None:
        """Replace everything in this database with the backup at `source`, in one
        transaction (SQLite's backup API), then bring its schema up to date. Refused while
        a session is writing to this database."""
        source = Path(source)
        with self._lock:
            conn = self._usable()
            running = [row[0] for row in conn.execute(
                "SELECT pid FROM sessions WHERE status = 'running'")]
            if running or self._recordings:
                raise StoreError(f"a session is running on {self.path} (process"
                                 f" {', '.join(map(str, running)) or os.getpid()}): restore"
                                 " once it has ended")
            try:
                with contextlib.closing(sqlite3.connect(read_only_uri(source),
                                                        uri=True)) as backup_conn:
                    check_health(backup_conn, source)
                    backup_conn.backup(conn)
                upgrade(conn, self.path)
            except sqlite3.Error as e:
                raise StoreError(f"cannot restore {source}: {describe_sqlite_error(source, e)}"
                                 ) from e

    # -- recovery on open --------------------------------------------------------

    def unmerged_journals(self) -> list[Path]:
        """Recovery journals for this database that are not merged yet."""
        return journal_files(self.journal_dir, self.path)
