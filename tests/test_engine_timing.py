"""The whole guided session on a fake clock: every announcement at its exact time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine_driver import drive
from voicecoach.protocol.program import load_builtin, load_program_file
from voicecoach.session.engine import EngineSettings
from voicecoach.session.events import Heard, Key

PROGRAMS = Path(__file__).parent / "data" / "programs"


@pytest.fixture
def ten_minutes():
    return load_program_file(PROGRAMS / "ten-minutes.toml")


def test_ten_minute_program_runs_in_well_under_a_second_with_exact_times(ten_minutes):
    # Check-ins at 120 s intervals are answered "two" one second after they are asked.
    hold_start = 20.0
    answers = [(hold_start + k * 120 + 1, Heard("two", 0.9, "two")) for k in range(1, 5)]
    answers.append((hold_start + 600 + 10 + 15 + 45 + 1, Heard("one", 0.9, "one")))
    started = time.perf_counter()
    run = drive(ten_minutes, EngineSettings(checklist=False, pain_before=3), answers)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5

    said = run.says()
    # Written out by hand from the program: descend 20 s, hold 2 x 300 s,
    # remaining time every 60 s, check-ins every 120 s, countdown over the last 10 s.
    expected = [
        (0.0, "descend"),
        (20.0, "step_1"),
        (80.0, "remaining"),
        (140.0, "remaining"), (140.0, "checkin_ask"), (141.0, "pain_noted"),
        (200.0, "remaining"),
        (260.0, "remaining"), (260.0, "checkin_ask"), (261.0, "pain_noted"),
        (320.0, "step_2"),
        (350.0, "step_2_cue_1"),
        (380.0, "remaining"), (380.0, "checkin_ask"), (381.0, "pain_noted"),
        (410.0, "step_2_cue_2"),
        (440.0, "remaining"),
        (500.0, "remaining"), (500.0, "checkin_ask"), (501.0, "pain_noted"),
        (560.0, "remaining"),
        (610.0, "countdown"), (611.0, "countdown"), (612.0, "countdown"), (613.0, "countdown"),
        (614.0, "countdown"), (615.0, "countdown"), (616.0, "countdown"), (617.0, "countdown"),
        (618.0, "countdown"), (619.0, "countdown"),
        (620.0, "hold_complete"),
        (620.0, "return_rise"),
        (630.0, "return_pause"),
        (645.0, "return_upright"),
        (690.0, "release"), (690.0, "post_pain_ask"),
        (691.0, "pain_noted"), (691.0, "summary"), (691.0, "session_done"),
    ]
    assert said == expected
    assert [text for _, text in run.says("remaining")] == [
        "9 minutes left.", "8 minutes left.", "7 minutes left.", "6 minutes left.",
        "4 minutes left.", "3 minutes left.", "2 minutes left.", "1 minute left."]
    assert [text for _, text in run.says("countdown")] == [
        "10 seconds left.", "nine", "eight", "seven", "six", "five", "four", "three", "two",
        "one"]
    assert run.logs("return_started") == [(620.0, {"reason": "completed"})]
    assert run.logs("hold_ended") == [(620.0, {"held_s": 600.0})]
    assert run.end.reason == "completed" and run.end.exit_code == 0
    pains = [(t, d["phase"], d["value"]) for t, d in run.logs("pain")]
    assert pains == [(0.0, "before", 3), (141.0, "hold", 2), (261.0, "hold", 2),
                     (381.0, "hold", 2), (501.0, "hold", 2), (691.0, "after", 1)]


def test_stop_mid_hold_starts_the_return_at_that_instant(ten_minutes):
    run = drive(ten_minutes, EngineSettings(checklist=False, pain_before=3),
                [(123.456, Heard("stop", 0.8, "stop")), (400, Heard("zero"))])
    assert run.logs("return_started") == [(123.456, {"reason": "stop"})]
    assert run.logs("hold_ended") == [(123.456, {"held_s": 103.456})]
    # The return prompt is urgent: it cuts what was being said.
    urgent = [(t, a.prompt_id) for t, a in run.actions
              if getattr(a, "urgent", False)]
    assert urgent[0] == (123.456, "return_stop")
    # Nothing from the hold is announced after the stop.
    assert not [t for t, pid in run.says() if t > 123.456 and pid.startswith(("step", "remain",
                                                                                "countdown"))]
    returns = [(t, pid) for t, pid in run.says() if pid.startswith("return")]
    assert [pid for _, pid in returns] == ["return_stop", "return_rise", "return_pause",
                                           "return_upright"]
    assert [t for t, _ in returns] == pytest.approx([123.456, 123.456, 133.456, 148.456],
                                                    abs=1e-9)
    assert run.end.reason == "stop" and run.end.exit_code == 1


def test_speaking_time_never_stretches_the_hold(ten_minutes):
    # However many times the user asks for the time or a repeat, the hold ends at 620 s.
    chatter = [(t, Heard("time")) for t in range(25, 600, 7)]
    chatter += [(t + 3, Heard("repeat")) for t in range(25, 600, 11)]
    run = drive(ten_minutes, EngineSettings(checklist=False, pain_before=3,
                                            answer_timeout_s=1000), chatter)
    assert run.says("hold_complete") == [(620.0, "That is the end of the hold. Well done.")]


def test_time_and_repeat_answer_from_the_clock(ten_minutes):
    run = drive(ten_minutes, EngineSettings(checklist=False, pain_before=3),
                [(5.0, Heard("time")), (95.5, Heard("time")), (96.0, Heard("repeat"))])
    assert run.says("time_left")[:2] == [
        (5.0, "15 seconds left before the hold begins."),
        (95.5, "8 minutes 44 seconds left in this hold.")]
    # "repeat" says the last instruction again (the step, not the remaining-time notice).
    repeated = [text for t, text in run.says("step_1") if t == 96.0]
    assert repeated and repeated[0].startswith("Rest. Hold at 60 degrees for 5 minutes.")


def test_checklist_then_pre_pain_then_descend():
    program = load_builtin("first-session")
    script = [(float(i), Key("enter")) for i in range(1, 10)] + [(10.0, Heard("four"))]
    run = drive(program, EngineSettings(), script + [(200, Heard("three"))])
    ids = [pid for _, pid in run.says()][:12]
    assert ids == ["checklist_intro", "check_height", "check_table", "check_ankles",
                   "check_release", "check_socks", "check_phone", "check_spotter", "check_stop",
                   "mic_check", "pre_pain_ask",
                   "pain_noted"]
    assert run.logs("pain")[0] == (10.0, {"value": 4, "phase": "before", "confidence": 1.0,
                                         "transcript": ""})
    assert run.says("descend") == [(10.0, "Lean back slowly to 20 degrees. "
                                         "Your hold begins in 15 seconds.")]


def test_stop_during_descend_and_checklist_also_returns():
    program = load_builtin("first-session")
    run = drive(program, EngineSettings(checklist=False, pain_before=2),
                [(3.0, Key("space"))])
    assert run.logs("return_started") == [(3.0, {"reason": "stop"})]
    run = drive(program, EngineSettings(), [(2.0, Heard("stop"))])
    assert run.logs("return_started") == [(2.0, {"reason": "stop"})]


def test_after_the_session_the_pain_question_waits_thirty_seconds():
    """Upright, stepping off the table: 30 s for the answer (10 s while inverted), then
    the re-ask gets 30 s of its own; silence here ends the session, no alarm."""
    program = load_program_file(PROGRAMS / "short-descend.toml")  # no check-in in its hold
    run = drive(program, EngineSettings(checklist=False, pain_before=3))
    windows = [t for t, data in run.logs("answer_window")
               if data["question"] == "post_pain_ask"]
    reasks = [t for t, text in run.says("pain_reask")]
    assert len(windows) == 2 and len(reasks) == 1
    assert reasks[0] - windows[0] == pytest.approx(30.0)
    no_answer = [t for t, _ in run.logs("no_answer")]
    assert no_answer and no_answer[0] - windows[1] == pytest.approx(30.0)
    assert run.end.reason == "completed"
