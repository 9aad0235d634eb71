"""A speaker with no sound card: everything said goes into a WAV on the session clock's timeline.

For `voicecoach start --audio-out OUT.wav`. It never sleeps and never reads the
wall clock: it reads the Clock it is given (a FakeClock under --fast), so a
prompt said at clock time t starts at sample round(t * 16000), or when what is
queued before it ends, and a cut at t silences everything after t. Positions
are whole samples, so tests can check them exactly.

The same rules as DeviceSpeaker: prompts queue one after another; urgent
prompts cut first; a repeating alert sounds at once (after what is sounding),
then again each time the speaker has been quiet for `alert_gap_s`, until
alert(""); a cut stops the alert sounding but leaves it armed; speech is ducked
from duck(True) until duck(False) or a cut.

Samples before the clock's now are final, so they are written out as the
clock moves (every `flush_every_s`) and the file is a valid WAV at any
moment: a crash keeps all but the last second. `played(start, end)` gives
those final samples back, for the echo a file session's room adds to its
microphone and for the echo canceller's reference; it may be called from
the thread that delivers the audio, so every public method holds one lock.
"""

from __future__ import annotations

import functools
import logging
import threading
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Concatenate, ParamSpec, TypeVar

import numpy as np

from voicecoach.runtime.ports import Playing
from voicecoach.session.clock import Clock
from voicecoach.voice.pcm import RATE, SAMPLE_WIDTH
from voicecoach.voice.speaking.clips import DUCK_GAIN, Clip, ClipMaker, alert_clip
from voicecoach.voice.speaking.prerendered import PromptLibrary
from voicecoach.voice.speaking.render import (
    DEFAULT_VOICE,
    Renderer,
    SpeechEngineError,
    VoiceSettings,
)

logger = logging.getLogger(__name__)

ALERT_GAP_S = 1.5
"""Quiet time before a repeating alert sounds again (seconds)."""
HISTORY_S = 2.0
"""How far back `played()` can reach: a chunk or two is all its callers need."""


P = ParamSpec("P")
R = TypeVar("R")


