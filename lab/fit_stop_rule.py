"""Fit the stop probe and choose the rule by which the recogniser takes a reading for "stop".

    python lab/eval_dev_set.py SOURCE --out SETS --only      # builds the sets, runs nothing
    python lab/fit_stop_spotter.py SOURCE/manifest.csv --sets SETS --fold-models FOLDS
    python lab/fit_stop_rule.py SOURCE/manifest.csv --sets SETS --spotter-folds FOLDS
        [--readings FILE] [--game-talk GAME] [--more-game-talk MORE]
        [--probe-folds DIR] [--probe-out FILE]

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

The stop probe (voicecoach/voice/hearing/stop_probe.py) learns from the same
readings: a reading of a "stop" clip whose audio holds the whole word (found
from the clean clip's level) is a stop, a reading of audio without a command,
or of a "stop" clip before its word, is not, and a reading of part of the word
is left out. One probe is fitted for each half of the voices without it (half A
of the game's talk counts with the first half, B with the second), written to
--probe-folds DIR as probe-fold-K.npz for the eval, and these weigh the
readings of the half they never learnt for every rule printed. --probe-out FILE
fits one on every reading: the shipped one. With --more-game-talk MORE (lines
of the game that GAME does not hold: make_game_talk.py --after GAME --out
MORE) every probe also learns that talk; no figure is printed for it.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass, field, replace
from functools import cache
from multiprocessing import Pool
from pathlib import Path

# One BLAS thread per worker, set before numpy loads (voicecoach/__init__.py loads after it
# here): as in fit_stop_spotter.py, two workers' spinning OpenBLAS threads on two cores
# made hearing the sets about four times slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
from eval_dev_set import joined_talk  # noqa: E402  (lab/, the script's own folder)

from devkit.devset import manifest_voices, speaker_fold, talk_half
from devkit.readings import NEVER_STOP, ReadingRecogniser
from voicecoach.voice.hearing import HearingSettings
from voicecoach.voice.hearing.evaluate import (
    NO_COMMAND,
    PAD_S,
    hear_clip,
    read_manifest,
)
from voicecoach.voice.hearing.levels import FRAME_SAMPLES
from voicecoach.voice.hearing.settings import OFFLINE_JUDGE_TIMEOUT_S, Says, StopRule
from voicecoach.voice.hearing.stop_probe import StopProbe
from voicecoach.voice.hearing.whisper_reader import Reading
from voicecoach.voice.pcm import RATE, read_wav

FOLDS = 2
PROBE_L2 = 1e-3
"""The probe's weight decay (on standardised inputs): 1e-2 let more false stops through
on the half of the game's talk it never learnt, at every threshold (README)."""
PROBE_STEPS = 1500


@dataclass(frozen=True)
class Seen:
    """One reading of one segment of one clip."""

    reading: Reading
    spot_max: float
    last: bool
    segment: int
    t: float
    """Where the reading's audio ends on the clip's timeline (seconds, room tone included)."""


@dataclass
class ClipReadings:
    set_name: str
    label: str
    seconds: float
    readings: list[Seen]
    fold: int
    """The half of the voices (or of the game's talk) the clip belongs to."""
    word: tuple[float, float] | None
    """Where a "stop" clip's word is on the timeline the readings' `t` uses (seconds)."""
    probe: list[float] = field(default_factory=list)
    """The stop probe's score of each reading, by the probe that never learnt the clip."""


Job = tuple[str, str, str, Path, float, Path]
"""set, label, voice, the clip, where its word starts (its lead, seconds) in the clip
that says it cleanly, and that clip."""


@cache
def word_span(clean: Path) -> tuple[float, float]:
    """Where the word is in a clip of one word said cleanly (seconds): from the first to
    the last 10 ms frame within 35 dB of its loudest (and 12 dB above its quietest tenth)."""
    x = read_wav(clean).astype(np.float64)
    frames = len(x) // FRAME_SAMPLES
    level = 10 * np.log10((x[:frames * FRAME_SAMPLES].reshape(frames, FRAME_SAMPLES) ** 2)
                          .mean(axis=1) + 1.0)
    loud = np.nonzero(level >= max(np.percentile(level, 10) + 12, level.max() - 35))[0]
    return float(loud[0] * FRAME_SAMPLES / RATE), float((loud[-1] + 1) * FRAME_SAMPLES / RATE)


