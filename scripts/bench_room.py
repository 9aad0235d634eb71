"""Is "stop" heard in a room, over the coach's own voice? The echo canceller against
today's gate alone, on the same trials, in the same run.

Each trial is a whole session through the file contract, as an outside tool drives it:

    voicecoach start --audio-in IN.wav --echo-ir IR.wav --echo-delay-ms N --events EV --fast

IN.wav holds one recorded human "stop" from the development set, placed so that the
word ends while a prompt plays (the prompts of a reference session with no "stop" in
it); IR.wav is a speaker-to-microphone impulse response made by pyroomacoustics
(a laptop's speaker a few centimetres from its microphone, in a shoebox room of
random size and RT60 0.2-0.8 s), scaled so that the coach's echo over the word is a
set number of dB over the word at the microphone. Conditions:

- echo +6 dB and +12 dB: the user's word as recorded (close to the microphone);
- room: the word also goes through the room (user 1-3 m away, mouth 0.3-0.7 m above
  the floor, RT60 0.2-0.8 s), with the echo at 0 dB;
- no echo: the same IN.wav without --echo-ir, what the recogniser makes of the word alone;
- first prompt: the word inside the session's first prompt, echo +6 dB, before the
  canceller has heard the room for long (the other conditions place it from 10 s on);

each run twice: with the echo canceller (the release) and with `--no-echo-cancel`
(today's gate alone: the baseline). A trial is heard when the session's return
starts for "stop" after the word began and within 2 s of its end; the latency is the
return's `t` minus the word's end, on the audio timeline.

    python scripts/bench_room.py $DEVSET/manifest.csv [--trials 40] [--seed 1]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicecoach.voice.pcm import RATE, read_wav, rms, write_wav

SESSION = ("--no-checklist", "--pain", "2", "--fast")
LEARNT_S = 10.0
"""Prompts from here on count for the main conditions: by then the canceller has heard
the coach for a while, as it has in a live session by the time the user is inverted
(the spoken checklist runs first). Stops in the very first prompt are a row of their own."""
WORD_RMS = 1000.0
REFERENCE_S = 75.0
"""The reference session's first seconds: descent, the first holds and cues."""


@dataclass(frozen=True)
class Trial:
    clip: Path
    at_s: float
    """Where the word starts in IN.wav."""
    condition: str
    echo_db: float
    seed: int


