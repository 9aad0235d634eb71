"""The speech engine's own process: pyttsx3 (espeak-ng) renders text to WAV files.

pyttsx3 can hang when driven from threads or re-entered, and espeak keeps
global state, so it lives alone in this process and the parent kills it if
it stops answering. Protocol: one JSON object per line on stdin, one JSON
answer per line on the original stdout (pyttsx3 prints chatter, so the real
stdout is pointed at /dev/null).

    {"op": "render", "text": ..., "voice": id-or-name|null, "rate": wpm|null, "path": ...}
    {"op": "voices"}
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import IO, Any

SYNTHESIS_TIMEOUT_S = 60.0
"""Backstop only: the parent kills this process much sooner if it stops answering."""


class VoiceNotFound(ValueError):
    """No voice of the engine's matches the one asked for."""


def _answer(out: IO[str], **fields: Any) -> None:
    out.write(json.dumps(fields) + "\n")
    out.flush()


def resolve_voice(voices: list[Any], spec: str) -> Any:
    """A voice by exact id or name, else the only voice whose name or id contains spec."""
    wanted = spec.strip().lower()
    for voice in voices:
        if wanted in (str(voice.id).lower(), str(voice.name).lower()):
            return voice
    partial = [v for v in voices
               if wanted in str(v.name).lower() or wanted in str(v.id).lower()]
    if not partial:
        raise VoiceNotFound(f"no speech voice matches '{spec}'")
    return partial[0]


def _wav_written(path: str, wait_s: float = 2.0) -> bool:
    """The espeak driver can report the utterance finished a moment before the file is
    complete (seen under load as an empty WAV): give the write a short grace period."""
    deadline = time.monotonic() + wait_s
    while True:
        if os.path.exists(path) and os.path.getsize(path) > 44:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


FAULT_ENV = "VOICECOACH_FAULT_EMPTY_RENDERS"
"""For the fault tests: the path of a file holding a count; while it is above 0, each render
writes nothing and takes one off (across worker processes, so a retry in a fresh worker sees
the count the failed one left)."""


def _injected_fault() -> bool:
    path = os.environ.get(FAULT_ENV)
    if not path:
        return False
    try:
        with open(path, "r+", encoding="utf-8") as f:
            left = int(f.read().strip() or 0)
            if left <= 0:
                return False
            f.seek(0)
            f.truncate()
            f.write(str(left - 1))
            return True
    except (OSError, ValueError):
        return False


def main() -> None:
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        import pyttsx3

        engine = pyttsx3.init()
        # runAndWait() can return as soon as the espeak driver has *started* an
        # asynchronous synthesis, before the WAV is written: wait for the
        # driver's own "finished-utterance" notification as well.
        finished = threading.Event()
        engine.connect("finished-utterance", lambda name, completed: finished.set())
        default_voice = engine.getProperty("voice")
        default_rate = engine.getProperty("rate")
        voices = list(engine.getProperty("voices"))
    except Exception as exc:  # any failure here means "no speech engine"
        _answer(protocol, ok=False, error=f"pyttsx3/espeak-ng could not start: {exc}")
        return
    _answer(protocol, ok=True, ready=True)
    # Setting the voice and the rate before every save_to_file left no file about 3 times in
    # 100 (0 in 100 without): set them only when a request changes them.
    current: tuple[Any, int] | None = None
    for line in sys.stdin:
        try:
            request = json.loads(line)
            if request["op"] == "voices":
                _answer(protocol, ok=True, voices=[
                    {"id": v.id, "name": v.name, "languages": list(v.languages or [])}
                    for v in voices])
                continue
            voice = default_voice
            if request.get("voice"):
                voice = resolve_voice(voices, request["voice"]).id
            wanted = (voice, int(request.get("rate") or default_rate))
            if wanted != current:
                engine.setProperty("voice", wanted[0])
                engine.setProperty("rate", wanted[1])
                current = wanted
            finished.clear()
            if _injected_fault():
                raise RuntimeError("the speech engine produced no audio")
            engine.save_to_file(request["text"], request["path"])
            engine.runAndWait()
            if not finished.wait(SYNTHESIS_TIMEOUT_S):
                raise RuntimeError("the speech engine did not finish")
            if not _wav_written(request["path"]):
                raise RuntimeError("the speech engine produced no audio")
            _answer(protocol, ok=True, voice=voice)
        except VoiceNotFound as exc:
            # Not a glitch: the same request fails every time, so it is not retried.
            _answer(protocol, ok=False, error=str(exc), kind="voice")
        except Exception as exc:
            _answer(protocol, ok=False, error=str(exc) or type(exc).__name__)


if __name__ == "__main__":
    main()
