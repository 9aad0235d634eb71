"""`voicecoach start --record-dir DIR`: what a live session heard and played, kept.

A session that went wrong (a stop missed, noise taken for an answer) can then be
replayed exactly as the recogniser heard it, and turned into a test:

    voicecoach start --audio-in DIR/microphone.wav --fast --events replay.jsonl

- DIR/microphone.wav: the microphone's audio, 16 kHz mono, as the recogniser was
  given it before the echo canceller, from the first chunk on.
- DIR/coach.wav: every sample the coach wrote to its speaker, in order (speech as
  ducked, alerts), beside the microphone chunk for chunk: each microphone chunk
  takes as many of the written samples as it holds, silence when nothing waits.
  Writing runs ahead of the device by its buffer, so a prompt sits in the track
  up to that much before the microphone hears it; a stall that starved the device
  shows as a gap.
- DIR/events.jsonl: the session's events, as `--events` writes them.

Both WAVs are valid at any moment: a crash loses only the chunk being written. A
recording that cannot be written (a full disk) is given up with one log line; the
session, and its hearing, go on.
"""

from __future__ import annotations

import logging
import threading
import wave
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np

from voicecoach.voice.pcm import RATE, SAMPLE_WIDTH

logger = logging.getLogger(__name__)

MICROPHONE_FILE = "microphone.wav"
COACH_FILE = "coach.wav"
EVENTS_FILE = "events.jsonl"
RECORDING_FILES = (MICROPHONE_FILE, COACH_FILE, EVENTS_FILE)
MAX_WAITING = 10 * RATE
"""Written samples kept for microphone chunks still to come (a stalled microphone)."""


class CoachTrack:
    """What the speaker wrote, waiting to be paired with the microphone's chunks.
    `written` is called on the speaker's play thread, `take` on the microphone's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: deque[np.ndarray] = deque()
        self._held = 0

    def written(self, samples: np.ndarray) -> None:
        with self._lock:
            self._waiting.append(samples)
            self._held += len(samples)
            while self._held > MAX_WAITING:  # the microphone has stopped taking chunks
                self._held -= len(self._waiting.popleft())

    def take(self, count: int) -> np.ndarray:
        """The next `count` samples written, padded with silence."""
        out = np.zeros(count, dtype=np.int16)
        filled = 0
        with self._lock:
            while filled < count and self._waiting:
                piece = self._waiting[0]
                used = min(count - filled, len(piece))
                out[filled: filled + used] = piece[:used]
                filled += used
                self._held -= used
                if used == len(piece):
                    self._waiting.popleft()
                else:
                    self._waiting[0] = piece[used:]
        return out


class SessionRecording:
    """Writes microphone.wav and coach.wav: each microphone chunk with as many samples
    of the coach's track beside it."""

    def __init__(self, folder: Path, coach: CoachTrack) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._coach = coach
        self._files = [(folder / name).open("wb") for name in (MICROPHONE_FILE, COACH_FILE)]
        self._wavs = [wave.open(f, "wb") for f in self._files]  # noqa: SIM115 -- closed in close()
        for w in self._wavs:
            w.setnchannels(1)
            w.setsampwidth(SAMPLE_WIDTH)
            w.setframerate(RATE)
        self._failed = False

    def hearing(self, on_chunk: Callable[[bytes], None]) -> Callable[[bytes], None]:
        """`on_chunk` with every chunk recorded first (on the microphone's thread)."""

        def recorded(chunk: bytes) -> None:
            self.add(chunk)
            on_chunk(chunk)

        return recorded

    def add(self, chunk: bytes) -> None:
        if self._failed:
            return
        try:
            coach = self._coach.take(len(chunk) // SAMPLE_WIDTH).astype("<i2")
            mic, out = self._wavs
            mic.writeframes(chunk)  # also patches the header's lengths
            out.writeframes(coach.tobytes())
            for f in self._files:
                f.flush()
        except Exception:
            # A recording is a diagnostic: losing it must never cost the session its ear.
            logger.exception("the session recording failed; the session goes on without it")
            self._failed = True

    def close(self) -> None:
        for w, f in zip(self._wavs, self._files, strict=True):
            try:
                w.close()
            except OSError:
                logger.exception("could not finish %s", f.name)
            f.close()
