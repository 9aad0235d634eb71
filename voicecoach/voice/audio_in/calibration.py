"""How loud the room is: a level the recogniser can set its speech threshold from.

Our own RMS measurement over chunks (SpeechRecognition's
`Recognizer.adjust_for_ambient_noise` does the same with a damped average);
`energy_threshold` is on SpeechRecognition's scale (int16 RMS), so it can be
handed to a `Recognizer` as is.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from voicecoach.voice.audio_in.microphone import MicrophoneSource
from voicecoach.voice.pcm import dbfs

SPEECH_OVER_NOISE = 3.0
"""Speech must be this many times the room's RMS (about 10 dB) to count as speech."""
MIN_THRESHOLD = 50.0
"""Floor for the threshold in a silent room or on a digital source (int16 RMS)."""


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
    """Chunk RMS above which audio is probably speech (SpeechRecognition's scale)."""

    @property
    def dbfs(self) -> float:
        return dbfs(self.rms)

    @property
    def loud_dbfs(self) -> float:
        return dbfs(self.loud_rms)


def measure_noise(chunks: Iterable[bytes], rate: int = 16000) -> NoiseLevel:
    levels = []
    peak = 0
    samples = 0
    for chunk in chunks:
        data = np.frombuffer(chunk, dtype="<i2").astype(np.float64)
        if len(data) == 0:
            continue
        levels.append(float(np.sqrt(np.mean(data**2))))
        peak = max(peak, int(np.abs(data).max()))
        samples += len(data)
    if not levels:
        raise ValueError("no audio to measure")
    median = float(np.median(levels))
    loud = float(np.percentile(levels, 90))
    return NoiseLevel(rms=median, loud_rms=loud, peak=peak, seconds=samples / rate,
                      energy_threshold=max(MIN_THRESHOLD, loud * SPEECH_OVER_NOISE))


def record(source: MicrophoneSource, seconds: float) -> list[bytes]:
    """Chunks from a started MicrophoneSource (one without on_chunk) for about `seconds`."""
    chunks: list[bytes] = []
    wanted = int(seconds * 16000 / source.chunk_samples)
    deadline = time.monotonic() + seconds + 2.0
    while len(chunks) < wanted and time.monotonic() < deadline and not source.failed:
        chunk = source.read(timeout=0.2)
        if chunk is not None:
            chunks.append(chunk)
    return chunks


def calibrate(source: MicrophoneSource, seconds: float = 1.0) -> NoiseLevel:
    """Listen to the room for `seconds` (ask the user to stay quiet) and measure it."""
    return measure_noise(record(source, seconds))
