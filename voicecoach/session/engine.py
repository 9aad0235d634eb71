"""The session engine: a pure state machine.

It is fed events (heard word, key, tick, device lost) and returns actions
(say, cut speech, alert, log, end). It never sleeps, never touches a device
and never reads the wall clock: every time comes from the Clock it is given,
so a ten-minute hold is tested in milliseconds, to the exact millisecond.

Holds run on deadlines fixed when the hold starts. How long a prompt takes to
speak never moves them.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from voicecoach.protocol.limits import pain_rise_limit
from voicecoach.protocol.program import Program
from voicecoach.session import prompts
from voicecoach.session.actions import Action, Alert, CutSpeech, End, Log, Say
from voicecoach.session.clock import Clock
from voicecoach.session.commands import SYMPTOM_WORDS, number_value
from voicecoach.session.events import (
    DeviceLost,
    Event,
    Heard,
    InputEnded,
    Key,
    SpeechIdle,
    Tick,
    Unrecognised,
)

CHECKLIST = ("check_height", "check_table", "check_ankles", "check_release", "check_socks",
             "check_phone", "check_spotter", "check_stop")

MAX_QUESTION_PLAY_S = 15.0
"""A question's answer window opens at the latest this long after it was said, should the
speaker never report that it has finished (seconds)."""
STUCK_REPEAT_S = 20.0
"""While the user may be stuck or not answering, the guidance is said again this often
(seconds), with the alert sounding, until they say "upright" or a key is pressed."""

PAUSE_ANGLE = 30
"""On the way up the user pauses at about this angle (degrees) to let their balance settle."""

STOP_KEYS = frozenset({"enter", "space", "s"})
READY_KEYS = frozenset({"enter", "space"})


class Phase(str, Enum):
    CHECKLIST = "checklist"
    PRE_PAIN = "pre_pain"
    DESCEND = "descend"
    HOLD = "hold"
    RETURN_RISE = "return_rise"
    RETURN_PAUSE = "return_pause"
    RETURN_UPRIGHT = "return_upright"
    POST_PAIN = "post_pain"
    DONE = "done"


RETURN_PHASES = frozenset({Phase.RETURN_RISE, Phase.RETURN_PAUSE, Phase.RETURN_UPRIGHT})
NOT_INVERTED = frozenset({Phase.CHECKLIST, Phase.PRE_PAIN})
STOP_ACTS = frozenset(Phase) - RETURN_PHASES - {Phase.POST_PAIN, Phase.DONE}
"""Phases in which a "stop" changes what happens (it starts the return): only in these
does the coach duck its speech for a suspected stop. On the way up, a duck would only
swallow words of the return guidance."""


@dataclass(frozen=True)
class Announcement:
    """Something the coach says at a set time into the hold."""

    at: float
    """Seconds from the start of the hold."""
    prompt_id: str
    text: str
    instruction: bool = True
    """An instruction waits for an open question; a time-left announcement is dropped."""
    step: int | None = None
    """For a step's opening prompt: its number (1-based), logged with its angle."""
    angle: int | None = None


def hold_announcements(program: Program, countdown_s: int) -> list[Announcement]:
    """Every prompt of the hold, when it is said: each step's opening, its cues, the time
    left every `announce_every_s`, and the final countdown. The engine schedules these;
    the live session renders them ahead, so none has to wait for the speech engine."""
    said: list[Announcement] = []
    step_starts: set[float] = set()
    offset = 0.0
    previous_angle = program.steps[0].angle
    for index, step in enumerate(program.steps):
        step_starts.add(offset)
        text = prompts.step_text(step.title, step.angle, step.duration_s, step.instruction,
                                 angle_changed=step.angle != previous_angle)
        previous_angle = step.angle
        said.append(Announcement(offset, f"step_{index + 1}", text, step=index + 1,
                                 angle=step.angle))
        said += [Announcement(offset + cue.at_s, f"step_{index + 1}_cue_{j + 1}", cue.text)
                 for j, cue in enumerate(step.cues)]
        offset += step.duration_s
    total = program.hold_s
    countdown_from = min(countdown_s, int(total))
    k = 1
    while (at := k * program.announce_every_s) < total - countdown_from:
        if at not in step_starts:
            said.append(Announcement(at, "remaining", prompts.remaining_text(total - at),
                                     instruction=False))
        k += 1
    said += [Announcement(total - left, "countdown", prompts.countdown_text(left),
                          instruction=False) for left in range(countdown_from, 0, -1)]
    return said


