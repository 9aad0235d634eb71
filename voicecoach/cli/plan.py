"""`voicecoach plan`: which program today, and why."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path

import click

from voicecoach.cli.common import db_option, json_option
from voicecoach.cli.database import resolve_db_path, using_store
from voicecoach.protocol.gates import daily_problem
from voicecoach.protocol.plan import TRACKS, plan, summaries_from_rows
from voicecoach.protocol.program import ProgramError, load_builtin
from voicecoach.protocol.screening import latest_clearance_on, screening_status


@click.command("plan")
@db_option
@click.option("--for", "track", type=click.Choice(list(TRACKS)), default=None,
              help="Follow the ladder for a condition (default: the one your recent "
                   "sessions followed, else the general one).")
@json_option
def plan_command(db_path: Path | None, track: str | None, json_: bool) -> None:
    """Say which program to run today, and why, from your sessions so far.

    Progress goes by the week, not the day; a session that ended in pain holds
    you back; a week or more away steps you back a stage.

    \b
    Examples:
      voicecoach plan
      voicecoach plan --for sciatica
      voicecoach plan --json
    """
    path = resolve_db_path(db_path, create=False)  # only read: the folder is not made
    today = date.today()
    rows: list[dict[str, object]] = []
    cleared_on: date | None = None
    screening_reason: str | None = "No safety screening is on record yet: run " \
        "`voicecoach screen` before your first session."
    if path.exists():
        with using_store(db_path, reading=True) as store:
            rows = store.sessions()
            status = screening_status(store, today)
            screening_reason = None if status.allowed else status.reason
            cleared_on = latest_clearance_on(store)
    history = summaries_from_rows(rows)
    today_plan = plan(history, today, track, cleared_on)
    if json_:
        click.echo(json.dumps({**asdict(today_plan), "screening": screening_reason}, indent=2))
        return
    try:
        program = load_builtin(today_plan.program)
    except ProgramError:
        program = None
    title = f" ({program.title})" if program is not None else ""
    click.echo(f"Today: {today_plan.program}{title}")
    for reason in today_plan.reasons:
        click.echo(f"  - {reason}")
    held = today_plan.held or (daily_problem(history, program, today) if program else None)
    if screening_reason:
        click.echo(f"Before any session: {screening_reason}")
    elif held:
        click.echo(f"No session today: {held}")
    else:
        click.echo(f"Start it with: voicecoach start --program {today_plan.program}")
