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

SYMPTOM_WORDS: frozenset[str] = frozenset({"numb", "vision", "headache"})

COMMAND_WORDS: frozenset[str] = frozenset(
    {"stop", "yes", "no", "repeat", "time", "ready", "dizzy", "help"} | SYMPTOM_WORDS
)

VOCABULARY: frozenset[str] = COMMAND_WORDS | frozenset(NUMBER_WORDS)

_PHRASES: dict[str, str] = {
    "how long": "time",
    "time left": "time",
    "say again": "repeat",
    "again": "repeat",
    "numbness": "numb",
    "blurred vision": "vision",
    "blurry": "vision",
    "head ache": "headache",
    "yeah": "yes",
    "ok": "ready",
    "okay": "ready",
    "go": "ready",
}


def canonical(text: str) -> str | None:
    """Map a typed or recognised phrase to a vocabulary word, or None if it is not a command.

    Digits map to number words ("7" -> "seven"), stop synonyms to "stop".
    """
    t = " ".join(text.lower().strip().replace("?", " ").replace("!", " ").split())
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
    return None


def number_value(word: str) -> int | None:
    return NUMBER_WORDS.get(word)
