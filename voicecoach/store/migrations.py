"""Schema migrations: a numbered list of small functions, applied on every open.

Each migration runs in its own transaction and is recorded in `_migrations`
(number, name, applied_at) in that same transaction, so a crash leaves the
database at a whole schema version. Never edit a migration that has shipped:
add a new one at the end, numbered one higher.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

logger = logging.getLogger(__name__)

MigrationFn = Callable[[sqlite3.Connection], None]


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    apply: MigrationFn


MIGRATIONS: list[Migration] = []


def migration(fn: MigrationFn) -> MigrationFn:
    """Register `fn`, named `m<NNN>_<what it does>`, as the next migration."""
    match = re.fullmatch(r"m(\d{3})_\w+", fn.__name__)
    if match is None:
        raise ValueError(f"migration {fn.__name__!r} must be named m<NNN>_<what>")
    number = int(match.group(1))
    expected = len(MIGRATIONS) + 1
    if number != expected:
        raise ValueError(f"migration {fn.__name__!r} is numbered {number}, expected {expected}")
    MIGRATIONS.append(Migration(number, fn.__name__, fn))
    return fn


@migration
def m001_sessions_and_events(db: sqlite3.Connection) -> None:
    db.execute("""
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            program TEXT NOT NULL,
            status TEXT NOT NULL
                CHECK (status IN ('running', 'completed', 'ended_early', 'interrupted')),
            end_reason TEXT,
            pid INTEGER,
            options TEXT NOT NULL DEFAULT '{}'
        )""")
    db.execute("""
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            t REAL NOT NULL,
            type TEXT NOT NULL,
            data TEXT NOT NULL DEFAULT '{}'
        )""")
    db.execute("CREATE INDEX events_by_session ON events(session_id)")


@migration
def m002_pain_table(db: sqlite3.Connection) -> None:
    # Pain ratings get their own table so reports and plans query them directly.
    db.execute("""
        CREATE TABLE pain (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            t REAL NOT NULL,
            phase TEXT NOT NULL,
            value INTEGER NOT NULL CHECK (value BETWEEN 0 AND 10),
            transcript TEXT,
            confidence REAL
        )""")
    db.execute("CREATE INDEX pain_by_session ON pain(session_id, phase)")
    # Ratings logged before this table existed are copied over from their events.
    db.execute("""
        INSERT INTO pain (session_id, t, phase, value, transcript, confidence)
        SELECT session_id, t, json_extract(data, '$.phase'), json_extract(data, '$.value'),
               json_extract(data, '$.transcript'), json_extract(data, '$.confidence')
        FROM events
        WHERE type = 'pain'
          AND json_type(data, '$.value') = 'integer'
          AND json_extract(data, '$.value') BETWEEN 0 AND 10
          AND json_type(data, '$.phase') = 'text'
        ORDER BY id""")


@migration
def m003_event_sequence(db: sqlite3.Connection) -> None:
    # A per-session sequence number identifies an event across the database and a
    # recovery journal, so merging a journal twice never duplicates an event.
    db.execute("ALTER TABLE events ADD COLUMN seq INTEGER")
    db.execute("""
        UPDATE events SET seq = (
            SELECT COUNT(*) FROM events AS earlier
            WHERE earlier.session_id = events.session_id AND earlier.id <= events.id
        )""")
    db.execute("CREATE UNIQUE INDEX events_session_seq ON events(session_id, seq)")


@migration
def m004_session_process_identity(db: sqlite3.Connection) -> None:
    # The pid alone cannot tell a dead session from a reused pid or another machine.
    db.execute("ALTER TABLE sessions ADD COLUMN host TEXT")
    db.execute("ALTER TABLE sessions ADD COLUMN process_start TEXT")



@migration
def m005_screening_and_clearances(db: sqlite3.Connection) -> None:
    # The safety screening: each sitting, its yes/no answers (with the question as it
    # was asked), and medical clearances, each tied to the screening whose answers it clears.
    db.execute("""
        CREATE TABLE screenings (
            id INTEGER PRIMARY KEY,
            taken_at TEXT NOT NULL,
            taken_on TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE screening_answers (
            screening_id INTEGER NOT NULL REFERENCES screenings(id) ON DELETE CASCADE,
            question_id TEXT NOT NULL,
            question TEXT NOT NULL,
            answer INTEGER NOT NULL CHECK (answer IN (0, 1)),
            PRIMARY KEY (screening_id, question_id)
        )""")
    db.execute("""
        CREATE TABLE clearances (
            id INTEGER PRIMARY KEY,
            screening_id INTEGER NOT NULL REFERENCES screenings(id) ON DELETE CASCADE,
            recorded_at TEXT NOT NULL,
            cleared_on TEXT NOT NULL,
            cleared_by TEXT NOT NULL,
            note TEXT
        )""")
    db.execute("CREATE INDEX clearances_by_screening ON clearances(screening_id)")


@migration
def m006_daily_tracking(db: sqlite3.Connection) -> None:
    # One row per local calendar day of the measures tracked beside the sessions
    # (voicecoach/progress/tracking.py); NULL = not recorded that day.
    db.execute("""
        CREATE TABLE daily (
            date TEXT PRIMARY KEY
                CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
            toe_touch_cm REAL CHECK (toe_touch_cm >= 0),
            stiffness_min INTEGER CHECK (stiffness_min >= 0),
            medication_doses INTEGER CHECK (medication_doses >= 0),
            night_pain INTEGER CHECK (night_pain IN (0, 1)),
            note TEXT,
            updated_at TEXT NOT NULL
        )""")



@migration
def m007_simulated_sessions(db: sqlite3.Connection) -> None:
    # Sessions driven from audio files (--audio-in) are simulations for tools and tests:
    # nobody was on a table, so the plan, the daily limits and the reports leave them out.
    db.execute("ALTER TABLE sessions ADD COLUMN simulated INTEGER NOT NULL DEFAULT 0"
               " CHECK (simulated IN (0, 1))")
    db.execute("UPDATE sessions SET simulated = 1"
               " WHERE json_extract(options, '$.mode') = 'audio-file'")

LATEST = MIGRATIONS[-1].number


def ensure_migrations_table(db: sqlite3.Connection) -> None:
    db.execute("""
        CREATE TABLE IF NOT EXISTS _migrations (
            number INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )""")


def applied_numbers(db: sqlite3.Connection) -> set[int]:
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'").fetchone()
    if exists is None:
        return set()
    return {row[0] for row in db.execute("SELECT number FROM _migrations")}


def pending(db: sqlite3.Connection, upto: int | None = None) -> list[Migration]:
    done = applied_numbers(db)
    return [m for m in MIGRATIONS
            if m.number not in done and (upto is None or m.number <= upto)]


def migrate(db: sqlite3.Connection, upto: int | None = None) -> list[str]:
    """Apply the pending migrations (up to number `upto`); return the names applied.

    `db` must be in autocommit mode (isolation_level=None): each migration gets an
    explicit BEGIN IMMEDIATE, so two processes opening the store at once apply
    each migration exactly once.
    """
    applied: list[str] = []
    # Only pending migrations take the write lock: an up-to-date database opens
    # without waiting for a session that is writing.
    for m in pending(db, upto):
        db.execute("BEGIN IMMEDIATE")
        try:
            ensure_migrations_table(db)
            # Checked again inside the write lock: another process may have just applied it.
            if m.number in applied_numbers(db):
                db.execute("ROLLBACK")
                continue
            m.apply(db)
            db.execute("INSERT INTO _migrations (number, name, applied_at) VALUES (?, ?, ?)",
                       (m.number, m.name, datetime.now(timezone.utc).isoformat()))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        logger.info("applied migration %s", m.name)
        applied.append(m.name)
    return applied
