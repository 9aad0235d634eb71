"""From the judge's features to a calibrated 0..1 confidence.

A logistic model: the probability that the word named is the word said,
fitted on the real-voice clips of /work/shared/audio (1530 clips, 170+
speakers; every clip decoded whole by `judge`, target 1 when the grammar's
word matched the label, 0 otherwise, clips holding no command included).
Refit with `scripts/fit_confidence.py` after changing the vocabulary or the
decoder set-up.
"""

from __future__ import annotations

import math

from voicecoach.voice.hearing.judge import Features

# Coefficients for (score ratio per frame, silence inside, speech outside (s), ln frames).
COEFFICIENTS = (1.3843, 0.3570, -0.6541, -0.3451)
BIAS = 6.5735


def confidence(features: Features) -> float:
    x = (features.ratio, features.silence_inside, features.speech_outside,
         math.log(max(features.frames, 1)))
    z = BIAS + sum(c * v for c, v in zip(COEFFICIENTS, x, strict=True))
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))
