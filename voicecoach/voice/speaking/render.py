"""Text to speech samples: pyttsx3 (espeak-ng) in a worker process, cached on disk.

Rendering never plays anything: pyttsx3's own playback on Linux shells out to
a blocking player that cannot be cut. The worker writes a WAV, which is
resampled to 16 kHz mono int16 and cached in paths.cache_dir() under a hash
of (text, voice, rate), so a prompt is rendered once per machine.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach import paths
from voicecoach.voice.pcm import AudioFormatError, read_wav, write_wav

logger = logging.getLogger(__name__)

RENDER_FORMAT = 1
"""Bump when the rendering pipeline changes, so old cache entries are not reused."""


WORKER_ATTEMPTS = 2
"""pyttsx3 renders tried (the second in a fresh worker) before espeak-ng's command line."""
ESPEAK_TIMEOUT_S = 30.0
"""Backstop for espeak-ng's command line, which has no worker to kill."""


class SpeechEngineError(RuntimeError):
    """The speech engine failed, hung, or is not installed."""


class UnknownVoiceError(SpeechEngineError):
    """The voice asked for is not one of the engine's: the same every time, never retried."""


@dataclass(frozen=True)
class VoiceSettings:
    voice: str | None = None
    """espeak-ng voice id ("gmw/en-us") or a part of its name; None = the engine's default."""
    rate: int | None = 160
    """Speaking rate (words per minute); None = the engine's default. Slower than
    espeak's 175 because the listener is upside down and may have a fan running."""

    def as_dict(self) -> dict[str, Any]:
        return {"voice": self.voice, "rate": self.rate}


DEFAULT_VOICE = VoiceSettings()
"""What voicecoach speaks with unless told otherwise; the fixed prompts are rendered with it."""


