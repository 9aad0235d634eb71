"""`voicecoach track` and record_daily: the day's measures, typed, prompted or listed."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from voicecoach.cli import main
from voicecoach.progress.tracking import (
    TrackingError,
    daily_entries,
    parse_length_cm,
    record_daily,
)
from voicecoach.store import Store


def _track(db: Path, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["track", "--db", str(db), *args], input=input)


def _listed(db: Path) -> list[dict[str, object]]:
    result = _track(db, "--list", "--json")
    assert result.exit_code == 0, result.output
    listed: list[dict[str, object]] = json.loads(result.output)
    return listed


@pytest.mark.parametrize(("text", "cm"), [
    ("12in", 30.48), ("12 in", 30.48), ("4.5 inches", 11.43), ('5"', 12.7), ("1 inch", 2.54),
    ("30cm", 30.0), ("30 CM", 30.0), ("12,5cm", 12.5), ("300mm", 30.0), ("0cm", 0.0),
])
def test_distances_with_units(text: str, cm: float) -> None:
    assert parse_length_cm(text) == pytest.approx(cm)


@pytest.mark.parametrize("text", ["12", "twelve in", "-3cm", "12 ft", "", "cm"])
def test_distances_without_a_usable_unit_are_refused(text: str) -> None:
    with pytest.raises(TrackingError):
        parse_length_cm(text)


def test_track_records_and_lists(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    result = _track(db, "--date", "2024-05-01", "--toe-touch", "12in", "--stiffness", "20",
                    "--doses", "1", "--no-night-pain", "--note", 'left leg, "tingly"')
    assert result.exit_code == 0, result.output
    assert "30.48 cm (12.0 in)" in result.output and "no pain at night" in result.output
    [day] = _listed(db)
    assert day["date"] == "2024-05-01"
    assert (day["toe_touch_cm"], day["stiffness_min"], day["medication_doses"]) == \
        (30.48, 20, 1)
    assert day["night_pain"] is False and day["note"] == 'left leg, "tingly"'

    # Recording the same day again changes only what is given.
    result = _track(db, "--date", "2024-05-01", "--night-pain")
    assert result.exit_code == 0, result.output
    [day] = _listed(db)
    assert day["night_pain"] is True and day["toe_touch_cm"] == 30.48

    _track(db, "--date", "2024-04-30", "--toe-touch", "35cm")
    assert [d["date"] for d in _listed(db)] == ["2024-04-30", "2024-05-01"]
    table = _track(db, "--list")
    assert table.exit_code == 0 and "2024-04-30" in table.output and "35 cm" in table.output
    latest = _track(db, "--list", "--json", "-n", "1")
    assert [d["date"] for d in json.loads(latest.output)] == ["2024-05-01"]


def test_track_defaults_to_today_and_takes_yesterday(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    assert _track(db, "--doses", "3").exit_code == 0
    assert _track(db, "--date", "yesterday", "--doses", "0").exit_code == 0
    today = dt.date.today()
    assert [d["date"] for d in _listed(db)] == [
        (today - dt.timedelta(days=1)).isoformat(), today.isoformat()]


def test_track_asks_when_no_measure_is_given(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    # Toe touch first typed without a unit (asked again), stiffness skipped, 2 doses,
    # "maybe" refused for night pain then "y", then a note.
    answers = "10\n10cm\n\n2\nmaybe\ny\nslept on the sofa, again\n"
    result = _track(db, "--date", "2024-05-02", input=answers)
    assert result.exit_code == 0, result.output
    assert "not a distance" in result.output and "type y or n" in result.output
    [day] = _listed(db)
    assert (day["toe_touch_cm"], day["stiffness_min"], day["medication_doses"]) == \
        (10.0, None, 2)
    assert day["night_pain"] is True and day["note"] == "slept on the sofa, again"


def test_track_prompts_all_skipped_records_nothing(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    result = _track(db, input="\n\n\n\n\n")
    assert result.exit_code == 0 and "Nothing recorded" in result.output
    assert not db.exists()


@pytest.mark.parametrize("args", [
    ["--toe-touch", "12"],
    ["--toe-touch", "500cm"],
    ["--date", "2999-01-01", "--doses", "1"],
    ["--date", "last tuesday", "--doses", "1"],
    ["--stiffness", "-5"],
    ["--list", "--doses", "1"],
    ["--limit", "3", "--doses", "1"],
])
def test_track_bad_input_is_one_line_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = _track(tmp_path / "v.db", *args)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("Error:") and "Traceback" not in result.output


def test_track_list_without_a_database_creates_none(tmp_path: Path) -> None:
    db = tmp_path / "none.db"
    assert _listed(db) == []
    assert "No days tracked yet" in _track(db, "--list").output
    assert not db.exists()


def test_record_daily_merges_answers_given_at_different_times(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    day = dt.date(2024, 6, 1)
    with Store.open(db) as store:
        record_daily(store, day, stiffness_min=30, note="morning")
        # What the end of a voice session would add later that day.
        entry = record_daily(store, day, toe_touch_cm=22.5, night_pain=False)
        assert (entry.stiffness_min, entry.toe_touch_cm, entry.night_pain, entry.note) == \
            (30, 22.5, False, "morning")
        entry = record_daily(store, day, note="")  # an empty note clears it
        assert entry.note is None and entry.stiffness_min == 30
        with pytest.raises(TrackingError):
            record_daily(store, day)
        with pytest.raises(TrackingError):
            record_daily(store, day, medication_doses=True)  # type: ignore[arg-type]
        with pytest.raises(TrackingError):
            record_daily(store, day, toe_touch_cm=float("nan"))
    assert [e.date for e in daily_entries(db)] == [day]


def test_daily_table_refuses_bad_rows_even_past_the_library(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    Store.open(db).close()
    conn = sqlite3.connect(db)
    try:
        for row in [("2024-01-01", -1.0, None, None, None), ("2024-01-02", None, None, None, 2),
                    ("01/03/2024", None, 5, None, None)]:
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute("INSERT INTO daily (date, toe_touch_cm, stiffness_min,"
                             " medication_doses, night_pain, updated_at)"
                             " VALUES (?, ?, ?, ?, ?, 'x')", row)
    finally:
        conn.close()
