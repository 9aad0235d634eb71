"""`voicecoach clearance`: record that a doctor cleared you for inversion."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from voicecoach.cli.common import db_option, json_option
from voicecoach.cli.database import DatabaseProblem, resolve_db_path, using_store
from voicecoach.cli.screen import ScreeningProblem, status_json
from voicecoach.protocol.plan import dizziness_hold, summaries_from_rows
from voicecoach.protocol.screening import record_clearance
from voicecoach.store import StoreError


def _dizziness_reason(db_path: Path | None) -> str | None:
    """What a clearance is for when a dizzy session holds the next one, or None."""
    path = resolve_db_path(db_path)
    if not path.exists():
        return None
    with using_store(db_path) as store:
        hold = dizziness_hold(summaries_from_rows(store.sessions()), None)
    return "dizziness that lasted after a session" if hold else None


@click.command()
@db_option
@click.option("--by", "cleared_by", required=True, metavar="WHO",
              help="Who cleared you: your doctor's or physical therapist's name.")
@click.option("--date", "cleared_on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day you were cleared, YYYY-MM-DD (default: today).")
@click.option("--note", default="", help="Anything the clearance said, e.g. limits to keep to.")
@json_option
def clearance(db_path: Path | None, cleared_by: str, cleared_on: datetime | None, note: str,
              json_: bool) -> None:
    """Record a medical clearance for the conditions your screening found.

    A "yes" in `voicecoach screen` blocks sessions until this is recorded, and
    so does dizziness that lasted after a session (see `voicecoach dizziness`). The
    clearance belongs to your latest screening: after the next one (every 90
    days), record it again if you still answer yes.

    \b
    Example:
      voicecoach clearance --by "Dr. Rivera" --date 2025-03-02 --note "up to 45 degrees"
    """
    today = date.today()
    try:
        status = record_clearance(resolve_db_path(db_path), cleared_by,
                                  cleared_on.date() if cleared_on else today, note, today,
                                  unflagged_reason=_dizziness_reason(db_path))
    except ValueError as e:
        raise ScreeningProblem(str(e)) from None
    except StoreError as e:
        raise DatabaseProblem(str(e)) from None
    click.echo(status_json(status) if json_ else f"Recorded. {status.reason}")
