"""The judge's process: `python -m voicecoach.voice.hearing.judge_worker SETTINGS_JSON`.

Started and spoken to by judge_process.SearchProcess (see there for why and how).
"""

from __future__ import annotations

import json
import os
import signal
import sys

from voicecoach.voice.hearing.decoder import HearingSetupError, SphinxDecoder
from voicecoach.voice.hearing.judge_process import read_message, write_message
from voicecoach.voice.hearing.settings import HearingSettings


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    settings = HearingSettings(**json.loads(sys.argv[1]))
    try:
        decoder = SphinxDecoder(settings, with_phone_loop=True, streaming=False)
    except HearingSetupError as exc:
        write_message(answers, str(exc))
        return
    write_message(answers, "ready")
    requests = sys.stdin.buffer.fileno()
    while True:
        try:
            pcm, searches = read_message(requests, None)
        except EOFError:
            return  # the parent has gone
        try:
            write_message(answers, {s: decoder.decode(pcm, s) for s in searches})
        except Exception as exc:  # answer with the reason rather than die silently
            write_message(answers, f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    main()
