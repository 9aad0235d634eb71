"""The stop probe: whether the audio Whisper just read ends in "stop", from Whisper's encoder.

Whisper's decoder writes the likeliest English, and gives a word it did not
expect little probability: the stop rule (settings.StopRule) has to take a
faint nod from it, twice, with the spotter's cue, to hear a stop said over a
television. Lively talk earns that nod too: loud exclamations after a pause
("Ah!", "What?!", "Don't!") come at about 30 an hour in the acted talk of the
development set. The encoder's output, before the decoder's language has
weighed in, still holds how the audio sounds. A straight line through it (a
logistic regression over the mean of its last 0.4 s, 384 numbers, fitted by
lab/fit_stop_rule.py on the development set's readings) tells a stop
from those exclamations far better than the decoder's probability does; the
rule asks it to agree before a reading counts for "stop" (README: figures).

It costs nothing at run time: the judge encodes once and decodes from that,
and the probe is one dot product in the recogniser's process.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicecoach.voice.hearing.errors import HearingSetupError

PROBE_FILE = Path(__file__).parent / "models" / "stop_probe.npz"


@dataclass(frozen=True)
class StopProbe:
    """A logistic regression over standardised `Reading.ending` vectors."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    @classmethod
    def load(cls, path: Path | None = None) -> StopProbe:
        path = path or PROBE_FILE
        try:
            with np.load(path) as saved:
                return cls(saved["mean"], saved["scale"], saved["weights"],
                           float(saved["bias"]))
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise HearingSetupError(f"the stop probe did not load from {path}: {exc}") from exc

    def save(self, path: Path) -> None:
        np.savez(path, mean=self.mean, scale=self.scale, weights=self.weights,
                 bias=np.array(self.bias))

    def score(self, ending: np.ndarray | None) -> float:
        """The logit that the audio ends in "stop" (0 is even odds). A reading that was not
        encoded (made by hand) has no ending: then the probe has no say, and scores inf."""
        if ending is None:
            return math.inf
        return float(((ending - self.mean) / self.scale) @ self.weights + self.bias)
