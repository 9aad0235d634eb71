"""Reading a running session's --events file, for tests (and scripts/bench_soak.py) that
drive `voicecoach start` as a subprocess and act on what it logs."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def read_events(path: Path) -> list[dict]:
    """The events logged so far (none before the file exists). Read while the session
    writes (or after it was killed), the last line may be half written: it is left out."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()
            if line.strip().endswith("}")]


def wait_for_event(path: Path, predicate: Callable[[dict], bool], timeout: float,
                   proc: subprocess.Popen, explain: Callable[[], str] = lambda: "") -> dict:
    """The first event the predicate accepts, once it is logged; fails if the session
    exits first or nothing comes within `timeout` s (`explain()` is added to the
    message)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in read_events(path):
            if predicate(event):
                return event
        if proc.poll() is not None:
            raise AssertionError(f"session exited early ({proc.returncode}): "
                                 f"{proc.stderr.read().decode() if proc.stderr else ''}")
        time.sleep(0.05)
    raise AssertionError(f"timed out; events so far: {[e['type'] for e in read_events(path)]}"
                         f"\n{explain()}")
