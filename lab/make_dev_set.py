"""Copy a small, stratified subset of the real-voice clips into tests/data/speech/.

    python lab/make_dev_set.py /work/shared/audio [--out tests/data/speech]

Deterministic (fixed seed). Keeps the manifest's speaker/source/license columns.
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
from collections import defaultdict
from pathlib import Path

PER_LABEL = {"stop": 40, "yes": 10, "no": 10, "_unknown": 40, "_silence": 14}
PER_NUMBER = 6
ALWAYS = (
    # Other tests (the session end-to-end test) name these clips.
    "clips/stop/felix__stop_audio_05-08-23-41-40-258hqied0o_.wav",
    "clips/two/sc1vinsis__two_1eddce1d_nohash_3.wav",
)
MAX_BYTES = 100_000
"""Longer clips (background noise, read sentences) are left out to keep the copy small."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("--out", type=Path, default=Path("tests/data/speech"))
    args = parser.parse_args()
    with (args.source / "manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    groups: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        kind = row["path"].split("/")[1]
        if (args.source / row["path"]).stat().st_size <= MAX_BYTES:
            groups[kind if row["label"] == "_" else row["label"]].append(row)
    rng = random.Random(20240611)
    chosen: list[dict[str, str]] = []
    for group, members in sorted(groups.items()):
        want = PER_LABEL.get(group, PER_NUMBER)
        members = sorted(members, key=lambda r: r["path"])
        # Spread over sources and speakers: shuffle, then take round-robin by source.
        rng.shuffle(members)
        by_source: dict[str, list[dict[str, str]]] = defaultdict(list)
        for m in members:
            by_source[m["source"].split("@")[0]].append(m)
        picked = [m for m in members if m["path"] in ALWAYS]
        members = [m for m in members if m["path"] not in ALWAYS]
        while len(picked) < want and any(by_source.values()):
            for source in sorted(by_source):
                if by_source[source] and len(picked) < want:
                    picked.append(by_source[source].pop())
        chosen.extend(picked)
    # Only what this script made is replaced: other files in the folder belong to other tests.
    if (args.out / "clips").exists():
        shutil.rmtree(args.out / "clips")
    fields = ["path", "label", "speaker", "source", "license"]
    (args.out / "clips").mkdir(parents=True, exist_ok=True)
    with (args.out / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in sorted(chosen, key=lambda r: r["path"]):
            target = args.out / row["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(args.source / row["path"], target)
            writer.writerow({k: row[k] for k in fields})
    print(f"{len(chosen)} clips copied to {args.out}")


if __name__ == "__main__":
    main()
