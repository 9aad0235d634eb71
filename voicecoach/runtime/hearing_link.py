"""From recogniser detections to engine events, without the coach hearing itself.

When the microphone can hear the speaker, the coach's own prompts reach the
recogniser ("say stop", "from zero to ten"). The link knows the exact text
being played, so it drops a detection of a word that the coach is saying right
now or said within a short tail. With headphones or file input nothing is
gated: there is no echo, and gating could only hide a real "stop".
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable, Sequence

import numpy as np

from voicecoach.runtime.ports import Detection, Playing, Recogniser, Speaker
from voicecoach.session.clock import Clock
from voicecoach.session.commands import NUMBER_WORDS, canonical
from voicecoach.session.events import DeviceLost, Event, Heard
from voicecoach.voice.pcm import RATE

logger = logging.getLogger(__name__)

ECHO_TAIL_S = 0.4
"""Room echo and recogniser lag after a prompt ends (seconds)."""


def words_in(text: str) -> frozenset[str]:
    """The vocabulary words a prompt contains, as the recogniser would name them."""
    found = set()
    for token in re.findall(r"[a-z]+|\d+", text.lower()):
        word = canonical(token)
        if word is not None:
            found.add(word)
        elif token.isdigit() and int(token) > 10:
            # "20 degrees" may be heard as "two" or "ten": espeak says "twenty".
            found.update(NUMBER_WORDS)
    return frozenset(found)


WINDOW_S = 0.8
"""A detection is judged on the energy of the last this-many seconds (about one word)."""
DOUBLE_TALK_DB = 10.0
"""The microphone must carry this much more energy than the predicted echo (plus room
noise) for a detection during the coach's own speech to count as the user's."""
ECHO_LAGS_S = (-0.05, 0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)
"""How late the echo of a played sample may reach the microphone (seconds)."""
ECHO_RATIO_CAP = 10.0
"""A chunk heard louder than this many times the typical echo ratio is taken for the user
talking over the coach, and counts only up to it when the echo gain is learnt."""
MIN_GAIN_SAMPLES = 20
"""Chunks of loud playback needed before the echo gain is trusted; until then every
detection during playback is taken for echo."""


class OwnVoiceGate:
    """Tells the user's words from the coach's own, heard back through the room.

    Two checks, cheapest first: a detected word that the coach is saying right now
    (or said within a short tail) is its own; any other detection during playback
    counts only if the microphone heard clearly more energy than the echo of the
    exact samples being played would make (double talk). The echo gain (microphone
    level over playback level) and the room noise are learnt as the session runs.
    """

    def __init__(self, speaker: Speaker, tail_s: float = ECHO_TAIL_S) -> None:
        self._speaker = speaker
        self._tail_s = tail_s
        self._recent: list[Playing] = []
        self._frames: deque[tuple[float, float, float]] = deque()
        """(time, microphone energy, playback energy) per chunk over the last WINDOW_S."""
        self._echo_pairs: deque[tuple[float, float]] = deque(maxlen=400)
        """(microphone energy, playback energy) of recent chunks of loud playback."""
        self._noise: deque[float] = deque(maxlen=400)

    def observe(self, now: float, chunk: bytes | None = None) -> None:
        """Called for every chunk of microphone audio, `now` being the chunk's end."""
        playing = self._speaker.now_playing()
        if playing is not None and (not self._recent or self._recent[-1] != playing):
            last = self._recent[-1] if self._recent else None
            if (last is not None and last.samples is playing.samples
                    and last.started_at < playing.started_at < last.ends_at):
                self._recent[-1] = playing  # the speaker re-timed it: the device stalled
            else:
                self._recent.append(playing)
        self._recent = [p for p in self._recent if p.ends_at + self._tail_s + WINDOW_S >= now]
        if chunk is None:
            return
        mic = np.frombuffer(chunk, dtype="<i2").astype(np.float64)
        mic_energy = float(np.mean(mic * mic)) if len(mic) else 0.0
        # The microphone hears the speaker late by an output and input latency that is
        # not known exactly: take the loudest playback within that slack as the reference.
        span = len(mic) / RATE
        ref_energy = max(self._playback_energy(now - span - lag, now - lag)
                         for lag in ECHO_LAGS_S)
        self._frames.append((now, mic_energy, ref_energy))
        while self._frames and self._frames[0][0] < now - WINDOW_S:
            self._frames.popleft()
        if ref_energy > 1e4:  # loud playback (RMS > 100): learn how loud its echo is
            self._echo_pairs.append((mic_energy, ref_energy))
        elif ref_energy == 0.0 and not self._playing_within(now, self._tail_s):
            self._noise.append(mic_energy)

    def _playback_energy(self, t0: float, t1: float) -> float:
        total = 0.0
        for p in self._recent:
            if p.samples is None or t1 <= p.started_at or t0 >= p.ends_at:
                continue
            a = max(0, int((t0 - p.started_at) * RATE))
            b = min(len(p.samples), int((t1 - p.started_at) * RATE))
            if b > a:
                seg = np.asarray(p.samples[a:b], dtype=np.float64)
                total += float(np.mean(seg * seg))
        return total

    def _playing_within(self, now: float, tail: float) -> bool:
        return any(p.started_at <= now <= p.ends_at + tail for p in self._recent)

    def is_own_voice(self, word: str, now: float) -> bool:
        if not self._playing_within(now, self._tail_s + WINDOW_S):
            return False
        if any(p.started_at <= now <= p.ends_at + self._tail_s and word in words_in(p.text)
               for p in self._recent):
            return True
        if len(self._echo_pairs) < MIN_GAIN_SAMPLES or not self._frames:
            return True
        # A ratio of sums, not the median of ratios: the check compares mean energies, and
        # speech energy is so skewed that the median ratio put the echo 4-9 dB too low
        # (measured on the loopback), leaving half the margin below. Each chunk's share
        # is capped, though: the user talking over the coach is no echo, and a plain sum
        # learnt it as one (their "stop" then passed for echo).
        cap = ECHO_RATIO_CAP * float(np.median([m / r for m, r in self._echo_pairs]))
        gain = (sum(min(m, cap * r) for m, r in self._echo_pairs)
                / max(sum(r for _, r in self._echo_pairs), 1e-9))
        noise = float(np.median(self._noise)) if self._noise else 0.0
        mic = float(np.mean([f[1] for f in self._frames]))
        echo = float(np.mean([gain * f[2] for f in self._frames])) + noise
        own = mic < echo * 10 ** (DOUBLE_TALK_DB / 10)
        logger.debug("double-talk check for %r at %.2f s during %s: microphone %.1f dB, "
                     "echo %.1f dB: %s", word, now,
                     ", ".join(f"{p.prompt_id} ({p.started_at:.2f}-{p.ends_at:.2f} s)"
                               for p in self._recent),
                     10 * np.log10(mic + 1), 10 * np.log10(echo + 1), "echo" if own else "user")
        return own


