"""The room of `start --audio-in IN.wav --echo-ir IR.wav [--echo-delay-ms N]`.

A file session has no air between its speaker and its microphone, so it makes
one: everything it plays (exactly the samples it writes to --audio-out, speech
cut short included) is convolved with the impulse response, delayed, and added
to IN.wav's chunk at the same place on the audio timeline. The convolution is
streamed (overlap-add with FFTs, one chunk of output at a time), so an hour of
session with a second-long response costs about as much as the recogniser.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from voicecoach.voice.pcm import RATE, AudioFormatError, Resampler, read_wav_samples

MAX_IR_S = 4.0
"""An impulse response longer than this is no room a table stands in (RT60 is under 1 s)."""
MAX_DELAY_MS = 2000


def load_impulse_response(path: Path) -> np.ndarray:
    """IR.wav as float gains at 16 kHz (full scale 1.0; float files may exceed it).

    Resampled so that the response keeps its gain: a single tap of 0.5 at 48 kHz is a
    single tap of 0.5 at 16 kHz, not a third of it.
    """
    samples, rate = read_wav_samples(path)  # refuses a file with no samples
    if len(samples) / rate > MAX_IR_S:
        raise AudioFormatError(f"{path} is {len(samples) / rate:.1f} s long: an impulse "
                               f"response longer than {MAX_IR_S:.0f} s is no room")
    if rate == RATE:
        return samples.astype(np.float64)
    resampler = Resampler(rate, RATE)
    out = np.concatenate([resampler.process(samples), resampler.flush()])
    return out * (rate / RATE)


class EchoRoom:
    """Adds the coach's own output, through the room, to the microphone's chunks.

    played(start, end): the session's output over those samples of the audio timeline
    (int16; what --audio-out holds there), asked for in order, once each sample is final.
    """

    def __init__(self, ir: np.ndarray, delay_ms: int,
                 played: Callable[[int, int], np.ndarray]) -> None:
        self._ir = np.asarray(ir, dtype=np.float64)
        self._delay = round(delay_ms * RATE / 1000)
        self._played = played
        self._position = 0
        """Audio-timeline sample where the next microphone chunk starts."""
        self._pending = np.zeros(0)
        """Echo already computed for samples from _position on (the overlap-add tail)."""
        self._fft_size = 0
        self._ir_fft: np.ndarray | None = None

    def add(self, chunk: bytes) -> bytes:
        """IN.wav's next chunk with the echo of what was played over it added."""
        mic = np.frombuffer(chunk, dtype="<i2").astype(np.float64)
        start, end = self._position, self._position + len(mic)
        out = np.asarray(self._played(start, end), dtype=np.float64)
        self._position = end
        self._accumulate(out)
        echo = self._pending[: len(mic)]
        if len(echo) < len(mic):
            echo = np.concatenate([echo, np.zeros(len(mic) - len(echo))])
        self._pending = self._pending[len(mic):]
        return np.clip(np.rint(mic + echo), -32768, 32767).astype("<i2").tobytes()

    def _accumulate(self, out: np.ndarray) -> None:
        """Add out * IR to the pending echo, the delay after where `out` starts (the
        pending echo's first sample)."""
        if not np.any(out):
            return
        n = len(out) + len(self._ir) - 1
        if n > self._fft_size:
            self._fft_size = 1 << (n - 1).bit_length()
            self._ir_fft = np.fft.rfft(self._ir, self._fft_size)
        assert self._ir_fft is not None
        echo = np.fft.irfft(np.fft.rfft(out, self._fft_size) * self._ir_fft, self._fft_size)[:n]
        need = self._delay + n
        if len(self._pending) < need:
            self._pending = np.concatenate([self._pending, np.zeros(need - len(self._pending))])
        self._pending[self._delay: need] += echo
