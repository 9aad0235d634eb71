"""pocketsphinx, set up once: the bundled English model, our words, one grammar per mode.

It runs as the audio arrives, and its partial result is one of the recogniser's
cues that "stop" may just have been said (the judge then reads the segment).

pocketsphinx reports some failures only in its log (a word missing from the
dictionary, a grammar naming an unknown word): every word is looked up after
loading, so a broken vocabulary fails loudly at start-up, not silently mid-session.
"""

from __future__ import annotations

import logging
import os
import tempfile

import pocketsphinx

from voicecoach.voice.hearing import vocabulary
from voicecoach.voice.hearing.errors import HearingSetupError

logger = logging.getLogger(__name__)

FRAME_S = 0.01
"""pocketsphinx's feature frame (seconds)."""



def grammar_search(mode: str) -> str:
    return f"grammar_{mode}"


class SphinxDecoder:
    """One pocketsphinx Decoder holding a grammar search per mode, fed as audio arrives."""

    def __init__(self) -> None:
        model = pocketsphinx.get_model_path()
        dictionary = _vocabulary_dictionary(os.path.join(model, "en-us", "cmudict-en-us.dict"))
        config: dict[str, object] = {
            "hmm": os.path.join(model, "en-us", "en-us"),
            "dict": dictionary,
            "lm": None,
            "loglevel": "FATAL",
            # Streaming needs a running cepstral mean.
            "cmn": "live",
        }
        # pocketsphinx's own dither is left off: measured on real clips it turned most
        # "two", "three" and "five" into other words.
        try:
            self.decoder = pocketsphinx.Decoder(**config)
        except (RuntimeError, ValueError) as exc:
            raise HearingSetupError(
                f"pocketsphinx could not load its English model: {exc}") from exc
        finally:
            os.unlink(dictionary)  # read whole at load
        self._add_words()
        for mode in vocabulary.MODES:
            grammar = vocabulary.jsgf(mode)
            try:
                self.decoder.add_jsgf_string(grammar_search(mode), grammar)
            except (RuntimeError, ValueError) as exc:
                raise HearingSetupError(f"the {mode} grammar did not load: {exc}") from exc
        self.decoder.activate_search(grammar_search("any"))
        self.in_utterance = False

    def _add_words(self) -> None:
        extra = [w for w in vocabulary.all_words() if w.phones]
        for i, word in enumerate(extra):
            if self.decoder.lookup_word(word.name) is None:
                self.decoder.add_word(word.name, word.phones, i == len(extra) - 1)
        missing = [w.name for w in vocabulary.all_words()
                   if self.decoder.lookup_word(w.name) is None]
        if missing:
            raise HearingSetupError(f"words missing from the dictionary: {', '.join(missing)}")

    # Streaming use: one utterance at a time, fed as audio arrives.

    def start(self, search: str) -> None:
        if self.decoder.current_search() != search:
            self.decoder.activate_search(search)
        self.decoder.start_utt()
        self.in_utterance = True

    def process(self, pcm: bytes) -> None:
        if pcm:
            self.decoder.process_raw(pcm, False, False)

    def partial(self) -> list[str]:
        hyp = self.decoder.hyp()
        return hyp.hypstr.split() if hyp is not None and hyp.hypstr else []

    def end(self) -> None:
        if self.in_utterance:
            self.decoder.end_utt()
            self.in_utterance = False


def _vocabulary_dictionary(full: str) -> str:
    """A dictionary file holding only the model dictionary's entries (every pronunciation)
    for our words. The whole 135,000-word dictionary cost the decoder 22 MB of memory, for
    searches that can only ever name our words; the words with a pronunciation of our own
    are added after loading."""
    names = {w.name for w in vocabulary.all_words() if w.phones is None}
    try:
        with open(full, encoding="utf-8") as source:
            entries = [line for line in source
                       if line.split(maxsplit=1)[0].split("(")[0] in names]
    except OSError as exc:
        raise HearingSetupError(f"pocketsphinx's dictionary could not be read: {exc}") from exc
    handle, path = tempfile.mkstemp(prefix="voicecoach-", suffix=".dict")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.writelines(entries)
    return path
