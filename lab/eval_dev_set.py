"""The recognition figures of the README, from one development set, in one run.

    python lab/eval_dev_set.py /work/shared/audio [--out /tmp/vc-dev] [--snr 10]
        [--spotter-folds DIR] [--probe-folds DIR] [--game-talk GAME] [--only SET ...]

SOURCE is a folder of real-voice clips with a manifest.csv (path,label). From it
this script builds, under --out:

- noisy copies of the "stop" clips and of a share of the no-command clips, mixed
  with TV-like babble and fan noise at 20, 10 and 5 dB SNR (lab/make_noisy_set.py);
- continuous talk without a command, the no-command speech clips joined into
  minute-long files (lab/make_no_command_stream.py);

then runs `voicecoach eval` (the live recogniser, with the plain
`recognize_sphinx` baseline on the same audio in the same run) on:

- every clip, listening for anything ("stop" recall, false accepts);
- the number clips, listening for a number as after a pain question (top-1);
- each noisy set ("stop" recall in noise);
- the continuous talk (false "stop" per hour);
- with --game-talk DIR, half B (alternate minutes, evaluate.talk_half) of two
  hours of a voiced game's talk without "stop" (false "stop" per hour on more
  talk than the set holds; half A is for fitting) and the "stop" clips through
  the game's channel (lab/make_game_talk.py).

It prints one table, the figures against the targets, and writes the full
reports as JSON beside the audio.

The stop spotter's classifier is fitted on this same set
(lab/fit_stop_spotter.py). With --spotter-folds DIR (its --fold-models)
every set is split by voice (evaluate.speaker_fold) and each half is heard
with the classifier fitted without it, and the talk of each half
(talk-fold-K, built here) likewise: the figures are then for voices the
classifier never heard. Without it the shipped classifier hears everything.
--probe-folds DIR (fit_stop_rule.py --probe-folds) does the same for the stop
probe; half B of the game's talk is heard with the probe of the second half,
which learnt half A (and the game's lines of fit_stop_rule.py --more-game-talk)
and not B.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from devkit.devset import manifest_voices, speaker_fold, talk_half, voice
from voicecoach.session.commands import NUMBER_WORDS
from voicecoach.voice.hearing import HearingSettings
from voicecoach.voice.hearing.evaluate import (
    NO_COMMAND,
    Clip,
    Report,
    evaluate,
    read_manifest,
)

SCRIPTS = Path(__file__).resolve().parent
FOLDS = 2
"""Halves of the voices for --spotter-folds (fit_stop_spotter.py fits one model each)."""
NOISY_NO_COMMAND = 150
"""No-command clips mixed into each noisy set (false accepts in noise)."""


def subset(manifest: Path, out: Path, keep: Callable[[dict[str, str]], bool]) -> Path:
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


def joined_talk(source: Path, folder: Path) -> None:
    """SOURCE's no-command speech joined into minute-long files in FOLDER, unless there."""
    if not (folder / "manifest.csv").exists():
        subprocess.run([sys.executable, str(SCRIPTS / "make_no_command_stream.py"),
                        str(source), "--out", str(folder)], check=True)


def run(name: str, parts: list[tuple[list[Clip], HearingSettings]], mode: str,
        out: Path) -> None:
    """Evaluate one set, each part of it with its own settings, into one report."""
    print(f"{name}: {sum(len(c) for c, _ in parts)} clips ({mode})", file=sys.stderr, flush=True)
    report = Report(mode=mode)
    for clips, settings in parts:
        report.add(evaluate(clips, mode=mode, settings=settings))
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


def pct(value: float | None) -> str:
    return "-" if value is None or value != value else f"{100 * value:.1f}%"


def table(out: Path, snrs: list[int], noises: list[str]) -> list[tuple[str, str, str, str]]:
    """The README's rows, from the reports the sets wrote under OUT."""

    def report(name: str) -> dict | None:
        path = out / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def both(summary: dict | None, get) -> tuple[str, str]:  # get: (block) -> value
        if summary is None:
            return "not run", "not run"
        return get(summary["recogniser"]), get(summary.get("baseline") or {})

    def stop_recall(block: dict) -> str:
        return pct(block.get("recall", {}).get("stop"))

    rows: list[tuple[str, str, str, str]] = []
    clean = report("clean")
    rows.append(("'stop' recall, clean", *both(clean, stop_recall), ">= 97%"))
    rows.append(("pain numbers top-1, before confirmation",
                 *both(report("numbers"), lambda b: pct(b.get("numbers_top1"))), ">= 90%"))
    for kind in noises:
        for snr in snrs:
            rows.append((f"'stop' recall, {kind} at {snr} dB SNR",
                         *both(report(f"{kind}-{snr}db"), stop_recall),
                         ">= 90%" if snr == 10 else ""))
    channel = report("stop-game-channel")
    if channel:
        rows.append(("'stop' recall through the game's 11 kHz MP3 channel",
                     *both(channel, stop_recall), ""))
    def false_accepts(talk: dict | None, what: str) -> None:
        minutes = f"{60 * talk['no_command_hours']:.0f} min" if talk else "not run"
        rows.append((f"false 'stop' per hour of {what} ({minutes})",
                     *both(talk, lambda b: f"{b.get('false_stops_per_hour') or 0:.1f}"), "<= 2"))
        rows.append((f"false accepts of any word per hour of {what}",
                     *both(talk, lambda b: f"{b.get('false_accepts_per_hour') or 0:.1f}"), ""))

    game = report("game-talk")
    if game:
        false_accepts(game, "game talk")
    false_accepts(report("talk"), "talk")
    rows.append(("decoding time, share of real time",
                 pct(clean["decode_x_real_time"]) if clean else "not run",
                 pct((clean.get("baseline") or {}).get("decode_x_real_time")) if clean
                 else "not run", ""))
    return rows


