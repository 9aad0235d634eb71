"""Salvage: every row that can still be read out of a damaged database, into a new one.

SQLite refuses a whole file for one bad page, though most of its rows read fine. The
damaged file (and its -wal, so committed events are not lost) is copied to a scratch
folder and read there, table by table, in blocks of rows by rowid; a block that fails
is split until the rows that cannot be read are found and left behind. The rows go into
a new database made with the current schema, which then passes SQLite's integrity
check. Events and pain ratings whose session row was lost keep a session of their own,
marked recovered; screening answers and clearances whose screening was lost are dropped
(a clearance must never outlive what it cleared: the user is asked to screen again).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from voicecoach.store.store import Store

BLOCK = 512
"""Rows read at once while the file reads well."""
SCAN_LIMIT = 10_000_000
"""The rowids scanned when a table's largest rowid cannot be read itself."""

JSON_COLUMNS = frozenset({"data", "options"})
"""Columns that hold a JSON object in every table that has them."""

ORDER = ("sessions", "events", "pain", "screenings", "screening_answers", "clearances",
         "daily")
"""Parents before children; other tables a newer schema adds come after, in any order."""


@dataclass
class Salvage:
    copied: dict[str, int] = field(default_factory=dict)
    """Rows copied, by table."""
    lost: dict[str, int] = field(default_factory=dict)
    """Rows that could not be read, by table (-1: the table could not be read at all)."""
    dropped: dict[str, int] = field(default_factory=dict)
    """Rows read but left out, their parent row lost."""
    placeholder_sessions: int = 0
    """Sessions rebuilt for events whose session row was lost."""

    @property
    def complete(self) -> bool:
        return not any(self.lost.values()) and not any(self.dropped.values())


def salvage(damaged: Path, into: Path,
            progress: Callable[[str, int], None] | None = None) -> Salvage:
    """Copy what can be read of `damaged` into a new database at `into` (which must not
    exist). `progress(table, rows)` is told as each table is done."""
    if into.exists():
        raise FileExistsError(f"{into} already exists")
    Store.open(into).close()  # the current schema, empty
    result = Salvage()
    with _scratch_copy(damaged) as copy, contextlib.closing(sqlite3.connect(copy)) as source, \
            contextlib.closing(sqlite3.connect(into, isolation_level=None)) as target:
        source.text_factory = bytes  # text that is not UTF-8 is damage: checked per row
        target.execute("PRAGMA foreign_keys = OFF")  # parents may be lost: fixed below
        target.execute("BEGIN")
        for table in _tables(target):
            columns = _shared_columns(source, target, table)
            if columns is None:
                result.lost[table] = -1
                continue
            copied, lost = _copy_table(source, target, table, columns)
            result.copied[table], result.lost[table] = copied, lost
            if progress is not None:
                progress(table, copied)
        if all(n < 0 for n in result.lost.values()):
            raise sqlite3.DatabaseError("no table of it can be read")
        result.placeholder_sessions = _rebuild_lost_sessions(target)
        result.dropped = _drop_orphans(target)
        target.execute("COMMIT")
        target.execute("PRAGMA foreign_keys = ON")
        problems = target.execute("PRAGMA foreign_key_check").fetchall()
        if problems:  # pragma: no cover - _drop_orphans covers every reference
            raise sqlite3.IntegrityError(f"{len(problems)} rows still lack their parent")
    return result


@contextlib.contextmanager
def _scratch_copy(damaged: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="voicecoach-salvage-") as tmp:
        copy = Path(tmp) / damaged.name
        shutil.copyfile(damaged, copy)
        wal = damaged.with_name(damaged.name + "-wal")
        if wal.exists():
            shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        yield copy


def _tables(target: sqlite3.Connection) -> list[str]:
    names = [row[0] for row in target.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        " AND name NOT LIKE 'sqlite_%' AND name != '_migrations'")]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def _shared_columns(source: sqlite3.Connection, target: sqlite3.Connection,
                    table: str) -> list[str] | None:
    """The columns both schemas have (an older file lacks a newer column: its default
    fills it); None if the damaged file's table cannot be read at all."""
    wanted = [row[1] for row in target.execute(f'PRAGMA table_info("{table}")')]
    try:
        have = {row[1].decode() if isinstance(row[1], bytes) else row[1]
                for row in source.execute(f'PRAGMA table_info("{table}")')}
    except (sqlite3.DatabaseError, UnicodeDecodeError):
        return None
    shared = [c for c in wanted if c in have]
    return shared or None


