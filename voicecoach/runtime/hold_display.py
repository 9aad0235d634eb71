"""The text mode's live view: prompts as lines, and a countdown bar during the hold."""

from __future__ import annotations

import math

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn

from voicecoach.session.actions import Action, Log
from voicecoach.session.clock import Clock


class HoldDisplay:
    """Watches the engine's log and shows a live countdown bar while a hold runs.

    Only on a real terminal: piped output gets the plain prompt lines alone.
    """

    def __init__(self, console: Console, clock: Clock) -> None:
        self._console = console
        self._clock = clock
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._started = 0.0
        self._duration = 0.0

    def __call__(self, action: Action) -> None:
        if not isinstance(action, Log) or not self._console.is_terminal:
            return
        if action.type == "hold_started":
            self._start(float(action.data["duration_s"]))
        elif action.type in ("hold_ended", "return_started", "session_end"):
            self.close()

    def _start(self, duration_s: float) -> None:
        self.close()
        self._started = self._clock.now()
        self._progress = Progress(
            TextColumn("[bold]hold"), BarColumn(), TextColumn("{task.fields[left]} left"),
            TextColumn("[dim](type stop, or press Enter, to come up)"),
            console=self._console, transient=True, auto_refresh=False,
        )
        self._duration = duration_s
        self._task = self._progress.add_task("hold", total=duration_s, left="")
        self._progress.start()

    def refresh(self) -> None:
        """Called by the loop a few times a second; cheap when no hold runs."""
        if self._progress is not None and self._task is not None:
            elapsed = min(self._clock.now() - self._started, self._duration)
            left = math.ceil(self._duration - elapsed)
            self._progress.update(self._task, completed=elapsed,
                                  left=f"{left // 60}:{left % 60:02d}")
            self._progress.refresh()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._task = None
