"""Where speech starts and stops: energy against a tracked noise floor.

The threshold is relative to the background, so a quiet speaker on a quiet
line and a loud one over a fan both open a segment; only frames below an
absolute floor (digital silence, a muted microphone) never count as speech.
The decoder normalises level itself (cepstral mean), so no gain is applied.

Real rooms flicker: the background of a recording made over a fan moves by
10 dB from one 10 ms frame to the next. Against its quietest frame, every
louder frame looked like speech: segments opened on the room alone and closed
only at their 3 s limit, so a "stop" said there waited up to 3 s to be checked.
So the energy is averaged over a few frames, and the floor is a low percentile
of the last seconds' levels rather than their minimum.
"""

from __future__ import annotations

import enum
import math
from collections import deque

import numpy as np

from voicecoach.voice.hearing.settings import HearingSettings

FRAME_SAMPLES = 160
"""10 ms at 16 kHz."""


class Edge(enum.Enum):
    NONE = 0
    OPEN = 1
    CLOSE = 2


_FLOOR_EVERY_FRAMES = 10
"""The floor (a percentile of 200 levels) is taken every 100 ms, not every 10 ms frame: a
tenth of the cost while listening to silence, and a floor that follows the room over
seconds loses nothing by it."""


class Segmenter:
    """Feeds on 10 ms frames; says when a speech segment opens and when it closes."""

    def __init__(self, settings: HearingSettings) -> None:
        self.settings = settings
        self._level_frames = max(1, round(settings.level_window_s * 100))
        self._floor_frames = max(1, round(settings.floor_window_s * 100))
        self._hangover = max(1, round(settings.hangover_s * 100))
        self._max_frames = max(1, round(settings.max_segment_s * 100))
        self.reset()

    def reset(self) -> None:
        self.floor: float | None = None
        self._powers: deque[float] = deque(maxlen=self._level_frames)
        self._levels: deque[float] = deque(maxlen=self._floor_frames)
        self._frames_seen = 0
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
        samples = frame.astype(np.float64)
        self._powers.append(float(np.mean(samples * samples)))
        level = 10.0 * math.log10(sum(self._powers) / len(self._powers) + 1.0)
        self._levels.append(level)
        self._frames_seen += 1
        if self._frames_seen <= _FLOOR_EVERY_FRAMES or self._frames_seen % _FLOOR_EVERY_FRAMES == 0:
            self.floor = float(np.percentile(self._levels, s.floor_percentile))
        assert self.floor is not None
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
