"""DeviceSpeaker on real devices: a private PulseAudio server, its virtual speaker recorded."""

from __future__ import annotations

import time

import numpy as np
import pytest

from audio_match import similarity
from devkit.pulse import PulseServer, last_sound_time, window_rms
from speech_helpers import break_speech_engine
from voicecoach.session.prompts import FIXED_PROMPTS
from voicecoach.voice.devices import DeviceNotFound, find_device, list_devices, open_portaudio
from voicecoach.voice.speaking import DeviceSpeaker, PromptLibrary, Renderer, earcon

RATE = 16000
LIB = PromptLibrary()


class WallClock:
    """The speaker's clock as time.monotonic(), so its times compare with the recording's."""

    def now(self) -> float:
        return time.monotonic()


def recorded(pid: str) -> np.ndarray:
    samples = LIB.lookup(pid, FIXED_PROMPTS[pid])
    assert samples is not None
    return samples


def wait_idle(speaker: DeviceSpeaker, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not speaker.idle():
        assert time.monotonic() < deadline, "speaker never went idle"
        time.sleep(0.01)


def first_sound_time(samples: np.ndarray, t0: float, after: float = 0.0,
                     threshold: float = 200.0) -> float | None:
    rms = window_rms(samples)
    start = max(0, int((after - t0) * RATE / 80))
    loud = np.nonzero(rms[start:] > threshold)[0]
    return None if len(loud) == 0 else t0 + (start + loud[0]) * 80 / RATE


@pytest.fixture
def speaker(pulse_env, tmp_path):
    failures: list[str] = []
    s = DeviceSpeaker("pulse", clock=WallClock(), on_failure=failures.append,
                      renderer=Renderer(cache_dir=tmp_path / "cache"), library=LIB)
    s.failures = failures  # type: ignore[attr-defined]
    yield s
    s.close(drain=False)
    assert failures == []


def test_devices_are_listed_and_found_by_name_index_or_part(pulse_env):
    pa = open_portaudio()
    try:
        devices = list_devices(pa)
        pulse = next(d for d in devices if d.name == "pulse")
        assert pulse.is_input and pulse.is_output
        assert find_device(pa, "pulse", "output") == pulse
        assert find_device(pa, str(pulse.index), "input") == pulse
        assert find_device(pa, pulse.index, "output") == pulse
        with pytest.raises(DeviceNotFound, match="no output device matches 'nothing-like-it'"):
            find_device(pa, "nothing-like-it", "output")
        with pytest.raises(DeviceNotFound, match="index 999"):
            find_device(pa, 999, "input")
    finally:
        pa.terminate()


def test_a_prompt_sounds_on_the_speaker_and_now_playing_tracks_it(pulse_env, speaker):
    recording = pulse_env.record_speaker()
    clip = recorded("return_pause")
    written: list[np.ndarray] = []
    speaker.on_written = written.append  # what `start --record-dir` keeps as coach.wav
    said_at = time.monotonic()
    speaker.say("return_pause", FIXED_PROMPTS["return_pause"])
    assert time.monotonic() - said_at < 0.05  # say() never waits for the sound
    time.sleep(0.5)
    playing = speaker.now_playing()
    assert playing is not None and playing.prompt_id == "return_pause"
    assert playing.ends_at - playing.started_at == pytest.approx(len(clip) / RATE)
    wait_idle(speaker)
    assert speaker.now_playing() is None
    time.sleep(0.2)
    samples, t0 = recording.stop()
    assert similarity(samples, clip) > 0.95
    start = first_sound_time(samples, t0, after=said_at)
    end = last_sound_time(samples, t0)
    assert start is not None and end is not None
    clip_start = first_sound_time(clip, 0.0)
    clip_end = last_sound_time(clip, 0.0)
    assert clip_start is not None and clip_end is not None
    assert abs(start - (playing.started_at + clip_start)) < 0.1
    assert (end - start) == pytest.approx(clip_end - clip_start, abs=0.05)  # no stutter
    assert np.array_equal(np.concatenate(written), clip)  # every sample given, in order


def test_now_playing_follows_a_prompt_that_a_stalled_sound_server_made_late(
        fresh_pulse, tmp_path):
    """The sound server freezes mid-prompt: the rest of the prompt sounds that much later,
    and now_playing() must move with it, since the echo check times the coach's own words
    by it (a "stop" in a prompt heard late would pass for the user's)."""
    speaker = DeviceSpeaker("pulse", clock=WallClock(),
                            renderer=Renderer(cache_dir=tmp_path / "cache"), library=LIB)
    try:
        speaker.say("return_pain", FIXED_PROMPTS["return_pain"])
        deadline = time.monotonic() + 10
        while (first := speaker.now_playing()) is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        time.sleep(0.8)
        fresh_pulse.stall(0.7)
        last = first
        while (playing := speaker.now_playing()) is not None:
            last = playing
            time.sleep(0.005)
        gone = time.monotonic()  # the clip has played out of the device's buffer
    finally:
        speaker.close(drain=False)
    assert last.prompt_id == "return_pain"
    assert last.ends_at - first.ends_at > 0.4, (first, last)
    assert abs(gone - last.ends_at) < 0.2, (gone, last)


def speaking_moment(clip: np.ndarray, after_s: float) -> float:
    """A time in the clip (s) in the middle of 300 ms of steady speech, so that a small
    error in knowing when the clip started still cuts it while it sounds."""
    rms = window_rms(clip)
    for index in range(max(30, int(after_s * RATE / 80)), len(rms) - 30):
        if (rms[index - 30: index + 30] > 300).all():
            return index * 80 / RATE
    raise AssertionError("no steady speech in the clip")


def test_cut_silences_a_playing_prompt_within_a_chunk(pulse_env, speaker):
    clip = recorded("stuck_guidance")
    moment = speaking_moment(clip, 1.0)
    recording = pulse_env.record_speaker()
    speaker.say("stuck_guidance", FIXED_PROMPTS["stuck_guidance"])
    speaker.say("release", FIXED_PROMPTS["release"])  # queued: must be dropped too
    time.sleep(0.2)
    playing = speaker.now_playing()
    assert playing is not None
    time.sleep(max(0.0, playing.started_at + moment - time.monotonic()))
    cut_at = time.monotonic()
    speaker.cut()
    assert time.monotonic() - cut_at < 0.01  # cut() itself never waits
    time.sleep(0.6)
    assert speaker.idle() and speaker.now_playing() is None
    samples, t0 = recording.stop()
    rms = window_rms(samples)
    cut_window = int((cut_at - t0) * RATE / 80)
    # The recording's clock is right to a few ms (Recording): the 50 ms ending 10 ms
    # before the cut must have been speech (a whole-suite run once saw the cut 5 ms early).
    assert rms[cut_window - 12: cut_window - 2].min() > 200, "speech was not sounding at the cut"
    end = last_sound_time(samples, t0)
    assert end is not None
    print(f"\nsound continued {1000 * (end - cut_at):.1f} ms after cut()")
    assert end - cut_at < 0.15  # target 50 ms (measured by scripts/bench_speech_cut.py)


def test_urgent_prompt_cuts_the_current_one_and_speaks_at_once(pulse_env, speaker):
    urgent = recorded("return_stop")
    recording = pulse_env.record_speaker()
    speaker.say("checklist_intro", FIXED_PROMPTS["checklist_intro"])
    time.sleep(1.0)
    said_at = time.monotonic()
    speaker.say("return_stop", FIXED_PROMPTS["return_stop"], urgent=True)
    wait_idle(speaker)
    time.sleep(0.2)
    samples, t0 = recording.stop()
    tail = samples[int((said_at - t0) * RATE):]
    assert similarity(tail, urgent) > 0.95
    # What sounds after the urgent prompt starts is the urgent prompt, not the rest of the intro.
    end = last_sound_time(samples, t0)
    assert end is not None and end - said_at < len(urgent) / RATE + 0.3


def test_an_urgent_prompt_sounds_at_once_while_a_render_hangs(pulse_env, tmp_path):
    """The speech engine hangs (its real worker stopped with SIGSTOP) on a prompt that
    must be rendered; the return prompt, pre-rendered, is said urgently meanwhile. It
    must not wait behind the hung render (10 s until the worker is given up)."""
    import os
    import signal

    renderer = Renderer(cache_dir=tmp_path / "cache")
    renderer.warm_up()
    pid = renderer.worker_pid
    assert pid is not None
    speaker = DeviceSpeaker("pulse", clock=WallClock(), renderer=renderer, library=LIB)
    try:
        os.kill(pid, signal.SIGSTOP)
        speaker.say("time_left", "Forty one seconds left in this hold, a render that hangs.")
        time.sleep(0.3)  # the render thread is now stuck on it
        said_at = time.monotonic()
        speaker.say("return_stop", FIXED_PROMPTS["return_stop"], urgent=True)
        deadline = said_at + 2.0
        playing = speaker.now_playing()
        while (playing is None or playing.prompt_id != "return_stop") \
                and time.monotonic() < deadline:
            time.sleep(0.005)
            playing = speaker.now_playing()
        waited = time.monotonic() - said_at
        assert playing is not None and playing.prompt_id == "return_stop", waited
        assert waited < 1.0, waited  # a bound for a busy machine: the hang lasts 10 s
    finally:
        os.kill(pid, signal.SIGCONT)
        speaker.close(drain=False)
        renderer.close()


def test_repeating_alert_sounds_again_after_the_gap_and_stops_on_request(pulse_env, tmp_path):
    speaker = DeviceSpeaker("pulse", clock=WallClock(), alert_gap_s=0.5, library=LIB,
                            renderer=Renderer(cache_dir=tmp_path / "c"))
    try:
        recording = pulse_env.record_speaker()
        armed = time.monotonic()
        speaker.alert("alert", repeat=True)
        alarm = len(earcon("alert")) / RATE
        time.sleep(2 * alarm + 0.5 + 0.3)  # two instances and the gap between them
        stopped = time.monotonic()
        speaker.alert("")
        time.sleep(0.8)
        samples, t0 = recording.stop()
    finally:
        speaker.close(drain=False)
    loud = window_rms(samples) > 1000
    # An instance starts with a loud window after at least 300 ms (60 windows) of quiet.
    instances = [t0 + i * 80 / RATE for i in range(len(loud))
                 if loud[i] and not loud[max(0, i - 60): i].any()]
    assert len(instances) >= 2
    assert instances[0] - armed < 0.1
    assert instances[1] - instances[0] == pytest.approx(alarm + 0.5, abs=0.1)
    end = last_sound_time(samples, t0, threshold=1000)
    assert end is not None and end - stopped < 0.15


def test_broken_engine_plays_the_recording_or_reports(pulse_env, tmp_path, monkeypatch):
    break_speech_engine(tmp_path, monkeypatch)
    failures: list[str] = []
    speaker = DeviceSpeaker("pulse", clock=WallClock(), on_failure=failures.append,
                            renderer=Renderer(cache_dir=tmp_path / "c"), library=LIB)
    try:
        recording = pulse_env.record_speaker()
        speaker.say("return_speech", FIXED_PROMPTS["return_speech"])
        speaker.say("time_left", "45 seconds left in this hold.")
        wait_idle(speaker)
        time.sleep(0.2)
        samples, _ = recording.stop()
    finally:
        speaker.close(drain=False)
    assert similarity(samples, recorded("return_speech")) > 0.95
    assert len(failures) == 1 and "time_left" in failures[0]


def test_a_dead_sound_server_is_reported_and_nothing_hangs(fresh_pulse: PulseServer, tmp_path):
    failures: list[tuple[float, str]] = []
    speaker = DeviceSpeaker("pulse", clock=WallClock(), library=LIB,
                            renderer=Renderer(cache_dir=tmp_path / "c"),
                            on_failure=lambda d: failures.append((time.monotonic(), d)))
    speaker.say("stuck_guidance", FIXED_PROMPTS["stuck_guidance"])
    time.sleep(0.5)
    crashed = time.monotonic()
    fresh_pulse.crash()
    deadline = crashed + 3.0
    while not failures and time.monotonic() < deadline:
        time.sleep(0.01)
    assert failures, "the speaker did not report the lost sound server"
    print(f"\nreported {1000 * (failures[0][0] - crashed):.0f} ms after the crash: "
          f"{failures[0][1]}")
    assert failures[0][0] - crashed < 1.5
    started = time.monotonic()
    speaker.say("return_speech", FIXED_PROMPTS["return_speech"], urgent=True)
    speaker.cut()
    speaker.close()
    assert time.monotonic() - started < 5.0


def test_a_device_run_at_48k_gets_the_prompt_resampled(pulse_env, tmp_path):
    speaker = DeviceSpeaker("pulse", rate=48000, library=LIB,
                            renderer=Renderer(cache_dir=tmp_path / "c"))
    try:
        assert (speaker.rate, speaker.channels) == (48000, 1)
        recording = pulse_env.record_speaker()  # records at 16 kHz
        speaker.say("return_rise", FIXED_PROMPTS["return_rise"])
        wait_idle(speaker)
        time.sleep(0.2)
        samples, _ = recording.stop()
    finally:
        speaker.close(drain=False)
    assert similarity(samples, recorded("return_rise")) > 0.95
