"""`voicecoach track`: record the day's measures (toe touch, stiffness, medication,
night pain, a note), or list what was recorded."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich import box
from rich.console import Console
from rich.table import Table

from voicecoach.cli.common import WholeNumber, db_option, json_option
from voicecoach.cli.database import nothing_recorded_at, resolve_db_path, using_store
from voicecoach.progress.tracking import (
    MAX_DOSES,
    MAX_STIFFNESS_MIN,
    DailyEntry,
    TrackingError,
    daily_entries,
    format_length,
    parse_length_cm,
    record_daily,
)

T = TypeVar("T")


def parse_day(text: str, today: dt.date) -> dt.date:
    """YYYY-MM-DD, "today" or "yesterday"; never a day after `today`."""
    lowered = text.strip().lower()
    if lowered == "today":
        return today
    if lowered == "yesterday":
        return today - dt.timedelta(days=1)
    try:
        day = dt.date.fromisoformat(lowered)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date: use YYYY-MM-DD, today or yesterday",
                                 param_hint="--date") from None
    if day > today:
        raise click.BadParameter(f"{day} is in the future", param_hint="--date")
    return day


def _toe_touch(text: str) -> float:
    try:
        return parse_length_cm(text)
    except TrackingError as e:
        raise click.BadParameter(str(e), param_hint="--toe-touch") from None


def _optional(parse: Callable[[str], T]) -> Callable[[str], T | None]:
    """A prompt's value parser where an empty answer means "skip this one"."""

    def parse_or_skip(text: str) -> T | None:
        return None if not text.strip() else parse(text)

    return parse_or_skip


