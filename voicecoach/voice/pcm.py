"""Raw audio as voicecoach uses it everywhere: 16 kHz mono int16 numpy arrays.

Devices and files come in other rates and channel counts; `Resampler` brings
them to 16 kHz chunk by chunk (windowed-sinc interpolation, no aliasing), and
`read_wav` converts a whole file.
"""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np

RATE = 16000
"""Sample rate of everything inside voicecoach (hertz)."""
SAMPLE_WIDTH = 2
"""Bytes per sample (int16)."""


class AudioFormatError(ValueError):
    """A WAV file voicecoach cannot read."""


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Round and clip float samples (int16 scale) to int16."""
    return np.clip(np.rint(samples), -32768, 32767).astype(np.int16)


def to_mono(samples: np.ndarray, channels: int) -> np.ndarray:
    """Average interleaved channels into one (float64)."""
    if channels == 1:
        return samples.astype(np.float64)
    frames = len(samples) // channels
    return samples[: frames * channels].reshape(frames, channels).astype(np.float64).mean(axis=1)


class Resampler:
    """Converts a stream from one rate to another, a chunk at a time.

    Band-limited interpolation with a Hann-windowed sinc: each output sample
    is a weighted sum of the input around its exact (rational) position, with
    the cutoff below both Nyquist frequencies, so 48 kHz or 22.05 kHz audio
    comes down to 16 kHz without aliasing. Output positions are computed
    with integers, so hours of audio do not drift.
    """

    ZERO_CROSSINGS = 10

    def __init__(self, from_rate: int, to_rate: int = RATE) -> None:
        if from_rate <= 0 or to_rate <= 0:
            raise ValueError("sample rates must be positive")
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._cutoff = 0.95 * min(1.0, to_rate / from_rate)
        self._half_width = self.ZERO_CROSSINGS / self._cutoff
        self._reach = math.ceil(self._half_width)
        self._offsets = np.arange(-self._reach + 1, self._reach + 1, dtype=np.int64)
        # Output positions fall on to_rate/gcd distinct fractions: weights per fraction
        # are computed once (48 -> 16 kHz has a single one).
        self._phase_unit = to_rate // math.gcd(from_rate, to_rate)
        self._table: np.ndarray | None = None
        if self._phase_unit <= 2048:
            fractions = np.arange(self._phase_unit) / self._phase_unit
            self._table = self._weights(fractions)
        # Input history; _start is the absolute index of _buffer[0] (negative:
        # zero padding before the stream, so the first outputs are complete).
        self._buffer = np.zeros(self._reach, dtype=np.float64)
        self._start = -self._reach
        self._produced = 0

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Feed input samples (any numeric dtype); returns the float output ready so far."""
        if self.from_rate == self.to_rate:
            return np.asarray(samples, dtype=np.float64)
        self._buffer = np.concatenate([self._buffer, np.asarray(samples, dtype=np.float64)])
        return self._emit()

    def flush(self) -> np.ndarray:
        """Output the tail: what the input so far implies, as if zeros followed."""
        if self.from_rate == self.to_rate:
            return np.zeros(0)
        fed = self._start + len(self._buffer)
        total = (fed * self.to_rate) // self.from_rate
        self._buffer = np.concatenate([self._buffer, np.zeros(self._reach + 1)])
        return self._emit(limit=total)

    def _emit(self, limit: int | None = None) -> np.ndarray:
        end = self._start + len(self._buffer)  # absolute index one past the last input
        # Output k sits at input position k * from / to; it needs inputs up to pos + reach.
        last = ((end - self._reach - 1) * self.to_rate) // self.from_rate
        if limit is not None:
            last = min(last, limit - 1)
        if last < self._produced:
            return np.zeros(0)
        ks = np.arange(self._produced, last + 1, dtype=np.int64)
        out = np.empty(len(ks))
        for block in range(0, len(ks), 4096):  # bounded memory for whole files
            k = ks[block: block + 4096]
            numerator = k * self.from_rate - self._start * self.to_rate
            base = numerator // self.to_rate
            remainder = numerator - base * self.to_rate
            if self._table is not None:
                weights = self._table[remainder * self._phase_unit // self.to_rate]
            else:
                weights = self._weights(remainder / self.to_rate)
            idx = base[:, None] + self._offsets[None, :]
            out[block: block + len(k)] = np.einsum("ij,ij->i", self._buffer[idx], weights)
        self._produced = last + 1
        # Keep only what later outputs can still reach.
        next_base = (self._produced * self.from_rate) // self.to_rate
        keep_from = next_base - self._reach - self._start
        if keep_from > 0:
            self._buffer = self._buffer[keep_from:]
            self._start += keep_from
        return out

    def _weights(self, fractions: np.ndarray) -> np.ndarray:
        """Filter taps for outputs at these fractional positions past their base sample."""
        distance = fractions[:, None] - self._offsets[None, :]
        weights = self._cutoff * np.sinc(self._cutoff * distance)
        weights *= 0.5 + 0.5 * np.cos(np.pi * np.clip(distance / self._half_width, -1, 1))
        return weights


def resample(samples: np.ndarray, from_rate: int, to_rate: int = RATE) -> np.ndarray:
    """A whole clip at another rate, as int16."""
    if from_rate == to_rate:
        return to_int16(np.asarray(samples, dtype=np.float64))
    resampler = Resampler(from_rate, to_rate)
    return to_int16(np.concatenate([resampler.process(samples), resampler.flush()]))


MAX_WAV_BYTES = 2 * 1024**3
"""Larger files are refused: a WAV's own length field cannot say more than 4 GB, and a
session's audio is minutes long."""
MIN_WAV_RATE = 8000
"""Speech needs this many samples a second (a telephone's); a header saying fewer is
damaged or not speech."""
MAX_WAV_CHANNELS = 16
"""More channels than any microphone array a person would record a session with."""

_PCM, _FLOAT, _EXTENSIBLE = 0x0001, 0x0003, 0xFFFE


def read_wav_samples(path: Path) -> tuple[np.ndarray, int]:
    """Any PCM (8-32 bit) or 32/64-bit float WAV, mixed to mono: float64 samples where
    full scale is 1.0 (float files may go past it; an impulse response's gain does) and
    the file's own rate. Read with a chunk parser of its own, because the standard
    library's `wave` knows no float files."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_WAV_BYTES:
            raise AudioFormatError(f"{path} is {size // 2**20} MB: larger than a session's "
                                   f"audio can be")
        data = path.read_bytes()
    except OSError as exc:
        raise AudioFormatError(f"{path}: {exc.strerror or exc}") from exc
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFormatError(f"{path} is not a WAV file (no RIFF/WAVE header)")
    fmt: bytes | None = None
    pcm: bytes | None = None
    pos = 12
    while pos + 8 <= len(data):
        tag, length = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        body = data[pos + 8: pos + 8 + length]
        if tag == b"fmt ":
            fmt = body
        elif tag == b"data":
            pcm = body  # a length past the end (a file cut short) keeps what is there
            break
        pos += 8 + length + (length & 1)
    if fmt is None or len(fmt) < 16:
        raise AudioFormatError(f"{path} is not a WAV file voicecoach can read (no format chunk)")
    if pcm is None:
        raise AudioFormatError(f"{path} is not a WAV file voicecoach can read (no data chunk)")
    code = int.from_bytes(fmt[0:2], "little")
    channels = int.from_bytes(fmt[2:4], "little")
    rate = int.from_bytes(fmt[4:8], "little")
    bits = int.from_bytes(fmt[14:16], "little")
    if code == _EXTENSIBLE and len(fmt) >= 26:
        code = int.from_bytes(fmt[24:26], "little")  # the sub-format GUID's first field
    if channels < 1 or rate < 1:
        raise AudioFormatError(f"{path}: a WAV with {channels} channels at {rate} Hz "
                               f"holds no audio")
    if not MIN_WAV_RATE <= rate <= 384000:
        raise AudioFormatError(f"{path}: a sample rate of {rate} Hz is not audio voicecoach "
                               f"can read ({MIN_WAV_RATE}-384000 Hz)")
    if channels > MAX_WAV_CHANNELS:
        raise AudioFormatError(f"{path}: {channels} channels is more than a recording has "
                               f"(at most {MAX_WAV_CHANNELS})")
    width = bits // 8
    usable = len(pcm) // (width * channels) * width * channels if width else 0
    pcm = pcm[:usable]
    if code == _FLOAT and bits in (32, 64):
        raw = np.frombuffer(pcm, dtype="<f4" if bits == 32 else "<f8").astype(np.float64)
        if not np.all(np.isfinite(raw)):
            raise AudioFormatError(f"{path}: the samples hold NaN or infinity")
    elif code == _PCM and bits == 8:
        raw = (np.frombuffer(pcm, dtype=np.uint8).astype(np.float64) - 128) / 128
    elif code == _PCM and bits == 16:
        raw = np.frombuffer(pcm, dtype="<i2") / 32768.0
    elif code == _PCM and bits == 24:
        bytes3 = np.frombuffer(pcm, dtype=np.uint8).reshape(-1, 3)
        raw = (bytes3[:, 0].astype(np.int32) << 8 | bytes3[:, 1].astype(np.int32) << 16
               | bytes3[:, 2].astype(np.int32) << 24) / 2.0**31
    elif code == _PCM and bits == 32:
        raw = np.frombuffer(pcm, dtype="<i4") / 2.0**31
    else:
        kind = {_PCM: "PCM", _FLOAT: "float"}.get(code, f"format {code}")
        raise AudioFormatError(f"{path}: {bits}-bit {kind} samples are not supported "
                               f"(PCM 8-32 bit or float 32/64 bit)")
    if len(raw) < channels:
        raise AudioFormatError(f"{path} holds no samples")
    return to_mono(np.asarray(raw), channels), rate


def read_wav(path: Path) -> np.ndarray:
    """Any PCM or float WAV file as 16 kHz mono int16."""
    mono, rate = read_wav_samples(path)
    return resample(mono * 32768.0, rate, RATE)


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(SAMPLE_WIDTH)
        wav.setframerate(rate)
        wav.writeframes(np.asarray(samples, dtype="<i2").tobytes())


def rms(samples: np.ndarray) -> float:
    if len(samples) == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.asarray(samples, dtype=np.float64) ** 2)))


def dbfs(level: float) -> float:
    """An int16 RMS level in dB relative to full scale (-inf for silence)."""
    return 20 * math.log10(level / 32768) if level > 0 else float("-inf")
