"""What a sound card played, as the echo canceller's reference on a live microphone.

A device speaker says which clip sounds and from when (`now_playing()`, re-timed
from the device's own count when the machine stalls); this log keeps the last
few seconds of those clips and gives back their samples over any span of the
session clock, as the microphone's chunks arrive.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from voicecoach.runtime.ports import Playing, Speaker
from voicecoach.voice.pcm import RATE

KEEP_S = 3.0
LEAD_S = 0.04
"""The reference is read this much ahead of the speaker's own timing, so that an echo
reaching the microphone a little before the speaker's estimate (its output latency
over-counted) still comes after its reference: the canceller can only model a delay,
never an echo that leads. The filter's length covers the lag this leaves."""


class PlaybackLog:
    def __init__(self, speaker: Speaker, *, lead_s: float = LEAD_S) -> None:
        self._speaker = speaker
        self._lead = round(lead_s * RATE)
        self._recent: list[Playing] = []

    def observe(self, now: float) -> None:
        playing = self._speaker.now_playing()
        last = self._recent[-1] if self._recent else None
        if last is not None and (playing is None or playing.samples is not last.samples) \
                and last.ends_at > now:
            # No longer sounding before its end: it was cut. Nothing after now is played.
            self._recent[-1] = replace(last, ends_at=now)
        if playing is None or playing.samples is None:
            return
        if self._recent and self._recent[-1].samples is playing.samples \
                and self._recent[-1].started_at <= playing.started_at < self._recent[-1].ends_at:
            self._recent[-1] = playing  # the same clip, re-timed after a stall
        elif not self._recent or self._recent[-1] != playing:
            self._recent.append(playing)

    def reference(self, start: int, end: int) -> np.ndarray:
        """The samples played over [start, end) of the session clock (16 kHz samples)."""
        self.observe(end / RATE)
        out = np.zeros(max(0, end - start), dtype=np.int32)
        start, end = start + self._lead, end + self._lead
        for p in self._recent:
            first = round(p.started_at * RATE)
            last = min(first + len(p.samples), round(p.ends_at * RATE))
            lo, hi = max(start, first), min(end, last)
            if lo < hi:
                out[lo - start: hi - start] += p.samples[lo - first: hi - first]
        keep_from = end / RATE - KEEP_S
        self._recent = [p for p in self._recent if p.ends_at >= keep_from]
        return np.clip(out, -32768, 32767).astype(np.int16)
