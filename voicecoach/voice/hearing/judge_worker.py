"""The judge's process: `python -m voicecoach.voice.hearing.judge_worker [MODEL_DIR]`.

Started and spoken to by judge_process.JudgeProcess (see there for why and how).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from pathlib import Path

import numpy as np

from voicecoach.voice.hearing.errors import HearingSetupError
from voicecoach.voice.hearing.judge_process import PING, PONG, read_message, write_message
from voicecoach.voice.hearing.whisper_reader import WhisperReader
from voicecoach.voice.pcm import RATE

WARM_UP_READINGS = 3


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    model = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        reader = WhisperReader(Path(model) if model else None)
    except HearingSetupError as exc:
        write_message(answers, str(exc))
        return
    # The first readings set up the kernels (measured: 84 and 47 ms, then 31): done now,
    # they do not delay the first word the user says, which may be "stop".
    hiss = np.random.default_rng(0).normal(0, 300, 2 * RATE).astype("<i2").tobytes()
    for _ in range(WARM_UP_READINGS):
        reader.read(hiss)
    _return_freed_memory()
    write_message(answers, "ready")
    requests = sys.stdin.buffer.fileno()
    while True:
        try:
            pcm = read_message(requests, None)
        except EOFError:
            return  # the parent has gone
        if pcm == PING:
            write_message(answers, PONG)
            continue
        try:
            write_message(answers, reader.read(pcm))
        except Exception as exc:  # answer with the reason rather than die silently
            write_message(answers, f"{type(exc).__name__}: {exc}")
        _return_freed_memory()  # after the answer is sent: the 1.4 ms is nobody's wait


def _return_freed_memory() -> None:
    """Give back to the system what loading the model (its float16 file, converted as it
    is read) and each reading freed: measured, 10 MB after loading and 13 MB once the
    judge has read speech, for 1.4 ms a reading."""
    libc = ctypes.util.find_library("c")
    if libc is not None and sys.platform.startswith("linux"):
        ctypes.CDLL(libc).malloc_trim(0)


if __name__ == "__main__":
    main()
