"""Rows as the store writes them: event data as compact JSON, an event with its pain
rating (a pain event is also a row of the pain table), a session's status."""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import datetime, timezone
from typing import Any

logger = logging.getLogger(__name__)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, default=str, ensure_ascii=False, separators=(",", ":"))


def normalised(data: dict[str, Any]) -> Any:
    """`data` as it reads back from JSON, for comparing a journal's event with the db's."""
    return json.loads(dumps(data))


def status_for(reason: str) -> str:
    return "completed" if reason == "completed" else "ended_early"


def loads(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {"raw": text}
    return value if isinstance(value, dict) else {"value": value}


def insert_event(conn: sqlite3.Connection, session_id: int, seq: int, t: float, type_: str,
                 data: dict[str, Any]) -> None:
    """One event row; a pain event is also a row of the pain table."""
    conn.execute("INSERT INTO events (session_id, seq, t, type, data) VALUES (?, ?, ?, ?, ?)",
                 (session_id, seq, t, type_, dumps(data)))
    if type_ != "pain":
        return
    value, phase = data.get("value"), data.get("phase")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10 \
            or not isinstance(phase, str):
        # Kept as an event; a malformed rating must not break the log.
        logger.warning("pain event without a 0-10 value and a phase: %r", data)
        return
    transcript = data.get("transcript")
    confidence = data.get("confidence")
    conn.execute(
        "INSERT INTO pain (session_id, t, phase, value, transcript, confidence)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (session_id, t, phase, value, transcript if isinstance(transcript, str) else None,
         confidence if isinstance(confidence, int | float)
         and not isinstance(confidence, bool) else None))
