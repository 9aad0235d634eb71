"""What the runner needs from the voice side, as structural interfaces.

The voice package implements these; the runner never imports a device module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Playing:
    prompt_id: str
    text: str
    started_at: float
    ends_at: float
    samples: Any = field(default=None, compare=False, repr=False)
    """The exact 16 kHz int16 samples being played (a numpy array), when the speaker has
    them: the reference that tells the coach's echo from the user's voice."""


class Speaker(Protocol):
    def say(self, prompt_id: str, text: str, *, urgent: bool = False) -> None: ...

    def cut(self) -> None: ...

    def duck(self, on: bool) -> None:
        """Speech at DUCK_GAIN from now while `on`; a cut also ends it. Alerts are never
        ducked."""
        ...

    def alert(self, sound: str, repeat: bool = False) -> None: ...

    def now_playing(self) -> Playing | None: ...

    def idle(self) -> bool: ...

    def close(self) -> None: ...


class Detection(Protocol):
    """A command heard; read-only, as the recogniser's own (frozen) Detection is."""

    @property
    def t_end(self) -> float: ...

    @property
    def word(self) -> str: ...

    @property
    def confidence(self) -> float: ...

    @property
    def transcript(self) -> str: ...


class Recogniser(Protocol):
    # Sequence, not list: a list of the recogniser's own Detection is a Sequence of this
    # port's (list is invariant, Sequence is not).
    def feed(self, pcm: bytes) -> Sequence[Detection]: ...

    def flush(self) -> Sequence[Detection]: ...

    def check(self) -> None: ...

    def revive(self) -> None: ...

    def expect(self, what: str) -> None: ...

    @property
    def stop_suspected(self) -> bool:
        """The open segment may be "stop" (the spotter's cue), not yet decided."""
        ...
