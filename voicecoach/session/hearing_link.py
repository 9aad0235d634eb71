"""From recogniser detections to engine events, without the coach hearing itself.

When the microphone can hear the speaker, the coach's own prompts reach the
recogniser ("say stop", "from zero to ten"). The link knows the exact text
being played, so it drops a detection of a word that the coach is saying right
now or said within a short tail. With headphones or file input nothing is
gated: there is no echo, and gating could only hide a real "stop".
"""

from __future__ import annotations

import re

from voicecoach.session.commands import NUMBER_WORDS, canonical
from voicecoach.session.events import Event, Heard
from voicecoach.session.ports import Detection, Playing, Speaker

ECHO_TAIL_S = 0.4
"""Room echo and recogniser lag after a prompt ends (seconds)."""


def words_in(text: str) -> frozenset[str]:
    """The vocabulary words a prompt contains, as the recogniser would name them."""
    found = set()
    for token in re.findall(r"[a-z]+|\d+", text.lower()):
        word = canonical(token)
        if word is not None:
            found.add(word)
        elif token.isdigit() and int(token) > 10:
            # "20 degrees" may be heard as "two" or "ten": espeak says "twenty".
            found.update(NUMBER_WORDS)
    return frozenset(found)


class OwnVoiceGate:
    def __init__(self, speaker: Speaker, tail_s: float = ECHO_TAIL_S) -> None:
        self._speaker = speaker
        self._tail_s = tail_s
        self._recent: list[Playing] = []

    def observe(self, now: float) -> None:
        """Remember what plays now; called for every chunk of microphone audio."""
        playing = self._speaker.now_playing()
        if playing is not None and (not self._recent or self._recent[-1] != playing):
            self._recent.append(playing)
        self._recent = [p for p in self._recent if p.ends_at + self._tail_s >= now]

    def is_own_voice(self, word: str, now: float) -> bool:
        return any(p.started_at <= now <= p.ends_at + self._tail_s and word in words_in(p.text)
                   for p in self._recent)


def detections_to_events(detections: list[Detection], gate: OwnVoiceGate | None,
                         now: float) -> list[Event]:
    events: list[Event] = []
    for d in detections:
        if gate is not None and gate.is_own_voice(d.word, now):
            continue
        events.append(Heard(d.word, d.confidence, d.transcript))
    return events
