"""The progress chart (PNG): pain before and after each session, minutes inverted per
week, the daily measures, and the success markers with their numbers."""

from __future__ import annotations

import datetime as dt
import io
import textwrap
from pathlib import Path
from typing import IO

import matplotlib

matplotlib.use("Agg")  # no display: reports are written by scripts and over ssh too

from matplotlib import dates as mdates  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402

from voicecoach.progress.history import SessionPoint, WeekSummary  # noqa: E402
from voicecoach.progress.markers import MarkerResult, MarkerStatus  # noqa: E402
from voicecoach.progress.report import Report  # noqa: E402
from voicecoach.progress.tracking import DailyEntry  # noqa: E402

PAIN_BEFORE_COLOUR = "#1f5fa8"
PAIN_AFTER_COLOUR = "#e07b1a"
NIGHT_PAIN_COLOUR = "#c62828"
STATUS_COLOURS = {MarkerStatus.MET: "#2e7d32", MarkerStatus.NOT_YET: "#b26a00",
                  MarkerStatus.NOT_ENOUGH_DATA: "#6b6b6b"}


A4_IN = (8.27, 11.69)
"""The page: A4 portrait, as a clinic prints it (a US Letter printer fits it to the page)."""


def _chart(report: Report) -> Figure:
    # Fixed margins, not constrained layout: laying out ten years of ticks twice
    # took longer than drawing them.
    fig = Figure(figsize=A4_IN, dpi=100)
    FigureCanvasAgg(fig)  # a renderer to measure text with while laying the page out
    fig.suptitle(f"voicecoach progress ({report.period()})", fontsize=13, y=0.985)
    grid = fig.add_gridspec(4, 1, height_ratios=[2.4, 1.3, 1.5, 5.6], left=0.09, right=0.91,
                            top=0.95, bottom=0.01, hspace=0.4)
    pain_ax = fig.add_subplot(grid[0])
    minutes_ax = fig.add_subplot(grid[1], sharex=pain_ax)
    daily_ax = fig.add_subplot(grid[2], sharex=pain_ax)
    markers_ax = fig.add_subplot(grid[3])
    _pain_panel(pain_ax, report.sessions, report.weeks)
    _minutes_panel(minutes_ax, report.weeks)
    _daily_panel(daily_ax, report.daily, report.weeks)
    _markers_panel(markers_ax, report.markers, report.dose_and_safety(),
                   report.recent_sessions())
    locator = mdates.AutoDateLocator()
    daily_ax.xaxis.set_major_locator(locator)
    daily_ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    if report.weeks:
        pain_ax.set_xlim(_day_number(report.weeks[0].start),
                         _day_number(report.weeks[-1].end) + 1)
    for ax in (pain_ax, minutes_ax):
        ax.tick_params(labelbottom=False)
    return fig


_EPOCH = dt.date(1970, 1, 1)  # matplotlib's default date epoch


def _day_number(day: dt.date, hour: float = 0.0) -> float:
    """A date as matplotlib's float date: converting thousands of datetimes is slow."""
    return (day - _EPOCH).days + hour / 24.0


def _time_number(when: dt.datetime) -> float:
    # Wall-clock time in the history's zone: matplotlib would convert to UTC.
    return _day_number(when.date(), when.hour + when.minute / 60.0 + when.second / 3600.0)


DENSE_SESSIONS = 120
"""More sessions than this in view: each session is drawn faint, weekly means on top."""
DENSE_DAYS = 180
"""More tracked days than this in view: daily measures are drawn as weekly means."""
GAP_DAYS = 14.0
"""Points further apart than this are not joined: a line across a lapse would invent data."""


