"""The safety screening: any "yes" blocks sessions until a clearance; re-asked after 90 days."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from voicecoach.cli import main
from voicecoach.protocol.screening import (
    QUESTIONS,
    QUESTIONS_BY_ID,
    ClearanceRecord,
    ScreeningRecord,
    evaluate,
    parse_answers,
    record_clearance,
    record_screening,
    screening_status,
)
from voicecoach.store import Store

DAY = date(2025, 3, 1)
ALL_NO = {q.id: False for q in QUESTIONS}


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_the_questions_cover_every_contraindication_in_the_sources():
    ids = {q.id for q in QUESTIONS}
    assert {"high_blood_pressure", "glaucoma", "eye_disease", "retinal_detachment",
            "eye_surgery", "heart_disease", "circulation", "stroke", "intracranial_pressure",
            "ear_problems", "hernia", "pregnancy", "blood_thinners", "osteoporosis",
            "ankle_leg_injury", "vertigo", "blood_clots", "hypothermia",
            "table_capacity", "table_certification", "release_not_practised"} == ids
    for q in QUESTIONS:
        assert q.text.endswith("?") and q.label and q.why.endswith(".")


@pytest.mark.parametrize("question", ["table_capacity", "table_certification",
                                      "release_not_practised"])
def test_the_table_and_the_release_practice_block_and_no_clearance_lifts_them(
        tmp_path: Path, question: str):
    # Seed 003: a table rated 20% over your weight, UL/CE/ASTM certified, and the manual
    # ankle release practised before the first session.
    db = tmp_path / "s.db"
    record_screening(db, {**ALL_NO, question: True}, DAY)
    status = screening_status(db, DAY)
    assert not status.allowed
    assert QUESTIONS_BY_ID[question].remedy in status.reason
    record_clearance(db, "Dr. Rivera", DAY, "", DAY)
    assert not screening_status(db, DAY).allowed


def test_no_screening_blocks_and_asks_for_one(tmp_path: Path):
    status = screening_status(tmp_path / "s.db", DAY)
    assert not status.allowed and status.needs_screening
    assert "voicecoach screen" in status.reason


def test_all_no_allows_sessions_until_the_90_days_are_up(tmp_path: Path):
    db = tmp_path / "s.db"
    record_screening(db, ALL_NO, DAY)
    status = screening_status(db, DAY + timedelta(days=89))
    assert status.allowed and not status.needs_screening
    assert status.due_on == DAY + timedelta(days=90)
    expired = screening_status(db, DAY + timedelta(days=90))
    assert not expired.allowed and expired.needs_screening
    assert "more than 90 days old" in expired.reason
    record_screening(db, ALL_NO, DAY + timedelta(days=90))
    assert screening_status(db, DAY + timedelta(days=90)).allowed


def test_a_yes_blocks_until_a_clearance_is_recorded(tmp_path: Path):
    db = tmp_path / "s.db"
    blocked = record_screening(db, {**ALL_NO, "glaucoma": True, "vertigo": True}, DAY)
    assert not blocked.allowed and not blocked.needs_screening
    assert blocked.flagged == ("glaucoma", "vertigo")
    assert "glaucoma and vertigo" in blocked.reason
    assert "voicecoach clearance --by" in blocked.reason
    assert screening_status(db, DAY + timedelta(days=3)) == blocked

    cleared = record_clearance(db, "Dr. Okafor", DAY + timedelta(days=2), "up to 30 degrees",
                               DAY + timedelta(days=3))
    assert cleared.allowed and cleared.cleared_by == "Dr. Okafor"
    assert "Dr. Okafor" in cleared.reason
    assert screening_status(db, DAY + timedelta(days=3)).allowed


def test_a_clearance_does_not_carry_over_to_the_next_screening(tmp_path: Path):
    db = tmp_path / "s.db"
    record_screening(db, {**ALL_NO, "hernia": True}, DAY)
    record_clearance(db, "Dr. Okafor", DAY, "", DAY)
    later = DAY + timedelta(days=91)
    assert screening_status(db, later).needs_screening
    record_screening(db, {**ALL_NO, "hernia": True}, later)
    again = screening_status(db, later)
    assert not again.allowed and "hernia" in again.reason
    # The old visit is too old to clear the new answers; a fresh one does.
    with pytest.raises(ValueError, match="more than 90 days older"):
        record_clearance(db, "Dr. Okafor", DAY - timedelta(days=1), "", later)
    assert record_clearance(db, "Dr. Okafor", later, "", later).allowed


def test_clearance_needs_a_current_screening_with_something_to_clear(tmp_path: Path):
    db = tmp_path / "s.db"
    with pytest.raises(ValueError, match="answer the safety screening first"):
        record_clearance(db, "Dr. A", DAY, "", DAY)
    record_screening(db, ALL_NO, DAY)
    with pytest.raises(ValueError, match="found nothing that needs clearing"):
        record_clearance(db, "Dr. A", DAY, "", DAY)
    record_screening(db, {**ALL_NO, "pregnancy": True}, DAY)
    with pytest.raises(ValueError, match="in the future"):
        record_clearance(db, "Dr. A", DAY + timedelta(days=1), "", DAY)
    with pytest.raises(ValueError, match="say who cleared you"):
        record_clearance(db, "  ", DAY, "", DAY)


def test_a_question_added_since_the_last_screening_asks_again():
    old = ScreeningRecord(1, DAY, {q.id: False for q in QUESTIONS[:-1]})
    status = evaluate(old, None, DAY + timedelta(days=1))
    assert not status.allowed and status.needs_screening
    assert "new questions" in status.reason


def test_a_clearance_for_another_screening_does_not_count():
    screening = ScreeningRecord(2, DAY, {**ALL_NO, "stroke": True})
    stale = ClearanceRecord(1, DAY, "Dr. B")
    assert not evaluate(screening, stale, DAY).allowed
    assert evaluate(screening, ClearanceRecord(2, DAY, "Dr. B"), DAY).allowed


def test_answers_are_stored_with_the_date_and_the_question_asked(tmp_path: Path):
    db = tmp_path / "s.db"
    record_screening(db, {**ALL_NO, "vertigo": True}, DAY)
    with sqlite3.connect(db) as conn:
        (taken_on,) = conn.execute("SELECT taken_on FROM screenings").fetchone()
        rows = dict(conn.execute("SELECT question_id, answer FROM screening_answers"))
        question = conn.execute("SELECT question FROM screening_answers"
                                " WHERE question_id = 'vertigo'").fetchone()[0]
    assert taken_on == DAY.isoformat()
    assert len(rows) == len(QUESTIONS) and rows["vertigo"] == 1 and rows["glaucoma"] == 0
    assert "vertigo" in question


def test_screening_status_takes_an_open_store(tmp_path: Path):
    db = tmp_path / "s.db"
    with Store.open(db) as store:
        assert not screening_status(store, DAY).allowed
        record_screening(store, ALL_NO, DAY)
        assert screening_status(store, DAY).allowed


def test_parse_answers():
    assert parse_answers("none") == ALL_NO
    assert parse_answers(" glaucoma , pregnancy ") == {**ALL_NO, "glaucoma": True,
                                                      "pregnancy": True}
    with pytest.raises(ValueError, match="unknown question id headache"):
        parse_answers("glaucoma,headache")
    with pytest.raises(ValueError):
        parse_answers(",")


# ---- the commands ------------------------------------------------------------------------


def test_screen_asks_every_question_and_a_yes_blocks_start(tmp_path: Path):
    db = tmp_path / "s.db"
    typed = "".join("y\n" if q.id == "high_blood_pressure" else "n\n" for q in QUESTIONS)
    result = invoke("screen", "--db", str(db), input=typed)
    assert result.exit_code == 0, result.output
    for number, q in enumerate(QUESTIONS, start=1):
        assert f"{number}/{len(QUESTIONS)}. {q.text}" in result.output
    assert "high blood pressure" in result.output and "clearance --by" in result.output

    start = invoke("start", "--text", "--fast", "--db", str(db))
    assert start.exit_code == 2
    assert "You answered yes to high blood pressure" in start.output
    assert "Traceback" not in start.output

    cleared = invoke("clearance", "--db", str(db), "--by", "Dr. Lind", "--note", "max 30 deg")
    assert cleared.exit_code == 0, cleared.output
    assert cleared.output.startswith("Recorded. Dr. Lind cleared you")
    status = json.loads(invoke("screen", "--db", str(db), "--status", "--json").output)
    assert status["allowed"] is True and status["flagged"] == ["high_blood_pressure"]


def test_screen_without_an_answer_is_asked_again_and_stores_nothing_if_abandoned(tmp_path: Path):
    db = tmp_path / "s.db"
    # An empty line is not an answer: the question is repeated. Then the input ends.
    result = invoke("screen", "--db", str(db), input="\nn\n")
    assert result.exit_code == 1
    assert result.output.count(f"1/{len(QUESTIONS)}.") == 2
    status = json.loads(invoke("screen", "--db", str(db), "--status", "--json").output)
    assert status["needs_screening"] is True and status["allowed"] is False


def test_screen_answers_for_scripts(tmp_path: Path):
    db = tmp_path / "s.db"
    result = invoke("screen", "--db", str(db), "--answers", "none")
    assert result.exit_code == 0
    assert "found no reason to avoid inversion" in result.output
    assert invoke("screen", "--db", str(db), "--status").output.startswith("Your screening of")

    bad = invoke("screen", "--db", str(db), "--answers", "glaucoma,headache")
    assert bad.exit_code == 2
    assert bad.output.strip().splitlines() == [
        bad.output.strip()] and "unknown question id headache" in bad.output


def test_screen_questions_lists_ids():
    result = invoke("screen", "--questions")
    assert result.exit_code == 0
    assert len(result.output.strip().splitlines()) == len(QUESTIONS)
    assert "glaucoma: Do you have glaucoma?" in result.output


def test_clearance_errors_are_one_line_and_exit_2(tmp_path: Path):
    db = tmp_path / "s.db"
    result = invoke("clearance", "--db", str(db), "--by", "Dr. Lind")
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "answer the safety screening first" in result.output
    invoke("screen", "--db", str(db), "--answers", "vertigo")
    future = invoke("clearance", "--db", str(db), "--by", "Dr. Lind", "--date", "2999-01-01")
    assert future.exit_code == 2 and "in the future" in future.output
