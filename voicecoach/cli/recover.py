"""`voicecoach recover`: salvage a damaged database, every row that can still be read."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import click

from voicecoach.cli.common import db_option, json_option
from voicecoach.cli.database import DatabaseProblem, resolve_db_path, using_store
from voicecoach.store.backup import backup_path
from voicecoach.store.connection import quick_check
from voicecoach.store.recovery import salvage


@click.command()
@db_option
@json_option
def recover(db_path: Path | None, json_: bool) -> None:
    """Rescue what can be read from a damaged database.

    SQLite refuses a whole file for one damaged page; most of its sessions,
    events, pain ratings, screenings and daily entries still read. This copies
    every readable row into a new database, keeps the damaged file beside it
    (voicecoach-damaged-<time>.db), puts the new one in its place and merges
    any session logs that were waiting for it. Run it when a command says the
    database is damaged, and no session is running; a sound database is left
    alone. Rows that cannot be read are counted, never guessed.

    \b
    Examples:
      voicecoach recover
      voicecoach recover --db ~/old-voicecoach.db --json
    """
    path = resolve_db_path(db_path)
    if not path.exists():
        raise DatabaseProblem(f"no database at {path}: nothing to recover")
    try:
        state = quick_check(path)
    except sqlite3.DatabaseError as e:
        state = str(e)
    if state == "ok":
        _report(json_, {"database": str(path), "damaged": False},
                f"{path} is not damaged: nothing to recover.")
        return
    recovered = backup_path(path, "recovered")
    try:
        result = salvage(path, recovered)
    except (sqlite3.DatabaseError, OSError) as e:
        recovered.unlink(missing_ok=True)
        raise DatabaseProblem(f"nothing could be read from {path} ({e}); restore a backup"
                              " (voicecoach backup makes them)") from None
    kept = backup_path(path, "damaged")
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            os.replace(part, kept.with_name(kept.name + suffix))
    os.replace(recovered, path)
    with using_store(path) as store:  # merges waiting session logs, marks the dead
        sessions = len(store.sessions())
    lost = sum(n for n in result.lost.values() if n > 0)
    unreadable = [table for table, n in result.lost.items() if n < 0]
    summary = (f"Recovered {sessions} session(s), {result.copied.get('events', 0)} events and "
               f"{result.copied.get('pain', 0)} pain ratings into {path}.")
    if lost or unreadable or result.dropped:
        summary += f" Could not read: about {lost} rows"
        if unreadable:
            summary += f" and the tables {', '.join(unreadable)}"
        summary += "."
    if result.dropped:
        summary += (" Screening answers or clearances whose screening was lost were left out:"
                    " run `voicecoach screen` again.")
    summary += f" The damaged file is kept as {kept}."
    _report(json_, {"database": str(path), "damaged": True, "kept": str(kept),
                    "sessions": sessions, "copied": result.copied,
                    "lost": result.lost, "dropped": result.dropped,
                    "placeholder_sessions": result.placeholder_sessions}, summary)


def _report(json_: bool, data: dict[str, object], text: str) -> None:
    click.echo(json.dumps(data, indent=2) if json_ else text)
