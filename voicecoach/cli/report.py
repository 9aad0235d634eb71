"""`voicecoach report`: progress over the weeks, as a chart, a web page or a terminal summary."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from rich.console import Console

from voicecoach.cli.common import WholeNumber, db_option
from voicecoach.cli.database import resolve_db_path, using_store
from voicecoach.cli.output import check_out_path, write_file
from voicecoach.progress.history import History, load_history
from voicecoach.progress.report import build_report, report_dict
from voicecoach.protocol.screening import screening_status

SUFFIXES = (".png", ".pdf", ".html", ".htm")


@click.command()
@db_option
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to FILE.png or FILE.pdf (the charts and markers on one"
                   " page) or FILE.html (that page with the week-by-week table, nothing else"
                   " needed to open it). Default: a summary here.")
@click.option("-w", "--weeks", type=WholeNumber(1), default=None, metavar="N",
              help="Show only the last N weeks (default: everything).")
@click.option("--force", is_flag=True, help="Replace the --out file if it exists.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the weekly figures and the markers as JSON.")
def report(db_path: Path | None, out: Path | None, weeks: int | None, force: bool,
           as_json: bool) -> None:
    """Show progress: pain before and after each session, minutes inverted per
    week, the daily measures, and the three success markers.

    \b
    The markers, each compared with your first week:
      20% less pain by week 2         (your pain rating before each session)
      30% better toe touch by week 6  (voicecoach track --toe-touch)
      no night pain by month 3        (voicecoach track --night-pain/--no-night-pain)
    Each shows as met, not yet, or not enough data, with the numbers behind it.
    Week 1 is the first seven days anything was recorded. The markers always
    use the whole history, whatever --weeks shows.

    \b
    Examples:
      voicecoach report
      voicecoach report --weeks 8
      voicecoach report --json
      voicecoach report --out progress.png
      voicecoach report --out progress.pdf     # to print, or send to your clinician
      voicecoach report --out progress.html
    """
    if out is not None and as_json:
        raise click.UsageError("--json prints to the terminal; --out writes a file: use one.")
    if out is not None:
        check_out_path(out, SUFFIXES, force=force)
    path = resolve_db_path(db_path)
    screening: str | None = None
    if not path.exists() and path.parent.is_dir():
        history = History(sessions=[], daily=[])  # nothing recorded: no database to create
    else:
        with using_store(db_path, reading=True) as store:
            history = load_history(store)
            screening = screening_status(store, dt.date.today()).reason
    result = build_report(history, weeks=weeks, today=dt.date.today(), screening=screening)
    if as_json:
        click.echo(json.dumps(report_dict(result), indent=2))
        return
    if out is None:
        if result.empty:
            click.echo("Nothing recorded yet: start a session (voicecoach start) or track a"
                       " day (voicecoach track).")
            return
        from voicecoach.progress.terminal import terminal_summary

        Console().print(terminal_summary(result))
        return
    # Imported only here: matplotlib takes longer to load than the summary takes to show.
    if out.suffix.lower() == ".png":
        from voicecoach.progress.chart import png_bytes

        write_file(out, png_bytes(result))
    elif out.suffix.lower() == ".pdf":
        from voicecoach.progress.chart import pdf_bytes

        write_file(out, pdf_bytes(result))
    else:
        from voicecoach.progress.page import render_html

        write_file(out, render_html(result))
    click.echo(f"Wrote {out} ({result.period()}).")
