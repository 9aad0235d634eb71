"""Does the coach take its own voice for a command? Whole sessions through the file
contract in simulated rooms, nobody speaking: every command heard is a false one.

    python scripts/bench_own_voice.py [--sessions 60] [--echo-db 6] [--seed 1]

Each session runs a built-in program in turn (`start --audio-in ROOM.wav --echo-ir IR.wav
--fast --no-checklist --pain 2`): IN.wav is the faint noise of a quiet room, IR.wav a
pyroomacoustics room (scripts/bench_room.py's), scaled so that the coach's voice reaches
the microphone `--echo-db` over a -30 dBFS word, as loud as in bench_room's +6 dB trials.
Nobody answers, so each session runs through its check-ins, the re-asks, the return and
the alert for no answer: the coach's whole repertoire. Counted: `heard` events (a command
taken: the user said nothing) and returns started for anything but the session's own
reasons, over the seconds of prompts the coach said (their rendered lengths), and the
times the coach ducked its own speech for a stop it suspected (each one false here: it
swallows up to a second of a prompt), from the session's log.
The same sessions run with `--no-echo-cancel` (the gate alone) as the baseline.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_room import WORD_RMS, float_wav, room_irs, run_session

from voicecoach.logs import LOG_NAME
from voicecoach.protocol.program import builtin_program_names
from voicecoach.runtime.hearing_link import DUCKED
from voicecoach.voice.pcm import RATE, rms, write_wav
from voicecoach.voice.speaking import PromptLibrary
from voicecoach.voice.speaking.render import Renderer

SESSION_S = 240
"""IN.wav's length: enough for a session nobody answers to reach its return and the
alert for no answer; the session ends when the input does (nobody can say "upright")."""
OWN_REASONS = {"no_answer", "completed"}
"""Why a session nobody speaks in may end: anything else was heard from the coach."""


def prompt_seconds(logged: list[dict], home: Path) -> float:
    """How long the prompts the session said last, as rendered (a cut one counted whole;
    the alert's siren not at all): the coach's voice the microphone heard."""
    library = PromptLibrary()
    renderer = Renderer(cache_dir=home / "cache" / "speech")
    total = 0.0
    for e in logged:
        if e["type"] == "prompt":
            clip = library.lookup(e["id"], e["text"])
            if clip is None:
                clip = renderer.cached(e["text"])
            total += 0 if clip is None else len(clip) / RATE
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=60)
    parser.add_argument("--echo-db", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    programs = builtin_program_names()
    rng = np.random.default_rng(args.seed)
    # heard, returns, seconds of prompts, ducks
    totals = {"canceller": [0, 0, 0.0, 0], "gate alone": [0, 0, 0.0, 0]}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="voicecoach-own-voice-") as tmp:
        work = Path(tmp)
        in_wav = work / "room.wav"
        write_wav(in_wav, rng.normal(0, 8, SESSION_S * RATE).astype(np.int16))
        for n in range(args.sessions):
            program = programs[n % len(programs)]
            speaker_ir, _ = room_irs(rng)
            # The coach's speech is about -19.7 dBFS as played; through this room it must
            # arrive echo_db over a word at WORD_RMS.
            probe = np.convolve(rng.normal(0, 3400, RATE), speaker_ir)[:RATE]
            gain = WORD_RMS * 10 ** (args.echo_db / 20) / max(rms(probe), 1e-9)
            ir_wav = work / "ir.wav"
            float_wav(ir_wav, speaker_ir * gain)
            line = f"  {n + 1:3d} {program:22s}"
            for system, more in (("canceller", ()), ("gate alone", ("--no-echo-cancel",))):
                log = work / "home" / LOG_NAME
                log.unlink(missing_ok=True)
                logged = run_session(work, in_wav, ir_wav, "--program", program, *more)
                ducks = log.read_text().count(DUCKED) if log.exists() else 0
                heard = [e["word"] for e in logged if e["type"] == "heard"]
                returns = [e["reason"] for e in logged if e["type"] == "return_started"
                           and e["reason"] not in OWN_REASONS]
                seconds = prompt_seconds(logged, work / "home")
                totals[system][0] += len(heard)
                totals[system][1] += len(returns)
                totals[system][2] += seconds
                totals[system][3] += ducks
                line += (f" | {system}: {seconds:4.0f} s of prompts, heard {heard or '-'}, "
                         f"ducked {ducks}")
                if returns:
                    line += f", returns {returns}"
            print(line, flush=True)
    print(f"\n{args.sessions} sessions, echo {args.echo_db:+.0f} dB over a -30 dBFS word, "
          f"{time.monotonic() - started:.0f} s")
    print("| system | the coach's voice | commands taken from it | returns it started "
          "| ducks of its own voice |")
    print("| --- | --- | --- | --- | --- |")
    for system, (heard, returns, seconds, ducks) in totals.items():
        print(f"| {system} | {seconds / 60:.0f} min | {heard} | {returns} | {ducks} |")


if __name__ == "__main__":
    main()
