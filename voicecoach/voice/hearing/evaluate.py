"""`voicecoach eval`: run labelled clips through the live recogniser and count what it got right.

Each clip is padded with its own room tone (see `padded`), fed in 30 ms chunks to the same
Recogniser the session uses (reset between clips, so each clip starts a
fresh timeline; the streaming decoder's running cepstral mean carries over
from clip to clip, as it does through a long session), and judged by its
most confident detection. In the same run each clip goes
through a plain SpeechRecognition `recognize_sphinx` call with a JSGF grammar
of the same vocabulary (whole clip, new decoder per call), the usual way
pocketsphinx is used from Python, as a baseline.
"""

from __future__ import annotations

import csv
import logging
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from voicecoach.session.commands import NUMBER_WORDS, VOCABULARY, canonical
from voicecoach.voice.hearing.levels import FRAME_SAMPLES
from voicecoach.voice.hearing.recogniser import RATE, Detection, Recogniser
from voicecoach.voice.hearing.settings import OFFLINE_JUDGE_TIMEOUT_S, HearingSettings
from voicecoach.voice.pcm import AudioFormatError, read_wav

logger = logging.getLogger(__name__)

NO_COMMAND = "_"
"""Label of a clip that holds no command (other speech, noise, silence)."""
PAD_S = 0.5
"""Room tone before and after each clip (seconds)."""
ROOM_TONE_S = 0.1
"""Length of the clip's quietest stretch that is repeated as its room tone (seconds)."""
CHUNK_SAMPLES = 480
"""30 ms chunks, as the live loop feeds them."""


class ManifestError(ValueError):
    """The manifest cannot be used."""


@dataclass(frozen=True)
class Clip:
    path: Path
    label: str
    """A vocabulary word or NO_COMMAND."""


@dataclass
class Outcome:
    clip: Clip
    predicted: str
    """Most confident detection's word, or NO_COMMAND."""
    detections: list[Detection]
    seconds: float
    """Length of the clip itself, without padding (seconds)."""
    baseline: str | None = None


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    decode_s: float = 0.0
    """Wall-clock time the recogniser took over all clips (seconds): its searches run in a
    process of their own, so this process's CPU time would leave them out."""
    audio_s: float = 0.0
    """Audio fed, padding included (seconds)."""
    baseline_s: float = 0.0
    mode: str = "any"

    def add(self, other: Report) -> None:
        """Pool another report's clips and times into this one (a set heard in parts)."""
        self.outcomes += other.outcomes
        self.decode_s += other.decode_s
        self.audio_s += other.audio_s
        self.baseline_s += other.baseline_s

    def labels(self) -> list[str]:
        return sorted({o.clip.label for o in self.outcomes}, key=_label_order)

    def recall(self, label: str, *, baseline: bool = False) -> float:
        mine = [o for o in self.outcomes if o.clip.label == label]
        if not mine:
            return float("nan")
        right = sum((o.baseline if baseline else o.predicted) == label for o in mine)
        return right / len(mine)

    def confusion(self, *, baseline: bool = False) -> dict[str, Counter[str]]:
        table: dict[str, Counter[str]] = {}
        for o in self.outcomes:
            guess = o.baseline if baseline else o.predicted
            table.setdefault(o.clip.label, Counter())[guess or NO_COMMAND] += 1
        return table

    def no_command_hours(self) -> float:
        return sum(o.seconds for o in self.outcomes if o.clip.label == NO_COMMAND) / 3600

    def false_accepts(self, word: str | None = None, *, baseline: bool = False) -> int:
        """Detections in clips that hold no command (all of them, or of one word)."""
        count = 0
        for o in self.outcomes:
            if o.clip.label != NO_COMMAND:
                continue
            if baseline:
                count += o.baseline not in (None, NO_COMMAND) and word in (None, o.baseline)
            else:
                count += sum(word in (None, d.word) for d in o.detections)
        return count

    def per_hour(self, word: str | None = None, *, baseline: bool = False) -> float | None:
        hours = self.no_command_hours()
        return self.false_accepts(word, baseline=baseline) / hours if hours else None

    def group_accuracy(self, group: frozenset[str], *, baseline: bool = False) -> float | None:
        mine = [o for o in self.outcomes if o.clip.label in group]
        if not mine:
            return None
        return sum((o.baseline if baseline else o.predicted) == o.clip.label
                   for o in mine) / len(mine)

    def has_baseline(self) -> bool:
        return any(o.baseline is not None for o in self.outcomes)

    def summary(self) -> dict[str, object]:
        numbers = frozenset(NUMBER_WORDS)

        def block(baseline: bool) -> dict[str, object]:
            return {
                "recall": {lab: _r(self.recall(lab, baseline=baseline)) for lab in self.labels()},
                "numbers_top1": _r(self.group_accuracy(numbers, baseline=baseline)),
                "false_accepts_per_hour": _r(self.per_hour(baseline=baseline)),
                "false_stops_per_hour": _r(self.per_hour("stop", baseline=baseline)),
                "false_accepts": self.false_accepts(baseline=baseline),
                "false_stops": self.false_accepts("stop", baseline=baseline),
                "confusion": {k: dict(v) for k, v in self.confusion(baseline=baseline).items()},
            }

        result: dict[str, object] = {
            "clips": len(self.outcomes),
            "mode": self.mode,
            "no_command_hours": _r(self.no_command_hours(), 4),
            "recogniser": block(False),
            "decode_x_real_time": _r(self.decode_s / self.audio_s if self.audio_s else None, 4),
        }
        if self.has_baseline():
            result["baseline"] = {
                "method": "speech_recognition recognize_sphinx(grammar=JSGF of the vocabulary)",
                **block(True),
                "decode_x_real_time": _r(self.baseline_s / self.audio_s if self.audio_s else None,
                                         4),
            }
            result["speed_ratio_baseline_over_recogniser"] = _r(
                self.baseline_s / self.decode_s if self.decode_s else None, 1)
        return result


