"""Faults on a busy machine: does anything end a session, lose an event or leave the user
without guidance? Every part runs under a competing CPU load (one busy process a core).

    python scripts/bench_soak.py [--renders 1000] [--kills 100] [--judge-kills 5]

- renders: N prompts rendered from an empty cache (a new user's first session), as the
  product renders them (a fresh worker on an empty render, then espeak-ng's command line)
  beside the baseline in the same run: one attempt in the worker, nothing after it;
- kills: N file sessions (`start --audio-in ... --events`) killed with SIGKILL at a random
  moment; then the database (once a command has opened it, merging what waited) and the
  events file must agree: every event the file holds is in the database;
- judge kills: live sessions on a private PulseAudio server, the judge (Whisper's process)
  killed during the hold while nobody speaks; how long until the session says so and
  starts the return (target 2 s).

The live-session soak of hours the issue asks for is not part of this script yet.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devkit.session_events import read_events
from voicecoach.store import Store
from voicecoach.voice.pcm import RATE, read_wav, write_wav
from voicecoach.voice.speaking.render import Renderer, SpeechEngineError

REPO = Path(__file__).resolve().parent.parent

STOP_CLIP = REPO / "tests" / "data" / "speech" / "stop_b87bdb22.wav"
PROGRAM = REPO / "tests" / "data" / "programs" / "short-descend.toml"


@contextmanager
def cpu_load() -> Iterator[None]:
    """One busy process a core, for as long as the block runs."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(os.cpu_count() or 1)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def texts(n: int) -> list[str]:
    """Distinct prompts of the kind a session builds from numbers."""
    rng = random.Random(5)
    out = []
    for i in range(n):
        out.append(f"Step {i}. Hold at {rng.randint(20, 90)} degrees for "
                   f"{rng.randint(1, 10)} minutes and {rng.randint(1, 59)} seconds.")
    return out


def bench_renders(n: int, work: Path) -> None:
    said = texts(n)
    product = Renderer(cache_dir=work / "product")
    baseline = Renderer(cache_dir=work / "baseline")
    failed = {"product": 0, "baseline": 0}
    started = time.monotonic()
    with cpu_load():
        for i, text in enumerate(said):
            try:
                if len(product.render(text)) == 0:
                    failed["product"] += 1
            except SpeechEngineError:
                failed["product"] += 1
            try:
                # One attempt in the worker, as before retries: the glitch ends a session.
                if len(baseline._render_in_worker(text)) == 0:
                    failed["baseline"] += 1
            except SpeechEngineError:
                failed["baseline"] += 1
                baseline._worker.stop()
            if (i + 1) % 100 == 0:
                print(f"  {i + 1}/{n} renders, {time.monotonic() - started:.0f} s", flush=True)
    product.close()
    baseline.close()
    print(f"renders that left no audio, under load: {failed['product']} of {n} "
          f"(baseline, one attempt: {failed['baseline']} of {n})")


def bench_kills(n: int, work: Path) -> None:
    rng = random.Random(11)
    stop = read_wav(STOP_CLIP)
    import numpy as np

    audio = np.concatenate([np.random.default_rng(3).normal(0, 30, 70 * RATE).astype(np.int16),
                            stop, np.zeros(RATE * 5, dtype=np.int16)])
    in_wav = work / "in.wav"
    write_wav(in_wav, audio)
    lost_events = disagreeing = total_events = 0
    with cpu_load():
        for i in range(n):
            db, events = work / f"k{i}.db", work / f"k{i}.jsonl"
            home = work / f"home{i}"
            proc = subprocess.Popen(
                [sys.executable, "-m", "voicecoach", "start", "--audio-in", str(in_wav),
                 "--program", str(PROGRAM), "--pain", "3", "--no-checklist", "--fast",
                 "--db", str(db), "--events", str(events)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env={**os.environ, "VOICECOACH_HOME": str(home)})
            time.sleep(rng.uniform(1.0, 6.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            in_file = read_events(events)
            os.environ["VOICECOACH_HOME"] = str(home)  # the same journal folder
            try:
                with Store.open(db) as store:
                    sessions = store.sessions()
                    in_db = store.events(sessions[0]["id"]) if sessions else []
            finally:
                del os.environ["VOICECOACH_HOME"]
            total_events += len(in_file)
            db_keys = {(round(e["t"], 3), e["type"]) for e in in_db}
            missing = [e for e in in_file if (round(e["t"], 3), e["type"]) not in db_keys]
            lost_events += len(missing)
            disagreeing += bool(missing)
            if (i + 1) % 10 == 0:
                print(f"  {i + 1}/{n} sessions killed", flush=True)
    print(f"events in the events file but not in the database after SIGKILL: {lost_events} of "
          f"{total_events} ({disagreeing} of {n} sessions disagree)")


def bench_judge_kills(n: int, work: Path) -> None:
    from devkit.processes import JUDGE, children_running
    from devkit.pulse import PulseServer
    from devkit.session_history import record_clean_screening, record_past_sessions

    found: list[float] = []
    with cpu_load(), PulseServer(work / "pulse") as server:
        for i in range(n):
            db, events = work / f"j{i}.db", work / f"j{i}.jsonl"
            home = work / f"jhome{i}"
            env = {**os.environ, **server.client_env(), "VOICECOACH_HOME": str(home)}
            os.environ["VOICECOACH_HOME"] = str(home)
            record_clean_screening(db)
            record_past_sessions(db)
            del os.environ["VOICECOACH_HOME"]
            proc = subprocess.Popen(
                [sys.executable, "-m", "voicecoach", "start", "--program", str(PROGRAM),
                 "--pain", "3", "--no-checklist", "--db", str(db), "--events", str(events)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=env)
            try:
                if not wait_for(events, "hold_started", 60):
                    print(f"  session {i}: never reached the hold")
                    continue
                time.sleep(random.Random(i).uniform(0.5, 3.0))
                judges = children_running(proc.pid, JUDGE)
                os.kill(judges[0], signal.SIGKILL)
                killed = time.monotonic()
                if wait_for(events, "device_lost", 10):
                    found.append(time.monotonic() - killed)
                    print(f"  session {i}: judge killed, said after {found[-1]:.2f} s")
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    if found:
        print(f"a killed judge, in silence, said and the return started: p50 "
              f"{statistics.median(found):.2f} s, worst {max(found):.2f} s over {len(found)} "
              f"sessions (target 2 s; before the heartbeat: never, until the user spoke)")


def wait_for(events: Path, kind: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(e["type"] == kind for e in read_events(events)):
            return True
        time.sleep(0.02)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--judge-kills", type=int, default=5)
    args = parser.parse_args()
    print(f"bench_soak on {os.cpu_count()} cores, a busy process on each")
    with tempfile.TemporaryDirectory(prefix="voicecoach-soak-") as tmp:
        work = Path(tmp)
        if args.renders:
            bench_renders(args.renders, work)
        if args.kills:
            bench_kills(args.kills, work)
        if args.judge_kills:
            bench_judge_kills(args.judge_kills, work)


if __name__ == "__main__":
    main()
