"""The echo gate on the session clock, with a speaker that says what it plays (no devices)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from voicecoach.runtime.hearing_link import ECHO_TAIL_S, OwnVoiceGate
from voicecoach.runtime.ports import Playing

RATE = 16000
CHUNK_S = 0.03


class ScriptedSpeaker:
    """Plays what the test says it plays; only now_playing() matters to the gate."""

    def __init__(self) -> None:
        self.playing: Playing | None = None

    def now_playing(self) -> Playing | None:
        return self.playing


def _observe(gate: OwnVoiceGate, start: float, end: float, rms: float = 300.0) -> None:
    rng = np.random.default_rng(int(start * 1000))
    n = round(CHUNK_S * RATE)
    for i in range(round((end - start) / CHUNK_S)):
        chunk = rng.normal(0, rms, n).astype("<i2").tobytes()
        gate.observe(start + (i + 1) * CHUNK_S, chunk)


def test_a_prompt_made_late_by_a_stall_still_gates_its_own_stop() -> None:
    """The speaker re-times the prompt it is playing when the device stalled: a "stop" the
    prompt says, heard after the time it was first due to end, is still the coach's own,
    and the prompt counts once in the echo expected, not once per timing."""
    samples = np.random.default_rng(1).normal(0, 3000, 2 * RATE).astype(np.int16)
    speaker = ScriptedSpeaker()
    gate = OwnVoiceGate(speaker)  # type: ignore[arg-type]
    due = Playing("remind", "Say stop at any time.", 0.0, 2.0, samples)
    speaker.playing = due
    _observe(gate, 0.0, 1.0)
    late = replace(due, started_at=0.7, ends_at=2.7)  # the device froze for 0.7 s
    speaker.playing = late
    _observe(gate, 1.0, 2.7)
    heard_at = late.ends_at + ECHO_TAIL_S - 0.05
    assert heard_at > due.ends_at + ECHO_TAIL_S  # past the first timing's tail
    _observe(gate, 2.7, heard_at)
    assert gate.is_own_voice("stop", heard_at)

    only_late = OwnVoiceGate(ScriptedSpeaker())  # type: ignore[arg-type]
    only_late._speaker.playing = late  # type: ignore[attr-defined]
    only_late.observe(1.5)
    assert gate._playback_energy(1.4, 1.5) == only_late._playback_energy(1.4, 1.5)


def test_the_same_prompt_said_again_is_a_new_playing_not_a_retiming() -> None:
    samples = np.full(RATE, 1000, dtype=np.int16)
    speaker = ScriptedSpeaker()
    gate = OwnVoiceGate(speaker)  # type: ignore[arg-type]
    first = Playing("countdown", "Ten.", 0.0, 1.0, samples)
    speaker.playing = first
    gate.observe(0.5)
    speaker.playing = replace(first, started_at=1.0, ends_at=2.0)
    gate.observe(1.1)
    # Both still count: the first one's echo tail overlaps the second's start.
    assert gate._playback_energy(0.9, 1.1) > gate._playback_energy(1.05, 1.1)
