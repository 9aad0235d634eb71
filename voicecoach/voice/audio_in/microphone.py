"""The microphone: PyAudio input read in its own thread, delivered as 30 ms chunks of 16 kHz.

Two threads, so a slow consumer can never make the device overflow:

- read: blocking reads from PortAudio (`exception_on_overflow=False`),
  converted to 16 kHz mono int16 and cut into exact 30 ms chunks, into a
  bounded buffer (oldest dropped, and counted, if the consumer falls 10 s
  behind);
- deliver: hands chunks to `on_chunk` (or to `read()`), and is the watchdog:
  no audio for `no_audio_s` (a device that vanished, a read that never
  returns) or a read error is reported once through `on_failure(detail)`.

Exact digital silence for `DIGITAL_SILENCE_S` is reported as a lost microphone too.
A real microphone always carries some noise; all-zero samples mean it is
muted by the system, or gone: PulseAudio and PipeWire quietly move a stream
whose microphone was unplugged to another source, often the speaker's
monitor, where the user's "stop" would never be heard.

If the device refuses 16 kHz mono it is opened at its own rate (and in
stereo if it must) and resampled here.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from voicecoach.voice.devices import (
    AudioDevice,
    candidate_rates,
    choose_format,
    find_device,
    open_portaudio,
)
from voicecoach.voice.pcm import RATE, Resampler, to_int16, to_mono

if TYPE_CHECKING:
    import pyaudio

logger = logging.getLogger(__name__)

CHUNK_S = 0.03
"""Chunk length delivered to the recogniser (seconds): 480 samples at 16 kHz."""
NO_AUDIO_S = 0.8
"""No audio at all for this long means the microphone is gone (reported within a second)."""
DIGITAL_SILENCE_S = 0.5
"""All-zero audio for this long means a vanished or system-muted microphone."""
BUFFER_S = 10.0
"""How far the consumer may fall behind before the oldest audio is dropped."""
DROP_TOLERANCE_S = 0.25
"""Shortfall against the stream clock counted as dropped frames (jitter below is ignored)."""


class MicrophoneUnavailable(RuntimeError):
    """The input device cannot be opened (the message says why, in plain words)."""


class MicrophoneSource:
    """A microphone, opened by `start()` (or `with`).

    device: PortAudio index, exact name or unique part of a name; None = default.
    on_chunk: called with each 30 ms chunk (bytes, 16 kHz mono int16) from the
    delivery thread; without it, chunks queue for `read()` / `chunks()`.
    on_failure: called once, from a source thread, when the microphone is lost.
    rate: open the device at this rate instead of trying 16 kHz first.
    """

    def __init__(self, device: str | int | None = None, *,
                 on_chunk: Callable[[bytes], None] | None = None,
                 on_failure: Callable[[str], None] | None = None,
                 chunk_s: float = CHUNK_S, no_audio_s: float = NO_AUDIO_S,
                 silence_is_loss: bool = True, pa: pyaudio.PyAudio | None = None,
                 rate: int | None = None) -> None:
        self._on_chunk = on_chunk
        self._silence_is_loss = silence_is_loss
        self._on_failure = on_failure
        self.chunk_samples = int(RATE * chunk_s)
        self._no_audio_s = no_audio_s
        self._own_pa = pa is None
        self._pa = pa or open_portaudio()
        try:
            self.device: AudioDevice = find_device(self._pa, device, "input")
            self.device_rate, self.device_channels = self._choose_format(rate)
        except Exception:
            if self._own_pa:
                self._pa.terminate()
            raise
        self._frames_per_read = max(1, int(self.device_rate * chunk_s))
        self._resampler = Resampler(self.device_rate, RATE)
        self._raw: queue.Queue[bytes] = queue.Queue(
            maxsize=max(1, int(BUFFER_S / chunk_s)))
        self._out: queue.Queue[bytes] = queue.Queue()
        self._stream: Any = None
        self._running = False
        self._failed = False
        self._fail_lock = threading.Lock()
        self._closed = False
        self._threads: list[threading.Thread] = []
        self.dropped_frames = 0
        """Frames lost: the device overflowed (estimated from the stream clock) or the
        consumer fell more than BUFFER_S behind (exact)."""
        self.chunks_read = 0

    # ---- life cycle ---------------------------------------------------------------------

    def start(self) -> MicrophoneSource:
        import pyaudio

        try:
            self._stream = self._pa.open(
                rate=self.device_rate, channels=self.device_channels, format=pyaudio.paInt16,
                input=True, input_device_index=self.device.index,
                frames_per_buffer=self._frames_per_read)
        except Exception as exc:
            raise MicrophoneUnavailable(
                f"cannot open the microphone '{self.device.name}': {exc}") from exc
        self._running = True
        self._threads = [threading.Thread(target=self._read_loop, name="mic-read", daemon=True),
                         threading.Thread(target=self._deliver_loop, name="mic-deliver",
                                          daemon=True)]
        for thread in self._threads:
            thread.start()
        return self

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._running = False
        for thread in self._threads:
            thread.join(timeout=1.0)
        reader_stuck = bool(self._threads) and self._threads[0].is_alive()
        if self._stream is not None and not reader_stuck:
            try:
                self._stream.close()
            except Exception as exc:
                logger.debug("closing the input stream: %s", exc)
            self._stream = None
        if self._own_pa and not reader_stuck:
            self._pa.terminate()

    def __enter__(self) -> MicrophoneSource:
        return self.start() if not self._running else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def failed(self) -> bool:
        return self._failed

    # ---- consuming without a callback ----------------------------------------------------

    def read(self, timeout: float | None = None) -> bytes | None:
        """The next chunk (when no on_chunk was given), or None after timeout or on failure."""
        try:
            return self._out.get(timeout=timeout)
        except queue.Empty:
            return None

    def chunks(self, timeout: float = 1.0) -> Iterator[bytes]:
        """Chunks until the source is closed or fails."""
        while self._running or not self._out.empty():
            chunk = self.read(timeout)
            if chunk is None:
                if self._failed:
                    return
                continue
            yield chunk

    # ---- threads ---------------------------------------------------------------------

    def _read_loop(self) -> None:
        pending = np.zeros(0, dtype=np.int16)
        received = 0
        clock_start: float | None = None
        zeros_since: float | None = None
        while self._running:
            try:
                data = self._stream.read(self._frames_per_read, exception_on_overflow=False)
            except Exception as exc:  # OSError from PortAudio, or a closed stream
                if self._running:
                    self._fail(f"the microphone '{self.device.name}' failed: {exc}")
                return
            if not data:
                continue
            raw = np.frombuffer(data, dtype="<i2")
            if raw.any():
                zeros_since = None
            elif self._silence_is_loss:
                zeros_since = zeros_since or time.monotonic()
                if time.monotonic() - zeros_since > DIGITAL_SILENCE_S:
                    self._fail(f"the microphone '{self.device.name}' gives only digital "
                               "silence: it may be unplugged, or muted by the system")
                    return
            frames = len(raw) // self.device_channels
            received += frames
            clock_start = self._count_overflow(received, clock_start)
            mono = to_mono(raw, self.device_channels)
            converted = to_int16(self._resampler.process(mono))
            pending = np.concatenate([pending, converted])
            while len(pending) >= self.chunk_samples:
                chunk, pending = pending[: self.chunk_samples], pending[self.chunk_samples:]
                self._put(chunk.astype("<i2").tobytes())

    def _count_overflow(self, received: int, clock_start: float | None) -> float | None:
        """Compare frames received with the stream clock: a shortfall is audio the device
        dropped while nobody read it (PyAudio hides the overflow flag)."""
        try:
            now = float(self._stream.get_time())
            waiting = int(self._stream.get_read_available())
        except Exception:
            return clock_start
        if now <= 0:
            return clock_start
        if clock_start is None:
            return now - (received + waiting) / self.device_rate
        shortfall = (now - clock_start) * self.device_rate - (received + waiting)
        if shortfall > DROP_TOLERANCE_S * self.device_rate:
            self.dropped_frames += int(shortfall * RATE / self.device_rate)
            logger.warning("microphone overflow: about %d ms of audio lost",
                           int(1000 * shortfall / self.device_rate))
            return clock_start + shortfall / self.device_rate
        return clock_start

    def _put(self, item: bytes) -> None:
        while True:
            try:
                self._raw.put_nowait(item)
                return
            except queue.Full:
                try:
                    old = self._raw.get_nowait()
                    self.dropped_frames += len(old) // 2
                except queue.Empty:
                    pass

    def _deliver_loop(self) -> None:
        last_audio = time.monotonic()
        while self._running:
            try:
                item = self._raw.get(timeout=0.1)
            except queue.Empty:
                if time.monotonic() - last_audio > self._no_audio_s:
                    self._fail(f"no audio from the microphone '{self.device.name}' for "
                               f"{self._no_audio_s:g} s: it may be unplugged or muted by "
                               "the system")
                    return
                continue
            last_audio = time.monotonic()
            self.chunks_read += 1
            if self._on_chunk is None:
                self._out.put(item)
                continue
            try:
                self._on_chunk(item)
            except Exception:
                logger.exception("microphone consumer raised; chunk dropped")

    def _fail(self, detail: str) -> None:
        """Report the loss at once, from whichever thread found it: not queued behind
        audio the consumer has still to take, which may be seconds on a busy machine."""
        with self._fail_lock:
            if self._failed:
                return
            self._failed = True
        self._running = False
        logger.error("%s (%d chunks not yet taken)", detail, self._raw.qsize())
        if self._on_failure is not None:
            try:
                self._on_failure(detail)
            except Exception:
                logger.exception("on_failure callback raised")

    def _choose_format(self, forced_rate: int | None) -> tuple[int, int]:
        rates = candidate_rates(self.device, forced_rate, RATE)
        chosen = choose_format(self._pa, self.device, "input", rates)
        if chosen is not None:
            return chosen
        raise MicrophoneUnavailable(
            f"the microphone '{self.device.name}' gives 16-bit audio at none of "
            f"{', '.join(f'{r} Hz' for r in rates)}")
