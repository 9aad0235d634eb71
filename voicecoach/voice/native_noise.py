"""Keep ALSA's and JACK's start-up chatter off the terminal.

When PortAudio starts it probes every ALSA plugin and tries to reach a JACK
server; both libraries print dozens of harmless lines ("Unknown PCM
cards.pcm.rear", "jack server is not running") straight to stderr. They are
silenced at the C level by installing their error handlers, and sent to this
module's logger at debug level, so real Python errors on stderr stay visible.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading

logger = logging.getLogger(__name__)

_ALSA_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                 ctypes.c_int, ctypes.c_char_p)
_JACK_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p)

_lock = threading.Lock()
_installed: list[object] = []  # the callbacks must outlive every C call that may use them


def _alsa_message(file: bytes | None, line: int, function: bytes | None, err: int,
                  fmt: bytes | None) -> None:
    # The printf arguments are variadic and not reachable from ctypes: the format is enough.
    logger.debug("ALSA %s:%d %s (%d): %s", (file or b"").decode(errors="replace"), line,
                 (function or b"").decode(errors="replace"), err,
                 (fmt or b"").decode(errors="replace"))


def _jack_message(message: bytes | None) -> None:
    logger.debug("JACK: %s", (message or b"").decode(errors="replace"))


def _load(name: str, soname: str) -> ctypes.CDLL | None:
    # The soname first: it must be the very library PortAudio links, not another copy.
    for candidate in (soname, ctypes.util.find_library(name)):
        if not candidate:
            continue
        try:
            return ctypes.CDLL(candidate)
        except OSError:
            continue
    return None


def silence_native_audio_noise() -> None:
    """Install the quiet handlers once per process (before PortAudio starts)."""
    with _lock:
        if _installed:
            return
        alsa = _load("asound", "libasound.so.2")
        if alsa is not None:
            handler = _ALSA_HANDLER(_alsa_message)
            alsa.snd_lib_error_set_handler(handler)
            _installed.append(handler)
        jack = _load("jack", "libjack.so.0")
        if jack is not None:
            handler = _JACK_HANDLER(_jack_message)
            jack.jack_set_error_function(handler)
            jack.jack_set_info_function(handler)
            _installed.append(handler)
        _installed.append(True)
