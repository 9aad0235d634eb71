"""What the engine is fed: everything that happens outside it, as plain values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Heard:
    """A command word recognised (by voice, or typed in text mode)."""

    word: str
    """Canonical command word from voicecoach.session.commands.VOCABULARY."""
    confidence: float = 1.0
    """0..1; typed input is 1.0."""
    transcript: str = ""
    """What the recogniser or the keyboard actually produced, logged beside the word."""


@dataclass(frozen=True)
class Unrecognised:
    """Speech or typing that is not a command (out of vocabulary, or a number out of range)."""

    transcript: str


@dataclass(frozen=True)
class Key:
    """A key press: "stop" (space, enter or s) or a digit."""

    key: str


@dataclass(frozen=True)
class Tick:
    """Time has moved on: the engine checks its deadlines against its Clock."""


@dataclass(frozen=True)
class DeviceLost:
    """The microphone, the recogniser or the speech output failed."""

    device: str
    """"microphone", "recogniser" or "speech"."""
    detail: str = ""


@dataclass(frozen=True)
class InputEnded:
    """Every input has ended for good (the audio file or the typed script ran out): nobody
    can answer any more. Sent by the simulated runner; a live microphone never ends so."""


@dataclass(frozen=True)
class SpeechIdle:
    """The speaker has finished everything it was given: nothing sounds, nothing is queued.
    A question's answer window opens on it, so the user answers into a quiet room."""


Event = Heard | Unrecognised | Key | Tick | DeviceLost | InputEnded | SpeechIdle
