"""The one exception the store raises, and how SQLite's errors read to a user."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path


class StoreError(Exception):
    """A problem with the database, told in one line the user can act on."""


def _no_space_left(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.parent).free < 64 * 1024
    except OSError:
        return False


def describe_sqlite_error(path: Path, exc: sqlite3.Error) -> str:
    """One plain line for a SQLite error on `path`."""
    # sqlite_errorname exists from Python 3.11; the message is the fallback for 3.10.
    name = getattr(exc, "sqlite_errorname", "") or ""
    message = " ".join(str(exc).split())  # always one line
    lowered = message.lower()
    if "NOTADB" in name or "not a database" in lowered:
        return (f"cannot open database {path}: the file is damaged or is not a SQLite database;"
                " move it aside or restore a backup")
    if "CORRUPT" in name or "malformed" in lowered:
        return (f"database {path} is damaged ({message}); move it aside or restore a backup")
    if "BUSY" in name or "LOCKED" in name or "locked" in lowered:
        return (f"database {path} is locked by another program; "
                "try again when that program has finished")
    if "READONLY" in name or "readonly" in lowered or "read-only" in lowered:
        return f"database {path} is read-only"
    if "FULL" in name or "disk is full" in lowered or (
            "IOERR" in name or "i/o error" in lowered) and _no_space_left(path):
        # A full disk often reaches SQLite as an I/O error (growing the -shm file fails
        # before any page is written): said as what it is, so the user knows what to do.
        return f"cannot write database {path}: the disk is full"
    return f"database {path}: {message}"
