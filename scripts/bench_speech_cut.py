#!/usr/bin/env python3
"""How long a playing prompt keeps sounding after cut(), on real (PulseAudio) devices.

Starts a private PulseAudio server with a virtual speaker (tests/pulse.py),
plays a long prompt through DeviceSpeaker, cuts it at a moment of steady
speech, and finds in the recording of the speaker's monitor when the sound
really stopped. Also: how soon an urgent prompt that follows a cut starts,
and how soon a prompt starts from idle.

    python scripts/bench_speech_cut.py            # 30 trials
    python scripts/bench_speech_cut.py --trials 50 --keep-buffer
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from pulse import PulseServer, last_sound_time, window_rms  # noqa: E402

from voicecoach.session.prompts import FIXED_PROMPTS  # noqa: E402
from voicecoach.voice.speaking import DeviceSpeaker, PromptLibrary  # noqa: E402

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
    """Times in the clip (s) with steady speech over the 150 ms before them."""
    rms = window_rms(clip)
    return [i * 80 / RATE for i in range(30, len(rms) - 100)
            if (rms[i - 30: i] > 300).all() and i * 80 / RATE > 0.5]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def run(trials: int, keep_buffer: bool) -> int:
    library = PromptLibrary()
    clip = library.lookup(PROMPT, FIXED_PROMPTS[PROMPT])
    assert clip is not None
    moments = speaking_moments(clip)
    rng = np.random.default_rng(1)
    after_cut: list[float] = []
    urgent_start: list[float] = []
    idle_start: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, PulseServer(Path(tmp)) as server, \
            server.environment():
        speaker = DeviceSpeaker("pulse", clock=WallClock(), library=library)
        if keep_buffer:
            speaker.drop_buffer_on_cut = False
        print(f"device {speaker.device.label()}, {speaker.rate} Hz, "
              f"output latency {1000 * speaker._latency():.0f} ms, "
              f"chunk {1000 * speaker._frames_per_chunk / speaker.rate:.0f} ms, "
              f"{'keeps' if keep_buffer else 'drops'} the device buffer on cut")
        for trial in range(trials):
            moment = float(rng.choice(moments))
            recording = server.record_speaker()
            said = time.monotonic()
            speaker.say(PROMPT, FIXED_PROMPTS[PROMPT])
            while speaker.now_playing() is None:
                time.sleep(0.001)
            playing = speaker.now_playing()
            assert playing is not None
            time.sleep(max(0.0, playing.started_at + moment - time.monotonic()))
            cut_at = time.monotonic()
            speaker.say(URGENT, FIXED_PROMPTS[URGENT], urgent=True)
            while not speaker.idle():
                time.sleep(0.005)
            time.sleep(0.3)
            samples, t0 = recording.stop()
            start = first_sound(samples, t0, said)
            # The gap between the cut prompt and the urgent one: sound stops, then restarts.
            rms = window_rms(samples)
            i_cut = int((cut_at - t0) * RATE / 80)
            quiet = np.nonzero(rms[i_cut:] <= 200)[0]
            stopped = None if len(quiet) == 0 else t0 + (i_cut + quiet[0]) * 80 / RATE
            restart = first_sound(samples, t0, stopped) if stopped is not None else None
            if start is None or stopped is None or restart is None:
                print(f"trial {trial}: could not find the sound edges; skipped")
                continue
            idle_start.append(start - said)
            after_cut.append(stopped - cut_at)
            urgent_start.append(restart - cut_at)
            end = last_sound_time(samples, t0)
            print(f"trial {trial:2d}: cut at {moment:4.2f} s into the prompt; sound stopped "
                  f"{1000 * (stopped - cut_at):5.1f} ms after cut(); urgent prompt sounded "
                  f"{1000 * (restart - cut_at):5.1f} ms after; ended {end - cut_at:4.2f} s")
        speaker.close(drain=False)
    if not after_cut:
        print("no valid trials")
        return 1
    for name, values in (("sound after cut()", after_cut),
                         ("urgent prompt start after cut()", urgent_start),
                         ("prompt start from idle", idle_start)):
        ms = [1000 * v for v in values]
        print(f"{name:34s} p50 {percentile(ms, 50):6.1f} ms  p95 {percentile(ms, 95):6.1f} ms  "
              f"max {max(ms):6.1f} ms  (n={len(ms)}, mean {statistics.mean(ms):.1f})")
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
