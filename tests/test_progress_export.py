"""Exports: CSV that survives any free text, JSON that matches its schema, FHIR that validates."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation

from progress_data import NASTY_NOTE, START, write_session, write_twelve_weeks
from voicecoach.cli import main
from voicecoach.progress.export import CSV_COLUMNS, load_export, schema, to_csv, to_json_document
from voicecoach.progress.fhir import to_fhir_bundle
from voicecoach.progress.tracking import record_daily
from voicecoach.store import Store

UTC = dt.timezone.utc
NASTY_TRANSCRIPT = 'six, "maybe" seven\nno — seis ✓'


@pytest.fixture
def nasty_db(tmp_path: Path) -> Path:
    db = tmp_path / "nasty.db"
    with Store.open(db) as store:
        write_session(store, START, 6, 4, transcript=NASTY_TRANSCRIPT)
        write_session(store, START + dt.timedelta(days=1), None, None, held_s=20.0,
                      end="user_stop")
        record_daily(store, START, toe_touch_cm=30.48, stiffness_min=25, medication_doses=1,
                     night_pain=True, note=NASTY_NOTE)
        record_daily(store, START + dt.timedelta(days=1), note="plain, with a comma")
    return db


def _export(db: Path):  # type: ignore[no-untyped-def]
    with Store.open(db) as store:
        return load_export(store, tz=UTC)


def test_csv_round_trips_free_text(nasty_db: Path) -> None:
    text = to_csv(_export(nasty_db))
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [r["record"] for r in rows] == ["session", "pain", "pain", "session",
                                           "daily", "daily"]
    daily = [r for r in rows if r["record"] == "daily"]
    assert daily[0]["note"] == NASTY_NOTE.strip()
    assert daily[0]["toe_touch_cm"] == "30.48" and daily[0]["night_pain"] == "yes"
    assert daily[1]["note"] == "plain, with a comma" and daily[1]["night_pain"] == ""
    before = next(r for r in rows if r["record"] == "pain" and r["phase"] == "before")
    assert before["transcript"] == NASTY_TRANSCRIPT
    assert (before["session_id"], before["value"], before["date"]) == ("1", "6", "2024-01-01")
    session = rows[0]
    assert (session["pain_before"], session["pain_after"], session["held_s"]) == \
        ("6", "4", "120.0")
    cut_short = rows[3]
    assert (cut_short["status"], cut_short["end_reason"], cut_short["pain_before"]) == \
        ("ended_early", "user_stop", "")


def test_csv_free_text_never_opens_as_a_spreadsheet_formula(tmp_path: Path) -> None:
    db = tmp_path / "formula.db"
    notes = ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-2 cm", "@SUM(A1)", "a=b"]
    with Store.open(db) as store:
        for day, note in enumerate(notes):
            record_daily(store, START + dt.timedelta(days=day), note=note)
    rows = list(csv.DictReader(io.StringIO(to_csv(_export(db)), newline="")))
    assert [r["note"] for r in rows] == ["'" + n for n in notes[:-1]] + ["a=b"]


def test_csv_from_the_cli_file_reads_back_the_same(nasty_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "export.csv"
    result = CliRunner().invoke(main, ["export", "--db", str(nasty_db), "--format", "csv",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[4]["note"] == NASTY_NOTE.strip()
    stdout = CliRunner().invoke(main, ["export", "--db", str(nasty_db)])
    assert stdout.exit_code == 0
    # The raw bytes: CliRunner's `output` turns every CRLF into LF, the note's own included.
    text = stdout.stdout_bytes.decode("utf-8")
    assert list(csv.DictReader(io.StringIO(text, newline=""))) == rows


def test_json_matches_its_schema(tmp_path: Path, nasty_db: Path) -> None:
    db = tmp_path / "twelve.db"
    write_twelve_weeks(db)
    validator = jsonschema.Draft202012Validator(schema())
    validator.check_schema(schema())
    for path in (db, nasty_db):
        document = to_json_document(_export(path))
        validator.validate(document)
    twelve = to_json_document(_export(db))
    assert len(twelve["sessions"]) == 37 and len(twelve["daily"]) == 9
    assert twelve["sessions"][0]["pain"][0] == {"t": 5.0, "phase": "before", "value": 7,
                                                "transcript": "7", "confidence": 0.9}
    assert [m["status"] for m in twelve["markers"]] == ["met", "not yet", "met"]
    # The schema is strict enough to catch a wrong document.
    broken = copy.deepcopy(twelve)
    broken["sessions"][0]["pain"][0]["value"] = 11
    assert not validator.is_valid(broken)
    broken = copy.deepcopy(twelve)
    broken["daily"][0]["surprise"] = 1
    assert not validator.is_valid(broken)


def test_json_from_the_cli_keeps_unicode(nasty_db: Path) -> None:
    result = CliRunner().invoke(main, ["export", "--db", str(nasty_db), "-f", "json"])
    assert result.exit_code == 0, result.output
    assert "日本語 😀" in result.output
    document = json.loads(result.output)
    assert document["daily"][0]["note"] == NASTY_NOTE.strip()
    jsonschema.validate(document, schema())


def test_fhir_bundle_validates_as_r4(nasty_db: Path) -> None:
    data = _export(nasty_db)
    bundle_json = to_fhir_bundle(data, patient="Patient/123",
                                 exported_at=dt.datetime(2024, 2, 1, 9, 0, tzinfo=UTC))
    bundle = Bundle.model_validate(bundle_json)
    assert bundle.type == "collection"
    observations = [Observation.model_validate(e["resource"]) for e in bundle_json["entry"]]
    assert len(observations) == len(bundle.entry)

    pain = [o for o in observations if o.code.coding and o.code.coding[0].code == "72514-3"]
    assert [o.valueInteger for o in pain] == [6, 4]
    assert all(o.coding[0].system == "http://loinc.org" for o in (p.code for p in pain))
    # Rated 5 s and 180 s into a session that started at 08:00 UTC.
    assert pain[0].effectiveDateTime == dt.datetime(2024, 1, 1, 8, 0, 5, tzinfo=UTC)
    assert pain[1].effectiveDateTime == dt.datetime(2024, 1, 1, 8, 3, 0, tzinfo=UTC)
    assert "before the session" in pain[0].note[0].text

    durations = [o for o in observations if o.code.coding and o.code.coding[0].code == "55411-3"]
    assert len(durations) == 2
    assert float(durations[0].valueQuantity.value) == pytest.approx(3.02)  # last event: 181 s
    assert durations[0].valueQuantity.code == "min"
    assert float(durations[0].component[0].valueQuantity.value) == pytest.approx(2.0)  # held

    assert {o.subject.reference for o in observations} == {"Patient/123"}
    daily = [o for o in observations if not o.code.coding]
    assert {o.code.text for o in daily} >= {"Pain at night", "Daily note"}
    assert any(o.valueString == NASTY_NOTE.strip() for o in daily)
    # Ids come from the records: the same export twice gives the same ids.
    again = to_fhir_bundle(data, patient="Patient/123")
    assert [e["fullUrl"] for e in again["entry"]] == [e["fullUrl"] for e in bundle_json["entry"]]
    assert len({e["fullUrl"] for e in bundle_json["entry"]}) == len(bundle_json["entry"])


def test_fhir_from_the_cli(nasty_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle.json"
    result = CliRunner().invoke(main, ["export", "--db", str(nasty_db), "--format", "fhir",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    bundle = Bundle.model_validate_json(out.read_text(encoding="utf-8"))
    assert bundle.entry[0].resource.subject.reference == "Patient/voicecoach-user"


@pytest.mark.parametrize("reference", [
    "Patient/12345", "Patient/a-b.c", "https://fhir.example.org/r4/Patient/77",
    "urn:uuid:123e4567-e89b-12d3-a456-426614174000"])
def test_fhir_patient_references_that_validate(nasty_db: Path, reference: str) -> None:
    result = CliRunner().invoke(main, ["export", "--db", str(nasty_db), "--format", "fhir",
                                       "--patient", reference])
    assert result.exit_code == 0, result.output
    bundle = Bundle.model_validate_json(result.stdout)
    assert {e.resource.subject.reference for e in bundle.entry} == {reference}


@pytest.mark.parametrize("reference", [
    "12345", "Patient/", "Patient/12 345", "Practitioner/1", "Patient/" + "x" * 65,
    "urn:uuid:not-a-uuid", "Patient/1\nPatient/2"])
def test_a_bad_patient_reference_is_one_line(nasty_db: Path, reference: str) -> None:
    result = CliRunner().invoke(main, ["export", "--db", str(nasty_db), "--format", "fhir",
                                       "--patient", reference])
    assert result.exit_code == 2
    assert "is not a FHIR Patient reference" in result.output
    assert "Traceback" not in result.output


def test_patient_without_fhir_is_refused(nasty_db: Path) -> None:
    result = CliRunner().invoke(main, ["export", "--db", str(nasty_db), "--patient",
                                       "Patient/1"])
    assert result.exit_code == 2
    assert "--patient is for --format fhir" in result.output


def test_export_of_an_empty_history(tmp_path: Path) -> None:
    db = tmp_path / "none.db"
    runner = CliRunner()
    for fmt in ("csv", "json", "fhir"):
        result = runner.invoke(main, ["export", "--db", str(db), "--format", fmt])
        assert result.exit_code == 0, result.output
        if fmt == "csv":
            assert result.output.strip() == ",".join(CSV_COLUMNS)
        elif fmt == "json":
            jsonschema.validate(json.loads(result.output), schema())
        else:
            assert Bundle.model_validate_json(result.output).entry is None
    assert not db.exists()


def test_export_refuses_an_unwritable_path_in_one_line(nasty_db: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["export", "--db", str(nasty_db), "--out",
                                       str(tmp_path / "no" / "such" / "dir.csv")])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [["export", "--format", "json"], ["report"]])
def test_an_existing_file_is_replaced_only_with_force(tmp_path: Path, command: list[str]) -> None:
    db = tmp_path / "v.db"
    write_twelve_weeks(db)
    out = tmp_path / ("out.json" if command[0] == "export" else "out.html")
    out.write_text("keep me")
    runner = CliRunner()
    refused = runner.invoke(main, [*command, "--db", str(db), "--out", str(out)])
    assert refused.exit_code == 2 and "add --force" in refused.output, refused.output
    assert len(refused.output.strip().splitlines()) == 1
    assert out.read_text() == "keep me"
    replaced = runner.invoke(main, [*command, "--db", str(db), "--out", str(out), "--force"])
    assert replaced.exit_code == 0, replaced.output
    assert out.read_text() != "keep me"


def test_a_rating_given_with_the_pain_option_reads_as_words_in_the_csv(tmp_path: Path,
                                                                      seasoned_db: Path) -> None:
    """Not "'--pain": a transcript starting with a dash was kept as text with a quote."""
    result = CliRunner().invoke(main, ["start", "--text", "--fast", "--pain", "3",
                                       "--no-checklist", "--db", str(seasoned_db)],
                                input="2\n" * 30)
    assert result.exit_code in (0, 1), result.output
    rows = list(csv.DictReader(io.StringIO(
        CliRunner().invoke(main, ["export", "--db", str(seasoned_db)]).output)))
    transcripts = {row.get("transcript") for row in rows if row.get("record") == "pain"}
    assert "given with --pain" in transcripts, transcripts
