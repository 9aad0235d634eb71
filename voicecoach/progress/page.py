"""The progress report as one web page that needs nothing else: the chart embedded as
base64, styles inline, the markers and a week-by-week table."""

from __future__ import annotations

import base64
import datetime as dt
import html

from voicecoach.progress.chart import png_bytes
from voicecoach.progress.report import Report


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
    safety_items = "\n".join(f"<li>{e(line)}</li>" for line in report.dose_and_safety())
    recent = "\n".join(e(line) for line in report.recent_sessions()) or "none in this period"
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
<h2>Dose and safety</h2>
<ul>
{safety_items}
</ul>
<h2>Recent sessions</h2>
<pre>{recent}</pre>
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
