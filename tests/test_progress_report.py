"""The progress report and its success markers, on histories whose figures are worked out
by hand (see tests/progress_data.py for the twelve-week one)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from matplotlib import image as mpimg
from rich.console import Console

from progress_data import START, write_session, write_twelve_weeks
from voicecoach.cli import main
from voicecoach.progress.chart import png_bytes
from voicecoach.progress.history import History, SessionPoint, load_history
from voicecoach.progress.markers import MarkerResult, MarkerStatus, evaluate_markers
from voicecoach.progress.page import render_html
from voicecoach.progress.report import Safety, build_report, frequency_line
from voicecoach.progress.sparkline import sparkline
from voicecoach.progress.terminal import terminal_summary
from voicecoach.progress.tracking import DailyEntry
from voicecoach.store import Store

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
UTC = dt.timezone.utc
LAST_DAY = START + dt.timedelta(days=81)  # week 12, day 4: the last thing recorded


@pytest.fixture
def twelve_weeks(tmp_path: Path) -> Path:
    db = tmp_path / "twelve.db"
    write_twelve_weeks(db)
    return db


def _markers(history: History) -> dict[str, MarkerResult]:
    return {m.key: m for m in evaluate_markers(history)}


def test_twelve_week_markers_match_the_hand_worked_figures(twelve_weeks: Path) -> None:
    history = load_history(twelve_weeks, tz=UTC)
    assert len(history.sessions) == 37
    assert history.first_day == START
    markers = {m.key: m for m in evaluate_markers(history)}

    pain = markers["pain_reduction"]
    # Week 1: (7 + 6 + 5) / 3 = 6.0. Week 12: (4 + 4 + 5) / 3 = 4.333 (the interrupted
    # session has no rating). (6.0 - 4.333) / 6.0 = 27.8% >= 20% -> met.
    assert pain.status is MarkerStatus.MET
    assert pain.baseline == pytest.approx(6.0)
    assert pain.current == pytest.approx(13 / 3)
    assert pain.current_week == 12
    assert pain.change_pct == pytest.approx(27.7778, abs=1e-3)
    assert "6.0/10" in pain.detail and "4.3/10" in pain.detail

    toe = markers["toe_touch"]
    # Week 1: (30 + 28 + 26) / 3 = 28.0 cm. Week 12: (20 + 21 + 22) / 3 = 21.0 cm.
    # (28 - 21) / 28 = 25% < 30% -> not yet.
    assert toe.status is MarkerStatus.NOT_YET
    assert (toe.baseline, toe.current, toe.current_week) == (28.0, 21.0, 12)
    assert toe.change_pct == pytest.approx(25.0)

    night = markers["night_pain"]
    # Window: the 7 days to day 81 (2024-03-22) hold days 77, 79, 81, all without pain.
    # Week 1: 2 of 3 nights with pain.
    assert night.status is MarkerStatus.MET
    assert night.baseline == pytest.approx(200 / 3)
    assert night.current == 0.0
    assert "0 of 3 nights" in night.detail and "week 1: 2 of 3" in night.detail


def test_twelve_week_weekly_figures(twelve_weeks: Path) -> None:
    weeks = load_history(twelve_weeks, tz=UTC).weeks()
    assert [w.number for w in weeks] == list(range(1, 13))
    assert weeks[0].start == START and weeks[11].end == START + dt.timedelta(days=83)
    assert weeks[0].sessions == 3 and weeks[11].sessions == 4
    # 3 sessions x 120 s = 6 min; week 12 adds the interrupted session's 30 s.
    assert weeks[0].minutes_inverted == pytest.approx(6.0)
    assert weeks[11].minutes_inverted == pytest.approx(6.5)
    assert weeks[0].pain_before == pytest.approx(6.0)
    assert weeks[0].pain_after == pytest.approx(4.0)  # each 2 lower: 5, 4, 3
    assert weeks[0].medication_doses == 6 and weeks[11].medication_doses == 0
    assert (weeks[0].night_pain_nights, weeks[0].night_pain_answers) == (2, 3)
    assert weeks[5].toe_touch_cm is None  # nothing tracked in week 6


def test_report_png_is_a_real_chart(twelve_weeks: Path, tmp_path: Path) -> None:
    report = build_report(load_history(twelve_weeks, tz=UTC), today=LAST_DAY)
    out = tmp_path / "report.png"
    out.write_bytes(png_bytes(report))
    assert out.read_bytes()[:8] == PNG_MAGIC
    pixels = mpimg.imread(out)
    assert pixels.shape[:2] == (1169, 827)  # A4 portrait at 100 dpi
    # Not a blank page: the chart draws lines and bars in several colours.
    assert len({tuple(p) for p in pixels[::7, ::7].reshape(-1, pixels.shape[2])}) > 20


def test_report_html_is_self_contained(twelve_weeks: Path) -> None:
    page = render_html(build_report(load_history(twelve_weeks, tz=UTC), today=LAST_DAY))
    match = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert match is not None
    assert base64.b64decode(match.group(1))[:8] == PNG_MAGIC
    assert not re.search(r'(src|href)="(https?:|//)', page)  # nothing fetched from elsewhere
    assert page.count('<td class="status met">met</td>') == 2
    assert page.count('<td class="status not_yet">not yet</td>') == 1
    assert "<td>12</td><td>2024-03-18</td><td>4</td><td>6.5</td>" in page


def test_html_escapes_what_the_user_typed(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    with Store.open(db) as store:
        write_session(store, START, 5, 3)
    history = load_history(db, tz=UTC)
    odd = History(sessions=history.sessions, daily=[
        DailyEntry(START, note="<script>alert(1)</script>", night_pain=True)])
    page = render_html(build_report(odd))
    assert "<script>" not in page


def test_window_keeps_markers_on_the_whole_history(twelve_weeks: Path) -> None:
    history = load_history(twelve_weeks, tz=UTC)
    report = build_report(history, weeks=4, today=LAST_DAY)
    assert [w.number for w in report.weeks] == [9, 10, 11, 12]
    assert {s.day for s in report.sessions} >= {START + dt.timedelta(days=56)}
    assert min(s.day for s in report.sessions) == START + dt.timedelta(days=56)
    assert report.markers == evaluate_markers(history)


def test_weeks_run_up_to_today_so_a_lapse_shows(twelve_weeks: Path) -> None:
    history = load_history(twelve_weeks, tz=UTC)
    report = build_report(history, today=LAST_DAY + dt.timedelta(days=21))
    assert [w.number for w in report.weeks][-1] == 15
    assert report.weeks[-1].sessions == 0 and report.weeks[-1].pain_before is None


def test_terminal_summary_shows_sparklines_and_markers(twelve_weeks: Path) -> None:
    report = build_report(load_history(twelve_weeks, tz=UTC), today=LAST_DAY)
    buffer = io.StringIO()
    Console(file=buffer, width=100).print(terminal_summary(report))
    text = buffer.getvalue()
    pain_line = next(line for line in text.splitlines() if line.startswith(" Pain before"))
    # Weekly means 6.0, 6.0, 5.67, ..., 4.33 on a 0-10 scale: twelve blocks, high to lower.
    blocks = re.search(r"[▁▂▃▄▅▆▇█]{12}", pain_line)
    assert blocks is not None and blocks.group(0)[0] > blocks.group(0)[-1]
    assert "6.0" in pain_line and "4.3" in pain_line
    assert "met" in text and "not yet" in text and "25% better" in text


def _history(before: list[tuple[int, int]], daily: list[DailyEntry] | None = None) -> History:
    """Sessions as (day offset from START, pain before)."""
    sessions = [SessionPoint(
        id=i, started=dt.datetime.combine(START + dt.timedelta(days=day), dt.time(8), UTC),
        started_at="", ended_at=None, program="p", status="completed", end_reason="completed",
        pain_before=pain, pain_after=None, duration_s=100.0, held_s=60.0)
        for i, (day, pain) in enumerate(before, start=1)]
    return History(sessions=sessions, daily=daily or [])


def test_pain_marker_at_week_two() -> None:
    # Week 1: 7, 6, 5 -> 6.0. Week 2: 5, 4 -> 4.5. (6.0 - 4.5) / 6.0 = 25% -> met.
    met = _history([(0, 7), (2, 6), (4, 5), (7, 5), (9, 4)])
    pain = _markers(met)["pain_reduction"]
    assert pain.status is MarkerStatus.MET and pain.change_pct == pytest.approx(25.0)
    # Week 2: 5, 5 -> 5.0: 16.7% -> not yet.
    short = _history([(0, 7), (2, 6), (4, 5), (7, 5), (9, 5)])
    assert _markers(short)["pain_reduction"].status is MarkerStatus.NOT_YET
    # Exactly 20%: 5.0 -> 4.0 counts as met despite floating point.
    exact = _history([(0, 5), (8, 4)])
    assert _markers(exact)["pain_reduction"].status is MarkerStatus.MET
    # Worse than the baseline: reported as worse, not yet.
    worse = _history([(0, 4), (8, 6)])
    marker = _markers(worse)["pain_reduction"]
    assert marker.status is MarkerStatus.NOT_YET and "50% worse" in marker.detail


def test_markers_without_enough_data() -> None:
    assert all(m.status is MarkerStatus.NOT_ENOUGH_DATA
               for m in evaluate_markers(History(sessions=[], daily=[])))
    only_week_one = _history([(0, 6), (3, 6)])
    assert _markers(only_week_one)["pain_reduction"].status is MarkerStatus.NOT_ENOUGH_DATA
    # The first thing recorded is a daily entry; the first rating comes in week 2.
    late = _history([(8, 6), (15, 3)], daily=[DailyEntry(START, stiffness_min=5)])
    marker = _markers(late)["pain_reduction"]
    assert marker.status is MarkerStatus.NOT_ENOUGH_DATA and "week 1" in marker.detail


def test_toe_touch_already_touching_at_baseline() -> None:
    touching = [DailyEntry(START, toe_touch_cm=0.0),
                DailyEntry(START + dt.timedelta(days=40), toe_touch_cm=0.0)]
    assert _markers(_history([], touching))["toe_touch"].status is MarkerStatus.MET
    lost = touching[:1] + [DailyEntry(START + dt.timedelta(days=40), toe_touch_cm=3.0)]
    assert _markers(_history([], lost))["toe_touch"].status is MarkerStatus.NOT_YET


def test_night_pain_needs_three_answers_and_no_pain() -> None:
    def nights(answers: dict[int, bool]) -> MarkerStatus:
        daily = [DailyEntry(START + dt.timedelta(days=day), night_pain=pain)
                 for day, pain in sorted(answers.items())]
        return _markers(_history([], daily))["night_pain"].status

    assert nights({0: True, 50: False, 52: False, 56: False}) is MarkerStatus.MET
    # Day 49 is outside the 7 days to day 56 (50..56): only 2 answers there.
    assert nights({0: True, 49: False, 52: False, 56: False}) is MarkerStatus.NOT_ENOUGH_DATA
    assert nights({0: True, 50: False, 52: True, 56: False}) is MarkerStatus.NOT_YET
    assert nights({3: True}) is MarkerStatus.NOT_YET
    assert nights({}) is MarkerStatus.NOT_ENOUGH_DATA


def test_sparkline() -> None:
    assert sparkline([0, 10], low=0, high=10) == "▁█"
    assert sparkline([5, None, 5], low=0, high=10) == "▅ ▅"
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert sparkline([None, None]) == "  "
    # Squeezed: 8 values in 4 columns, each the mean of a pair.
    assert sparkline([0, 0, 10, 10, 0, 0, 10, 10], low=0, high=10, width=4) == "▁█▁█"


def test_report_cli_writes_png_and_html_and_prints_a_summary(twelve_weeks: Path,
                                                             tmp_path: Path) -> None:
    runner = CliRunner()
    png = tmp_path / "out" / "r.png"
    png.parent.mkdir()
    result = runner.invoke(main, ["report", "--db", str(twelve_weeks), "--out", str(png)])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == PNG_MAGIC
    html = tmp_path / "r.html"
    result = runner.invoke(main, ["report", "--db", str(twelve_weeks), "-o", str(html),
                                  "--weeks", "6"])
    assert result.exit_code == 0, result.output
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    result = runner.invoke(main, ["report", "--db", str(twelve_weeks)])
    assert result.exit_code == 0, result.output
    assert "Success markers" in result.output and "not yet" in result.output


def test_report_cli_refuses_bad_output_in_one_line(twelve_weeks: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    for out in (tmp_path / "r.svg", tmp_path / "missing" / "r.png"):
        result = runner.invoke(main, ["report", "--db", str(twelve_weeks), "--out", str(out)])
        assert result.exit_code == 2
        assert len(result.output.strip().splitlines()) == 1
        assert "Traceback" not in result.output
        assert not out.exists()


def test_report_cli_with_nothing_recorded(tmp_path: Path) -> None:
    db = tmp_path / "none.db"
    result = CliRunner().invoke(main, ["report", "--db", str(db)])
    assert result.exit_code == 0
    assert "Nothing recorded yet" in result.output
    assert not db.exists()


def test_report_json_holds_the_weekly_figures_and_the_markers(twelve_weeks: Path) -> None:
    result = CliRunner().invoke(main, ["report", "--db", str(twelve_weeks), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    first = data["weeks"][0]
    assert (first["number"], first["start"], first["sessions"]) == (1, START.isoformat(), 3)
    assert first["minutes_inverted"] == pytest.approx(6.0)
    assert first["pain_before"] == pytest.approx(6.0)
    markers = {m["key"]: m for m in data["markers"]}
    assert markers["pain_reduction"]["status"] == "met"
    assert markers["toe_touch"]["status"] == "not yet"
    refused = CliRunner().invoke(main, ["report", "--db", str(twelve_weeks), "--json",
                                        "--out", "x.png"])
    assert refused.exit_code == 2 and "use one" in refused.output


def _text_boxes(fig) -> list[tuple[str, object]]:
    """Every visible, non-empty text on the drawn page with its box in pixels."""
    renderer = fig.canvas.get_renderer()
    boxes, seen = [], set()
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        if id(text) in seen or not text.get_visible() or not str(text.get_text()).strip():
            continue
        seen.add(id(text))
        boxes.append((str(text.get_text()), text.get_window_extent(renderer)))
    return boxes


def _overlaps(boxes: list[tuple[str, object]]) -> list[tuple[str, str]]:
    found = []
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            # Overlapping by more than a pixel each way: touching edges are fine.
            dx = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
            dy = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
            if dx > 1 and dy > 1:
                found.append((a, b))
    return found


def _long_markers(status: MarkerStatus) -> list[MarkerResult]:
    return [MarkerResult(key, title, week, status, "a long line of figures " * 6)
            for key, title, week in (("pain_reduction", "20% less pain by week 2", 2),
                                     ("toe_touch", "30% better toe touch by week 6", 6),
                                     ("night_pain", "no night pain by month 3", 13))]


@pytest.mark.parametrize("status", list(MarkerStatus))
def test_no_text_on_the_report_page_overlaps_or_leaves_it(twelve_weeks: Path,
                                                          status: MarkerStatus) -> None:
    """The page drawn for twelve weeks of sessions and tracking, each marker status in
    turn with long figures: "NOT ENOUGH DATA" once ran into its marker's title."""
    import dataclasses

    from voicecoach.progress.chart import chart_figure

    report = build_report(load_history(twelve_weeks, tz=UTC), today=LAST_DAY)
    safety = Safety(early_returns=[("you asked to stop", 5), ("your pain went up", 2),
                                   ("a device stopped working", 1)],
                    interrupted=1, dizzy_sessions=2, screening="Ann Lee cleared you for "
                    "inversion on 2024-01-01 (you answered yes to high blood pressure); "
                    "the screening is due again on 2024-03-31. " * 6)
    fig = chart_figure(dataclasses.replace(report, markers=_long_markers(status),
                                           safety=safety))
    boxes = _text_boxes(fig)
    assert any("NOT ENOUGH DATA" in t for t, _ in boxes) == (
        status is MarkerStatus.NOT_ENOUGH_DATA)
    assert any(t.startswith("Ended early: 8 session(s): you asked to stop (5)") for t, _ in boxes)
    # A screening line too long for the page is cut where it would leave it, visibly.
    [screening] = [t for t, _ in boxes if t.startswith("Screening:")]
    assert screening.endswith(" ...")
    assert _overlaps(boxes) == []
    page = fig.bbox
    outside = [t for t, box in boxes if box.x0 < page.x0 - 1 or box.x1 > page.x1 + 1
               or box.y0 < page.y0 - 1 or box.y1 > page.y1 + 1]
    assert outside == []


