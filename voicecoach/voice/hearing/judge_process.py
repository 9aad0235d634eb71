"""The judge (Whisper, whisper_reader.py) in a process of its own.

A reading holds the judge for about 20 ms of CPU; in a child process it runs on
the other core while the session's microphone reader and speaker go on, and a
judge that dies or hangs is seen as exactly that (JudgeFailed, which the
session turns into "recogniser lost": the return upright) rather than as a
session that silently stops hearing. A crash of the model's native code ends
only the child.

Plain subprocesses (`python -m voicecoach.voice.hearing.judge_worker`), not
multiprocessing: its "spawn" start re-runs the parent's main module, which
broke every script without a `__main__` guard. Protocol: length-prefixed
pickles, requests (16 kHz int16 audio) on the child's stdin, answers (a
Reading, or an error string) on a copy of its stdout; the child's own fd 1 goes
to stderr so that nothing a library prints can corrupt the answers.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from typing import IO, Any

from voicecoach.voice.hearing.errors import HearingSetupError
from voicecoach.voice.hearing.settings import HearingSettings
from voicecoach.voice.hearing.whisper_reader import Reading

START_TIMEOUT_S = 60.0
"""Loading the model takes under a second; a machine under heavy load may take far longer."""

_HEADER = struct.Struct("!I")
PING, PONG = "ping", "pong"
"""The heartbeat: a request the child answers at once, without the model."""


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
    """`read(pcm)`: Whisper's reading of a stretch of audio, from a child process."""

    def __init__(self, settings: HearingSettings, model: str = "") -> None:
        """`model`: a CTranslate2 Whisper model folder; empty, the bundled tiny.en."""
        self._timeout_s = settings.judge_timeout_s
        # CTranslate2 is left to pick Intel MKL's kernels on an Intel CPU: readings of
        # 19 ms instead of oneDNN's 27 (CT2_USE_MKL=0), for 16 MB more memory, measured
        # here. A "stop" waits for two readings: on oneDNN's the latency bench printed a
        # p95 of 56 ms and a cut of 45 ms, on MKL's the README's figures.
        self._process = subprocess.Popen(
            [sys.executable, "-m", "voicecoach.voice.hearing.judge_worker", model],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            # Its own session: the Ctrl-C that means "come up" is the parent's to handle,
            # and the judge must go on hearing through it.
            start_new_session=True)
        assert self._process.stdin is not None and self._process.stdout is not None
        self._stdin = self._process.stdin
        self._answers = self._process.stdout.fileno()
        self._turn = threading.Lock()
        """One request and its answer at a time: readings (the microphone's thread) and
        heartbeats (the hearing watch) share the pipes."""
        try:
            status = read_message(self._answers, START_TIMEOUT_S)
        except (TimeoutError, EOFError):
            self.close()
            raise HearingSetupError("the recogniser's process did not start") from None
        if status != "ready":
            self.close()
            raise HearingSetupError(str(status))

    @property
    def pid(self) -> int:
        return self._process.pid

    def read(self, pcm: bytes) -> Reading:
        with self._turn:
            answer = self._ask(pcm, self._timeout_s)
        if not isinstance(answer, Reading):
            raise JudgeFailed(f"the recogniser failed: {answer}")
        return answer

    def ping(self, timeout_s: float) -> None:
        """Raise JudgeFailed unless the process lives and answers within `timeout_s`. A
        reading under way is left to its own timeout (the ping does not wait for it)."""
        if not self._turn.acquire(timeout=timeout_s):
            return
        try:
            if self._process.poll() is not None:
                raise JudgeFailed(
                    f"the recogniser's process ended (exit code {self._process.returncode})")
            if self._ask(PING, timeout_s) != PONG:
                raise JudgeFailed("the recogniser answered a heartbeat with nonsense")
        finally:
            self._turn.release()

    def _ask(self, request: object, timeout_s: float) -> object:
        try:
            write_message(self._stdin, request)
        except OSError as exc:
            raise JudgeFailed(f"the recogniser's process ended: {exc}") from exc
        try:
            return read_message(self._answers, timeout_s)
        except TimeoutError:
            self._process.kill()
            raise JudgeFailed(f"the recogniser stopped answering for {timeout_s:g} s") from None
        except (EOFError, OSError) as exc:
            raise JudgeFailed(f"the recogniser's process ended: {exc}") from exc

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
