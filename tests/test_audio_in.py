"""Audio in: the microphone on a private PulseAudio server, and WAV files in its place."""

from __future__ import annotations

import time

import numpy as np
import pytest

from audio_match import HostWatch, similarity
from devkit.pulse import NOISE_FLOOR_RMS, PulseServer
from voicecoach.voice.audio_in import FileSource, MicrophoneSource, calibrate, measure_noise
from voicecoach.voice.pcm import read_wav, write_wav
from voicecoach.voice.speaking import DeviceSpeaker, PromptLibrary

RATE = 16000
CHUNK_BYTES = 960  # 30 ms of 16 kHz int16


@pytest.fixture
def stop_clip(data_dir) -> np.ndarray:
    return read_wav(data_dir / "speech" / "stop_b87bdb22.wav")


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_microphone_hears_speech_played_into_the_virtual_mic(pulse_env, stop_clip):
    chunks: list[bytes] = []
    failures: list[str] = []
    with HostWatch() as host, MicrophoneSource(
            "pulse", on_chunk=chunks.append, on_failure=failures.append) as mic:
        time.sleep(0.3)
        player = pulse_env.play_into_mic(stop_clip)
        player.wait(timeout=5)
        time.sleep(0.5)
    heard = np.frombuffer(b"".join(chunks), dtype="<i2")
    assert failures == []
    assert {len(c) for c in chunks} == {CHUNK_BYTES}
    assert len(heard) / RATE > 1.5
    assert similarity(heard, stop_clip) > 0.95, host
    assert host.explains(mic.dropped_frames), f"{host}; {mic.dropped_frames} samples lost"
    assert (mic.device_rate, mic.device_channels) == (16000, 1)


def test_ambient_level_is_measured_from_the_room(pulse_env):
    with MicrophoneSource("pulse") as mic:
        level = calibrate(mic, seconds=1.0)
    assert level.seconds == pytest.approx(1.0, abs=0.05)
    assert level.rms == pytest.approx(NOISE_FLOOR_RMS, rel=0.3)
    # SpeechRecognition's threshold: 1.5 times the room, plus what is left after a second
    # of its starting guess (300); far below speech either way.
    assert 1.5 * level.rms < level.energy_threshold < 100
    assert -80 < level.dbfs < -60


def test_loud_room_raises_the_speech_threshold():
    rng = np.random.default_rng(3)
    chunks = [rng.normal(0, 400, 480).astype("<i2").tobytes() for _ in range(100)]
    level = measure_noise(chunks)
    assert level.rms == pytest.approx(400, rel=0.1)
    # adjust_for_ambient_noise settles on its dynamic_energy_ratio (1.5) times the room
    assert level.energy_threshold == pytest.approx(1.5 * 400, rel=0.05)


def test_unplugged_microphone_is_reported_within_a_second(fresh_pulse: PulseServer):
    failures: list[tuple[float, str]] = []
    with MicrophoneSource("pulse", on_chunk=lambda c: None,
                          on_failure=lambda d: failures.append((time.monotonic(), d))):
        time.sleep(0.5)
        removed = time.monotonic()
        fresh_pulse.remove_microphone()
        assert wait_for(lambda: bool(failures), 3.0), "the lost microphone was not reported"
    took = failures[0][0] - removed
    print(f"\nmicrophone loss reported after {1000 * took:.0f} ms: {failures[0][1]}")
    assert took < 1.0
    assert "microphone" in failures[0][1]
    assert len(failures) == 1


def test_a_dead_sound_server_is_reported_within_a_second(fresh_pulse: PulseServer):
    failures: list[tuple[float, str]] = []
    mic = MicrophoneSource("pulse", on_chunk=lambda c: None,
                           on_failure=lambda d: failures.append((time.monotonic(), d))).start()
    time.sleep(0.5)
    crashed = time.monotonic()
    fresh_pulse.crash()
    assert wait_for(lambda: bool(failures), 3.0), "the lost sound server was not reported"
    print(f"\nreported after {1000 * (failures[0][0] - crashed):.0f} ms: {failures[0][1]}")
    assert failures[0][0] - crashed < 1.0
    closing = time.monotonic()
    mic.close()
    assert time.monotonic() - closing < 3.0
    assert mic.failed


def test_loopback_mode_lets_the_microphone_hear_the_speaker(pulse_env, tmp_path):
    library = PromptLibrary()
    pulse_env.set_loopback(True)
    try:
        chunks: list[bytes] = []
        speaker = DeviceSpeaker("pulse", library=library)
        with HostWatch() as host, MicrophoneSource("pulse", on_chunk=chunks.append) as mic:
            speaker.say("return_stop", "Coming up now.")
            assert wait_for(speaker.idle, 10)
            time.sleep(0.4)
        speaker.close()
    finally:
        pulse_env.set_loopback(False)
    heard = np.frombuffer(b"".join(chunks), dtype="<i2")
    prompt = library.lookup("return_stop", "Coming up now.")
    assert prompt is not None
    assert similarity(heard, prompt) > 0.9, f"{host}; microphone lost {mic.dropped_frames} samples"


def test_file_source_gives_30_ms_chunks_padded_at_the_end(tmp_path):
    samples = np.arange(1000, dtype=np.int16)
    write_wav(tmp_path / "a.wav", samples)
    source = FileSource(tmp_path / "a.wav")
    chunks = list(source)
    assert len(chunks) == len(source) == 3
    assert {len(c) for c in chunks} == {CHUNK_BYTES}
    joined = np.frombuffer(b"".join(chunks), dtype="<i2")
    assert np.array_equal(joined[:1000], samples) and not joined[1000:].any()


def test_file_source_converts_and_paces_like_a_microphone(tmp_path, stop_clip):
    stereo_44k = np.repeat(np.interp(np.arange(0, len(stop_clip), 16000 / 44100),
                                     np.arange(len(stop_clip)), stop_clip), 2)
    import wave

    with wave.open(str(tmp_path / "b.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(stereo_44k.astype("<i2").tobytes())
    source = FileSource(tmp_path / "b.wav", realtime=True)
    assert source.duration_s == pytest.approx(1.0, abs=0.01)
    received: list[bytes] = []
    ended: list[float] = []
    started = time.monotonic()
    source.start(received.append, on_end=lambda: ended.append(time.monotonic()))
    assert wait_for(lambda: bool(ended), 5)
    # Paced: the last chunk cannot arrive before the audio it holds has "happened".
    assert ended[0] - started >= len(source) * 0.03 - 0.01
    heard = np.frombuffer(b"".join(received), dtype="<i2")
    assert similarity(heard, stop_clip) > 0.95
    source.close()


def test_a_microphone_run_at_44k_is_resampled_to_16k(pulse_env, stop_clip):
    chunks: list[bytes] = []
    with HostWatch() as host, MicrophoneSource(
            "pulse", on_chunk=chunks.append, rate=44100) as mic:
        assert mic.device_rate == 44100
        time.sleep(0.3)
        pulse_env.play_into_mic(stop_clip).wait(timeout=5)
        time.sleep(0.5)
    assert {len(c) for c in chunks} == {CHUNK_BYTES}
    heard = np.frombuffer(b"".join(chunks), dtype="<i2")
    lost = f"{host}; microphone lost {mic.dropped_frames} samples"
    assert similarity(heard, stop_clip) > 0.95, lost
