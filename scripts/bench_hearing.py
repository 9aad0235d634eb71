"""Benchmark the recogniser: CPU while listening, memory, and how soon "stop" is reported.

    python scripts/bench_hearing.py [tests/data/speech/manifest.csv]

- CPU: 120 s of quiet room noise, and the same length of continuous talk made
  from the manifest's no-command speech clips, fed in 30 ms chunks; CPU time
  over audio time (1.0 = one core fully busy in real time).
- Memory: resident size of this process and the judge's process at the end (MB).
- Latency: for each "stop" clip, the stream position when feed() returned the
  detection, minus where the word ends (last 10 ms frame within 25 dB of the
  clip's loudest); median and 90th percentile.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
from pathlib import Path

import numpy as np
import psutil

from voicecoach.voice.hearing import Recogniser
from voicecoach.voice.hearing.evaluate import CHUNK_SAMPLES
from voicecoach.voice.pcm import read_wav

RATE = 16000


def cpu_seconds() -> float:
    """CPU time of this process and its children (the recogniser's judge runs in one)."""
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += sum(child.cpu_times()[:2])
    return total


def cpu_share(recogniser: Recogniser, samples: np.ndarray) -> float:
    recogniser.reset()
    pcm = samples.astype("<i2").tobytes()
    step = CHUNK_SAMPLES * 2
    started = cpu_seconds()
    for i in range(0, len(pcm), step):
        recogniser.feed(pcm[i: i + step])
    recogniser.flush()
    return (cpu_seconds() - started) / (len(samples) / RATE)


def word_end(samples: np.ndarray) -> float:
    frames = samples[: len(samples) // 160 * 160].astype(np.float64).reshape(-1, 160)
    level = 10 * np.log10((frames**2).mean(axis=1) + 1)
    return (np.nonzero(level >= level.max() - 25)[0][-1] + 1) * 0.01


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path, nargs="?",
                        default=Path("tests/data/speech/manifest.csv"))
    args = parser.parse_args()
    with args.manifest.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    base = args.manifest.parent
    recogniser = Recogniser()
    rng = np.random.default_rng(0)
    quiet = rng.normal(0, 30, RATE * 120)
    print(f"CPU listening to quiet noise: {100 * cpu_share(recogniser, quiet):.1f}% of one core")
    talk_parts = []
    for row in rows:
        if row["label"] == "_" and "_silence" not in row["path"]:
            talk_parts += [read_wav(base / row["path"]).astype(np.float64),
                           rng.normal(0, 30, int(0.3 * RATE))]
    talk = np.concatenate(talk_parts)[: RATE * 120]
    print(f"CPU listening to continuous talk ({len(talk) / RATE:.0f} s): "
          f"{100 * cpu_share(recogniser, talk):.1f}% of one core")
    lags = []
    missed = 0
    step = CHUNK_SAMPLES * 2
    for row in rows:
        if row["label"] != "stop":
            continue
        clip = read_wav(base / row["path"])
        lead = rng.normal(0, 30, RATE).astype(np.int16)
        pcm = np.concatenate([lead, clip, rng.normal(0, 30, RATE).astype(np.int16)])
        data = pcm.astype("<i2").tobytes()
        recogniser.reset()
        heard_at = None
        for i in range(0, len(data), step):
            if any(d.word == "stop" for d in recogniser.feed(data[i: i + step])):
                heard_at = recogniser.now
                break
        if heard_at is None:
            missed += 1
            continue
        lags.append(heard_at - (1.0 + word_end(clip)))
    if lags:
        print(f"'stop' reported after the word ends: median {1000 * np.median(lags):.0f} ms, "
              f"90th percentile {1000 * np.percentile(lags, 90):.0f} ms "
              f"({len(lags)} heard, {missed} missed)")
    me = psutil.Process()
    # Proportional set size: libraries shared between the processes count once.
    resident = sum(p.memory_full_info().pss for p in [me, *me.children(recursive=True)])
    print(f"resident memory (this process and the judge's): {resident / 2**20:.0f} MB")
    recogniser.close()


if __name__ == "__main__":
    main()
