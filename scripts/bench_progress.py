#!/usr/bin/env python3
"""Benchmark the progress views on ten years of daily sessions.

Builds a temporary database through the store's own schema: 3,650 sessions
(one a day) with their events, pain ratings and a daily tracking row each,
then times, best of --repeat runs:

- history: Store.open + Store.sessions() + the `voicecoach history` table
  rendered to a buffer (target < 1 s), and each of the two parts alone
- report:  Store.open + load_history + markers + the PNG  (target < 3 s)
- terminal: the `voicecoach report` summary without --out (same target)
- baseline: a naive loop, one Store.session() + Store.events() query pair per
  session, measured in the same run for comparison.

The rows are bulk-inserted in one transaction: writing them one event at a
time, as a live session does (each event its own synchronous commit), would
only time the disk.

    python scripts/bench_progress.py [--years 10] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from voicecoach.cli.history import render as render_history
from voicecoach.progress.chart import png_bytes
from voicecoach.progress.history import load_history
from voicecoach.progress.report import build_report
from voicecoach.progress.terminal import terminal_summary
from voicecoach.store import Store

HISTORY_TARGET_S = 1.0
REPORT_TARGET_S = 3.0


def session_events(rng: random.Random, pain_before: int, pain_after: int,
                   ) -> list[tuple[float, str, dict[str, object]]]:
    """A plausible session: prompts, a pain rating, two holds with a check-in, the return."""
    events: list[tuple[float, str, dict[str, object]]] = [
        (0.0, "prompt", {"id": "welcome", "text": "Welcome back."}),
        (4.0, "prompt", {"id": "pain_before", "text": "How is your pain, from 0 to 10?"}),
        (7.5, "heard", {"word": str(pain_before), "confidence": 0.9}),
        (7.5, "pain", {"value": pain_before, "phase": "before", "transcript": str(pain_before),
                       "confidence": 0.9}),
    ]
    t = 12.0
    for hold in range(2):
        duration = rng.choice([60, 90, 120])
        events += [
            (t, "phase", {"name": f"hold-{hold + 1}"}),
            (t + 1, "hold_started", {"angle": 30 + 15 * hold, "duration_s": duration}),
            (t + duration / 2, "prompt", {"id": "checkin", "text": "Pain now?"}),
            (t + duration / 2 + 2, "pain", {"value": max(0, pain_before - 1), "phase": "hold",
                                            "transcript": "okay", "confidence": 0.7}),
            (t + 1 + duration, "hold_ended", {"held_s": float(duration)}),
        ]
        t += duration + 20
    if rng.random() < 0.05:
        events.append((t, "unrecognised", {"transcript": "hmm"}))
    events += [
        (t + 1, "return_started", {"reason": "completed"}),
        (t + 40, "prompt", {"id": "pain_after", "text": "And your pain now?"}),
        (t + 43, "pain", {"value": pain_after, "phase": "after", "transcript": str(pain_after),
                          "confidence": 0.88}),
        (t + 45, "session_end", {"reason": "completed"}),
    ]
    return events


def build_database(path: Path, years: int, seed: int = 7) -> int:
    """Fill a new store at `path` with one session and one tracked day per day."""
    Store.open(path).close()  # the real schema, every migration applied
    rng = random.Random(seed)
    first = dt.date.today() - dt.timedelta(days=365 * years)
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("BEGIN")
    for index in range(365 * years):
        day = first + dt.timedelta(days=index)
        pain_before = max(0, min(10, round(7 - 4 * index / (365 * years) + rng.gauss(0, 1))))
        pain_after = max(0, pain_before - rng.choice([0, 1, 1, 2]))
        events = session_events(rng, pain_before, pain_after)
        started = dt.datetime.combine(day, dt.time(8, 0), dt.timezone.utc)
        ended = started + dt.timedelta(seconds=events[-1][0])
        session_id = conn.execute(
            "INSERT INTO sessions (started_at, ended_at, program, status, end_reason, pid,"
            " options) VALUES (?, ?, 'weeks-3-4', 'completed', 'completed', 1, '{}')",
            (started.isoformat(), ended.isoformat(timespec="seconds"))).lastrowid
        conn.executemany(
            "INSERT INTO events (session_id, seq, t, type, data) VALUES (?, ?, ?, ?, ?)",
            [(session_id, seq, t, type_, json.dumps(data))
             for seq, (t, type_, data) in enumerate(events, start=1)])
        conn.executemany(
            "INSERT INTO pain (session_id, t, phase, value, transcript, confidence)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(session_id, t, data["phase"], data["value"], data["transcript"],
              data["confidence"]) for t, type_, data in events if type_ == "pain"])
        conn.execute(
            "INSERT INTO daily (date, toe_touch_cm, stiffness_min, medication_doses,"
            " night_pain, note, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (day.isoformat(), round(max(0.0, 30 - index / 100 + rng.gauss(0, 1)), 1),
             rng.randint(0, 45), rng.randint(0, 3), int(rng.random() < 0.2),
             "slept badly, \"stiff\"" if rng.random() < 0.1 else None, started.isoformat()))
    conn.execute("COMMIT")
    events_count = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    conn.close()
    return int(events_count)


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def history_query(path: Path) -> list[dict[str, object]]:
    with Store.open(path) as store:
        return store.sessions()


def history_render(sessions: list[dict[str, object]]) -> int:
    buffer = io.StringIO()
    render_history(sessions, Console(file=buffer, width=100))
    return len(buffer.getvalue())


def history_view(path: Path) -> int:
    return history_render(history_query(path))


def report_png(path: Path) -> int:
    with Store.open(path) as store:
        history = load_history(store)
    return len(png_bytes(build_report(history, today=dt.date.today())))


def report_terminal(path: Path) -> int:
    with Store.open(path) as store:
        history = load_history(store)
    buffer = io.StringIO()
    Console(file=buffer, width=100).print(terminal_summary(build_report(history)))
    return len(buffer.getvalue())


def naive_history(path: Path) -> int:
    """The obvious loop: one query pair per session, figures worked out in Python."""
    with contextlib.closing(sqlite3.connect(str(path))) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM sessions ORDER BY id DESC")]
    with Store.open(path) as store:
        rows = []
        for session_id in ids:
            session = store.session(session_id)
            events = store.events(session_id)
            rows.append((session, len(events)))
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None,
                        help="Build the database in this directory and keep it.")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "bench-progress.db"
        path.unlink(missing_ok=True)
        start = time.perf_counter()
        events = build_database(path, args.years)
        build_s = time.perf_counter() - start
        print(f"database: {365 * args.years} sessions, {events} events, "
              f"{365 * args.years} tracked days, {path.stat().st_size / 1e6:.1f} MB "
              f"(built in {build_s:.1f} s)")
        sessions = history_query(path)  # warms the page cache and imports before timing
        results = [
            ("history (sessions + table)", *timed(lambda: history_view(path), args.repeat),
             HISTORY_TARGET_S),
            ("  of which Store.open + sessions()", *timed(lambda: history_query(path),
                                                           args.repeat), HISTORY_TARGET_S),
            ("  of which the rich table", *timed(lambda: history_render(sessions),
                                                  args.repeat), None),
            ("report --out PNG", *timed(lambda: report_png(path), args.repeat),
             REPORT_TARGET_S),
            ("report (terminal summary)", *timed(lambda: report_terminal(path), args.repeat),
             REPORT_TARGET_S),
            ("baseline: per-session query loop",
             *timed(lambda: naive_history(path), args.repeat), None),
        ]
    failed = False
    for name, seconds, _, target in results:
        if target is None:
            print(f"{name:36s} {seconds * 1000:8.0f} ms")
            continue
        ok = seconds < target
        failed |= not ok
        print(f"{name:36s} {seconds * 1000:8.0f} ms   target < {target * 1000:.0f} ms"
              f"   {'ok' if ok else 'TOO SLOW'}")
    print(f"(best of {args.repeat}; Python {sys.version.split()[0]},"
          f" SQLite {sqlite3.sqlite_version})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
