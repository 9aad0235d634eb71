"""Before a database is used: its folder, its -wal, SQLite's settings, a quick check of
the file, and its schema brought up to date (with a backup first)."""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from voicecoach.store.backup import backup_path, backup_to
from voicecoach.store.errors import StoreError
from voicecoach.store.migrations import LATEST, applied_numbers, migrate, pending

logger = logging.getLogger(__name__)


def read_only_uri(path: Path, *, immutable: bool = False) -> str:
    """The URI that opens `path` so that nothing can change it (pass uri=True).
    `immutable`: nobody writes the file at all (a folder no one may write, where SQLite
    could not make its -shm either)."""
    return Path(path).resolve().as_uri() + ("?immutable=1" if immutable else "?mode=ro")


def check_location(path: Path) -> None:
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


def wal_path(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`, or None if there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def set_aside_orphan_wal(path: Path) -> None:
    """A -wal file whose database is gone would be replayed into a new database."""
    if not path.exists():
        set_aside_wal(path)


def set_aside_wal(path: Path) -> None:
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


def configure(conn: sqlite3.Connection, busy_timeout_s: float) -> None:
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        logger.warning("WAL mode is not available here (journal mode %s)", mode)
    conn.execute("PRAGMA foreign_keys = ON")
    # FULL: each commit is on disk before log_event returns, power loss included.
    conn.execute("PRAGMA synchronous = FULL")


def quick_check_problems(conn: sqlite3.Connection) -> list[str]:
    """SQLite's quick check: nothing if the file is sound, else each problem it names."""
    rows = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
    if rows == ["ok"]:
        return []
    # One row may hold several lines, headed by "*** in database main ***".
    return [line.strip() for row in rows for line in row.splitlines()
            if line.strip() and not line.startswith("***")] or ["unknown problem"]


def check_health(conn: sqlite3.Connection, path: Path) -> None:
    problems = quick_check_problems(conn)
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


def upgrade(conn: sqlite3.Connection, path: Path) -> None:
    todo = pending(conn)
    if not todo:
        return
    if has_data(conn):
        dest = backup_path(path, f"before-m{todo[0].number:03d}")
        try:
            backup_to(conn, dest)
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"cannot back up database {path} before upgrading it: {e}") from e
        logger.warning("backed up %s to %s before upgrading its schema", path, dest)
    migrate(conn)


def has_data(conn: sqlite3.Connection) -> bool:
    tables = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        " AND name NOT LIKE 'sqlite_%' AND name != '_migrations'")]
    return any(conn.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone() is not None
               for name in tables)
