"""The progress report: a chart (PNG), a self-contained web page, a terminal summary.

All three show the same `Report`: the weeks in view, their sessions and daily
records, and the success markers (computed on the whole history, see markers.py).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import matplotlib

matplotlib.use("Agg")  # no display: reports are written by scripts and over ssh too

from matplotlib import dates as mdates  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402
from rich import box  # noqa: E402
from rich.console import Group, RenderableType  # noqa: E402
from rich.table import Table  # noqa: E402
from rich.text import Text  # noqa: E402

from voicecoach.progress.history import History, SessionPoint, WeekSummary  # noqa: E402
from voicecoach.progress.markers import MarkerResult, MarkerStatus, evaluate_markers  # noqa: E402
from voicecoach.progress.sparkline import sparkline  # noqa: E402
from voicecoach.progress.tracking import DailyEntry  # noqa: E402

logger = logging.getLogger(__name__)

TERMINAL_COLUMNS = 40
"""Widest sparkline: up to this many weeks get one character each; more share one."""

PAIN_BEFORE_COLOUR = "#1f5fa8"
PAIN_AFTER_COLOUR = "#e07b1a"
STATUS_COLOURS = {MarkerStatus.MET: "#2e7d32", MarkerStatus.NOT_YET: "#b26a00",
                  MarkerStatus.NOT_ENOUGH_DATA: "#6b6b6b"}
STATUS_STYLES = {MarkerStatus.MET: "bold green", MarkerStatus.NOT_YET: "bold yellow",
                 MarkerStatus.NOT_ENOUGH_DATA: "dim"}


@dataclass(frozen=True)
class Report:
    history: History
    weeks: list[WeekSummary]
    """The weeks in view, oldest first."""
    sessions: list[SessionPoint]
    """The sessions in those weeks."""
    daily: list[DailyEntry]
    markers: list[MarkerResult]

    @property
    def empty(self) -> bool:
        return not self.history.sessions and not self.history.daily

    def period(self) -> str:
        if not self.weeks:
            return "nothing recorded yet"
        first, last = self.weeks[0], self.weeks[-1]
        weeks = f"week {first.number}" if first is last else \
            f"weeks {first.number}-{last.number}"
        return f"{weeks}: {first.start} to {last.end}, {len(self.sessions)} session(s)"


def build_report(history: History, *, weeks: int | None = None,
                 today: dt.date | None = None) -> Report:
    """The last `weeks` weeks (all by default) up to `today`'s week, and the markers."""
    all_weeks = history.weeks(through=today)
    shown = all_weeks[-weeks:] if weeks is not None else all_weeks
    since = shown[0].start if shown else None
    return Report(
        history=history, weeks=shown,
        sessions=[s for s in history.sessions if since is not None and s.day >= since],
        daily=[d for d in history.daily if since is not None and d.date >= since],
        markers=evaluate_markers(history))


# -- chart ----------------------------------------------------------------------------


def _chart(report: Report) -> Figure:
    fig = Figure(figsize=(11, 10), dpi=100, layout="constrained")
    fig.suptitle(f"voicecoach progress ({report.period()})", fontsize=13)
    grid = fig.add_gridspec(4, 1, height_ratios=[3, 2, 2, 1.1])
    pain_ax = fig.add_subplot(grid[0])
    minutes_ax = fig.add_subplot(grid[1], sharex=pain_ax)
    daily_ax = fig.add_subplot(grid[2], sharex=pain_ax)
    markers_ax = fig.add_subplot(grid[3])
    _pain_panel(pain_ax, report.sessions)
    _minutes_panel(minutes_ax, report.weeks)
    _daily_panel(daily_ax, report.daily)
    _markers_panel(markers_ax, report.markers)
    locator = mdates.AutoDateLocator()
    daily_ax.xaxis.set_major_locator(locator)
    daily_ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    if report.weeks:
        left = dt.datetime.combine(report.weeks[0].start, dt.time())
        right = dt.datetime.combine(report.weeks[-1].end, dt.time()) + dt.timedelta(days=1)
        pain_ax.set_xlim(left, right)
    for ax in (pain_ax, minutes_ax):
        ax.tick_params(labelbottom=False)
    return fig


def _naive(when: dt.datetime) -> dt.datetime:
    # Plotted as wall-clock time in the history's zone; matplotlib would convert to UTC.
    return when.replace(tzinfo=None)


def _pain_panel(ax: Axes, sessions: list[SessionPoint]) -> None:
    dense = len(sessions) > 120  # markers would hide the lines
    for attribute, label, colour in (("pain_before", "before the session", PAIN_BEFORE_COLOUR),
                                     ("pain_after", "after the session", PAIN_AFTER_COLOUR)):
        points = [(_naive(s.started), getattr(s, attribute)) for s in sessions
                  if getattr(s, attribute) is not None]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, color=colour, label=label, linewidth=0.8 if dense else 1.6,
                    marker=None if dense else "o", markersize=4)
    ax.set_ylim(-0.3, 10.3)
    ax.set_yticks(range(0, 11, 2))
    ax.set_ylabel("pain (0-10)")
    ax.set_title("Pain before and after each session", loc="left", fontsize=11)
    ax.grid(True, alpha=0.3)
    if sessions:
        ax.legend(loc="upper right", fontsize=9)
    else:
        ax.text(0.5, 0.5, "no sessions in this period", transform=ax.transAxes,
                ha="center", va="center", color="#6b6b6b")


def _minutes_panel(ax: Axes, weeks: list[WeekSummary]) -> None:
    if weeks:
        ax.bar([dt.datetime.combine(w.start, dt.time()) for w in weeks],
               [w.minutes_inverted for w in weeks], width=6.0, align="edge",
               color="#5c8f5a")
    ax.set_ylabel("minutes")
    ax.set_title("Minutes inverted per week (time in holds)", loc="left", fontsize=11)
    ax.grid(True, axis="y", alpha=0.3)


