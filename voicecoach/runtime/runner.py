"""Drives the engine: one thread, one event queue, and the adapters around it.

Two loops share the same dispatch:

- `run_live`: real time. Input threads (microphone, keyboard, typed lines)
  post events to a queue; the loop waits on the queue until the engine's next
  deadline, so holds end on time whatever is being said.
- `run_simulated`: a FakeClock that moves with the audio file, or jumps to the
  next deadline. The same session, as fast as the machine can go (`--fast`).
"""

from __future__ import annotations

import logging
import queue
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from voicecoach.runtime.hearing_link import HearingLink
from voicecoach.runtime.ports import Recogniser, Speaker
from voicecoach.runtime.recorder import SessionRecorder
from voicecoach.session.actions import Action, Alert, CutSpeech, End, Log, Say
from voicecoach.session.clock import Clock, FakeClock
from voicecoach.session.engine import Engine
from voicecoach.session.events import Event, InputEnded, SpeechIdle, Tick
from voicecoach.voice.pcm import RATE, SAMPLE_WIDTH

logger = logging.getLogger(__name__)

CHUNK_S = 0.03
"""Microphone audio arrives in 30 ms chunks: short enough to catch "stop" at once."""

IDLE_WAIT_S = 0.25
"""Longest wait on the queue with no deadline, so the loop notices the engine finishing."""
QUIET_POLL_S = 0.02
"""While a question waits for the speaker to finish, how often the loop asks it."""


@dataclass
class Dispatch:
    """Carries out the engine's actions."""

    clock: Clock
    speaker: Speaker
    recorder: SessionRecorder
    on_action: Callable[[Action], None] | None = None
    """Extra observer (the text mode's hold display)."""

    def quiet_now(self, engine: Engine) -> End | None:
        """Open a question's answer window if the speaker has finished saying it."""
        if engine.waiting_for_quiet and self.speaker.idle():
            return self(engine.handle(SpeechIdle()))
        return None

    def __call__(self, actions: Iterable[Action]) -> End | None:
        # What the user hears comes first: a cut, a prompt or an alert never waits behind
        # the commits and fsyncs of the events logged in the same step. The logs follow,
        # in their own order, all stamped with the moment the step was taken.
        now = self.clock.now()
        end = None
        logs: list[Log] = []
        for action in actions:
            if isinstance(action, Log):
                logs.append(action)
                continue
            if isinstance(action, Say):
                self.speaker.say(action.prompt_id, action.text, urgent=action.urgent)
            elif isinstance(action, CutSpeech):
                self.speaker.cut()
            elif isinstance(action, Alert):
                self.speaker.alert(action.sound, repeat=action.repeat)
            elif isinstance(action, End):
                end = action
            if self.on_action is not None:
                self.on_action(action)
        for log in logs:
            self.recorder.write(now, log.type, log.data)
            if self.on_action is not None:
                self.on_action(log)
        return end


def _tell_recogniser(engine: Engine, recogniser: Recogniser | None) -> None:
    if recogniser is not None:
        awaiting = engine.awaiting
        recogniser.expect({"number": "number", "confirm": "confirm"}.get(awaiting or "", "any"))


class LiveRunner:
    """The real-time loop. Input threads call `post`; `run` owns the engine."""

    def __init__(self, engine: Engine, clock: Clock, dispatch: Dispatch,
                 recogniser: Recogniser | None = None,
                 on_wake: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.on_wake = on_wake
        self.clock = clock
        self.dispatch = dispatch
        self.recogniser = recogniser
        self._queue: queue.Queue[Event] = queue.Queue()

    def post(self, event: Event) -> None:
        self._queue.put(event)

    def run(self) -> End:
        end = self.dispatch(self.engine.start())
        while end is None:
            deadline = self.engine.next_deadline()
            wait = IDLE_WAIT_S if deadline is None else max(0.0, deadline - self.clock.now())
            if self.engine.waiting_for_quiet:
                wait = min(wait, QUIET_POLL_S)
            try:
                event: Event = self._queue.get(timeout=min(wait, IDLE_WAIT_S))
            except queue.Empty:
                event = Tick()
            end = self.dispatch(self.engine.handle(event))
            if end is None and not isinstance(event, Tick):
                end = self.dispatch(self.engine.handle(Tick()))
            end = end or self.dispatch.quiet_now(self.engine)
            _tell_recogniser(self.engine, self.recogniser)
            if self.on_wake is not None:
                self.on_wake()
        return end


def run_simulated(engine: Engine, clock: FakeClock, dispatch: Dispatch, *,
                  audio: Iterator[bytes] | None = None,
                  link: HearingLink | None = None,
                  lines: deque[Event] | None = None,
                  inbox: deque[Event] | None = None,
                  quiet_at: Callable[[], float] | None = None,
                  max_s: float = 6 * 3600) -> End:
    """Run a session on a FakeClock, as fast as the machine can.

    With `audio`, the clock follows the audio timeline chunk by chunk: each chunk goes
    through `link` (echo, canceller, recogniser, gate) once the clock stands at its
    end, so everything played before it is final, and what it hears is handled
    there. `link.post` is replaced by this loop's own. With `lines`, each scripted
    input answers the next question the engine asks. When both run out, the clock
    jumps from deadline to deadline. `inbox` takes events that adapters report on
    their own (a speech engine failing), handled at once. `quiet_at`: when the speaker
    will have finished what it was given (clock time), so that with no input left the
    clock can jump to where a question's answer window opens.
    """
    heard: deque[Event] = deque()
    if link is not None:
        link.post = heard.append
    end = dispatch(engine.start())
    chunk_t = 0.0
    told_ended = False
    while end is None:
        if clock.now() > max_s:
            raise RuntimeError("simulated session ran past its limit")
        if inbox:
            end = dispatch(engine.handle(inbox.popleft()))
            continue
        if heard:
            end = dispatch(engine.handle(heard.popleft()))
            continue
        if engine.waiting_for_quiet and dispatch.speaker.idle():
            end = dispatch.quiet_now(engine)
            continue
        if audio is not None and link is not None:
            chunk = next(audio, None)
            if chunk is None:
                audio = None
                link.flush()
                continue
            chunk_t += len(chunk) / SAMPLE_WIDTH / RATE
            # Deadlines inside this chunk fire at their own time, not at its end.
            while end is None and (due := engine.next_deadline()) is not None and due < chunk_t:
                clock.set(max(clock.now(), due))
                end = dispatch(engine.handle(Tick()))
            if end is not None:
                break
            clock.set(max(clock.now(), chunk_t))
            link.on_chunk(chunk)
            while heard and end is None:
                end = dispatch(engine.handle(heard.popleft()))
            end = end or dispatch(engine.handle(Tick()))
            _tell_recogniser(engine, link.recogniser)
            continue
        if lines and engine.awaiting is not None:
            end = dispatch(engine.handle(lines.popleft()))
            end = end or dispatch(engine.handle(Tick()))
            continue
        if not told_ended and not lines and (audio is None or link is None):
            # Nothing more will ever be heard or typed: a wait for the user ends.
            told_ended = True
            end = dispatch(engine.handle(InputEnded()))
            continue
        deadline = engine.next_deadline()
        if engine.waiting_for_quiet and quiet_at is not None:
            deadline = min(deadline if deadline is not None else quiet_at(), quiet_at())
        if deadline is None:
            raise RuntimeError(f"engine is waiting in phase {engine.phase.value} with no deadline")
        clock.set(max(clock.now(), deadline))
        end = dispatch(engine.handle(Tick()))
    return end
