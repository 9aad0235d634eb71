"""Options and helpers shared by several commands."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from voicecoach.cli.settings import setting_option

if TYPE_CHECKING:
    from voicecoach.runtime.pipelines import RoomEcho
    from voicecoach.voice.audio_in import FileSource
    from voicecoach.voice.hearing import HearingSettings

F = TypeVar("F", bound=Callable[..., Any])


class AudioInProblem(click.ClickException):
    """The input audio cannot be used: bad input, so exit code 2."""

    exit_code = 2


def open_audio_in(path: Path, *, realtime: bool = False) -> FileSource:
    """The `--audio-in` WAV as a microphone, read whole before anything else starts, so a
    file that is not audio is one line and exit 2, not a session that dies on it."""
    from voicecoach.voice.audio_in import FileSource
    from voicecoach.voice.pcm import AudioFormatError

    if not path.is_file():
        raise AudioInProblem(f"cannot read {path}: no such file")
    try:
        return FileSource(path, realtime=realtime)
    except (AudioFormatError, OSError) as exc:
        raise AudioInProblem(f"cannot read {path}: {exc}") from exc


def open_echo_ir(path: Path, delay_ms: int, *, cancel: bool = True) -> RoomEcho:
    """`--echo-ir IR.wav`, read and checked before anything starts."""
    from voicecoach.runtime.pipelines import RoomEcho
    from voicecoach.voice.echo import load_impulse_response
    from voicecoach.voice.pcm import AudioFormatError

    if not path.is_file():
        raise AudioInProblem(f"cannot read {path}: no such file")
    try:
        return RoomEcho(load_impulse_response(path), delay_ms, cancel)
    except AudioFormatError as exc:
        raise AudioInProblem(f"cannot use {path} as an impulse response: {exc}") from exc


class HearingProblem(click.ClickException):
    """The recogniser cannot start (a model missing or damaged): configuration, exit 2."""

    exit_code = 2


def whisper_model_option(f: F) -> F:
    """`--whisper-model DIR`: a larger Whisper model for pain numbers and yes/no (env
    VOICECOACH_WHISPER_MODEL, config key whisper_model)."""
    return setting_option(
        "whisper_model", "--whisper-model", type=click.Path(file_okay=False, path_type=Path),
        default=None, metavar="DIR",
        help="A larger Whisper model in CTranslate2 form (a folder with model.bin and "
             "vocabulary.txt; base.en, small.en, as faster-whisper uses) to read pain "
             "numbers and yes/no answers: it hears them better and reads slower. 'stop' "
             "is always read by the bundled tiny.en, which the stop rule was fitted on.",
    )(f)


def hearing_settings(whisper_model: Path | None) -> HearingSettings:
    """The recogniser's settings for `--whisper-model`, refused at once if it is not there."""
    from voicecoach.voice.hearing import HearingSettings

    if whisper_model is None:
        return HearingSettings()
    if not (whisper_model / "model.bin").is_file():
        raise HearingProblem(f"{whisper_model} holds no Whisper model (no model.bin in it)")
    return HearingSettings(number_model=str(whisper_model))


@contextlib.contextmanager
def hearing_errors() -> Iterator[None]:
    """A recogniser that cannot start is one line and exit 2, before any session opens."""
    from voicecoach.voice.hearing.errors import HearingSetupError

    try:
        yield
    except HearingSetupError as exc:
        raise HearingProblem(f"the recogniser could not start: {exc}") from exc


def db_option(f: F) -> F:
    """`-d/--db PATH`: the SQLite file to use instead of the one in the data dir."""
    return click.option(
        "-d", "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
        envvar="VOICECOACH_DB", default=None,
        help="Database file (default: voicecoach.db in the user data dir; env VOICECOACH_DB).",
    )(f)


def json_option(f: F) -> F:
    return click.option("json_", "--json", is_flag=True, help="Output JSON.")(f)


class WholeNumber(click.ParamType):
    """A whole number in a range, whose error says the range: "--pain: must be a whole
    number from 0 to 10, not 'abc'" rather than click's "'abc' is not a valid integer
    range."."""

    name = "integer"

    def __init__(self, low: int | None = None, high: int | None = None) -> None:
        self.low, self.high = low, high

    def _range(self) -> str:
        if self.low is not None and self.high is not None:
            return f"from {self.low} to {self.high}"
        if self.low is not None:
            return f"of {self.low} or more"
        return f"of {self.high} or less"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip()
            if not text.lstrip("+-").isdigit():
                self.fail(f"must be a whole number {self._range()}, not {value!r}", param, ctx)
            number = int(text)
        if (self.low is not None and number < self.low) or \
                (self.high is not None and number > self.high):
            self.fail(f"must be a whole number {self._range()}, not {number}", param, ctx)
        return number
