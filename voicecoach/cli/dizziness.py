"""`voicecoach dizziness passed`: say that the dizziness after a session has passed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from voicecoach.cli.common import db_option
from voicecoach.cli.database import DatabaseProblem, using_store
from voicecoach.protocol.limits import DIZZY_DOCTOR_AFTER_MIN
from voicecoach.protocol.plan import dizziness_hold, summaries_from_rows
from voicecoach.protocol.screening import latest_clearance_on


@click.group()
def dizziness() -> None:
    """Dizziness after a session: sessions wait until you say it passed.

    Dizziness that lasts more than five minutes after a session needs a doctor
    before the next one. The coach asks at the end of a dizzy session; if you
    did not answer yes, `voicecoach start` waits for one of these:

    \b
      voicecoach dizziness passed            # it passed within five minutes
      voicecoach clearance --by "Dr. Rivera" # a doctor saw you and cleared you
    """


@dizziness.command("passed")
@db_option
def passed(db_path: Path | None) -> None:
    """Record that the dizziness after your last dizzy session passed within five minutes."""
    with using_store(db_path) as store:
        sessions = store.sessions()
        if dizziness_hold(summaries_from_rows(sessions), latest_clearance_on(store)) is None:
            click.echo("Nothing to record: no session is waiting on dizziness.")
            return
        if not click.confirm(f"Did the dizziness pass within {DIZZY_DOCTOR_AFTER_MIN} minutes "
                             "of the session?", default=None):
            raise click.UsageError(
                f"Dizziness that lasts more than {DIZZY_DOCTOR_AFTER_MIN} minutes needs a "
                "doctor before the next session: record their clearance with "
                "`voicecoach clearance --by NAME`.")
        # The session the hold is about: the newest live one with dizziness.
        row = next(s for s in sessions if s["dizzy"] and not s["simulated"])
        store.log_event(int(row["id"]), float(row["duration_s"] or 0.0), "dizziness",
                        {"passed": True, "said": f"voicecoach dizziness passed on {date.today()}"})
        # Read back: log_event never raises, so this is how a failed write shows.
        if dizziness_hold(summaries_from_rows(store.sessions()), None) is not None:
            raise DatabaseProblem(f"could not record it in {store.path}; try again.")
    click.echo(f"Recorded: the dizziness after session {row['id']} passed. "
               "Sessions may start again (see `voicecoach plan`).")
