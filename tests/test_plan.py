"""`plan`: today's program and why, from synthetic histories."""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from voicecoach.cli import main
from voicecoach.protocol.plan import SessionSummary, plan, progression_problem, stage_of
from voicecoach.protocol.program import STAGES
from voicecoach.store import Store

DAY0 = date(2025, 1, 6)


def session(day: int, program: str, end_reason: str = "completed",
            pain: tuple[int | None, int | None] = (3, 2)) -> SessionSummary:
    return SessionSummary(
        started_at=datetime.combine(DAY0 + timedelta(days=day), datetime.min.time())
        + timedelta(hours=9),
        program=program,
        status="completed" if end_reason == "completed" else "ended_early",
        end_reason=end_reason, pain_before=pain[0], pain_after=pain[1])


def on(day: int) -> date:
    return DAY0 + timedelta(days=day)


def steady(days: list[int], program: str) -> list[SessionSummary]:
    return [session(d, program) for d in days]


def text(p) -> str:
    return " ".join(p.reasons)


WEEKS_1_2 = [session(0, "first-session"), *steady([1, 3, 5, 8, 10, 12, 15], "weeks-1-2")]


def test_a_brand_new_user_gets_the_first_session_and_a_spotter():
    p = plan([], on(0))
    assert p.program == "first-session" and p.stage == "first" and p.spotter
    assert "no sessions yet" in p.reasons[0]
    assert "spotter" in text(p) and "session 1 of your first 10" in text(p)
    assert "3 to 4 sessions a week" in text(p)


def test_after_the_first_session_comes_weeks_1_2():
    p = plan([session(0, "first-session")], on(2))
    assert p.program == "weeks-1-2"
    assert p.reasons[0].startswith("Move on to weeks-1-2")


def test_steady_progress_moves_on_after_two_weeks():
    p = plan(WEEKS_1_2, on(16))
    assert p.program == "weeks-3-4"
    assert "Move on to weeks-3-4" in p.reasons[0]
    assert "7 sessions without a rise in pain over 15 days" in p.reasons[0]


def test_progress_goes_by_the_week_not_the_day():
    p = plan(WEEKS_1_2, on(14))
    assert p.program == "weeks-1-2"
    assert "by the week, not the day" in p.reasons[0]
    assert f"move on from {on(15)}" in p.reasons[0] and "(1 day from now)" in p.reasons[0]


def test_too_few_sessions_at_a_level_hold_it_even_after_two_weeks():
    history = [session(0, "first-session"), *steady([1, 12], "weeks-1-2")]
    p = plan(history, on(16))
    assert p.program == "weeks-1-2"
    assert "2 sessions completed without a rise in pain" in p.reasons[0]
    assert "4 are needed" in p.reasons[0]


def test_steady_progress_reaches_week_5_and_stays_there():
    history = [*WEEKS_1_2, *steady([16, 18, 20, 22, 25, 27, 29, 31], "weeks-3-4")]
    p = plan(history, on(31))
    assert p.program == "week-5-plus"
    history += steady([32, 34, 36], "week-5-plus")
    top = plan(history, on(37))
    assert top.program == "week-5-plus"
    assert "top of this plan" in top.reasons[0] and "ten minutes" in top.reasons[0]
    assert "spotter" not in text(top)  # well past the first ten sessions


def test_a_pain_spike_holds_progress_back():
    history = [*WEEKS_1_2, *steady([16, 18, 20, 22], "weeks-3-4"),
               session(25, "weeks-3-4", "pain_rise", (3, 6))]
    p = plan(history, on(27))
    assert p.program == "weeks-3-4"
    assert "ended because your pain rose" in p.reasons[0]
    assert "stay at weeks-3-4 rather than move on" in p.reasons[0]


def test_pain_that_rose_more_than_two_points_counts_even_when_completed():
    history = [*WEEKS_1_2, *steady([16, 18, 20], "weeks-3-4"),
               session(22, "weeks-3-4", "completed", (2, 6))]
    p = plan(history, on(24))
    assert p.program == "weeks-3-4"
    assert "left your pain 4 points higher" in p.reasons[0]


def test_pain_in_the_first_session_at_a_new_level_steps_back():
    history = [*WEEKS_1_2, session(16, "weeks-3-4", "pain_rise", (2, 5))]
    p = plan(history, on(18))
    assert p.program == "weeks-1-2"
    assert "the first at weeks-3-4" in p.reasons[0] and "go back to weeks-1-2" in p.reasons[0]


def test_pain_again_steps_down_a_stage():
    history = [*WEEKS_1_2, *steady([16, 18], "weeks-3-4"),
               session(20, "weeks-3-4", "pain_rise"), session(22, "weeks-3-4", "pain_rise")]
    p = plan(history, on(23))
    assert p.program == "weeks-1-2"
    assert "and so did another of your last three" in p.reasons[0]


def test_back_at_a_passed_level_a_clean_week_is_enough_to_climb_again():
    history = [*WEEKS_1_2, session(16, "weeks-3-4", "pain_rise"),
               *steady([18, 20, 23], "weeks-1-2")]
    assert plan(history, on(24)).program == "weeks-1-2"
    p = plan(history, on(25))
    assert p.program == "weeks-3-4"
    assert p.reasons[0].startswith("Move on again to weeks-3-4")


def test_a_missed_week_steps_back_a_stage():
    history = [*WEEKS_1_2, *steady([16, 18, 20], "weeks-3-4")]
    p = plan(history, on(30))
    assert p.program == "weeks-1-2"
    assert "10 days ago" in p.reasons[0]
    assert "go back a stage, from weeks-3-4 to weeks-1-2" in p.reasons[0]


