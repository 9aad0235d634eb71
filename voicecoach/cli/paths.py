"""`voicecoach paths`: where voicecoach keeps everything, without creating any of it."""

from __future__ import annotations

import json
import os

import click

from voicecoach import paths
from voicecoach.cli.common import json_option
from voicecoach.logs import log_path
from voicecoach.protocol.validate import user_programs_dir
from voicecoach.store.store import JOURNAL_FOLDER


@click.command("paths")
@json_option
def paths_command(json_: bool) -> None:
    """Print where the database, your programs, the speech cache, the session log and
    the recovery journals live (VOICECOACH_HOME moves them all; VOICECOACH_DB names
    another database). Nothing is created.

    \b
    Examples:
      voicecoach paths
      voicecoach paths --json
    """
    where = {
        "database": os.environ.get("VOICECOACH_DB") or str(paths.default_db_path(create=False)),
        "programs": str(user_programs_dir()),
        "speech cache": str(paths.cache_dir(create=False) / "speech"),
        "session log": str(log_path(create=False)),
        "recovery journals": str(paths.data_dir(create=False) / JOURNAL_FOLDER),
    }
    if json_:
        click.echo(json.dumps({k.replace(" ", "_"): v for k, v in where.items()}, indent=2))
        return
    width = max(len(k) for k in where)
    for name, path in where.items():
        click.echo(f"{name:<{width}}  {path}")
