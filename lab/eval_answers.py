"""Answers from noise: what the recogniser takes for a pain number or a yes/no when the
user says nothing that answers, against what it takes from real answers.

    python lab/eval_answers.py $DEVSET/manifest.csv [--per-kind N] [--cache F] [--misses]

Every clip is heard as it would be after a question (`expect("number")`, then
`expect("confirm")`), padded with its own room tone. For each clip the closing reading
of each speech segment is kept (Whisper's first-word probabilities, transcript and
no-speech probability), and the answer rule is applied to it as shipped and with each
candidate rejection:

- no_speech: Whisper's probability that the segment holds no speech, under a bound;
- said: the transcript itself names the answer (a digit or its word), not only the
  first word's probability distribution;
- said, with a floor on the first word: the transcript names the answer, and Whisper's
  first-word probabilities give the answer words together at least a set total (room
  tone read as "Oh, no." names "no" with a total of 0.05).

--cache keeps the readings in a file, so that rules can be compared again without
reading every clip (delete it when the recogniser changes); --misses prints the
transcripts of number clips that the said rule took nothing from, or the wrong number.

Printed per rule: answers taken from the noise clips (room tone, taps, fans: label
"_", path under _silence), from non-command words (label "_", elsewhere), and the share
of real answers still taken right (number clips in number mode; yes/no clips in
confirm mode).
"""

from __future__ import annotations

import argparse
import csv
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devkit.readings import ReadingRecogniser
from voicecoach.session.commands import NUMBER_WORDS
from voicecoach.voice.hearing import HearingSettings
from voicecoach.voice.hearing.evaluate import hear_clip
from voicecoach.voice.hearing.recogniser import ANSWERS
from voicecoach.voice.hearing.vocabulary import names
from voicecoach.voice.hearing.whisper_reader import Reading
from voicecoach.voice.pcm import read_wav


@dataclass
class Heard:
    label: str
    kind: str
    """"noise", "other" (non-command words), "number" or "yesno"."""
    mode: str
    readings: list[Reading]


def kind_of(row: dict[str, str]) -> str | None:
    if row["label"] == "_":
        return "noise" if "_silence" in row["path"] else "other"
    if row["label"] in NUMBER_WORDS:
        return "number"
    if row["label"] in ("yes", "no"):
        return "yesno"
    return None


def answer(reading: Reading, mode: str, threshold: float) -> str | None:
    """The shipped rule (Recogniser._answer)."""
    words = ANSWERS[mode]
    total = sum(reading.first[w] for w in words)
    if total < threshold:
        return None
    best = max(words, key=lambda w: reading.first[w])
    return None if best == "stop" else best


def said(reading: Reading, word: str) -> bool:
    return names(reading.words(), word)


def hear_all(manifest: Path, rows: list[tuple[dict[str, str], str]]) -> list[Heard]:
    captured: list[Reading] = []
    recogniser = ReadingRecogniser(seen=lambda reading, spot, last:
                                   captured.append(reading) if last else None)
    heard: list[Heard] = []
    for i, (row, kind) in enumerate(rows):
        samples = read_wav(manifest.parent / row["path"])
        modes = {"number": ["number"], "yesno": ["confirm"]}.get(kind, ["number", "confirm"])
        for mode in modes:
            recogniser.reset()
            recogniser.expect(mode)
            captured.clear()
            hear_clip(recogniser, samples)
            heard.append(Heard(row["label"], kind, mode, list(captured)))
        if (i + 1) % 200 == 0:
            print(f"  {i + 1}/{len(rows)} clips", flush=True)
    recogniser.close()
    return heard


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--per-kind", type=int, default=None,
                        help="at most this many clips of each kind, spread over the manifest")
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep the readings here, and read them back next time")
    parser.add_argument("--misses", action="store_true",
                        help="print what number clips the said rule missed were read as")
    args = parser.parse_args()
    with args.manifest.open() as f:
        rows = [(row, kind_of(row)) for row in csv.DictReader(f)]
    rows = [(row, kind) for row, kind in rows if kind is not None]
    if args.per_kind is not None:
        kept = []
        for kind in ("noise", "other", "number", "yesno"):
            group = [r for r in rows if r[1] == kind]
            step = max(1, len(group) // args.per_kind)
            kept += group[::step][: args.per_kind]
        rows = kept
    if args.cache is not None and args.cache.exists():
        with args.cache.open("rb") as f:
            heard: list[Heard] = pickle.load(f)
    else:
        heard = hear_all(args.manifest, rows)
        if args.cache is not None:
            with args.cache.open("wb") as f:
                pickle.dump(heard, f)
    settings = HearingSettings()
    threshold = settings.number_threshold
    confirm_threshold = settings.answer_threshold

    rules: dict[str, Callable[[Reading, str], str | None]] = {}

    def shipped(r: Reading, mode: str) -> str | None:
        return answer(r, mode, threshold if mode == "number" else confirm_threshold)

    rules["shipped"] = shipped
    for bound in (0.2, 0.4, 0.6):
        rules[f"no_speech < {bound}"] = (
            lambda r, m, b=bound: shipped(r, m) if r.no_speech < b else None)  # type: ignore[misc]
    rules["said"] = lambda r, m: (w if (w := shipped(r, m)) and said(r, w) else None)
    for least in (0.05, 0.1):
        rules[f"said, the answers' first-word total {least}+"] = (
            lambda r, m, t=least: (w if (w := shipped(r, m)) and said(r, w)  # type: ignore[misc]
                                   and sum(r.first[a] for a in ANSWERS[m]) >= t else None))
    for sure in (0.5, 0.8, 0.95):
        rules[f"said, or first word {sure}+ with no_speech < 0.4"] = (
            lambda r, m, t=sure: (w if (w := shipped(r, m)) and (  # type: ignore[misc]
                said(r, w) or (r.first[w] >= t and r.no_speech < 0.4)) else None))
    for bound in (0.4, 0.6):
        rules[f"said and no_speech < {bound}"] = (
            lambda r, m, b=bound: (w if (w := shipped(r, m)) and said(r, w)  # type: ignore[misc]
                                   and r.no_speech < b else None))

    print(f"{len(rows)} clips from {args.manifest}")
    print("| rule | noise: number mode | noise: confirm mode | other words: number | "
          "other words: confirm | numbers right | yes/no right |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, rule in rules.items():
        def taken(h: Heard, rule: Callable[[Reading, str], str | None] = rule) -> list[str]:
            return [w for r in h.readings if (w := rule(r, h.mode)) is not None]

        def count(kind: str, mode: str) -> str:
            group = [h for h in heard if h.kind == kind and h.mode == mode]
            return f"{sum(1 for h in group if taken(h))}/{len(group)}"

        def right(kind: str) -> str:
            group = [h for h in heard if h.kind == kind]
            good = sum(1 for h in group if taken(h)[:1] == [h.label])
            return f"{100 * good / max(1, len(group)):.1f}%"

        print(f"| {name} | {count('noise', 'number')} | {count('noise', 'confirm')} | "
              f"{count('other', 'number')} | {count('other', 'confirm')} | "
              f"{right('number')} | {right('yesno')} |")

    if args.misses:
        for h in heard:
            if h.kind != "number":
                continue
            got = [w for r in h.readings if (w := rules["said"](r, h.mode))]
            if got[:1] != [h.label]:
                texts = " | ".join(f"{r.text!r}" for r in h.readings)
                print(f"  {h.label}: took {got[:1] or '-'} from {texts}")

if __name__ == "__main__":
    main()
