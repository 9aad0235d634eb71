"""The progress report in the terminal: weekly figures as sparklines, then the markers."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from voicecoach.progress.markers import MarkerStatus
from voicecoach.progress.report import Report
from voicecoach.progress.sparkline import sparkline

TERMINAL_COLUMNS = 40
"""Widest sparkline: up to this many weeks get one character each; more share one."""

STATUS_STYLES = {MarkerStatus.MET: "bold green", MarkerStatus.NOT_YET: "bold yellow",
                 MarkerStatus.NOT_ENOUGH_DATA: "dim"}


def _first_last(values: list[float | None], spec: str) -> tuple[str, str]:
    present = [v for v in values if v is not None]
    if not present:
        return "-", "-"
    return format(present[0], spec), format(present[-1], spec)


def terminal_summary(report: Report) -> RenderableType:
    """A compact summary: weekly figures as sparklines, then the markers."""
    weeks = report.weeks
    per_char = -(-len(weeks) // TERMINAL_COLUMNS) if weeks else 1
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False,
                  caption="Weekly means; pain on 0-10; toe gap 0 = touching."
                  + (f" One character = {per_char} weeks." if per_char > 1 else ""),
                  caption_justify="left")
    table.add_column("", no_wrap=True)
    table.add_column(f"week {weeks[0].number} -> {weeks[-1].number}" if weeks else "",
                     no_wrap=True)
    table.add_column("first", justify="right", no_wrap=True)
    table.add_column("last", justify="right", no_wrap=True)
    rows: list[tuple[str, list[float | None], float | None, float | None, str, str]] = [
        ("Pain before", [w.pain_before for w in weeks], 0.0, 10.0, "blue", ".1f"),
        ("Pain after", [w.pain_after for w in weeks], 0.0, 10.0, "dark_orange", ".1f"),
        ("Minutes inverted", [w.minutes_inverted for w in weeks], 0.0, None, "green", ".0f"),
        ("Toe gap (cm)", [w.toe_touch_cm for w in weeks], 0.0, None, "magenta", ".1f"),
        ("Stiffness (min)", [w.stiffness_min for w in weeks], 0.0, None, "yellow", ".0f"),
        ("Nights w/ pain", [float(w.night_pain_nights) if w.night_pain_answers else None
                            for w in weeks], 0.0, 7.0, "red", ".0f"),
    ]
    for label, values, low, high, style, spec in rows:
        if all(v is None for v in values):
            continue
        first, last = _first_last(values, spec)
        line = sparkline(values, low=low, high=high, width=TERMINAL_COLUMNS)
        table.add_row(label, Text(line, style=style), first, last)
    markers = Table.grid(padding=(0, 2))
    markers.add_column(no_wrap=True)
    markers.add_column()
    for marker in report.markers:
        markers.add_row(Text(marker.status.value, style=STATUS_STYLES[marker.status]),
                        f"{marker.title}: {marker.detail}")
    lines: list[RenderableType] = [
        Text(f"voicecoach progress ({report.period()})", style="bold"), table,
        Text("Success markers", style="bold"), markers,
        Text("Dose and safety", style="bold"),
        *(Text(line) for line in report.dose_and_safety()),
        Text("Recent sessions", style="bold"),
        *(Text(line) for line in report.recent_sessions() or ["none in this period"])]
    return Group(*lines)