def _daily_panel(ax: Axes, daily: list[DailyEntry]) -> None:
    ax.set_title("Daily tracking", loc="left", fontsize=11)
    ax.grid(True, alpha=0.3)
    toe = [(dt.datetime.combine(d.date, dt.time(12)), d.toe_touch_cm) for d in daily
           if d.toe_touch_cm is not None]
    stiff = [(dt.datetime.combine(d.date, dt.time(12)), d.stiffness_min) for d in daily
             if d.stiffness_min is not None]
    nights = [dt.datetime.combine(d.date, dt.time(12)) for d in daily if d.night_pain]
    handles = []
    if toe:
        xs, ys = zip(*toe, strict=True)
        handles += ax.plot(xs, ys, color="#6a3d9a", linewidth=1.4,
                           label="toe touch: gap to toes (cm, lower is better)")
    ax.set_ylabel("toe touch gap (cm)")
    ax.set_ylim(bottom=0)
    if stiff:
        twin = ax.twinx()
        xs, ys = zip(*stiff, strict=True)
        handles += twin.plot(xs, ys, color="#8c6d31", linewidth=1.0, linestyle="--",
                             label="morning stiffness (min)")
        twin.set_ylabel("stiffness (min)")
        twin.set_ylim(bottom=0)
    if nights:
        # Along the top edge, whatever the scale: one tick per night with pain.
        handles.append(ax.scatter(nights, [0.96] * len(nights), marker="|", s=60,
                                  color="#c62828", label="night with pain",
                                  transform=blended_transform_factory(ax.transData,
                                                                      ax.transAxes)))
    if handles:
        ax.legend(handles=handles, loc="lower left", fontsize=8)
    else:
        ax.text(0.5, 0.5, "nothing tracked in this period (voicecoach track)",
                transform=ax.transAxes, ha="center", va="center", color="#6b6b6b")


def _markers_panel(ax: Axes, markers: list[MarkerResult]) -> None:
    ax.set_axis_off()
    ax.set_title("Success markers", loc="left", fontsize=11)
    for row, marker in enumerate(markers):
        y = 0.85 - row * 0.33
        ax.text(0.0, y, marker.status.value.upper(), transform=ax.transAxes,
                fontsize=10, fontweight="bold", color=STATUS_COLOURS[marker.status], va="top")
        ax.text(0.16, y, f"{marker.title}: {marker.detail}", transform=ax.transAxes,
                fontsize=9.5, va="top", wrap=True)


def png_bytes(report: Report) -> bytes:
    buffer = io.BytesIO()
    write_png(report, buffer)
    return buffer.getvalue()


def write_png(report: Report, out: Path | IO[bytes]) -> None:
    _chart(report).savefig(out, format="png")


# -- web page -------------------------------------------------------------------------


def _cell(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def render_html(report: Report) -> str:
    """A page that needs nothing else: the chart embedded as base64, styles inline."""
    chart = base64.b64encode(png_bytes(report)).decode("ascii")
    e = html.escape
    marker_rows = "\n".join(
        f'<tr><td class="status {m.status.name.lower()}">{e(m.status.value)}</td>'
        f"<td>{e(m.title)}</td><td>{e(m.detail)}</td></tr>" for m in report.markers)
    week_rows = "\n".join(
        f"<tr><td>{w.number}</td><td>{w.start}</td><td>{w.sessions}</td>"
        f"<td>{w.minutes_inverted:.1f}</td><td>{_cell(w.pain_before)}</td>"
        f"<td>{_cell(w.pain_after)}</td><td>{_cell(w.toe_touch_cm)}</td>"
        f"<td>{_cell(w.stiffness_min, 0)}</td><td>{_cell(w.medication_doses)}</td>"
        f"<td>{w.night_pain_nights} / {w.night_pain_answers}</td></tr>"
        for w in report.weeks)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>voicecoach progress</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem;
       color: #222; padding: 0 1rem; }}
table {{ border-collapse: collapse; margin: 1rem 0 2rem; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.3rem 0.7rem; text-align: left; }}
th {{ background: #f4f4f4; }}
td.status {{ font-weight: bold; white-space: nowrap; }}
td.met {{ color: #2e7d32; }} td.not_yet {{ color: #b26a00; }}
td.not_enough_data {{ color: #6b6b6b; }}
img {{ max-width: 100%; height: auto; }}
p.note {{ color: #555; font-size: 0.9rem; }}
</style>
</head>
<body>
<h1>voicecoach progress</h1>
<p>{e(report.period())}. Generated {dt.date.today().isoformat()}.</p>
<h2>Success markers</h2>
<table>
<tr><th>Status</th><th>Marker</th><th>Figures</th></tr>
{marker_rows}
</table>
<p class="note">Week 1 is the first seven days anything was recorded. Pain is the
0-10 rating given before each session; toe touch is the gap between fingertips and
toes in a standing forward bend (smaller is better).</p>
<img alt="Charts: pain before and after each session, minutes inverted per week,
daily tracking" src="data:image/png;base64,{chart}">
<h2>Week by week</h2>
<table>
<tr><th>Week</th><th>From</th><th>Sessions</th><th>Minutes inverted</th>
<th>Pain before (mean)</th><th>Pain after (mean)</th><th>Toe touch gap (cm)</th>
<th>Stiffness (min)</th><th>Medication doses</th><th>Nights with pain / answered</th></tr>
{week_rows}
</table>
</body>
</html>
"""


# -- terminal -------------------------------------------------------------------------


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
        Text("Success markers", style="bold"), markers]
    return Group(*lines)
