"""The recognition figures of the README, from one development set, in one run.

    python scripts/eval_dev_set.py /work/shared/audio [--out /tmp/vc-dev] [--quick]

SOURCE is a folder of real-voice clips with a manifest.csv (path,label). From it
this script builds, under --out:

- noisy copies of the "stop" clips and of a share of the no-command clips, mixed
  with TV-like babble and fan noise at 20, 10 and 5 dB SNR (scripts/make_noisy_set.py);
- continuous talk without a command, the no-command speech clips joined into
  minute-long files (scripts/make_no_command_stream.py);

then runs `voicecoach eval` (the live recogniser, with the plain
`recognize_sphinx` baseline on the same audio in the same run) on:

- every clip, listening for anything ("stop" recall, false accepts);
- the number clips, listening for a number as after a pain question (top-1);
- each noisy set ("stop" recall in noise);
- the continuous talk (false "stop" per hour).

It prints one table, the figures against the targets, and writes the full
reports as JSON beside the audio.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from voicecoach.session.commands import NUMBER_WORDS
from voicecoach.voice.hearing.evaluate import NO_COMMAND, Report, evaluate, read_manifest

SCRIPTS = Path(__file__).resolve().parent
NOISY_NO_COMMAND = 150
"""No-command clips mixed into each noisy set (false accepts in noise)."""


def subset(manifest: Path, out: Path, keep) -> Path:  # keep: (row) -> bool
    with manifest.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or ["path", "label"]
        rows = [r for r in reader if keep(r)]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "path": str((manifest.parent / row["path"]).resolve())})
    return out


def run(name: str, manifest: Path, mode: str, out: Path) -> Report:
    clips = read_manifest(manifest)
    print(f"{name}: {len(clips)} clips ({mode})", file=sys.stderr, flush=True)
    report = evaluate(clips, mode=mode)
    (out / f"{name}.json").write_text(json.dumps(report.summary(), indent=2))
    # One line per clip, for studying the misses: what was said, heard, and how surely.
    with (out / f"{name}-clips.jsonl").open("w", encoding="utf-8") as handle:
        for o in report.outcomes:
            handle.write(json.dumps({
                "path": str(o.clip.path), "label": o.clip.label, "heard": o.predicted,
                "baseline": o.baseline, "seconds": round(o.seconds, 2),
                "detections": [{"word": d.word, "confidence": round(d.confidence, 3),
                                "t_end": round(d.t_end, 2), "transcript": d.transcript}
                               for d in o.detections]}) + "\n")
    return report


def pct(value: float | None) -> str:
    return "-" if value is None or value != value else f"{100 * value:.1f}%"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder holding manifest.csv and the clips")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--snr", type=int, nargs="+", default=[20, 10, 5])
    parser.add_argument("--noise", nargs="+", default=["babble", "fan"])
    args = parser.parse_args()
    manifest = args.source / "manifest.csv"
    if not manifest.is_file():
        parser.error(f"no manifest.csv in {args.source}")
    out = args.out or Path(tempfile.mkdtemp(prefix="vc-dev-"))
    out.mkdir(parents=True, exist_ok=True)

    no_command_seen = [0]

    def stop_or_some_other(row: dict[str, str]) -> bool:
        if row["label"] == "stop":
            return True
        if row["label"] == NO_COMMAND and "_silence" not in row["path"]:
            no_command_seen[0] += 1
            return no_command_seen[0] <= NOISY_NO_COMMAND
        return False

    noisy_base = subset(manifest, out / "noisy-source" / "manifest.csv", stop_or_some_other)
    subprocess.run([sys.executable, str(SCRIPTS / "make_noisy_set.py"), str(noisy_base),
                    "--out", str(out / "noisy"), "--snr", *map(str, args.snr),
                    "--noise", *args.noise], check=True)
    subprocess.run([sys.executable, str(SCRIPTS / "make_no_command_stream.py"), str(manifest),
                    "--out", str(out / "talk")], check=True)
    numbers = subset(manifest, out / "numbers" / "manifest.csv",
                     lambda r: r["label"] in NUMBER_WORDS)

    rows: list[tuple[str, str, str, str]] = []
    clean = run("clean", manifest, "any", out)
    rows.append(("'stop' recall, clean", pct(clean.recall("stop")),
                 pct(clean.recall("stop", baseline=True)), ">= 97%"))
    said = run("numbers", numbers, "number", out)
    rows.append(("pain numbers top-1, before confirmation",
                 pct(said.group_accuracy(frozenset(NUMBER_WORDS))),
                 pct(said.group_accuracy(frozenset(NUMBER_WORDS), baseline=True)), ">= 90%"))
    for kind in args.noise:
        for snr in args.snr:
            noisy = run(f"{kind}-{snr}db", out / "noisy" / f"{kind}-{snr}db" / "manifest.csv",
                        "any", out)
            rows.append((f"'stop' recall, {kind} at {snr} dB SNR", pct(noisy.recall("stop")),
                         pct(noisy.recall("stop", baseline=True)),
                         ">= 90%" if snr == 10 else ""))
    talk = run("talk", out / "talk" / "manifest.csv", "any", out)
    hours = talk.no_command_hours()
    rows.append((f"false 'stop' per hour of talk ({60 * hours:.0f} min)",
                 f"{talk.per_hour('stop') or 0:.1f}",
                 f"{talk.per_hour('stop', baseline=True) or 0:.1f}", "<= 2"))
    rows.append(("false accepts of any word per hour of talk", f"{talk.per_hour() or 0:.1f}",
                 f"{talk.per_hour(baseline=True) or 0:.1f}", ""))
    rows.append(("decoding time, share of real time", pct(clean.decode_s / clean.audio_s),
                 pct(clean.baseline_s / clean.audio_s), ""))

    width = max(len(r[0]) for r in rows)
    print(f"\n{'':{width}}  voicecoach  recognize_sphinx  target")
    for label, ours, base, target in rows:
        print(f"{label:{width}}  {ours:>10}  {base:>16}  {target}")
    print(f"\nreports: {out}/*.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
