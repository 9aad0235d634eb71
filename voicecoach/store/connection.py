"""One way to open a side connection to the store's database, for every table.

A running session writes its events through its own Store; screenings, clearances
and daily tracking are written through a short-lived connection of their own, so
they never interleave with the session's writes. Every such connection has the
same settings: foreign keys enforced, each commit synced to disk, and a busy
timeout rather than an instant "database is locked".
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from voicecoach.store.errors import describe_sqlite_error
from voicecoach.store.health import read_only_uri
from voicecoach.store.store import Store, StoreError

BUSY_TIMEOUT_S = 5.0
"""How long a side connection waits for a session's write to finish (seconds)."""


@contextlib.contextmanager
def side_connection(store_or_db_path: Store | Path | str) -> Iterator[sqlite3.Connection]:
    """A connection to the store's database, schema up to date, closed afterwards.

    Raises StoreError (one line) if the database cannot be used.
    """
    if isinstance(store_or_db_path, Store):
        if store_or_db_path.failure is not None:
            raise StoreError(store_or_db_path.failure)
        path = store_or_db_path.path
    else:
        path = Path(store_or_db_path)
        # Opening the store creates the file if needed and applies the migrations.
        Store.open(path).close()
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as e:
        raise StoreError(describe_sqlite_error(path, e)) from e
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")
        yield conn
    except sqlite3.Error as e:
        raise StoreError(describe_sqlite_error(path, e)) from e
    finally:
        conn.close()


@contextlib.contextmanager
def read_only(path: Path, timeout_s: float = BUSY_TIMEOUT_S) -> Iterator[sqlite3.Connection]:
    """A connection that can change nothing (a backup, or a check of a file in use).
    sqlite3.DatabaseError passes through: the caller says what it means."""
    conn = sqlite3.connect(read_only_uri(path), uri=True, timeout=timeout_s)
    try:
        yield conn
    finally:
        conn.close()


def session_count(path: Path) -> int:
    """Sessions in the database at `path`, counted read-only."""
    with read_only(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])


def quick_check(path: Path) -> str:
    """SQLite's own quick check of the file at `path`: "ok", or what is damaged."""
    with read_only(path) as conn:
        return str(conn.execute("PRAGMA quick_check").fetchone()[0])
