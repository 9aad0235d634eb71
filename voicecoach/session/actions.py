"""What the engine asks the outside world to do. The runner carries them out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Say:
    """Speak a prompt. `prompt_id` names fixed prompts (pre-rendered in audio_prompts/)."""

    prompt_id: str
    text: str
    urgent: bool = False
    """Urgent prompts cut whatever is being spoken before they start."""


@dataclass(frozen=True)
class CutSpeech:
    """Silence the prompt being spoken now, within one playback chunk."""


@dataclass(frozen=True)
class Alert:
    """An attention sound (earcon) by name: "alert", "listening", "heard", "not_understood"."""

    sound: str
    repeat: bool = False
    """Repeat until another Alert or the end of the session (used for distress)."""


@dataclass(frozen=True)
class Log:
    """An entry for the session log (SQLite and the --events file)."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class End:
    """The session is over."""

    reason: str
    """"completed", or why it ended early: "stop", "pain_rise", "no_answer", ..."""

    @property
    def exit_code(self) -> int:
        return 0 if self.reason == "completed" else 1


Action = Say | CutSpeech | Alert | Log | End
