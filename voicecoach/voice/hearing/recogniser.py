"""The streaming recogniser: 16 kHz int16 audio in, command words out.

Design (one pipeline, used live and by `voicecoach eval`):

1. A segmenter (levels.py) cuts speech from background on 10 ms frames, with
   0.3 s of pre-roll so a soft first consonant is not lost. Silence costs
   almost nothing: no model runs outside a segment.
2. Two fast ears say *when* "stop" may just have been said, while the segment
   is open: the stop spotter (stop_spotter.py), which scores every 30 ms from
   Google's speech embedding, and a pocketsphinx grammar search fed as the
   audio arrives, whose partial result may end in "stop". Either one, the
   first 0.1 s pause, and the segment's close (a 0.3 s pause) each have the
   judge read the segment so far.
3. The judge says *what* was said: Whisper tiny.en (whisper_reader.py), in a
   process of its own (judge_process.py), reads the segment in about 20 ms.
   A reading says "stop" outright when Whisper writes it or finds it likely
   enough; it says "maybe" when the spotter fired and Whisper nods faintly, and
   `agree` of those in one segment (one, as shipped) are a stop
   (settings.StopRule). Either needs the stop probe (stop_probe.py), which hears
   from Whisper's encoder whether the audio ends in "stop", to agree, unless
   Whisper and the spotter are both sure. An answer (a number, yes or no) is the
   likeliest of the words the engine awaits, read by a larger Whisper when one
   is named (settings.number_model); any other command must be all that
   Whisper's transcript says.

The spotter and the streaming search hear many stops in talk that was not
"stop" (hundreds an hour, measured); Whisper, which knows English, turns down
nearly all of them, and the stop probe most of the exclamations Whisper lets
through, so that little needs to be asked of Whisper for a stop the spotter
also heard, which keeps the stops said over babble. Where Whisper and the
spotter are both sure, the probe has no veto. A missed stop is the worst
mistake this product can make: the figures behind these rules are in settings.py.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicecoach.session.commands import NUMBER_WORDS
from voicecoach.voice.hearing import vocabulary
from voicecoach.voice.hearing.decoder import FRAME_S, SphinxDecoder, grammar_search
from voicecoach.voice.hearing.judge_process import JudgeProcess
from voicecoach.voice.hearing.levels import FRAME_SAMPLES, Edge, Segmenter
from voicecoach.voice.hearing.settings import HearingSettings, Says
from voicecoach.voice.hearing.stop_probe import StopProbe
from voicecoach.voice.hearing.stop_spotter import StopSpotter
from voicecoach.voice.hearing.whisper_reader import Reading
from voicecoach.voice.pcm import RATE

logger = logging.getLogger(__name__)

_FRAME_BYTES = FRAME_SAMPLES * 2
HEARTBEAT_TIMEOUT_S = 1.0
"""A judge that does not answer a heartbeat this long is stalled. It answers in well
under a millisecond when it lives; with the hearing watch's beat every 0.5 s, a dead or
stopped judge is found within 1.5 s."""
_MAX_EARLY_CHECKS = 3
"""Early "stop" checks per segment from the streaming search (count)."""
_SPOTTER_READ_EVERY = 3
"""Steps of the spotter (30 ms each) between two readings it asks for: its score stays
high for several steps around a stop, and one reading per 90 ms is enough."""

ANSWERS: dict[str, tuple[str, ...]] = {
    "number": (*NUMBER_WORDS, "stop"),
    "confirm": (*NUMBER_WORDS, "yes", "no", "stop"),
}
"""The words weighed against each other while the engine awaits an answer."""


@dataclass(frozen=True)
class Detection:
    t_end: float
    """Where the word ends on the stream's timeline (seconds of audio fed so far)."""
    word: str
    """Canonical vocabulary word (voicecoach.session.commands.VOCABULARY)."""
    confidence: float
    """0..1: how sure the judge is (for an answer, its share among the awaited words)."""
    transcript: str
    """What Whisper read, and the scores behind the decision."""


