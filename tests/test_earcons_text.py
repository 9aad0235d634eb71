"""Earcons and the text-mode speaker."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from voicecoach.voice.speaking import EARCONS, TextSpeaker, earcon
from voicecoach.voice.speaking.clips import alert_clip


@pytest.mark.parametrize("name", EARCONS)
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