def _broken(points: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """x and y lists with a NaN wherever consecutive points are more than GAP_DAYS apart."""
    xs: list[float] = []
    ys: list[float] = []
    for x, y in points:
        if xs and x - xs[-1] > GAP_DAYS:
            xs.append((x + xs[-1]) / 2)
            ys.append(float("nan"))
        xs.append(x)
        ys.append(y)
    return xs, ys


def _weekly(weeks: list[WeekSummary], attribute: str) -> list[tuple[float, float]]:
    return [(_day_number(w.start) + 3.5, float(getattr(w, attribute))) for w in weeks
            if getattr(w, attribute) is not None]


def _pain_panel(ax: Axes, sessions: list[SessionPoint], weeks: list[WeekSummary]) -> None:
    dense = len(sessions) > DENSE_SESSIONS
    for attribute, label, colour in (("pain_before", "before the session", PAIN_BEFORE_COLOUR),
                                     ("pain_after", "after the session", PAIN_AFTER_COLOUR)):
        points = [(_time_number(s.started), float(getattr(s, attribute))) for s in sessions
                  if getattr(s, attribute) is not None]
        if not points:
            continue
        if dense:
            ax.plot(*_broken(points), color=colour, linewidth=0.5, alpha=0.3)
            ax.plot(*_broken(_weekly(weeks, attribute)), color=colour, linewidth=1.8,
                    label=f"{label} (weekly mean; each session faint)")
        else:
            ax.plot(*_broken(points), color=colour, label=label, linewidth=1.6, marker="o",
                    markersize=4)
    ax.xaxis_date()
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
    if len(weeks) > 104:
        # One filled outline rather than a bar per week: years of weeks draw at once.
        edges = [_day_number(w.start) for w in weeks] + [_day_number(weeks[-1].end) + 1]
        ax.stairs([w.minutes_inverted for w in weeks], edges, fill=True, color="#5c8f5a")
    elif weeks:
        ax.bar([_day_number(w.start) for w in weeks], [w.minutes_inverted for w in weeks],
               width=6.0, align="edge", color="#5c8f5a")
    ax.set_ylabel("minutes")
    ax.set_ylim(0, max([w.minutes_inverted for w in weeks] + [1.0]) * 1.1)
    ax.set_title("Minutes inverted per week (time in holds)", loc="left", fontsize=11)
    ax.grid(True, axis="y", alpha=0.3)


def _daily_panel(ax: Axes, daily: list[DailyEntry], weeks: list[WeekSummary]) -> None:
    dense = len(daily) > DENSE_DAYS
    ax.set_title("Daily tracking" + (" (weekly means)" if dense else ""), loc="left",
                 fontsize=11)
    ax.grid(True, alpha=0.3)
    if dense:
        toe, stiff = _weekly(weeks, "toe_touch_cm"), _weekly(weeks, "stiffness_min")
    else:
        toe = [(_day_number(d.date, 12), d.toe_touch_cm) for d in daily
               if d.toe_touch_cm is not None]
        stiff = [(_day_number(d.date, 12), float(d.stiffness_min)) for d in daily
                 if d.stiffness_min is not None]
    nights = [_day_number(d.date, 12) for d in daily if d.night_pain]
    handles: list[Artist] = []
    if toe:
        handles += ax.plot(*_broken(toe), color="#6a3d9a", linewidth=1.4,
                           marker=None if dense else "o", markersize=2.5,
                           label="toe touch: gap to toes (cm, lower is better)")
    ax.set_ylabel("toe touch gap (cm)")
    ax.set_ylim(bottom=0)
    if stiff:
        twin = ax.twinx()
        handles += twin.plot(*_broken(stiff), color="#8c6d31", linewidth=1.0,
                             linestyle="--", marker=None if dense else "s", markersize=2,
                             label="morning stiffness (min)")
        twin.set_ylabel("stiffness (min)")
        twin.set_ylim(bottom=0)
    if nights:
        # A band along the top, whatever the scale: a red block for each night with pain,
        # a day wide and an eighth of the panel high (a thin tick was lost on the page).
        ax.broken_barh([(night - 0.45, 0.9) for night in nights], (0.86, 0.12),
                       color=NIGHT_PAIN_COLOUR,
                       transform=blended_transform_factory(ax.transData, ax.transAxes))
        handles.append(Patch(color=NIGHT_PAIN_COLOUR, label="night with pain"))
    if handles:
        ax.legend(handles=handles, loc="lower left", fontsize=8)
    else:
        ax.text(0.5, 0.5, "nothing tracked in this period (voicecoach track)",
                transform=ax.transAxes, ha="center", va="center", color="#6b6b6b")


TEXT_PT = 9.5
"""The markers' and safety lines' font size (points)."""


def _chars_fitting(width_px: float, dpi: float) -> int:
    """Characters of TEXT_PT text that fit in `width_px` (about 0.55 em each), for
    wrapping; the layout test checks the estimate against what is drawn."""
    return max(20, int(width_px / (TEXT_PT * 0.55 * dpi / 72)))


STATUS_GAP_IN = 0.15
"""Space between the widest status label and the marker's text (inches)."""


def _markers_panel(ax: Axes, markers: list[MarkerResult], safety: list[str],
                   recent: list[str]) -> None:
    """Each marker on its own row: the status in a column as wide as its widest label
    (measured, not guessed: "NOT ENOUGH DATA" ran into its title at a fixed 16%), then
    the title and figures, wrapped to the width left."""
    ax.set_axis_off()
    ax.set_title("Success markers", loc="left", fontsize=11)
    fig = ax.get_figure()
    assert fig is not None
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)
    renderer = canvas.get_renderer()
    labels = [ax.text(0.0, 0.0, marker.status.value.upper(), transform=ax.transAxes,
                      fontsize=10, fontweight="bold", color=STATUS_COLOURS[marker.status],
                      va="top")
              for marker in markers]
    axes_box = ax.get_window_extent(renderer)
    widest = max((label.get_window_extent(renderer).width for label in labels), default=0.0)
    column = (widest + STATUS_GAP_IN * fig.dpi) / axes_box.width
    chars = _chars_fitting((1 - column) * axes_box.width, fig.dpi)
    # Rows stacked by their measured height: a detail wrapped to two lines pushes the
    # next marker down instead of running into it.
    y = 0.92
    for label, marker in zip(labels, markers, strict=True):
        label.set_y(y)
        text = ax.text(column, y, textwrap.fill(f"{marker.title}: {marker.detail}", chars),
                       transform=ax.transAxes, fontsize=TEXT_PT, va="top")
        y -= (text.get_window_extent(renderer).height + 0.08 * fig.dpi) / axes_box.height
    # Then sessions a week and the safety events, under their own heading, wrapped to
    # the whole row.
    y -= 0.1 * fig.dpi / axes_box.height
    heading = ax.text(0.0, y, "Dose and safety", transform=ax.transAxes, fontsize=11,
                      va="top")
    y -= (heading.get_window_extent(renderer).height + 0.08 * fig.dpi) / axes_box.height
    wide = _chars_fitting(axes_box.width, fig.dpi)
    floor = fig.bbox.y0 + 0.05 * fig.dpi  # the page's bottom edge, less a margin
    y = _wrapped_lines(ax, y, safety, wide, floor)
    y -= 0.1 * fig.dpi / axes_box.height
    heading = ax.text(0.0, y, "Recent sessions", transform=ax.transAxes, fontsize=11,
                      va="top")
    if heading.get_window_extent(renderer).y0 < floor:
        heading.remove()
        return
    y -= (heading.get_window_extent(renderer).height + 0.08 * fig.dpi) / axes_box.height
    _wrapped_lines(ax, y, recent or ["none in this period"], wide, floor, monospace=True)


