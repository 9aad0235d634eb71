"""Writing a command's result to a file or stdout: a path that cannot be written is
one line and exit code 2."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click


class OutputProblem(click.ClickException):
    """The output file cannot be written: bad input or configuration, so exit code 2."""

    exit_code = 2


def check_out_path(out: Path, suffixes: tuple[str, ...] | None = None, *,
                   force: bool = False) -> None:
    """Refuse, before any work, an output path that cannot be written, or one that holds a
    file already (unless `force`: a report or an export is never overwritten by surprise,
    as a backup never is)."""
    if suffixes is not None and out.suffix.lower() not in suffixes:
        raise click.BadParameter(
            f"{out.name!r} must end in {' or '.join(suffixes)}", param_hint="--out")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise OutputProblem(f"cannot write {out}: directory {parent} does not exist")
    if out.is_dir():
        raise OutputProblem(f"cannot write {out}: it is a directory")
    if out.exists() and not force:
        raise OutputProblem(f"{out} exists already: add --force to replace it")


def write_file(out: Path, content: str | bytes) -> None:
    """Write `content` to `out` whole or not at all: a reader never sees half a report."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    parent = out.parent if str(out.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{out.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, out)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as e:
        raise OutputProblem(f"cannot write {out}: {e.strerror or e}") from None