def test_the_page_lists_the_recent_sessions_with_their_dose(twelve_weeks: Path) -> None:
    """Angle and minutes held, pain before and after and how each ended, for the newest
    sessions: on the page (inside it, overlapping nothing), in the summary and --json."""
    from voicecoach.progress.chart import chart_figure
    from voicecoach.progress.report import RECENT_SESSIONS

    report = build_report(load_history(twelve_weeks, tz=UTC), today=LAST_DAY)
    lines = report.recent_sessions()
    assert len(lines) == RECENT_SESSIONS
    newest_first = report.sessions[::-1][:RECENT_SESSIONS]
    for line, session in zip(lines, newest_first, strict=True):
        assert line.startswith(f"{session.started:%a %d %b %H:%M}")
        assert "30 deg" in line and f"{session.held_s / 60:.1f} min held" in line
        pain = " -> ".join("?" if p is None else str(p)
                           for p in (session.pain_before, session.pain_after))
        assert f"pain {pain} " in line
    assert sum(line.endswith("completed") for line in lines) >= 1
    fig = chart_figure(report)
    boxes = _text_boxes(fig)
    texts = [t for t, _ in boxes]
    assert "Recent sessions" in texts and all(line in texts for line in lines)
    assert _overlaps(boxes) == []
    page = fig.bbox
    assert all(page.x0 - 1 <= box.x0 and box.x1 <= page.x1 + 1 and page.y0 - 1 <= box.y0
               for _, box in boxes)
    result = CliRunner().invoke(main, ["report", "--db", str(twelve_weeks), "--json"])
    assert json.loads(result.output)["recent_sessions"] == build_report(
        load_history(twelve_weeks)).recent_sessions()
    text = CliRunner().invoke(main, ["report", "--db", str(twelve_weeks)],
                              terminal_width=200).output
    assert "Recent sessions" in text and "30 deg" in text


