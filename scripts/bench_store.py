"""Time the store: one event write (committed and synced), the journal fallback,
and opening, listing and backing up a year of sessions.

    python scripts/bench_store.py [--dir DIR] [--events N] [--sessions N]

DIR should be on the disk the database will live on (fsync cost depends on it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from voicecoach.store import RecoveryJournal, Store


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return (f"median {statistics.median(ordered) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms,"
            f" max {ordered[-1] * 1000:.2f} ms")


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_event_writes(directory: Path, count: int) -> None:
    with Store.open(directory / "events.db", journal_dir=directory / "recovery") as store:
        sid = store.start_session(program="bench", started_at="2024-01-01T00:00:00+00:00",
                                  pid=os.getpid(), options={})
        samples = [_timed(lambda n=n: store.log_event(
            sid, n * 0.1, "heard", {"word": "ready", "confidence": 0.9, "transcript": "ready"}))
            for n in range(count)]
    print(f"log_event x{count}: {_ms(samples)}")


def bench_journal(directory: Path, count: int) -> None:
    journal = RecoveryJournal.create(directory / "recovery", directory / "journal.db", {"id": 1})
    samples = [_timed(lambda n=n: journal.event(n, n * 0.1, "heard", {"word": "ready"}))
               for n in range(count)]
    journal.close()
    print(f"journal event x{count}: {_ms(samples)}")


def bench_year(directory: Path, sessions: int, per_session: int) -> None:
    path = directory / "year.db"
    with Store.open(path) as store:
        conn = store._conn  # bulk fill in one transaction; the timing is of the reads
        assert conn is not None
        conn.execute("BEGIN")
        for s in range(sessions):
            sid = conn.execute("INSERT INTO sessions (started_at, program, status, pid)"
                               " VALUES ('2024-01-01T00:00:00+00:00', 'bench', 'completed', 1)"
                               ).lastrowid
            conn.executemany(
                "INSERT INTO events (session_id, seq, t, type, data) VALUES (?, ?, ?, ?, ?)",
                [(sid, n + 1, n * 1.0, "hold_started" if n == 5 else "heard",
                  '{"word": "ready", "confidence": 0.9}') for n in range(per_session)])
            conn.execute("INSERT INTO pain (session_id, t, phase, value) VALUES (?, 0, 'before',"
                         " ?)", (sid, s % 11))
        conn.execute("COMMIT")
    size_mb = path.stat().st_size / 1e6
    print(f"year db: {sessions} sessions x {per_session} events, {size_mb:.1f} MB")
    store: Store | None = None

    def reopen() -> None:
        nonlocal store
        store = Store.open(path)

    print(f"  Store.open (quick_check, migrations check): {_timed(reopen) * 1000:.1f} ms")
    assert store is not None
    print(f"  sessions() all: {_timed(store.sessions) * 1000:.1f} ms")
    print(f"  sessions(limit=20): {_timed(lambda: store.sessions(limit=20)) * 1000:.1f} ms")
    print(f"  backup: {_timed(lambda: store.backup(directory / 'year-copy.db')) * 1000:.1f} ms")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help="Where to put the test files.")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=365)
    parser.add_argument("--per-session", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("VOICECOACH_HOME", tempfile.mkdtemp(prefix="voicecoach-bench-home-"))
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="voicecoach-bench-") as tmp:
        directory = Path(tmp)
        print(f"in {directory}")
        bench_event_writes(directory, args.events)
        bench_journal(directory, args.events)
        bench_year(directory, args.sessions, args.per_session)


if __name__ == "__main__":
    main()
