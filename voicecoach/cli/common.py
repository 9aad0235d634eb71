"""Options and helpers shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from voicecoach.voice.audio_in import FileSource

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


def db_option(f: F) -> F:
    """`-d/--db PATH`: the SQLite file to use instead of the one in the data dir."""
    return click.option(
        "-d", "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
        envvar="VOICECOACH_DB", default=None,
        help="Database file (default: voicecoach.db in the user data dir; env VOICECOACH_DB).",
    )(f)


def json_option(f: F) -> F:
    return click.option("json_", "--json", is_flag=True, help="Output JSON.")(f)
