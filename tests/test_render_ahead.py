"""A live session renders the program's prompts ahead, so that no prompt built from the
program's numbers waits for the speech engine when it falls due."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine_driver import drive
from voicecoach.protocol.program import builtin_program_names, load_builtin
from voicecoach.session.engine import EngineSettings, prompts_ahead
from voicecoach.session.events import Heard
from voicecoach.session.prompts import FIXED_PROMPTS
from voicecoach.voice.speaking import DeviceSpeaker
from voicecoach.voice.speaking.render import Renderer

RUNTIME_PROMPTS = {"time_left", "summary"}
"""Built from the moment they are asked for ("42 seconds left in this hold"): rendered
when asked (the engine's thread never renders; the speaker's render thread does)."""


@pytest.mark.parametrize("name", builtin_program_names())
def test_every_prompt_from_the_programs_numbers_is_rendered_ahead(name: str):
    program = load_builtin(name)
    settings = EngineSettings(checklist=False, pain_before=3)
    # Pain answered at every check-in and after the session, some read back.
    script = [(t, Heard("four", 0.6, "four")) for t in range(60, 3000, 20)]
    script += [(t + 5, Heard("yes", 0.95, "yes")) for t in range(60, 3000, 20)]
    run = drive(program, settings, script)
    ahead = {text for _, text in prompts_ahead(program, settings)}
    said = [(a.prompt_id, a.text) for _, a in run.actions if hasattr(a, "text")
            and hasattr(a, "prompt_id")]
    built = [(pid, text) for pid, text in said
             if pid not in FIXED_PROMPTS and pid not in RUNTIME_PROMPTS]
    assert built, "the session said nothing built from its program"
    missing = [(pid, text) for pid, text in built if text not in ahead]
    assert missing == []


def test_the_speaker_renders_ahead_in_the_background(pulse_env, tmp_path: Path):
    """On the virtual devices, with an empty speech cache (a new user's first session):
    every prompt of the first session is in the cache within a minute, while the speaker
    was free to play meanwhile."""
    program = load_builtin("first-session")
    said = prompts_ahead(program, EngineSettings())
    renderer = Renderer(cache_dir=tmp_path / "speech")
    assert all(renderer.cached(text) is None for _, text in said)
    speaker = DeviceSpeaker(renderer=renderer)
    try:
        started = time.monotonic()
        speaker.render_ahead(said)
        assert time.monotonic() - started < 0.5  # it returns at once
        speaker.say("ready", FIXED_PROMPTS["mic_check"])  # pre-rendered: plays at once
        deadline = time.monotonic() + 60
        while any(renderer.cached(text) is None for _, text in said):
            assert time.monotonic() < deadline, [t for _, t in said if renderer.cached(t) is None]
            time.sleep(0.2)
        print(f"{len(said)} prompts rendered ahead in {time.monotonic() - started:.1f} s")
    finally:
        speaker.close(drain=False)
