"""A WAV file standing in for the microphone (`start --audio-in`, `listen --audio-in`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from voicecoach.voice.audio_in.microphone import CHUNK_S
from voicecoach.voice.pcm import RATE, read_wav


class FileSource:
    """30 ms chunks of 16 kHz mono int16 from any PCM WAV (converted on load).

    Iterating yields the chunks; with `realtime=True` each chunk is yielded
    when a microphone would have delivered it (at the end of its 30 ms, on
    time.monotonic from the first chunk). The last chunk is zero-padded.
    """

    def __init__(self, path: Path, *, chunk_s: float = CHUNK_S, realtime: bool = False) -> None:
        self.path = path
        self.samples = read_wav(path)
        self.chunk_samples = int(RATE * chunk_s)
        self.realtime = realtime
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def duration_s(self) -> float:
        return len(self.samples) / RATE

    def __len__(self) -> int:
        return -(-len(self.samples) // self.chunk_samples)

    def __iter__(self) -> Iterator[bytes]:
        started = time.monotonic()
        for index in range(len(self)):
            if self._stop.is_set():
                return
            chunk = self.samples[index * self.chunk_samples: (index + 1) * self.chunk_samples]
            if len(chunk) < self.chunk_samples:
                chunk = np.concatenate([chunk, np.zeros(self.chunk_samples - len(chunk),
                                                        dtype=np.int16)])
            if self.realtime:
                due = started + (index + 1) * self.chunk_samples / RATE
                if self._stop.wait(max(0.0, due - time.monotonic())):
                    return
            yield chunk.astype("<i2").tobytes()

    def start(self, on_chunk: Callable[[bytes], None],
              on_end: Callable[[], None] | None = None) -> FileSource:
        """Deliver chunks from a daemon thread, like MicrophoneSource; on_end after the last."""

        def run() -> None:
            for chunk in self:
                on_chunk(chunk)
            if on_end is not None and not self._stop.is_set():
                on_end()

        self._thread = threading.Thread(target=run, name="file-source", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)
