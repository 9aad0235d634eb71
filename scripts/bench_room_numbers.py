"""Pain numbers said after the question, in a room with the coach's echo: heard right?

    python scripts/bench_room_numbers.py $DEVSET/manifest.csv [--trials 40] [--seed 1]

A reference session nobody speaks in (`--no-checklist --pain 2 --fast`, the short
program of tests/data, whose hold has no check-in, so that it ends normally) gives the
moment the answer window of the pain question after the session opens
(`answer_window`, post_pain_ask). Each trial says one recorded number of the
development set (zero to ten) half a second after it, through a pyroomacoustics room
(the user 1-3 m away, mouth near the floor), with the coach's echo through the same
room scaled to be 6 dB over the word while the question played (scripts/bench_room.py's
rooms and levels). Counted: the first number heard after the window is the one said
(top-1), and the rating logged. Run with the echo canceller, with `--no-echo-cancel`
(the gate alone) and with no --echo-ir at all (the word in the room, no echo), all in
the same run.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_room import WORD_RMS, active_span, float_wav, room_irs, run_session

from voicecoach.session.commands import NUMBER_WORDS
from voicecoach.voice.pcm import RATE, read_wav, rms, write_wav

REFERENCE_S = 200.0
"""Long enough for the session to reach its last question."""
PROGRAM = ("--program", str(Path(__file__).resolve().parent.parent / "tests" / "data"
                            / "programs" / "short-descend.toml"))
ECHO_DB = 6.0


def first_number(events: list[dict], after: float) -> str | None:
    for e in events:
        if e["type"] == "heard" and e["t"] >= after and e["word"] in NUMBER_WORDS:
            return str(e["word"])
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path, help="the development set's manifest.csv")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    with args.manifest.open() as f:
        clips = [(args.manifest.parent / row["path"], row["label"])
                 for row in csv.DictReader(f) if row["label"] in NUMBER_WORDS]
    picked = [clips[int(i)] for i in rng.choice(len(clips), size=args.trials, replace=False)]
    results: dict[str, list[tuple[str, str | None, int | None]]] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-room-numbers-") as tmp:
        work = Path(tmp)
        silent = work / "silent.wav"
        write_wav(silent, np.zeros(int(REFERENCE_S * RATE), dtype=np.int16))
        reference = run_session(work, silent, None, *PROGRAM)
        reference_out = read_wav(work / "out.wav").astype(np.float64)
        windows = [e for e in reference if e["type"] == "answer_window"
                   and e.get("question") == "post_pain_ask"]
        asked = [e for e in reference if e["type"] == "prompt" and e["id"] == "post_pain_ask"]
        if not windows or not asked:
            sys.exit("the reference session never asked the pain question after the session")
        window_t, asked_t = float(windows[0]["t"]), float(asked[0]["t"])
        for n, (clip, label) in enumerate(picked):
            speaker_ir, mouth_ir = room_irs(rng)
            word = np.convolve(read_wav(clip).astype(np.float64), mouth_ir)
            lo, hi = active_span(word)
            word *= WORD_RMS / max(rms(word[lo:hi]), 1e-9)
            at = int((window_t + 0.5) * RATE)
            samples = np.zeros(at + len(word) + 15 * RATE)
            samples[at: at + len(word)] = word
            in_wav, ir_wav = work / "in.wav", work / "ir.wav"
            write_wav(in_wav, np.clip(np.rint(samples), -32768, 32767).astype(np.int16))
            # The question as it reached the microphone: ECHO_DB over the word.
            question = reference_out[int(asked_t * RATE): int(window_t * RATE)]
            echo = np.convolve(question, speaker_ir)[: len(question)]
            gain = 10 ** (ECHO_DB / 20) * WORD_RMS / max(rms(echo), 1e-9)
            float_wav(ir_wav, speaker_ir * gain)
            line = f"  {n + 1:3d} {label:6s}"
            for system, ir, more in (("no echo", None, ()), ("canceller", ir_wav, ()),
                                     ("gate alone", ir_wav, ("--no-echo-cancel",))):
                events = run_session(work, in_wav, ir, *PROGRAM, *more)
                got = first_number(events, window_t)
                logged = [e["value"] for e in events
                          if e["type"] == "pain" and e.get("phase") == "after"]
                results.setdefault(system, []).append((label, got, logged[0] if logged
                                                       else None))
                line += f" | {system}: {got or '-'}"
            print(line, file=sys.stderr, flush=True)
    print(f"{args.trials} recorded numbers from {args.manifest}, said after the pain question "
          f"through simulated rooms, the echo {ECHO_DB:+.0f} dB over the word; seed "
          f"{args.seed}; {time.monotonic() - started:.0f} s")
    print("| system | heard right (top-1) | heard wrong | not heard | logged right |")
    print("| --- | --- | --- | --- | --- |")
    for system, got in results.items():
        right = sum(1 for label, word, _ in got if word == label)
        wrong = sum(1 for label, word, _ in got if word is not None and word != label)
        logged = sum(1 for label, _, value in got
                     if value is not None and value == NUMBER_WORDS[label])
        n = len(got)
        print(f"| {system} | {right}/{n} ({100 * right / n:.1f}%) | {wrong} | "
              f"{n - right - wrong} | {logged}/{n} |")


if __name__ == "__main__":
    main()
