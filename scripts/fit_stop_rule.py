"""Choose the rule by which the recogniser takes a reading for "stop" (settings.py).

    python scripts/eval_dev_set.py SOURCE --out SETS --only      # builds the sets, runs nothing
    python scripts/fit_stop_spotter.py SOURCE/manifest.csv --sets SETS --fold-models FOLDS
    python scripts/fit_stop_rule.py SOURCE/manifest.csv --sets SETS --spotter-folds FOLDS
        [--readings FILE]

Every "stop" clip and every clip without a command, clean, with babble and
with fan noise at 10 dB (SETS/noisy), and the continuous talk, go through the
live recogniser with a rule that never reports "stop", so that every reading
the judge makes is seen (the moments of reading do not depend on the rule but
on the spotter's cue, settings.spotter_cue; only a reported stop ends the
readings of its segment, and the first reading a rule takes is before that).
Cross-validated by voice, as the eval: each half of the voices is heard with
the spotter fitted without them.

Then each candidate rule is applied to the readings, and printed: "stop"
recall (clean, babble, fan), false stops in the no-command clips, and false
stops per hour of talk, each counted once per segment. With --readings FILE
the readings are kept and read back by the next run. With --game-talk GAME the
game's talk (false stops per hour, each half of it apart, so that a rule chosen on
one half is measured on the other) and the "stop" clips through its channel join in.
"""

from __future__ import annotations

import argparse
import itertools
import pickle
import sys
from dataclasses import dataclass, replace
from multiprocessing import Pool
from pathlib import Path

from voicecoach.voice.hearing import HearingSettings, Recogniser
from voicecoach.voice.hearing.evaluate import (
    NO_COMMAND,
    hear_clip,
    manifest_voices,
    read_manifest,
    speaker_fold,
    talk_half,
)
from voicecoach.voice.hearing.settings import OFFLINE_JUDGE_TIMEOUT_S, Says, StopRule
from voicecoach.voice.hearing.whisper_reader import Reading
from voicecoach.voice.pcm import read_wav

FOLDS = 2


@dataclass(frozen=True)
class Seen:
    """One reading of one segment of one clip."""

    reading: Reading
    spot_max: float
    last: bool
    segment: int


@dataclass
class ClipReadings:
    set_name: str
    label: str
    seconds: float
    readings: list[Seen]


def hear_fold(job: tuple[int, list[tuple[str, str, str, Path]], str]) -> list[ClipReadings]:
    """Hear one share of the clips; spotter_model "" is the shipped classifier."""
    fold, clips, spotter_model = job
    never = StopRule(spotter=2.0, with_spotter=2.0, alone=2.0, agree=sys.maxsize)
    settings = replace(HearingSettings(), spotter_model=spotter_model, stop_rule=never,
                       judge_timeout_s=OFFLINE_JUDGE_TIMEOUT_S)
    out: list[ClipReadings] = []
    with Recogniser(settings) as recogniser:
        for set_name, label, _, path in clips:
            seen: list[Seen] = []
            segment = [0]

            def hook(reading: Reading, spot_max: float, last: bool,
                     seen: list[Seen] = seen, segment: list[int] = segment) -> None:
                seen.append(Seen(reading, spot_max, last, segment[0]))
                segment[0] += last

            recogniser.on_reading = hook
            samples = read_wav(path)
            hear_clip(recogniser, samples)
            out.append(ClipReadings(set_name, label, len(samples) / 16000, seen))
        print(f"fold {fold}: {len(out)} clips heard", file=sys.stderr, flush=True)
    return out


def collect(manifest: Path, sets: Path, folds: Path) -> list[ClipReadings]:
    source_voices = manifest_voices(sets / "noisy-source" / "manifest.csv")
    jobs: list[list[tuple[str, str, str, Path]]] = [[] for _ in range(FOLDS)]
    clean = read_manifest(manifest)
    for clip, voice in zip(clean, manifest_voices(manifest), strict=True):
        if clip.label in ("stop", NO_COMMAND):
            jobs[speaker_fold(voice)].append(("clean", clip.label, voice, clip.path))
    for name in ("babble-10db", "fan-10db"):
        noisy = read_manifest(sets / "noisy" / name / "manifest.csv")
        for clip, voice in zip(noisy, source_voices, strict=True):
            jobs[speaker_fold(voice)].append((name, clip.label, voice, clip.path))
    for fold in range(FOLDS):
        for clip in read_manifest(sets / f"talk-fold-{fold}" / "manifest.csv"):
            jobs[fold].append(("talk", NO_COMMAND, "", clip.path))
    with Pool(FOLDS) as pool:
        parts = pool.map(hear_fold, [(k, jobs[k], str(folds / f"fold-{k}.npz"))
                                     for k in range(FOLDS)])
    return [clip for part in parts for clip in part]


