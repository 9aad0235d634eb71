"""Options and helpers shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def db_option(f: F) -> F:
    """`-d/--db PATH`: the SQLite file to use instead of the one in the data dir."""
    return click.option(
        "-d", "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
        envvar="VOICECOACH_DB", default=None,
        help="Database file (default: voicecoach.db in the user data dir; env VOICECOACH_DB).",
    )(f)


def json_option(f: F) -> F:
    return click.option("json_", "--json", is_flag=True, help="Output JSON.")(f)
