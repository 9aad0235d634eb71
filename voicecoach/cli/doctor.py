"""`voicecoach doctor`: check the speech engine, sound devices, hearing and database."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from voicecoach import paths
from voicecoach.cli.common import db_option, json_option
from voicecoach.cli.settings import setting_option
from voicecoach.voice.checkup import Check, Status, run_checks
from voicecoach.voice.devices import (
    AudioDevice,
    AudioUnavailable,
    DeviceNotFound,
    find_device,
    open_portaudio,
)

STYLE = {Status.OK: "green", Status.WARN: "yellow", Status.FAIL: "bold red",
         Status.SKIPPED: "dim"}


def _device_spec(value: str | None) -> str | int | None:
    if value is None:
        return None
    return int(value) if value.strip().isdigit() else value


def _validate_devices(mic: str | int | None, speaker: str | int | None) -> None:
    """A device name that matches nothing is a typo: say so before testing anything."""
    if mic is None and speaker is None:
        return
    try:
        pa = open_portaudio()
    except AudioUnavailable:
        return  # reported by the sound system check
    try:
        for spec, direction, option in ((mic, "input", "--mic"), (speaker, "output", "--speaker")):
            if spec is None:
                continue
            try:
                find_device(pa, spec, direction)  # type: ignore[arg-type]
            except DeviceNotFound as exc:
                raise click.BadParameter(str(exc), param_hint=option) from exc
    finally:
        pa.terminate()


@click.command()
@setting_option("microphone", "--mic", "mic", metavar="NAME|INDEX", default=None,
                help="Microphone to test (default: the system's default input).")
@setting_option("speaker", "--speaker", "speaker", metavar="NAME|INDEX", default=None,
                help="Speaker to test (default: the system's default output).")
@click.option("--seconds", type=click.FloatRange(0.5, 30), default=2.0, show_default=True,
              help="How long to record from the microphone.")
@click.option("--no-sound", is_flag=True,
              help="Do not play the test phrase or record (a quiet room, a remote shell).")
@db_option
@json_option
def doctor(mic: str | None, speaker: str | None, seconds: float, no_sound: bool,
           db_path: Path | None, json_: bool) -> None:
    """Check that everything voicecoach needs works, and say what is wrong.

    Renders and plays a test phrase, lists the microphones that hear sound
    (speak during the check to see which one picks you up), records a few
    seconds from the microphone and reports its level, plays a short rising
    tone to measure how loud and how late the speaker reaches the microphone
    (and says whether a "stop" said over the coach will be heard at this
    volume, or to turn it down or use headphones), and checks the speech
    engine (pyttsx3 with espeak-ng), PortAudio, the pocketsphinx and Whisper
    models and the database. Then the whole recogniser hears a recorded
    "stop", and what the microphone recorded: say "stop" while it records to
    check that you are heard. Exit code 0 if all is well, 1 if something is
    broken.

    \b
    voicecoach doctor
    voicecoach doctor --mic "USB Audio" --speaker 3
    voicecoach doctor --no-sound --json
    """
    mic_spec, speaker_spec = _device_spec(mic), _device_spec(speaker)
    _validate_devices(mic_spec, speaker_spec)
    checks, devices = run_checks(mic=mic_spec, speaker=speaker_spec,
                                 db_path=db_path or paths.default_db_path(),
                                 seconds=seconds, sound=not no_sound)
    broken = any(c.status is Status.FAIL for c in checks)
    if json_:
        click.echo(json.dumps({
            "ok": not broken,
            "checks": [c.as_dict() for c in checks],
            "devices": [_device_json(d) for d in devices],
        }, indent=2))
    else:
        _print(checks, devices, broken)
    sys.exit(1 if broken else 0)


def _device_json(device: AudioDevice) -> dict[str, object]:
    return {"index": device.index, "name": device.name, "host_api": device.host_api,
            "input": device.is_input, "output": device.is_output,
            "default_rate": device.default_rate,
            "default_input": device.is_default_input,
            "default_output": device.is_default_output,
            "hears_sound": device.hears_sound}


def _print(checks: list[Check], devices: list[AudioDevice], broken: bool) -> None:
    console = Console()
    if devices:
        table = Table(title="Sound devices", title_justify="left")
        for column in ("index", "name", "in", "out", "rate", "hears sound"):
            table.add_column(column)
        for d in devices:
            def mark(has: bool, default: bool) -> str:
                return ("default" if default else "yes") if has else ""
            table.add_row(str(d.index), escape(d.name),
                          mark(d.is_input, d.is_default_input),
                          mark(d.is_output, d.is_default_output), f"{d.default_rate}",
                          {True: "yes", False: "no", None: ""}[d.hears_sound])
        console.print(table)
    for check in checks:
        style = STYLE[check.status]
        console.print(f"[{style}]{check.status.value:>7}[/]  [bold]{check.name}[/]: "
                      f"{escape(check.detail)}")
        if check.hint and check.status in (Status.FAIL, Status.WARN):
            console.print(f"           [dim]fix:[/] {escape(check.hint)}")
    if broken:
        console.print("[bold red]Something is broken: fix it before a session.[/]")
    else:
        console.print("[green]All set.[/]")