def collect_game(sets: Path, folds: Path, game: Path, spotter: str) -> list[ClipReadings]:
    """The game's talk (SETS/game-talk, from eval_dev_set.py --game-talk GAME) in two halves,
    alternate minutes, heard with `spotter` ("": the shipped one), and
    GAME's "stop" clips through the game's channel, by voice folds as the eval."""
    talk = read_manifest(sets / "game-talk" / "manifest.csv")
    jobs = [(half, [(f"game-talk-{'AB'[half]}", NO_COMMAND, "", clip.path)
                    for clip in talk_half(talk, half)], spotter) for half in range(2)]
    channel = game / "stop-channel" / "manifest.csv"
    pairs = list(zip(read_manifest(channel), manifest_voices(channel), strict=True))
    for fold in range(FOLDS):
        jobs.append((2 + fold, [("stop-game-channel", c.label, v, c.path) for c, v in pairs
                                if speaker_fold(v) == fold], str(folds / f"fold-{fold}.npz")))
    with Pool(2) as pool:
        parts = pool.map(hear_fold, jobs)
    return [clip for part in parts for clip in part]


def stops_taken(clip: ClipReadings, rule: StopRule) -> int:
    """Segments of the clip in which the rule's readings make a stop."""
    said: dict[int, list[Says]] = {}
    for seen in clip.readings:
        said.setdefault(seen.segment, []).append(rule.says(seen.reading, seen.spot_max))
    # Readings go on after a stop only when the rule is not satisfied yet; once it is, what
    # follows in the segment changes nothing, so judging each whole segment is exact.
    return sum(rule.decides(readings) for readings in said.values())


def recall(stops: list[ClipReadings], rule: StopRule) -> float:
    """Share of the "stop" clips in which the rule takes a stop."""
    return sum(stops_taken(c, rule) > 0 for c in stops) / len(stops)


def measure(clips: list[ClipReadings], rule: StopRule) -> dict[str, float]:
    result: dict[str, float] = {}
    for name in ("clean", "babble-10db", "fan-10db"):
        mine = [c for c in clips if c.set_name == name]
        stops = [c for c in mine if c.label == "stop"]
        others = [c for c in mine if c.label == NO_COMMAND]
        result[f"{name} recall"] = recall(stops, rule)
        result[f"{name} false"] = sum(stops_taken(c, rule) for c in others)
    for name in ("talk", "game-talk-A", "game-talk-B"):
        talk = [c for c in clips if c.set_name == name]
        if talk:
            hours = sum(c.seconds for c in talk) / 3600
            result[f"{name} false/h"] = sum(stops_taken(c, rule) for c in talk) / hours
    channel = [c for c in clips if c.set_name == "stop-game-channel"]
    if channel:
        result["channel recall"] = recall(channel, rule)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--sets", type=Path, required=True)
    parser.add_argument("--spotter-folds", type=Path, required=True)
    parser.add_argument("--readings", type=Path)
    parser.add_argument("--game-talk", type=Path, metavar="GAME",
                        help="also the game's talk in SETS/game-talk and the 'stop' clips "
                             "through its channel in GAME (make_game_talk.py --out GAME)")
    parser.add_argument("--game-spotter", type=Path, metavar="FILE",
                        help="the stop spotter's classifier for the game's talk (default: the "
                             "shipped one; fit_stop_spotter.py --game-talk --out FILE learns "
                             "its half A)")
    args = parser.parse_args()
    if args.readings is not None and args.readings.exists():
        clips = pickle.loads(args.readings.read_bytes())
    else:
        clips = collect(args.manifest, args.sets, args.spotter_folds)
    if args.game_talk and not any(c.set_name.startswith("game-talk") for c in clips):
        clips += collect_game(args.sets, args.spotter_folds, args.game_talk,
                              str(args.game_spotter or ""))
    if args.readings is not None:
        args.readings.write_bytes(pickle.dumps(clips))
    shipped = HearingSettings().stop_rule
    grid = [StopRule(spotter=s, with_spotter=w, alone=a, agree=n)
            for s, w, a, n in itertools.product((0.5, 0.7, 0.9), (0.001, 0.002, 0.005),
                                                (0.01, 0.02, 0.05), (1, 2, 3))]
    rows = [(rule, measure(clips, rule)) for rule in [shipped, *grid]]
    names = list(rows[0][1])
    print("rule".ljust(60) + "".join(n.rjust(20) for n in names))
    for rule, figures in rows:
        label = ("shipped " if rule is shipped else "") + repr(rule).removeprefix("StopRule")
        print(label.ljust(60) + "".join(
            (f"{100 * v:.1f}%" if n.endswith("recall") else f"{v:.1f}").rjust(20)
            for n, v in figures.items()))


if __name__ == "__main__":
    main()
