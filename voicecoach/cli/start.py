"""`voicecoach start`: run a guided session by voice, by typing, or from audio files."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console

from voicecoach.cli.common import (
    WholeNumber,
    db_option,
    hearing_errors,
    hearing_settings,
    open_audio_in,
    open_echo_ir,
    whisper_model_option,
)
from voicecoach.cli.settings import setting_option
from voicecoach.config.keys import DEFAULT_RATE
from voicecoach.logs import log_to_file
from voicecoach.paths import default_db_path
from voicecoach.protocol.end_reasons import END_REASONS
from voicecoach.protocol.program import DEFAULT_PROGRAM, Program, ProgramError
from voicecoach.protocol.validate import load_program
from voicecoach.runtime.recorder import SessionRecorder
from voicecoach.session.actions import End
from voicecoach.session.engine import EngineSettings
from voicecoach.store import Store, StoreError

if TYPE_CHECKING:
    from voicecoach.runtime.pipelines import RoomEcho
    from voicecoach.voice.audio_in import FileSource
    from voicecoach.voice.hearing import HearingSettings


def _program(name: str) -> Program:
    try:
        return load_program(name)
    except ProgramError as e:
        raise click.UsageError(str(e)) from None


def _store(db_path: Path | None) -> Store:
    try:
        return Store.open(db_path or default_db_path())
    except StoreError as e:
        raise click.UsageError(str(e)) from None


@dataclass(frozen=True)
class Sound:
    """The devices and the voice a session speaks and listens with (config keys or options)."""

    voice: str | None = None
    rate: int | None = None
    volume: float | None = None
    mic: str | None = None
    speaker: str | None = None
    headphones: bool = False
    whisper_model: Path | None = None


@click.command()
@click.option("-p", "--program", "program_name", default=DEFAULT_PROGRAM, show_default=True,
              help="Built-in program name, a program in your config dir, or a TOML file.")
@click.option("--pain", type=WholeNumber(0, 10), default=None,
              help="Your pain now, 0-10, given up front (not asked again).")
@click.option("--no-checklist", is_flag=True,
              help="Skip the spoken setup checklist and microphone check.")
@click.option("--text", "text_mode", is_flag=True,
              help="Typed input and printed prompts: no microphone or speaker needed.")
@click.option("--audio-in", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read the 'microphone' from this WAV file instead of a device.")
@click.option("--audio-out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write everything spoken to this WAV file, on the session timeline.")
@click.option("--events", "events_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one JSON object a line for every event to this file.")
@click.option("--record-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Live sessions: keep what the microphone heard (microphone.wav), what "
                   "the coach played (coach.wav) and the events (events.jsonl) in this new "
                   "or empty folder, to replay a session with --audio-in.")
@click.option("--echo-ir", type=click.Path(dir_okay=False, path_type=Path),
              help="With --audio-in: a mono WAV impulse response from the coach's speaker to "
                   "its microphone, gain included (16-bit PCM or float, any rate). The "
                   "session hears IN.wav plus its own output through it, with the echo "
                   "canceller on, as in a room.")
@click.option("--echo-delay-ms", type=WholeNumber(0, 2000), default=0, show_default=True,
              help="With --echo-ir: how late the speaker's sound reaches the microphone.")
@click.option("--no-echo-cancel", is_flag=True,
              help="Do not run voicecoach's echo canceller on the microphone (when the "
                   "sound system cancels echo already, as PulseAudio's module-echo-cancel "
                   "does); its gate on the coach's own words stays on.")
@click.option("--fast", is_flag=True,
              help="Run on a simulated clock, as fast as the machine can (with --audio-in, "
                   "or --text with scripted input).")
@setting_option("microphone", "--mic", metavar="NAME|INDEX", default=None,
                help="Microphone name (or part of it) or index.")
@setting_option("speaker", "--speaker", metavar="NAME|INDEX", default=None,
                help="Speaker name (or part of it) or index (default: the system's output).")
@setting_option("voice", "--voice", metavar="NAME", default=None,
                help="Speech voice (name or id); see `voicecoach doctor`.")
@setting_option("rate", "--rate", metavar="WPM", default=None,
                help=f"Speaking rate in words per minute (default {DEFAULT_RATE}).")
@setting_option("volume", "--volume", metavar="SHARE", default=None,
                help="The coach's speech as a share of full volume, 0.1 to 1 (default 1); "
                     "alerts always sound at full volume.")
@setting_option("headphones", "--headphones/--no-headphones", is_flag=True, default=False,
                help="The microphone cannot hear the speaker: never ignore words the coach "
                     "says.")
@setting_option("checkin_interval", "--checkin-interval", metavar="SECONDS", default=None,
                help="Ask for your pain this often during the hold, 30 to 120 s, instead of "
                     "the program's own checkin_every_s.")
@setting_option("answer_wait", "--answer-wait", metavar="SECONDS", default=None,
                help="Once you are upright, wait this long for your pain rating before "
                     "asking again, 15 to 120 s (default 30).")
@whisper_model_option
@db_option
def start(program_name: str, pain: int | None, no_checklist: bool, text_mode: bool,
          audio_in: Path | None, audio_out: Path | None, events_path: Path | None,
          record_dir: Path | None, echo_ir: Path | None, echo_delay_ms: int,
          no_echo_cancel: bool, fast: bool,
          mic: str | None, speaker: str | None, voice: str | None, rate: int | None,
          volume: float | None, headphones: bool, checkin_interval: int | None,
          answer_wait: int | None, whisper_model: Path | None, db_path: Path | None) -> None:
    """Run a guided inversion session.

    The coach reads the setup checklist, asks your pain from 0 to 10, guides
    you down to the program's angle, times the hold aloud, checks on your pain,
    and brings you back up slowly. Say "stop" (or press space, Enter or s) at
    any moment and the return upright starts at once. Everything is logged.

    \b
    Examples:
      voicecoach start                       # voice, built-in first session
      voicecoach start --text --pain 3       # typed, no microphone needed
      voicecoach start --program weeks-1-2 --no-checklist
      voicecoach start --audio-in in.wav --audio-out out.wav --events ev.jsonl --fast
      voicecoach start --audio-in in.wav --echo-ir room.wav --echo-delay-ms 40 --fast
      voicecoach start --record-dir bad-day  # then: --audio-in bad-day/microphone.wav

    Options marked with an env var can also be set in the config file, for every
    session (`voicecoach config --help`); an option given here wins over both.

    Exit codes: 0 completed, 1 ended early for safety (still logged), 2 bad input.
    """
    if text_mode and audio_in:
        raise click.UsageError("--text and --audio-in cannot be used together.")
    if echo_ir is not None and audio_in is None:
        raise click.UsageError("--echo-ir needs --audio-in: a live microphone has a real room.")
    if echo_delay_ms and echo_ir is None:
        raise click.UsageError("--echo-delay-ms needs --echo-ir.")
    if (audio_out or fast) and not (audio_in or text_mode):
        raise click.UsageError("--audio-out and --fast need --audio-in (or --text for --fast).")
    if audio_out and text_mode:
        raise click.UsageError("--audio-out needs --audio-in; --text speaks nothing.")
    if record_dir is not None:
        events_path = _recording_folder(record_dir, events_path, live=not (text_mode or audio_in))
    program = _program(program_name)
    if checkin_interval is not None:
        program = replace(program, checkin_every_s=float(checkin_interval))
    if voice is not None and not text_mode:
        _check_voice(voice)
    hearing = hearing_settings(whisper_model)
    source = open_audio_in(audio_in, realtime=not fast) if audio_in is not None else None
    room = (open_echo_ir(echo_ir, echo_delay_ms, cancel=not no_echo_cancel)
            if echo_ir is not None else None)
    # Both files are written as the session goes or as it ends: fail now, not after it.
    for what, path in (("events file", events_path), ("audio-out file", audio_out)):
        if path is not None:
            try:
                path.touch()
            except OSError as e:
                raise click.UsageError(f"cannot write {what} {path}: {e.strerror}") from None
    store = _store(db_path)
    log_to_file()  # a fault's traceback goes there, never onto the user's screen
    try:
        if audio_in is None:
            # File-driven sessions are simulations for tools and tests: nobody is on a
            # table, so they are marked simulated and pass no gates.
            _gate_on_safety(store, program, checklist=not no_checklist)
        settings = EngineSettings(checklist=not no_checklist, pain_before=pain)
        if answer_wait is not None:
            settings = replace(settings, after_answer_timeout_s=float(answer_wait))
        sound = Sound(voice=voice, rate=rate, volume=volume, mic=mic, speaker=speaker,
                     headphones=headphones, whisper_model=whisper_model)
        if source is not None:
            with hearing_errors():
                code = _run_from_audio_file(program, settings, store, source, audio_out,
                                            events_path, fast, sound, hearing, room)
        elif text_mode:
            code = _run_text(program, settings, store, events_path, fast, sound)
        else:
            with hearing_errors():
                code = _run_voice(program, settings, store, events_path, sound, hearing,
                                  cancel=not no_echo_cancel, record_dir=record_dir)
    finally:
        problem = store.failure
        store.close()
    if problem is not None:
        # Nothing of the session is lost (the journal holds it), but the user must know.
        click.echo(f"Warning: {problem}. This session is kept in {store.journal_dir} until "
                   "the database can take it back.", err=True)
    sys.exit(code)


def _check_voice(voice: str) -> None:
    """An unknown --voice is a typo: one line before the session starts, not a session
    whose every prompt fails to render."""
    from types import SimpleNamespace

    from voicecoach.voice.speaking.render import Renderer, SpeechEngineError
    from voicecoach.voice.speaking.render_worker import VoiceNotFound, resolve_voice

    try:
        with Renderer() as renderer:
            voices = [SimpleNamespace(**v) for v in renderer.voices()]
    except SpeechEngineError:
        return  # a broken engine is the session's to ride through (retries, espeak-ng)
    try:
        resolve_voice(voices, voice)
    except VoiceNotFound as e:
        examples = ", ".join(str(v.name) for v in voices[:5])
        raise click.BadParameter(f"{e}; the engine has {len(voices)} voices, for example "
                                 f"{examples}", param_hint="--voice") from None


def _gate_on_safety(store: Store, program: Program, *, checklist: bool) -> None:
    """Refuse a session the screening blocks, or one the limits on the person forbid today
    (dizziness not known to have passed, sessions or time a day, the first sessions'
    checklist, a program that climbs too fast)."""
    from voicecoach.protocol.gates import start_problem
    from voicecoach.protocol.plan import summaries_from_rows
    from voicecoach.protocol.screening import latest_clearance_on, screening_status

    today = datetime.now().date()
    status = screening_status(store, today)
    if not status.allowed:
        raise click.UsageError(status.reason)
    problem = start_problem(summaries_from_rows(store.sessions()), program, today,
                            checklist=checklist, cleared_on=latest_clearance_on(store))
    if problem is not None:
        raise click.UsageError(f"{problem} (see `voicecoach plan`).")


def _open_session(store: Store, program: Program, settings: EngineSettings,
                  events_path: Path | None, mode: str, sound: Sound) -> SessionRecorder:
    # What the session ran with, whichever of option, env var, config file or default
    # set it: a session that went wrong can be told apart from the settings.
    ran_with = {"voice": sound.voice, "rate": sound.rate or DEFAULT_RATE,
                "volume": sound.volume if sound.volume is not None else 1.0,
                "microphone": sound.mic, "speaker": sound.speaker,
                "headphones": sound.headphones,
                "whisper_model": str(sound.whisper_model) if sound.whisper_model else None,
                "checkin_interval": program.checkin_every_s,
                "answer_wait": settings.after_answer_timeout_s}
    session_id = store.start_session(
        program=program.name, started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        pid=os.getpid(), options={"mode": mode, "checklist": settings.checklist,
                                  "pain": settings.pain_before, "settings": ran_with},
        simulated=mode == "audio-file")
    return SessionRecorder(store, session_id, events_path)


def end_summary(reason: str) -> str:
    """The one line a session ends with."""
    if reason == "completed":
        return "Session completed; logged. See `voicecoach history`."
    why = END_REASONS.get(reason, reason.replace("_", " "))
    return f"Session ended early because {why}; logged. See `voicecoach history`."


def _finish(recorder: SessionRecorder, end: End) -> int:
    recorder.end(end.reason)
    recorder.close()
    # Plain echo, never wrapped: one line a script can read, after every kind of session.
    click.echo(end_summary(end.reason))
    return end.exit_code


def _run_text(program: Program, settings: EngineSettings, store: Store,
              events_path: Path | None, fast: bool, sound: Sound) -> int:
    from voicecoach.runtime.pipelines import run_text_session

    console = Console(highlight=False)
    recorder = _open_session(store, program, settings, events_path, "text", sound)
    end = run_text_session(program, settings, recorder, console, sys.stdin, fast=fast)
    return _finish(recorder, end)


def _run_from_audio_file(program: Program, settings: EngineSettings, store: Store,
                         source: FileSource, audio_out: Path | None,
                         events_path: Path | None, fast: bool, sound: Sound,
                         hearing: HearingSettings, room: RoomEcho | None) -> int:
    from voicecoach.runtime.pipelines import run_file_session

    opened: list[SessionRecorder] = []

    def open_recorder() -> SessionRecorder:
        opened.append(_open_session(store, program, settings, events_path, "audio-file",
                                    sound))
        return opened[0]

    end = run_file_session(program, settings, open_recorder, source, audio_out, fast=fast,
                           voice=sound.voice, rate=sound.rate, volume=sound.volume,
                           hearing=hearing, room=room)
    return _finish(opened[0], end)


def _recording_folder(folder: Path, events_path: Path | None, *, live: bool) -> Path:
    """Check `--record-dir` before the session starts; the events file it holds."""
    from voicecoach.runtime.recording import EVENTS_FILE, RECORDING_FILES

    if not live:
        raise click.UsageError("--record-dir records a live session; --text and --audio-in "
                               "have nothing to record.")
    if events_path is not None:
        raise click.UsageError(f"--record-dir writes the events to {folder / EVENTS_FILE}; "
                               "leave out --events.")
    if folder.exists() and not folder.is_dir():
        raise click.UsageError(f"--record-dir {folder} is a file, not a folder.")
    kept = [name for name in RECORDING_FILES if (folder / name).exists()]
    if kept:
        raise click.UsageError(f"{folder} already holds a recording ({', '.join(kept)}); "
                               "choose a new or empty folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise click.UsageError(f"cannot create --record-dir {folder}: {e.strerror}") from None
    return folder / EVENTS_FILE


def _run_voice(program: Program, settings: EngineSettings, store: Store,
               events_path: Path | None, sound: Sound, hearing: HearingSettings, *,
               cancel: bool, record_dir: Path | None) -> int:
    from voicecoach.runtime.pipelines import NoAudioDevice, run_voice_session

    console = Console(highlight=False)
    try:
        recorder = None

        def open_recorder() -> SessionRecorder:
            nonlocal recorder
            recorder = _open_session(store, program, settings, events_path, "voice", sound)
            return recorder

        end = run_voice_session(program, settings, open_recorder, console, mic=sound.mic,
                                speaker_device=sound.speaker, voice=sound.voice,
                                rate=sound.rate, volume=sound.volume,
                                headphones=sound.headphones,
                                hearing=hearing, echo_cancel=cancel, record_dir=record_dir)
    except NoAudioDevice as e:
        raise click.UsageError(f"{e} Use `voicecoach start --text` to run the session by typing.") \
            from None
    assert recorder is not None
    return _finish(recorder, end)