def _locked(method: Callable[Concatenate[TimelineSpeaker, P], R]
            ) -> Callable[Concatenate[TimelineSpeaker, P], R]:
    @functools.wraps(method)
    def wrapper(self: TimelineSpeaker, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


@dataclass
class _Segment:
    start: int
    """First sample (on the session timeline)."""
    end: int
    """One past the last sample that sounds (earlier than start + len after a cut)."""
    clip: Clip
    repeat: bool = False
    """An instance of a repeating alert."""


class TimelineSpeaker:
    """clock: the session clock (a FakeClock under --fast); out_path: the WAV to write,
    or None to keep the audio in memory (`audio()`). on_failure: called when a prompt
    cannot be rendered and has no recording to fall back on. volume: the speech's share
    of full scale (alerts sound at full volume)."""

    def __init__(self, clock: Clock, out_path: Path | None = None, *,
                 voice: VoiceSettings = DEFAULT_VOICE, renderer: Renderer | None = None,
                 library: PromptLibrary | None = None,
                 on_failure: Callable[[str], None] | None = None,
                 alert_gap_s: float = ALERT_GAP_S, flush_every_s: float = 1.0,
                 volume: float = 1.0) -> None:
        self._clock = clock
        self._own_renderer = renderer is None
        self._clips = ClipMaker(renderer or Renderer(voice),
                                library if library is not None else PromptLibrary(), volume)
        self._on_failure = on_failure
        self._alert_gap = round(alert_gap_s * RATE)
        self._flush_every = round(flush_every_s * RATE)
        self._segments: list[_Segment] = []
        self._ended_before = 0  # end of segments already written and forgotten
        self._repeat: Clip | None = None
        self._repeat_armed_at: int | None = None  # until the first instance is placed
        self._written = 0
        self._memory: list[np.ndarray] | None = [] if out_path is None else None
        self._file: IO[bytes] | None = None
        self._wav: wave.Wave_write | None = None
        if out_path is not None:
            # Both stay open for the whole session and are closed in close().
            self._file = out_path.open("wb")
            self._wav = wave.open(self._file, "wb")  # noqa: SIM115
            self._wav.setnchannels(1)
            self._wav.setsampwidth(SAMPLE_WIDTH)
            self._wav.setframerate(RATE)
        self._closed = False
        self._lock = threading.RLock()
        self._history = np.zeros(0, dtype=np.int16)
        self._history_start = 0
        self._ducks: list[tuple[int, int | None]] = []
        """Spans of the timeline in which speech is ducked; the last may be open (None)."""

    # ---- the Speaker interface ----------------------------------------------------------

    @_locked
    def say(self, prompt_id: str, text: str, *, urgent: bool = False) -> None:
        now = self._advance()
        if urgent:
            self._cut_at(now)
        try:
            clip = self._clips.make(prompt_id, text)
        except SpeechEngineError as exc:
            self._fail(f"speech engine failed on prompt {prompt_id}: {exc}")
            return
        self._place(clip, max(now, self._queue_end()))

    @_locked
    def cut(self) -> None:
        self._cut_at(self._advance())

    @_locked
    def duck(self, on: bool) -> None:
        now = self._advance()
        ducking = bool(self._ducks) and self._ducks[-1][1] is None
        if on and not ducking:
            self._ducks.append((now, None))
        elif not on and ducking:
            self._end_duck(now)

    @_locked
    def alert(self, sound: str, repeat: bool = False) -> None:
        now = self._advance()
        if not sound:
            self._repeat = None
            for segment in self._segments:
                if segment.repeat and segment.end > now:
                    segment.end = max(segment.start, now)
            self._segments = [s for s in self._segments if s.end > s.start]
            return
        clip = alert_clip(sound)
        if repeat:
            self._repeat = clip
            self._repeat_armed_at = now
            self._advance()
        else:
            self._place(clip, max(now, self._queue_end()))

    @_locked
    def now_playing(self) -> Playing | None:
        now = self._advance()
        for segment in self._segments:
            if segment.start <= now < segment.end:
                return Playing(segment.clip.prompt_id, segment.clip.text,
                               segment.start / RATE, segment.end / RATE, segment.clip.samples)
        return None

    @_locked
    def idle(self) -> bool:
        """Nothing sounding or queued (a repeating alert between two repeats counts as idle)."""
        now = self._advance()
        return all(segment.end <= now for segment in self._segments)

    @_locked
    def close(self) -> None:
        if self._closed:
            return
        now = self._advance()
        self._repeat = None
        self._write_until(max(now, self._queue_end()))
        self._closed = True
        if self._wav is not None and self._file is not None:
            self._wav.close()
            self._file.close()
        if self._own_renderer and self._clips.renderer is not None:
            self._clips.renderer.close()

    # ---- extras ----------------------------------------------------------------------

    @_locked
    def audio(self) -> np.ndarray:
        """Everything written so far (only kept in memory when there is no out_path)."""
        if self._memory is None:
            raise RuntimeError("audio() is only kept for a TimelineSpeaker without out_path")
        return np.concatenate(self._memory) if self._memory else np.zeros(0, dtype=np.int16)

    @_locked
    def quiet_at(self) -> float:
        """When everything placed so far will have sounded (clock time; now if idle)."""
        return max(self._advance(), self._queue_end()) / RATE

    @_locked
    def played(self, start: int, end: int) -> np.ndarray:
        """The output over samples [start, end) of the timeline, as --audio-out holds it.

        Only final samples can be given: past the clock's now the samples are zeros (and
        the shortfall is logged), and samples older than HISTORY_S are forgotten (zeros).
        The audio thread of a real-time file session asks at each chunk's end, when the
        clock already stands past it, so neither happens in a session.
        """
        now = self._advance()
        if end > now:
            logger.warning("output asked for up to sample %d, final only up to %d", end, now)
        upto = min(end, now)
        self._write_until(upto)
        out = np.zeros(max(0, end - start), dtype=np.int16)
        lo = max(start, self._history_start)
        hi = min(upto, self._history_start + len(self._history))
        if lo < hi:
            out[lo - start: hi - start] = self._history[lo - self._history_start:
                                                        hi - self._history_start]
        return out

    # ---- the timeline ------------------------------------------------------------------

    def _now(self) -> int:
        return round(self._clock.now() * RATE)

    def _queue_end(self) -> int:
        return max([self._ended_before, *(s.end for s in self._segments)])

    def _place(self, clip: Clip, start: int, repeat: bool = False) -> None:
        if len(clip.samples):
            self._segments.append(_Segment(start, start + len(clip.samples), clip, repeat))

    def _advance(self) -> int:
        """Bring the timeline up to the clock: repeats that fell due, and the file."""
        if self._closed:
            raise RuntimeError("the speaker is closed")
        now = self._now()
        while self._repeat is not None:
            if self._repeat_armed_at is not None:
                start = max(self._repeat_armed_at, self._queue_end())
            else:
                start = self._queue_end() + self._alert_gap
            if start > now:
                break
            self._place(self._repeat, start, repeat=True)
            self._repeat_armed_at = None
        if now - self._written >= self._flush_every:
            self._write_until(now)
        return now

    def _end_duck(self, now: int) -> None:
        start, _ = self._ducks.pop()
        if now > start:
            self._ducks.append((start, now))

    def _cut_at(self, now: int) -> None:
        if self._ducks and self._ducks[-1][1] is None:
            self._end_duck(now)  # what was ducked is gone; what is said next is heard
        for segment in self._segments:
            if segment.end > now:
                segment.end = max(segment.start, now)
        self._segments = [s for s in self._segments if s.end > s.start]

    def _write_until(self, upto: int) -> None:
        if upto <= self._written:
            return
        speech = np.zeros(upto - self._written, dtype=np.float32)
        alerts = np.zeros(upto - self._written, dtype=np.float32)
        for segment in self._segments:
            lo, hi = max(segment.start, self._written), min(segment.end, upto)
            if lo < hi:
                (alerts if segment.clip.is_alert else speech)[
                    lo - self._written: hi - self._written] += (
                    segment.clip.samples[lo - segment.start: hi - segment.start])
        for start, end in self._ducks:
            lo, hi = max(start, self._written), min(upto if end is None else end, upto)
            if lo < hi:
                speech[lo - self._written: hi - self._written] *= DUCK_GAIN
        self._ducks = [(a, b) for a, b in self._ducks if b is None or b > upto]
        block = np.clip(np.round(speech + alerts), -32768, 32767).astype("<i2")
        if self._wav is not None and self._file is not None:
            self._wav.writeframes(block.tobytes())  # also patches the header's lengths
            self._file.flush()
        if self._memory is not None:
            self._memory.append(block.astype(np.int16))
        self._history = np.concatenate([self._history, block.astype(np.int16)])
        keep = round(HISTORY_S * RATE)
        if len(self._history) > keep:
            self._history_start += len(self._history) - keep
            self._history = self._history[-keep:]
        self._written = upto
        done = [s for s in self._segments if s.end <= upto]
        if done:
            self._ended_before = max(self._ended_before, *(s.end for s in done))
            self._segments = [s for s in self._segments if s.end > upto]

    def _fail(self, detail: str) -> None:
        logger.error("%s", detail)
        if self._on_failure is not None:
            self._on_failure(detail)