def _copy_table(source: sqlite3.Connection, target: sqlite3.Connection, table: str,
                columns: list[str]) -> tuple[int, int]:
    """(rows copied, rows lost). The table is read in its own order first; where that
    read breaks, on by rowid ranges, split down to single rows around what fails. A damaged
    page can also give rows made of its garbage: a row is kept only if every value has
    its column's type, no NOT NULL column is empty and its JSON parses."""
    names = ", ".join(f'"{c}"' for c in columns)
    insert = (f'INSERT OR IGNORE INTO "{table}" (rowid, {names})'
              f' VALUES ({", ".join("?" * (len(columns) + 1))})')
    check = _row_check(target, table, columns)
    copied = lost = 0
    seen: set[int] = set()

    def take(rows: list[tuple[object, ...]]) -> None:
        nonlocal copied, lost
        for raw in rows:
            row = check(raw)
            if row is None:
                lost += 1
                continue
            rowid = int(row[0])  # type: ignore[call-overload]
            if rowid in seen:
                continue
            seen.add(rowid)
            if target.execute(insert, row).rowcount:
                copied += 1
            else:
                lost += 1  # a constraint of the schema refused it

    last = 0
    known = _counted(source, table)
    try:
        cursor = source.execute(f'SELECT rowid, {names} FROM "{table}"')
        while rows := cursor.fetchmany(BLOCK):
            take(rows)
            last = max([last, *(r[0] for r in rows if isinstance(r[0], int))])
        return copied, max(lost, (known or 0) - copied)
    except sqlite3.DatabaseError:
        pass  # on below, past the last rowid read

    select = f'SELECT rowid, {names} FROM "{table}" WHERE rowid >= ? AND rowid < ?'
    try:
        top = source.execute(f'SELECT MAX(rowid) FROM "{table}"').fetchone()[0]
        highest = min(int(top), SCAN_LIMIT) if isinstance(top, int) else SCAN_LIMIT
    except sqlite3.DatabaseError:
        highest = SCAN_LIMIT

    def read(lo: int, hi: int) -> None:
        nonlocal lost
        try:
            rows = source.execute(select, (lo, hi)).fetchall()
        except sqlite3.DatabaseError:
            if hi - lo == 1:
                lost += 1
                return
            middle = (lo + hi) // 2
            read(lo, middle)
            read(middle, hi)
            return
        take(rows)

    for lo in range(last + 1, highest + 1, BLOCK):
        read(lo, min(lo + BLOCK, highest + 1))
    return copied, max(lost, (known or 0) - copied)


def _counted(source: sqlite3.Connection, table: str) -> int | None:
    """How many rows the file says the table has. SQLite counts through the smallest
    index, which a damaged table page leaves whole: the rows it knows of and the scan did
    not give back are the ones lost."""
    try:
        return int(source.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
    except sqlite3.DatabaseError:
        return None


def _row_check(target: sqlite3.Connection, table: str,
               columns: list[str]) -> Callable[[tuple[object, ...]], tuple[object, ...] | None]:
    """A row as the damaged file gave it (text as bytes) -> the row to insert, or None if
    it cannot be a real one."""
    info = {row[1]: (str(row[2]).upper(), bool(row[3]))
            for row in target.execute(f'PRAGMA table_info("{table}")')}

    def check(raw: tuple[object, ...]) -> tuple[object, ...] | None:
        rowid, values = raw[0], raw[1:]
        if not isinstance(rowid, int) or rowid < 1:
            return None
        out: list[object] = [rowid]
        for name, value in zip(columns, values, strict=True):
            kind, not_null = info[name]
            if isinstance(value, bytes) and "BLOB" not in kind:
                try:
                    value = value.decode("utf-8")
                except UnicodeDecodeError:
                    return None
            if (value is None and not_null) or not _fits(kind, value):
                return None
            if name in JSON_COLUMNS and isinstance(value, str):
                try:
                    if not isinstance(json.loads(value), dict):
                        return None
                except json.JSONDecodeError:
                    return None
            out.append(value)
        return tuple(out)

    return check


def _fits(kind: str, value: object) -> bool:
    """Does a value have the type its column declares (NULL fits any)?"""
    if value is None:
        return True
    if "INT" in kind:
        return isinstance(value, int)
    if kind in ("REAL", "FLOAT", "DOUBLE"):
        return isinstance(value, (int, float))
    if "TEXT" in kind:
        return isinstance(value, str)
    return True


def _rebuild_lost_sessions(target: sqlite3.Connection) -> int:
    """A session for every set of events or ratings whose session row was lost, so that
    none of them is thrown away."""
    missing = [row[0] for row in target.execute(
        "SELECT DISTINCT session_id FROM events WHERE session_id NOT IN (SELECT id FROM sessions)"
        " UNION SELECT DISTINCT session_id FROM pain"
        " WHERE session_id NOT IN (SELECT id FROM sessions)")]
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for session_id in missing:
        target.execute(
            "INSERT INTO sessions (id, started_at, program, status, options)"
            " VALUES (?, ?, 'unknown', 'interrupted', '{\"recovered\": true}')",
            (session_id, now))
    return len(missing)


def _drop_orphans(target: sqlite3.Connection) -> dict[str, int]:
    dropped: dict[str, int] = {}
    for table in ("screening_answers", "clearances"):
        cursor = target.execute(f'DELETE FROM "{table}" WHERE screening_id NOT IN'
                                " (SELECT id FROM screenings)")
        if cursor.rowcount:
            dropped[table] = cursor.rowcount
    return dropped
