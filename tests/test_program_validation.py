"""The safety rules for programs: every built-in passes, unsafe programs are refused by name."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from voicecoach.paths import config_dir
from voicecoach.protocol.exercises import exercise_library
from voicecoach.protocol.program import (
    STAGES,
    ProgramError,
    builtin_program_names,
    load_builtin,
    parse_program,
)
from voicecoach.protocol.validate import (
    STAGE_LIMITS,
    available_programs,
    load_program,
    problems,
    validate,
)

SOURCE = "test.toml"

BASE: dict[str, Any] = {
    "name": "base",
    "stage": "weeks-3-4",
    "descend_s": 15,
    "announce_every_s": 60,
    "checkin_every_s": 60,
    "return": {"rise_s": 10, "pause_s": 15, "upright_s": 45},
    "steps": [
        {"title": "Settle", "angle": 30, "duration_s": 60},
        {"title": "Deeper", "angle": 45, "duration_s": 60},
    ],
}


def program(**changes: Any) -> Any:
    data = copy.deepcopy(BASE)
    data.update(changes)
    return parse_program(data, SOURCE)


def steps(*pairs: tuple[int, float], **extra: Any) -> list[dict[str, Any]]:
    return [{"title": f"S{i}", "angle": a, "duration_s": d, **extra}
            for i, (a, d) in enumerate(pairs, start=1)]


def test_the_base_program_of_the_table_is_itself_safe():
    validate(program())


@pytest.mark.parametrize("name", builtin_program_names())
def test_every_builtin_program_passes_the_validator(name: str):
    loaded = load_program(name)
    assert loaded.name == name
    assert list(problems(loaded)) == []


def test_the_library_has_the_progression_and_the_condition_protocols():
    names = set(builtin_program_names())
    assert {"first-session", "weeks-1-2", "weeks-3-4", "week-5-plus", "herniated-disc",
            "sciatica-week-1", "sciatica-week-3", "muscle-spasm"} <= names
    assert {load_builtin(n).stage for n in names} == set(STAGES)
    assert load_builtin("herniated-disc").conditions == ("herniated-disc",)


def test_condition_protocols_keep_to_the_figures_of_the_sources():
    herniated = load_builtin("herniated-disc")
    assert {s.angle for s in herniated.steps} <= set(range(30, 46))
    assert 180 <= herniated.hold_s <= 300
    assert any(s.exercise == "gentle-rocking" for s in herniated.steps)
    week1 = load_builtin("sciatica-week-1")
    assert [s.angle for s in week1.steps] == [15] and week1.hold_s == 60
    assert max(s.angle for s in load_builtin("sciatica-week-3").steps) == 45
    rotations = next(s for s in week1.steps if s.exercise == "leg-rotation")
    assert sum("release" in c.text.lower() for c in rotations.cues) == 3
    spasm = load_builtin("muscle-spasm")
    assert spasm.hold_s == 300 and all(30 <= s.angle <= 60 for s in spasm.steps)


def test_every_library_exercise_is_used_and_fits_its_own_stage():
    used = {s.exercise for n in builtin_program_names() for s in load_builtin(n).steps}
    library = exercise_library()
    assert set(library) <= used
    for ex in library.values():
        assert ex.min_stage in STAGES
        # Alone in a step at its earliest stage, with room for the final countdown.
        limits = STAGE_LIMITS[ex.min_stage]
        alone = parse_program({
            "name": ex.name, "stage": ex.min_stage, "descend_s": 30,
            "steps": [{"exercise": ex.name, "angle": max(20, limits.min_angle),
                       "duration_s": max(limits.min_hold_s, ex.duration_s + 10)}]}, ex.name)
        assert list(problems(alone)) == [], ex.name


def test_partial_sit_ups_are_only_in_week_five_and_later():
    assert exercise_library()["partial-sit-up"].min_stage == "week-5-plus"
    users = {n for n in builtin_program_names()
             if any(s.exercise == "partial-sit-up" for s in load_builtin(n).steps)}
    assert users and all(load_builtin(n).stage == "week-5-plus" for n in users)


# (changes to the base program, field named in the error, words of the rule)
UNSAFE = [
    pytest.param({"stage": "week-5-plus", "steps": steps((60, 660))},
                 "steps[1].duration_s", "60 degrees or more never exceeds 10 min",
                 id="steep-step-over-10-min"),
    pytest.param({"stage": "week-5-plus", "steps": steps((60, 360), (70, 300))},
                 "steps", "11 min in total at 60 degrees or more", id="steep-total-over-10-min"),
    pytest.param({"stage": "week-5-plus", "steps": steps((45, 330), (45, 330))},
                 "steps[1].angle", "outside 60-90 for stage week-5-plus", id="week-5-below-60"),
    pytest.param({"stage": "week-5-plus", "steps": steps((60, 240))},
                 "steps", "under 5 min for stage week-5-plus", id="week-5-under-5-min"),
    pytest.param({"stage": "first", "steps": steps((45, 60))},
                 "steps[1].angle", "outside 15-30 for stage first", id="first-too-steep"),
    pytest.param({"stage": "first", "steps": steps((20, 100), (20, 50))},
                 "steps", "over 2 min for stage first", id="first-too-long"),
    pytest.param({"stage": "first", "steps": steps((20, 20))},
                 "steps", "under 30 s for stage first", id="first-too-short"),
    pytest.param({"stage": "weeks-1-2", "steps": steps((20, 20))},
                 "steps", "under 30 s for stage weeks-1-2", id="weeks-1-2-too-short"),
    pytest.param({"stage": "weeks-1-2", "steps": steps((10, 60))},
                 "steps[1].angle", "outside 15-30 for stage weeks-1-2",
                 id="weeks-1-2-below-table-scale"),
    pytest.param({"steps": steps((45, 60), (60, 60), (75, 60))},
                 "steps[3].angle", "outside 15-60 for stage weeks-3-4", id="weeks-3-4-too-steep"),
    pytest.param({"steps": steps((45, 180), (45, 180))},
                 "steps", "over 5 min for stage weeks-3-4", id="weeks-3-4-too-long"),
    pytest.param({"conditions": ["herniated-disc"], "steps": steps((45, 60), (60, 60))},
                 "steps[2].angle", "herniated-disc protocol is 30-45 degrees",
                 id="herniated-too-steep"),
    pytest.param({"conditions": ["sciatica"], "steps": steps((45, 60), (60, 60))},
                 "steps[2].angle", "outside 15-45 for sciatica", id="sciatica-over-45"),
    pytest.param({"conditions": ["muscle-spasm"], "steps": steps((20, 60), (30, 60))},
                 "steps[1].angle", "outside 30-60 for muscle-spasm", id="spasm-too-low"),
    pytest.param({"conditions": ["herniated_disc"]},
                 "conditions", "unknown condition 'herniated_disc'", id="misspelt-condition"),
    pytest.param({"return": {"rise_s": 10, "pause_s": 30, "upright_s": 45}},
                 "return.pause_s", "pause at about 30 degrees lasts 10-15 s",
                 id="return-pause-too-long"),
    pytest.param({"return": {"rise_s": 10, "pause_s": 5, "upright_s": 45}},
                 "return.pause_s", "outside 10-15 s", id="return-pause-too-short"),
    pytest.param({"return": {"rise_s": 10, "pause_s": 15, "upright_s": 10}},
                 "return.upright_s", "stay upright 30-60 s before releasing the ankles",
                 id="released-too-soon"),
    pytest.param({"return": {"rise_s": 2, "pause_s": 15, "upright_s": 45}},
                 "return.rise_s", "rise slowly", id="rise-too-fast"),
    pytest.param({"checkin_every_s": 180},
                 "checkin_every_s", "check-ins at least every 2 min so distress is noticed",
                 id="checkins-too-rare"),
    pytest.param({"checkin_every_s": 10},
                 "checkin_every_s", "outside 30-120 s", id="checkins-too-close"),
    pytest.param({"announce_every_s": 300},
                 "announce_every_s", "time left is spoken at least every 2 min",
                 id="time-left-too-rare"),
    pytest.param({"steps": steps((30, 60), (60, 60))},
                 "steps[2].angle", "jumps 30 degrees from the step before",
                 id="angle-jump"),
    pytest.param({"stage": "week-5-plus", "descend_s": 10, "steps": steps((60, 300))},
                 "descend_s", "faster than 3 degrees a second", id="descend-too-fast"),
    pytest.param({"descend_s": 5}, "descend_s", "lean back slowly", id="descend-too-short"),
    pytest.param({"steps": steps((30, 5), (30, 60))},
                 "steps[1].duration_s", "too short to announce", id="step-too-short"),
    pytest.param({"steps": [{"title": "S", "angle": 30, "duration_s": 60, "cues": [
        {"at_s": 0, "text": "Raise your right arm slowly above your head and reach up "
                            "gently until you feel a good long stretch."},
        {"at_s": 3, "text": "Now the left."}]}]},
                 "steps[1].cues[1].text", "takes about 8 s to say, but cues[2] starts 3 s",
                 id="cues-talk-over-each-other"),
    pytest.param({"steps": [{"title": "S", "angle": 30, "duration_s": 60, "cues": [
        {"at_s": 20, "text": "One."}, {"at_s": 10, "text": "Two."}]}]},
                 "steps[1].cues[2].at_s", "cues go in time order", id="cues-out-of-order"),
    pytest.param({"steps": [{"title": "S", "angle": 30, "duration_s": 60, "cues": [
        {"at_s": 55, "text": "Curve to the left."}]}]},
                 "steps[1].cues[1].at_s", "final 10-second countdown", id="cue-over-countdown"),
    pytest.param({"steps": [{"exercise": "partial-sit-up", "angle": 45, "duration_s": 60}]},
                 "steps[1].exercise", "partial-sit-up belongs in stage week-5-plus or later",
                 id="sit-ups-too-early"),
    pytest.param({"sessions_per_day": "4-6"},
                 "sessions_per_day", "6 a day is more than the 3", id="too-many-a-day"),
]


@pytest.mark.parametrize(("changes", "field", "rule"), UNSAFE)
def test_unsafe_programs_are_refused_naming_file_field_and_rule(changes: dict[str, Any],
                                                                field: str, rule: str):
    unsafe = program(**changes)
    with pytest.raises(ProgramError) as caught:
        validate(unsafe)
    error = caught.value
    assert (error.source, error.where) == (SOURCE, field)
    assert rule in error.message
    line = str(error)
    assert line.startswith(f"{SOURCE}: {field}: ") and "\n" not in line


def test_the_herniated_disc_limit_holds_where_the_stage_allows_more():
    # Week 5+ allows 10 min; the herniated-disc protocol never more than 5.
    unsafe = program(stage="week-5-plus", conditions=["herniated-disc"],
                     steps=steps((60, 180), (60, 180)))
    messages = [e.message for e in problems(unsafe) if e.where == "steps"]
    assert any("over 5 min for herniated-disc" in m for m in messages), messages


def test_the_unsafe_table_covers_many_distinct_rules():
    assert len({(p.values[1], p.values[2]) for p in UNSAFE}) >= 25


def test_problems_lists_every_broken_rule_and_validate_raises_the_first():
    bad = program(checkin_every_s=300, announce_every_s=300)
    found = [e.where for e in problems(bad)]
    assert found == ["announce_every_s", "checkin_every_s"]
    with pytest.raises(ProgramError, match="announce_every_s"):
        validate(bad)


# ---- exercises in steps ---------------------------------------------------------------


def test_a_step_naming_an_exercise_takes_its_title_instruction_and_cues():
    p = program(steps=[{"exercise": "side-arch", "angle": 30}])
    step = p.steps[0]
    side_arch = exercise_library()["side-arch"]
    assert (step.title, step.instruction, step.duration_s) == (
        side_arch.title, side_arch.instruction, side_arch.duration_s)
    assert [(c.at_s, c.text) for c in step.cues] == list(side_arch.cues)
    assert step.exercise == "side-arch"


def test_an_unknown_exercise_is_a_parse_error_naming_the_step():
    with pytest.raises(ProgramError, match=r"steps\[1\]\.exercise: no such exercise 'handstand'"):
        program(steps=[{"exercise": "handstand", "angle": 30, "duration_s": 60}])


def test_a_step_too_short_for_its_exercise_says_so():
    with pytest.raises(ProgramError) as caught:
        program(steps=[{"exercise": "rotation", "angle": 30, "duration_s": 20}])
    assert caught.value.where == "steps[1].duration_s"
    assert "too short for the rotation exercise" in caught.value.message


# ---- finding programs -------------------------------------------------------------------

UNSAFE_FILE = """
name = "too-steep"
stage = "first"
[[steps]]
title = "Hang"
angle = 60
duration_s = 60
"""


def test_load_program_refuses_an_unsafe_file_naming_the_file(tmp_path: Path):
    path = tmp_path / "too-steep.toml"
    path.write_text(UNSAFE_FILE)
    with pytest.raises(ProgramError) as caught:
        load_program(path)
    assert str(caught.value).startswith(f"{path}: steps[1].angle: 60 degrees is outside 15-30")
    with pytest.raises(ProgramError, match="outside 15-30"):
        load_program(str(path))


def test_user_programs_load_by_name_from_the_config_dir():
    folder = config_dir() / "programs"
    folder.mkdir(parents=True)
    (folder / "mine.toml").write_text(UNSAFE_FILE.replace("angle = 60", "angle = 25")
                                      .replace("too-steep", "mine"))
    assert load_program("mine").steps[0].angle == 25
    (folder / "first-session.toml").write_text(UNSAFE_FILE)
    # A built-in name always means the built-in program.
    assert load_program("first-session").source == "built-in program 'first-session'"
    entries = {(e.name, e.origin): e for e in available_programs()}
    assert entries[("first-session", "user")].shadowed
    assert not entries[("mine", "user")].shadowed


def test_an_unknown_name_lists_the_builtins_and_where_own_programs_go():
    with pytest.raises(ProgramError) as caught:
        load_program("no-such-program")
    assert "weeks-1-2" in caught.value.message
    assert str(config_dir() / "programs") in caught.value.message