def _whole(limit: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise click.UsageError(f"{what}: type a whole number, or nothing to skip") from None
        if not 0 <= value <= limit:
            raise click.UsageError(f"{what}: type a number from 0 to {limit}")
        return value

    return parse


def _yes_no(text: str) -> bool:
    answer = text.strip().lower()
    if answer in ("y", "yes"):
        return True
    if answer in ("n", "no"):
        return False
    raise click.UsageError("type y or n, or nothing to skip")


def _ask(label: str, parse: Callable[[str], T]) -> T | None:
    value: T | None = click.prompt(label, default="", show_default=False,
                                   value_proc=_optional(parse))
    return value


def _ask_all(day: dt.date) -> dict[str, Any]:
    click.echo(f"Measures for {day} (press Enter to skip one):")
    return {
        "toe_touch_cm": _ask("Toe touch: gap from fingertips to toes, bending forward with"
                             " straight knees (e.g. 4in, 10cm, 0cm if you touch them)",
                             _toe_touch),
        "stiffness_min": _ask("Morning stiffness (minutes)",
                              _whole(MAX_STIFFNESS_MIN, "morning stiffness")),
        "medication_doses": _ask("Pain medication doses taken today",
                                 _whole(MAX_DOSES, "medication doses")),
        "night_pain": _ask("Did pain wake you or keep you awake last night? (y/n)", _yes_no),
        "note": _ask("Note", str),
    }


def _describe(entry: DailyEntry) -> str:
    parts = []
    if entry.toe_touch_cm is not None:
        parts.append(f"toe touch gap {format_length(entry.toe_touch_cm)}")
    if entry.stiffness_min is not None:
        parts.append(f"morning stiffness {entry.stiffness_min} min")
    if entry.medication_doses is not None:
        parts.append(f"{entry.medication_doses} medication dose(s)")
    if entry.night_pain is not None:
        parts.append("pain at night" if entry.night_pain else "no pain at night")
    if entry.note:
        parts.append(f"note: {entry.note}")
    return "; ".join(parts) if parts else "nothing"


def _table(entries: list[DailyEntry]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False,
                  caption="Toe touch: gap from fingertips to toes (0 = touching).")
    table.add_column("Date", no_wrap=True)
    table.add_column("Toe touch", justify="right", no_wrap=True)
    table.add_column("Stiffness", justify="right", no_wrap=True)
    table.add_column("Doses", justify="right")
    table.add_column("Night pain")
    table.add_column("Note")
    for e in entries:
        table.add_row(
            e.date.isoformat(),
            "-" if e.toe_touch_cm is None else f"{e.toe_touch_cm:g} cm",
            "-" if e.stiffness_min is None else f"{e.stiffness_min} min",
            "-" if e.medication_doses is None else str(e.medication_doses),
            "-" if e.night_pain is None else ("yes" if e.night_pain else "no"),
            e.note or "")
    return table


def _list(db_path: Path | None, json_: bool, limit: int | None) -> None:
    missing = nothing_recorded_at(db_path)
    if missing is not None:
        # Nothing recorded yet: say so rather than create an empty database.
        click.echo("[]" if json_ else f"No days tracked yet (no database at {missing}).")
        return
    with using_store(db_path, reading=True) as store:
        entries = daily_entries(store)
    if limit is not None:
        entries = entries[-limit:]
    if json_:
        click.echo(json.dumps([e.as_dict() for e in entries], indent=2, ensure_ascii=False))
    elif not entries:
        click.echo(f"No days tracked yet in {resolve_db_path(db_path, create=False)}.")
    else:
        Console().print(_table(entries))


@click.command()
@db_option
@json_option
@click.option("--date", "day_text", metavar="YYYY-MM-DD", default=None,
              help="The day the measures are for: a date, today or yesterday (default: today).")
@click.option("--toe-touch", "toe_touch", metavar="DISTANCE", default=None,
              help="Gap from fingertips to toes bending forward with straight knees, with its"
                   " unit: 12in, 30cm (0cm = you touch them). Stored in cm.")
@click.option("--stiffness", type=WholeNumber(0, MAX_STIFFNESS_MIN), metavar="MIN",
              default=None, help="Morning stiffness in minutes.")
@click.option("--doses", type=WholeNumber(0, MAX_DOSES), metavar="N", default=None,
              help="Pain medication doses taken that day.")
@click.option("--night-pain/--no-night-pain", "night_pain", default=None,
              help="Whether pain woke you or kept you awake the night before.")
@click.option("--note", metavar="TEXT", default=None, help="A free-text note for the day.")
@click.option("--list", "list_", is_flag=True,
              help="Show the tracked days instead of recording (with --json: as JSON).")
@click.option("-n", "--limit", type=WholeNumber(1), default=None,
              help="With --list: only the N most recent days.")
def track(db_path: Path | None, json_: bool, day_text: str | None, toe_touch: str | None,
          stiffness: int | None, doses: int | None, night_pain: bool | None,
          note: str | None, list_: bool, limit: int | None) -> None:
    """Record today's measures, the ones that show progress over weeks.

    Pain before and after each session is recorded by the session itself;
    this adds what to note once a day: how far your fingertips stay from your
    toes, how long your back is stiff in the morning, pain medication doses,
    and whether pain woke you at night. With no measure given, it asks for
    each one (press Enter to skip). Recording a day again changes only the
    measures given.

    \b
    Examples:
      voicecoach track
      voicecoach track --toe-touch 12in --stiffness 20 --doses 1 --no-night-pain
      voicecoach track --date yesterday --night-pain --note "woke at 3am, left leg"
      voicecoach track --list
      voicecoach track --list --json
    """
    fields: dict[str, Any] = {
        "toe_touch_cm": None if toe_touch is None else _toe_touch(toe_touch),
        "stiffness_min": stiffness, "medication_doses": doses, "night_pain": night_pain,
        "note": note}
    given = any(value is not None for value in fields.values())
    if list_:
        if given or day_text is not None:
            raise click.UsageError("--list shows what was recorded: give no measure or --date")
        _list(db_path, json_, limit)
        return
    if limit is not None:
        raise click.UsageError("--limit goes with --list")
    today = dt.date.today()
    day = parse_day(day_text, today) if day_text is not None else today
    if not given:
        fields = _ask_all(day)
        if all(value is None for value in fields.values()):
            click.echo("Nothing recorded.")
            return
    with using_store(db_path) as store:
        try:
            entry = record_daily(store, day, **fields)
        except TrackingError as e:
            raise click.UsageError(str(e)) from None
    if json_:
        click.echo(json.dumps(entry.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(f"Recorded for {entry.date}: {_describe(entry)}.")
