"""Opening the store from a command: a database problem is one line and exit code 2."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from voicecoach.paths import default_db_path
from voicecoach.store import Store, StoreError


class DatabaseProblem(click.ClickException):
    """A database that cannot be used: bad input or configuration, so exit code 2."""

    exit_code = 2


def resolve_db_path(db_path: Path | None, *, create: bool = True) -> Path:
    """`--db`, else the default database; `create` makes the data folder for it."""
    return db_path if db_path is not None else default_db_path(create)


def nothing_recorded_at(db_path: Path | None) -> Path | None:
    """Where the database would be, when there is none yet: a command that only reads
    says so rather than create one (or the data folder). None when there is a database
    to open, or a `--db` in a folder that does not exist, for open_store to refuse."""
    path = resolve_db_path(db_path, create=False)
    if path.exists() or (db_path is not None and not path.parent.is_dir()):
        return None
    return path


def open_store(db_path: Path | None, *, reading: bool = False) -> Store:
    """`reading`: the command only reads, so a file this user may not write (a backup on
    a read-only medium) is opened read-only rather than refused."""
    path = resolve_db_path(db_path)
    try:
        if reading and path.is_file() and not _writable(path):
            return Store.open_read_only(path)
        return Store.open(path)
    except StoreError as e:
        raise DatabaseProblem(str(e)) from None


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


@contextmanager
def using_store(db_path: Path | None, *, reading: bool = False) -> Iterator[Store]:
    """The store for one command: a database that cannot be used is one line and exit 2,
    and the store is closed whatever happens. `reading`: see open_store."""
    store = open_store(db_path, reading=reading)
    try:
        yield store
    except StoreError as e:
        raise DatabaseProblem(str(e)) from None
    finally:
        store.close()
