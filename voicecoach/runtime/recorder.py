"""Writes every logged action as it happens: to the SQLite store and the --events file.

Each event is committed to the database, then written to the events file and
flushed, before the next one is handled, so a crash or a kill loses nothing that
was already logged.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import IO, Any, Protocol

logger = logging.getLogger(__name__)


class EventStore(Protocol):
    def log_event(self, session_id: int, t: float, type: str, data: dict[str, Any]) -> None: ...

    def end_session(self, session_id: int, reason: str) -> None: ...


class SessionRecorder:
    def __init__(self, store: EventStore | None, session_id: int | None,
                 events_path: Path | None = None) -> None:
        self._store = store
        self._session_id = session_id
        self._events: IO[str] | None = None
        if events_path is not None:
            self._events = events_path.open("w", encoding="utf-8")

    def write(self, t: float, type_: str, data: dict[str, Any]) -> None:
        t = round(t, 3)
        # The database first: it is the record. A kill between the two leaves the events
        # file one line short, never the database without what the file says happened.
        if self._store is not None and self._session_id is not None:
            self._store.log_event(self._session_id, t, type_, data)
        if self._events is not None:
            self._events.write(json.dumps({"t": t, "type": type_, **data}) + "\n")
            self._events.flush()
            os.fsync(self._events.fileno())

    def end(self, reason: str) -> None:
        if self._store is not None and self._session_id is not None:
            self._store.end_session(self._session_id, reason)

    def close(self) -> None:
        if self._events is not None:
            self._events.close()
            self._events = None
