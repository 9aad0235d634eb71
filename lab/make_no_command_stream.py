"""Join every no-command speech clip of a manifest into long WAVs: continuous talk without
a command, for false accepts per hour.

    python lab/make_no_command_stream.py MANIFEST.csv --out /tmp/talk [--minutes-per-file 1]

Clips labelled "_" that hold speech (not the `_silence` folder) are joined in
manifest order with 0.2-0.6 s gaps of low noise; OUT/manifest.csv lists the
files with label "_".
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from voicecoach.voice.pcm import read_wav, to_int16, write_wav

RATE = 16000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes-per-file", type=float, default=1.0)
    args = parser.parse_args()
    with args.manifest.open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle)
                if r["label"] == "_" and "_silence" not in r["path"]]
    rng = np.random.default_rng(3)
    args.out.mkdir(parents=True, exist_ok=True)
    limit = int(args.minutes_per_file * 60 * RATE)
    parts: list[np.ndarray] = []
    length = 0
    names: list[str] = []

    def write() -> None:
        name = f"talk-{len(names):03d}.wav"
        write_wav(args.out / name, to_int16(np.concatenate(parts)))
        names.append(name)

    for row in rows:
        clip = read_wav(args.manifest.parent / row["path"]).astype(np.float64)
        gap = rng.normal(0, 3, int(rng.uniform(0.2, 0.6) * RATE))
        parts.extend([clip, gap])
        length += len(clip) + len(gap)
        if length >= limit:
            write()
            parts, length = [], 0
    if parts:
        write()
    with (args.out / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        writer.writerows([n, "_"] for n in names)
    print(f"{len(names)} files in {args.out}")


if __name__ == "__main__":
    main()
