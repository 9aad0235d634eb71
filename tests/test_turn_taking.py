"""Turn-taking: a question's answer window opens when the question has finished playing,
nothing else is said while an answer is awaited, and the safety words are heard at every
moment. The pure engine on a fake clock, with a speaker that takes 3 s for each prompt."""

from __future__ import annotations

import pytest

from engine_driver import drive
from voicecoach.protocol.program import load_builtin
from voicecoach.session.engine import EngineSettings
from voicecoach.session.events import Heard, Key

PLAY_S = 3.0


@pytest.fixture
def first_session():
    return load_builtin("first-session")


def _checkin_at(run) -> float:
    return next(t for t, pid in run.says() if pid == "checkin_ask")


def _window_at(run, question: str = "checkin_ask") -> float:
    return next(t for t, d in run.logs("answer_window") if d["question"] == question)


def test_a_number_said_while_the_question_plays_is_not_taken(first_session):
    """The check-in is asked with the next step's words (both queued at 60 s of the hold):
    while the coach talks, a "three" is its own echo as far as anyone can tell, and is
    not taken; the window opens when both have been said, and a "four" then is."""
    settings = EngineSettings(checklist=False, pain_before=2)
    probe = drive(first_session, settings, prompt_s=PLAY_S)
    asked, window = _checkin_at(probe), _window_at(probe)
    assert window == pytest.approx(asked + 2 * PLAY_S)
    run = drive(first_session, settings, [(window - 1.0, Heard("three", 0.95, "three")),
                                          (window + 1.0, Heard("four", 0.95, "four"))],
                prompt_s=PLAY_S)
    pains = [(t, d["value"]) for t, d in run.logs("pain") if d["phase"] == "hold"]
    assert pains == [(window + 1.0, 4)]


def test_nothing_else_is_said_while_an_answer_is_awaited(first_session):
    """From the check-in until its answer, the coach says nothing but the question; the
    cue that fell due meanwhile is said after the answer, and the hold ends on time."""
    settings = EngineSettings(checklist=False, pain_before=2)
    probe = drive(first_session, settings, prompt_s=PLAY_S)
    asked = _checkin_at(probe)
    answer_at = _window_at(probe) + 8.0
    run = drive(first_session, settings, [(answer_at, Heard("two", 0.95, "two"))],
                prompt_s=PLAY_S)
    between = [pid for t, pid in run.says() if asked < t < answer_at]
    assert between == []
    after = [pid for t, pid in run.says() if t == answer_at]
    assert after[0] == "pain_noted"
    assert any(pid.startswith("step_") for pid in after[1:]), after
    hold = run.logs("hold_started")[0]
    complete = [t for t, pid in run.says() if pid == "hold_complete"]
    assert complete == [hold[0] + first_session.hold_s]


def test_the_reask_gets_a_full_window_of_its_own(first_session):
    """Silence: the re-ask comes a full answer wait after the question finished, and the
    no-answer ending a full wait after the re-ask finished."""
    settings = EngineSettings(checklist=False, pain_before=2, answer_timeout_s=10.0)
    run = drive(first_session, settings, prompt_s=PLAY_S)
    reask = next(t for t, pid in run.says() if pid == "pain_reask")
    assert reask == pytest.approx(_window_at(run) + 10.0)
    gave_up = run.logs("no_answer")[0][0]
    assert gave_up == pytest.approx(reask + PLAY_S + 10.0)


def test_stop_is_heard_while_the_question_plays(first_session):
    settings = EngineSettings(checklist=False, pain_before=2)
    probe = drive(first_session, settings, prompt_s=PLAY_S)
    asked = _checkin_at(probe)
    run = drive(first_session, settings, [(asked + 1.0, Heard("stop", 0.9, "stop"))],
                prompt_s=PLAY_S)
    returns = run.logs("return_started")
    assert returns[0] == (asked + 1.0, {"reason": "stop"})


@pytest.mark.parametrize("word,reason", [("dizzy", "dizzy"), ("help", "help"),
                                         ("numb", "symptom")])
def test_safety_words_are_heard_while_the_question_plays(first_session, word, reason):
    settings = EngineSettings(checklist=False, pain_before=2)
    probe = drive(first_session, settings, prompt_s=PLAY_S)
    asked = _checkin_at(probe)
    run = drive(first_session, settings, [(asked + 0.5, Heard(word, 0.9, word))],
                prompt_s=PLAY_S)
    assert run.logs("return_started")[0] == (asked + 0.5, {"reason": reason})


def test_a_key_answers_at_once_even_while_the_question_plays(first_session):
    settings = EngineSettings(checklist=False, pain_before=2)
    probe = drive(first_session, settings, prompt_s=PLAY_S)
    asked = _checkin_at(probe)
    run = drive(first_session, settings, [(asked + 1.0, Key("3"))], prompt_s=PLAY_S)
    pains = [(t, d["value"]) for t, d in run.logs("pain") if d["phase"] == "hold"]
    assert pains == [(asked + 1.0, 3)]
