"""From the judge's verdict to calibrated 0..1 confidences.

Two logistic models, fitted by `scripts/fit_confidence.py` on what the live
pipeline itself produced (every check the Recogniser made, early and at the
end of a segment) over real-voice clips and long stretches of talk without a
command
(fitted on /work/shared/audio, 1530 clips, plus 17 minutes of its no-command
clips joined into continuous talk, with the pause check and the two search
processes of the live loop; 2-fold cross-validation by speaker gave the same
figures within 2 points):

- word: the probability that the grammar's best word is the word said;
- stop: the probability that "stop" was said, from the stop-only search
  (how well "stop" explains its best place against the phone loop) together
  with what the full grammar chose. "stop" is decided by this model alone, so
  a stop heard as "no" by the grammar can still be caught.
"""

from __future__ import annotations

import math

from voicecoach.voice.hearing import vocabulary
from voicecoach.voice.hearing.judge import Features, Verdict

WORD_COEFFICIENTS = (0.8471, -4.0205, -0.4793, 0.1333, -3.8375)
"""For (ratio, silence inside, speech outside (s), ln frames, speech in the stretch (s))."""
WORD_BIAS = 3.7321

STOP_COEFFICIENTS = (0.8816, 2.8551, -0.2975, -2.4112, -1.8864, -2.1974, 0.7670)
"""For (stop ratio, grammar chose stop (0/1), best ratio - stop ratio, silence inside,
speech outside (s), ln frames, speech in the stretch (s))."""
STOP_BIAS = 8.7773


def word_vector(top: Features, verdict: Verdict) -> tuple[float, ...]:
    return (top.ratio, top.silence_inside, top.speech_outside,
            math.log(max(top.frames, 1)), verdict.speech)


def stop_vector(verdict: Verdict) -> tuple[float, ...] | None:
    stop, top = verdict.stop, verdict.top
    if stop is None:
        return None
    chose_stop = 1.0 if top is not None and vocabulary.canonical_of(top.name) == "stop" else 0.0
    margin = (top.ratio - stop.ratio) if top is not None else 0.0
    return (stop.ratio, chose_stop, margin, stop.silence_inside, stop.speech_outside,
            math.log(max(stop.frames, 1)), verdict.speech)


def _logistic(bias: float, coefficients: tuple[float, ...], x: tuple[float, ...]) -> float:
    z = bias + sum(c * v for c, v in zip(coefficients, x, strict=True))
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def word_confidence(verdict: Verdict) -> float:
    if verdict.top is None:
        return 0.0
    return _logistic(WORD_BIAS, WORD_COEFFICIENTS, word_vector(verdict.top, verdict))


def stop_confidence(verdict: Verdict) -> float:
    x = stop_vector(verdict)
    return 0.0 if x is None else _logistic(STOP_BIAS, STOP_COEFFICIENTS, x)