def prompts_ahead(program: Program, settings: EngineSettings) -> list[tuple[str, str]]:
    """What a session of `program` will say that is built from its numbers (the fixed
    prompts are pre-rendered already): to render before it is needed."""
    first = program.steps[0]
    said = [("descend", prompts.descend_text(first.angle, program.descend_s))]
    said += [(a.prompt_id, a.text) for a in hold_announcements(program, settings.countdown_s)]
    said += [("pain_noted", prompts.pain_noted_text(v)) for v in range(11)]
    said += [("confirm", prompts.confirm_text(v)) for v in range(11)]
    return list(dict.fromkeys(said))


@dataclass(frozen=True)
class EngineSettings:
    checklist: bool = True
    """Read the setup checklist and the microphone check (off with --no-checklist)."""
    mic_check: bool = True
    """End the checklist with "Microphone check. Say ready." (not in a typed session)."""
    pain_before: int | None = None
    """Pre-session pain rating given up front (--pain); not asked again."""
    ready_timeout_s: float = 20.0
    """Wait for "ready" this long before asking again (seconds)."""
    answer_timeout_s: float = 10.0
    """Wait for a pain rating this long before asking again; after one re-ask, no answer
    means possible distress (seconds)."""
    after_answer_timeout_s: float = 30.0
    """After the session, upright: wait this long for the pain rating (and for whether
    dizziness passed) before asking again. Someone stepping off a table, ankles still in
    the locks, needs longer than ten seconds; silence here is no distress."""
    confirm_below: float = 0.0
    """A heard number with confidence below this is read back for a yes before it is logged."""
    countdown_s: int = 10
    """The last seconds of a hold are counted down one by one."""


@dataclass
class _Question:
    kind: str
    """"ready", "pain" or "passed" (has the dizziness passed: yes or no)."""
    prompt_id: str
    text: str
    pain_phase: str = ""
    reasks: int = 0
    failed_tries: int = 0
    pending: int | None = None
    """A number waiting for the user's yes."""
    pending_transcript: str = ""
    pending_confidence: float = 0.0
    open: bool = False
    """The answer window: open once the question has finished playing. Before that a
    spoken answer is not taken (the coach is still talking, and its echo is no answer);
    keys are, and the safety words always are."""
    generation: int = 0
    """Bumped whenever the answer deadline is re-armed, so stale timers do nothing."""


