"""`voicecoach export`: everything recorded, as CSV, JSON or a FHIR R4 Bundle."""

from __future__ import annotations

from pathlib import Path

import click

from voicecoach.cli.common import db_option
from voicecoach.cli.database import nothing_recorded_at, using_store
from voicecoach.cli.output import check_out_path, write_file
from voicecoach.progress.export import ExportData, load_export, to_csv, to_json
from voicecoach.progress.fhir import DEFAULT_PATIENT, check_patient_reference, to_fhir_json
from voicecoach.progress.history import History


def _patient_reference(ctx: click.Context, param: click.Parameter,
                       value: str | None) -> str | None:
    try:
        return None if value is None else check_patient_reference(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@click.command()
@db_option
@click.option("-f", "--format", "format_", type=click.Choice(["csv", "json", "fhir"]),
              default="csv", show_default=True, help="What to write.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              default=None, help="File to write (default, or '-': standard output).")
@click.option("--patient", metavar="REFERENCE", callback=_patient_reference,
              help="With --format fhir: the Patient reference every Observation points to:"
                   f" Patient/<id>, a URL ending in /Patient/<id>, or urn:uuid:<uuid>."
                   f" Default: {DEFAULT_PATIENT}, for the receiving system to map.")
@click.option("--force", is_flag=True, help="Replace the --out file if it exists.")
def export(db_path: Path | None, format_: str, out: Path | None, patient: str | None,
           force: bool) -> None:
    """Export sessions, pain ratings and daily tracking for your records or your clinician.

    \b
    csv   one table, a row per session, pain rating and tracked day (column
          "record" says which); opens in any spreadsheet (a note that starts
          like a formula, "=..." or "+...", is kept as text with a leading ').
    json  one document: sessions with their pain ratings, tracked days and the
          success markers (its JSON Schema: voicecoach/progress/export.schema.json).
    fhir  a FHIR R4 Bundle of Observations: pain severity (LOINC 72514-3),
          session duration (LOINC 55411-3) and the daily measures.

    \b
    Examples:
      voicecoach export > voicecoach.csv
      voicecoach export --format json --out voicecoach.json
      voicecoach export --format fhir --patient Patient/12345 --out bundle.json
    """
    if patient is not None and format_ != "fhir":
        raise click.UsageError("--patient is for --format fhir (CSV and JSON name no patient).")
    to_stdout = out is None or str(out) == "-"
    if out is not None and not to_stdout:
        check_out_path(out, force=force)
    if nothing_recorded_at(db_path) is not None:
        # Nothing recorded yet: an empty export, rather than creating an empty database.
        data = ExportData(history=History(sessions=[], daily=[]), pain=[])
    else:
        with using_store(db_path, reading=True) as store:
            data = load_export(store)
    if format_ == "csv":
        text = to_csv(data)
    elif format_ == "json":
        text = to_json(data)
    else:
        text = to_fhir_json(data, patient=patient or DEFAULT_PATIENT)
    if to_stdout:
        click.echo(text, nl=False)
    else:
        assert out is not None
        write_file(out, text)
        click.echo(f"Wrote {out}: {len(data.history.sessions)} session(s),"
                   f" {len(data.history.daily)} tracked day(s).", err=True)
