"""Short attention sounds, made with numpy (no files, nothing to render).

- "listening": two rising notes, the coach waits for an answer.
- "heard": one short bright note, an answer was taken.
- "not_understood": two falling notes.
- "alert": a loud two-tone siren phrase, for distress (repeated until turned off).
- "sweep": a tone rising from 200 Hz to 6 kHz in 1.2 s at the level of the coach's
  speech, for `doctor` to measure the echo path (voice/echo/path.py).
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from voicecoach.voice.pcm import RATE, to_int16

FADE_S = 0.008
"""Ramp at each end of a note, so notes start and stop without a click."""


def _faded(length: int) -> np.ndarray:
    """An envelope of `length` samples, FADE_S up and down at its ends."""
    envelope = np.ones(length)
    ramp = int(FADE_S * RATE)
    envelope[:ramp] = np.linspace(0, 1, ramp)
    envelope[-ramp:] = np.linspace(1, 0, ramp)
    return envelope


def _note(freq: float, seconds: float, level: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    # A touch of the octave makes small laptop speakers carry the note better.
    wave = np.sin(2 * np.pi * freq * t) + 0.25 * np.sin(4 * np.pi * freq * t)
    return wave / 1.25 * _faded(len(t)) * level * 32767


def _gap(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE))


SWEEP_RMS = 3400.0
"""The coach's speech level: the median RMS of the pre-rendered prompts over their
spoken parts (-19.7 dBFS), so that the sweep's echo is as loud as the coach's own."""


def _sweep(seconds: float = 1.2, low: float = 200.0, high: float = 6000.0) -> np.ndarray:
    """A logarithmic sweep: it correlates with itself at one lag only, so its echo's delay
    stands out even through a reverberant room."""
    t = np.arange(int(seconds * RATE)) / RATE
    growth = math.log(high / low)
    phase = 2 * np.pi * low * seconds / growth * (np.exp(t / seconds * growth) - 1)
    return np.sin(phase) * _faded(len(t)) * SWEEP_RMS * math.sqrt(2)


@cache
def _make(name: str) -> np.ndarray:
    if name == "listening":
        parts = [_note(660, 0.09, 0.35), _gap(0.03), _note(880, 0.12, 0.35)]
    elif name == "heard":
        parts = [_note(1320, 0.08, 0.3)]
    elif name == "not_understood":
        parts = [_note(520, 0.12, 0.35), _gap(0.04), _note(390, 0.18, 0.35)]
    elif name == "alert":
        parts = []
        for _ in range(3):
            parts += [_note(988, 0.16, 0.8), _note(740, 0.16, 0.8)]
    elif name == "sweep":
        parts = [_sweep()]
    else:
        raise ValueError(f"unknown earcon '{name}'; known: {', '.join(EARCONS)}")
    return to_int16(np.concatenate(parts))


EARCONS = ("listening", "heard", "not_understood", "alert", "sweep")


def earcon(name: str) -> np.ndarray:
    """16 kHz mono int16 samples of a named earcon (a read-only array)."""
    samples = _make(name)
    samples.flags.writeable = False
    return samples
