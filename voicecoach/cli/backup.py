"""`voicecoach backup`: a consistent copy of the database, safe while a session runs."""

from __future__ import annotations

from pathlib import Path

import click

from voicecoach.cli.common import db_option
from voicecoach.cli.database import DatabaseProblem, resolve_db_path, using_store
from voicecoach.store.backup import backup_path
from voicecoach.store.connection import session_count


@click.command()
@db_option
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Backup file to write (must not exist). Default: voicecoach-backup-<time>.db"
                   " next to the database.")
def backup(db_path: Path | None, out: Path | None) -> None:
    """Copy the database to a backup file.

    The copy is a single consistent snapshot, even while a session is writing
    to the database. Restore it by copying it back over the database file
    while voicecoach is not running.

    \b
    Examples:
      voicecoach backup
      voicecoach backup --out /media/usb/voicecoach-2024-05.db
    """
    path = resolve_db_path(db_path)
    if not path.exists():
        raise DatabaseProblem(f"no database at {path}: nothing to back up")
    with using_store(db_path) as store:
        dest = store.backup(out if out is not None else backup_path(path, "backup"))
    click.echo(f"Backed up {_session_count(dest)} session(s) to {dest}")


def _session_count(backup_file: Path) -> int:
    """Counted in the copy itself: what the user now holds."""
    return session_count(backup_file)