def detections_to_events(detections: Sequence[Detection], gate: OwnVoiceGate | None,
                         now: float) -> list[Event]:
    events: list[Event] = []
    for d in detections:
        if gate is not None and gate.is_own_voice(d.word, now):
            continue
        events.append(Heard(d.word, d.confidence, d.transcript))
    return events


class HearingLink:
    """Microphone chunks in, engine events out: what the live loop does with each 30 ms.

    Called on the microphone's delivery thread; `post` must be thread-safe.
    """

    def __init__(self, recogniser: Recogniser, gate: OwnVoiceGate | None, clock: Clock,
                 post: Callable[[Event], None]) -> None:
        self.recogniser = recogniser
        self.gate = gate
        self.clock = clock
        self.post = post
        self.detections: list[Detection] = []
        """Everything the recogniser reported, gated or not (for diagnostics and tests)."""
        self._anchor: float | None = None
        self._samples = 0
        self.dropped_samples: Callable[[], int] = lambda: 0
        """Audio the source lost (overflow), in 16 kHz samples: it still took time."""
        self.failed = False
        """The recogniser broke: it is reported once and fed no more (the keys still work)."""

    def _audio_time(self, samples: int) -> float:
        """When the end of this chunk was heard, on the session clock.

        Counted in samples from the first chunk rather than read off the clock at
        delivery: if decoding falls behind for a moment, the chunks still carry the
        time they were spoken, which is what the echo check compares with playback.
        """
        now = self.clock.now()
        self._samples += samples
        elapsed = (self._samples + self.dropped_samples()) / RATE
        if self._anchor is None:
            self._anchor = now - elapsed
        heard_at = self._anchor + elapsed
        if heard_at > now:  # never in the future: the clock is the truth
            self._anchor -= heard_at - now
            heard_at = now
        return heard_at

    def on_chunk(self, chunk: bytes) -> None:
        now = self._audio_time(len(chunk) // 2)
        if self.gate is not None:
            self.gate.observe(now, chunk)
        if self.failed:
            return
        try:
            detections = self.recogniser.feed(chunk)
        except Exception as e:  # a broken recogniser is a lost ear: bring the user up
            logger.exception("recogniser failed")
            self.failed = True
            self.post(DeviceLost("recogniser", str(e)))
            return
        self.detections.extend(detections)
        for event in detections_to_events(detections, self.gate, now):
            self.post(event)
