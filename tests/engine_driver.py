"""Drives the pure engine on a FakeClock: ticks at every deadline, injects scripted events."""

from __future__ import annotations

from dataclasses import dataclass, field

from voicecoach.protocol.program import Program
from voicecoach.session.actions import Action, CutSpeech, End, Log, Say
from voicecoach.session.clock import FakeClock
from voicecoach.session.engine import Engine, EngineSettings
from voicecoach.session.events import Event, SpeechIdle, Tick


@dataclass
class Run:
    engine: Engine
    clock: FakeClock
    actions: list[tuple[float, Action]] = field(default_factory=list)

    def says(self, prompt_id: str | None = None) -> list[tuple[float, str]]:
        return [(t, a.prompt_id if prompt_id is None else a.text) for t, a in self.actions
                if isinstance(a, Say) and (prompt_id is None or a.prompt_id == prompt_id)]

    def logs(self, type_: str) -> list[tuple[float, dict]]:
        return [(t, a.data) for t, a in self.actions if isinstance(a, Log) and a.type == type_]

    @property
    def end(self) -> End:
        ends = [a for _, a in self.actions if isinstance(a, End)]
        assert len(ends) == 1, ends
        return ends[0]


def drive(program: Program, settings: EngineSettings, script: list[tuple[float, Event]] = (),
          until: float = 24 * 3600, prompt_s: float = 0.0) -> Run:
    """Run the engine to its end; each scripted event is handled at exactly its time.

    The speaker says each prompt in `prompt_s` seconds, one after another (0: at once), a
    cut silences it, and SpeechIdle is sent the moment it has finished while a question
    waits for it, as the runners do.
    """
    clock = FakeClock()
    engine = Engine(program, clock, settings)
    run = Run(engine, clock)
    busy_until = 0.0

    def take(actions: list[Action]) -> None:
        nonlocal busy_until
        for a in actions:
            run.actions.append((clock.now(), a))
            if isinstance(a, CutSpeech):
                busy_until = clock.now()
            elif isinstance(a, Say):
                busy_until = max(busy_until, clock.now()) + prompt_s

    take(engine.start())
    pending = sorted(script, key=lambda x: x[0])
    while not engine.done and clock.now() < until:
        if engine.waiting_for_quiet and clock.now() >= busy_until:
            take(engine.handle(SpeechIdle()))
            continue
        deadline = engine.next_deadline()
        if engine.waiting_for_quiet:
            deadline = busy_until if deadline is None else min(deadline, busy_until)
        if pending and (deadline is None or pending[0][0] <= deadline):
            t, event = pending.pop(0)
            clock.set(max(t, clock.now()))
            take(engine.handle(event))
            take(engine.handle(Tick()))
            continue
        assert deadline is not None, f"engine stuck in {engine.phase}"
        clock.set(max(deadline, clock.now()))
        take(engine.handle(Tick()))
    return run
