"""The keyboard, always live beside the microphone.

Two forms: typed lines for `start --text` (a line is a word, a number or a
blank Enter), and single key presses in voice mode (space, Enter or s = stop,
digits = a pain rating), so a spotter can act if the voice fails.
"""

from __future__ import annotations

import logging
import os
import select
import sys
import termios
import threading
import tty
from collections.abc import Callable
from typing import IO

from voicecoach.session.commands import canonical
from voicecoach.session.events import DeviceLost, Event, Heard, Key, Unrecognised

logger = logging.getLogger(__name__)


def typed_event(line: str) -> Event:
    """What one typed line means to the engine."""
    text = line.strip()
    if not text:
        return Key("enter")
    if text.lower() == "s":
        return Key("s")
    word = canonical(text)
    if word is not None:
        return Heard(word, 1.0, text)
    return Unrecognised(text)


def read_lines(stream: IO[str], post: Callable[[Event], None],
               on_eof: Callable[[], None] | None = None) -> threading.Thread:
    """Post each typed line as it arrives, from a daemon thread."""

    def loop() -> None:
        for line in stream:
            post(typed_event(line))
        if on_eof is not None:
            on_eof()

    thread = threading.Thread(target=loop, name="typed-input", daemon=True)
    thread.start()
    return thread


KEY_NAMES = {" ": "space", "\r": "enter", "\n": "enter", "s": "s", "S": "s"}


def key_event(char: str) -> Event | None:
    if char in KEY_NAMES:
        return Key(KEY_NAMES[char])
    if char.isdigit():
        return Key(char)
    if char.isprintable():
        # Any other key means nothing, except to a user who may be stuck: "press any key".
        return Key(char.lower())
    return None


class KeyReader:
    """Single key presses from the terminal, without Enter, in a daemon thread.

    The terminal is put in cbreak mode (keys arrive at once, Ctrl-C still
    works) and restored on close.
    """

    def __init__(self, post: Callable[[Event], None], stream: IO[str] | None = None) -> None:
        self._post = post
        self._stream = stream or sys.stdin
        self._fd = self._stream.fileno()
        self._saved = termios.tcgetattr(self._fd)
        self._running = True
        tty.setcbreak(self._fd)
        self._thread = threading.Thread(target=self._loop, name="keys", daemon=True)
        self._thread.start()

    @staticmethod
    def available(stream: IO[str] | None = None) -> bool:
        stream = stream or sys.stdin
        try:
            return stream.isatty()
        except (AttributeError, ValueError):
            return False

    def _loop(self) -> None:
        while self._running:
            ready, _, _ = select.select([self._fd], [], [], 0.1)
            if not ready:
                continue
            data = os.read(self._fd, 1)
            if not data:
                self._post(DeviceLost("keyboard", "terminal closed"))
                return
            event = key_event(data.decode(errors="ignore"))
            if event is not None:
                self._post(event)

    def close(self) -> None:
        self._running = False
        self._thread.join(timeout=1)
        termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