def _wrapped_lines(ax: Axes, y: float, lines: list[str], chars: int, floor: float, *,
                   monospace: bool = False) -> float:
    """Each line wrapped to `chars` from `y` down (axes fraction), none below `floor`
    (display pixels); returns the y under the last one."""
    fig = ax.get_figure()
    assert fig is not None and isinstance(fig.canvas, FigureCanvasAgg)
    renderer = fig.canvas.get_renderer()
    axes_box = ax.get_window_extent(renderer)
    if monospace:
        chars = int(chars * 0.55 / 0.6)  # a monospace character is 0.6 em wide
    for line in lines:
        wrapped = textwrap.wrap(line, chars)
        text = ax.text(0.0, y, "\n".join(wrapped), transform=ax.transAxes,
                       fontsize=TEXT_PT, va="top", family="monospace" if monospace else None)
        # Whatever would run off the page is cut, visibly: the whole of it is in the
        # terminal summary and --json.
        while text.get_window_extent(renderer).y0 < floor and len(wrapped) > 1:
            wrapped = wrapped[:-1]
            text.set_text("\n".join(wrapped[:-1] + [wrapped[-1] + " ..."]))
        if text.get_window_extent(renderer).y0 < floor:
            text.remove()
            break
        y -= (text.get_window_extent(renderer).height + 0.05 * fig.dpi) / axes_box.height
    return y


def png_bytes(report: Report) -> bytes:
    buffer = io.BytesIO()
    write_png(report, buffer)
    return buffer.getvalue()


def write_png(report: Report, out: Path | IO[bytes]) -> None:
    _chart(report).savefig(out, format="png")


def pdf_bytes(report: Report) -> bytes:
    """The same page as the PNG, as a one-page PDF (text stays text: it prints sharp)."""
    buffer = io.BytesIO()
    _chart(report).savefig(buffer, format="pdf")
    return buffer.getvalue()


def chart_figure(report: Report) -> Figure:
    """The page as a matplotlib Figure, drawn: for tests of its layout."""
    fig = _chart(report)
    fig.canvas.draw()
    return fig
