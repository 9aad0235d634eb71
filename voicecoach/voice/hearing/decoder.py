"""pocketsphinx, set up once: the bundled English model, our words, one search per mode.

pocketsphinx reports some failures only in its log (a word missing from the
dictionary, a grammar naming an unknown word): every word is looked up after
loading, so a broken vocabulary fails loudly at start-up, not silently mid-session.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from dataclasses import dataclass

import pocketsphinx

from voicecoach.voice.hearing import vocabulary
from voicecoach.voice.hearing.settings import HearingSettings

logger = logging.getLogger(__name__)

FRAME_S = 0.01
"""pocketsphinx's feature frame (seconds)."""

PHONE_SEARCH = "phones"
STOP_SEARCH = "stop_only"


class HearingSetupError(RuntimeError):
    """The recogniser could not be set up (model or vocabulary missing)."""


@dataclass(frozen=True)
class Segment:
    """One word (or filler phone, or silence) of a result, frames relative to the utterance."""

    name: str
    start_frame: int
    end_frame: int
    ascore: float
    """Acoustic log-likelihood (natural log)."""

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame + 1


def grammar_search(mode: str) -> str:
    return f"grammar_{mode}"


class SphinxDecoder:
    """One pocketsphinx Decoder holding a grammar search per mode and a phone-loop search."""

    def __init__(self, settings: HearingSettings, *, with_phone_loop: bool,
                 streaming: bool) -> None:
        model = pocketsphinx.get_model_path()
        dictionary = _vocabulary_dictionary(os.path.join(model, "en-us", "cmudict-en-us.dict"))
        config: dict[str, object] = {
            "hmm": os.path.join(model, "en-us", "en-us"),
            "dict": dictionary,
            "lm": None,
            "loglevel": "FATAL",
            # Streaming needs a running cepstral mean; a whole segment is better normalised
            # by its own mean (measured: numbers 72% -> 85% right on whole clips).
            "cmn": "live" if streaming else "batch",
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
        self.decoder.add_jsgf_string(STOP_SEARCH, vocabulary.stop_jsgf())
        if with_phone_loop:
            phone_lm = os.path.join(model, "en-us", "en-us-phone.lm.bin")
            self.decoder.add_allphone_file(PHONE_SEARCH, phone_lm)
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

    # Whole-segment use: the audio is all there; the cepstral mean comes from the segment.

    def decode(self, pcm: bytes, search: str) -> list[Segment]:
        if self.in_utterance:
            raise RuntimeError("decode() while a streaming utterance is open")
        if self.decoder.current_search() != search:
            self.decoder.activate_search(search)
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, False, True)
        self.decoder.end_utt()
        return [Segment(s.word, s.start_frame, s.end_frame, _ln(s.ascore))
                for s in (self.decoder.seg() or [])]


def _vocabulary_dictionary(full: str) -> str:
    """A dictionary file holding only the model dictionary's entries (every pronunciation)
    for our words. The whole 135,000-word dictionary cost each decoder 22 MB of memory,
    and three decoders run (this process's and the judge's two), for searches that can
    only ever name our words; the words with a pronunciation of our own are added after
    loading."""
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


def _ln(probability: float) -> float:
    # The binding hands back the segment's acoustic score as a probability; very poor
    # matches underflow to 0.
    return math.log(probability) if probability > 0 else -700.0
