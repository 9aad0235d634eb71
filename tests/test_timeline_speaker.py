"""TimelineSpeaker: speech placed on the session clock's timeline, to the sample."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from speech_helpers import break_speech_engine
from voicecoach.session.clock import FakeClock
from voicecoach.session.prompts import FIXED_PROMPTS
from voicecoach.voice.pcm import read_wav
from voicecoach.voice.speaking import PromptLibrary, Renderer, TimelineSpeaker, earcon

RATE = 16000
LIB = PromptLibrary()


def clip(pid: str) -> np.ndarray:
    samples = LIB.lookup(pid, FIXED_PROMPTS[pid])
    assert samples is not None
    return samples


def say(speaker: TimelineSpeaker, pid: str, urgent: bool = False) -> None:
    speaker.say(pid, FIXED_PROMPTS[pid], urgent=urgent)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def speaker(clock, tmp_path):
    s = TimelineSpeaker(clock, None, renderer=Renderer(cache_dir=tmp_path / "cache"), library=LIB)
    yield s
    s.close()


def test_prompts_start_at_their_clock_time_or_after_what_is_queued(clock, speaker):
    first, second = clip("check_socks"), clip("return_stop")
    clock.set(1.0)
    say(speaker, "check_socks")
    clock.set(1.5)  # still speaking the first: the second waits for it
    say(speaker, "return_stop")
    playing = speaker.now_playing()
    assert playing is not None and playing.prompt_id == "check_socks"
    assert (playing.started_at, playing.ends_at) == (1.0, 1.0 + len(first) / RATE)
    assert not speaker.idle()
    end = 16000 + len(first) + len(second)
    clock.set(end / RATE + 1)
    assert speaker.idle() and speaker.now_playing() is None
    speaker.close()
    audio = speaker.audio()
    assert len(audio) == end + RATE
    assert not audio[:16000].any()
    assert np.array_equal(audio[16000:16000 + len(first)], first)
    assert np.array_equal(audio[16000 + len(first):end], second)
    assert not audio[end:].any()


def test_cut_silences_everything_after_the_cut_time_exactly(clock, speaker):
    first = clip("stuck_guidance")
    say(speaker, "stuck_guidance")
    say(speaker, "release")  # queued behind: dropped by the cut
    clock.set(2.0)
    speaker.cut()
    assert speaker.now_playing() is None and speaker.idle()
    clock.set(3.0)
    speaker.close()
    audio = speaker.audio()
    assert len(audio) == 3 * RATE
    assert np.array_equal(audio[:2 * RATE], first[:2 * RATE])
    assert not audio[2 * RATE:].any()


def test_a_duck_quiets_speech_from_its_time_until_undone_and_never_an_alert(clock, speaker):
    from voicecoach.voice.speaking.clips import DUCK_GAIN

    first = clip("stuck_guidance")
    say(speaker, "stuck_guidance")
    clock.set(1.0)
    speaker.duck(True)
    speaker.duck(True)  # a second duck is the same duck
    clock.set(1.5)
    speaker.duck(False)
    clock.set(2.0)
    speaker.alert("heard")
    speaker.duck(True)  # an alert sounds at its level through a duck
    clock.set(4.0)
    speaker.close()
    audio = speaker.audio().astype(np.int32)
    assert np.array_equal(audio[:RATE], first[:RATE])
    ducked = np.round(first[RATE:RATE * 3 // 2].astype(np.float32) * DUCK_GAIN)
    assert np.array_equal(audio[RATE:RATE * 3 // 2], ducked)
    assert np.abs(audio[RATE:RATE * 3 // 2]).max() < 0.01 * np.abs(first).max()
    assert np.array_equal(audio[RATE * 3 // 2:2 * RATE], first[RATE * 3 // 2:2 * RATE])
    sound = earcon("heard")
    at = len(first)  # the earcon queues behind the prompt, after the duck began
    assert np.array_equal(audio[at:at + len(sound)], sound)


def test_a_cut_ends_the_duck_so_the_return_guidance_is_heard_in_full(clock, speaker):
    say(speaker, "stuck_guidance")
    clock.set(1.0)
    speaker.duck(True)  # the spotter suspects a stop
    clock.set(1.2)
    say(speaker, "return_stop", urgent=True)  # the engine heard it: cut, then the return
    clock.set(1.2 + len(clip("return_stop")) / RATE + 0.5)
    speaker.close()
    audio = speaker.audio()
    start = round(1.2 * RATE)
    ret = clip("return_stop")
    assert np.array_equal(audio[start:start + len(ret)], ret)


def test_urgent_prompt_cuts_and_starts_at_once(clock, speaker):
    say(speaker, "checklist_intro")
    clock.set(1.25)
    say(speaker, "return_stop", urgent=True)
    playing = speaker.now_playing()
    assert playing is not None and playing.prompt_id == "return_stop"
    assert playing.started_at == 1.25
    speaker.close()
    audio, urgent = speaker.audio(), clip("return_stop")
    assert np.array_equal(audio[:20000], clip("checklist_intro")[:20000])
    assert np.array_equal(audio[20000:20000 + len(urgent)], urgent)
    assert len(audio) == 20000 + len(urgent)


def test_repeating_alert_fills_the_gaps_between_prompts_until_turned_off(clock, tmp_path):
    speaker = TimelineSpeaker(clock, None, renderer=Renderer(cache_dir=tmp_path / "c"),
                              library=LIB, alert_gap_s=1.0)
    alarm = earcon("alert")
    n = len(alarm)
    speaker.alert("alert", repeat=True)  # t=0: sounds at once
    clock.set(0.5)
    say(speaker, "return_rise")  # waits for the alert instance, then speaks
    rise_at = n
    rise = clip("return_rise")
    next_alert = rise_at + len(rise) + RATE  # once the speaker has been quiet for the gap
    clock.set(next_alert / RATE + 0.1)
    playing = speaker.now_playing()
    assert playing is not None and playing.prompt_id == "alert:alert"
    assert playing.started_at == next_alert / RATE
    speaker.alert("")  # off: the sounding instance stops now
    stop_at = round(clock.now() * RATE)
    clock.set(clock.now() + 5)
    assert speaker.now_playing() is None
    speaker.close()
    audio = speaker.audio()
    assert np.array_equal(audio[:n], alarm)
    assert np.array_equal(audio[rise_at:rise_at + len(rise)], rise)
    assert np.array_equal(audio[next_alert:stop_at], alarm[:stop_at - next_alert])
    assert not audio[stop_at:].any()


def test_a_single_earcon_queues_like_a_prompt(clock, speaker):
    say(speaker, "mic_check")
    speaker.alert("listening")
    speaker.close()
    audio, mic = speaker.audio(), clip("mic_check")
    assert np.array_equal(audio[len(mic):], earcon("listening"))


def test_wav_is_valid_while_the_session_runs_and_complete_at_close(clock, tmp_path):
    out = tmp_path / "out.wav"
    speaker = TimelineSpeaker(clock, out, renderer=Renderer(cache_dir=tmp_path / "c"),
                              library=LIB)
    say(speaker, "stuck_guidance")
    clock.set(3.5)
    assert speaker.now_playing() is not None  # any call brings the file up to the clock
    with wave.open(str(out), "rb") as mid:  # a crash now would leave this
        assert mid.getframerate() == RATE and mid.getnchannels() == 1
        assert mid.getnframes() == 3.5 * RATE
    clock.set(30.0)
    speaker.close()
    audio = read_wav(out)
    guidance = clip("stuck_guidance")
    assert len(audio) == 30 * RATE
    assert np.array_equal(audio[:len(guidance)], guidance)


def test_dynamic_text_renders_live(clock, speaker):
    speaker.say("time_left", "2 minutes 10 seconds left in this hold.")
    playing = speaker.now_playing()
    assert playing is not None and playing.text.startswith("2 minutes")
    assert 1.5 < playing.ends_at < 5.0


def test_broken_engine_falls_back_to_the_recording_else_reports(clock, tmp_path, monkeypatch):
    break_speech_engine(tmp_path, monkeypatch)
    failures: list[str] = []
    speaker = TimelineSpeaker(clock, None, renderer=Renderer(cache_dir=tmp_path / "c"),
                              library=LIB, on_failure=failures.append)
    say(speaker, "return_stop")  # pre-rendered: no engine needed
    speaker.say("return_rise", "Rise slowly now.")  # text changed: the recording stands in
    speaker.say("time_left", "45 seconds left in this hold.")  # nothing to fall back on
    speaker.close()
    assert len(failures) == 1 and "time_left" in failures[0] and "could not start" in failures[0]
    stop, rise = clip("return_stop"), clip("return_rise")
    audio = speaker.audio()
    assert len(audio) == len(stop) + len(rise)
    assert np.array_equal(audio[len(stop):], rise)


def test_help_sequence_keeps_the_alert_armed_through_the_urgent_guidance(clock, tmp_path):
    """The engine's "help": CutSpeech, Alert(repeat), then an urgent prompt, all at one time."""
    speaker = TimelineSpeaker(clock, None, renderer=Renderer(cache_dir=tmp_path / "c"),
                              library=LIB, alert_gap_s=1.0)
    say(speaker, "checklist_intro")
    clock.set(2.0)
    speaker.cut()
    speaker.alert("alert", repeat=True)
    say(speaker, "stuck_guidance", urgent=True)
    guidance = clip("stuck_guidance")
    alert_at = 2 * RATE + len(guidance) + RATE
    clock.set(alert_at / RATE + 0.01)
    playing = speaker.now_playing()
    assert playing is not None and playing.prompt_id == "alert:alert"
    assert playing.started_at == alert_at / RATE
    speaker.close()
    audio = speaker.audio()
    assert np.array_equal(audio[2 * RATE:2 * RATE + len(guidance)], guidance)
    assert not audio[2 * RATE + len(guidance):alert_at].any()
