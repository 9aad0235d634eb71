"""Consistent copies of the database, taken with SQLite's online backup API."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import datetime
from pathlib import Path
from uuid import uuid4


def timestamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def backup_path(db_path: Path, label: str) -> Path:
    """`voicecoach-<label>-<time>.db` next to the database, never an existing file."""
    stem, suffix = db_path.stem, db_path.suffix or ".db"
    candidate = db_path.with_name(f"{stem}-{label}-{timestamp()}{suffix}")
    n = 1
    while candidate.exists():
        n += 1
        candidate = db_path.with_name(f"{stem}-{label}-{timestamp()}-{n}{suffix}")
    return candidate


def backup_to(source: sqlite3.Connection, dest: Path) -> None:
    """Copy `source`'s database to `dest` as one self-contained file.

    The whole copy is one step of the backup API, so it is a single snapshot
    even while another process commits events. It is written to a temporary
    name first: a backup cut short never looks like a good one.
    """
    tmp = dest.with_name(f".{dest.name}.{uuid4().hex[:8]}.tmp")
    try:
        target = sqlite3.connect(tmp)
        try:
            source.backup(target)
            # The copy would inherit WAL mode; one file with no -wal beside it is what a
            # user expects to carry around.
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):
        fd = os.open(dest.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
