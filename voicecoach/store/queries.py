"""What the store's readers ask of the database: sessions with their pain ratings,
duration and time held; a session's events; the pain table."""

from __future__ import annotations

import sqlite3
from typing import Any

from voicecoach.store.rows import loads
from voicecoach.store.summary import HOLD_EVENT_TYPES, held_seconds

SESSION_COLUMNS = """
    s.id, s.started_at, s.ended_at, s.program, s.status, s.end_reason,
    (SELECT value FROM pain AS p WHERE p.session_id = s.id AND p.phase = 'before'
     ORDER BY p.t DESC, p.id DESC LIMIT 1) AS pain_before,
    (SELECT value FROM pain AS p WHERE p.session_id = s.id AND p.phase = 'after'
     ORDER BY p.t DESC, p.id DESC LIMIT 1) AS pain_after,
    (SELECT MAX(t) FROM events AS e WHERE e.session_id = s.id) AS duration_s,
    (SELECT COUNT(*) FROM events AS e WHERE e.session_id = s.id) AS event_count,
    s.simulated,
    EXISTS (SELECT 1 FROM events AS e WHERE e.session_id = s.id AND e.type = 'dizzy') AS dizzy,
    (SELECT json_extract(e.data, '$.passed') FROM events AS e
     WHERE e.session_id = s.id AND e.type = 'dizziness'
     ORDER BY e.seq DESC, e.id DESC LIMIT 1) AS dizziness_passed,
    (SELECT MAX(json_extract(e.data, '$.angle')) FROM events AS e
     WHERE e.session_id = s.id AND e.type = 'hold_started') AS angle
"""


def sessions(conn: sqlite3.Connection, limit: int | None = None) -> list[dict[str, Any]]:
    """Sessions, newest first, with their pain ratings, duration and time held."""
    rows = conn.execute(
        f"SELECT {SESSION_COLUMNS} FROM sessions AS s ORDER BY s.id DESC LIMIT ?",
        (-1 if limit is None else limit,)).fetchall()
    held = held_by_session(conn, {row[0]: row[8] for row in rows})
    return [session_dict(row, held) for row in rows]


def session(conn: sqlite3.Connection, session_id: int) -> dict[str, Any] | None:
    """One session as in `sessions()`, plus pid, host and the options it ran with."""
    row = conn.execute(
        f"SELECT {SESSION_COLUMNS}, s.pid, s.host, s.options"
        " FROM sessions AS s WHERE s.id = ?", (session_id,)).fetchone()
    if row is None:
        return None
    result = session_dict(row, held_by_session(conn, {session_id: row[8]}))
    result.update(pid=row[14], host=row[15], options=loads(row[16]))
    return result


def events(conn: sqlite3.Connection, session_id: int) -> list[dict[str, Any]]:
    """The session's events in order, each as {"t": ..., "type": ..., **data}."""
    rows = conn.execute(
        "SELECT t, type, data FROM events WHERE session_id = ? ORDER BY seq, id",
        (session_id,)).fetchall()
    result = []
    for t, type_, data in rows:
        fields = {k: v for k, v in loads(data).items() if k not in ("t", "type")}
        result.append({"t": t, "type": type_, **fields})
    return result


def pain_ratings(conn: sqlite3.Connection,
                 session_id: int | None = None) -> list[dict[str, Any]]:
    """Rows of the pain table (all sessions, or one), in the order they were given."""
    where, args = ("WHERE session_id = ?", (session_id,)) if session_id is not None \
        else ("", ())
    rows = conn.execute(
        "SELECT session_id, t, phase, value, transcript, confidence FROM pain "
        f"{where} ORDER BY session_id, t, id", args).fetchall()
    keys = ("session_id", "t", "phase", "value", "transcript", "confidence")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def held_by_session(conn: sqlite3.Connection,
          last_t: dict[int, float | None]) -> dict[int, float | None]:
    """held_s for each session id, given the t of its last event."""
    session_ids = list(last_t)
    if not session_ids:
        return {}
    marks = ",".join("?" * len(HOLD_EVENT_TYPES))
    per_session: dict[int, list[tuple[float, str, dict[str, Any]]]] = {
        sid: [] for sid in session_ids}
    # Chunked: older SQLite builds allow only 999 bound parameters.
    for start in range(0, len(session_ids), 500):
        chunk = session_ids[start:start + 500]
        rows = conn.execute(
            f"SELECT session_id, t, type, data FROM events WHERE type IN ({marks})"
            f" AND session_id IN ({','.join('?' * len(chunk))}) ORDER BY session_id, seq, id",
            (*HOLD_EVENT_TYPES, *chunk))
        for sid, t, type_, data in rows:
            per_session[sid].append((t, type_, loads(data)))
    return {sid: held_seconds(events, last_t[sid]) for sid, events in per_session.items()}

def session_dict(row: tuple[Any, ...], held: dict[int, float | None]) -> dict[str, Any]:
    keys = ("id", "started_at", "ended_at", "program", "status", "end_reason",
            "pain_before", "pain_after", "duration_s", "event_count")
    result = dict(zip(keys, row[:10], strict=True))
    result["simulated"] = bool(row[10])
    # Dizziness reported in the session, and the user's last word on whether it passed:
    # True, False, or None (never answered).
    result["dizzy"] = bool(row[11])
    result["dizziness_passed"] = None if row[12] is None else bool(row[12])
    result["held_s"] = held.get(result["id"])
    result["angle"] = row[13]  # the steepest hold (degrees), None if none began: the dose
    return result
