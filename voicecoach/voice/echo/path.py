"""How the coach's speaker reaches its microphone: the echo's delay and level, measured
from a sweep played (the "sweep" earcon) and what the microphone heard over the same span.

A sweep (a tone rising from low to high) correlates with itself only at one lag, so
the peak of the cross-correlation between what was played and what was heard is the
echo's delay, even through a reverberant room; its level is what the microphone heard
over the sweep, less the room's own noise heard before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from voicecoach.voice.pcm import RATE, dbfs

FULL_SCALE = 32767.0
MAX_LEAD_S = 0.05
HALVES_AGREE_S = 0.003
MAX_DELAY_S = 1.0
CLEAR_PEAK = 25.0
"""A correlation peak this many times the median of the correlation's size over all
lags is an echo: noise alone gives about 6, a voice in the room 8-16, an echo 30 dB
under the room's noise still over 100 (simulated rooms of tests/data/rooms)."""


def _level(rms: float) -> float:
    """dBFS, with digital silence at -150 rather than minus infinity (JSON has none)."""
    return dbfs(max(rms, 1e-3))


@dataclass(frozen=True)
class EchoPath:
    found: bool
    """A clear echo of the sweep was in what the microphone heard."""
    delay_ms: float
    """How much later than its reference the echo's strongest path arrived (negative:
    before it)."""
    echo_dbfs: float
    """The echo's level at the microphone while the sweep played, room noise taken out:
    the level of the coach's own voice there."""
    noise_dbfs: float
    """The room's level at the microphone before the sweep."""
    clipped: bool
    """The microphone reached full scale while the sweep played."""


def measure(played: np.ndarray, heard: np.ndarray) -> EchoPath:
    """`played` and `heard` are the same span, sample for sample (16 kHz int16): what was
    played and what the microphone heard. The sweep must start after at least 0.2 s of
    silence, which measures the room's noise."""
    x = np.asarray(played, dtype=np.float64)
    y = np.asarray(heard, dtype=np.float64)
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    active = np.nonzero(np.abs(x) > 0)[0]
    if len(active) == 0:
        raise ValueError("nothing was played")
    first, last = int(active[0]), int(active[-1]) + 1
    if first < int(0.2 * RATE):
        raise ValueError("the sweep must start after at least 0.2 s of silence")
    noise = float(np.sqrt(np.mean(y[:first] ** 2)))
    delay, clear = _strongest_lag(x, y)
    # The sweep's low and high halves must each find the echo at about the same lag: a
    # voice or a knock in the room can correlate with the whole sweep at one lag by
    # chance, hardly ever with both its halves there too. (Real devices move the halves
    # apart by a millisecond: PulseAudio's loopback, measured, resamples as it goes.)
    middle = (first + last) // 2
    low, high = x.copy(), x.copy()
    low[middle:], high[:middle] = 0, 0
    near = round(HALVES_AGREE_S * RATE)
    agree = abs(_strongest_lag(low, y)[0] - delay) <= near and \
        abs(_strongest_lag(high, y)[0] - delay) <= near
    start, end = max(0, first + delay), min(n, last + delay)
    during = float(np.mean(y[start:end] ** 2)) if end > start else 0.0
    echo = math.sqrt(max(during - noise**2, 0.0))
    return EchoPath(found=clear >= CLEAR_PEAK and agree and echo > noise / 4,
                    delay_ms=1000 * delay / RATE, echo_dbfs=_level(echo),
                    noise_dbfs=_level(noise),
                    clipped=bool(np.max(np.abs(y[start:end]), initial=0) >= FULL_SCALE))


def _strongest_lag(x: np.ndarray, y: np.ndarray) -> tuple[int, float]:
    """The lag (samples, y after x) of the cross-correlation's peak, from -MAX_LEAD_S to
    MAX_DELAY_S, and how clearly it stands over the correlation's median size."""
    n = len(x)
    lead, lag = int(MAX_LEAD_S * RATE), int(MAX_DELAY_S * RATE)
    size = 1 << (2 * n).bit_length()
    corr = np.fft.irfft(np.fft.rfft(y, size) * np.conj(np.fft.rfft(x, size)), size)
    magnitude = np.abs(np.concatenate([corr[size - lead:], corr[: lag + 1]]))
    peak = int(np.argmax(magnitude))
    return peak - lead, float(magnitude[peak]) / max(float(np.median(magnitude)), 1e-9)
