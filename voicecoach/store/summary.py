"""Figures derived from a session's events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

HOLD_EVENT_TYPES = ("hold_started", "hold_ended", "return_started")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def held_seconds(events: Iterable[tuple[float, str, dict[str, Any]]],
                 last_t: float | None) -> float | None:
    """Time spent in holds, from (t, type, data) tuples in order; None if no hold began.

    A `hold_ended` event's own `held_s` is trusted when present; a hold with no
    end counts until the return started, the next hold began, or the last event.
    """
    total = 0.0
    seen = False
    open_at: float | None = None
    for t, type_, data in events:
        if type_ == "hold_started":
            if open_at is not None:
                total += max(0.0, t - open_at)
            open_at = t
            seen = True
        elif type_ == "hold_ended":
            reported = _number(data.get("held_s"))
            if reported is not None:
                total += max(0.0, reported)
            elif open_at is not None:
                total += max(0.0, t - open_at)
            open_at = None
            seen = True
        elif type_ == "return_started" and open_at is not None:
            total += max(0.0, t - open_at)
            open_at = None
    if open_at is not None and last_t is not None:
        total += max(0.0, last_t - open_at)
    return round(total, 3) if seen else None
