"""Earcons and the text-mode speaker."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from voicecoach.voice.pcm import read_wav
from voicecoach.voice.speaking import EARCONS, TextSpeaker, earcon
from voicecoach.voice.speaking.clips import alert_clip
from voicecoach.voice.speaking.prerendered import prompts_dir

CUES = [name for name in EARCONS if name != "sweep"]
"""The earcons a session plays; "sweep" is doctor's measuring sound (below)."""


@pytest.mark.parametrize("name", CUES)
def test_earcons_are_short_audible_and_click_free(name):
    samples = earcon(name)
    assert samples.dtype == np.int16
    assert 0.05 < len(samples) / 16000 < 1.5
    assert np.abs(samples).max() > 5000
    assert abs(int(samples[0])) < 200 and abs(int(samples[-1])) < 200


def test_earcons_differ_and_the_alert_is_the_loudest():
    levels = {n: float(np.sqrt(np.mean(earcon(n).astype(float) ** 2))) for n in EARCONS}
    assert max(levels, key=levels.get) == "alert"
    assert len({earcon(n).tobytes() for n in EARCONS}) == len(EARCONS)


def test_the_sweep_is_as_loud_as_the_coach_speaks():
    """doctor measures the coach's echo with it: its level is the prompts' spoken level."""
    sweep = earcon("sweep").astype(np.float64)
    levels = []
    for path in sorted(prompts_dir().glob("*.wav")):
        speech = read_wav(path).astype(np.float64)
        frames = speech[: len(speech) // 480 * 480].reshape(-1, 480)
        frame_rms = np.sqrt((frames**2).mean(axis=1))
        spoken = frame_rms[frame_rms > frame_rms.max() / 30]
        levels.append(np.sqrt(np.mean(spoken**2)))
    assert len(levels) > 20
    level_db = 20 * np.log10(np.sqrt(np.mean(sweep**2)) / np.median(levels))
    assert abs(level_db) < 1.0, level_db
    assert abs(int(sweep[0])) < 200 and abs(int(sweep[-1])) < 200
    assert len(sweep) / 16000 <= 1.5


def test_an_unknown_earcon_sounds_the_alert_rather_than_nothing():
    with pytest.raises(ValueError, match="unknown earcon"):
        earcon("beep")
    clip = alert_clip("beep")
    assert clip.prompt_id == "alert:alert" and np.array_equal(clip.samples, earcon("alert"))


def test_text_speaker_prints_prompts_and_the_alert():
    out = io.StringIO()
    speaker = TextSpeaker(Console(file=out, width=200, color_system=None))
    speaker.say("return_stop", "Coming up now.", urgent=True)
    speaker.alert("listening")  # an audio cue only: nothing printed
    speaker.alert("alert", repeat=True)
    speaker.alert("")
    speaker.cut()
    assert speaker.idle() and speaker.now_playing() is None
    speaker.close()
    lines = out.getvalue().splitlines()
    assert lines == ["coach: Coming up now.",
                     " ALERT  (until the session ends or it is turned off)", "alert off"]
