"""Drives the pure engine on a FakeClock: ticks at every deadline, injects scripted events."""

from __future__ import annotations

from dataclasses import dataclass, field

from voicecoach.protocol.program import Program
from voicecoach.session.actions import Action, End, Log, Say
from voicecoach.session.clock import FakeClock
from voicecoach.session.engine import Engine, EngineSettings
from voicecoach.session.events import Event, Tick


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
          until: float = 24 * 3600) -> Run:
    """Run the engine to its end; each scripted event is handled at exactly its time."""
    clock = FakeClock()
    engine = Engine(program, clock, settings)
    run = Run(engine, clock)
    run.actions += [(0.0, a) for a in engine.start()]
    pending = sorted(script, key=lambda x: x[0])
    while not engine.done and clock.now() < until:
        deadline = engine.next_deadline()
        if pending and (deadline is None or pending[0][0] <= deadline):
            t, event = pending.pop(0)
            clock.set(max(t, clock.now()))
            run.actions += [(clock.now(), a) for a in engine.handle(event)]
            run.actions += [(clock.now(), a) for a in engine.handle(Tick())]
            continue
        assert deadline is not None, f"engine stuck in {engine.phase}"
        clock.set(deadline)
        run.actions += [(clock.now(), a) for a in engine.handle(Tick())]
    return run
