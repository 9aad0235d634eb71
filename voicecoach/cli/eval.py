"""`voicecoach eval`: how well the recogniser hears a set of labelled clips."""

from __future__ import annotations

import json
from pathlib import Path

import click

from voicecoach.cli.common import (
    WholeNumber,
    hearing_errors,
    hearing_settings,
    json_option,
    whisper_model_option,
)


class ManifestProblem(click.ClickException):
    """The manifest or one of its clips cannot be used: exit code 2."""

    exit_code = 2


@click.command("eval")
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--limit", type=WholeNumber(1), default=None,
              help="Use only N clips, taken in turn from each label, for a quick look.")
@click.option("--expect", type=click.Choice(["any", "number", "confirm"]), default="any",
              show_default=True, help="Listening mode for every clip.")
@click.option("--baseline/--no-baseline", default=True, show_default=True,
              help="Also run SpeechRecognition's recognize_sphinx on the same audio.")
@whisper_model_option
@json_option
def eval_command(manifest: Path, limit: int | None, expect: str, baseline: bool,
                 whisper_model: Path | None, json_: bool) -> None:
    """Measure the recogniser on labelled clips listed in MANIFEST.csv.

    MANIFEST has columns path,label (more are ignored); label is a command
    word, or "_" for a clip that holds none (other speech, noise). Paths are
    relative to the manifest's folder. Prints per-label recall, the confusion
    matrix, false accepts per hour of no-command audio, decoding speed, and the
    same figures for a plain recognize_sphinx baseline.

    \b
    Example:
        voicecoach eval tests/data/speech/manifest.csv --limit 40
    """
    from rich.console import Console
    from rich.progress import Progress

    from voicecoach.voice.hearing.evaluate import ManifestError, evaluate, read_manifest

    if not manifest.is_file():
        raise ManifestProblem(f"cannot read {manifest}: no such file")
    settings = hearing_settings(whisper_model)
    try:
        clips = read_manifest(manifest, limit)
        if not clips:
            raise ManifestProblem(f"{manifest} lists no clips")
        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("listening", total=len(clips))
            with hearing_errors():
                report = evaluate(clips, settings=settings, mode=expect, baseline=baseline,
                                  progress=lambda n: progress.advance(task, n))
    except ManifestError as exc:
        raise ManifestProblem(str(exc)) from exc
    summary = report.summary()
    if json_:
        click.echo(json.dumps(summary, indent=2))
        return
    _print_table(summary)


def _print_table(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    mine = summary["recogniser"]
    base = summary.get("baseline")
    console.print(f"{summary['clips']} clips, mode {summary['mode']}, "
                  f"{summary['no_command_hours'] * 60:.1f} min of audio without a command")
    recall = Table(title="Recall per label")
    recall.add_column("label")
    recall.add_column("clips", justify="right")
    recall.add_column("recogniser", justify="right")
    if base:
        recall.add_column("baseline", justify="right")
    for label, value in mine["recall"].items():
        row = [label, str(sum(mine["confusion"][label].values())), _pct(value)]
        if base:
            row.append(_pct(base["recall"][label]))
        recall.add_row(*row)
    console.print(recall)
    for name, block in (("recogniser", mine), ("baseline", base)):
        if not block:
            continue
        labels = list(block["recall"])
        guesses = sorted({g for row in block["confusion"].values() for g in row},
                         key=lambda g: (labels.index(g) if g in labels else len(labels), g))
        matrix = Table(title=f"Confusion, {name} (row: said)")
        matrix.add_column("")
        for g in guesses:
            matrix.add_column(g, justify="right")
        for label in labels:
            row = block["confusion"][label]
            matrix.add_row(label, *[str(row.get(g, "")) for g in guesses])
        console.print(matrix)
    lines = [("numbers top-1", "numbers_top1", _pct),
             ("false accepts per hour", "false_accepts_per_hour", _num),
             ('false "stop" per hour', "false_stops_per_hour", _num),
             ("decode time (x real time)", "decode_x_real_time", _num)]
    figures = Table(title="Figures")
    figures.add_column("")
    figures.add_column("recogniser", justify="right")
    if base:
        figures.add_column("baseline", justify="right")
    for title, key, fmt in lines:
        value = summary[key] if key == "decode_x_real_time" else mine[key]
        row = [title, fmt(value)]
        if base:
            row.append(fmt(base[key]))
        figures.add_row(*row)
    console.print(figures)
    if base:
        console.print(f"baseline: {base['method']}; it took "
                      f"{summary['speed_ratio_baseline_over_recogniser']}x the recogniser's time")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
