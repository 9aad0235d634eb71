"""Speech out through a real sound device (PortAudio via PyAudio), cut within one chunk.

Three threads, none of them the caller's:

- render: turns queued prompts into clips (pre-rendered, cached, or the
  speech engine), in the order they were said;
- play: writes the clip to the device in chunks of at most 20 ms and checks
  for a cut between chunks; on a cut it closes the stream, which makes
  PortAudio drop what is still buffered instead of playing it out;
- watch: reports a device that stops taking audio (a write blocked for a
  second), since a hung write cannot report itself.

`say`, `cut`, `alert` and `close` return at once (close waits, at most
`drain_timeout_s`, for queued speech to finish). Failures go to `on_failure`
(the runner turns them into DeviceLost("speech")); nothing here raises into
the caller after construction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from voicecoach.runtime.clock import MonotonicClock
from voicecoach.runtime.ports import Playing
from voicecoach.session.clock import Clock
from voicecoach.voice.devices import (
    AudioDevice,
    candidate_rates,
    choose_format,
    find_device,
    open_portaudio,
)
from voicecoach.voice.pcm import RATE, resample
from voicecoach.voice.speaking.clips import DUCK_GAIN, Clip, ClipMaker, alert_clip
from voicecoach.voice.speaking.prerendered import PromptLibrary
from voicecoach.voice.speaking.render import (
    DEFAULT_VOICE,
    Renderer,
    SpeechEngineError,
    VoiceSettings,
)
from voicecoach.voice.speaking.timeline_speaker import ALERT_GAP_S

if TYPE_CHECKING:
    import pyaudio

logger = logging.getLogger(__name__)

CHUNK_S = 0.02
"""Longest piece written to the device at once: a cut takes effect within one."""
STALL_S = 1.0
"""A write blocked this long means the device has stopped taking audio."""
RETIME_S = 0.05
"""now_playing() is moved when the device's own count puts the clip this far off (seconds);
below that is the error of taking the buffer for full after a write (up to one chunk)."""


class SpeakerUnavailable(RuntimeError):
    """The output device cannot be opened (the message says why, in plain words)."""


@dataclass
class _Request:
    generation: int
    prompt_id: str
    text: str
    clip: Clip | None = None


class DeviceSpeaker:
    """Speech on a sound card.

    device: PortAudio index, exact name or unique part of a name; None = default.
    clock: what now_playing() times are measured on (pass the session clock).
    on_failure: called from a speaker thread when the device or the speech
    engine fails (once per failure; nothing is raised to the caller).
    voice / renderer / library: how prompts become audio (renderer overrides voice).
    volume: the speech's share of full scale; alerts always sound at full volume, since
    they call for help.
    rate: open the device at this rate instead of trying 16 kHz first.
    Raises DeviceNotFound or SpeakerUnavailable if the device cannot be opened.
    """

    def __init__(self, device: str | int | None = None, *, clock: Clock | None = None,
                 on_failure: Callable[[str], None] | None = None,
                 voice: VoiceSettings = DEFAULT_VOICE, renderer: Renderer | None = None,
                 library: PromptLibrary | None = None, pa: pyaudio.PyAudio | None = None,
                 chunk_s: float = CHUNK_S, alert_gap_s: float = ALERT_GAP_S,
                 drain_timeout_s: float = 30.0, rate: int | None = None,
                 volume: float = 1.0) -> None:
        self._clock = clock or MonotonicClock()
        self._on_failure = on_failure
        self._own_renderer = renderer is None
        library = library if library is not None else PromptLibrary()
        library.preload()  # urgent prompts must not wait for the disk
        self._clips = ClipMaker(renderer or Renderer(voice), library, volume)
        self._own_pa = pa is None
        self._pa = pa or open_portaudio()
        try:
            self.device: AudioDevice = find_device(self._pa, device, "output")
            self.rate, self.channels = self._choose_format(rate)
            self._frames_per_chunk = max(1, int(self.rate * min(chunk_s, CHUNK_S)))
            # Opened now to fail early on a device that cannot play; stopped until the
            # first words (see _finish_stream).
            self._stream: Any = self._open_stream()
            self._stream.stop_stream()
        except Exception:
            if self._own_pa:
                self._pa.terminate()
            raise
        self._alert_gap_s = alert_gap_s
        self._drain_timeout_s = drain_timeout_s
        self._cond = threading.Condition()
        self._generation = 0
        self._pending: deque[_Request] = deque()
        self._in_flight = False
        self._in_flight_generation = 0
        self._queue: deque[Clip] = deque()
        self._current: Clip | None = None
        self._playing: Playing | None = None
        self._cut_requested = False
        self._ducked = False
        self._repeat: Clip | None = None
        self._repeat_armed_at: float | None = None  # until the first instance plays
        self._quiet_since = time.monotonic()
        self._closing = False
        self._failure_reported = False
        self._write_since: float | None = None
        self.on_written: Callable[[np.ndarray], None] | None = None
        """Given, on the play thread, every piece of speech and alert written to the device
        (16 kHz mono int16, the duck's gain applied): `start --record-dir` keeps them."""
        self.drop_buffer_on_cut = True
        """Close the stream on a cut so buffered audio is dropped (False: let it play out;
        only for measuring the difference, see scripts/bench_speech_cut.py)."""
        self._threads = [threading.Thread(target=target, name=f"speaker-{name}", daemon=True)
                         for name, target in (("render", self._render_loop),
                                              ("play", self._play_loop),
                                              ("watch", self._watch_loop))]
        for thread in self._threads:
            thread.start()

    # ---- the Speaker interface ----------------------------------------------------------

    def say(self, prompt_id: str, text: str, *, urgent: bool = False) -> None:
        if urgent:
            self.cut()
        clip = self._clips.ready(prompt_id, text)
        with self._cond:
            if self._closing:
                return
            if clip is not None and not self._pending and not self._rendering_now():
                self._queue.append(clip)
            else:
                self._pending.append(_Request(self._generation, prompt_id, text, clip))
            self._cond.notify_all()

    def render_ahead(self, said: Iterable[tuple[str, str]]) -> None:
        """Render these prompts into the speech cache in the background, so that none has
        to wait for the speech engine when it falls due. Fixed prompts (the urgent ones
        among them) are pre-rendered already and never wait for this."""
        todo = list(said)

        def run() -> None:
            for prompt_id, text in todo:
                if self._closing:
                    return
                try:
                    # Rendered and kept in the cache (returned at once if it is there).
                    self._clips.make(prompt_id, text)
                except SpeechEngineError as exc:
                    logger.info("could not render %s ahead: %s", prompt_id, exc)

        threading.Thread(target=run, name="speaker-render-ahead", daemon=True).start()

    def duck(self, on: bool) -> None:
        """From the next chunk written: what the device already holds plays out as it is
        (a cut drops it; a duck may be undone, so it keeps it)."""
        with self._cond:
            self._ducked = on

    def cut(self) -> None:
        with self._cond:
            self._ducked = False
            self._generation += 1
            self._pending.clear()
            self._queue.clear()
            if self._current is not None:
                self._cut_requested = True
                self._quiet_since = time.monotonic()
            self._playing = None
            self._cond.notify_all()

    def alert(self, sound: str, repeat: bool = False) -> None:
        with self._cond:
            if not sound:
                self._repeat = None
                if self._current is not None and self._current.is_alert:
                    self._cut_requested = True
            elif repeat:
                self._repeat = alert_clip(sound)
                self._repeat_armed_at = time.monotonic()
            elif not self._pending and not self._rendering_now():
                self._queue.append(alert_clip(sound))
            else:
                self._pending.append(_Request(self._generation, "", "", alert_clip(sound)))
            self._cond.notify_all()

    def now_playing(self) -> Playing | None:
        with self._cond:
            return self._playing

    def idle(self) -> bool:
        """Nothing sounding or queued (a repeating alert between two repeats counts as idle)."""
        with self._cond:
            return self._idle()

    def close(self, drain: bool = True) -> None:
        """Stop, after letting queued speech finish (at most drain_timeout_s) if drain."""
        with self._cond:
            if self._closing:
                return
            if drain:
                deadline = time.monotonic() + self._drain_timeout_s
                self._repeat = None
                while not self._idle() and time.monotonic() < deadline:
                    self._cond.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            self._closing = True
            self._repeat = None
            self._cut_requested = self._current is not None
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=2.0)
        if not self._threads[1].is_alive():  # a hung write keeps the stream: leave it be
            self._close_stream()
            if self._own_pa:
                self._pa.terminate()
        if self._own_renderer and self._clips.renderer is not None:
            self._clips.renderer.close()

    # ---- threads ---------------------------------------------------------------------

    def _render_loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if self._closing:
                    return
                request = self._pending.popleft()
                self._in_flight = True
                self._in_flight_generation = request.generation
            clip, error = request.clip, None
            if clip is None:
                try:
                    clip = self._clips.make(request.prompt_id, request.text)
                except SpeechEngineError as exc:
                    error = exc
            with self._cond:
                self._in_flight = False
                current = request.generation == self._generation
                if current and clip is not None:
                    self._queue.append(clip)
                self._cond.notify_all()
            if current and error is not None:
                self._report(f"speech engine failed on prompt {request.prompt_id}: {error}")

    def _play_loop(self) -> None:
        while True:
            with self._cond:
                clip = None
                while not self._closing:
                    if self._queue:
                        clip = self._queue.popleft()
                        break
                    if self._repeat is not None:
                        due = (self._repeat_armed_at if self._repeat_armed_at is not None
                               else self._quiet_since + self._alert_gap_s)
                        wait = due - time.monotonic()
                        if wait <= 0:
                            clip = self._repeat
                            self._repeat_armed_at = None
                            break
                        self._cond.wait(wait)
                    else:
                        self._cond.wait()
                if clip is None:
                    return
                self._current = clip
                self._cut_requested = False
            self._play(clip)
            self._finish_stream()
            with self._cond:
                self._quiet_since = time.monotonic()
                self._current = None
                self._playing = None
                self._cond.notify_all()

    def _watch_loop(self) -> None:
        while True:
            with self._cond:
                if self._closing:
                    return
                self._cond.wait(0.2)
                since = self._write_since
            if since is not None and time.monotonic() - since > STALL_S:
                self._report(f"the speaker '{self.device.name}' stopped taking audio")

    # ---- playing ---------------------------------------------------------------------

    def _play(self, clip: Clip) -> None:
        try:
            if self._stream is None:
                self._stream = self._open_stream()
            elif self._stream.is_stopped():
                self._stream.start_stream()
            # A clip that follows another sounds once the device buffer has played out.
            ahead = self._buffer_frames - int(self._stream.get_write_available())
        except SpeakerUnavailable as exc:
            self._report(str(exc))
            return
        except Exception as exc:
            self._write_failed(exc)
            return
        data = self._for_device(clip.samples)
        frame_bytes = 2 * self.channels
        step = self._frames_per_chunk * frame_bytes
        started = self._clock.now() + max(0, ahead) / self.rate
        with self._cond:
            if not self._cut_requested:
                self._playing = Playing(clip.prompt_id, clip.text, started,
                                        started + clip.duration, clip.samples)
        for offset in range(0, len(data), step):
            if self._cut_requested or self._closing:
                if self.drop_buffer_on_cut or self._closing:
                    # Closing drops what PortAudio and the sound server still hold.
                    self._close_stream()
                return
            chunk = data[offset: offset + step]
            gain = DUCK_GAIN if self._ducked and not clip.is_alert else 1.0
            if gain != 1.0:
                chunk = np.round(np.frombuffer(chunk, dtype="<i2") * gain
                                 ).astype("<i2").tobytes()
            self._write_since = wrote_at = time.monotonic()
            try:
                # Blocks until the device has room: at most one chunk, so the cut flag
                # is checked every 20 ms. Not exception_on_underflow: PyAudio closes
                # the stream when it raises.
                self._stream.write(chunk)
            except Exception as exc:  # OSError from PortAudio; a dead stream can raise others
                self._write_failed(exc)
                return
            self._write_since = None
            self._failure_reported = False
            if self.on_written is not None:
                self.on_written(self._written_at_16k(clip.samples, offset // frame_bytes,
                                                     len(chunk) // frame_bytes, gain))
            if time.monotonic() - wrote_at > CHUNK_S / 2:
                # The write waited for room, so the buffer is full again.
                self._follow_device(written=min(offset + step, len(data)) // frame_bytes)

    def _follow_device(self, written: int) -> None:
        """Re-time now_playing() from what the device has really played of the clip.

        A stall of the machine or the sound server delays the rest of the clip by as
        long; the echo check must expect the coach's words when they really sound, or a
        "stop" in a prompt, heard late, passes for the user's (seen when a whole-suite
        run stalled the speaker for over a second).

        Called only after a write that waited for room: the buffer is then full, so what
        has played is what was written less the buffer. Asking PortAudio how much room
        there is instead (get_write_available after every write) lost pieces of prompts
        through PulseAudio's ALSA plugin (2 of 4 runs of the e2e voice test).
        """
        started = self._clock.now() - (written - self._buffer_frames) / self.rate
        with self._cond:
            playing = self._playing
            if playing is None or abs(started - playing.started_at) < RETIME_S:
                return
            self._playing = replace(playing, started_at=started,
                                    ends_at=started + playing.ends_at - playing.started_at)

    def _written_at_16k(self, samples: np.ndarray, first: int, frames: int,
                        gain: float) -> np.ndarray:
        """The clip's own 16 kHz samples behind `frames` device frames from `first` on:
        what was written, before the device's resampling and channel copies."""
        lo, hi = first * RATE // self.rate, (first + frames) * RATE // self.rate
        piece = samples[lo:hi]
        return piece if gain == 1.0 else np.round(piece * gain).astype(np.int16)

    def _write_failed(self, exc: Exception) -> None:
        self._write_since = None
        self._close_stream()
        self._report(f"the speaker '{self.device.name}' failed: {exc}")

    def _for_device(self, samples: np.ndarray) -> bytes:
        if self.rate != RATE:
            samples = resample(samples, RATE, self.rate)
        if self.channels > 1:
            samples = np.repeat(samples, self.channels)
        return np.asarray(samples, dtype="<i2").tobytes()

    def _latency(self) -> float:
        try:
            return float(self._stream.get_output_latency())
        except Exception:
            return 0.0

    def _choose_format(self, forced_rate: int | None) -> tuple[int, int]:
        rates = candidate_rates(self.device, forced_rate, RATE)
        chosen = choose_format(self._pa, self.device, "output", rates)
        if chosen is not None:
            return chosen
        raise SpeakerUnavailable(f"the speaker '{self.device.name}' takes 16-bit audio at none "
                                 f"of {', '.join(f'{r} Hz' for r in rates)}")

    def _open_stream(self) -> Any:
        import pyaudio

        try:
            stream = self._pa.open(rate=self.rate, channels=self.channels,
                                 format=pyaudio.paInt16, output=True,
                                 output_device_index=self.device.index,
                                 frames_per_buffer=self._frames_per_chunk)
        except Exception as exc:
            raise SpeakerUnavailable(
                f"cannot open the speaker '{self.device.name}': {exc}") from exc
        # Empty now, so this is the whole buffer.
        self._buffer_frames: int = int(stream.get_write_available())
        return stream

    def _finish_stream(self) -> None:
        """Let the last words play out, then stop the stream until there is more to say.

        A stream left running with nothing to play underruns, and through
        PulseAudio's ALSA plugin the clip written after that was lost (every second
        prompt, in a test). Stopping and starting the same stream proved steadier
        under load than opening a fresh one for each run of speech (7 of 7 device
        test runs clean against 1 of 3). The wait for the buffer to empty gives
        way at once to a new clip (same stream, no gap) or a cut (stream closed).
        """
        if self._stream is None:
            return
        deadline = time.monotonic() + self._buffer_frames / self.rate + 0.2
        try:
            while time.monotonic() < deadline:
                queued = self._buffer_frames - self._stream.get_write_available()
                with self._cond:
                    if self._queue and not (self._cut_requested or self._closing):
                        return
                    if queued <= 0 or self._cut_requested or self._closing:
                        break
                    self._cond.wait(max(0.002, queued / self.rate))
        except Exception as exc:
            logger.debug("waiting for the output stream to drain: %s", exc)
        if self._cut_requested or self._closing:
            self._close_stream()  # drops the rest at once
            return
        try:
            self._stream.stop_stream()
        except Exception as exc:
            logger.debug("stopping the output stream: %s", exc)
            self._close_stream()

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.close()
        except Exception as exc:
            logger.debug("closing the output stream: %s", exc)

    def _rendering_now(self) -> bool:
        """A render is under way whose clip will still be played, so what is said next
        must queue behind it. One a cut made stale will be dropped when it returns: a
        ready clip (the return's, pre-rendered) goes straight to the queue rather than
        wait for it, however long the speech engine hangs. Called with the lock held."""
        return self._in_flight and self._in_flight_generation == self._generation

    def _idle(self) -> bool:
        # A stale render (its clip dropped by a cut) is nothing the user will hear.
        return (not self._pending and not self._rendering_now() and not self._queue
                and self._current is None)

    def _report(self, detail: str) -> None:
        with self._cond:
            if self._failure_reported or self._closing:
                return
            self._failure_reported = True
        logger.error("%s", detail)
        if self._on_failure is not None:
            try:
                self._on_failure(detail)
            except Exception:
                logger.exception("on_failure callback raised")
