"""The judge (judge.py) in a process of its own.

pocketsphinx holds Python's GIL for the whole of a search: measured here, the
phone loop over a 3 s segment held it for 300 ms. In the live loop that froze
every other thread of the session: the microphone's reader overflowed (audio
lost, so the echo check lost its alignment) and the speaker's 20 ms writes
underran (the coach's speech stuttered). In a child process the search runs
on the other core, and the recogniser's thread waits on a pipe, which leaves
the GIL free for the microphone and the speaker.

A plain subprocess (`python -m voicecoach.voice.hearing.judge_worker`), not
multiprocessing: its "spawn" start re-runs the parent's main module, which
broke every script without a `__main__` guard. Protocol: length-prefixed
pickles, requests `(pcm, mode)` on the child's stdin, answers (a Verdict, or
an error string) on a copy of its stdout; the child's own fd 1 goes to stderr
so that nothing pocketsphinx prints can corrupt the answers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pickle
import select
import struct
import subprocess
import sys
import time
from typing import IO, Any

from voicecoach.voice.hearing.decoder import HearingSetupError
from voicecoach.voice.hearing.judge import Verdict
from voicecoach.voice.hearing.settings import HearingSettings

START_TIMEOUT_S = 60.0
"""Loading the model takes about a second; a machine under heavy load may take far longer."""
JUDGE_TIMEOUT_S = 10.0
"""A search takes 10% of the audio's length at most (3 s segments): this means it hung."""

_HEADER = struct.Struct("!I")


class JudgeFailed(RuntimeError):
    """The judge's process died or stopped answering: nothing more can be heard."""


def write_message(out: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(data)) + data)
    out.flush()


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes:
    parts: list[bytes] = []
    while size:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError
        part = os.read(fd, size)
        if not part:
            raise EOFError
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def read_message(fd: int, timeout_s: float | None) -> Any:
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size, deadline))
    return pickle.loads(_read_exactly(fd, size, deadline))


class JudgeProcess:
    """`judge(pcm, mode)` answered by a child process; `close()` ends it."""

    def __init__(self, settings: HearingSettings) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "voicecoach.voice.hearing.judge_worker",
             json.dumps(dataclasses.asdict(settings))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            # Its own session: the Ctrl-C that means "come up" is the parent's to handle,
            # and the judge must go on hearing through it.
            start_new_session=True)
        assert self._process.stdin is not None and self._process.stdout is not None
        self._stdin = self._process.stdin
        self._answers = self._process.stdout.fileno()
        try:
            status = read_message(self._answers, START_TIMEOUT_S)
        except (TimeoutError, EOFError):
            self.close()
            raise HearingSetupError("the recogniser's process did not start") from None
        if status != "ready":
            self.close()
            raise HearingSetupError(str(status))

    def judge(self, pcm: bytes, mode: str) -> Verdict:
        try:
            write_message(self._stdin, (pcm, mode))
            answer = read_message(self._answers, JUDGE_TIMEOUT_S)
        except TimeoutError:
            self._process.kill()
            raise JudgeFailed(
                f"the recogniser stopped answering for {JUDGE_TIMEOUT_S:g} s") from None
        except (EOFError, OSError) as exc:
            raise JudgeFailed(f"the recogniser's process ended: {exc}") from exc
        if not isinstance(answer, Verdict):
            raise JudgeFailed(f"the recogniser failed: {answer}")
        return answer

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._stdin.close()  # the child's cue to end
        try:
            self._process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=1.0)
        if self._process.stdout is not None:
            self._process.stdout.close()
