"""The second look at a stretch of speech: which command word, and how sure.

The grammar search names the closest command word and where it lies; the
phone loop (any sequence of English phones) explains the same frames as well
as the model can without a vocabulary. A real command scores nearly as well
as the best the model can do; other words, noise and breath fall far behind.
That gap per frame, with a few shape features, is turned into a calibrated
confidence (voicecoach.voice.hearing.confidence).

pocketsphinx reports each segment's score relative to the best state of every
frame, so the phone loop's own score comes out at about 0 (measured: -0.001
per frame at the median) and the gap is in effect the word's score alone. The
phone loop earns its time through its labels: which frames are speech, which
silence or noise, inside the word and around it.
"""

from __future__ import annotations

from dataclasses import dataclass

from voicecoach.voice.hearing import vocabulary
from voicecoach.voice.hearing.decoder import (
    FRAME_S,
    PHONE_SEARCH,
    STOP_SEARCH,
    Segment,
    grammar_search,
)

SILENCE_PHONES = frozenset({"SIL", "+NSN+", "+SPN+", "+BREATH+", "+COUGH+", "+NOISE+"})
_MARGIN_FRAMES = 8
"""Phone-loop speech this close to the word counts as part of it (10 ms frames)."""


@dataclass(frozen=True)
class Features:
    name: str
    """The grammar's word."""
    start_frame: int
    end_frame: int
    ratio: float
    """(word score - phone loop score) per frame over the word (natural log; <= 0 mostly)."""
    frames: int
    """Length of the word (10 ms frames)."""
    speech_outside: float
    """Phone-loop speech outside the word (seconds): a longer utterance around it."""
    silence_inside: float
    """Share of the word's frames the phone loop calls silence or noise (0..1)."""
    transcript: str
    speech_end_frame: int
    """Where the word's sound ends: its last frame the phone loop calls speech (the grammar's
    word can stretch over the silence after it)."""


@dataclass(frozen=True)
class Verdict:
    """Both readings of one stretch of audio."""

    top: Features | None
    """The grammar's best word for the current mode (None: silence only)."""
    stop: Features | None
    """The best place for "stop" when only "stop" may be said (None: silence only)."""
    speech: float
    """Phone-loop speech in the whole stretch (seconds)."""


def _phone_score(phones: list[Segment], start: int, end: int) -> float:
    total = 0.0
    for p in phones:
        overlap = min(end, p.end_frame) - max(start, p.start_frame) + 1
        if overlap > 0:
            total += p.ascore * overlap / p.frames
    return total


def _features(segments: list[Segment], phones: list[Segment]) -> Features | None:
    words = [s for s in segments if vocabulary.canonical_of(s.name) is not None]
    if not words:
        return None
    word = max(words, key=lambda s: s.frames)
    sf, ef = word.start_frame, word.end_frame
    ratio = (word.ascore - _phone_score(phones, sf, ef)) / word.frames
    outside = 0
    silent = 0
    last_speech = sf
    for p in phones:
        speech = p.name not in SILENCE_PHONES
        for f in range(p.start_frame, p.end_frame + 1):
            if sf <= f <= ef:
                silent += not speech
                if speech:
                    last_speech = max(last_speech, f)
            elif speech and not (sf - _MARGIN_FRAMES <= f <= ef + _MARGIN_FRAMES):
                outside += 1
    transcript = " ".join(p.name for p in phones
                          if p.name not in SILENCE_PHONES and sf <= p.end_frame
                          and p.start_frame <= ef)
    return Features(word.name, sf, ef, ratio, word.frames, outside * FRAME_S,
                    silent / word.frames, transcript, last_speech)


def grammar_searches(mode: str) -> tuple[str, str]:
    """The two word searches a verdict needs besides the phone loop."""
    return grammar_search(mode), STOP_SEARCH


def verdict(mode: str, results: dict[str, list[Segment]]) -> Verdict:
    """The verdict from the phone loop's and the word searches' results over one stretch."""
    phones = [p for p in results[PHONE_SEARCH] if p.name not in ("<s>", "</s>")]
    speech = sum(p.frames for p in phones if p.name not in SILENCE_PHONES) * FRAME_S
    grammar, stop = grammar_searches(mode)
    return Verdict(_features(results[grammar], phones), _features(results[stop], phones),
                   speech)