def test_three_missed_weeks_step_back_three_stages_at_most_to_the_start():
    history = [*WEEKS_1_2, *steady([16, 18, 20, 22, 25, 27, 29, 31], "weeks-3-4"),
               *steady([32, 34], "week-5-plus")]
    p = plan(history, on(34 + 22))
    assert p.program == "first-session"
    assert "go back 3 stages" in p.reasons[0]


def test_a_warning_sign_steps_down_and_points_to_a_doctor():
    history = [*WEEKS_1_2, *steady([16, 18], "weeks-3-4"), session(20, "weeks-3-4", "symptom")]
    p = plan(history, on(21))
    assert p.program == "weeks-1-2"
    assert "warning sign" in p.reasons[0] and "see a doctor" in p.reasons[1]


def test_a_call_for_help_holds_progress():
    history = [*WEEKS_1_2, session(16, "weeks-1-2", "help")]
    p = plan(history, on(17))
    assert p.program == "weeks-1-2" and "you asked for help" in p.reasons[0]


def test_too_many_sessions_in_a_week_are_pointed_out():
    history = [session(0, "first-session"), *steady([1, 2, 3, 4, 5], "weeks-1-2")]
    p = plan(history, on(6))
    assert "6 sessions in the last 7 days" in text(p)
    assert "would do you good" in text(p)


def test_the_sciatica_ladder_goes_week_by_week():
    history = [session(0, "first-session"), *steady([1, 3, 5], "sciatica-week-1")]
    assert plan(history, on(7)).program == "sciatica-week-1"
    p = plan(history, on(8))
    assert (p.program, p.track) == ("sciatica-week-2", "sciatica")
    history += steady([8, 10, 12, 14], "sciatica-week-2")
    assert plan(history, on(15)).program == "sciatica-week-3"


def test_a_condition_ladder_can_be_chosen_from_the_general_one():
    p = plan(WEEKS_1_2, on(16), track="herniated-disc")
    assert (p.program, p.stage) == ("herniated-disc", "weeks-3-4")
    with pytest.raises(ValueError, match="unknown track"):
        plan([], on(0), track="knees")


def test_a_program_of_the_users_own_is_placed_by_its_stage():
    own = SessionSummary(datetime(2025, 1, 22, 9), "my-gentle", stage="weeks-3-4")
    assert own.day == on(16)
    p = plan([*WEEKS_1_2, own], on(18))
    assert p.program == "weeks-3-4" and "Stay at weeks-3-4" in p.reasons[0]


def test_following_the_plan_never_climbs_more_than_a_stage_a_week():
    history: list[SessionSummary] = []
    seen = []
    for day in range(0, 70, 2):
        today = on(day)
        p = plan(history, today)
        assert progression_problem(history, p.stage, today) is None, (day, p)
        seen.append(p.stage)
        history.append(session(day, p.program))
    assert seen[0] == "first" and seen[-1] == "week-5-plus"
    assert [s for i, s in enumerate(seen) if i == 0 or seen[i - 1] != s] == list(STAGES)


def test_progression_problem_refuses_a_jump_of_two_stages_in_a_week():
    assert progression_problem([], "weeks-1-2", on(0)) is None
    problem = progression_problem([], "weeks-3-4", on(0))
    assert problem is not None and "move up at most one stage a week" in problem
    history = [session(0, "first-session"), session(1, "weeks-1-2")]
    assert progression_problem(history, "weeks-3-4", on(5)) is not None
    assert progression_problem(history, "weeks-3-4", on(8)) is None
    assert progression_problem(history, "week-5-plus", on(8)) is not None
    assert stage_of(history[1]) == "weeks-1-2"


# ---- the command ---------------------------------------------------------------------------


def _store_session(store: Store, when: datetime, program: str, reason: str,
                   pain: tuple[int, int]) -> None:
    sid = store.start_session(program=program, started_at=when.isoformat(timespec="seconds"),
                              pid=os.getpid(), options={})
    store.log_event(sid, 0.0, "pain", {"value": pain[0], "phase": "before"})
    store.log_event(sid, 100.0, "pain", {"value": pain[1], "phase": "after"})
    store.end_session(sid, reason)


def test_plan_command_reads_the_history_from_the_store(tmp_path: Path):
    db = tmp_path / "s.db"
    runner = CliRunner()
    fresh = runner.invoke(main, ["plan", "--db", str(db)])
    assert fresh.exit_code == 0, fresh.output
    assert fresh.output.startswith("Today: first-session")
    assert "Before any session: No safety screening" in fresh.output
    assert not db.exists()  # looking at the plan creates nothing

    now = datetime.now(timezone.utc)
    with Store.open(db) as store:
        _store_session(store, now - timedelta(days=3), "first-session", "completed", (3, 2))
        _store_session(store, now - timedelta(days=1), "weeks-1-2", "pain_rise", (2, 6))
    runner.invoke(main, ["screen", "--db", str(db), "--answers", "none"])
    result = runner.invoke(main, ["plan", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["program"] == "first-session"
    assert "the first at weeks-1-2" in data["reasons"][0]
    assert data["screening"] is None
    shown = runner.invoke(main, ["plan", "--db", str(db)])
    assert "Start it with: voicecoach start --program first-session" in shown.output


def test_a_history_that_climbed_too_fast_is_not_followed():
    history = [session(0, "first-session"), session(0, "week-5-plus"), session(1, "week-5-plus")]
    p = plan(history, on(2))
    assert p.program == "weeks-1-2"
    assert p.reasons[0].startswith("Go no further than weeks-1-2 today: week-5-plus is 3 "
                                   "stages above first")
    assert "move up at most one stage a week" in p.reasons[0]
