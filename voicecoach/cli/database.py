"""Opening the store from a command: a database problem is one line and exit code 2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from voicecoach.paths import default_db_path
from voicecoach.store import Store, StoreError


class DatabaseProblem(click.ClickException):
    """A database that cannot be used: bad input or configuration, so exit code 2."""

    exit_code = 2


def resolve_db_path(db_path: Path | None) -> Path:
    return db_path if db_path is not None else default_db_path()


def open_store(db_path: Path | None) -> Store:
    try:
        return Store.open(resolve_db_path(db_path))
    except StoreError as e:
        raise DatabaseProblem(str(e)) from None


@contextmanager
def using_store(db_path: Path | None) -> Iterator[Store]:
    """The store for one command: a database that cannot be used is one line and exit 2,
    and the store is closed whatever happens."""
    store = open_store(db_path)
    try:
        yield store
    except StoreError as e:
        raise DatabaseProblem(str(e)) from None
    finally:
        store.close()
