"""A whole voice session on real audio devices: a private PulseAudio server with a
virtual microphone (fed recorded human speech) and a virtual speaker (recorded).

`voicecoach start` runs as a real subprocess, exactly as a user starts it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from audio_match import HostWatch, prompt_likeness, similarity
from devkit.pulse import PulseServer, Recording, window_rms
from devkit.session_events import read_events, wait_for_event
from devkit.session_history import record_clean_screening, record_past_sessions
from voicecoach.voice.pcm import RATE, read_wav
from voicecoach.voice.speaking.render import Renderer

DATA = Path(__file__).parent / "data"
SPEECH = DATA / "speech" / "clips"
PROGRAM = DATA / "programs" / "short-descend.toml"  # 20 degrees, descend 10 s, hold 60 s
LONG_PROMPT = DATA / "programs" / "long-prompt.toml"  # the same, its hold's prompt about 8 s
# Recorded human speech (tests/data/ATTRIBUTION.md).
STOP_CLIP = SPEECH / "stop" / "felix__stop_audio_05-08-23-41-40-258hqiex5ao.wav"
TWO_CLIP = SPEECH / "two" / "sc1vinsis__two_1eddce1d_nohash_3.wav"
YES_CLIP = SPEECH / "yes" / "sc1vinsis__yes_93ec8b84_nohash_0.wav"


def _clip(path: Path) -> np.ndarray:
    matches = sorted(path.parent.glob(path.name[:40] + "*"))
    assert matches, f"missing test clip {path}"
    return read_wav(matches[0])


# The real CLI, with its debug log (the echo gate's decisions among it) in a file that a
# failure message can show.
LOGGED_CLI = ("import logging, sys; logging.basicConfig(filename=sys.argv.pop(1), "
              "level=logging.DEBUG, format='%(relativeCreated)d %(name)s %(message)s'); "
              "sys.argv[0] = 'voicecoach'; from voicecoach.cli import main; main()")


def _log_tail(log: Path) -> str:
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return "\n".join(line for line in lines if "voicecoach" in line)[-3000:]


def _wait_for(path: Path, predicate, timeout: float, proc: subprocess.Popen) -> dict:
    return wait_for_event(path, predicate, timeout, proc,
                          explain=lambda: _log_tail(path.with_suffix(".log")))


def _start_session(pulse: PulseServer, tmp_path: Path, program: Path
                   ) -> tuple[subprocess.Popen[bytes], Path]:
    """`voicecoach start` on the server's devices, screened and past its first sessions."""
    db = tmp_path / "session.db"
    events = tmp_path / "ev.jsonl"
    record_clean_screening(db)
    record_past_sessions(db)  # past the first ten sessions: --no-checklist is allowed
    proc = subprocess.Popen(
        [sys.executable, "-c", LOGGED_CLI, str(events.with_suffix(".log")), "start",
         "--program", str(program), "--pain", "3",
         "--no-checklist", "--db", str(db), "--events", str(events)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, **pulse.client_env()})
    return proc, events


def _answer_two_after_the_session(pulse: PulseServer, events: Path,
                                  proc: subprocess.Popen) -> None:
    """Say "two" when the pain question's answer window opens (it opens when the question
    has finished playing), and "yes" if the coach reads it back."""
    _wait_for(events, lambda e: e["type"] == "answer_window"
              and e["question"] == "post_pain_ask", 90, proc)
    pulse.play_into_mic(_clip(TWO_CLIP)).wait(timeout=10)
    # A number heard with less than full confidence is read back for a "yes" before it
    # is logged; answer that the way the user would.
    answered = _wait_for(events, lambda e: e["type"] == "pain" and e["phase"] == "after"
                         or e["type"] == "prompt" and e["id"] == "confirm", 15, proc)
    if answered["type"] == "prompt":
        # "I heard two. Say yes, or give the number again.": its own window.
        _wait_for(events, lambda e: e["type"] == "answer_window"
                  and e["t"] > answered["t"], 20, proc)
        pulse.play_into_mic(_clip(YES_CLIP)).wait(timeout=10)


def _pains(logged: list[dict]) -> list[tuple[str, int]]:
    return [(e["phase"], e["value"]) for e in logged if e["type"] == "pain"]


def _timeline(logged: list[dict]) -> str:
    return " ".join(f"{e['t']:.1f}:{e.get('id') or e.get('word') or e['type']}" for e in logged)


