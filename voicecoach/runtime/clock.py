"""The real clock: what live sessions run on (the engine only ever sees a Clock)."""

from __future__ import annotations

import time


class MonotonicClock:
    """Real time from time.monotonic(), zeroed when the clock is made."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._start

    def zero(self) -> None:
        """Start counting from now. Only before the session starts: a file-driven session
        zeroes its clock as the file starts playing, so every event time is on the audio
        timeline of the input file however long the set-up took."""
        self._start = time.monotonic()
