"""When a microphone chunk was heard, on the session clock."""

from __future__ import annotations

from voicecoach.session.clock import Clock
from voicecoach.voice.pcm import RATE


class HeardTimeline:
    """Counts a microphone's samples from its first chunk, anchored to a clock.

    Counted rather than read off the clock at delivery: if the reader falls behind for a
    moment, the chunks still carry the time they were spoken, which is what an echo
    canceller's reference (what was played, and when) has to line up with.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._anchor: float | None = None
        self._samples = 0

    def chunk_end(self, samples: int, dropped: int = 0) -> float:
        """The end of a chunk of `samples` just delivered, `dropped` samples lost so far
        (they took time too)."""
        now = self._clock.now()
        self._samples += samples
        elapsed = (self._samples + dropped) / RATE
        if self._anchor is None:
            self._anchor = now - elapsed
        heard_at = self._anchor + elapsed
        if heard_at > now:  # never in the future: the clock is the truth
            self._anchor -= heard_at - now
            heard_at = now
        return heard_at