def test_the_overlap_check_finds_the_old_fixed_column() -> None:
    """The check itself: a status label at 0 and its title at 16% of a row, as the page
    had them, are found overlapping."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 10), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.07, 0.01, 0.86, 0.1))
    ax.text(0.0, 0.85, "NOT ENOUGH DATA", transform=ax.transAxes, fontsize=10,
            fontweight="bold", va="top")
    ax.text(0.16, 0.85, "20% less pain by week 2", transform=ax.transAxes, fontsize=9.5,
            va="top")
    fig.canvas.draw()
    assert _overlaps(_text_boxes(fig)) == [("NOT ENOUGH DATA", "20% less pain by week 2")]


def test_report_pdf_is_one_page(twelve_weeks: Path, tmp_path: Path) -> None:
    out = tmp_path / "progress.pdf"
    result = CliRunner().invoke(main, ["report", "--db", str(twelve_weeks), "--out",
                                       str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", data)) == 1
    # A4 portrait: 210 x 297 mm is 595 x 842 points.
    [box] = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert (round(float(box[0])), round(float(box[1]))) == (595, 842)
    # The markers are text in it, not pixels: a clinician can search and copy them.
    assert b"Success markers" in data or b"/Type /Font" in data


def test_the_safety_events_and_the_screening_are_in_the_summary(tmp_path: Path) -> None:
    """Early returns and why, in words, dizziness and the screening's standing: on the
    terminal summary, in --json and on the page, from a real database."""
    from devkit.session_history import record_clean_screening

    db = tmp_path / "v.db"
    with Store.open(db) as store:
        for day, reason in ((0, "completed"), (1, "stop"), (2, "stop"), (3, "pain_rise")):
            write_session(store, START + dt.timedelta(days=day), 5, 4, end=reason)
    record_clean_screening(db)
    runner = CliRunner()
    text = runner.invoke(main, ["report", "--db", str(db)], terminal_width=200).output
    assert "Ended early: 3 session(s): you asked to stop (2); your pain went up (1)" in text
    assert "Dizziness reported in 0 session(s)" in text
    # Four sessions in week 1, none since: against the 3-4 a week advised.
    assert "Sessions a week: " in text and "(3-4 advised)" in text
    assert "Screening: Your screening of" in text and "found no reason" in text
    data = json.loads(runner.invoke(main, ["report", "--db", str(db), "--json"]).output)
    assert data["safety"]["early_returns"] == [["you asked to stop", 2],
                                               ["your pain went up", 1]]
    page = tmp_path / "r.html"
    assert runner.invoke(main, ["report", "--db", str(db), "--out", str(page)]).exit_code == 0
    assert ("<li>Ended early: 3 session(s): you asked to stop (2); your pain went up (1)</li>"
            in page.read_text(encoding="utf-8"))


def test_sessions_a_week_against_the_three_or_four_advised(twelve_weeks: Path) -> None:
    report = build_report(load_history(twelve_weeks, tz=UTC), today=LAST_DAY)
    counts = [w.sessions for w in report.weeks]
    assert frequency_line(report.weeks) == (
        f"Sessions a week: {sum(counts) / 12:.1f} on average over 12 week(s) (3-4 advised);"
        f" {sum(c < 3 for c in counts)} week(s) under 3, {sum(c > 4 for c in counts)} over 4")
    assert sum(counts) == 37
