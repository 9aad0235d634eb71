"""Rendering with the real speech engine (pyttsx3 + espeak-ng), its cache and its failures."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from speech_helpers import break_speech_engine
from voicecoach.voice.pcm import rms
from voicecoach.voice.speaking.render import (
    Renderer,
    SpeechEngineError,
    VoiceSettings,
    speech_hash,
)


@pytest.fixture
def renderer(tmp_path):
    with Renderer(cache_dir=tmp_path / "cache") as r:
        yield r


def test_renders_speech_at_16k_and_caches_it(renderer, tmp_path):
    samples = renderer.render("Coming up now.")
    assert samples.dtype == np.int16
    assert 0.5 < len(samples) / 16000 < 3.0
    assert rms(samples) > 500
    cached = tmp_path / "cache" / f"{speech_hash('Coming up now.', renderer.settings)}.wav"
    assert cached.is_file()
    # The engine is not asked again: even with it stopped, the cache answers.
    renderer.close()
    assert renderer.cached("Coming up now.") is not None
    assert np.array_equal(renderer.render("Coming up now."), samples)
    assert renderer.worker_pid is None


def test_slower_rate_gives_longer_speech(tmp_path):
    text = "Push gently with your palms and rise slowly."
    with Renderer(VoiceSettings(rate=120), cache_dir=tmp_path / "a") as slow, \
            Renderer(VoiceSettings(rate=240), cache_dir=tmp_path / "b") as fast:
        assert len(slow.render(text)) > 1.5 * len(fast.render(text))


def test_voice_by_name_part_and_unknown_voice(tmp_path):
    with Renderer(VoiceSettings(voice="english"), cache_dir=tmp_path / "a") as english:
        assert rms(english.render("ready")) > 300
        assert any("english" in v["name"].lower() for v in english.voices())
    with Renderer(VoiceSettings(voice="no-such-voice-xyz"), cache_dir=tmp_path / "b") as bad, \
            pytest.raises(SpeechEngineError, match="no speech voice matches"):
        bad.render("ready")


def test_a_hung_engine_times_out_and_a_fresh_worker_renders_instead(tmp_path):
    with Renderer(cache_dir=tmp_path / "cache", timeout_s=1.0) as r:
        r.warm_up()
        pid = r.worker_pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # a real hang of the real engine
        started = time.monotonic()
        assert rms(r.render("Pain check. Say a number from zero to ten.")) > 500
        # One timeout, then a fresh worker's start and render.
        assert time.monotonic() - started < 1.0 + 20.0
        assert r.worker_pid not in (None, pid)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # the hung one was killed, not left behind


def test_a_broken_install_is_a_clear_error(tmp_path, monkeypatch):
    break_speech_engine(tmp_path, monkeypatch)
    with Renderer(cache_dir=tmp_path / "cache") as r, \
            pytest.raises(SpeechEngineError, match="could not start"):
        r.render("hello")



# ---- a render that leaves no audio (the pyttsx3 race, injected in the real worker) ---------


def _empty_renders(tmp_path, monkeypatch, count: int):
    from voicecoach.voice.speaking.render_worker import FAULT_ENV

    counter = tmp_path / "empty-renders"
    counter.write_text(str(count))
    monkeypatch.setenv(FAULT_ENV, str(counter))
    return counter


def test_a_render_that_leaves_no_audio_is_retried_in_a_fresh_worker(tmp_path, monkeypatch):
    counter = _empty_renders(tmp_path, monkeypatch, 1)
    with Renderer(cache_dir=tmp_path / "cache") as renderer:
        renderer.warm_up()
        first_worker = renderer.worker_pid
        samples = renderer.render("Pause here at about thirty degrees.")
        assert rms(samples) > 500 and len(samples) > 16000
        assert counter.read_text() == "0"
        assert renderer.worker_pid not in (None, first_worker)


def test_when_both_workers_fail_espeak_ngs_command_line_speaks(tmp_path, monkeypatch):
    _empty_renders(tmp_path, monkeypatch, 2)
    with Renderer(cache_dir=tmp_path / "cache") as renderer:
        samples = renderer.render("Pause here at about thirty degrees.")
    assert rms(samples) > 500 and len(samples) > 16000


def test_only_when_every_path_fails_is_the_speech_engine_lost(tmp_path, monkeypatch):
    _empty_renders(tmp_path, monkeypatch, 2)
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    with Renderer(cache_dir=tmp_path / "cache") as renderer, \
            pytest.raises(SpeechEngineError, match="produced no audio.*espeak-ng"):
        renderer.render("Pause here at about thirty degrees.")