class Engine:
    def __init__(self, program: Program, clock: Clock,
                 settings: EngineSettings | None = None) -> None:
        self.program = program
        self.clock = clock
        self.settings = settings or EngineSettings()
        self.phase = Phase.CHECKLIST
        self.end_reason: str | None = None
        self.pain_before: int | None = self.settings.pain_before
        self.pain_after: int | None = None
        self._return_reason = "completed"
        self._out: list[Action] = []
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._question: _Question | None = None
        self._checklist_left: list[str] = []
        self._last_instruction: Say | None = None
        self._hold_started_at: float | None = None
        self._hold_ends_at: float | None = None
        self._stage_ends_at: float | None = None
        self._held_s = 0.0
        self._alerting = False
        self._pain_rise_limit = pain_rise_limit(program.stage)
        self.dizzy = False
        """Dizziness was reported at some point of this session."""
        self._stuck: str | None = None
        """"help" or "no_answer" while the user may be stuck or unable to answer: the alert
        and the guidance go on until they say "upright" or press a key."""
        self._stuck_next_at: float | None = None
        self._awaiting_upright = False
        """The return's timings are over, but release waits for the upright confirmation."""
        self._inputs_ended = False
        self._deferred: list[tuple[Phase, str, str]] = []
        """Instructions that fell due while a question was open: (phase, id, text)."""

    # ---- public interface -------------------------------------------------

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE

    @property
    def awaiting(self) -> str | None:
        """What answer the engine waits for: None, "ready", "number" or "confirm"."""
        if self._awaiting_upright:
            return "upright"
        q = self._question
        if q is None:
            return None
        if not q.open:
            return None
        if q.kind == "ready":
            return "ready"
        if q.kind == "passed":
            return "confirm"
        return "confirm" if q.pending is not None else "number"

    @property
    def waiting_for_quiet(self) -> bool:
        """A question has been asked and its answer window opens when the speaker is idle:
        the runner sends SpeechIdle then."""
        return self._question is not None and not self._question.open

    def next_deadline(self) -> float | None:
        """Clock time of the next scheduled thing, so a runner can tick exactly then."""
        times = [t for t in (self._timers[0][0] if self._timers else None,
                             self._stuck_next_at) if t is not None]
        return min(times) if times else None

    def start(self) -> list[Action]:
        self._log("session_start", program=self.program.name, hold_s=self.program.hold_s)
        if self.settings.checklist:
            self._enter(Phase.CHECKLIST)
            self._say("checklist_intro")
            self._checklist_left = [*CHECKLIST, *(["mic_check"] if self.settings.mic_check
                                                  else [])]
            self._next_checklist_item()
        else:
            self._after_checklist()
        return self._flush()

    def handle(self, event: Event) -> list[Action]:
        if self.done:
            return []
        if isinstance(event, Tick):
            self._run_due_timers()
        elif isinstance(event, Heard):
            self._on_heard(event)
        elif isinstance(event, Unrecognised):
            self._on_unrecognised(event)
        elif isinstance(event, Key):
            self._on_key(event)
        elif isinstance(event, DeviceLost):
            self._on_device_lost(event)
        elif isinstance(event, InputEnded):
            self._on_inputs_ended()
        elif isinstance(event, SpeechIdle) and self.waiting_for_quiet:
            self._open_window()
        self._say_deferred()
        return self._flush()

    # ---- plumbing ------------------------------------------------------------

    def _flush(self) -> list[Action]:
        out, self._out = self._out, []
        return out

    def _now(self) -> float:
        return self.clock.now()

    def _log(self, type_: str, **data: object) -> None:
        self._out.append(Log(type_, dict(data)))

    def _say(self, prompt_id: str, text: str | None = None, *, urgent: bool = False,
             instruction: bool = True) -> None:
        text = prompts.FIXED_PROMPTS[prompt_id] if text is None else text
        say = Say(prompt_id, text, urgent=urgent)
        self._out.append(say)
        self._log("prompt", id=prompt_id, text=text)
        if instruction:
            self._last_instruction = say

    def _at(self, t: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (t, next(self._seq), fn))

    def _after(self, seconds: float, fn: Callable[[], None]) -> None:
        self._at(self._now() + seconds, fn)

    def _run_due_timers(self) -> None:
        now = self._now()
        while self._timers and self._timers[0][0] <= now and not self.done:
            _, _, fn = heapq.heappop(self._timers)
            fn()
        # The stuck guidance repeats across phases, so it keeps its own deadline.
        if (self._stuck is not None and self._stuck_next_at is not None
                and self._stuck_next_at <= now and not self.done):
            self._stuck_next_at = now + STUCK_REPEAT_S
            self._say(self._stuck_prompt(), instruction=False)

    def _enter(self, phase: Phase) -> None:
        """Change phase; every timer belongs to the phase that set it."""
        self.phase = phase
        self._timers.clear()
        self._question = None
        self._stage_ends_at = None
        self._log("phase", name=phase.value)

    # ---- questions -----------------------------------------------------------

    def _ask(self, kind: str, prompt_id: str, pain_phase: str = "") -> None:
        self._question = _Question(kind, prompt_id, prompts.FIXED_PROMPTS[prompt_id],
                                   pain_phase=pain_phase)
        self._say(prompt_id)
        self._await_window()

    def _await_window(self) -> None:
        """The question (or its re-ask, or a read-back) has just been said: its answer
        window opens when it has finished playing (SpeechIdle), or after
        MAX_QUESTION_PLAY_S if the speaker never says so."""
        q = self._question
        assert q is not None
        q.open = False
        q.generation += 1
        asked, generation = q, q.generation

        def open_anyway() -> None:
            if self._question is asked and asked.generation == generation and not asked.open:
                self._open_window()

        self._after(MAX_QUESTION_PLAY_S, open_anyway)

    def _open_window(self) -> None:
        q = self._question
        assert q is not None
        q.open = True
        self._log("answer_window", question=q.prompt_id)
        self._arm_question_timer()

    def _say_deferred(self) -> None:
        """Instructions held back while a question was open are said once it closes, in
        their order, if their phase still runs."""
        if self._question is not None or not self._deferred:
            return
        deferred, self._deferred = self._deferred, []
        for phase, prompt_id, text in deferred:
            if phase is self.phase:
                self._say(prompt_id, text)

    def _arm_question_timer(self) -> None:
        q = self._question
        assert q is not None
        timeout = (self.settings.ready_timeout_s if q.kind == "ready"
                   else self.settings.after_answer_timeout_s if self.phase is Phase.POST_PAIN
                   else self.settings.answer_timeout_s)
        q.generation += 1
        asked, generation = q, q.generation

        def expire() -> None:
            if self._question is asked and asked.generation == generation:
                self._question_timed_out()

        self._after(timeout, expire)

    def _question_timed_out(self) -> None:
        q = self._question
        assert q is not None
        if q.reasks == 0:
            q.reasks = 1
            q.pending = None
            self._say({"ready": "ready_reask", "passed": "yes_no_reask"}.get(q.kind,
                                                                            "pain_reask"))
            self._await_window()  # the re-ask gets a full window of its own
            return
        self._question = None
        self._log("no_answer", question=q.prompt_id)
        if q.kind == "passed":
            self._dizziness_answered(None)
            return
        if self.phase in NOT_INVERTED:
            self._say("not_starting", urgent=True)
            self._finish("no_answer")
        elif self.phase is Phase.POST_PAIN:
            self._after_post_pain()
        else:
            # Silence while inverted may be distress: come up, sound the alert, and keep
            # it sounding until the user says they are upright or a key is pressed.
            self._start_return("no_answer")
            self._become_stuck("no_answer")

    def _answer_number(self, value: int, confidence: float, transcript: str) -> None:
        q = self._question
        assert q is not None and q.kind == "pain"
        if q.pending is not None and value == q.pending:
            # The same number twice is as good as a yes.
            self._accept_pain(value, q.pain_phase, confidence, transcript)
            return
        if confidence < self.settings.confirm_below:
            q.pending, q.pending_transcript, q.pending_confidence = value, transcript, confidence
            q.failed_tries += 1
            if q.failed_tries > 2:
                self._say("key_fallback")
            else:
                self._say("confirm", prompts.confirm_text(value))
            self._await_window()
            return
        self._accept_pain(value, q.pain_phase, confidence, transcript)

    def _accept_pain(self, value: int, phase: str, confidence: float, transcript: str) -> None:
        self._question = None
        self._log("pain", value=value, phase=phase, confidence=round(confidence, 3),
                  transcript=transcript)
        self._say("pain_noted", prompts.pain_noted_text(value), instruction=False)
        if phase == "before":
            self.pain_before = value
            self._begin_descend()
        elif phase == "after":
            self.pain_after = value
            self._after_post_pain()
        elif (self.pain_before is not None
              and value - self.pain_before > self._pain_rise_limit):
            self._start_return("pain_rise")

    # ---- events ----------------------------------------------------------------

    def _on_heard(self, ev: Heard) -> None:
        self._log("heard", word=ev.word, confidence=round(ev.confidence, 3),
                  transcript=ev.transcript)
        word = ev.word
        if self._stuck is not None:
            # A stuck or silent user: a word alone does not say they are safe; only
            # "upright" (or a key) ends the alert and the repeated guidance.
            if word == "upright":
                self._upright_confirmed(f"said {word}")
                return
        else:
            self._alert_off()
        if word == "stop":
            self._stop_requested("stop")
            return
        if word == "help":
            self._help()
            return
        if word in SYMPTOM_WORDS and self.phase not in NOT_INVERTED:
            self._stop_requested("symptom")
            return
        if word == "dizzy" and self.phase not in NOT_INVERTED:
            self._dizzy()
            return
        if word == "repeat":
            if self._last_instruction is not None:
                self._say(self._last_instruction.prompt_id, self._last_instruction.text)
            return
        if word == "time":
            self._tell_time()
            return
        q = self._question
        if q is None or not q.open:
            return  # no question, or it is still being asked: nothing to answer yet
        value = number_value(word)
        if q.kind == "ready" and word in ("ready", "yes"):
            self._question = None
            self._ready_answered()
        elif q.kind == "passed" and word in ("yes", "no"):
            self._question = None
            self._dizziness_answered(word == "yes")
        elif q.kind == "pain" and value is not None:
            self._answer_number(value, ev.confidence, ev.transcript)
        elif q.kind == "pain" and word == "yes" and q.pending is not None:
            self._accept_pain(q.pending, q.pain_phase, q.pending_confidence,
                              q.pending_transcript)
        elif q.kind == "pain" and word == "no" and q.pending is not None:
            q.pending = None
            self._say(q.prompt_id, q.text)

    def _on_unrecognised(self, ev: Unrecognised) -> None:
        self._log("unrecognised", transcript=ev.transcript)
        q = self._question
        if q is None:
            return
        # Re-ask at once, but keep the original deadline: someone who keeps
        # talking without giving an answer still reaches the no-answer rule.
        self._say("not_understood", instruction=False)
        self._say(q.prompt_id, q.text)

    def _on_key(self, ev: Key) -> None:
        self._log("key", key=ev.key)
        if self._stuck is not None:
            # Someone at the keyboard: the user, or a person helping them.
            self._upright_confirmed(f"key {ev.key}")
            return
        self._alert_off()
        q = self._question
        if q is not None and q.kind == "ready" and ev.key in READY_KEYS:
            self._question = None
            self._ready_answered()
        elif ev.key in STOP_KEYS:
            self._stop_requested("stop")
        elif ev.key.isdigit() and q is not None and q.kind == "pain":
            # A key press is certain: no read-back needed.
            self._accept_pain(int(ev.key), q.pain_phase, 1.0, f"key {ev.key}")

    def _on_device_lost(self, ev: DeviceLost) -> None:
        self._log("device_lost", device=ev.device, detail=ev.detail)
        if self.phase in RETURN_PHASES or self.phase is Phase.POST_PAIN:
            return
        prompt_id = f"return_{ev.device}"
        if prompt_id not in prompts.FIXED_PROMPTS:
            prompt_id = "return_stop"
        self._start_return("device_lost", prompt_id=prompt_id)

    def _on_inputs_ended(self) -> None:
        """Every input is gone for good (the audio file or the typed script ended): nobody
        can say "upright" any more, so a wait for it ends the session."""
        self._inputs_ended = True
        if self._awaiting_upright:
            self._give_up_waiting()

    def _give_up_waiting(self) -> None:
        self._log("input_ended", waiting_for="upright")
        self._finish(self._return_reason)

    # ---- setup ------------------------------------------------------------------

    def _next_checklist_item(self) -> None:
        item = self._checklist_left.pop(0)
        self._ask("ready", item)

    def _ready_answered(self) -> None:
        if self.phase is Phase.CHECKLIST and self._checklist_left:
            self._next_checklist_item()
        elif self.phase is Phase.CHECKLIST:
            self._after_checklist()

    def _after_checklist(self) -> None:
        if self.pain_before is None:
            self._enter(Phase.PRE_PAIN)
            self._ask("pain", "pre_pain_ask", pain_phase="before")
        else:
            self._log("pain", value=self.pain_before, phase="before", confidence=1.0,
                      transcript="given with --pain")
            self._begin_descend()

    # ---- descend and hold ---------------------------------------------------------

    def _begin_descend(self) -> None:
        self._enter(Phase.DESCEND)
        first = self.program.steps[0]
        self._say("descend", prompts.descend_text(first.angle, self.program.descend_s))
        self._stage_ends_at = self._now() + self.program.descend_s
        self._after(self.program.descend_s, self._begin_hold)

    def _begin_hold(self) -> None:
        self._enter(Phase.HOLD)
        t0 = self._now()
        total = self.program.hold_s
        self._hold_started_at = t0
        self._hold_ends_at = t0 + total
        self._log("hold_started", angle=self.program.steps[0].angle, duration_s=total)
        self._schedule_hold(t0, total)

    def _schedule_hold(self, t0: float, total: float) -> None:
        for a in hold_announcements(self.program, self.settings.countdown_s):
            log = {"step": a.step, "angle": a.angle} if a.step is not None else {}
            self._at(t0 + a.at, self._announcer(a.prompt_id, a.text,
                                                instruction=a.instruction, **log))
        p = self.program
        k = 1
        # A check-in needs room for its answer and one re-ask before the hold ends.
        room = 2 * self.settings.answer_timeout_s
        while (at := k * p.checkin_every_s) <= total - room:
            self._at(t0 + at, self._checkin)
            k += 1
        self._at(t0 + total, self._hold_complete)

    def _announcer(self, prompt_id: str, text: str, *, instruction: bool = True,
                   **log: object) -> Callable[[], None]:
        def announce() -> None:
            if log:
                self._log("step", **log)
            if self._question is not None:
                # Nothing else is said while an answer is awaited: an instruction waits
                # for the question to close (the hold's clock does not); a time-left
                # announcement would be out of date by then, so it is left out.
                if instruction:
                    self._deferred.append((self.phase, prompt_id, text))
                else:
                    self._log("prompt_held", id=prompt_id, text=text)
                return
            self._say(prompt_id, text, instruction=instruction)
        return announce

    def _checkin(self) -> None:
        if self._question is not None:
            return  # the last check-in is still open; its own timer decides
        self._log("checkin")
        self._ask("pain", "checkin_ask", pain_phase="hold")

    def _hold_complete(self) -> None:
        self._say("hold_complete")
        self._start_return("completed", prompt_id=None)

    # ---- return upright -------------------------------------------------------------

    def _stop_requested(self, reason: str) -> None:
        if self.phase in RETURN_PHASES or self.phase in (Phase.POST_PAIN, Phase.DONE):
            return  # already coming up: a second "stop" changes nothing
        self._start_return(reason)

    def _start_return(self, reason: str, prompt_id: str | None = "") -> None:
        """Begin the return-upright protocol at once, cutting whatever is being said."""
        if self.phase is Phase.HOLD and self._hold_started_at is not None:
            self._held_s = self._now() - self._hold_started_at
            self._log("hold_ended", held_s=round(self._held_s, 3))
        self._return_reason = reason
        urgent = reason != "completed"
        if urgent:
            self._out.append(CutSpeech())
        self._log("return_started", reason=reason)
        if prompt_id == "":
            prompt_id = f"return_{reason}" if reason in ("stop", "symptom") else {
                "pain_rise": "return_pain", "no_answer": "return_no_answer",
                "help": "return_help", "dizzy": "return_dizzy_start"}.get(reason, "return_stop")
        if prompt_id:
            self._say(prompt_id, urgent=urgent)
        self._rise()

    def _rise(self) -> None:
        dizzy = self._return_reason == "dizzy"
        if self._low_hold():
            # Already at or below about 30 degrees: the pause happens where the user is.
            self._pause_at_thirty(dizzy=dizzy)
            return
        self._enter(Phase.RETURN_RISE)
        self._say("return_rise")
        rp = self.program.return_protocol
        self._stage_ends_at = self._now() + rp.rise_s
        self._after(rp.rise_s, lambda: self._pause_at_thirty(dizzy=dizzy))

    def _low_hold(self) -> bool:
        return max(step.angle for step in self.program.steps) <= PAUSE_ANGLE

    def _pause_at_thirty(self, dizzy: bool = False) -> None:
        came_from = self.phase
        self._enter(Phase.RETURN_PAUSE)
        if dizzy and came_from not in RETURN_PHASES:
            # Dizzy in the hold, at or below thirty degrees: wait where the user is.
            prompt_id = "return_dizzy_wait_low"
        elif dizzy and came_from is Phase.RETURN_RISE:
            # Dizzy in the hold: the user has risen to thirty degrees to wait there.
            prompt_id = "return_dizzy_wait"
        elif dizzy:
            prompt_id = "return_dizzy_low" if self._low_hold() else "return_dizzy"
        else:
            prompt_id = "return_pause_low" if self._low_hold() else "return_pause"
        self._say(prompt_id)
        rp = self.program.return_protocol
        self._stage_ends_at = self._now() + rp.pause_s
        self._after(rp.pause_s, self._upright)

    def _upright(self) -> None:
        self._enter(Phase.RETURN_UPRIGHT)
        self._say("return_upright")
        rp = self.program.return_protocol
        self._stage_ends_at = self._now() + rp.upright_s
        self._after(rp.upright_s, self._release)

    def _dizzy(self) -> None:
        self._log("dizzy", phase=self.phase.value)
        self.dizzy = True
        if self.phase is Phase.POST_PAIN:
            # Already off the table: the advice is to sit and rest, not to tilt again.
            self._say("dizzy_after", instruction=False)
            return
        if self.phase in (Phase.DESCEND, Phase.HOLD):
            # Seed 003: if dizziness hits, return to thirty degrees at once and wait it out.
            self._start_return("dizzy")
            return
        self._out.append(CutSpeech())
        self._pause_at_thirty(dizzy=True)

    def _release(self) -> None:
        if self._stuck is not None:
            # Never "release your ankles" to someone who may still be hanging.
            self._awaiting_upright = True
            self._log("awaiting_upright", reason=self._stuck)
            if self._inputs_ended:
                self._give_up_waiting()
                return
            self._say("upright_confirm_ask", urgent=True, instruction=False)
            self._stuck_next_at = self._now() + STUCK_REPEAT_S
            return
        self._say("release")
        self._alert_off()
        self._enter(Phase.POST_PAIN)
        self._ask("pain", "post_pain_ask", pain_phase="after")

    # ---- stuck, or not answering -------------------------------------------------------

    def _become_stuck(self, why: str) -> None:
        self._stuck = why
        self._stuck_next_at = self._now() + STUCK_REPEAT_S
        self._alert_on()

    def _stuck_prompt(self) -> str:
        if self._awaiting_upright or self._stuck != "help":
            return "upright_confirm_ask"
        return "stuck_guidance"

    def _upright_confirmed(self, how: str) -> None:
        self._log("upright_confirmed", how=how, reason=self._stuck)
        self._stuck = None
        self._stuck_next_at = None
        self._alert_off()
        if self._awaiting_upright:
            self._awaiting_upright = False
            self._release()
        elif self.phase in (Phase.RETURN_RISE, Phase.RETURN_PAUSE):
            # Upright sooner than the timings: stay still the full upright time anyway.
            self._upright()

    def _help(self) -> None:
        self._log("help", phase=self.phase.value)
        self._out.append(CutSpeech())
        if self.phase is Phase.POST_PAIN:
            self._alert_on()
            return
        if self.phase in NOT_INVERTED or self.phase in RETURN_PHASES:
            self._become_stuck("help")
            self._say("stuck_guidance", urgent=True)
            return
        self._start_return("help")
        self._become_stuck("help")
        self._say("stuck_guidance")

    def _alert_on(self) -> None:
        self._alerting = True
        self._out.append(Alert("alert", repeat=True))
        self._log("alert", sound="alert")

    def _alert_off(self) -> None:
        if self._alerting:
            self._alerting = False
            self._out.append(Alert("", repeat=False))

    # ---- end -------------------------------------------------------------------------

    def _tell_time(self) -> None:
        now = self._now()
        if self.phase is Phase.HOLD and self._hold_ends_at is not None:
            text = prompts.time_left_text(self._hold_ends_at - now, "in this hold")
        elif self.phase is Phase.DESCEND and self._stage_ends_at is not None:
            text = prompts.time_left_text(self._stage_ends_at - now, "before the hold begins")
        elif self.phase in RETURN_PHASES and self._stage_ends_at is not None:
            text = prompts.time_left_text(self._stage_ends_at - now, "in this step")
        else:
            self._say("no_hold", instruction=False)
            return
        self._say("time_left", text, instruction=False)

    def _after_post_pain(self) -> None:
        if self.dizzy:
            # Seed 003: dizziness lasting over five minutes needs a doctor before the next
            # session; the answer is stored, and the plan holds the next session on it.
            self._ask("passed", "dizzy_passed_ask")
            return
        self._summary_and_end()

    def _dizziness_answered(self, passed: bool | None) -> None:
        self._log("dizziness", passed=passed)
        if not passed:
            self._say("dizzy_after", instruction=False)
        self._summary_and_end()

    def _summary_and_end(self) -> None:
        self._say("summary", prompts.summary_text(self._held_s, self.pain_before,
                                                  self.pain_after))
        self._say("session_done")
        self._finish(self._return_reason)

    def _finish(self, reason: str) -> None:
        self._stuck_next_at = None
        self._alert_off()
        self._enter(Phase.DONE)
        self.end_reason = reason
        self._log("session_end", reason=reason, held_s=round(self._held_s, 3))
        self._out.append(End(reason))
