"""The streaming recogniser: 16 kHz int16 audio in, command words out.

Design (one pipeline, used live and by `voicecoach eval`):

1. A segmenter (levels.py) cuts speech from background on 10 ms frames, with
   0.3 s of pre-roll so a soft first consonant is not lost. Silence costs
   almost nothing: no decoder runs outside a segment.
2. While a segment is open, its audio streams into a long-lived pocketsphinx
   grammar search (running cepstral mean). When the partial result has ended
   in "stop" for two chunks, "stop" is checked at once, without waiting for
   the end of the phrase; so it is at the first 0.1 s pause, whatever the
   partial result says.
3. When the segment closes (a 0.3 s pause), the whole segment is decoded
   again with its own cepstral mean, by the grammar and by a phone loop, and
   the word is kept only if its confidence passes the threshold ("stop" has
   its own, lower one). These searches run in processes of their own, the
   phone loop beside the word searches (judge_process.py), so they never
   freeze the microphone or the speaker.
4. Beside all this, while a segment is open, the stop spotter
   (stop_spotter.py) scores every 30 ms whether "stop" has just been said,
   from Google's speech embedding; at `spotter_threshold` it reports "stop" at
   once. Either ear can report "stop", and the other's later report in the
   same segment is dropped: a missed stop is the worst mistake this product
   can make, and the two miss different ones (measured, README).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicecoach.voice.hearing import vocabulary
from voicecoach.voice.hearing.confidence import stop_confidence, word_confidence
from voicecoach.voice.hearing.decoder import FRAME_S, SphinxDecoder, grammar_search
from voicecoach.voice.hearing.judge import Features, Verdict
from voicecoach.voice.hearing.judge_process import JudgeProcesses
from voicecoach.voice.hearing.levels import FRAME_SAMPLES, Edge, Segmenter
from voicecoach.voice.hearing.settings import HearingSettings
from voicecoach.voice.hearing.stop_spotter import StopSpotter

logger = logging.getLogger(__name__)

RATE = 16000
_FRAME_BYTES = FRAME_SAMPLES * 2
_MAX_EARLY_CHECKS = 3
"""Early "stop" checks per segment: the end-of-segment check still follows (count)."""


@dataclass(frozen=True)
class Detection:
    t_end: float
    """Where the word ends on the stream's timeline (seconds of audio fed so far)."""
    word: str
    """Canonical vocabulary word (voicecoach.session.commands.VOCABULARY)."""
    confidence: float
    """0..1: estimated probability that this word was said."""
    transcript: str
    """The grammar's word and the phones the phone loop heard."""


