"""`voicecoach programs`: list, show and check session programs."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from voicecoach.cli.common import json_option
from voicecoach.protocol.exercises import exercise_library
from voicecoach.protocol.program import Program, ProgramError
from voicecoach.protocol.validate import available_programs, load_program, user_programs_dir


class ProgramRefused(click.ClickException):
    """A program that cannot be used: one line on stderr, exit code 2."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        click.echo(self.format_message(), err=True)


def _load(name_or_path: str) -> Program:
    try:
        return load_program(name_or_path)
    except ProgramError as e:
        raise ProgramRefused(str(e)) from None


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    if not minutes:
        return f"{secs} s"
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"


def _angles(program: Program) -> str:
    angles = sorted({s.angle for s in program.steps})
    return f"{angles[0]}" if len(angles) == 1 else f"{angles[0]}-{angles[-1]}"


@click.group()
def programs() -> None:
    """Session programs: the built-in library and your own.

    Your own programs are TOML files in the config dir (see `programs list`);
    every program is checked against the safety rules before it is used.

    \b
    voicecoach programs list
    voicecoach programs show weeks-1-2
    voicecoach programs check my-program.toml
    """


@programs.command("list")
@json_option
def list_programs(json_: bool) -> None:
    """List the built-in programs and your own, with stage, angles and hold time."""
    rows: list[dict[str, object]] = []
    lines: list[str] = []
    for entry in available_programs():
        row: dict[str, object] = {"name": entry.name, "origin": entry.origin,
                                  "path": str(entry.path) if entry.path else None}
        label = entry.name + (" (yours)" if entry.origin == "user" else "")
        problem = ("hidden by the built-in program of the same name; rename the file"
                   if entry.shadowed else None)
        if problem is None:
            try:
                program = load_program(entry.path or entry.name)
            except ProgramError as e:
                problem = str(e)
            else:
                row.update(stage=program.stage, title=program.title, hold_s=program.hold_s,
                           angles=_angles(program), conditions=list(program.conditions),
                           sessions_per_day=program.sessions_per_day)
                conditions = (f" [{', '.join(program.conditions)}]"
                              if program.conditions else "")
                lines.append(f"{label}: {program.stage}, {_angles(program)} degrees, "
                             f"{_duration(program.hold_s)}{conditions}")
        if problem is not None:
            row["problem"] = problem
            lines.append(f"{label}: REFUSED: {problem}")
        rows.append(row)
    if json_:
        click.echo(json.dumps(rows, indent=2))
        return
    for line in lines:
        click.echo(line)
    click.echo(f"\nYour own programs go in {user_programs_dir()}/NAME.toml")


@programs.command()
@click.argument("name")
@json_option
def show(name: str, json_: bool) -> None:
    """Show a program step by step: NAME is a built-in, one of yours, or a TOML file."""
    program = _load(name)
    if json_:
        click.echo(json.dumps(asdict(program), indent=2))
        return
    click.echo(f"{program.title} ({program.name})")
    click.echo(f"Stage: {program.stage}" + (f"; for: {', '.join(program.conditions)}"
                                            if program.conditions else ""))
    if program.sessions_per_day:
        click.echo(f"Sessions a day: at most {program.sessions_per_day}")
    if program.description:
        click.echo(program.description.strip())
    click.echo(f"\nLean back over {_duration(program.descend_s)}, then "
               f"{_duration(program.hold_s)} of holds:")
    for i, step in enumerate(program.steps, start=1):
        click.echo(f"  {i}. {step.title}: {step.angle} degrees, {_duration(step.duration_s)}")
        if step.instruction:
            click.echo(f"       {step.instruction}")
        for cue in step.cues:
            click.echo(f"       at {cue.at_s:g} s: {cue.text}")
    rp = program.return_protocol
    click.echo(f"\nTime left every {_duration(program.announce_every_s)}; pain check-in every "
               f"{_duration(program.checkin_every_s)}.")
    click.echo(f"Coming up: rise over {_duration(rp.rise_s)}, pause at about 30 degrees for "
               f"{_duration(rp.pause_s)}, stay upright {_duration(rp.upright_s)} before "
               "releasing the ankles.")


@programs.command()
@click.argument("file")
def check(file: str) -> None:
    """Check a program against the safety rules: prints "ok" or the one rule it breaks.

    FILE is a TOML file (or a program name). Exit code 2 if the program is refused.
    """
    _load(file)
    click.echo("ok")


@programs.command()
@json_option
def exercises(json_: bool) -> None:
    """List the exercises a program step can name with `exercise = "NAME"`."""
    library = exercise_library()
    if json_:
        click.echo(json.dumps([asdict(e) for e in library.values()], indent=2))
        return
    for ex in library.values():
        hold = f", holds of {ex.hold_s:g} s" if ex.hold_s else ""
        click.echo(f"{ex.name}: {ex.title}, {_duration(ex.duration_s)}{hold}; "
                   f"from stage {ex.min_stage}")
        click.echo(f"    {ex.instruction}")