class Recogniser:
    """Feed it audio in chunks of any size; it returns the commands each chunk completes."""

    def __init__(self, settings: HearingSettings | None = None) -> None:
        self.settings = settings or HearingSettings()
        self._spotter = StopSpotter(Path(self.settings.spotter_model)
                                    if self.settings.spotter_model else None)
        self._probe = StopProbe.load(Path(self.settings.stop_probe_model)
                                     if self.settings.stop_probe_model else None)
        self._live = SphinxDecoder()
        self._judge = JudgeProcess(self.settings)
        self._number_judge: JudgeProcess | None = None
        if self.settings.number_model:
            try:
                self._number_judge = JudgeProcess(self.settings, self.settings.number_model)
            except BaseException:
                self._judge.close()
                raise
        self._segmenter = Segmenter(self.settings)
        self._pause_frames = max(1, round(self.settings.pause_check_s / FRAME_S))
        self._stop_read_frames = max(1, round(self.settings.stop_read_s / FRAME_S))
        self._mode = "any"
        self.reset()

    def close(self) -> None:
        """End the judge's process (it also ends by itself when this process does)."""
        self._live.end()
        self._judge.close()
        if self._number_judge is not None:
            self._number_judge.close()

    def check(self) -> None:
        """The heartbeat: raise JudgeFailed if a judge's process has died or stalled, so
        that a lost ear is found in silence too, not only when the user next speaks."""
        for judge in (self._judge, self._number_judge):
            if judge is not None:
                judge.ping(HEARTBEAT_TIMEOUT_S)

    def revive(self) -> None:
        """Start the judges afresh after one failed (HearingSetupError if they cannot
        start); what was being heard is dropped."""
        self._judge.close()
        self._judge = JudgeProcess(self.settings)
        if self._number_judge is not None:
            self._number_judge.close()
            self._number_judge = JudgeProcess(self.settings, self.settings.number_model)
        self.reset()

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
        self._open_segment_state()

    def _open_segment_state(self) -> None:
        self._segment_mode = self._mode
        self._last_speech_frame = self._frames_done
        self._stop_streak = 0
        self._early_checks = 0
        self._reads = 0
        self._read_at = -1
        self._stop_reported = False
        self._stop_said: list[Says] = []
        self._spot_max = 0.0
        self._spotter_read_step = -_SPOTTER_READ_EVERY
        self._spot_steps = 0

    def expect(self, what: str) -> None:
        """What the engine is waiting for: "any", "number" or "confirm" (yes/no/number).

        Takes effect from the next segment on; "stop" is heard in every mode.
        """
        if what not in vocabulary.MODES:
            raise ValueError(f"unknown listening mode {what!r}")
        self._mode = what

    @property
    def stop_suspected(self) -> bool:
        """The spotter's score reached its cue in the open segment and no stop has been
        reported from it yet: it may be "stop", and the coach should fall quiet while the
        judge decides. Never after a stop was reported: that would quiet the return."""
        return (self._segment is not None and not self._stop_reported
                and self._spot_max >= self.settings.spotter_cue)

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
                if self._segmenter.pause_frames == 0:
                    self._last_speech_frame = self._frames_done
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
        self._open_segment_state()
        self._live.start(grammar_search(self._segment_mode))

    def _close_segment(self) -> list[Detection]:
        segment, self._segment = self._segment or [], None
        self._live.end()
        if self._stop_reported:
            return []
        reading = self._read(segment, last=True)
        stop = self._stop(reading)
        if stop is not None:
            return [stop]
        if self._segment_mode not in ANSWERS:
            word = self._command(reading)
        elif self._number_judge is None:
            word = self._answer(reading)
        else:
            # Not "stop" by tiny.en's reading, on which the stop rule was fitted: the
            # larger model reads the answer, and only the answer.
            word = self._answer(self._number_judge.read(b"".join(segment)))
        return [word] if word is not None else []

    # When "stop" may have been said

    def _spot(self, samples: np.ndarray) -> list[Detection]:
        score = self._spotter.push(samples, listening=self._segment is not None)
        if score is None:
            return []
        self._spot_steps += 1
        self._spot_max = max(self._spot_max, score)
        if (score < self.settings.spotter_cue or self._stop_reported
                or self._spot_steps - self._spotter_read_step < _SPOTTER_READ_EVERY):
            return []
        self._spotter_read_step = self._spot_steps
        return self._stop_so_far()

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
        """Read the open segment's last `stop_read_s` for "stop" only; once reported, it is
        not reported again."""
        if self._stop_reported or self._segment is None:
            return []
        if self._reads >= self.settings.max_reads_per_segment:
            return []
        # The spotter's cue and the streaming search can ask in the same chunk: the same
        # audio read twice gives the same reading, which must not count as a second MAYBE.
        if self._read_at == self._frames_done:
            return []
        self._read_at = self._frames_done
        stop = self._stop(self._read(self._segment[-self._stop_read_frames:], last=False))
        return [stop] if stop is not None else []

    # What was said

    def _read(self, segment: list[bytes], *, last: bool) -> Reading:
        # The closing reading is always made, whatever the budget: it decides the answer.
        if not last:
            self._reads += 1
        reading = self._judge.read(b"".join(segment))
        logger.debug("read %r: stop %.4f, spotter max %.2f", reading.text,
                     reading.first.get("stop", 0.0), self._spot_max)
        return reading

    def _stop(self, reading: Reading) -> Detection | None:
        rule = self.settings.stop_rule
        self._stop_said.append(rule.says(reading, self._spot_max,
                                         self._probe.score(reading.ending)))
        if not rule.decides(self._stop_said):
            return None
        p_stop = reading.first["stop"]
        said = "stop" in reading.words()
        # While an answer is awaited, "stop" must also be likelier than every word that
        # would answer, which the spotter was never taught to tell it from ("three").
        if (self._segment_mode in ANSWERS and not said
                and any(reading.first[w] > p_stop for w in ANSWERS[self._segment_mode])):
            logger.debug("stop (%.4f) overruled by an answer: %r", p_stop, reading.text)
            return None
        self._stop_reported = True
        confidence = max(p_stop, self._spot_max) if not said else 1.0
        return self._detection("stop", confidence, reading)

    def _answer(self, reading: Reading) -> Detection | None:
        """The likeliest awaited word, if Whisper gives the awaited words enough together."""
        words = ANSWERS[self._segment_mode]
        total = sum(reading.first[w] for w in words)
        threshold = (self.settings.number_threshold if self._segment_mode == "number"
                     else self.settings.answer_threshold)
        if total < threshold:
            return None
        best = max(words, key=lambda w: reading.first[w])
        if best == "stop":
            return None  # not enough for a stop (see _stop), and no answer either
        if self.settings.answer_must_be_said and not vocabulary.names(reading.words(), best):
            logger.debug("no answer from %r: it does not say %r", reading.text, best)
            return None
        return self._detection(best, reading.first[best] / total, reading)

    def _command(self, reading: Reading) -> Detection | None:
        """Any other command word: the transcript must say that word and nothing else."""
        word = vocabulary.spoken_word(reading.words())
        if word in (None, "stop") or reading.text_probability < self.settings.word_threshold:
            return None
        return self._detection(word, reading.text_probability, reading)

    def _detection(self, word: str, confidence: float, reading: Reading) -> Detection:
        t_end = self._last_speech_frame * FRAME_SAMPLES / RATE
        transcript = (f"{reading.text} [stop {reading.first['stop']:.4f}, "
                      f"spotter {self._spot_max:.2f}]")
        return Detection(round(t_end, 3), word, round(confidence, 3), transcript)
