"""Safety rules from the seeds that hold at every moment of a session (docs/safety.md).

Each test names the rule it holds; lab/safety_mutations.py removes or weakens each rule
in turn and checks that a test here (or in test_engine_safety.py) fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from engine_driver import Run, drive
from voicecoach.cli import main
from voicecoach.protocol.program import ProgramError, load_builtin, load_program_file
from voicecoach.session.actions import Alert, CutSpeech
from voicecoach.session.commands import canonical
from voicecoach.session.engine import STUCK_REPEAT_S, EngineSettings
from voicecoach.session.events import Heard, InputEnded, Key
from voicecoach.session.prompts import FIXED_PROMPTS
from voicecoach.voice.hearing import vocabulary
from voicecoach.voice.hearing.whisper_reader import words

PROGRAMS = Path(__file__).parent / "data" / "programs"
# first-session: descend 15 s, hold 90 s at 20 degrees (15..105), pause 15 s, upright 30 s.
# ten-minutes: descend 20 s, 60 degrees; rise 10 s, pause 15 s, upright 45 s.


def settings(**kw) -> EngineSettings:
    return EngineSettings(checklist=False, pain_before=3, **kw)


def first() -> object:
    return load_builtin("first-session")


def steep() -> object:
    return load_program_file(PROGRAMS / "ten-minutes.toml")


def return_prompts(run: Run) -> list[tuple[float, str]]:
    return [(t, pid) for t, pid in run.says()
            if pid.startswith(("return", "release", "upright", "stuck"))]


def alert_state(run: Run, at: float) -> bool:
    """Whether the repeating alert is sounding at clock time `at`."""
    on = False
    for t, action in run.actions:
        if t > at:
            break
        if isinstance(action, Alert):
            on = action.repeat
    return on


# ---- programs: numbers that are not numbers -------------------------------------------

PROGRAM = """
name = "odd"
stage = "weeks-1-2"
[[steps]]
title = "Rest"
angle = 20
duration_s = {value}
"""


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "+nan", "1" + "0" * 30])
def test_a_non_finite_or_huge_number_is_refused_when_parsed(tmp_path: Path, value: str):
    path = tmp_path / "odd.toml"
    path.write_text(PROGRAM.format(value=value))
    with pytest.raises(ProgramError) as caught:
        load_program_file(path)
    assert caught.value.where == "steps[1].duration_s"


@pytest.mark.parametrize("command", ["check", "show"])
def test_programs_check_and_show_refuse_a_nan_hold_in_one_line(tmp_path: Path, command: str):
    path = tmp_path / "nan.toml"
    path.write_text(PROGRAM.format(value="nan"))
    result = CliRunner().invoke(main, ["programs", command, str(path)])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == f"{path}: steps[1].duration_s: must be a finite number, not nan"
    assert "Traceback" not in result.output


# ---- dizziness ---------------------------------------------------------------------------


@pytest.mark.parametrize("at", [5.0, 50.0], ids=["descend", "hold"])
def test_dizzy_in_the_descent_or_hold_starts_the_return_at_once(at: float):
    run = drive(steep(), settings(), [(at, Heard("dizzy")), (400, Heard("two")),
                                      (410, Heard("yes"))])
    assert run.logs("return_started") == [(at, {"reason": "dizzy"})]
    assert (at, CutSpeech()) in run.actions
    # Up to thirty degrees, and there the wait that dizziness gets.
    assert return_prompts(run)[:3] == [(at, "return_dizzy_start"), (at, "return_rise"),
                                       (at + 10, "return_dizzy_wait")]
    assert run.end.reason == "dizzy"


def test_dizzy_in_a_low_hold_waits_where_the_user_is():
    run = drive(first(), settings(), [(40, Heard("dizzy")), (400, Heard("two")),
                                      (410, Heard("yes"))])
    assert return_prompts(run)[:2] == [(40, "return_dizzy_start"), (40, "return_dizzy_wait_low")]


def test_a_dizzy_session_asks_whether_it_passed_and_logs_the_answer():
    run = drive(first(), settings(), [(40, Heard("dizzy")), (100, Heard("two")),
                                      (102, Heard("yes"))])
    assert [pid for _, pid in run.says()][-4:] == ["pain_noted", "dizzy_passed_ask", "summary",
                                                    "session_done"]
    assert run.logs("dizziness") == [(102, {"passed": True})]
    assert not run.says("dizzy_after")


@pytest.mark.parametrize("script", [[(102, Heard("no"))], []], ids=["no", "no answer"])
def test_dizziness_that_has_not_passed_gets_the_doctor_advice(script):
    run = drive(first(), settings(), [(40, Heard("dizzy")), (100, Heard("two")), *script])
    passed = run.logs("dizziness")[0][1]["passed"]
    assert passed is (False if script else None)
    advice = run.says("dizzy_after")
    assert len(advice) == 1


def test_the_dizziness_advice_names_five_minutes_and_a_doctor():
    text = FIXED_PROMPTS["dizzy_after"].lower()
    assert "five minutes" in text and "doctor" in text and "next session" in text


def test_a_session_without_dizziness_asks_nothing_more():
    run = drive(first(), settings(), [(100, Heard("two"))])
    assert not run.says("dizzy_passed_ask") and not run.logs("dizziness")


def test_i_feel_dizzy_and_other_phrases_are_their_safety_word():
    typed = {"I feel dizzy": "dizzy", "I'm dizzy": "dizzy", "help me": "help",
             "my legs are numb": "numb", "my foot feels weak": None, "I feel weak": "weakness",
             "stop please": "stop", "can we stop": "stop", "don't stop the music": None,
             "I'm upright": "upright"}
    assert {text: canonical(text) for text in typed} == typed
    heard = {"I'm dizzy.": "dizzy", "Help me!": "help", "My legs are numb.": "numb",
             "I feel weak.": "weakness", "I am upright.": "upright", "I am so dizzy": "dizzy",
             "The weather is nice today.": None}
    assert {text: vocabulary.spoken_word(words(text)) for text in heard} == heard


# ---- stuck, or not answering -------------------------------------------------------------


def test_after_help_the_alert_keeps_sounding_through_other_words():
    run = drive(first(), settings(), [(50, Heard("help")), (60, Heard("two")),
                                      (70, Heard("repeat")), (300, Key("space"))])
    assert alert_state(run, 61) and alert_state(run, 200)
    assert not alert_state(run, 301)


def test_stuck_guidance_repeats_until_the_user_is_upright():
    run = drive(first(), settings(), [(50, Heard("help")), (200, Heard("upright"))])
    guidance = [t for t, pid in run.says() if pid in ("stuck_guidance", "upright_confirm_ask")]
    assert guidance[:3] == [50, 50 + STUCK_REPEAT_S, 50 + 2 * STUCK_REPEAT_S]
    assert max(guidance) < 200
    assert run.logs("upright_confirmed") == [(200, {"how": "said upright", "reason": "help"})]


def test_no_release_of_the_ankles_until_the_user_says_upright():
    # Help at 50 s: pause 15 s, upright 30 s: the usual release would be at 95 s.
    run = drive(first(), settings(), [(50, Heard("help")), (240, Heard("upright")),
                                      (250, Heard("two"))])
    assert [t for t, _ in run.says("release")] == [240]
    assert run.logs("awaiting_upright") == [(95, {"reason": "help"})]


def test_upright_said_early_still_waits_the_full_upright_time():
    run = drive(steep(), settings(), [(30, Heard("help")), (35, Heard("upright")),
                                      (200, Heard("two"))])
    # ten-minutes: upright 45 s from the word, then release.
    assert (35, "return_upright") in run.says() and [t for t, _ in run.says("release")] == [80]


def test_after_no_answer_the_alert_sounds_until_a_key_and_only_then_release():
    # first-session's check-in at 60 s: re-ask at 70, no answer at 80; release due at 125.
    run = drive(first(), settings(), [(90, Heard("three")), (180, Key("q")),
                                      (190, Heard("two"))])
    assert alert_state(run, 91) and alert_state(run, 170)
    assert [t for t, _ in run.says("release")] == [180]
    assert run.logs("awaiting_upright") == [(125, {"reason": "no_answer"})]
    assert 125 in [t for t, _ in run.says("upright_confirm_ask")]
    assert not alert_state(run, 181)


def test_inputs_ending_while_waiting_for_upright_end_the_session():
    run = drive(first(), settings(), [(50, Heard("help")), (60, InputEnded())])
    assert run.end.reason == "help"
    assert run.logs("input_ended") == [(95, {"waiting_for": "upright"})]
    assert not run.says("release")


def test_stuck_guidance_says_what_seed_003_says():
    text = FIXED_PROMPTS["stuck_guidance"].lower()
    for part in ("calm", "deep breaths", "palms", "rock", "three times", "call for help",
                 "do not kick", "upright"):
        assert part in text, part


# ---- warning signs -------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["numb", "weakness", "vision", "headache"])
def test_warning_signs_in_the_descent_bring_the_user_up(word: str):
    run = drive(first(), settings(), [(5, Heard(word)), (400, Heard("two"))])
    assert run.logs("return_started") == [(5, {"reason": "symptom"})]


def test_every_safety_word_is_in_the_recognisers_vocabulary():
    listened = {w.canonical for w in vocabulary.words_for("any")}
    for word in ("stop", "help", "dizzy", "numb", "weakness", "vision", "headache", "upright"):
        assert word in listened, word
        assert vocabulary.spoken_word([word]) == word
    assert vocabulary.spoken_word(["weak"]) == "weakness"


# ---- the return itself ----------------------------------------------------------------------


def test_a_plain_return_stays_upright_for_the_programs_time_before_release():
    run = drive(steep(), settings(), [(30, Heard("stop")), (200, Heard("two"))])
    # Rise 10 s (30..40), pause 15 s (40..55), upright 45 s (55..100).
    assert return_prompts(run) == [(30, "return_stop"), (30, "return_rise"),
                                   (40, "return_pause"), (55, "return_upright"),
                                   (100, "release")]


# ---- limits that another rule would otherwise hide --------------------------------------------


def test_the_session_wide_ten_minute_cap_holds_on_its_own(monkeypatch: pytest.MonkeyPatch):
    """Seed 003: never exceed 10 minutes. Every stage's own limit is at most 10 minutes, so
    the session-wide cap is tested with a stage that would allow 20."""
    from voicecoach.protocol import validate as rules
    from voicecoach.protocol.program import parse_program

    loose = rules.Limits(15, 60, 1200.0, "a stage that allows 20 minutes")
    monkeypatch.setitem(rules.STAGE_LIMITS, "weeks-3-4", loose)
    long = parse_program({"name": "long", "stage": "weeks-3-4", "steps": [
        {"title": f"S{i}", "angle": 45, "duration_s": 330} for i in (1, 2)]}, "long.toml")
    messages = [e.message for e in rules.problems(long)]
    assert messages == ["total hold 11 min is over the 10 min a session may last"]


def test_the_success_markers_fall_in_the_seeds_weeks():
    """Seed 003: 20% less pain by week 2, 30% further toe touch by week 6, no night pain by
    month 3 (week 13)."""
    from voicecoach.progress.history import History
    from voicecoach.progress.markers import evaluate_markers

    weeks = {m.key: m.target_week for m in evaluate_markers(History(sessions=[], daily=[]))}
    assert weeks == {"pain_reduction": 2, "toe_touch": 6, "night_pain": 13}


# ---- black box: through `voicecoach start --audio-in ... --events ...` ------------------------
# The phrases are synthetic speech (espeak-ng), labelled as such: no recording of a real voice
# saying them is in the test sets yet.


def _synthetic_session_input(tmp_path: Path, phrase: str, at_s: float, total_s: float) -> Path:
    import subprocess

    import numpy as np

    from voicecoach.voice.pcm import RATE, read_wav, write_wav

    raw = tmp_path / "phrase.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(raw), phrase], check=True)
    spoken = read_wav(raw)  # resampled to 16 kHz mono
    audio = np.zeros(int(total_s * RATE), dtype=np.int16)
    start = int(at_s * RATE)
    audio[start:start + len(spoken)] = spoken
    path = tmp_path / "in.wav"
    write_wav(path, audio)
    return path


def _file_session(tmp_path: Path, audio_in: Path, *extra: str) -> tuple[int, list[dict]]:
    import json

    events = tmp_path / "ev.jsonl"
    result = CliRunner().invoke(main, ["start", "--audio-in", str(audio_in), "--fast",
                                       "--pain", "3", "--no-checklist", "--events", str(events),
                                       "--db", str(tmp_path / "s.db"), *extra])
    logged = [json.loads(line) for line in events.read_text().splitlines()] \
        if events.exists() else []
    return result.exit_code, logged


def test_black_box_a_nan_program_is_refused_before_any_session(tmp_path: Path):
    import numpy as np

    from voicecoach.voice.pcm import write_wav

    silence = tmp_path / "in.wav"
    write_wav(silence, np.zeros(16000, dtype=np.int16))
    program = tmp_path / "nan.toml"
    program.write_text(PROGRAM.format(value="nan"))
    result = CliRunner().invoke(main, ["start", "--audio-in", str(silence), "--fast",
                                       "--program", str(program), "--db",
                                       str(tmp_path / "s.db")])
    assert result.exit_code == 2
    assert "must be a finite number" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "s.db").exists()  # refused before a session was opened


def test_black_box_i_feel_dizzy_in_the_hold_starts_the_return(tmp_path: Path):
    # first-session: the hold runs from 15 s to 105 s.
    audio_in = _synthetic_session_input(tmp_path, "I feel dizzy", at_s=30, total_s=36)
    code, logged = _file_session(tmp_path, audio_in)
    assert code == 1
    heard = [e for e in logged if e["type"] == "heard"]
    assert [e["word"] for e in heard] == ["dizzy"]
    started = [e for e in logged if e["type"] == "return_started"]
    assert [e["reason"] for e in started] == ["dizzy"] and 30 < started[0]["t"] < 33
    ids = [e["id"] for e in logged if e["type"] == "prompt"]
    assert "return_dizzy_start" in ids and "return_dizzy_wait_low" in ids
    assert [e["passed"] for e in logged if e["type"] == "dizziness"] == [None]
    assert "dizzy_after" in ids


def test_black_box_help_me_gives_guidance_that_waits_for_upright(tmp_path: Path):
    audio_in = _synthetic_session_input(tmp_path, "help me", at_s=30, total_s=36)
    code, logged = _file_session(tmp_path, audio_in)
    assert code == 1
    types = [e["type"] for e in logged]
    assert "help" in types and "awaiting_upright" in types and "input_ended" in types
    ids = [e["id"] for e in logged if e["type"] == "prompt"]
    assert ids.count("stuck_guidance") >= 2 and "release" not in ids
    assert logged[-1]["type"] == "session_end" and logged[-1]["reason"] == "help"
