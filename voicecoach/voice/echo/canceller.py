"""Acoustic echo cancellation before the recogniser, with the exact samples played as the
reference: speexdsp's multidelay adaptive filter (Debian's libspeexdsp1), through ctypes.

An adaptive filter learns the path from the speaker to the microphone and takes its
prediction of the echo out of what the microphone heard, so the user's own voice is
left whole, louder than the echo or not; an energy gate can only throw both away.
speexdsp controls its own adaptation during double talk (its learning rate falls when
the microphone holds more than the echo explains), which is what keeps a "stop" said
over the coach from being learnt as echo. Residual echo suppression (speexdsp's
preprocessor) is left off: it distorts the very word it should let through.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

import numpy as np

from voicecoach.voice.hearing.errors import HearingSetupError
from voicecoach.voice.pcm import RATE

logger = logging.getLogger(__name__)

FRAME = 160
"""10 ms at 16 kHz: the canceller's step (speexdsp wants 10-20 ms)."""
FILTER_MS = 300
"""How long an echo path the filter can model, device delay included: the delay of a
laptop's speaker through PulseAudio (20-150 ms) plus the room's reverberation that
matters to a recogniser (the first 100-150 ms)."""
_SPEEX_ECHO_SET_SAMPLING_RATE = 24


class EchoCancellerUnavailable(HearingSetupError):
    """libspeexdsp is missing: scripts/setup.sh installs it (Debian libspeexdsp1)."""


def _library() -> ctypes.CDLL:
    name = ctypes.util.find_library("speexdsp") or "libspeexdsp.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:
        raise EchoCancellerUnavailable(
            "the echo canceller needs libspeexdsp (Debian/Ubuntu: apt install libspeexdsp1, "
            "or run scripts/setup.sh); use --headphones if the microphone cannot hear the "
            "speaker") from exc
    lib.speex_echo_state_init.restype = ctypes.c_void_p
    lib.speex_echo_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.speex_echo_state_destroy.argtypes = [ctypes.c_void_p]
    lib.speex_echo_state_reset.argtypes = [ctypes.c_void_p]
    lib.speex_echo_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lib.speex_echo_ctl.restype = ctypes.c_int
    short_p = ctypes.POINTER(ctypes.c_int16)
    lib.speex_echo_cancellation.argtypes = [ctypes.c_void_p, short_p, short_p, short_p]
    lib.speex_echo_cancellation.restype = None
    return lib


class EchoCanceller:
    """Microphone and reference chunks of any length in, the microphone less the echo out.

    `process(mic, reference)`: two int16 arrays of the same length, the reference being
    what the speaker played over the same span of the session clock (zeros in silence).
    The echo may reach the microphone up to `filter_ms` later than the reference says;
    a known device delay is taken off the reference first (`delay_ms`).
    """

    def __init__(self, *, filter_ms: int = FILTER_MS, delay_ms: int = 0) -> None:
        self._lib = _library()
        taps = round(filter_ms * RATE / 1000)
        state = self._lib.speex_echo_state_init(FRAME, taps)
        if not state:
            raise EchoCancellerUnavailable("speexdsp could not make an echo canceller")
        self._state: int | None = state
        rate = ctypes.c_int(RATE)
        self._lib.speex_echo_ctl(state, _SPEEX_ECHO_SET_SAMPLING_RATE, ctypes.byref(rate))
        self._mic = np.zeros(0, dtype=np.int16)
        # The reference runs `delay` samples behind: what was played d samples ago is
        # what the microphone hears now.
        self._delay = round(delay_ms * RATE / 1000)
        self._ref = np.zeros(self._delay, dtype=np.int16)
        self._out = np.zeros(FRAME, dtype=np.int16)
        self._ready = np.zeros(0, dtype=np.int16)

    def process(self, mic: np.ndarray, reference: np.ndarray) -> np.ndarray:
        if self._state is None:
            raise RuntimeError("the echo canceller is closed")
        mic = np.asarray(mic, dtype=np.int16)
        reference = np.asarray(reference, dtype=np.int16)
        if len(reference) != len(mic):
            raise ValueError(f"reference has {len(reference)} samples, microphone {len(mic)}")
        self._mic = np.concatenate([self._mic, mic])
        self._ref = np.concatenate([self._ref, reference])
        frames = min(len(self._mic), len(self._ref)) // FRAME
        pieces = [self._ready]
        short_p = ctypes.POINTER(ctypes.c_int16)
        for i in range(frames):
            m = np.ascontiguousarray(self._mic[i * FRAME:(i + 1) * FRAME])
            r = np.ascontiguousarray(self._ref[i * FRAME:(i + 1) * FRAME])
            self._lib.speex_echo_cancellation(self._state, m.ctypes.data_as(short_p),
                                              r.ctypes.data_as(short_p),
                                              self._out.ctypes.data_as(short_p))
            pieces.append(self._out.copy())
        self._mic = self._mic[frames * FRAME:]
        self._ref = self._ref[frames * FRAME:]
        ready = np.concatenate(pieces)
        # Out as much as came in: what is left of a 10 ms frame waits for the next chunk
        # (30 ms chunks are three whole frames, so nothing waits in practice).
        self._ready = ready[len(mic):]
        out = ready[: len(mic)]
        if len(out) < len(mic):
            out = np.concatenate([np.zeros(len(mic) - len(out), dtype=np.int16), out])
        return out

    def reset(self) -> None:
        if self._state is not None:
            self._lib.speex_echo_state_reset(self._state)

    def close(self) -> None:
        state, self._state = self._state, None
        if state is not None:
            self._lib.speex_echo_state_destroy(state)

    def __del__(self) -> None:
        self.close()
