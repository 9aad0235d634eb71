"""Where speech starts and stops: frame energy against a tracked noise floor.

The threshold is relative to the background, so a quiet speaker on a quiet
line and a loud one over a fan both open a segment; only frames below an
absolute floor (digital silence, a muted microphone) never count as speech.
The decoder normalises level itself (cepstral mean), so no gain is applied.
"""

from __future__ import annotations

import enum
from collections import deque

import numpy as np

from voicecoach.voice.hearing.settings import HearingSettings

FRAME_SAMPLES = 160
"""10 ms at 16 kHz."""


class Edge(enum.Enum):
    NONE = 0
    OPEN = 1
    CLOSE = 2


def frame_db(frame: np.ndarray) -> float:
    """Energy of one frame in dB of int16 mean square (0 dB for digital silence)."""
    samples = frame.astype(np.float64)
    return float(10.0 * np.log10(np.mean(samples * samples) + 1.0))


class Segmenter:
    """Feeds on 10 ms frames; says when a speech segment opens and when it closes."""

    def __init__(self, settings: HearingSettings) -> None:
        self.settings = settings
        self._rise_per_frame = settings.floor_rise_db_per_s * FRAME_SAMPLES / 16000
        self._hangover = max(1, round(settings.hangover_s * 100))
        self._max_frames = max(1, round(settings.max_segment_s * 100))
        self.reset()

    def reset(self) -> None:
        self.floor: float | None = None
        self.in_speech = False
        self._recent: deque[bool] = deque(maxlen=self.settings.start_window)
        self._quiet_run = 0
        self._length = 0

    @property
    def pause_frames(self) -> int:
        """Frames of pause since the last speech frame of the open segment (0 outside one)."""
        return self._quiet_run if self.in_speech else 0

    def push(self, frame: np.ndarray) -> Edge:
        s = self.settings
        level = frame_db(frame)
        if self.floor is None or level < self.floor:
            self.floor = level
        else:
            self.floor += self._rise_per_frame
        loud = level >= max(self.floor + s.vad_on_db, s.vad_min_level_db)
        if not self.in_speech:
            self._recent.append(loud)
            if sum(self._recent) >= s.start_frames:
                self.in_speech = True
                self._quiet_run = 0
                self._length = len(self._recent)
                self._recent.clear()
                return Edge.OPEN
            return Edge.NONE
        self._length += 1
        pause = level < max(self.floor + s.vad_off_db, s.vad_min_level_db)
        self._quiet_run = self._quiet_run + 1 if pause else 0
        if self._quiet_run >= self._hangover or self._length >= self._max_frames:
            self.in_speech = False
            return Edge.CLOSE
        return Edge.NONE
