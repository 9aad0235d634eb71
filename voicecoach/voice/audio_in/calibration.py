"""How loud the room is, and the speech threshold SpeechRecognition would set for it.

The level figures are ours (median and 90th percentile of chunk RMS); the
threshold is SpeechRecognition's `Recognizer.adjust_for_ambient_noise`, fed the
measured chunks as if they came from its own microphone, so `energy_threshold`
is exactly what a `Recognizer` calibrated in this room would hold.

The live loop does not take its threshold from this one-off measurement: its
segmenter (hearing/levels.py) tracks the room's floor all session long, because
a room changes (a fan switched on) and a recorded fan flickers by 10 dB from
frame to frame. `voicecoach doctor` reports this figure.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from voicecoach.voice.audio_in.microphone import MicrophoneSource
from voicecoach.voice.pcm import RATE, dbfs

if TYPE_CHECKING:
    from speech_recognition import AudioSource


@dataclass(frozen=True)
class NoiseLevel:
    rms: float
    """Median chunk RMS of the room (int16 units)."""
    loud_rms: float
    """90th percentile chunk RMS: fans and hum, not the odd click."""
    peak: int
    """Largest absolute sample."""
    seconds: float
    """How much audio was measured."""
    energy_threshold: float
    """Chunk RMS above which SpeechRecognition would take audio for speech in this room."""

    @property
    def dbfs(self) -> float:
        return dbfs(self.rms)

    @property
    def loud_dbfs(self) -> float:
        return dbfs(self.loud_rms)


def _measured_room(chunks: list[bytes], rate: int) -> AudioSource:
    """Recorded chunks as a SpeechRecognition AudioSource, already entered (`stream` is
    set). AudioSource's own constructor only raises, so it is not called."""
    from speech_recognition import AudioSource

    class MeasuredRoom(AudioSource):

        SAMPLE_WIDTH = 2
        SAMPLE_RATE = rate
        CHUNK = len(chunks[0]) // 2

        def __init__(self) -> None:
            self.stream = self
            self._chunks = iter(chunks)

        def read(self, size: int) -> bytes:
            return next(self._chunks)

    return MeasuredRoom()


def speech_threshold(chunks: list[bytes], rate: int = RATE) -> float:
    """What `Recognizer.adjust_for_ambient_noise` sets from these chunks (int16 RMS)."""
    import speech_recognition

    size = len(chunks[0])
    whole = [c for c in chunks if len(c) == size]  # a short last chunk would weigh as a full one
    recognizer = speech_recognition.Recognizer()
    # It reads while its running total of time stays within `duration`: half a chunk
    # over the measured audio reads every chunk and asks for no more.
    seconds = (len(whole) + 0.5) * size / 2 / rate
    recognizer.adjust_for_ambient_noise(_measured_room(whole, rate), duration=seconds)
    return float(recognizer.energy_threshold)


def measure_noise(chunks: Iterable[bytes], rate: int = RATE) -> NoiseLevel:
    chunks = [c for c in chunks if c]
    if not chunks:
        raise ValueError("no audio to measure")
    levels = []
    peak = 0
    samples = 0
    for chunk in chunks:
        data = np.frombuffer(chunk, dtype="<i2").astype(np.float64)
        levels.append(float(np.sqrt(np.mean(data**2))))
        peak = max(peak, int(np.abs(data).max()))
        samples += len(data)
    return NoiseLevel(rms=float(np.median(levels)), loud_rms=float(np.percentile(levels, 90)),
                      peak=peak, seconds=samples / rate,
                      energy_threshold=speech_threshold(chunks, rate))


def record(source: MicrophoneSource, seconds: float) -> list[bytes]:
    """Chunks from a started MicrophoneSource (one without on_chunk) for about `seconds`."""
    chunks: list[bytes] = []
    wanted = int(seconds * RATE / source.chunk_samples)
    deadline = time.monotonic() + seconds + 2.0
    while len(chunks) < wanted and time.monotonic() < deadline and not source.failed:
        chunk = source.read(timeout=0.2)
        if chunk is not None:
            chunks.append(chunk)
    return chunks


def calibrate(source: MicrophoneSource, seconds: float = 1.0) -> NoiseLevel:
    """Listen to the room for `seconds` (ask the user to stay quiet) and measure it."""
    return measure_noise(record(source, seconds))
