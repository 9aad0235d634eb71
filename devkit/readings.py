"""Seeing what the recogniser reads, for fitting its rules (lab/fit_stop_rule.py,
lab/eval_answers.py) and for tests of how often it reads: a Recogniser that shows every
Whisper reading before the rules decide on it, and a stop rule that takes no stop, so
that every segment is read to its end."""

from __future__ import annotations

import math
from collections.abc import Callable

from voicecoach.voice.hearing import Recogniser
from voicecoach.voice.hearing.settings import HearingSettings, StopRule
from voicecoach.voice.hearing.whisper_reader import Reading

NEVER_STOP = StopRule(probe=math.inf, sure=math.inf)
"""No score reaches an infinite probe threshold or an infinite sureness: no reading says
anything of "stop", not even a transcript that writes it."""

ReadingSeen = Callable[[Reading, float, bool], None]
"""Called with each reading, the spotter's highest score in the segment so far, and
whether it is the segment's closing reading; the reading ends at the recogniser's now."""


class ReadingRecogniser(Recogniser):
    """The product's Recogniser, unchanged, that also shows each reading to `seen`.

    It reaches into the recogniser's reading step on purpose: the product keeps no hook
    that only fitting uses, so the one place that depends on its insides is here."""

    def __init__(self, settings: HearingSettings | None = None,
                 seen: ReadingSeen | None = None) -> None:
        self.seen = seen
        super().__init__(settings)

    def _read(self, segment: list[bytes], *, last: bool) -> Reading:
        reading = super()._read(segment, last=last)
        if self.seen is not None:
            self.seen(reading, self._spot_max, last)
        return reading
