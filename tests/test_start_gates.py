"""What may start today: the limits on the person (protocol/gates.py, protocol/limits.py),
the plan's words on repeated endings and dizziness, and simulated sessions kept apart."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voicecoach.cli import main
from voicecoach.protocol.gates import checklist_problem, daily_problem, start_problem
from voicecoach.protocol.limits import (
    MAX_DAILY_HOLD_S,
    MAX_SESSION_DAYS_PER_WEEK,
    SPOTTER_SESSIONS,
    sessions_per_day,
)
from voicecoach.protocol.plan import SessionSummary, dizziness_hold, plan, repeated_endings
from voicecoach.protocol.program import STAGES, load_builtin
from voicecoach.store import Store
from voicecoach.voice.pcm import write_wav

DAY0 = date(2025, 1, 6)


def session(day: int, program: str = "weeks-1-2", end_reason: str = "completed",
            pain: tuple[int | None, int | None] = (3, 2), held_s: float = 120.0,
            hour: int = 9, **kw) -> SessionSummary:
    return SessionSummary(
        started_at=datetime.combine(DAY0 + timedelta(days=day), datetime.min.time())
        + timedelta(hours=hour), program=program,
        status="completed" if end_reason == "completed" else "ended_early",
        end_reason=end_reason, pain_before=pain[0], pain_after=pain[1], held_s=held_s, **kw)


def on(day: int) -> date:
    return DAY0 + timedelta(days=day)


# ---- sessions and time a day, days a week ------------------------------------------------


def test_each_stage_has_the_seeds_sessions_a_day():
    # Seed 003: weeks 1-2 "2-3x daily", weeks 3-4 "1-2x daily", week 5+ "once daily".
    assert {stage: sessions_per_day(stage) for stage in STAGES} == {
        "first": 1, "weeks-1-2": 3, "weeks-3-4": 2, "week-5-plus": 1}


def test_a_condition_program_keeps_its_own_sessions_a_day():
    disc = load_builtin("herniated-disc")  # weeks-3-4, but "2-3" in a flare-up
    three = [session(0, "herniated-disc", hour=h, held_s=200.0) for h in (8, 12)]
    assert daily_problem(three, disc, on(0)) is None
    problem = daily_problem([*three, session(0, "herniated-disc", hour=16, held_s=200.0)],
                            disc, on(0))
    assert problem is not None and "allows 3 a day" in problem


def test_the_first_session_is_once_a_day():
    first = load_builtin("first-session")
    assert sessions_per_day("first", first.sessions_per_day) == 1
    problem = daily_problem([session(0, "first-session")], first, on(0))
    assert problem is not None and "allows 1 a day" in problem
    assert daily_problem([session(0, "first-session")], first, on(1)) is None


def test_a_program_may_be_run_up_to_its_own_sessions_a_day():
    weeks_1_2 = load_builtin("weeks-1-2")  # "2-3"
    two = [session(0, hour=8), session(0, hour=12)]
    assert daily_problem(two, weeks_1_2, on(0)) is None
    problem = daily_problem([*two, session(0, hour=16)], weeks_1_2, on(0))
    assert problem is not None and "allows 3 a day" in problem


def test_no_more_than_four_days_a_week_with_a_session():
    program = load_builtin("weeks-1-2")
    four = [session(d) for d in (0, 1, 2, 3)]
    assert MAX_SESSION_DAYS_PER_WEEK == 4
    problem = daily_problem(four, program, on(4))
    assert problem is not None and "5th day" in problem
    # A further session on a day that already had one adds no day.
    assert daily_problem(four, program, on(3)) is None
    # A week later the count starts again.
    assert daily_problem(four, program, on(7)) is None


def test_time_inverted_a_day_is_capped_across_sessions():
    # The most any seed protocol gives in a day: the herniated-disc flare-up, three
    # sessions of at most 5 minutes (seed 003).
    assert MAX_DAILY_HOLD_S == 3 * 5 * 60
    disc = load_builtin("herniated-disc")  # 4.5 min, up to 3 a day
    held = MAX_DAILY_HOLD_S - disc.hold_s + 1
    problem = daily_problem([session(0, "herniated-disc", held_s=held)], disc, on(0))
    assert problem is not None and "a day" in problem
    assert daily_problem([session(0, "herniated-disc", held_s=held - 2)], disc, on(0)) is None


def test_the_spoken_checklist_is_kept_for_the_first_ten_sessions():
    assert SPOTTER_SESSIONS == 10
    nine = [session(-40 + d) for d in range(9)]
    problem = checklist_problem(nine, checklist=False)
    assert problem is not None and "session 10" in problem
    assert checklist_problem([*nine, session(-30)], checklist=False) is None
    assert checklist_problem([], checklist=True) is None


def test_start_problem_puts_dizziness_first():
    dizzy = session(0, "first-session", dizzy=True)
    problem = start_problem([dizzy], load_builtin("weeks-1-2"), on(1), checklist=True,
                            cleared_on=None)
    assert problem is not None and "dizzy" in problem


# ---- dizziness after a session -------------------------------------------------------------


def test_dizziness_holds_the_next_session_until_it_passed_or_a_doctor_cleared_it():
    dizzy = session(0, "first-session", dizzy=True)
    hold = dizziness_hold([dizzy], None)
    assert hold is not None and "more than 5 minutes" in hold
    assert "voicecoach dizziness passed" in hold and "voicecoach clearance" in hold
    assert dizziness_hold([replace(dizzy, dizziness_passed=True)], None) is None
    assert dizziness_hold([replace(dizzy, dizziness_passed=False)], None) is not None
    assert dizziness_hold([dizzy], on(0)) is None
    assert dizziness_hold([dizzy], on(-1)) is not None  # a clearance from before it
    assert plan([dizzy], on(1)).held == hold
    assert plan([dizzy], on(1), cleared_on=on(1)).held is None


# ---- the plan: by the week, and repeated endings ---------------------------------------------


def test_no_move_on_the_same_day_as_the_first_session():
    # Seed 003: progression goes by the week. Two first sessions on one day are no reason.
    same_day = [session(0, "first-session", hour=8), session(0, "first-session", hour=9)]
    p = plan(same_day, on(0))
    assert p.program == "first-session", p.reasons
    assert plan(same_day, on(1)).program == "weeks-1-2"


def test_two_sessions_in_a_row_ended_for_pain_say_to_see_a_clinician():
    rises = [session(d, "weeks-3-4", pain=(3, 7)) for d in (0, 2)]
    note = repeated_endings(rises)
    assert note is not None and "doctor or physical therapist" in note
    assert note in plan(rises, on(3)).reasons
    assert repeated_endings(rises[:1]) is None
    assert repeated_endings([rises[0], session(2, "weeks-3-4")]) is None


@pytest.mark.parametrize("reasons", [("no_answer", "no_answer"), ("device_lost", "no_answer"),
                                     ("device_lost", "device_lost")])
def test_two_sessions_in_a_row_without_an_answer_or_a_device_say_so(reasons):
    ended = [session(d, end_reason=r) for d, r in zip((0, 2), reasons, strict=True)]
    note = repeated_endings(ended)
    assert note is not None and "voicecoach doctor" in note


def test_a_lost_device_ending_holds_the_level_with_a_word():
    history = [session(0, "first-session"),
               *[session(d) for d in (1, 3, 5, 8, 10, 12)], session(15, end_reason="device_lost")]
    p = plan(history, on(16))
    assert p.program == "weeks-1-2" and "stopped working" in p.reasons[0]


def test_in_weeks_1_2_any_rise_counts_as_a_pain_ending():
    assert session(0, "weeks-1-2", pain=(3, 4)).ended_for_pain
    assert not session(0, "weeks-3-4", pain=(3, 5)).ended_for_pain
    assert session(0, "weeks-3-4", pain=(3, 6)).ended_for_pain


# ---- through the command line -------------------------------------------------------------------


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


CHECKLIST_READY = "ready\n" * 9


def test_a_first_live_session_cannot_skip_the_checklist(screened_db: Path):
    result = invoke("start", "--text", "--fast", "--pain", "2", "--no-checklist",
                    "--db", str(screened_db), input="stop\n")
    assert result.exit_code == 2
    assert "cannot be skipped in your first 10 sessions" in result.output
    assert json.loads(invoke("history", "--json", "--db", str(screened_db)).output) == []


def test_a_second_first_session_the_same_day_is_refused(screened_db: Path):
    typed = CHECKLIST_READY + "3\n" + "3\n" + "2\n"
    assert invoke("start", "--text", "--fast", "--db", str(screened_db),
                  input=typed).exit_code == 0
    again = invoke("start", "--text", "--fast", "--db", str(screened_db), input=typed)
    assert again.exit_code == 2 and "allows 1 a day" in again.output


def test_a_dizzy_typed_session_holds_the_next_until_dizziness_passed(screened_db: Path,
                                                                        tmp_path: Path):
    db = str(screened_db)
    events = tmp_path / "ev.jsonl"
    # Checklist, pain 3, then "I feel dizzy" during the hold; after: pain 2, not passed.
    typed = CHECKLIST_READY + "3\n" + "I feel dizzy\n" + "2\n" + "no\n"
    result = invoke("start", "--text", "--fast", "--db", db, "--events", str(events),
                    input=typed)
    assert result.exit_code == 1, result.output
    logged = [json.loads(line) for line in events.read_text().splitlines()]
    assert {"return_started": "dizzy"} in [{e["type"]: e.get("reason")} for e in logged
                                           if e["type"] == "return_started"]
    assert [e["passed"] for e in logged if e["type"] == "dizziness"] == [False]
    planned = invoke("plan", "--db", db)
    assert "No session today" in planned.output and "dizzy" in planned.output
    # Not within five minutes: a doctor is needed, and nothing is recorded.
    refused = invoke("dizziness", "passed", "--db", db, input="n\n")
    assert refused.exit_code == 2 and "voicecoach clearance" in refused.output
    assert "dizzy" in invoke("plan", "--db", db, "--json").output
    recorded = invoke("dizziness", "passed", "--db", db, input="y\n")
    assert recorded.exit_code == 0, recorded.output
    assert json.loads(invoke("plan", "--db", db, "--json").output)["held"] is None


def test_a_doctors_clearance_lifts_the_dizziness_hold(screened_db: Path):
    db = str(screened_db)
    typed = CHECKLIST_READY + "3\n" + "dizzy\n" + "2\n" + "no\n"
    assert invoke("start", "--text", "--fast", "--db", db, input=typed).exit_code == 1
    assert json.loads(invoke("plan", "--db", db, "--json").output)["held"] is not None
    cleared = invoke("clearance", "--by", "Dr. Rivera", "--db", db)
    assert cleared.exit_code == 0, cleared.output
    assert json.loads(invoke("plan", "--db", db, "--json").output)["held"] is None


def test_a_file_session_is_simulated_and_kept_out_of_plan_limits_and_reports(tmp_path: Path,
                                                                              screened_db: Path):
    """A file session with nobody answering: no answer at the check-in, the return with the
    alert, and when the audio has ended the wait for "upright" ends the session."""
    silence = tmp_path / "in.wav"
    write_wav(silence, np.zeros(16000, dtype=np.int16))
    events = tmp_path / "ev.jsonl"
    db = str(screened_db)
    result = invoke("start", "--audio-in", str(silence), "--fast", "--pain", "3",
                    "--no-checklist", "--db", db, "--events", str(events))
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines()[-1] == (
        "Session ended early because a question went unanswered; logged. "
        "See `voicecoach history`.")
    types = [json.loads(line)["type"] for line in events.read_text().splitlines()]
    assert "no_answer" in types and "awaiting_upright" in types and "input_ended" in types
    with Store.open(screened_db) as store:
        rows = store.sessions()
    assert [r["simulated"] for r in rows] == [True]
    assert "(simulated)" in invoke("history", "--db", db).output
    planned = json.loads(invoke("plan", "--db", db, "--json").output)
    assert planned["program"] == "first-session" and "no sessions yet" in planned["reasons"][0]
    exported = json.loads(invoke("export", "--format", "json", "--db", db).output)
    assert exported["sessions"] == []
    # The day's one first session is still to come.
    typed = CHECKLIST_READY + "3\n" + "3\n" + "2\n"
    assert invoke("start", "--text", "--fast", "--db", db, input=typed).exit_code == 0


def test_every_way_a_session_ends_is_said_in_words():
    from voicecoach.cli.start import END_REASONS, end_summary

    reasons = {"stop", "pain_rise", "no_answer", "symptom", "help", "dizzy", "device_lost"}
    assert set(END_REASONS) == reasons
    for reason in reasons:
        line = end_summary(reason)
        assert line.startswith("Session ended early because ") and "_" not in line, line
    assert end_summary("completed").startswith("Session completed")