def hear_fold(job: tuple[int, list[Job], str]) -> list[ClipReadings]:
    """Hear one share of the clips; spotter_model "" is the shipped classifier."""
    fold, clips, spotter_model = job
    out: list[ClipReadings] = []
    with tempfile.TemporaryDirectory() as scratch:
        # The probe is what this fits: the readings must not depend on one (384: the
        # width of Whisper tiny.en's encoder).
        indifferent = Path(scratch) / "probe.npz"
        StopProbe(np.zeros(384), np.ones(384), np.zeros(384), 0.0).save(indifferent)
        settings = replace(HearingSettings(), spotter_model=spotter_model,
                           stop_rule=NEVER_STOP, stop_probe_model=str(indifferent),
                           judge_timeout_s=OFFLINE_JUDGE_TIMEOUT_S)
        with ReadingRecogniser(settings) as recogniser:
            for set_name, label, _, path, lead, clean in clips:
                seen: list[Seen] = []
                segment = [0]

                def hook(reading: Reading, spot_max: float, last: bool,
                         seen: list[Seen] = seen, segment: list[int] = segment) -> None:
                    seen.append(Seen(reading, spot_max, last, segment[0], recogniser.now))
                    segment[0] += last

                recogniser.seen = hook
                samples = read_wav(path)
                hear_clip(recogniser, samples)
                word = None
                if label == "stop":
                    start, end = word_span(clean)
                    word = (PAD_S + lead + start, PAD_S + lead + end)
                out.append(ClipReadings(set_name, label, len(samples) / RATE, seen,
                                        fold % FOLDS, word))
            print(f"share {fold}: {len(out)} clips heard", file=sys.stderr, flush=True)
    return out


def collect(manifest: Path, sets: Path, folds: Path) -> list[ClipReadings]:
    source = read_manifest(sets / "noisy-source" / "manifest.csv")
    source_voices = manifest_voices(sets / "noisy-source" / "manifest.csv")
    jobs: list[list[Job]] = [[] for _ in range(FOLDS)]
    clean = read_manifest(manifest)
    for clip, voice in zip(clean, manifest_voices(manifest), strict=True):
        if clip.label in ("stop", NO_COMMAND):
            jobs[speaker_fold(voice)].append(("clean", clip.label, voice, clip.path, 0.0,
                                              clip.path))
    for name in ("babble-10db", "fan-10db"):
        rows = sets / "noisy" / name / "manifest.csv"
        leads = [float(row["lead_s"]) for row in csv.DictReader(rows.open())]
        for clip, voice, lead, said in zip(read_manifest(rows), source_voices, leads, source,
                                           strict=True):
            jobs[speaker_fold(voice)].append((name, clip.label, voice, clip.path, lead,
                                              said.path))
    for fold in range(FOLDS):
        for clip in read_manifest(sets / f"talk-fold-{fold}" / "manifest.csv"):
            jobs[fold].append(("talk", NO_COMMAND, "", clip.path, 0.0, clip.path))
    with Pool(FOLDS) as pool:
        parts = pool.map(hear_fold, [(k, jobs[k], str(folds / f"fold-{k}.npz"))
                                     for k in range(FOLDS)])
    return [clip for part in parts for clip in part]


def collect_game(sets: Path, folds: Path, game: Path, spotter: str) -> list[ClipReadings]:
    """The game's talk (SETS/game-talk, from eval_dev_set.py --game-talk GAME) in two halves,
    alternate minutes, heard with `spotter` ("": the shipped one), and
    GAME's "stop" clips through the game's channel, by voice folds as the eval."""
    talk = read_manifest(sets / "game-talk" / "manifest.csv")
    jobs = [(half, [(f"game-talk-{'AB'[half]}", NO_COMMAND, "", clip.path, 0.0, clip.path)
                    for clip in talk_half(talk, half)], spotter) for half in range(2)]
    channel = game / "stop-channel" / "manifest.csv"
    pairs = list(zip(read_manifest(channel), manifest_voices(channel), strict=True))
    for fold in range(FOLDS):
        jobs.append((FOLDS + fold, [("stop-game-channel", c.label, v, c.path, 0.0, c.path)
                                    for c, v in pairs if speaker_fold(v) == fold],
                     str(folds / f"fold-{fold}.npz")))
    with Pool(2) as pool:
        parts = pool.map(hear_fold, jobs)
    return [clip for part in parts for clip in part]


LEARNT_BY_EVERY_PROBE = -1
"""The fold of talk that only teaches: no fold's probe is measured on it."""


