"""From the judge's verdict to calibrated 0..1 confidences.

Two logistic models, fitted by `scripts/fit_confidence.py` on what the live
pipeline itself produced (every check the Recogniser made, early and at the
end of a segment) over real-voice clips and long stretches of talk without a
command (fitted on /work/shared/audio, 1530 clips, each heard over its own room
tone as `voicecoach eval` hears it, plus 17 minutes of its no-command clips
joined into continuous talk; 2-fold cross-validation by speaker gave the same
figures within 2 points):

- word: the probability that the grammar's best word is the word said;
- stop: the probability that "stop" was said, from the stop-only search
  (how well "stop" explains its best place against the phone loop) together
  with what the full grammar chose and what the phone loop heard there. "stop"
  is decided by this model alone, so a stop heard as "no" by the grammar can
  still be caught.

The phone loop's transcript of a real "stop" is rough ("TH OW", "T AA",
"S T AA P") but it nearly always opens on the hiss or the closure of "st";
the words and talk that the stop search also fits ("off", "dog", "up",
"order") open on a vowel or a voiced sound and often close on a consonant
that "stop" never ends in. Two flags for that shape; measured on the same
data (2-fold by speaker): at the shipped threshold (0.6) the model with them
catches 86.5% of stops with 186 false "stop" checks per hour of no-command
audio, the model without them 88.0% with 282 per hour.
"""

from __future__ import annotations

import math

from voicecoach.voice.hearing import vocabulary
from voicecoach.voice.hearing.judge import Features, Verdict

WORD_COEFFICIENTS = (1.1823, -4.5838, -1.3113, -0.6464, -3.0902)
"""For (ratio, silence inside, speech outside (s), ln frames, speech in the stretch (s))."""
WORD_BIAS = 7.8920

STOP_COEFFICIENTS = (0.6951, 2.7948, -0.0639, -1.6284, -3.2119, -1.2579, 0.5365, 2.0556,
                     -1.1508)
"""For (stop ratio, grammar chose stop (0/1), best ratio - stop ratio, silence inside,
speech outside (s), ln frames, speech in the stretch (s), opens like "st" (0/1),
closes on a consonant "stop" never ends in (0/1))."""
STOP_BIAS = 3.6476

STOP_ONSETS = frozenset({"S", "Z", "SH", "TH", "T", "CH"})
"""First phones the phone loop hears for the "st" of a spoken stop."""
NOT_STOP_ENDINGS = frozenset({"F", "V", "D", "N", "L", "R", "M", "NG", "TH", "DH", "S", "Z",
                              "K", "G"})
"""Last phones that point to another word ("off", "dog", "done"): "stop" ends in P (heard
as P or B) or, when its release is soft, in its vowel."""


def word_vector(top: Features, verdict: Verdict) -> tuple[float, ...]:
    return (top.ratio, top.silence_inside, top.speech_outside,
            math.log(max(top.frames, 1)), verdict.speech)


def stop_vector(verdict: Verdict) -> tuple[float, ...] | None:
    stop, top = verdict.stop, verdict.top
    if stop is None:
        return None
    chose_stop = 1.0 if top is not None and vocabulary.canonical_of(top.name) == "stop" else 0.0
    margin = (top.ratio - stop.ratio) if top is not None else 0.0
    phones = stop.transcript.split()
    opens_like_stop = 1.0 if phones and phones[0] in STOP_ONSETS else 0.0
    closes_unlike_stop = 1.0 if phones and phones[-1] in NOT_STOP_ENDINGS else 0.0
    return (stop.ratio, chose_stop, margin, stop.silence_inside, stop.speech_outside,
            math.log(max(stop.frames, 1)), verdict.speech, opens_like_stop, closes_unlike_stop)


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
