"""Clocks for the session engine.

The engine never reads the wall clock: it is handed a Clock, so a ten-minute
hold can be tested in milliseconds with a FakeClock, to the exact millisecond.
The real clock lives with the wiring (voicecoach/runtime/clock.py).
"""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the session clock started (monotonic, never goes back)."""
        ...


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
