"""The coach never triggers on its own voice, though its prompts say "stop", "ready" and
numbers: every fixed prompt and every prompt of the default program is played through
the live loop's speaker while the microphone hears it (a PulseAudio loopback)."""

from __future__ import annotations

import time
from pathlib import Path

from audio_match import HostWatch
from devkit.pulse import PulseServer
from voicecoach.protocol.program import DEFAULT_PROGRAM
from voicecoach.protocol.validate import load_program
from voicecoach.runtime.clock import MonotonicClock
from voicecoach.runtime.hearing_link import HearingLink, OwnVoiceGate
from voicecoach.session import prompts
from voicecoach.session.events import Event
from voicecoach.voice.audio_in import MicrophoneSource
from voicecoach.voice.hearing import Recogniser
from voicecoach.voice.speaking import DeviceSpeaker


def program_prompts() -> list[tuple[str, str]]:
    """What the coach says that is built from the default program's numbers."""
    program = load_program(DEFAULT_PROGRAM)
    said = [("descend", prompts.descend_text(program.steps[0].angle, program.descend_s))]
    for i, step in enumerate(program.steps, start=1):
        said.append((f"step_{i}", prompts.step_text(step.title, step.angle, step.duration_s,
                                                    step.instruction, angle_changed=i > 1)))
        said += [(f"step_{i}_cue", cue.text) for cue in step.cues]
    said += [("remaining", prompts.remaining_text(60)), ("remaining", prompts.remaining_text(30))]
    said += [("countdown", prompts.countdown_text(n)) for n in range(10, 0, -1)]
    said += [("pain_noted", prompts.pain_noted_text(4)), ("confirm", prompts.confirm_text(7)),
             ("time_left", prompts.time_left_text(42, "in this hold")),
             ("summary", prompts.summary_text(90, 3, 2))]
    return said


def test_the_coach_never_hears_itself(tmp_path: Path):
    everything = [*prompts.FIXED_PROMPTS.items(), *program_prompts()]
    posted: list[Event] = []
    with HostWatch() as host, PulseServer(tmp_path / "pulse", loopback=True) as server, \
            server.environment():
        clock = MonotonicClock()
        speaker = DeviceSpeaker(clock=clock)
        recogniser = Recogniser()
        link = HearingLink(recogniser, OwnVoiceGate(speaker), clock, posted.append)
        mic = MicrophoneSource(on_chunk=link.on_chunk)
        link.dropped_samples = lambda: mic.dropped_frames
        mic.start()
        try:
            for prompt_id, text in everything:
                speaker.say(prompt_id, text)
            deadline = time.monotonic() + 600
            while not speaker.idle():
                assert time.monotonic() < deadline
                time.sleep(0.1)
            time.sleep(1.0)  # the echo tail
        finally:
            mic.close()
            speaker.close()
            recogniser.close()
    # The loopback really carried the coach's voice to the recogniser, which heard command
    # words in it; the gate kept every one of them from reaching the engine.
    assert link.detections, "the microphone never heard the speaker"
    # Decoding never starved the microphone's reader: the echo check saw every sample the
    # machine let through.
    assert host.explains(mic.dropped_frames), f"{host}; {mic.dropped_frames} samples lost"
    assert posted == [], (host, [(e.word, e.confidence, e.transcript) for e in posted])
