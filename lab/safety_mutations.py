#!/usr/bin/env python3
"""Remove or weaken each safety rule in turn and check that a test fails (docs/safety.md).

Each mutation replaces one exact piece of the product's source, runs the safety tests
against it, and puts the source back, whatever happens. A mutation that leaves every test
passing "survived": that rule has no test that holds it. Run it on a clean work tree, with
nothing else using the sources:

    .venv/bin/python lab/safety_mutations.py            # every mutation
    .venv/bin/python lab/safety_mutations.py dizzy      # only those whose name has "dizzy"

It prints one line a mutation and exits 1 if any survived.
"""

# ruff: noqa: E501  (the table below quotes exact lines of the sources)

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ["tests/test_safety_rules.py", "tests/test_engine_safety.py",
         "tests/test_engine_timing.py", "tests/test_start_gates.py",
         "tests/test_program_validation.py", "tests/test_plan.py", "tests/test_screening.py"]


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    old: str
    new: str


ENGINE = "voicecoach/session/engine.py"
LIMITS = "voicecoach/protocol/limits.py"
VALIDATE = "voicecoach/protocol/validate.py"
PLAN = "voicecoach/protocol/plan.py"
GATES = "voicecoach/protocol/gates.py"
COMMANDS = "voicecoach/session/commands.py"
PROGRAM = "voicecoach/protocol/program.py"
SCREENING = "voicecoach/protocol/screening.py"
PROMPTS = "voicecoach/session/prompts.py"
MARKERS = "voicecoach/progress/markers.py"

