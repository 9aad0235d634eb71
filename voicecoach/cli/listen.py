"""`voicecoach listen`: the recogniser alone, on a WAV file."""

from __future__ import annotations

import json
from pathlib import Path

import click

from voicecoach.cli.common import (
    hearing_errors,
    hearing_settings,
    json_option,
    open_audio_in,
    whisper_model_option,
)


@click.command("listen")
@click.option("--audio-in", "audio_in", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="WAV file to listen to (any rate, mono or stereo; converted to 16 kHz mono).")
@click.option("--expect", type=click.Choice(["any", "number", "confirm"]), default="any",
              show_default=True, help="What to listen for: every command, or a pain number.")
@whisper_model_option
@json_option
def listen(audio_in: Path, expect: str, whisper_model: Path | None, json_: bool) -> None:
    """Print the commands heard in a recording, one line each.

    The file is fed to the same streaming recogniser a session uses, in 30 ms
    chunks, with half a second of the recording's own room tone before and after
    it, as a microphone that was already open would give. With --json each line is
    {"t_end": s, "word": ..., "confidence": ...}, t_end being where the word
    ends, in seconds from the start of the file.

    \b
    Example:
        voicecoach listen --audio-in take1.wav --json
    """
    from voicecoach.voice.hearing import Recogniser
    from voicecoach.voice.hearing.evaluate import hear_clip

    samples = open_audio_in(audio_in).samples
    settings = hearing_settings(whisper_model)
    with hearing_errors():
        recogniser = Recogniser(settings)
    with recogniser:
        recogniser.expect(expect)
        for d in hear_clip(recogniser, samples):
            if json_:
                click.echo(json.dumps({"t_end": d.t_end, "word": d.word,
                                       "confidence": d.confidence}))
            else:
                click.echo(f"{d.t_end:8.2f} s  {d.word:<9} {d.confidence:4.2f}  {d.transcript}")
