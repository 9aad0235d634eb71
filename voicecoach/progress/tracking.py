"""Daily tracking: the measures worth noting every day beside the sessions' pain ratings.

One row per local calendar day, in the store's `daily` table (migration m006):

- toe touch: how far the fingertips stay from the toes in a standing forward
  bend with straight knees, in centimetres (0 = touching). Smaller is better.
- morning stiffness: minutes the back stays stiff after getting up.
- pain medication: doses taken that day.
- night pain: whether pain woke the user, or kept them awake, the night before.
- a free-text note.

Pain before and after each session is already in the sessions themselves.
`record_daily` is what `voicecoach track` and the end of a voice session call.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from voicecoach.store import Store
from voicecoach.store.connection import side_connection

logger = logging.getLogger(__name__)


MAX_TOE_TOUCH_CM = 150.0
"""Longer than any standing fingertip-to-toe gap: a larger value is a typing slip."""

MAX_STIFFNESS_MIN = 24 * 60
MAX_DOSES = 50
MAX_NOTE_CHARS = 4000

CM_PER_INCH = 2.54

FIELDS = ("toe_touch_cm", "stiffness_min", "medication_doses", "night_pain", "note")
"""The tracked fields, in the order they are asked and shown."""

_UNITS_CM = {"cm": 1.0, "mm": 0.1, "in": CM_PER_INCH, "inch": CM_PER_INCH,
             "inches": CM_PER_INCH, '"': CM_PER_INCH, "''": CM_PER_INCH}
_LENGTH = re.compile(r"\s*(\d+(?:[.,]\d+)?)\s*(cm|mm|inches|inch|in|\"|'')\s*", re.IGNORECASE)


class TrackingError(ValueError):
    """A tracked value that cannot be recorded, told in one line."""


@dataclass(frozen=True)
class DailyEntry:
    """What was recorded for one day; None = not recorded."""

    date: dt.date
    toe_touch_cm: float | None = None
    """Gap between fingertips and toes in a standing forward bend (cm); 0 = touching."""
    stiffness_min: int | None = None
    """Morning stiffness (minutes)."""
    medication_doses: int | None = None
    """Pain medication doses taken that day."""
    night_pain: bool | None = None
    """Pain at night (woke the user or kept them awake)."""
    note: str | None = None
    updated_at: str | None = None
    """When the row was last written (UTC, ISO 8601)."""

    def as_dict(self) -> dict[str, Any]:
        result = asdict(self)
        result["date"] = self.date.isoformat()
        return result


def parse_length_cm(text: str) -> float:
    """A distance typed with its unit ("12in", "12 inches", "30cm", "300 mm", '5"') in cm.

    A bare number is refused: the unit is not guessable, and a clinician reads
    the figure later.
    """
    match = _LENGTH.fullmatch(text)
    if match is None:
        raise TrackingError(
            f"{text!r} is not a distance: give a number and a unit, like 12in or 30cm")
    value = float(match.group(1).replace(",", "."))
    return round(value * _UNITS_CM[match.group(2).lower()], 2)


def format_length(cm: float | None) -> str:
    if cm is None:
        return "-"
    return f"{cm:g} cm ({cm / CM_PER_INCH:.1f} in)"


def _checked(name: str, value: Any) -> Any:
    """`value` for column `name` as stored, or TrackingError naming what is wrong."""
    if name == "toe_touch_cm":
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            raise TrackingError(f"toe-touch distance must be a number of cm, not {value!r}")
        if not 0 <= value <= MAX_TOE_TOUCH_CM:
            raise TrackingError(f"toe-touch distance {value:g} cm is outside 0-"
                                f"{MAX_TOE_TOUCH_CM:g} cm (0 = fingertips touch the toes)")
        return round(float(value), 2)
    if name in ("stiffness_min", "medication_doses"):
        limit, what = ((MAX_STIFFNESS_MIN, "morning stiffness (minutes)")
                       if name == "stiffness_min" else (MAX_DOSES, "medication doses"))
        if isinstance(value, bool) or not isinstance(value, int):
            raise TrackingError(f"{what} must be a whole number, not {value!r}")
        if not 0 <= value <= limit:
            raise TrackingError(f"{what} must be between 0 and {limit}, not {value}")
        return value
    if name == "night_pain":
        if not isinstance(value, bool):
            raise TrackingError(f"night pain must be yes or no, not {value!r}")
        return int(value)
    if name == "note":
        if not isinstance(value, str):
            raise TrackingError(f"the note must be text, not {value!r}")
        text = value.strip()
        if len(text) > MAX_NOTE_CHARS:
            raise TrackingError(f"the note is {len(text)} characters long; keep it under"
                                f" {MAX_NOTE_CHARS}")
        return text or None
    raise TrackingError(f"unknown tracking field {name!r}")


def record_daily(store_or_db_path: Store | Path | str, date: dt.date, *,
                 toe_touch_cm: float | None = None, stiffness_min: int | None = None,
                 medication_doses: int | None = None, night_pain: bool | None = None,
                 note: str | None = None) -> DailyEntry:
    """Record the given measures for `date` and return the day's whole entry.

    Only the fields given (not None) are written; the day's other fields keep
    what was recorded earlier, so answers can come in at different times (some
    typed in the morning, the rest spoken at the end of a session). An empty
    note clears the note. Raises TrackingError for a bad value and StoreError
    for a database problem.
    """
    given = {name: value for name, value in (
        ("toe_touch_cm", toe_touch_cm), ("stiffness_min", stiffness_min),
        ("medication_doses", medication_doses), ("night_pain", night_pain), ("note", note),
    ) if value is not None}
    if not given:
        raise TrackingError("nothing to record: give at least one measure")
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise TrackingError(f"the day must be a date, not {date!r}")
    values = {name: _checked(name, value) for name, value in given.items()}
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    columns = list(values)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns)
    with side_connection(store_or_db_path) as db:
        db.execute(
            f"INSERT INTO daily (date, {', '.join(columns)}, updated_at)"
            f" VALUES (?, {', '.join('?' * len(columns))}, ?)"
            f" ON CONFLICT(date) DO UPDATE SET {updates}, updated_at = excluded.updated_at",
            (date.isoformat(), *values.values(), now))
        entry = _select(db, "WHERE date = ?", (date.isoformat(),))[0]
    logger.info("recorded daily tracking for %s: %s", date, ", ".join(columns))
    return entry


def daily_entries(store_or_db_path: Store | Path | str, *, since: dt.date | None = None,
                  until: dt.date | None = None) -> list[DailyEntry]:
    """Recorded days from `since` to `until` (both included), oldest first."""
    clauses, args = [], []
    if since is not None:
        clauses.append("date >= ?")
        args.append(since.isoformat())
    if until is not None:
        clauses.append("date <= ?")
        args.append(until.isoformat())
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    with side_connection(store_or_db_path) as db:
        return _select(db, where, tuple(args))


def _select(db: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> list[DailyEntry]:
    rows = db.execute(
        "SELECT date, toe_touch_cm, stiffness_min, medication_doses, night_pain, note,"
        f" updated_at FROM daily {where} ORDER BY date", args).fetchall()
    return [DailyEntry(date=dt.date.fromisoformat(day), toe_touch_cm=toe,
                       stiffness_min=stiff, medication_doses=doses,
                       night_pain=None if night is None else bool(night), note=note,
                       updated_at=updated)
            for day, toe, stiff, doses, night, note, updated in rows]