MUTATIONS = [
    # pain
    Mutation("pain rise: limit 2 -> 3", LIMITS, "PAIN_RISE_LIMIT = 2", "PAIN_RISE_LIMIT = 3"),
    Mutation("pain rise: rule removed", ENGINE,
             "and value - self.pain_before > self._pain_rise_limit):",
             "and value - self.pain_before > 99):"),
    Mutation("weeks 1-2 any rise: limit 0 -> 2", LIMITS, "EARLY_PAIN_RISE_LIMIT = 0",
             "EARLY_PAIN_RISE_LIMIT = 2"),
    Mutation("weeks 1-2 any rise: weeks-1-2 dropped", LIMITS,
             'EARLY_STAGES = frozenset({"first", "weeks-1-2"})', 'EARLY_STAGES = frozenset({"first"})'),
    # no answer, help, stuck
    Mutation("no answer: no return", ENGINE,
             '            self._start_return("no_answer")\n            self._become_stuck("no_answer")',
             '            self._become_stuck("no_answer")'),
    Mutation("no answer: no alert", ENGINE,
             '        self._stuck_next_at = self._now() + STUCK_REPEAT_S\n        self._alert_on()',
             '        self._stuck_next_at = self._now() + STUCK_REPEAT_S'),
    Mutation("stuck: any word stops the alert", ENGINE,
             '        if self._stuck is not None:\n            # A stuck or silent user',
             '        self._alert_off()\n        if self._stuck is not None:\n            # A stuck or silent user'),
    Mutation("stuck: release on the usual timer", ENGINE,
             "        if self._stuck is not None:\n            # Never \"release your ankles\"",
             "        if False:\n            # Never \"release your ankles\""),
    Mutation("stuck: guidance not repeated", ENGINE, "STUCK_REPEAT_S = 20.0",
             "STUCK_REPEAT_S = 2000.0"),
    Mutation("stuck: a key does not confirm", ENGINE,
             '            self._upright_confirmed(f"key {ev.key}")\n            return',
             '            pass'),
    Mutation("stuck: early upright skips the upright wait", ENGINE,
             "            # Upright sooner than the timings: stay still the full upright time anyway.\n"
             "            self._upright()",
             "            self._release()"),
    Mutation("help: no stuck guidance", ENGINE,
             '        self._become_stuck("help")\n        self._say("stuck_guidance")',
             '        self._become_stuck("help")'),
    # dizziness
    Mutation("dizzy in the hold: ignored", ENGINE,
             '        if self.phase in (Phase.DESCEND, Phase.HOLD):\n            # Seed 003',
             '        if False:\n            # Seed 003'),
    Mutation("dizzy in the return: no wait", ENGINE,
             "        self._out.append(CutSpeech())\n        self._pause_at_thirty(dizzy=True)",
             "        self._out.append(CutSpeech())"),
    Mutation("dizzy: not asked whether it passed", ENGINE,
             "        if self.dizzy:\n            # Seed 003", "        if False:\n            # Seed 003"),
    Mutation("dizzy: advice not given", ENGINE,
             '        if not passed:\n            self._say("dizzy_after", instruction=False)',
             '        if not passed:\n            pass'),
    Mutation("dizzy: plan does not hold", PLAN,
             "    if last.dizziness_passed or (cleared_on", "    if True or (cleared_on"),
    Mutation("dizzy: a clearance does not lift it", PLAN,
             "(cleared_on is not None and cleared_on >= last.day)", "False"),
    Mutation("dizzy: five minutes -> fifteen", LIMITS, "DIZZY_DOCTOR_AFTER_MIN = 5",
             "DIZZY_DOCTOR_AFTER_MIN = 15"),
    # warning signs and words
    Mutation("weakness: not a warning sign", COMMANDS,
             'frozenset({"numb", "weakness", "vision", "headache"})',
             'frozenset({"numb", "vision", "headache"})'),
    Mutation("numb: not a warning sign", COMMANDS,
             'frozenset({"numb", "weakness", "vision", "headache"})',
             'frozenset({"weakness", "vision", "headache"})'),
    Mutation("warning signs: not in the descent", ENGINE,
             "        if word in SYMPTOM_WORDS and self.phase not in NOT_INVERTED:",
             "        if word in SYMPTOM_WORDS and self.phase is Phase.HOLD:"),
    Mutation("phrases: not heard", COMMANDS, "    return phrase_word(words)", "    return None"),
    Mutation("numb: out of the recogniser's words", "voicecoach/voice/hearing/vocabulary.py",
             '    GrammarWord("numb", "numb"),\n', ""),
    # the return
    Mutation("return: no upright wait", ENGINE,
             "        self._after(rp.upright_s, self._release)", "        self._after(0, self._release)"),
    Mutation("return: upright range 30 -> 10", VALIDATE, "UPRIGHT_RANGE_S = (30.0, 60.0)",
             "UPRIGHT_RANGE_S = (10.0, 60.0)"),
    Mutation("return: pause range 10-15 -> 5-30", VALIDATE, "PAUSE_RANGE_S = (10.0, 15.0)",
             "PAUSE_RANGE_S = (5.0, 30.0)"),
    # programs
    Mutation("session cap: removed", VALIDATE, "    if program.hold_s > MAX_SESSION_HOLD_S:",
             "    if False:"),
    Mutation("session cap: 10 -> 12 min", VALIDATE, "MAX_SESSION_HOLD_S = 600.0",
             "MAX_SESSION_HOLD_S = 720.0"),
    Mutation("steep cap: 10 -> 12 min", VALIDATE, "MAX_STEEP_HOLD_S = 600.0",
             "MAX_STEEP_HOLD_S = 720.0"),
    Mutation("first session: minimum 30 s -> 10 s", VALIDATE,
             '"a first session stays at 15-30 degrees for 30 s to 2 min",\n                    min_hold_s=30.0',
             '"a first session stays at 15-30 degrees for 30 s to 2 min",\n                    min_hold_s=10.0'),
    Mutation("week 5+: no floor", VALIDATE,
             '"week-5-plus": Limits(60, 90, 600.0,', '"week-5-plus": Limits(15, 90, 600.0,'),
    Mutation("week 5+: no minimum time", VALIDATE,
             '                          min_hold_s=300.0)', '                          min_hold_s=30.0)'),
    Mutation("numbers: nan allowed", PROGRAM, "        if not math.isfinite(value):",
             "        if False:"),
    # limits on the person
    Mutation("sessions a day: first 1 -> 2", LIMITS, '    "first": 1,', '    "first": 2,'),
    Mutation("sessions a day: program's own ignored", LIMITS,
             "    if not declared.strip():", "    if True:"),
    Mutation("days a week: 4 -> 5", LIMITS, "MAX_SESSION_DAYS_PER_WEEK = SESSIONS_PER_WEEK[1]",
             "MAX_SESSION_DAYS_PER_WEEK = 5"),
    Mutation("daily time: 15 -> 20 min", LIMITS, "MAX_DAILY_HOLD_S = 15 * 60.0",
             "MAX_DAILY_HOLD_S = 20 * 60.0"),
    Mutation("checklist: skippable from session 1", GATES,
             "    if checklist or len(history) >= SPOTTER_SESSIONS:", "    if True:"),
    Mutation("spotter: 10 -> 5 sessions", LIMITS, "SPOTTER_SESSIONS = 10", "SPOTTER_SESSIONS = 5"),
    Mutation("by the week: first session's day", PLAN,
             '        Level("first-session", "first", 1, 1),\n        Level("weeks-1-2", "weeks-1-2", 14, 4),\n        Level("weeks-3-4"',
             '        Level("first-session", "first", 0, 1),\n        Level("weeks-1-2", "weeks-1-2", 14, 4),\n        Level("weeks-3-4"'),
    Mutation("repeated endings: never said", PLAN, "    if repeated is not None:", "    if False:"),
    Mutation("repeated endings: 2 -> 3", LIMITS, "REPEATED_ENDINGS = 2", "REPEATED_ENDINGS = 3"),
    Mutation("simulated sessions: counted in the plan", PLAN,
             "        if row.get(\"simulated\"):\n            continue",
             "        if False:\n            continue"),
    Mutation("table checks: a clearance lifts them", SCREENING, "    if to_fix:", "    if False:"),
    # what the coach says, and what the reports hold it to
    Mutation("stuck guidance: kicking not warned against", PROMPTS, "call for help. Do not kick. ",
             "call for help. "),
    Mutation("dizziness advice: five minutes dropped", PROMPTS,
             "If it lasts more than five minutes, ", "If it lasts, "),
    Mutation("night-pain marker: month 3 -> week 14", MARKERS, "NIGHT_PAIN_TARGET_WEEK = 13",
             "NIGHT_PAIN_TARGET_WEEK = 14"),
]


def run_tests() -> bool:
    """True when the safety tests all pass."""
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                             *TESTS], cwd=ROOT, capture_output=True, text=True)
    return result.returncode == 0


def main() -> int:
    wanted = sys.argv[1:]
    chosen = [m for m in MUTATIONS if not wanted or any(w in m.name for w in wanted)]
    if not run_tests():
        print("the safety tests fail before any mutation: fix them first")
        return 2
    survived = []
    for number, mutation in enumerate(chosen, start=1):
        path = ROOT / mutation.path
        original = path.read_text()
        if original.count(mutation.old) != 1:
            print(f"{number:2}/{len(chosen)} {mutation.name}: the text to change is not found "
                  "exactly once (the rule moved?)")
            survived.append(mutation)
            continue
        started = time.monotonic()
        try:
            path.write_text(original.replace(mutation.old, mutation.new))
            caught = not run_tests()
        finally:
            path.write_text(original)
        verdict = "caught" if caught else "SURVIVED"
        print(f"{number:2}/{len(chosen)} {verdict:8} {mutation.name} "
              f"({time.monotonic() - started:.0f} s)", flush=True)
        if not caught:
            survived.append(mutation)
    print(f"{len(chosen) - len(survived)} caught, {len(survived)} survived")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