def test_spoken_stop_starts_the_return_and_it_is_heard_on_the_speaker(
        fresh_pulse: PulseServer, tmp_path: Path):
    recording = fresh_pulse.record_speaker()
    # Printed if a prompt comes out broken: did the whole machine stall meanwhile?
    with HostWatch() as host:
        proc, events = _start_session(fresh_pulse, tmp_path, PROGRAM)
        try:
            _wait_for(events, lambda e: e["type"] == "hold_started", 40, proc)
            time.sleep(2.0)
            fresh_pulse.play_into_mic(_clip(STOP_CLIP)).wait(timeout=10)
            started = _wait_for(events, lambda e: e["type"] == "return_started", 10, proc)
            assert started["reason"] == "stop"
            _answer_two_after_the_session(fresh_pulse, events, proc)
            assert proc.wait(timeout=60) == 1  # ended early for safety: the user said stop
        finally:
            if proc.poll() is None:
                proc.kill()
            audio, _ = recording.stop()

    logged = read_events(events)
    heard = [e for e in logged if e["type"] == "heard"]
    assert heard[0]["word"] == "stop"
    assert _pains(logged) == [("before", 3), ("after", 2)], _timeline(logged)
    assert logged[-1]["type"] == "session_end" and logged[-1]["reason"] == "stop"

    # The return guidance was actually audible: its pre-rendered audio is in the recording,
    # far more alike than a prompt that was never played.
    def likeness(prompt_id: str) -> float:
        return prompt_likeness(audio, prompt_id)

    never_played = max(likeness(p) for p in ("stuck_guidance", "return_no_answer", "mic_check"))
    played = {p: likeness(p) for p in ("return_stop", "return_pause_low", "return_upright",
                                       "release")}
    print(f"likeness: played {played}, never played {never_played:.2f}")
    assert never_played < 0.5  # measured 0.37: speech against other speech
    assert min(played.values()) > 0.9, f"{played}; {host}"  # measured 0.98 and above
    assert float(np.max(window_rms(audio))) > 1000


SOUNDING_RMS = 300.0
"""The speaker's monitor over this (int16, 50 ms windows) is the coach talking."""


def _wait_for_speech(recording: Recording, after: int, proc: subprocess.Popen,
                     timeout: float = 20) -> None:
    """Wait until the speaker sounds somewhere past sample `after` of the recording."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        heard = recording.so_far()[after:]
        if len(heard) and float(np.max(window_rms(heard, 800), initial=0)) > SOUNDING_RMS:
            return
        assert proc.poll() is None, "the session ended before its hold was announced"
        time.sleep(0.02)
    raise AssertionError("the coach never spoke")


def test_stop_said_over_a_prompt_is_heard_through_the_speakers_echo(
        fresh_pulse: PulseServer, tmp_path: Path):
    """The speaker heard by the microphone, as a laptop's is: PulseAudio's module-loopback
    carries everything the coach plays into the virtual microphone, on top of the user's
    voice. A recorded "stop" said while the hold's long opening prompt plays starts the
    return and cuts the prompt; the pain number said after the session is logged."""
    fresh_pulse.set_loopback(True)
    recording = fresh_pulse.record_speaker()
    with HostWatch() as host:
        proc, events = _start_session(fresh_pulse, tmp_path, LONG_PROMPT)
        try:
            _wait_for(events, lambda e: e["type"] == "hold_started", 40, proc)
            # The hold's prompt queued: say "stop" a second after it starts to sound, so
            # that the word ends with most of the prompt still to come.
            _wait_for_speech(recording, len(recording.so_far()), proc)
            time.sleep(1.0)
            fresh_pulse.play_into_mic(_clip(STOP_CLIP)).wait(timeout=10)
            started = _wait_for(events, lambda e: e["type"] == "return_started", 10, proc)
            assert started["reason"] == "stop"
            _answer_two_after_the_session(fresh_pulse, events, proc)
            assert proc.wait(timeout=60) == 1
        finally:
            if proc.poll() is None:
                proc.kill()
            audio, _ = recording.stop()

    logged = read_events(events)
    assert [e["word"] for e in logged if e["type"] == "heard"][:1] == ["stop"], \
        _timeline(logged)
    assert _pains(logged) == [("before", 3), ("after", 2)], _timeline(logged)
    # The prompt was cut: its opening is on the speaker, its last two seconds never are.
    hold_prompt = next(e["text"] for e in logged if e["type"] == "prompt"
                       and e["id"].startswith("step"))
    played = Renderer().cached(hold_prompt)
    assert played is not None and len(played) > 6 * RATE, "the hold's prompt is not long"
    opening = similarity(audio, played[: RATE])
    ending = similarity(audio, played[-2 * RATE:])
    print(f"hold prompt on the speaker: opening {opening:.2f}, ending {ending:.2f}")
    assert opening > 0.9, f"the prompt never played ({opening:.2f}); {host}"
    assert ending < 0.5, f"the prompt played on after the stop ({ending:.2f})"
