"""The pre-rendered safety prompts ship with the package and match FIXED_PROMPTS."""

from __future__ import annotations

from pathlib import Path

import tomllib

from voicecoach.session.prompts import FIXED_PROMPTS
from voicecoach.voice.pcm import rms
from voicecoach.voice.speaking.prerendered import (
    PromptLibrary,
    outdated,
    prompts_dir,
    read_manifest,
)
from voicecoach.voice.speaking.render import DEFAULT_VOICE

ROOT = Path(__file__).parent.parent


def test_manifest_is_up_to_date_with_fixed_prompts():
    directory = prompts_dir()
    stale = outdated(read_manifest(directory), FIXED_PROMPTS, DEFAULT_VOICE, directory)
    assert stale == [], (f"pre-rendered prompts out of date: {stale}; "
                         "run: python scripts/render_prompts.py")


def test_every_recording_is_speech_of_a_plausible_length():
    library = PromptLibrary()
    assert library.preload() == len(FIXED_PROMPTS)
    for pid, text in FIXED_PROMPTS.items():
        samples = library.lookup(pid, text)
        assert samples is not None, pid
        seconds = len(samples) / 16000
        # espeak at 160 wpm: roughly 2.5 to 4 words a second, plus pauses.
        words = len(text.split())
        assert words / 5 < seconds < words / 1.5 + 1.5, (pid, seconds)
        assert rms(samples) > 500, pid


def test_lookup_needs_the_exact_text_but_fallback_does_not():
    library = PromptLibrary()
    assert library.lookup("return_stop", FIXED_PROMPTS["return_stop"]) is not None
    assert library.lookup("return_stop", "Coming up now, please.") is None
    assert library.fallback("return_stop") is not None
    assert library.fallback("no_such_prompt") is None


def test_prompts_are_package_data_and_the_repo_root_points_at_them():
    assert prompts_dir() == ROOT / "voicecoach" / "audio_prompts"
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data = config["tool"]["setuptools"]["package-data"]["voicecoach"]
    assert "audio_prompts/*.wav" in data and "audio_prompts/manifest.json" in data
    assert (ROOT / "audio_prompts").resolve() == prompts_dir().resolve()


def test_a_changed_text_shows_up_as_out_of_date(tmp_path):
    directory = prompts_dir()
    changed = {**FIXED_PROMPTS, "return_stop": "Coming up now, slowly."}
    assert outdated(read_manifest(directory), changed, DEFAULT_VOICE, directory) == [
        "return_stop"]
    extra = {**FIXED_PROMPTS, "brand_new": "Hello."}
    assert outdated(read_manifest(directory), extra, DEFAULT_VOICE, directory) == ["brand_new"]


def _render_prompts_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("render_prompts",
                                                  ROOT / "scripts" / "render_prompts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_render_script_renders_only_what_changed_and_removes_what_is_gone(tmp_path):
    script = _render_prompts_script()
    prompts = {"a_first": "Coming up now.", "b_second": "Breathe slowly."}
    assert script.rebuild(tmp_path, prompts) == ["a_first", "b_second"]
    assert outdated(read_manifest(tmp_path), prompts, DEFAULT_VOICE, tmp_path) == []
    assert sorted(p.name for p in tmp_path.glob("*.wav")) == ["a_first.wav", "b_second.wav"]

    changed = {"a_first": "Coming up now, slowly.", "c_third": "Well done."}
    assert script.rebuild(tmp_path, changed) == ["a_first", "c_third"]
    assert sorted(read_manifest(tmp_path)) == ["a_first", "c_third"]
    assert not (tmp_path / "b_second.wav").exists()
    assert PromptLibrary(tmp_path).lookup("a_first", "Coming up now, slowly.") is not None