def fold_settings(spotter_folds: Path | None, probe_folds: Path | None,
                  fold: int) -> HearingSettings:
    """The settings that hear one half of the voices: the models fitted without it."""
    settings = HearingSettings()
    if spotter_folds is not None:
        settings = replace(settings, spotter_model=str(spotter_folds / f"fold-{fold}.npz"))
    if probe_folds is not None:
        settings = replace(settings,
                           stop_probe_model=str(probe_folds / f"probe-fold-{fold}.npz"))
    return settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder holding manifest.csv and the clips")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--snr", type=int, nargs="+", default=[20, 10, 5])
    parser.add_argument("--noise", nargs="+", default=["babble", "fan"])
    parser.add_argument("--spotter-folds", type=Path, metavar="DIR",
                        help="hear each half of the voices with the stop spotter's classifier "
                             "fitted without it (fit_stop_spotter.py --fold-models DIR)")
    parser.add_argument("--probe-folds", type=Path, metavar="DIR",
                        help="hear each half of the voices with the stop probe fitted without "
                             "it (fit_stop_rule.py --probe-folds DIR)")
    parser.add_argument("--game-talk", type=Path, metavar="DIR",
                        help="also hear hours of talk without 'stop' from a voiced game, and "
                             "'stop' through its channel (lab/make_game_talk.py --out DIR "
                             "--channel-copy SOURCE/manifest.csv)")
    parser.add_argument("--only", nargs="*", metavar="SET", default=None,
                        help="run just these sets (clean, numbers, talk, babble-10db, ...), "
                             "e.g. one share in each of two processes on the same --out; "
                             "the table covers every set whose report is in --out (with no "
                             "names: run nothing, print the table)")
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

    # Building is deterministic (seeded), so a later run on the same --out reuses what
    # is there and builds only the noise levels it lacks.
    noisy_base = out / "noisy-source" / "manifest.csv"
    if not noisy_base.exists():
        subset(manifest, noisy_base, stop_or_some_other)
    for kind in args.noise:
        for snr in args.snr:
            if not (out / "noisy" / f"{kind}-{snr}db" / "manifest.csv").exists():
                subprocess.run([sys.executable, str(SCRIPTS / "make_noisy_set.py"),
                                str(noisy_base), "--out", str(out / "noisy"),
                                "--snr", str(snr), "--noise", kind], check=True)
    joined_talk(manifest, out / "talk")
    if args.game_talk:
        joined_talk(args.game_talk / "manifest.csv", out / "game-talk")
    numbers = subset(manifest, out / "numbers" / "manifest.csv",
                     lambda r: r["label"] in NUMBER_WORDS)

    # Talk of each half of the voices, for --spotter-folds.
    for fold in range(FOLDS):
        talk = out / f"talk-fold-{fold}"
        if not (talk / "manifest.csv").exists():
            joined_talk(subset(manifest, talk / "source.csv",
                               lambda r, k=fold: speaker_fold(voice(r)) == k), talk)

    # Each set: its manifest, its mode, and the voice of every clip (noisy clips are
    # voices of noisy-source, in its order).
    source_voices = manifest_voices(noisy_base)
    sets: dict[str, tuple[Path, str, list[str]]] = {
        "clean": (manifest, "any", manifest_voices(manifest)),
        "numbers": (numbers, "number", manifest_voices(numbers))}
    for kind in args.noise:
        for snr in args.snr:
            sets[f"{kind}-{snr}db"] = (out / "noisy" / f"{kind}-{snr}db" / "manifest.csv", "any",
                                       source_voices)
    sets["talk"] = (out / "talk" / "manifest.csv", "any", [])
    if args.game_talk:
        channel = args.game_talk / "stop-channel" / "manifest.csv"
        sets["stop-game-channel"] = (channel, "any", manifest_voices(channel))
        sets["game-talk"] = (out / "game-talk" / "manifest.csv", "any", [])
    unknown = set(args.only or []) - set(sets)
    if unknown:
        parser.error(f"no set named {', '.join(sorted(unknown))}; sets: {', '.join(sets)}")
    for name, (set_manifest, mode, voices) in sets.items():
        if args.only is not None and name not in args.only:
            continue
        clips = read_manifest(set_manifest)
        if name == "game-talk":
            clips = talk_half(clips, 1)  # half A is the fit scripts' to learn from
        if name == "game-talk":
            # The game's voices were never in the spotter's training; the probe's second
            # half learnt half A of this talk (and more of the game's lines, never these)
            # and not half B, which is heard here.
            parts = [(clips, fold_settings(None, args.probe_folds, FOLDS - 1))]
        elif args.spotter_folds is None and args.probe_folds is None:
            parts = [(clips, HearingSettings())]
        else:
            parts = []
            for fold in range(FOLDS):
                settings = fold_settings(args.spotter_folds, args.probe_folds, fold)
                if name == "talk":
                    mine = read_manifest(out / f"talk-fold-{fold}" / "manifest.csv")
                else:
                    mine = [c for c, v in zip(clips, voices, strict=True)
                            if speaker_fold(v) == fold]
                parts.append((mine, settings))
        run(name, parts, mode, out)

    rows = table(out, args.snr, args.noise)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'':{width}}  voicecoach  recognize_sphinx  target")
    for label, ours, base, target in rows:
        print(f"{label:{width}}  {ours:>10}  {base:>16}  {target}")
    print(f"\nreports: {out}/*.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
