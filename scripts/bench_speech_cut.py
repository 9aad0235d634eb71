#!/usr/bin/env python3
"""How long a playing prompt keeps sounding after cut(), on real (PulseAudio) devices.

Starts a private PulseAudio server with a virtual speaker (devkit/pulse.py),
plays a long prompt through DeviceSpeaker, cuts it at a moment of steady
speech, and finds in the recording of the speaker's monitor when the sound
really stopped. Also: how soon an urgent prompt that follows a cut starts,
and how soon a prompt starts from idle.

    python scripts/bench_speech_cut.py            # 30 trials
    python scripts/bench_speech_cut.py --trials 50 --keep-buffer
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from devkit.pulse import PulseServer, last_sound_time, window_rms
from voicecoach.session.prompts import FIXED_PROMPTS
from voicecoach.voice.speaking import DeviceSpeaker, PromptLibrary

RATE = 16000
PROMPT = "stuck_guidance"
URGENT = "return_stop"


class WallClock:
    def now(self) -> float:
        return time.monotonic()


def first_sound(samples: np.ndarray, t0: float, after: float) -> float | None:
    rms = window_rms(samples)
    start = max(0, int((after - t0) * RATE / 80))
    loud = np.nonzero(rms[start:] > 200)[0]
    return None if len(loud) == 0 else t0 + (start + loud[0]) * 80 / RATE


def speaking_moments(clip: np.ndarray) -> list[float]:
    """Times in the clip (s) in the middle of 300 ms of steady speech."""
    rms = window_rms(clip)
    return [i * 80 / RATE for i in range(30, len(rms) - 30)
            if (rms[i - 30: i + 30] > 300).all() and i * 80 / RATE > 0.5]


def onset(recording: np.ndarray, clip: np.ndarray) -> int:
    """Sample index in the recording where the clip begins (cross-correlation peak)."""
    size = 1 << (len(recording) + len(clip) - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(recording.astype(float), size)
                        * np.conj(np.fft.rfft(clip.astype(float), size)), size)
    return int(np.argmax(corr[: len(recording)]))


def cut_at_moment(speaker: DeviceSpeaker, moment: float) -> float:
    """Say the long prompt and wait until `moment` into it; returns the say() time."""
    said = time.monotonic()
    speaker.say(PROMPT, FIXED_PROMPTS[PROMPT])
    while speaker.now_playing() is None:
        time.sleep(0.001)
    playing = speaker.now_playing()
    assert playing is not None
    time.sleep(max(0.0, playing.started_at + moment - time.monotonic()))
    return said


def summary(name: str, seconds: list[float]) -> None:
    ms = [1000 * v for v in seconds]
    print(f"{name:36s} p50 {np.percentile(ms, 50):6.1f} ms  p95 {np.percentile(ms, 95):6.1f} ms"
          f"  max {max(ms):6.1f} ms  (n={len(ms)}, mean {statistics.mean(ms):.1f})")


def run(trials: int, keep_buffer: bool) -> int:
    library = PromptLibrary()
    clip = library.lookup(PROMPT, FIXED_PROMPTS[PROMPT])
    urgent = library.lookup(URGENT, FIXED_PROMPTS[URGENT])
    assert clip is not None and urgent is not None
    lead_in = first_sound(clip, 0.0, 0.0) or 0.0  # the recording's own silence before speech
    moments = speaking_moments(clip)
    rng = np.random.default_rng(1)
    after_cut: list[float] = []
    urgent_start: list[float] = []
    idle_start: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, PulseServer(Path(tmp)) as server, \
            server.environment():
        os.environ["VOICECOACH_HOME"] = str(Path(tmp) / "home")  # leave the user's cache alone
        speaker = DeviceSpeaker("pulse", clock=WallClock(), library=library)
        if keep_buffer:
            speaker.drop_buffer_on_cut = False
        print(f"device {speaker.device.label()}, playing at {speaker.rate} Hz, "
              f"output latency {1000 * speaker._latency():.0f} ms, writes of "
              f"{1000 * speaker._frames_per_chunk / speaker.rate:.0f} ms, "
              f"{'keeps' if keep_buffer else 'drops'} the device buffer on cut")
        for trial in range(trials):
            # A: cut() alone; how long does sound go on?
            moment = float(rng.choice(moments))
            recording = server.record_speaker()
            said = cut_at_moment(speaker, moment)
            cut_at = time.monotonic()
            speaker.cut()
            time.sleep(0.5)
            samples, t0 = recording.stop()
            started, ended = first_sound(samples, t0, said), last_sound_time(samples, t0)
            i_cut = int((cut_at - t0) * RATE / 80)
            sounding = window_rms(samples)[i_cut - 10: i_cut].min() > 200
            if started is None or ended is None or not sounding:
                print(f"trial {trial}: speech was not sounding at the cut; skipped")
                continue
            after_cut.append(ended - cut_at)
            idle_start.append(started - lead_in - said)
            # B: an urgent prompt said mid-prompt; how soon does it sound?
            recording = server.record_speaker()
            cut_at_moment(speaker, float(rng.choice(moments)))
            urgent_at = time.monotonic()
            speaker.say(URGENT, FIXED_PROMPTS[URGENT], urgent=True)
            while not speaker.idle():
                time.sleep(0.005)
            time.sleep(0.2)
            samples, t0 = recording.stop()
            begins = t0 + onset(samples, urgent) / RATE
            urgent_start.append(begins - urgent_at)
            print(f"trial {trial:2d}: sound went on {1000 * (ended - cut_at):5.1f} ms after "
                  f"cut(); urgent prompt began {1000 * (begins - urgent_at):5.1f} ms after say()")
        speaker.close(drain=False)
    if not after_cut:
        print("no valid trials")
        return 1
    summary("sound after cut()", after_cut)
    summary("urgent prompt start after say()", urgent_start)
    summary("prompt start from idle", idle_start)
    print("(times from the recording of the speaker's monitor: about +-5 ms, so values near 0 "
          "can come out slightly negative)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--keep-buffer", action="store_true",
                        help="on cut, stop writing but let the device play out its buffer")
    args = parser.parse_args()
    return run(max(1, args.trials), args.keep_buffer)


if __name__ == "__main__":
    sys.exit(main())
