"""Prompts as lines on the terminal, for `voicecoach start --text`: nothing audible."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from voicecoach.runtime.ports import Playing
from voicecoach.session.prompts import for_typing


class TextSpeaker:
    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console()
        self._alerting = False

    def say(self, prompt_id: str, text: str, *, urgent: bool = False) -> None:
        style = "bold red" if urgent else "bold cyan"
        self._console.print(f"[{style}]coach:[/] {escape(for_typing(text))}")

    def cut(self) -> None:
        """Printed words cannot be taken back; nothing to cut."""

    def duck(self, on: bool) -> None:
        """A typed session does not listen; nothing is ducked."""

    def alert(self, sound: str, repeat: bool = False) -> None:
        # Only the distress alert matters on a screen; the other earcons are audio cues
        # for a listener who cannot see one.
        if sound == "alert" and not self._alerting:
            self._alerting = repeat
            self._console.print("[bold white on red] ALERT [/] "
                                + ("(until the session ends or it is turned off)" if repeat
                                   else ""))
        elif not sound and self._alerting:
            self._alerting = False
            self._console.print("[dim]alert off[/]")

    def now_playing(self) -> Playing | None:
        return None

    def idle(self) -> bool:
        return True

    def close(self) -> None:
        """Nothing to release."""
