"""The engine's safety rules, each on the fake clock. Removing a rule fails its test."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine_driver import drive
from voicecoach.protocol.program import load_builtin, load_program_file
from voicecoach.session.actions import Alert, CutSpeech
from voicecoach.session.engine import EngineSettings
from voicecoach.session.events import DeviceLost, Heard, Key, Unrecognised

PROGRAMS = Path(__file__).parent / "data" / "programs"
# first-session: descend 15 s, hold 90 s (15..105), check-in at 45 s into the hold (60 s).
CHECKIN_AT = 60.0


# weeks-3-4: descend 20 s, check-in 60 s into the hold (80 s); pain may rise 2 points there.
LATER_CHECKIN_AT = 80.0


@pytest.fixture
def program():
    return load_builtin("first-session")


@pytest.fixture
def later():
    return load_builtin("weeks-3-4")


def checkins(program) -> list[float]:
    """When the hold's check-ins are asked (clock seconds)."""
    room = 2 * EngineSettings().answer_timeout_s
    every = program.checkin_every_s
    return [program.descend_s + k * every for k in range(1, int(program.hold_s // every) + 1)
            if k * every <= program.hold_s - room]


def answers(program, word: str, first: str | None = None) -> list:
    """A rating 2 s into every check-in: `first` at the first, `word` at the rest."""
    times = checkins(program)
    return [(t + 2, Heard(first if first and i == 0 else word)) for i, t in enumerate(times)]


def settings(**kw):
    return EngineSettings(checklist=False, pain_before=3, **kw)


def test_pain_more_than_two_points_above_before_returns_at_once(later):
    at = LATER_CHECKIN_AT + 2
    run = drive(later, settings(), [(at, Heard("six")), (600, Heard("five"))])
    assert run.logs("return_started") == [(at, {"reason": "pain_rise"})]
    assert (at, "return_pain") in run.says()
    assert run.end.reason == "pain_rise"


def test_pain_exactly_two_points_above_is_noted_not_a_return(later):
    run = drive(later, settings(), [*answers(later, "five"), (600, Heard("five"))])
    assert run.logs("return_started") == [(260.0, {"reason": "completed"})]


@pytest.mark.parametrize("name", ["first-session", "weeks-1-2"])
def test_in_the_first_weeks_any_rise_in_pain_returns_at_once(name):
    # Seed 003, weeks 1-2: "stop immediately if pain increases".
    early = load_builtin(name)
    at = early.descend_s + early.checkin_every_s + 2
    run = drive(early, settings(), [(at, Heard("four")), (600, Heard("four"))])
    assert run.logs("return_started") == [(at, {"reason": "pain_rise"})]


def test_in_the_first_weeks_the_same_pain_is_no_return():
    early = load_builtin("weeks-1-2")
    run = drive(early, settings(), [*answers(early, "three"), (600, Heard("three"))])
    assert [d["reason"] for _, d in run.logs("return_started")] == ["completed"]


def test_no_answer_after_one_reask_returns_and_sounds_the_alert(program):
    run = drive(program, settings(), [(130, Key("space")), (400, Heard("two"))])
    asked = [t for t, pid in run.says() if pid in ("checkin_ask", "pain_reask") and t < 100]
    assert asked == [CHECKIN_AT, CHECKIN_AT + 10]
    assert run.logs("return_started") == [(CHECKIN_AT + 20, {"reason": "no_answer"})]
    alerts = [(t, a) for t, a in run.actions if isinstance(a, Alert)]
    assert alerts[0] == (CHECKIN_AT + 20, Alert("alert", repeat=True))
    assert run.end.reason == "no_answer"


def test_talking_without_an_answer_still_reaches_the_no_answer_rule(program):
    babble = [(CHECKIN_AT + k, Unrecognised("banana")) for k in range(1, 20, 3)]
    run = drive(program, settings(), [*babble, (130, Key("space")), (400, Heard("two"))])
    assert run.logs("return_started")[0] == (CHECKIN_AT + 20, {"reason": "no_answer"})
    assert not [d for _, d in run.logs("pain") if d["phase"] == "hold"]


def test_dizzy_during_the_return_goes_back_to_thirty_degrees_and_waits():
    program = load_program_file(PROGRAMS / "ten-minutes.toml")  # 60 degrees, descend 20 s
    # Stop at 30 s; rise 10 s; pause 15 s (40..55); upright from 55; dizzy at 60.
    run = drive(program, settings(), [(30, Heard("stop")), (60, Heard("dizzy")),
                                      (400, Heard("two"))])
    ids = [(t, pid) for t, pid in run.says() if pid.startswith(("return", "release"))]
    assert ids == [(30, "return_stop"), (30, "return_rise"), (40, "return_pause"),
                   (55, "return_upright"), (60, "return_dizzy"), (75, "return_upright"),
                   (120, "release")]
    assert any(isinstance(a, CutSpeech) and t == 60 for t, a in run.actions)


def test_from_a_hold_at_or_below_thirty_degrees_the_pause_is_where_the_user_is(program):
    # first-session holds at 20 degrees: no rise to 30, a pause in place, then upright.
    run = drive(program, settings(), [(30, Heard("stop")), (50, Heard("dizzy")),
                                      (400, Heard("two"))])
    ids = [(t, pid) for t, pid in run.says() if pid.startswith(("return", "release"))]
    assert ids == [(30, "return_stop"), (30, "return_pause_low"), (45, "return_upright"),
                   (50, "return_dizzy_low"), (65, "return_upright"), (95, "release")]


def test_help_gives_stuck_guidance_with_a_repeating_alert(program):
    run = drive(program, settings(), [(50, Heard("help")), (130, Key("space")),
                                      (400, Heard("two"))])
    assert run.logs("return_started") == [(50, {"reason": "help"})]
    assert (50, "stuck_guidance") in run.says()
    assert (50, Alert("alert", repeat=True)) in run.actions


@pytest.mark.parametrize("word", ["numb", "vision", "headache"])
def test_warning_signs_bring_the_user_up(program, word):
    run = drive(program, settings(), [(40, Heard(word)), (400, Heard("two"))])
    assert run.logs("return_started") == [(40, {"reason": "symptom"})]
    assert run.end.reason == "symptom"


@pytest.mark.parametrize("device", ["microphone", "recogniser", "speech"])
def test_a_lost_device_mid_hold_says_so_and_returns(program, device):
    run = drive(program, settings(), [(70, DeviceLost(device, "gone")), (400, Heard("two"))])
    assert run.logs("return_started") == [(70, {"reason": "device_lost"})]
    assert (70, f"return_{device}") in run.says()


def test_a_low_confidence_number_is_read_back_and_never_logged_from_a_guess(program):
    run = drive(program, EngineSettings(checklist=False, confirm_below=0.7),
                [(1, Heard("seven", 0.4, "seven")), (3, Heard("no")), (5, Heard("six", 0.5)),
                 (7, Heard("yes")), (400, Heard("one", 0.95))])
    assert run.says("confirm")[:2] == [(1, "I heard 7. Say yes, or say the number again."),
                                       (5, "I heard 6. Say yes, or say the number again.")]
    before = [d["value"] for _, d in run.logs("pain") if d["phase"] == "before"]
    assert before == [6]


def test_the_same_uncertain_number_twice_counts_as_confirmed(program):
    run = drive(program, EngineSettings(checklist=False, confirm_below=0.7),
                [(1, Heard("four", 0.4)), (3, Heard("four", 0.5)), (400, Heard("one"))])
    assert [d["value"] for _, d in run.logs("pain")][:1] == [4]


def test_a_digit_key_answers_a_pain_question(program):
    run = drive(program, EngineSettings(checklist=False), [(2, Key("5")), (400, Key("1"))])
    assert run.logs("pain")[0][1]["value"] == 5


def test_a_second_stop_during_the_return_changes_nothing(program):
    run = drive(program, settings(), [(30, Heard("stop")), (35, Heard("stop")),
                                      (400, Heard("two"))])
    assert len(run.logs("return_started")) == 1
