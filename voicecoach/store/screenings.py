"""Storage for the safety screening: screenings, their answers, and clearances.

The rules live in voicecoach/protocol/screening.py; this module only reads and
writes the tables made by migration m005. It uses its own short-lived
connection to the store's file, so a screening never interleaves with the
event writes of a running session.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import date, datetime, timezone

from voicecoach.protocol.screening import (
    QUESTIONS_BY_ID,
    ClearanceRecord,
    ScreeningRecord,
)


def save_screening(db: sqlite3.Connection, taken_on: date, answers: Mapping[str, bool]) -> int:
    """Store one sitting of the screening with all its answers, atomically; return its id."""
    db.execute("BEGIN IMMEDIATE")
    try:
        cursor = db.execute("INSERT INTO screenings (taken_at, taken_on) VALUES (?, ?)",
                            (datetime.now(timezone.utc).isoformat(timespec="seconds"),
                             taken_on.isoformat()))
        screening_id = cursor.lastrowid
        assert screening_id is not None
        db.executemany(
            "INSERT INTO screening_answers (screening_id, question_id, question, answer)"
            " VALUES (?, ?, ?, ?)",
            [(screening_id, qid, QUESTIONS_BY_ID[qid].text if qid in QUESTIONS_BY_ID else "",
              int(bool(yes))) for qid, yes in answers.items()])
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return int(screening_id)


def latest_screening(db: sqlite3.Connection) -> ScreeningRecord | None:
    row = db.execute("SELECT id, taken_on FROM screenings ORDER BY taken_on DESC, id DESC"
                     " LIMIT 1").fetchone()
    if row is None:
        return None
    answers = {qid: bool(answer) for qid, answer in db.execute(
        "SELECT question_id, answer FROM screening_answers WHERE screening_id = ?", (row[0],))}
    return ScreeningRecord(int(row[0]), date.fromisoformat(row[1]), answers)


def save_clearance(db: sqlite3.Connection, clearance: ClearanceRecord) -> int:
    cursor = db.execute(
        "INSERT INTO clearances (screening_id, recorded_at, cleared_on, cleared_by, note)"
        " VALUES (?, ?, ?, ?, ?)",
        (clearance.screening_id, datetime.now(timezone.utc).isoformat(timespec="seconds"),
         clearance.cleared_on.isoformat(), clearance.cleared_by, clearance.note or None))
    assert cursor.lastrowid is not None
    return int(cursor.lastrowid)


def latest_clearance(db: sqlite3.Connection, screening_id: int) -> ClearanceRecord | None:
    row = db.execute(
        "SELECT screening_id, cleared_on, cleared_by, note FROM clearances"
        " WHERE screening_id = ? ORDER BY id DESC LIMIT 1", (screening_id,)).fetchone()
    if row is None:
        return None
    return ClearanceRecord(int(row[0]), date.fromisoformat(row[1]), row[2], row[3] or "")


def latest_clearance_date(db: sqlite3.Connection) -> date | None:
    row = db.execute("SELECT MAX(cleared_on) FROM clearances").fetchone()
    return date.fromisoformat(row[0]) if row and row[0] else None