class Recogniser:
    """Feed it audio in chunks of any size; it returns the commands each chunk completes."""

    def __init__(self, settings: HearingSettings | None = None) -> None:
        self.settings = settings or HearingSettings()
        self._live = SphinxDecoder(self.settings, with_phone_loop=False, streaming=True)
        self._judge = JudgeProcesses(self.settings)
        self._segmenter = Segmenter(self.settings)
        self._spotter = StopSpotter(Path(self.settings.spotter_model)
                                    if self.settings.spotter_model else None)
        self._pause_frames = max(1, round(self.settings.pause_check_s / FRAME_S))
        self._mode = "any"
        self.on_verdict: Callable[[Verdict, bool], None] | None = None
        """Tuning hook: sees every verdict before the thresholds, and whether it was made on
        a whole segment (words other than "stop" are taken only from those) or on a "stop"
        check of a segment so far (scripts/fit_confidence.py)."""
        self.reset()

    def close(self) -> None:
        """End the judge's processes (they also end by themselves when this process does)."""
        self._live.end()
        self._judge.close()

    def __enter__(self) -> Recogniser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reset(self) -> None:
        """Start a new stream: timeline back to 0, nothing pending (the mode is kept)."""
        self._live.end()
        self._segmenter.reset()
        self._spotter.reset()
        self._pending = b""
        self._frames_done = 0
        self._preroll: deque[bytes] = deque(maxlen=max(1, round(self.settings.preroll_s * 100)))
        self._segment: list[bytes] | None = None
        self._segment_start = 0
        self._segment_mode = self._mode
        self._stop_streak = 0
        self._early_checks = 0
        self._stop_reported = False
        self._spotter_overruled = False

    def expect(self, what: str) -> None:
        """What the engine is waiting for: "any", "number" or "confirm" (yes/no/number).

        Narrows the grammar from the next segment on; "stop" is in every grammar.
        """
        if what not in vocabulary.MODES:
            raise ValueError(f"unknown listening mode {what!r}")
        self._mode = what

    @property
    def now(self) -> float:
        """Seconds of audio consumed so far."""
        return self._frames_done * FRAME_SAMPLES / RATE

    def feed(self, pcm: bytes) -> list[Detection]:
        self._pending += pcm
        found: list[Detection] = []
        to_live: list[bytes] = []
        pause_check = False
        usable = len(self._pending) // _FRAME_BYTES * _FRAME_BYTES
        data, self._pending = self._pending[:usable], self._pending[usable:]
        for offset in range(0, usable, _FRAME_BYTES):
            frame = data[offset: offset + _FRAME_BYTES]
            self._frames_done += 1
            samples = np.frombuffer(frame, dtype="<i2")
            edge = self._segmenter.push(samples)
            if self._segment is None:
                self._preroll.append(frame)
                if edge is Edge.OPEN:
                    self._open_segment()
                    to_live.extend(self._segment or [])
            else:
                self._segment.append(frame)
                to_live.append(frame)
                pause_check = pause_check or self._segmenter.pause_frames == self._pause_frames
                if edge is Edge.CLOSE:
                    self._live.process(b"".join(to_live))
                    to_live = []
                    pause_check = False
                    found.extend(self._close_segment())
            found.extend(self._spot(samples))
        if self._segment is not None and to_live:
            self._live.process(b"".join(to_live))
            # The speaker paused: if that was "stop", say so now, not when the segment closes.
            found.extend(self._stop_so_far() if pause_check else self._early_stop())
        return found

    def flush(self) -> list[Detection]:
        """End of stream: decide on whatever is still open."""
        found: list[Detection] = []
        if self._pending:
            found.extend(self.feed(b"\0" * (_FRAME_BYTES - len(self._pending))))
        if self._segment is not None:
            found.extend(self._close_segment())
        self._segmenter.reset()
        return found

    # Segments

    def _open_segment(self) -> None:
        self._segment = list(self._preroll)
        self._preroll.clear()
        self._segment_start = self._frames_done - len(self._segment)
        self._segment_mode = self._mode
        self._stop_streak = 0
        self._early_checks = 0
        self._stop_reported = False
        self._spotter_overruled = False
        self._live.start(grammar_search(self._segment_mode))

    def _close_segment(self) -> list[Detection]:
        segment, self._segment = self._segment or [], None
        self._live.end()
        detection = self._check(segment, whole=True)
        if detection is None or (detection.word == "stop" and self._stop_reported):
            return []
        return [detection]

    def _spot(self, samples: np.ndarray) -> list[Detection]:
        score = self._spotter.push(samples, listening=self._segment is not None)
        if (score is None or score < self.settings.spotter_threshold or self._stop_reported
                or self._spotter_overruled):
            return []
        if self._segment_mode in self.settings.spotter_checked_in:
            # An answer is awaited: the grammar weighs "stop" against exactly the words
            # expected, which the spotter has never been taught to tell it from.
            heard = self._check(self._segment or [], whole=False)
            if heard is not None and heard.word != "stop":
                self._spotter_overruled = True
                logger.debug("spotter's stop (%.2f) overruled: heard %s", score, heard.word)
                return []
        self._stop_reported = True
        return [Detection(round(self.now, 3), "stop", round(score, 3), "stop [spotter]")]

    def _early_stop(self) -> list[Detection]:
        words = self._live.partial()
        last = vocabulary.canonical_of(words[-1]) if words else None
        self._stop_streak = self._stop_streak + 1 if last == "stop" else 0
        if (self._stop_streak < self.settings.early_stop_chunks
                or self._early_checks >= _MAX_EARLY_CHECKS):
            return []
        if (self._stop_streak - self.settings.early_stop_chunks) % 2:
            return []  # re-check every other chunk while the partial still says stop
        self._early_checks += 1
        return self._stop_so_far()

    def _stop_so_far(self) -> list[Detection]:
        """Check the open segment for "stop" only; once reported, it is not reported again."""
        if self._stop_reported:
            return []
        detection = self._check(self._segment or [], whole=False)
        if detection is not None and detection.word == "stop":
            self._stop_reported = True
            return [detection]
        return []

    def _check(self, segment: list[bytes], *, whole: bool) -> Detection | None:
        verdict = self._judge.judge(b"".join(segment), self._segment_mode)
        if self.on_verdict is not None:
            self.on_verdict(verdict, whole)
        p_stop = stop_confidence(verdict)
        if verdict.stop is not None and p_stop >= self.settings.stop_threshold:
            return self._detection("stop", p_stop, verdict.stop)
        top = verdict.top
        word = vocabulary.canonical_of(top.name) if top is not None else None
        if top is None or word is None or word == "stop":
            return None
        score = word_confidence(verdict)
        logger.debug("heard %s (%s) confidence %.2f", word, top.transcript, score)
        threshold = {"any": self.settings.word_threshold,
                     "number": self.settings.number_threshold}.get(
                         self._segment_mode, self.settings.answer_threshold)
        if score < threshold:
            return None
        return self._detection(word, score, top)

    def _detection(self, word: str, score: float, features: Features) -> Detection:
        segment_start = self._segment_start * FRAME_SAMPLES / RATE
        t_end = segment_start + (features.speech_end_frame + 1) * FRAME_S
        transcript = f"{features.name.split('(')[0]} [{features.transcript}]"
        return Detection(round(t_end, 3), word, round(score, 3), transcript)