def float_wav(path: Path, samples: np.ndarray) -> None:
    """A 32-bit float WAV (the samples may exceed 1: the IR carries the echo's gain)."""
    data = np.asarray(samples, dtype="<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, RATE, RATE * 4, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" \
        + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def room_irs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(speaker -> microphone, user's mouth -> microphone) in one random shoebox room."""
    import pyroomacoustics as pra

    dims = np.array([rng.uniform(3.0, 6.0), rng.uniform(2.5, 5.0), rng.uniform(2.4, 3.0)])
    rt60 = rng.uniform(0.2, 0.8)
    absorption, max_order = pra.inverse_sabine(rt60, dims)
    room = pra.ShoeBox(dims, fs=RATE, materials=pra.Material(absorption),
                       max_order=min(max_order, 30))
    mic = np.array([rng.uniform(1.0, dims[0] - 1.0), rng.uniform(1.0, dims[1] - 1.0), 0.75])
    speaker = mic + np.array([0.05, 0.0, -0.02])  # a laptop's speaker beside its microphone
    direction = rng.uniform(0, 2 * np.pi)
    distance = rng.uniform(1.0, 3.0)
    mouth = mic + np.array([distance * np.cos(direction), distance * np.sin(direction), 0.0])
    mouth[:2] = np.clip(mouth[:2], 0.3, dims[:2] - 0.3)
    mouth[2] = rng.uniform(0.3, 0.7)
    room.add_source(speaker.tolist())
    room.add_source(mouth.tolist())
    room.add_microphone(mic.tolist())
    room.compute_rir()
    return np.asarray(room.rir[0][0]), np.asarray(room.rir[0][1])


def active_span(word: np.ndarray) -> tuple[int, int]:
    """First and last sample of the word (10 ms frames within 25 dB of its loudest)."""
    frames = word[: len(word) // 160 * 160].astype(np.float64).reshape(-1, 160)
    level = 10 * np.log10((frames**2).mean(axis=1) + 1)
    loud = np.nonzero(level >= level.max() - 25)[0]
    return int(loud[0] * 160), int((loud[-1] + 1) * 160)


def run_session(work: Path, in_wav: Path, ir_wav: Path | None, *more: str,
                delay_ms: int = 20) -> list[dict]:
    events = work / "ev.jsonl"
    events.unlink(missing_ok=True)
    db = work / "bench.db"
    command = [sys.executable, "-m", "voicecoach", "start", "--audio-in", str(in_wav),
               "--events", str(events), "--db", str(db), *SESSION, *more]
    if ir_wav is not None:
        command += ["--echo-ir", str(ir_wav), "--echo-delay-ms", str(delay_ms)]
    out = work / "out.wav"
    command += ["--audio-out", str(out)]
    env = {**os.environ, "VOICECOACH_HOME": str(work / "home")}
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"session failed ({proc.returncode}): {proc.stderr.strip()}")
    return [json.loads(line) for line in events.read_text().splitlines()]


def prompt_spans(out: np.ndarray) -> list[tuple[float, float]]:
    """Where the reference session's output sounds (10 ms frames over -50 dBFS), as runs
    with gaps under 0.3 s closed."""
    frames = out[: len(out) // 160 * 160].astype(np.float64).reshape(-1, 160)
    loud = np.sqrt((frames**2).mean(axis=1)) > 100
    spans: list[list[float]] = []
    for i in np.nonzero(loud)[0]:
        t = i * 0.01
        if spans and t - spans[-1][1] < 0.3:
            spans[-1][1] = t + 0.01
        else:
            spans.append([t, t + 0.01])
    return [(a, b) for a, b in spans if b - a >= 1.5 and b < REFERENCE_S]


def make_trials(manifest: Path, spans: list[tuple[float, float]], trials: int,
                seed: int) -> list[Trial]:
    rng = np.random.default_rng(seed)
    with manifest.open() as f:
        stops = [manifest.parent / row["path"] for row in csv.DictReader(f)
                 if row["label"] == "stop"]
    picked = rng.choice(len(stops), size=min(trials, len(stops)), replace=False)
    out = []
    later = [span for span in spans if span[0] >= LEARNT_S]
    for n, index in enumerate(picked):
        clip = stops[int(index)]
        word = read_wav(clip)
        _, hi = active_span(word)

        def inside(span: tuple[float, float], hi: int = hi) -> float:
            # The word ends inside the prompt, at least half a second after it began.
            return max(0.5, rng.uniform(span[0] + 0.5, span[1] - 0.05) - hi / RATE)

        at = inside(later[int(rng.integers(len(later)))])
        for condition, echo_db in (("no echo", 0.0), ("echo +6 dB", 6.0),
                                   ("echo +12 dB", 12.0), ("room", 0.0)):
            out.append(Trial(clip, at, condition, echo_db, seed * 100_000 + n))
        out.append(Trial(clip, inside(spans[0]), "first prompt, echo +6 dB", 6.0,
                         seed * 100_000 + n))
    return out


def build(trial: Trial, reference_out: np.ndarray, work: Path) -> tuple[Path, Path, float, float]:
    """IN.wav and IR.wav for a trial; returns them with the word's start and end (s)."""
    rng = np.random.default_rng(trial.seed)
    speaker_ir, mouth_ir = room_irs(rng)
    word = read_wav(trial.clip).astype(np.float64)
    if trial.condition.startswith("room"):
        word = np.convolve(word, mouth_ir)
    lo, hi = active_span(word)
    # Every word at the same level (-30 dBFS over its span), so that the echo over it,
    # 6 or 12 dB louder, stays clear of full scale as a real device's would: a clipped
    # echo is no longer the reference's linear image, and no canceller takes it out.
    word *= WORD_RMS / max(rms(word[lo:hi]), 1e-9)
    # A few seconds after the word: the session runs on without input (deadline to deadline).
    total = int((trial.at_s + 3) * RATE) + len(word)
    samples = np.zeros(total)
    a = int(trial.at_s * RATE)
    samples[a: a + len(word)] = word[: total - a]
    # The echo's level over the word, as the reference session played it there.
    delay = 20 * RATE // 1000
    span = slice(a + lo - delay, a + hi - delay)
    unit_echo = np.convolve(reference_out[max(0, span.start - len(speaker_ir)): span.stop],
                            speaker_ir)[: span.stop - max(0, span.start - len(speaker_ir))]
    unit_echo = unit_echo[-(hi - lo):]
    gain = 10 ** (trial.echo_db / 20) * rms(word[lo:hi]) / max(rms(unit_echo), 1e-9)
    in_wav, ir_wav = work / "in.wav", work / "ir.wav"
    write_wav(in_wav, np.clip(np.rint(samples), -32768, 32767).astype(np.int16))
    float_wav(ir_wav, speaker_ir * gain)
    return in_wav, ir_wav, (a + lo) / RATE, (a + hi) / RATE


def heard(events: list[dict], word_start: float, word_end: float) -> float | None:
    for event in events:
        if event["type"] == "return_started":
            if event.get("reason") == "stop" and word_start <= event["t"] <= word_end + 2.0:
                return event["t"] - word_end
            return None
    return None


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path, help="the development set's manifest.csv")
    parser.add_argument("--trials", type=int, default=40, help="stop clips (each in 4 conditions)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-room-") as tmp:
        work = Path(tmp)
        silent = work / "silent.wav"
        write_wav(silent, np.zeros(int(REFERENCE_S * RATE), dtype=np.int16))
        run_session(work, silent, None)
        reference_out = read_wav(work / "out.wav").astype(np.float64)
        spans = prompt_spans(reference_out)
        trials = make_trials(args.manifest, spans, args.trials, args.seed)
        results: dict[tuple[str, str], list[float | None]] = {}
        started = time.monotonic()
        for i, trial in enumerate(trials):
            in_wav, ir_wav, word_start, word_end = build(trial, reference_out, work)
            systems: tuple[tuple[str, tuple[str, ...]], ...] = (
                ("canceller", ()), ("gate only", ("--no-echo-cancel",)))
            if trial.condition == "no echo":
                systems = (("no --echo-ir", ()),)
            for system, more in systems:
                ir = None if trial.condition == "no echo" else ir_wav
                events = run_session(work, in_wav, ir, *more)
                results.setdefault((trial.condition, system), []).append(
                    heard(events, word_start, word_end))
            if (i + 1) % 15 == 0:
                print(f"  {i + 1}/{len(trials)} trials, {time.monotonic() - started:.0f} s",
                      file=sys.stderr, flush=True)
        print(f"{args.trials} recorded stops from {args.manifest}, each ending inside a "
              f"prompt; seed {args.seed}")
        print("| condition | system | heard | latency p50 | latency p95 |")
        print("| --- | --- | --- | --- | --- |")
        for (condition, system), got in results.items():
            hits = [x for x in got if x is not None]
            share = f"{len(hits)}/{len(got)} ({100 * len(hits) / len(got):.1f}%)"
            p50 = f"{1000 * statistics.median(hits):.0f} ms" if hits else "-"
            p95 = f"{1000 * pct(hits, 0.95):.0f} ms" if hits else "-"
            print(f"| {condition} | {system} | {share} | {p50} | {p95} |")


if __name__ == "__main__":
    main()
