"""Sparklines: a series drawn in one line of Unicode block characters."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean

BLOCKS = "▁▂▃▄▅▆▇█"
GAP = " "
"""Drawn where nothing was recorded, so a missed week stays visible."""


def _buckets(values: Sequence[float | None], width: int) -> list[float | None]:
    """`values` squeezed to `width` columns, each the mean of its share of values."""
    if len(values) <= width:
        return list(values)
    result: list[float | None] = []
    for column in range(width):
        start = column * len(values) // width
        end = (column + 1) * len(values) // width
        present = [v for v in values[start:end] if v is not None]
        result.append(fmean(present) if present else None)
    return result


def sparkline(values: Sequence[float | None], *, low: float | None = None,
              high: float | None = None, width: int | None = None) -> str:
    """One character per value (or per bucket of values when more than `width`).

    `low` and `high` fix the scale (e.g. 0 and 10 for pain), so two lines on
    the same scale compare by eye; by default the scale is the values' own range.
    """
    columns = _buckets(values, width) if width is not None else list(values)
    present = [v for v in columns if v is not None]
    if not present:
        return GAP * len(columns)
    lo = min(present) if low is None else low
    hi = max(present) if high is None else high
    span = hi - lo
    line = []
    for value in columns:
        if value is None:
            line.append(GAP)
            continue
        share = 0.0 if span <= 0 else (min(max(value, lo), hi) - lo) / span
        line.append(BLOCKS[round(share * (len(BLOCKS) - 1))])
    return "".join(line)
