"""The three success markers, each computed the same way in every view.

Weeks are numbered as in `voicecoach.progress.history` (week 1 = the first
seven days anything was recorded). Every marker compares the latest figures
with week 1, over the whole history, whatever window a report shows. A
marker reached before its target week counts as met: the target week is when
it should be reached at the latest.

Each marker is one of: met, not yet (the numbers are there and fall short),
or not enough data (what it needs was not recorded).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from statistics import fmean

from voicecoach.progress.history import History

PAIN_REDUCTION_PCT = 20.0
PAIN_TARGET_WEEK = 2
TOE_TOUCH_IMPROVEMENT_PCT = 30.0
TOE_TOUCH_TARGET_WEEK = 6
NIGHT_PAIN_TARGET_WEEK = 13
"""Month 3: by the end of week 13 (day 91)."""
NIGHT_PAIN_WINDOW_DAYS = 7
NIGHT_PAIN_MIN_ANSWERS = 3
"""Nights answered in the window before "no night pain" is believed."""

# Percentages are compared after rounding away float noise (4.8 vs 6.0 is 20%, not 19.99...).
_PCT_DIGITS = 6


class MarkerStatus(str, Enum):
    MET = "met"
    NOT_YET = "not yet"
    NOT_ENOUGH_DATA = "not enough data"


@dataclass(frozen=True)
class MarkerResult:
    key: str
    """Stable identifier: pain_reduction, toe_touch, night_pain."""
    title: str
    target_week: int
    status: MarkerStatus
    detail: str
    """One line with the numbers behind the status."""
    baseline: float | None = None
    current: float | None = None
    current_week: int | None = None
    """The week `current` comes from."""
    change_pct: float | None = None
    """Improvement over the baseline in percent (positive = better)."""

    def as_dict(self) -> dict[str, object]:
        return {"key": self.key, "title": self.title, "target_week": self.target_week,
                "status": self.status.value, "detail": self.detail, "baseline": self.baseline,
                "current": self.current, "current_week": self.current_week,
                "change_pct": self.change_pct}


def _weekly_means(history: History, values: list[tuple[dt.date, float]]) -> dict[int, float]:
    by_week: dict[int, list[float]] = {}
    for day, value in values:
        by_week.setdefault(history.week_of(day), []).append(value)
    return {week: fmean(vals) for week, vals in by_week.items()}


def _improvement_marker(key: str, title: str, target_week: int, goal_pct: float,
                        means: dict[int, float], what: str, unit: str) -> MarkerResult:
    """Shared rule: week-1 mean vs the mean of the latest week from week 2 on."""
    baseline = means.get(1)
    later = [week for week in means if week >= 2]
    if baseline is None:
        return MarkerResult(key, title, target_week, MarkerStatus.NOT_ENOUGH_DATA,
                            f"no {what} recorded in week 1 to compare with")
    if not later:
        return MarkerResult(key, title, target_week, MarkerStatus.NOT_ENOUGH_DATA,
                            f"week 1: {baseline:.1f}{unit}; no {what} recorded since week 1",
                            baseline=baseline)
    week = max(later)
    current = means[week]
    numbers = f"week 1: {baseline:.1f}{unit}, week {week}: {current:.1f}{unit}"
    if baseline == 0:
        # Nothing to reduce: the goal holds while the figure stays at 0.
        status = MarkerStatus.MET if current == 0 else MarkerStatus.NOT_YET
        return MarkerResult(key, title, target_week, status, f"{numbers} (week 1 was already 0)",
                            baseline=baseline, current=current, current_week=week)
    change = round((baseline - current) / baseline * 100.0, _PCT_DIGITS)
    status = MarkerStatus.MET if change >= goal_pct else MarkerStatus.NOT_YET
    direction = "better" if change >= 0 else "worse"
    return MarkerResult(key, title, target_week, status,
                        f"{numbers} ({abs(change):.0f}% {direction}; goal {goal_pct:.0f}%"
                        f" by week {target_week})",
                        baseline=baseline, current=current, current_week=week, change_pct=change)


def pain_reduction(history: History) -> MarkerResult:
    """About 20% less pain by week 2.

    - baseline: the mean of the pre-session pain ratings (0-10) of the sessions
      in week 1. The rating before a session is the day's pain, untouched by
      that session's short-term relief, so it shows lasting change; the
      after-session ratings are in the chart.
    - current: the mean of the pre-session ratings of the latest week, from
      week 2 on, that has any.
    - change: (baseline - current) / baseline, in percent.
    - met: change >= 20%. not yet: below 20%. not enough data: no rating in
      week 1 or none after it. A week-1 mean of 0 is met while the mean stays 0.
    """
    values = [(s.day, float(s.pain_before)) for s in history.sessions
              if s.pain_before is not None]
    return _improvement_marker("pain_reduction", "20% less pain by week 2", PAIN_TARGET_WEEK,
                               PAIN_REDUCTION_PCT, _weekly_means(history, values),
                               "pre-session pain", "/10")


def toe_touch(history: History) -> MarkerResult:
    """30% better toe touch by week 6.

    The toe-touch figure is the gap between fingertips and toes in a standing
    forward bend (cm, 0 = touching), so smaller is better.

    - baseline: the mean of the toe-touch figures recorded in week 1.
    - current: the mean of the figures of the latest week, from week 2 on, that has any.
    - change: (baseline - current) / baseline, in percent (a smaller gap is better).
    - met: change >= 30%. not yet: below 30%. not enough data: no figure in week
      1 or none after it. A week-1 gap of 0 (already touching) is met while the
      gap stays 0.
    """
    values = [(d.date, d.toe_touch_cm) for d in history.daily if d.toe_touch_cm is not None]
    return _improvement_marker("toe_touch", "30% better toe touch by week 6",
                               TOE_TOUCH_TARGET_WEEK, TOE_TOUCH_IMPROVEMENT_PCT,
                               _weekly_means(history, values), "toe-touch distance", " cm")


def night_pain(history: History) -> MarkerResult:
    """No night pain by month 3 (week 13).

    - window: the 7 days ending on the latest day with a night-pain answer.
    - met: at least 3 nights answered in the window, none of them with pain.
    - not yet: any night with pain in the window.
    - not enough data: no answer at all, or fewer than 3 in the window and no pain.
    `baseline` is the share of week-1 nights with pain (when week 1 has answers),
    `current` the share in the window, both in percent.
    """
    title = "no night pain by month 3"
    answers = [(d.date, d.night_pain) for d in history.daily if d.night_pain is not None]
    if not answers:
        return MarkerResult("night_pain", title, NIGHT_PAIN_TARGET_WEEK,
                            MarkerStatus.NOT_ENOUGH_DATA, "no night-pain answers recorded")
    last = answers[-1][0]
    window_start = last - dt.timedelta(days=NIGHT_PAIN_WINDOW_DAYS - 1)
    window = [pain for day, pain in answers if day >= window_start]
    week1 = [pain for day, pain in answers if history.week_of(day) == 1]
    baseline = 100.0 * sum(week1) / len(week1) if week1 else None
    current = 100.0 * sum(window) / len(window)
    painful = sum(window)
    numbers = (f"{painful} of {len(window)} nights with pain in the 7 days to {last}")
    if week1:
        numbers += f" (week 1: {sum(week1)} of {len(week1)})"
    if painful:
        status = MarkerStatus.NOT_YET
    elif len(window) >= NIGHT_PAIN_MIN_ANSWERS:
        status = MarkerStatus.MET
    else:
        status = MarkerStatus.NOT_ENOUGH_DATA
        numbers += f"; needs at least {NIGHT_PAIN_MIN_ANSWERS} nights answered"
    return MarkerResult("night_pain", title, NIGHT_PAIN_TARGET_WEEK, status, numbers,
                        baseline=baseline, current=current, current_week=history.week_of(last))


def evaluate_markers(history: History) -> list[MarkerResult]:
    """The three markers, in the order of their target weeks."""
    if history.first_day is None:
        return [MarkerResult(key, title, week, MarkerStatus.NOT_ENOUGH_DATA, "nothing recorded yet")
                for key, title, week in (
                    ("pain_reduction", "20% less pain by week 2", PAIN_TARGET_WEEK),
                    ("toe_touch", "30% better toe touch by week 6", TOE_TOUCH_TARGET_WEEK),
                    ("night_pain", "no night pain by month 3", NIGHT_PAIN_TARGET_WEEK))]
    return [pain_reduction(history), toe_touch(history), night_pain(history)]
