"""The spoken command vocabulary and how typed or heard text maps onto it."""

from __future__ import annotations

NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}

# Words that start the return. "enough", "halt" and "up" were tried as spoken synonyms and
# dropped: on 790 real clips holding no command they were heard 25, 20 and 60 times (mostly
# in "off", "on", sentences and plain noise), and the coach itself says "come up".
STOP_SYNONYMS: frozenset[str] = frozenset({"stop"})

SYMPTOM_WORDS: frozenset[str] = frozenset({"numb", "weakness", "vision", "headache"})
"""Warning signs that bring the user up (seed 003: new leg numbness or foot weakness, blurred
vision, a throbbing headache)."""

SAFETY_WORDS: frozenset[str] = frozenset({"stop", "help", "dizzy"}) | SYMPTOM_WORDS
"""Words that change what happens to the user's body: heard in a phrase too ("I feel
dizzy", "help me"), at every moment of a session."""

COMMAND_WORDS: frozenset[str] = frozenset(
    {"stop", "yes", "no", "repeat", "time", "ready", "dizzy", "help", "upright"} | SYMPTOM_WORDS
)

VOCABULARY: frozenset[str] = COMMAND_WORDS | frozenset(NUMBER_WORDS)

_PHRASES: dict[str, str] = {
    "how long": "time",
    "time left": "time",
    "say again": "repeat",
    "again": "repeat",
    "numbness": "numb",
    "weak": "weakness",
    "blurred vision": "vision",
    "blurry": "vision",
    "head ache": "headache",
    "yeah": "yes",
    "ok": "ready",
    "okay": "ready",
    "go": "ready",
}


_PHRASE_WORDS: frozenset[str] = frozenset({
    "i", "im", "i'm", "ive", "i've", "am", "feel", "feeling", "felt", "so", "very", "really",
    "quite", "a", "bit", "little", "kind", "of", "me", "please", "my", "leg", "legs", "foot",
    "feet", "arm", "arms", "hand", "hands", "are", "is", "it's", "its", "going", "getting",
    "gone", "got", "now", "someone", "somebody", "can", "we", "could", "you", "need", "have",
    "oh", "hey", "fully", "all", "right", "okay", "ok", "m", "ve", "s", "re",
})
"""Words that may stand around a safety word in a short phrase: "I feel dizzy", "help me",
"my legs are numb", "can we stop please" ("m", "ve" and "s" are what is left of "I'm" once a
transcript loses its apostrophes). Anything else makes the phrase not a command, so
a sentence that merely contains one of the words ("don't stop the music") is not taken."""
MAX_PHRASE_WORDS = 6


def phrase_word(words: list[str]) -> str | None:
    """The one safety word (or "upright") in a short phrase of filler words, or None."""
    if not 1 < len(words) <= MAX_PHRASE_WORDS:
        return None
    found = set()
    for token in words:
        word = _PHRASES.get(token, token)
        if word in SAFETY_WORDS or word == "upright":
            found.add(word)
        elif token not in _PHRASE_WORDS:
            return None
    return found.pop() if len(found) == 1 else None


def _tokens(text: str) -> list[str]:
    cleaned = text.lower().replace("\u2019", "'")
    for mark in "?!.,;:":
        cleaned = cleaned.replace(mark, " ")
    return cleaned.split()


def canonical(text: str) -> str | None:
    """Map a typed or recognised phrase to a vocabulary word, or None if it is not a command.

    Digits map to number words ("7" -> "seven"), stop synonyms to "stop", and a short
    phrase around one safety word to that word ("I feel dizzy" -> "dizzy").
    """
    words = _tokens(text)
    t = " ".join(words)
    if not t:
        return None
    if t.isdigit():
        n = int(t)
        return next((w for w, v in NUMBER_WORDS.items() if v == n), None)
    if t in _PHRASES:
        return _PHRASES[t]
    if t in STOP_SYNONYMS:
        return "stop"
    if t in VOCABULARY:
        return t
    return phrase_word(words)


def number_value(word: str) -> int | None:
    return NUMBER_WORDS.get(word)
