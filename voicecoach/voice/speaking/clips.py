"""What a speaker plays: clips of 16 kHz samples, made from prompts or earcons.

`ClipMaker` decides where a prompt's audio comes from, fastest and safest
first: the pre-rendered recording when its text matches, then the render
cache, then the speech engine; if the engine fails, the recording for that
prompt id even if its text differs, else SpeechEngineError.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from voicecoach.voice.pcm import RATE
from voicecoach.voice.speaking.earcons import EARCONS, earcon
from voicecoach.voice.speaking.prerendered import PromptLibrary
from voicecoach.voice.speaking.render import Renderer, SpeechEngineError

logger = logging.getLogger(__name__)

ALERT_PREFIX = "alert:"
"""Earcons show up in now_playing() as prompt id "alert:<sound>" with no text."""
DUCK_GAIN = 0.005
"""The speech's share of its level while the stop spotter suspects a "stop" (-46 dB):
the coach falls silent under the user's word the moment it may be "stop", as a voice
assistant ducks its music for the wake word, and comes back if the judge says it was
not. Alerts are never ducked."""


@dataclass(frozen=True, eq=False)
class Clip:
    prompt_id: str
    text: str
    samples: np.ndarray
    """16 kHz mono int16."""

    @property
    def duration(self) -> float:
        return len(self.samples) / RATE

    @property
    def is_alert(self) -> bool:
        return self.prompt_id.startswith(ALERT_PREFIX)


def alert_clip(sound: str) -> Clip:
    if sound not in EARCONS:
        # A typo must not silence a distress sound: play the alert instead.
        logger.error("unknown earcon %r: playing 'alert'", sound)
        sound = "alert"
    return Clip(f"{ALERT_PREFIX}{sound}", "", earcon(sound))


def scaled(samples: np.ndarray, volume: float) -> np.ndarray:
    """`samples` at `volume` (a share of full scale); the same array at full volume."""
    if volume == 1.0:
        return samples
    return np.round(samples.astype(np.float32) * volume).astype(np.int16)


class ClipMaker:
    """volume: the speech's share of full scale (`start --volume`). Applied here, when a
    clip is made, rather than when rendering: the pre-rendered prompts and the speech
    cache stay valid whatever the volume, and every part of a session (the device, the
    echo canceller's reference, the own-voice gate) sees the clip as it sounds."""

    def __init__(self, renderer: Renderer | None, library: PromptLibrary | None,
                 volume: float = 1.0) -> None:
        self.renderer = renderer
        self.library = library
        self.volume = volume

    def ready(self, prompt_id: str, text: str) -> Clip | None:
        """The clip if it needs no speech engine (pre-rendered, or cached on disk)."""
        samples = self.library.lookup(prompt_id, text) if self.library else None
        if samples is None and self.renderer is not None:
            samples = self.renderer.cached(text)
        return None if samples is None else self._clip(prompt_id, text, samples)

    def _clip(self, prompt_id: str, text: str, samples: np.ndarray) -> Clip:
        return Clip(prompt_id, text, scaled(samples, self.volume))

    def make(self, prompt_id: str, text: str) -> Clip:
        clip = self.ready(prompt_id, text)
        if clip is not None:
            return clip
        try:
            if self.renderer is None:
                raise SpeechEngineError("no speech engine configured")
            return self._clip(prompt_id, text, self.renderer.render(text))
        except SpeechEngineError as exc:
            samples = self.library.fallback(prompt_id) if self.library else None
            if samples is None:
                raise
            logger.warning("speech engine failed (%s): playing the recorded %s", exc, prompt_id)
            return self._clip(prompt_id, text, samples)