def speech_hash(text: str, settings: VoiceSettings) -> str:
    """Names one rendering: the cache key, and the manifest's check that a WAV is current."""
    blob = json.dumps({"text": text, **settings.as_dict(), "engine": "pyttsx3-espeak-ng",
                       "format": RENDER_FORMAT}, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class _Worker:
    """One pyttsx3 process, asked one thing at a time, killed if it stops answering."""

    def __init__(self, start_timeout_s: float) -> None:
        self._start_timeout_s = start_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._pending = b""

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self._process

    def ask(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        if self._process is None or self._process.poll() is not None:
            self._start()
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write((json.dumps(request) + "\n").encode("utf-8"))
            self._process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            self.stop()
            raise SpeechEngineError(f"the speech engine process died ({exc})") from exc
        return self._read_answer(timeout_s)

    def _start(self) -> None:
        self.stop()
        self._pending = b""
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "voicecoach.voice.speaking.render_worker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None)
        except OSError as exc:
            raise SpeechEngineError(f"could not start the speech engine process: {exc}") from exc
        try:
            self._read_answer(self._start_timeout_s)
        except SpeechEngineError:
            self.stop()
            raise

    def _read_answer(self, timeout_s: float) -> dict[str, Any]:
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._pending:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.stop()
                    raise SpeechEngineError(
                        f"the speech engine did not answer within {timeout_s:g} s")
                data = os.read(fd, 65536)
                if not data:
                    code = self._process.wait(timeout=5)
                    self.stop()
                    raise SpeechEngineError(f"the speech engine process exited (code {code})")
                self._pending += data
        line, self._pending = self._pending.split(b"\n", 1)
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok"):
            error = str(answer.get("error", "the speech engine failed"))
            raise (UnknownVoiceError if answer.get("kind") == "voice"
                   else SpeechEngineError)(error)
        return answer

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait(timeout=5)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


class Renderer:
    """Renders text with one voice. Thread-safe; one request at a time goes to the engine."""

    def __init__(self, settings: VoiceSettings = DEFAULT_VOICE, *,
                 cache_dir: Path | None = None, timeout_s: float = 10.0,
                 start_timeout_s: float = 20.0) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self._cache_dir = cache_dir
        self._worker = _Worker(start_timeout_s)
        self._lock = threading.Lock()

    @property
    def cache_dir(self) -> Path:
        if self._cache_dir is None:
            self._cache_dir = paths.cache_dir() / "speech"
        self._cache_dir.mkdir(parents=True, exist_ok=True)
        return self._cache_dir

    def cache_path(self, text: str) -> Path:
        return self.cache_dir / f"{speech_hash(text, self.settings)}.wav"

    def cached(self, text: str) -> np.ndarray | None:
        """The rendering if it is already on disk (no engine call)."""
        path = self.cache_path(text)
        if not path.exists():
            return None
        try:
            return read_wav(path)
        except AudioFormatError:
            logger.warning("dropping unreadable cache entry %s", path)
            path.unlink(missing_ok=True)
            return None

    def render(self, text: str) -> np.ndarray:
        """16 kHz mono int16 speech. Raises SpeechEngineError."""
        if not text.strip():
            return np.zeros(0, dtype=np.int16)
        samples = self.cached(text)
        if samples is not None:
            return samples
        with self._lock:
            samples = self._render_with_fallback(text)
            self._store(text, samples)
        return samples

    def _render_with_fallback(self, text: str) -> np.ndarray:
        """pyttsx3 in its worker; once more in a fresh worker; then espeak-ng's own command
        line. Only when all three fail is the speech engine lost."""
        errors: list[str] = []
        for attempt in range(WORKER_ATTEMPTS):
            try:
                return self._render_in_worker(text)
            except UnknownVoiceError:
                raise
            except SpeechEngineError as exc:
                errors.append(str(exc))
                logger.warning("render attempt %d failed: %s", attempt + 1, exc)
                self._worker.stop()  # the next attempt starts a fresh process
        try:
            samples = self._render_with_espeak_ng(text)
        except SpeechEngineError as exc:
            errors.append(str(exc))
            raise SpeechEngineError("; ".join(dict.fromkeys(errors))) from exc
        logger.warning("rendered with espeak-ng's command line after: %s", "; ".join(errors))
        return samples

    def _render_in_worker(self, text: str) -> np.ndarray:
        with tempfile.TemporaryDirectory(prefix="voicecoach-tts-") as tmp:
            raw = Path(tmp) / "speech.wav"
            self._worker.ask({"op": "render", "text": text, "voice": self.settings.voice,
                              "rate": self.settings.rate, "path": str(raw)}, self.timeout_s)
            return self._read_rendering(raw)

    def _render_with_espeak_ng(self, text: str) -> np.ndarray:
        with tempfile.TemporaryDirectory(prefix="voicecoach-tts-") as tmp:
            raw = Path(tmp) / "speech.wav"
            command = ["espeak-ng", "-w", str(raw)]
            if self.settings.rate:
                command += ["-s", str(self.settings.rate)]
            if self.settings.voice:
                command += ["-v", self.settings.voice.rsplit("/", 1)[-1]]
            try:
                subprocess.run([*command, "--", text], check=True, capture_output=True,
                               timeout=max(self.timeout_s, ESPEAK_TIMEOUT_S))
            except (OSError, subprocess.SubprocessError) as exc:
                raise SpeechEngineError(f"espeak-ng's command line failed too ({exc})") from exc
            return self._read_rendering(raw)

    @staticmethod
    def _read_rendering(raw: Path) -> np.ndarray:
        try:
            samples = read_wav(raw)
        except AudioFormatError as exc:
            raise SpeechEngineError(f"the speech engine wrote bad audio: {exc}") from exc
        if samples.size == 0:
            raise SpeechEngineError("the speech engine produced no audio")
        return samples

    def _store(self, text: str, samples: np.ndarray) -> None:
        path = self.cache_path(text)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.part")
        try:
            write_wav(partial, samples)
            os.replace(partial, path)  # atomic: a reader never sees half a file
        except OSError as exc:
            logger.warning("could not cache speech in %s: %s", path, exc)
            partial.unlink(missing_ok=True)

    @property
    def worker_pid(self) -> int | None:
        """The speech engine process, if one is running."""
        process = self._worker.process
        return process.pid if process is not None and process.poll() is None else None

    def voices(self) -> list[dict[str, Any]]:
        """The engine's voices: [{"id", "name", "languages"}]."""
        with self._lock:
            return list(self._worker.ask({"op": "voices"}, self.timeout_s)["voices"])

    def warm_up(self) -> None:
        """Start the engine process now rather than on the first uncached prompt."""
        with self._lock:
            self._worker.ask({"op": "voices"}, self.timeout_s)

    def close(self) -> None:
        with self._lock:
            self._worker.stop()

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
