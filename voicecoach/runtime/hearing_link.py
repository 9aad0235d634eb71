"""From microphone chunks to engine events, without the coach hearing itself.

When the microphone can hear the speaker, the coach's own prompts reach the
recogniser ("say stop", "from zero to ten"). Two defences, in order: an echo
canceller takes the exact samples being played out of the microphone's audio
before the recogniser hears it (`EchoHandling`), and the gate (`OwnVoiceGate`)
drops a detection of a word that the coach is saying right now, or one the
microphone heard no louder than the echo left over. With headphones, or files
and no --echo-ir, neither runs: there is no echo, and gating could only hide a
real "stop".
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from voicecoach.runtime.ports import Detection, Playing, Recogniser, Speaker
from voicecoach.session.clock import Clock
from voicecoach.session.commands import NUMBER_WORDS, SAFETY_WORDS, canonical
from voicecoach.session.events import DeviceLost, Event, Heard
from voicecoach.voice.audio_in.timeline import HeardTimeline
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


CANCELLED_DOUBLE_TALK_DB = 6.0
"""After the echo canceller, the margin over the echo it left: the canceller takes 20-40 dB
off once it has learnt the room, so the user is far over what is left."""
CANCELLED_GAIN_CHUNKS = 150
"""After the canceller, the echo left is learnt over the last 4.5 s only: it falls by tens
of dB as the canceller converges, and an average over longer kept it too high (the user's
"stop" at 6 dB under the echo then passed for echo, measured by scripts/bench_room.py)."""


class OwnVoiceGate:
    """Tells the user's words from the coach's own, heard back through the room.

    Without an echo canceller, two checks, cheapest first: a detected word that the
    coach is saying right now (or said within a short tail) is its own; any other
    detection during playback counts only if the microphone heard clearly more energy
    than the echo of the exact samples being played would make (double talk).

    With one (`cancelled`: the chunks it observes are the canceller's output), the echo
    is mostly gone: a safety word the coach is not saying is the user's, and any other
    detection during playback counts when the canceller took clearly less off the
    microphone than it does of echo alone (double talk). A real "stop" over the coach's
    own "stop" is heard by that test, never thrown away for the prompt's text alone.

    The echo gain (microphone level over playback level) and the room noise are learnt
    as the session runs.
    """

    def __init__(self, speaker: Speaker, tail_s: float = ECHO_TAIL_S, *,
                 cancelled: bool = False) -> None:
        self._speaker = speaker
        self._tail_s = tail_s
        self._cancelled = cancelled
        self._margin_db = CANCELLED_DOUBLE_TALK_DB if cancelled else DOUBLE_TALK_DB
        self._recent: list[Playing] = []
        self._frames: deque[tuple[float, float, float]] = deque()
        """(time, microphone energy, playback energy) per chunk over the last WINDOW_S."""
        self._echo_pairs: deque[tuple[float, float]] = deque(
            maxlen=CANCELLED_GAIN_CHUNKS if cancelled else 400)
        """(microphone energy, playback energy) of recent chunks of loud playback."""
        self._noise: deque[float] = deque(maxlen=400)
        self._cancel_frames: deque[tuple[float, float, float, float]] = deque()
        """(time, energy after the canceller, before it, playback) over the last WINDOW_S."""
        self._left_over: deque[float] = deque(maxlen=CANCELLED_GAIN_CHUNKS)
        """Share of the microphone's energy the canceller left, in recent loud playback."""

    def observe(self, now: float, chunk: bytes | None = None,
                before: bytes | None = None) -> None:
        """Called for every chunk of microphone audio, `now` being the chunk's end;
        `before`: the same chunk before the echo canceller (when one runs)."""
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
        if before is not None:
            raw = np.frombuffer(before, dtype="<i2").astype(np.float64)
            raw_energy = float(np.mean(raw * raw)) if len(raw) else 0.0
            self._cancel_frames.append((now, mic_energy, raw_energy, ref_energy))
            while self._cancel_frames and self._cancel_frames[0][0] < now - WINDOW_S:
                self._cancel_frames.popleft()
            if ref_energy > 1e4 and raw_energy > 0:
                self._left_over.append(mic_energy / raw_energy)
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
        in_prompt = any(p.started_at <= now <= p.ends_at + self._tail_s
                        and word in words_in(p.text) for p in self._recent)
        if self._cancelled:
            return self._left_by_canceller(word, now, in_prompt)
        if in_prompt:
            return True
        louder = self._louder_than_echo(word, now)
        return louder is not True

    def _louder_than_echo(self, word: str, now: float) -> bool | None:
        """Did the microphone hear clearly more than the echo of what was played would
        make (double talk)? None while the echo's level is not learnt yet."""
        if len(self._echo_pairs) < MIN_GAIN_SAMPLES or not self._frames:
            return None
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
        louder = mic >= echo * 10 ** (self._margin_db / 10)
        if logger.isEnabledFor(logging.DEBUG):  # asked every chunk while a stop is suspected
            logger.debug("double-talk check for %r at %.2f s during %s: microphone %.1f dB, "
                         "echo %.1f dB: %s", word, now,
                         ", ".join(f"{p.prompt_id} ({p.started_at:.2f}-{p.ends_at:.2f} s)"
                                   for p in self._recent),
                         10 * np.log10(mic + 1), 10 * np.log10(echo + 1),
                         "user" if louder else "echo")
        return louder

    def _left_by_canceller(self, word: str, now: float, in_prompt: bool) -> bool:
        """Own voice, after the canceller?

        A safety word ("stop", "help", "dizzy", ...) that the coach is not saying is the
        user's: the canceller took the echo down by 20-40 dB, and a missed "stop" is the
        worst bug there is, a false one only brings the user up. Any other word heard
        during playback, and a safety word the coach is saying right now, must show
        double talk, in either of two ways: the microphone clearly louder than the echo
        the canceller leaves (which is all of it where the microphone does not hear the
        speaker at all), or the canceller taking far less off than it does of the echo
        alone (the user's voice is no echo, so it stays), judged on the share of the
        microphone's energy left over the last word's length against its median share in
        recent playback.
        """
        if word in SAFETY_WORDS and not in_prompt:
            return False
        louder = self._louder_than_echo(word, now)
        if louder:
            return False
        loud = self._loud_cancel_frames()
        if not loud:
            return in_prompt  # only the echo's tail: the prompt's own words are the coach's
        if len(self._left_over) < MIN_GAIN_SAMPLES:
            return True  # the canceller has not learnt the room yet: trust nothing
        return not self._canceller_kept_voice(loud, word, now)

    def user_over_coach(self, now: float) -> bool:
        """May a word heard now be the user's rather than the coach's echo: the coach is
        quiet, or there is double talk by either test above? The duck asks this before it
        quiets the coach on the spotter's cue alone: over the coach's own voice the residual
        echo makes the spotter cue (scores of 0.9-1.0 in prompts without the word)."""
        if not self._playing_within(now, self._tail_s):
            return True
        if self._louder_than_echo("stop", now):
            return True
        loud = self._loud_cancel_frames()
        return (self._cancelled and bool(loud) and len(self._left_over) >= MIN_GAIN_SAMPLES
                and self._canceller_kept_voice(loud, "stop", now))

    def _loud_cancel_frames(self) -> list[tuple[float, float]]:
        """(energy after the canceller, before it) of the last word's chunks of loud playback."""
        return [(after, before) for _, after, before, ref in self._cancel_frames if ref > 1e4]

    def _canceller_kept_voice(self, loud: list[tuple[float, float]], word: str,
                              now: float) -> bool:
        """Did the canceller leave far more of the microphone than it does of echo alone?"""
        typical = float(np.median(self._left_over))
        share = sum(a for a, _ in loud) / max(sum(b for _, b in loud), 1e-9)
        kept = share >= typical * 10 ** (self._margin_db / 10)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("double-talk check for %r at %.2f s after the canceller: %.1f dB of the "
                         "microphone left, %.1f dB in recent playback: %s", word, now,
                         10 * np.log10(share + 1e-12), 10 * np.log10(typical + 1e-12),
                         "user" if kept else "echo")
        return kept


def detections_to_events(detections: Sequence[Detection], gate: OwnVoiceGate | None,
                         now: float) -> list[Event]:
    events: list[Event] = []
    for d in detections:
        if gate is not None and gate.is_own_voice(d.word, now):
            continue
        events.append(Heard(d.word, d.confidence, d.transcript))
    return events


class Canceller(Protocol):
    def process(self, mic: np.ndarray, reference: np.ndarray) -> np.ndarray: ...


class Room(Protocol):
    def add(self, chunk: bytes) -> bytes: ...


@dataclass
class EchoHandling:
    """What the microphone's audio goes through before the recogniser when it can hear
    the speaker.

    reference(start, end): what the speaker played over those samples of the session
    clock (exact for a file session, from the device speaker's timing on a live one).
    room: a file session's simulated echo path (--echo-ir), which adds the coach's own
    output to IN.wav before anything else, as the air between them would.
    """

    reference: Callable[[int, int], np.ndarray]
    canceller: Canceller | None = None
    room: Room | None = None

    def clean(self, chunk: bytes, now: float) -> tuple[bytes | None, bytes]:
        """The chunk that ended at `now` (session clock), echo added (room) and taken out
        (canceller): (before the canceller, or None when none runs; after it)."""
        if self.room is not None:
            chunk = self.room.add(chunk)
        if self.canceller is None:
            return None, chunk
        mic = np.frombuffer(chunk, dtype="<i2")
        end = round(now * RATE)
        reference = self.reference(end - len(mic), end)
        return chunk, np.asarray(self.canceller.process(mic, reference), dtype="<i2").tobytes()


DUCK_MAX_S = 1.0
"""Longest the coach's speech stays ducked for one suspected "stop" (seconds): the judge
decides well within it, and a segment the spotter cued on that goes on and on (talk,
a fan) must not silence the coach's guidance."""


DUCKED = "speech ducked for a suspected stop"
DUCK_UNDONE = "duck undone"
"""The log's words for a duck and its end (benchmarks count them in the session log)."""


class HearingLink:
    """Microphone chunks in, engine events out: what the live loop does with each 30 ms.

    Called on the microphone's delivery thread; `post` must be thread-safe. `duck`: the
    speaker's duck, called as the recogniser starts and stops suspecting a "stop", so
    the coach falls quiet under the word before the judge has read it; the engine's cut
    follows when it was "stop". `may_duck`: whether a stop would act now.
    """

    def __init__(self, recogniser: Recogniser, gate: OwnVoiceGate | None, clock: Clock,
                 post: Callable[[Event], None], echo: EchoHandling | None = None, *,
                 duck: Callable[[bool], None] | None = None,
                 may_duck: Callable[[], bool] = lambda: True) -> None:
        self.recogniser = recogniser
        self.duck = duck
        self.may_duck = may_duck
        """Would a stop act now (session.engine.STOP_ACTS)? Asked before each duck."""
        self._ducked_at: float | None = None
        """Since when the speech is ducked (None: it is not)."""
        self._stop_heard = False
        """A stop was posted while ducked: the engine's cut ends the duck, not the link."""
        self._duck_spent = False
        """The suspicion in hand had its duck already (one per suspicion)."""
        self.gate = gate
        self.echo = echo
        self.clock = clock
        self.post = post
        self.detections: list[Detection] = []
        """Everything the recogniser reported, gated or not (for diagnostics and tests)."""
        self._timeline = HeardTimeline(clock)
        self.dropped_samples: Callable[[], int] = lambda: 0
        """Audio the source lost (overflow), in 16 kHz samples: it still took time."""
        self.failed = False
        """The recogniser broke: it is reported once and fed no more until it has been
        restarted (once; the keys work throughout)."""
        self._failing = threading.Lock()
        self._restarted = False

    def on_chunk(self, chunk: bytes) -> None:
        now = self._timeline.chunk_end(len(chunk) // 2, self.dropped_samples())
        before: bytes | None = None
        if self.echo is not None:
            try:
                before, chunk = self.echo.clean(chunk, now)
            except Exception:
                # Hearing goes on without the canceller rather than not at all.
                logger.exception("echo handling failed; listening without it")
                self.echo = None
        if self.gate is not None:
            self.gate.observe(now, chunk, before)
        heard = self._hear(lambda: self.recogniser.feed(chunk), now)
        if self.duck is not None and not self.failed:
            self._follow_suspicion(now, any(d.word == "stop" for d in heard))

    def _follow_suspicion(self, now: float, heard_stop: bool) -> None:
        """Duck once per suspected "stop" (while the coach speaks, only if the gate finds
        the user over it). Undo it when the suspicion ends without a stop, or after
        DUCK_MAX_S: a heard stop is left to the engine's cut, which ends the duck, and the
        time limit undoes it should the engine not cut (already on the way up)."""
        assert self.duck is not None
        suspected = self.recogniser.stop_suspected
        if self._ducked_at is not None:
            self._stop_heard = self._stop_heard or heard_stop
            if now - self._ducked_at >= DUCK_MAX_S or not (suspected or self._stop_heard):
                self.duck(False)
                logger.info("%s at %.2f s", DUCK_UNDONE, now)
                self._ducked_at, self._stop_heard = None, False
        elif suspected and not self._duck_spent and self.may_duck() and (
                self.gate is None or self.gate.user_over_coach(now)):
            self.duck(True)
            logger.info("%s at %.2f s", DUCKED, now)
            self._ducked_at, self._duck_spent = now, True
        if not suspected and self._ducked_at is None:
            self._duck_spent = False

    def flush(self) -> None:
        """The input has ended: whatever the recogniser still holds is judged now."""
        self._hear(self.recogniser.flush, self.clock.now())

    def check(self) -> None:
        """The heartbeat (HearingWatch, from a thread of its own): a recogniser whose
        helper process died or stalled is a lost ear in silence too."""
        def beat() -> Sequence[Detection]:
            self.recogniser.check()
            return ()

        self._hear(beat, self.clock.now())

    def _hear(self, ask: Callable[[], Sequence[Detection]], now: float) -> Sequence[Detection]:
        """Ask the recogniser, and post what it heard (and return it); a recogniser that
        raises is a lost ear, reported once."""
        if self.failed:
            return ()
        try:
            detections = ask()
        except Exception as e:  # a broken recogniser is a lost ear: bring the user up
            self._lost(e)
            return ()
        self.detections.extend(detections)
        for event in detections_to_events(detections, self.gate, now):
            self.post(event)
        return detections

    def _lost(self, error: Exception) -> None:
        with self._failing:  # the microphone's thread and the watch may both find it
            if self.failed:
                return
            self.failed = True
        logger.error("speech recognition failed: %s", error, exc_info=error)
        self.post(DeviceLost("recogniser", str(error)))
        if not self._restarted:
            # The return has begun; a restarted recogniser hears "help" and "stop" on the
            # way up. Off this thread: starting it takes a second or more.
            self._restarted = True
            threading.Thread(target=self._restart, name="recogniser-restart",
                             daemon=True).start()

    def _restart(self) -> None:
        try:
            self.recogniser.revive()
        except Exception:
            logger.exception("speech recognition could not be restarted; the keys still work")
            return
        logger.warning("speech recognition was restarted: listening again")
        self.failed = False


class HearingWatch:
    """Beats the recogniser's heart every `every_s`, on a thread of its own, for as long
    as a live session runs (`close()` ends it)."""

    def __init__(self, link: HearingLink, every_s: float = 0.5) -> None:
        self._link = link
        self._every_s = every_s
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hearing-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(self._every_s):
            self._link.check()

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)