def _r(value: float | None, digits: int = 3) -> float | None:
    if value is None or value != value:  # None or NaN
        return None
    return round(value, digits)


def _label_order(label: str) -> tuple[int, int, str]:
    if label == "stop":
        return (0, 0, label)
    if label in NUMBER_WORDS:
        return (1, NUMBER_WORDS[label], label)
    if label == NO_COMMAND:
        return (3, 0, label)
    return (2, 0, label)


def read_manifest(path: Path, limit: int | None = None) -> list[Clip]:
    """Rows of path,label (more columns allowed); paths relative to the manifest's folder.

    `limit` clips are taken in turn from each label (the first clip of every label, then
    the second, ...), in the manifest's order: a manifest sorted by label would otherwise
    give a sample of one label, and a figure of nothing."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc}") from exc
    if not rows:
        raise ManifestError(f"{path}: no clips listed (a header line path,label, then a "
                            "row per clip)")
    if "path" not in rows[0] or "label" not in rows[0]:
        raise ManifestError(f"{path}: expected a CSV with columns path,label")
    clips = []
    for number, row in enumerate(rows, start=2):
        raw = (row["label"] or "").strip()
        label = NO_COMMAND if raw == NO_COMMAND else canonical(raw)
        if label is None:
            raise ManifestError(f"{path}, line {number}: label {raw!r} is not a vocabulary word "
                                f"or {NO_COMMAND!r}")
        clips.append(Clip(path.parent / row["path"], label))
    return clips if limit is None else _across_labels(clips, limit)


def _across_labels(clips: list[Clip], limit: int) -> list[Clip]:
    by_label: dict[str, list[Clip]] = {}
    for clip in clips:
        by_label.setdefault(clip.label, []).append(clip)
    chosen: list[Clip] = []
    for turn in range(max(len(group) for group in by_label.values())):
        for group in by_label.values():
            if turn < len(group) and len(chosen) < limit:
                chosen.append(group[turn])
    order = {id(clip): i for i, clip in enumerate(clips)}
    return sorted(chosen, key=lambda clip: order[id(clip)])


def room_tone(samples: np.ndarray, length: int) -> np.ndarray:
    """`length` samples of the background the recording was made in: its quietest
    ROOM_TONE_S, repeated forwards and backwards (so the joins do not click).

    A live microphone hears the room before and after a word, and the recogniser's
    noise floor settles on it; digital silence around a recording made over a fan
    (or mixed with one) is a jump from nothing to noise that no microphone produces,
    and it kept the noise floor at zero (measured: one speaker's 31 takes of "stop"
    over a loud fan, 1 heard with silence around them, 18 with their room tone).
    """
    window = round(ROOM_TONE_S * RATE)
    frames = len(samples) // FRAME_SAMPLES
    span = window // FRAME_SAMPLES
    if frames < 2 * span:
        return np.zeros(length, dtype=np.int16)
    x = samples[: frames * FRAME_SAMPLES].astype(np.float64).reshape(frames, FRAME_SAMPLES)
    energy = np.convolve((x * x).mean(axis=1), np.ones(span), mode="valid")
    start = int(np.argmin(energy)) * FRAME_SAMPLES
    quiet = samples[start: start + window].astype(np.int16)
    tiles = [quiet if i % 2 == 0 else quiet[::-1] for i in range(length // window + 1)]
    return np.concatenate(tiles)[:length]


def speech_end(samples: np.ndarray, threshold_ratio: float = 0.1) -> float:
    """Where the word ends: the last 10 ms frame above 10% of the clip's loudest frame and
    above three times its room tone (10 dB: in a recording made over a fan, the fan alone
    can pass 10% of the word's peak)."""
    frames = samples[: len(samples) // 160 * 160].astype(np.float64).reshape(-1, 160)
    rms = np.sqrt(np.mean(frames ** 2, axis=1))
    tone = room_tone(samples, 1600).astype(np.float64)
    threshold = max(threshold_ratio * rms.max(), 3 * np.sqrt(np.mean(tone ** 2)))
    loud = np.nonzero(rms > threshold)[0]
    return (loud[-1] + 1) * 160 / RATE


def padded(samples: np.ndarray) -> bytes:
    """The clip with PAD_S of its room tone before and after it, as 16-bit PCM."""
    pad = room_tone(samples, round(PAD_S * RATE))
    return np.concatenate([pad, samples.astype(np.int16), pad]).astype("<i2").tobytes()


def run_clip(recogniser: Recogniser, pcm: bytes, step: int = CHUNK_SAMPLES * 2) -> list[Detection]:
    """Feed one padded clip as a fresh stream, in chunks of `step` bytes (30 ms)."""
    recogniser.reset()
    found: list[Detection] = []
    for offset in range(0, len(pcm), step):
        found.extend(recogniser.feed(pcm[offset: offset + step]))
    found.extend(recogniser.flush())
    return found


def hear_clip(recogniser: Recogniser, samples: np.ndarray) -> list[Detection]:
    """A recording heard as if the microphone had been open in its room before and after
    it (a clip that starts on the word gives the segmenter no room to hear the word
    begin); times are from the start of the recording."""
    found = run_clip(recogniser, padded(samples))
    return [replace(d, t_end=round(max(0.0, d.t_end - PAD_S), 3)) for d in found]


class SphinxBaseline:
    """SpeechRecognition's recognize_sphinx with a JSGF grammar of the vocabulary."""

    def __init__(self) -> None:
        import speech_recognition

        self._sr = speech_recognition
        self._recognizer = speech_recognition.Recognizer()
        self._dir = tempfile.TemporaryDirectory(prefix="voicecoach-baseline-")
        self._grammar = Path(self._dir.name) / "commands.gram"
        words = sorted(VOCABULARY | {"how long"})
        self._grammar.write_text("#JSGF V1.0;\ngrammar commands;\npublic <commands> = "
                                 + " | ".join(words) + ";\n")

    def __call__(self, pcm: bytes) -> str:
        audio = self._sr.AudioData(pcm, RATE, 2)
        # SpeechRecognition caches the compiled grammar beside the JSGF file, and its code
        # for reading that cache fails with pocketsphinx 5: compile afresh every call.
        self._grammar.with_suffix(".fsg").unlink(missing_ok=True)
        try:
            with warnings.catch_warnings():
                # Its calls into pocketsphinx 5 use names deprecated there; not ours to fix.
                warnings.simplefilter("ignore", DeprecationWarning)
                text = self._recognizer.recognize_sphinx(audio, grammar=str(self._grammar))
        except self._sr.UnknownValueError:
            return NO_COMMAND
        return canonical(text) or NO_COMMAND

    def close(self) -> None:
        self._dir.cleanup()


def evaluate(clips: list[Clip], *, settings: HearingSettings | None = None,
             mode: str = "any", baseline: bool = True,
             progress: Callable[[int], None] | None = None) -> Report:
    """Run every clip; returns the Report. `progress(n)` is called after each clip."""
    recogniser = Recogniser(replace(settings or HearingSettings(),
                                    judge_timeout_s=OFFLINE_JUDGE_TIMEOUT_S))
    recogniser.expect(mode)
    sphinx = SphinxBaseline() if baseline else None
    report = Report(mode=mode)
    try:
        for clip in clips:
            try:
                samples = read_wav(clip.path)
            except (AudioFormatError, OSError) as exc:
                raise ManifestError(f"{clip.path}: {exc}") from exc
            pcm = padded(samples)
            started = time.perf_counter()
            detections = run_clip(recogniser, pcm)
            report.decode_s += time.perf_counter() - started
            report.audio_s += len(pcm) / 2 / RATE
            best = max(detections, key=lambda d: d.confidence, default=None)
            outcome = Outcome(clip, best.word if best else NO_COMMAND, detections,
                              len(samples) / RATE)
            if sphinx is not None:
                started = time.perf_counter()
                outcome.baseline = sphinx(pcm)
                report.baseline_s += time.perf_counter() - started
            report.outcomes.append(outcome)
            if progress is not None:
                progress(1)
    finally:
        recogniser.close()
        if sphinx is not None:
            sphinx.close()
    return report
