"""Clocks for the session engine.

The engine never reads the wall clock: it is handed a Clock, so a ten-minute
hold can be tested in milliseconds with a FakeClock, to the exact millisecond.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the session clock started (monotonic, never goes back)."""
        ...


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


class FakeClock:
    """A clock that moves only when told to: for tests and for --fast file sessions."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock never goes back")
        self._now += seconds

    def set(self, t: float) -> None:
        if t < self._now:
            raise ValueError("a clock never goes back")
        self._now = t
