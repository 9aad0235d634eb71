"""Exports for the user's records or their clinician: CSV and JSON (FHIR is in fhir.py).

CSV: one table, one row per record, with a `record` column saying which kind:
  session  one per session (times, program, how it ended, duration, pain before/after)
  pain     one per pain rating (phase, value, what the recogniser heard and how sure)
  daily    one per tracked day (toe touch, stiffness, medication, night pain, note)
Columns that do not apply to a kind are empty. Written with the csv module,
so commas, quotes, newlines and any Unicode in notes and transcripts read
back exactly with any CSV reader.

JSON: the document described by export.schema.json (JSON Schema 2020-12) beside
this file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from voicecoach.progress.history import History, SessionPoint, load_history
from voicecoach.progress.markers import evaluate_markers
from voicecoach.progress.tracking import DailyEntry
from voicecoach.store import Store

JSON_FORMAT = "voicecoach-export"
JSON_VERSION = 1

CSV_COLUMNS = (
    "record", "date", "session_id",
    # session
    "started_at", "ended_at", "program", "status", "end_reason", "duration_s", "held_s",
    "pain_before", "pain_after",
    # pain
    "t", "phase", "value", "transcript", "confidence",
    # daily
    "toe_touch_cm", "stiffness_min", "medication_doses", "night_pain", "note",
)


@dataclass(frozen=True)
class ExportData:
    """Everything an export holds: the history plus every pain rating."""

    history: History
    pain: list[dict[str, Any]]
    """Rows of the store's pain table: session_id, t, phase, value, transcript, confidence."""


def load_export(store: Store, tz: dt.tzinfo | None = None) -> ExportData:
    history = load_history(store, tz)
    kept = {s.id for s in history.sessions}
    return ExportData(history=history,
                      pain=[p for p in store.pain_ratings() if p["session_id"] in kept])


def schema() -> dict[str, Any]:
    """The JSON Schema of `to_json`'s document."""
    text = resources.files("voicecoach.progress").joinpath("export.schema.json").read_text(
        encoding="utf-8")
    result: dict[str, Any] = json.loads(text)
    return result


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet runs a cell that starts with one of these as a formula."""


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        # Free text (a note, a transcript) opened in a spreadsheet must stay text: a
        # note typed as "=HYPERLINK(...)" would otherwise run. The quote shows as-is.
        return "'" + value
    return str(value)


def _session_row(s: SessionPoint) -> dict[str, Any]:
    return {"record": "session", "date": s.day.isoformat(), "session_id": s.id,
            "started_at": s.started_at, "ended_at": s.ended_at, "program": s.program,
            "status": s.status, "end_reason": s.end_reason, "duration_s": s.duration_s,
            "held_s": s.held_s, "pain_before": s.pain_before, "pain_after": s.pain_after}


def _pain_row(p: dict[str, Any], day: dt.date | None) -> dict[str, Any]:
    return {"record": "pain", "date": day.isoformat() if day else None,
            "session_id": p["session_id"], "t": p["t"], "phase": p["phase"],
            "value": p["value"], "transcript": p["transcript"], "confidence": p["confidence"]}


def _daily_row(d: DailyEntry) -> dict[str, Any]:
    return {"record": "daily", "date": d.date.isoformat(), "toe_touch_cm": d.toe_touch_cm,
            "stiffness_min": d.stiffness_min, "medication_doses": d.medication_doses,
            "night_pain": d.night_pain, "note": d.note}


def to_csv(data: ExportData) -> str:
    """Sessions (each followed by its pain ratings), then the tracked days."""
    pain_by_session: dict[int, list[dict[str, Any]]] = {}
    for row in data.pain:
        pain_by_session.setdefault(int(row["session_id"]), []).append(row)
    out = io.StringIO()
    # QUOTE_MINIMAL quotes exactly the cells holding a comma, quote or line break.
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for session in data.history.sessions:
        rows = [_session_row(session)] + [_pain_row(p, session.day)
                                          for p in pain_by_session.get(session.id, [])]
        for row in rows:
            writer.writerow({k: _csv_value(v) for k, v in row.items()})
    for entry in data.history.daily:
        writer.writerow({k: _csv_value(v) for k, v in _daily_row(entry).items()})
    return out.getvalue()


def to_json_document(data: ExportData, *, exported_at: dt.datetime | None = None,
                     ) -> dict[str, Any]:
    """The export as a JSON-ready dict (see export.schema.json)."""
    when = exported_at or dt.datetime.now(dt.timezone.utc)
    pain_by_session: dict[int, list[dict[str, Any]]] = {}
    for row in data.pain:
        pain_by_session.setdefault(int(row["session_id"]), []).append(
            {k: row[k] for k in ("t", "phase", "value", "transcript", "confidence")})
    sessions = []
    for s in data.history.sessions:
        session = _session_row(s)
        del session["record"], session["session_id"]
        sessions.append({"id": s.id, **session, "pain": pain_by_session.get(s.id, [])})
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "exported_at": when.isoformat(timespec="seconds"),
        "sessions": sessions,
        "daily": [entry.as_dict() for entry in data.history.daily],
        "markers": [m.as_dict() for m in evaluate_markers(data.history)],
    }


def to_json(data: ExportData, *, exported_at: dt.datetime | None = None) -> str:
    return json.dumps(to_json_document(data, exported_at=exported_at), indent=2,
                      ensure_ascii=False) + "\n"
