"""Audio conversion: resampling to 16 kHz and reading any PCM WAV."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from voicecoach.voice.pcm import (
    AudioFormatError,
    Resampler,
    read_wav,
    read_wav_samples,
    resample,
    write_wav,
)


def tone(freq: float, rate: int, seconds: float = 1.0, level: float = 10000) -> np.ndarray:
    return np.sin(2 * np.pi * freq * np.arange(int(rate * seconds)) / rate) * level


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000])
def test_resampled_tone_matches_the_same_tone_made_at_16k(rate):
    out = resample(tone(1000, rate), rate).astype(float)
    assert len(out) == 16000
    reference = tone(1000, 16000)
    assert np.abs(out[300:-300] - reference[300:-300]).max() < 30  # 0.3% of the level


def test_content_above_8k_does_not_alias_into_the_output():
    out = resample(tone(9000, 48000), 48000).astype(float)
    assert np.sqrt(np.mean(out[300:-300] ** 2)) < 100  # from 7071 RMS: below -37 dB


@pytest.mark.parametrize("rate,chunk", [(48000, 1440), (44100, 1323), (22050, 7)])
def test_streaming_in_chunks_gives_exactly_the_whole_clip_result(rate, chunk):
    signal = np.random.default_rng(1).normal(0, 3000, rate)
    whole = Resampler(rate)
    expected = np.concatenate([whole.process(signal), whole.flush()])
    parts = Resampler(rate)
    pieces = [parts.process(signal[i:i + chunk]) for i in range(0, len(signal), chunk)]
    got = np.concatenate([*pieces, parts.flush()])
    assert len(got) == len(expected) == 16000
    assert np.abs(got - expected).max() < 1e-6


def _write(path: Path, data: bytes, rate: int, width: int, channels: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)
    return path


def test_read_wav_converts_stereo_44k_to_16k_mono(tmp_path):
    left = tone(440, 44100, level=8000)
    stereo = np.stack([left, left], axis=1).astype("<i2").tobytes()
    out = read_wav(_write(tmp_path / "s.wav", stereo, 44100, 2, 2))
    assert len(out) == 16000
    assert np.abs(out[300:-300] - tone(440, 16000, level=8000)[300:-300]).max() < 30


def test_read_wav_reads_24_and_8_bit(tmp_path):
    values = (tone(300, 16000, level=0.5) * (1 << 23)).astype(np.int32)
    raw24 = b"".join(int(v).to_bytes(3, "little", signed=True) for v in values)
    out24 = read_wav(_write(tmp_path / "a.wav", raw24, 16000, 3, 1))
    assert np.abs(out24 - (values >> 8)).max() <= 1
    raw8 = (tone(300, 16000, level=100) + 128).astype(np.uint8).tobytes()
    out8 = read_wav(_write(tmp_path / "b.wav", raw8, 16000, 1, 1))
    assert np.abs(out8.astype(float) - tone(300, 16000, level=100) * 256).max() <= 256


def test_write_then_read_is_lossless(tmp_path):
    samples = np.random.default_rng(2).integers(-32768, 32767, 5000).astype(np.int16)
    write_wav(tmp_path / "x.wav", samples)
    assert np.array_equal(read_wav(tmp_path / "x.wav"), samples)


def test_not_a_wav_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"this is not audio")
    with pytest.raises(AudioFormatError, match="not a WAV file"):
        read_wav(bad)


def _riff(fmt: bytes, data: bytes) -> bytes:
    body = b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt
    body += b"data" + len(data).to_bytes(4, "little") + data
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def _fmt(code: int, channels: int, rate: int, bits: int) -> bytes:
    block = channels * bits // 8
    return (code.to_bytes(2, "little") + channels.to_bytes(2, "little")
            + rate.to_bytes(4, "little") + (rate * block).to_bytes(4, "little")
            + block.to_bytes(2, "little") + bits.to_bytes(2, "little"))


def test_float_wav_keeps_samples_past_full_scale(tmp_path):
    """An impulse response's gain may exceed 1: a float file keeps it, at its own rate."""
    samples = np.array([0.0, 2.5, -1.75, 0.125], dtype="<f4")
    path = tmp_path / "ir.wav"
    path.write_bytes(_riff(_fmt(3, 1, 48000, 32), samples.tobytes()))
    got, rate = read_wav_samples(path)
    assert rate == 48000
    assert np.allclose(got, samples)


def test_extensible_float_wav_is_read_as_float(tmp_path):
    guid = (3).to_bytes(2, "little") + bytes(14)
    fmt = _fmt(0xFFFE, 2, 16000, 32) + (22).to_bytes(2, "little") + (32).to_bytes(2, "little") \
        + (3).to_bytes(4, "little") + guid
    stereo = np.array([[0.5, 0.25], [1.5, 0.5]], dtype="<f4")
    path = tmp_path / "ext.wav"
    path.write_bytes(_riff(fmt, stereo.tobytes()))
    got, rate = read_wav_samples(path)
    assert rate == 16000
    assert np.allclose(got, [0.375, 1.0])


@pytest.mark.parametrize("fmt,match", [
    (_fmt(1, 1, 0, 16), "holds no audio"),
    (_fmt(1, 0, 16000, 16), "holds no audio"),
    (_fmt(1, 1, 16000, 12), "12-bit PCM samples are not supported"),
    (_fmt(85, 1, 16000, 16), "format 85"),
])
def test_a_wav_no_one_can_play_is_one_clear_error(tmp_path, fmt, match):
    path = tmp_path / "odd.wav"
    path.write_bytes(_riff(fmt, bytes(64)))
    with pytest.raises(AudioFormatError, match=match):
        read_wav(path)


def test_float_wav_with_nan_is_refused(tmp_path):
    path = tmp_path / "nan.wav"
    path.write_bytes(_riff(_fmt(3, 1, 16000, 32), np.array([0.0, np.nan], "<f4").tobytes()))
    with pytest.raises(AudioFormatError, match="NaN"):
        read_wav(path)
