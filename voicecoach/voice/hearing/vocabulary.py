"""The words the recogniser listens for, their pronunciations, and the grammars built from them.

A grammar always names one of its words, whatever was said: pocketsphinx's
streaming search only says when a word may have been said; what was said is
read by Whisper (whisper_reader.py), whose transcript `spoken_word` maps back
onto these words.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from voicecoach.session.commands import NUMBER_WORDS, STOP_SYNONYMS, canonical, phrase_word


@dataclass(frozen=True)
class GrammarWord:
    name: str
    """The decoder's word (unique in the dictionary)."""
    canonical: str
    """The vocabulary word it stands for."""
    phones: str | None = None
    """ARPAbet pronunciation to add; None when the model's dictionary has the word."""


# Extra spellings are added as their own dictionary words, so a result names the variant heard.
_STOP_VARIANTS = (
    GrammarWord("stop", "stop"),
    GrammarWord("stop_ao", "stop", "S T AO P"),  # British and Australian "stop"
)
_SYNONYM_PRONUNCIATIONS = {
    "enough": None,
    "halt": None,
    "up": None,
}

_OTHER_WORDS = (
    GrammarWord("yes", "yes"),
    GrammarWord("yeah", "yes"),
    GrammarWord("no", "no"),
    GrammarWord("repeat", "repeat"),
    GrammarWord("time", "time"),
    GrammarWord("how_long", "time", "HH AW L AO NG"),
    GrammarWord("ready", "ready"),
    GrammarWord("dizzy", "dizzy"),
    GrammarWord("help", "help"),
    GrammarWord("numb", "numb"),
    GrammarWord("weakness", "weakness"),
    GrammarWord("weak", "weakness"),
    GrammarWord("upright", "upright"),
    GrammarWord("vision", "vision"),
    GrammarWord("headache", "headache"),
)

MODES = ("any", "number", "confirm")


def stop_words() -> tuple[GrammarWord, ...]:
    """"stop" and the synonyms in STOP_SYNONYMS that have a known pronunciation."""
    synonyms = tuple(
        GrammarWord(word, "stop", _SYNONYM_PRONUNCIATIONS[word])
        for word in sorted(STOP_SYNONYMS - {"stop"}) if word in _SYNONYM_PRONUNCIATIONS
    )
    return _STOP_VARIANTS + synonyms


def number_words() -> tuple[GrammarWord, ...]:
    return tuple(GrammarWord(w, w) for w in NUMBER_WORDS)


def words_for(mode: str) -> tuple[GrammarWord, ...]:
    """The command words a grammar in this mode holds; "stop" is in every mode."""
    if mode == "number":
        return stop_words() + number_words()
    if mode == "confirm":
        yes_no = tuple(w for w in _OTHER_WORDS if w.canonical in ("yes", "no"))
        return stop_words() + number_words() + yes_no
    if mode == "any":
        return stop_words() + number_words() + _OTHER_WORDS
    raise ValueError(f"unknown listening mode {mode!r}; expected one of {', '.join(MODES)}")


def all_words() -> tuple[GrammarWord, ...]:
    return words_for("any")


def canonical_of(name: str) -> str | None:
    """The vocabulary word a decoder word stands for; None for filler and silence."""
    base = name.split("(")[0]
    for word in all_words():
        if word.name == base:
            return word.canonical
    return None


def jsgf(mode: str) -> str:
    """A grammar for `mode`: exactly one of its command words."""
    words = " | ".join(w.name for w in words_for(mode))
    return f"#JSGF V1.0;\ngrammar hear_{mode};\npublic <command> = {words};\n"


@functools.cache
def _spoken_forms() -> dict[str, str]:
    """Each spoken form ("how long", "7") -> its vocabulary word: built once, as every
    closing reading of a segment asks."""
    forms = {w.name.replace("_", " "): w.canonical for w in all_words()}
    forms.update({str(value): word for word, value in NUMBER_WORDS.items()})
    return forms


def spoken_word(words: list[str]) -> str | None:
    """A transcript's words (lower case, no punctuation) as one vocabulary word: the whole
    transcript must be one of the spoken forms listened for ("how long", "7", "yeah"), said
    once or repeated, or a short phrase around one safety word ("I feel dizzy", "help me").
    Anything longer or else is not a command. "stop" in a phrase is left to the stop rule,
    which was fitted on how "stop" alone sounds."""
    text = " ".join(words)
    for form, word in _spoken_forms().items():
        if text == form or (words and set(words) == {form}):
            return word
    in_phrase = phrase_word(words)
    return None if in_phrase == "stop" else in_phrase


def names(words: list[str], word: str) -> bool:
    """Does a transcript's words say this command word ("three" or "3", "yes" or "yeah")?"""
    return any(canonical(w) == word for w in words)
