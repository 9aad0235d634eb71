"""`voicecoach backup` and `voicecoach restore`: a consistent copy of the database, safe
while a session runs, and the database put back from one."""

from __future__ import annotations

import json
from pathlib import Path

import click

from voicecoach.cli.common import db_option
from voicecoach.cli.database import DatabaseProblem, resolve_db_path, using_store
from voicecoach.store.backup import backup_path
from voicecoach.store.connection import session_count


@click.command()
@db_option
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Backup file to write. Default: voicecoach-backup-<time>.db next to the"
                   " database.")
@click.option("--force", is_flag=True, help="Replace the --out file if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def backup(db_path: Path | None, out: Path | None, force: bool, as_json: bool) -> None:
    """Copy the database to a backup file.

    The copy is a single consistent snapshot, even while a session is writing
    to the database. Put it back with `voicecoach restore FILE`.

    \b
    Examples:
      voicecoach backup
      voicecoach backup --out /media/usb/voicecoach-2024-05.db
    """
    path = resolve_db_path(db_path)
    if not path.exists():
        raise DatabaseProblem(f"no database at {path}: nothing to back up")
    if out is not None and out.exists() and not force:
        raise DatabaseProblem(f"{out} already exists: choose another --out, or add --force"
                              " to replace it")
    with using_store(db_path, reading=True) as store:
        dest = store.backup(out if out is not None else backup_path(path, "backup"),
                            replace=force)
    # Counted in the copy itself: what the user now holds.
    sessions = session_count(dest)
    if as_json:
        click.echo(json.dumps({"database": str(path), "backup": str(dest),
                               "sessions": sessions}))
    else:
        click.echo(f"Backed up {sessions} session(s) to {dest}")


@click.command()
@db_option
@click.argument("backup_file", metavar="BACKUP",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
def restore(db_path: Path | None, backup_file: Path, as_json: bool) -> None:
    """Put the database back as it was in BACKUP (a file `voicecoach backup` wrote).

    BACKUP is checked first: a damaged file, or one that is not a voicecoach
    database, is refused and nothing changes. The database as it is now is
    kept beside it (voicecoach-before-restore-<time>.db), so a restore can be
    undone with another. Refused while a session is running.

    \b
    Examples:
      voicecoach restore /media/usb/voicecoach-2024-05.db
    """
    path = resolve_db_path(db_path)
    if path.exists() and path.resolve() == backup_file.resolve():
        raise DatabaseProblem(f"{backup_file} is the database itself: name a backup file")
    kept: Path | None = None
    existed = path.exists()
    with using_store(db_path) as store:
        if existed:
            kept = store.backup(backup_path(path, "before-restore"))
        store.restore_from(backup_file)
        sessions = len(store.sessions())
    if as_json:
        click.echo(json.dumps({"database": str(path), "restored_from": str(backup_file),
                               "sessions": sessions,
                               "previous": None if kept is None else str(kept)}))
        return
    click.echo(f"Restored {sessions} session(s) from {backup_file} into {path}.")
    if kept is not None:
        click.echo(f"The database as it was is kept at {kept}.")
