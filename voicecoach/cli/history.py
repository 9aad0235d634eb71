"""`voicecoach history`: the sessions logged so far, newest first."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table

from voicecoach.cli.common import WholeNumber, db_option, json_option
from voicecoach.cli.database import nothing_recorded_at, resolve_db_path, using_store


def _date(started_at: str) -> str:
    try:
        when = datetime.fromisoformat(started_at)
    except ValueError:
        return started_at
    if when.tzinfo is not None:
        when = when.astimezone()  # shown in the user's own time
    return when.strftime("%Y-%m-%d %H:%M")


def _status(session: dict[str, Any]) -> str:
    status = str(session["status"]).replace("_", " ")
    reason = session.get("end_reason")
    if reason and reason != "completed":
        status = f"{status}: {str(reason).replace('_', ' ')}"
    if session.get("simulated"):
        # Driven from audio files: not in the plan or the reports.
        status += " (simulated)"
    return status


def _held(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _pain(session: dict[str, Any]) -> str:
    def show(value: int | None) -> str:
        return "-" if value is None else str(value)

    return f"{show(session['pain_before'])} -> {show(session['pain_after'])}"


def _table(sessions: list[dict[str, Any]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False,
                  caption="Pain: 0-10, before -> after the session.")
    table.add_column("#", justify="right")
    table.add_column("Date", no_wrap=True)
    table.add_column("Program")
    table.add_column("Status")
    table.add_column("Held", justify="right", no_wrap=True)
    table.add_column("Pain", no_wrap=True)
    for session in sessions:
        table.add_row(str(session["id"]), _date(session["started_at"]), session["program"],
                      _status(session), _held(session["held_s"]), _pain(session))
    return table


RICH_TABLE_MAX_ROWS = 200
"""Above this many sessions the list is printed as plain aligned lines: rich lays out
every cell of a table before it prints, which takes seconds for ten years of sessions."""


def _plain(sessions: list[dict[str, Any]]) -> str:
    rows = [("#", "Date", "Program", "Status", "Held", "Pain")]
    rows += [(str(s["id"]), _date(s["started_at"]), str(s["program"]), _status(s),
              _held(s["held_s"]), _pain(s)) for s in sessions]
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    lines = ["  ".join([row[0].rjust(widths[0]), *(cell.ljust(w) for cell, w in
                                                   zip(row[1:4], widths[1:4], strict=True)),
                        row[4].rjust(widths[4]), row[5]]) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.append("Pain: 0-10, before -> after the session.")
    return "\n".join(lines)


def render(sessions: list[dict[str, Any]], console: Console) -> None:
    if len(sessions) > RICH_TABLE_MAX_ROWS:
        console.file.write(_plain(sessions) + "\n")
    else:
        console.print(_table(sessions))


@click.command()
@db_option
@json_option
@click.option("-n", "--limit", type=WholeNumber(1), default=None,
              help="Show only the N most recent sessions.")
def history(db_path: Path | None, json_: bool, limit: int | None) -> None:
    """Show past sessions: date, program, how they ended, time held, pain.

    Pain is your 0-10 rating before the session and after it. A session
    marked "interrupted" was cut off (the program was killed or the machine
    stopped); everything logged up to that moment is kept.

    \b
    Examples:
      voicecoach history
      voicecoach history -n 5
      voicecoach history --json > sessions.json
      voicecoach history --db ~/backup/voicecoach.db
    """
    missing = nothing_recorded_at(db_path)
    if missing is not None:
        # Nothing recorded yet: say so rather than create an empty database.
        if json_:
            click.echo("[]")
        else:
            click.echo(f"No sessions recorded yet (no database at {missing}).")
        return
    with using_store(db_path, reading=True) as store:
        sessions = store.sessions(limit=limit)
    if json_:
        click.echo(json.dumps(sessions, indent=2, ensure_ascii=False))
    elif not sessions:
        click.echo(f"No sessions recorded yet in {resolve_db_path(db_path, create=False)}.")
    else:
        render(sessions, Console())
