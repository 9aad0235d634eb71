"""`voicecoach start --record-dir DIR`: what a live session heard and played, kept.

A session that went wrong (a stop missed, noise taken for an answer) can then be
replayed exactly as the recogniser heard it, and turned into a test:

    voicecoach start --audio-in DIR/microphone.wav --fast --events replay.jsonl

- DIR/microphone.wav: the microphone's audio, 16 kHz mono, as the recogniser was
  given it before the echo canceller, from the first chunk on.
- DIR/coach.wav: what the coach played over the same span of the session clock,
  chunk for chunk (the echo canceller's reference); the microphone hears it later
  by the devices' latency.
- DIR/events.jsonl: the session's events, as `--events` writes them.

Both WAVs are valid at any moment: a crash loses only the chunk being written. A
recording that cannot be written (a full disk) is given up with one log line; the
session, and its hearing, go on.
"""

from __future__ import annotations

import logging
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from voicecoach.session.clock import Clock
from voicecoach.voice.pcm import RATE, SAMPLE_WIDTH

logger = logging.getLogger(__name__)

MICROPHONE_FILE = "microphone.wav"
COACH_FILE = "coach.wav"
EVENTS_FILE = "events.jsonl"
RECORDING_FILES = (MICROPHONE_FILE, COACH_FILE, EVENTS_FILE)


class SessionRecording:
    """played(start, end): the samples the speaker played over [start, end) of the
    session clock (16 kHz samples), as the echo canceller's reference gives them."""

    def __init__(self, folder: Path, played: Callable[[int, int], np.ndarray],
                 clock: Clock) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._played = played
        self._clock = clock
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
        end = round(self._clock.now() * RATE)
        try:
            coach = np.asarray(self._played(end - len(chunk) // SAMPLE_WIDTH, end),
                               dtype="<i2")
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
