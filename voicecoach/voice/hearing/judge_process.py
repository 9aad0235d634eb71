"""The judge's searches (judge.py) in processes of their own, two at once.

pocketsphinx holds Python's GIL for the whole of a search: measured here, the
phone loop over a 3 s segment held it for 300 ms. In the live loop that froze
every other thread of the session: the microphone's reader overflowed (audio
lost, so the echo check lost its alignment) and the speaker's 20 ms writes
underran (the coach's speech stuttered). In a child process the search runs
on the other core, and the recogniser's thread waits on a pipe, which leaves
the GIL free for the microphone and the speaker.

The phone loop is the slow search (60% of a verdict's time) and needs nothing
from the word searches, so one process runs it while a second runs the
grammar and the "stop"-only search over the same audio: a verdict, and with it
the answer to "was that stop?", comes in the time of the slower half. Each
process costs about 45 MB.

Plain subprocesses (`python -m voicecoach.voice.hearing.judge_worker`), not
multiprocessing: its "spawn" start re-runs the parent's main module, which
broke every script without a `__main__` guard. Protocol: length-prefixed
pickles, requests `(pcm, search names)` on the child's stdin, answers (a dict of
search name to Segments, or an error string) on a copy of its stdout; the
child's own fd 1 goes to stderr so that nothing pocketsphinx prints can
corrupt the answers.
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

from voicecoach.voice.hearing.decoder import PHONE_SEARCH, HearingSetupError, Segment
from voicecoach.voice.hearing.judge import Verdict, grammar_searches, verdict
from voicecoach.voice.hearing.settings import HearingSettings

START_TIMEOUT_S = 60.0
"""Loading the model takes about a second; a machine under heavy load may take far longer."""

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


class SearchProcess:
    """pocketsphinx searches answered by a child process: `send()` a stretch of audio and
    the searches to run over it, then `receive()` their results; `close()` ends it."""

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

    def wait_ready(self) -> None:
        try:
            status = read_message(self._answers, START_TIMEOUT_S)
        except (TimeoutError, EOFError):
            raise HearingSetupError("the recogniser's process did not start") from None
        if status != "ready":
            raise HearingSetupError(str(status))

    def send(self, pcm: bytes, searches: tuple[str, ...]) -> None:
        try:
            write_message(self._stdin, (pcm, searches))
        except OSError as exc:
            raise JudgeFailed(f"the recogniser's process ended: {exc}") from exc

    def receive(self, deadline: float, timeout_s: float) -> dict[str, list[Segment]]:
        try:
            answer = read_message(self._answers, max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            self._process.kill()
            raise JudgeFailed(
                f"the recogniser stopped answering for {timeout_s:g} s") from None
        except (EOFError, OSError) as exc:
            raise JudgeFailed(f"the recogniser's process ended: {exc}") from exc
        if not isinstance(answer, dict):
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


class JudgeProcesses:
    """`judge(pcm, mode)`: the phone loop in one process, the word searches in another."""

    def __init__(self, settings: HearingSettings) -> None:
        self._timeout_s = settings.judge_timeout_s
        self._phones = SearchProcess(settings)
        self._words = SearchProcess(settings)
        try:
            self._phones.wait_ready()  # both load their model at the same time
            self._words.wait_ready()
        except HearingSetupError:
            self.close()
            raise

    def judge(self, pcm: bytes, mode: str) -> Verdict:
        self._phones.send(pcm, (PHONE_SEARCH,))
        self._words.send(pcm, grammar_searches(mode))
        deadline = time.monotonic() + self._timeout_s
        results = self._phones.receive(deadline, self._timeout_s)
        results.update(self._words.receive(deadline, self._timeout_s))
        return verdict(mode, results)

    def close(self) -> None:
        self._phones.close()
        self._words.close()
