"""The recovery journal: where a session's events go when the database cannot take them.

One append-only JSON-lines file per session, in the data dir, each line flushed
and fsynced before the call returns. The first line describes the session (so
it can be recreated in a fresh database), then one line per event, then an
`end` line if the session ended:

    {"kind": "header", "format": 1, "db": "/path/voicecoach.db", "session": {...}}
    {"kind": "event", "seq": 7, "t": 12.5, "type": "heard", "data": {...}}
    {"kind": "end", "reason": "completed", "ended_at": "2024-05-01T10:20:00+00:00"}

The writer holds an exclusive lock (flock) on the file while it is open, so the
next `Store.open` merges only journals whose writer has finished or died.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any
from uuid import uuid4

from voicecoach.store.process import host_name, is_alive

try:
    import fcntl
except ImportError:  # Windows: fall back to the writer's pid
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

FORMAT = 1
SUFFIX = ".jsonl"


def journal_key(db_path: Path) -> str:
    """Journals are named after the database they belong to (its absolute path)."""
    return hashlib.sha256(str(db_path.resolve()).encode()).hexdigest()[:12]


def journal_files(directory: Path, db_path: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(directory.glob(f"{journal_key(db_path)}-*{SUFFIX}"))


def _dumps(record: dict[str, Any]) -> str:
    # default=str: a value json cannot encode is kept as text rather than lost.
    return json.dumps(record, default=str, ensure_ascii=False, separators=(",", ":"))


def _fsync_dir(directory: Path) -> None:
    # A new file's name is only durable once its directory is synced.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _try_lock(handle: IO[str]) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class RecoveryJournal:
    """An open journal for one session. Every write is on disk when it returns."""

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle: IO[str] | None = handle

    @classmethod
    def create(cls, directory: Path, db_path: Path, session: dict[str, Any]) -> RecoveryJournal:
        """A new journal for `session` (its row as a dict), with the header written."""
        directory.mkdir(parents=True, exist_ok=True)
        name = f"{journal_key(db_path)}-session{session.get('id')}-{uuid4().hex[:8]}{SUFFIX}"
        path = directory / name
        handle = path.open("x", encoding="utf-8")
        _try_lock(handle)
        journal = cls(path, handle)
        journal.append({"kind": "header", "format": FORMAT, "db": str(db_path.resolve()),
                        "created_at": datetime.now(timezone.utc).isoformat(),
                        "host": host_name(), "writer_pid": os.getpid(), "session": session})
        _fsync_dir(directory)
        logger.warning("writing session %s to recovery journal %s", session.get("id"), path)
        return journal

    def append(self, record: dict[str, Any]) -> None:
        if self._handle is None:
            raise OSError(f"recovery journal {self.path} is closed")
        self._handle.write(_dumps(record) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def event(self, seq: int, t: float, type: str, data: dict[str, Any]) -> None:
        self.append({"kind": "event", "seq": seq, "t": t, "type": type, "data": data})

    def end(self, reason: str, ended_at: str) -> None:
        self.append({"kind": "end", "reason": reason, "ended_at": ended_at})

    def close(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()  # closing releases the lock
            self._handle = None


@dataclass
class JournalContents:
    path: Path
    header: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    end: dict[str, Any] | None = None
    bad_lines: int = 0


def read_journal(path: Path) -> JournalContents:
    """Parse a journal, skipping lines that are not whole records (a write cut by power loss)."""
    contents = JournalContents(path)
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                contents.bad_lines += 1
                continue
            kind = record.get("kind") if isinstance(record, dict) else None
            if kind == "header" and contents.header is None:
                contents.header = record
            elif (kind == "event" and isinstance(record.get("type"), str)
                  and isinstance(record.get("t"), int | float)):
                if not isinstance(record.get("data"), dict):
                    record["data"] = {}
                contents.events.append(record)
            elif kind == "end":
                contents.end = record
            else:
                contents.bad_lines += 1
    return contents


@contextlib.contextmanager
def claimed(path: Path) -> Iterator[bool]:
    """Hold `path` for merging: yields False if its writer still has it open."""
    try:
        handle = path.open("r+", encoding="utf-8")
    except FileNotFoundError:
        yield False  # another process merged it a moment ago
        return
    try:
        if fcntl is None:
            yield _writer_finished(path)
        else:
            yield _try_lock(handle)
    finally:
        handle.close()


def _writer_finished(path: Path) -> bool:
    contents = read_journal(path)
    if contents.end is not None or contents.header is None:
        return True
    pid = contents.header.get("writer_pid")
    same_host = contents.header.get("host") == host_name()
    return not (same_host and isinstance(pid, int) and is_alive(pid))