def collect_more_game(sets: Path, more: Path, spotter: str) -> list[ClipReadings]:
    """More of the game's talk (make_game_talk.py --after GAME --out MORE), joined as the
    eval joins GAME's, into SETS/game-talk-more, and heard in two halves at once."""
    joined_talk(more / "manifest.csv", sets / "game-talk-more")
    talk = read_manifest(sets / "game-talk-more" / "manifest.csv")
    jobs = [(half, [("game-talk-more", NO_COMMAND, "", clip.path, 0.0, clip.path)
                    for clip in talk_half(talk, half)], spotter) for half in range(2)]
    with Pool(2) as pool:
        parts = pool.map(hear_fold, jobs)
    clips = [clip for part in parts for clip in part]
    for clip in clips:
        clip.fold = LEARNT_BY_EVERY_PROBE
    return clips


def probe_examples(clips: list[ClipReadings]) -> tuple[np.ndarray, np.ndarray]:
    """The readings' endings, and whether each is of a whole "stop" (1) or of no stop (0);
    a reading of part of the word is left out. The readings of a segment still open end
    its last `stop_read_s`, its closing reading the whole of it: `seconds` says which."""
    endings, stops = [], []
    for clip in clips:
        for seen in clip.readings:
            if clip.word is None:
                stop = 0
            else:
                start, end = clip.word
                if seen.t >= end - 0.05 and seen.t - seen.reading.seconds <= start + 0.1:
                    stop = 1
                elif seen.t < start + 0.1:
                    stop = 0
                else:
                    continue
            endings.append(seen.reading.ending)
            stops.append(stop)
    return np.array(endings, dtype=np.float64), np.array(stops, dtype=np.float64)


def fit_probe(clips: list[ClipReadings]) -> StopProbe:
    """Logistic regression by gradient descent on standardised endings, the two classes
    weighed alike (stops are about a quarter of the readings)."""
    x, y = probe_examples(clips)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / scale
    weight = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(PROBE_STEPS):
        p = np.exp(-np.logaddexp(0.0, -(z @ w + b)))
        g = (p - y) * weight
        w -= 0.5 * (z.T @ g / len(y) + PROBE_L2 * w)
        b -= 0.5 * float(g.mean())
    return StopProbe(mean.astype(np.float32), scale.astype(np.float32), w.astype(np.float32), b)


def stops_taken(clip: ClipReadings, rule: StopRule) -> int:
    """Segments of the clip in which the rule's readings make a stop."""
    said: dict[int, list[Says]] = {}
    for seen, probe in zip(clip.readings, clip.probe, strict=True):
        said.setdefault(seen.segment, []).append(rule.says(seen.reading, seen.spot_max, probe))
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
    parser.add_argument("--more-game-talk", type=Path, metavar="MORE",
                        help="also let every probe learn the game's lines in MORE "
                             "(make_game_talk.py --after GAME --out MORE)")
    parser.add_argument("--probe-folds", type=Path, metavar="DIR",
                        help="write the stop probe fitted without each half of the voices "
                             "here (probe-fold-K.npz), for eval_dev_set.py --probe-folds")
    parser.add_argument("--probe-out", type=Path, metavar="FILE",
                        help="write the stop probe fitted on every reading here (the shipped "
                             "one is voicecoach/voice/hearing/models/stop_probe.npz)")
    args = parser.parse_args()
    if args.readings is not None and args.readings.exists():
        clips = pickle.loads(args.readings.read_bytes())
    else:
        clips = collect(args.manifest, args.sets, args.spotter_folds)
    if args.game_talk and not any(c.set_name.startswith("game-talk") for c in clips):
        clips += collect_game(args.sets, args.spotter_folds, args.game_talk,
                              str(args.game_spotter or ""))
    if args.more_game_talk and not any(c.set_name == "game-talk-more" for c in clips):
        clips += collect_more_game(args.sets, args.more_game_talk, str(args.game_spotter or ""))
    if args.readings is not None:
        args.readings.write_bytes(pickle.dumps(clips))
    if args.probe_out is not None:
        fit_probe(clips).save(args.probe_out)
    for fold in range(FOLDS):
        probe = fit_probe([c for c in clips if c.fold != fold])
        if args.probe_folds is not None:
            args.probe_folds.mkdir(parents=True, exist_ok=True)
            probe.save(args.probe_folds / f"probe-fold-{fold}.npz")
        for clip in clips:
            if clip.fold == fold:
                clip.probe = [probe.score(seen.reading.ending) for seen in clip.readings]
    shipped = HearingSettings().stop_rule
    grid = [StopRule(spotter=s, with_spotter=w, alone=a, agree=n, probe=p, sure=u)
            for s, w, a, n, p, u in itertools.product(
                (0.5, 0.7), (0.0002, 0.0005, 0.001, 0.002), (0.02,), (1, 2),
                (-math.inf, 0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5), (math.inf, 0.5, 0.3, 0.2, 0.1))]
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
