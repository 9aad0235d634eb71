"""`voicecoach config path|show|set|unset`: the settings file, read and written."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from voicecoach.cli.common import json_option
from voicecoach.cli.settings import ConfigProblem
from voicecoach.config import (
    KEYS,
    ConfigError,
    check_value,
    config_path,
    effective,
    load,
    read_raw,
    unknown_key_error,
    write_key,
)
from voicecoach.config.file import toml_value


def _key_list() -> str:
    """Each key, what it sets and what it takes, wrapped by hand: `\\b` keeps click
    from joining the lines."""
    width = max(len(name) for name in KEYS)
    lines = []
    for key in KEYS.values():
        lines += textwrap.wrap(f"{key.name:<{width}}  {key.help}; {key.allowed}", 76,
                               initial_indent="  ", subsequent_indent=" " * (width + 4))
    return "\n".join(lines)


HELP = f"""The settings every session starts with, kept in config.toml in your config
folder (`voicecoach config path`).

For each key the order is the same: an option on the command line wins over its
env var (VOICECOACH_ and the key in capitals), which wins over the file, which
wins over the built-in default. `config show` says which one each key comes from.
Only `config set` and `config unset` write the file; no other command creates it.

\b
Examples:
  voicecoach config show                    # every key, its value and where from
  voicecoach config set rate 150            # speak a little slower
  voicecoach config set microphone "USB Audio"
  voicecoach config set headphones true
  voicecoach config unset rate              # back to the default
  VOICECOACH_RATE=180 voicecoach start      # for one session
  voicecoach start --rate 180               # the same

\b
Keys:
{_key_list()}
"""


@click.group("config", help=HELP)
def config_command() -> None:
    pass


@config_command.command("path", short_help="Print where the config file is.")
def path_command() -> None:
    """Print where the config file is, whether or not it exists yet (nothing is created).

    \b
    Example:
      $EDITOR "$(voicecoach config path)"
    """
    click.echo(str(config_path()))


@config_command.command("show", short_help="Every key, its value and where it comes from.")
@json_option
def show_command(json_: bool) -> None:
    """Print every key with the value a session would get, and where it comes from
    (default, file or env). An option on the command line still wins over these.

    \b
    Examples:
      voicecoach config show
      voicecoach config show --json
    """
    path = config_path()
    try:
        settings = effective(path=path)
    except ConfigError as e:
        raise ConfigProblem(str(e)) from None
    if json_:
        click.echo(json.dumps({
            "file": str(path), "file_exists": path.is_file(),
            "settings": {s.key.name: {"value": s.value, "from": s.source,
                                      "env_var": s.key.env_var} for s in settings},
        }, indent=2, ensure_ascii=False))
        return
    rows = [(s.key.name, s.shown(), s.source, s.key.env_var) for s in settings]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for name, value, source, env in rows:
        click.echo(f"{name:<{widths[0]}}  {value:<{widths[1]}}  {source:<{widths[2]}}  {env}")
    click.echo(f"file: {path}{'' if path.is_file() else ' (not created yet)'}")


@config_command.command("set", short_help="Set a key in the config file.")
@click.argument("key", metavar="KEY")
@click.argument("value", metavar="VALUE")
def set_command(key: str, value: str) -> None:
    """Set KEY to VALUE in the config file, keeping every other key and comment.

    The value is checked first; a bad one changes nothing. The file is written
    whole to a temporary file and renamed over the old one, so it is never left
    half written. A relative whisper_model path is made absolute.

    \b
    Examples:
      voicecoach config set voice "English (America)"
      voicecoach config set volume 0.8
      voicecoach config set checkin_interval 45
    """
    path = config_path()
    with _editing(path):
        checked = check_value(key, value)
        if key == "whisper_model":
            checked = _model_folder(str(checked))
        write_key(path, key, checked)
    click.echo(f"{key} = {toml_value(checked)}  ({path})")
    _notes(path, key)


@config_command.command("unset", short_help="Remove a key from the config file.")
@click.argument("key", metavar="KEY")
def unset_command(key: str) -> None:
    """Remove KEY from the config file: it goes back to its default (or its env var).

    \b
    Example:
      voicecoach config unset rate
    """
    path = config_path()
    with _editing(path):
        if key not in read_raw(path):
            if key not in KEYS:
                raise unknown_key_error(key)
            click.echo(f"{key} is not set in {path}")
            return
        write_key(path, key, None)  # an unknown key too: removing it mends the file
    click.echo(f"{key} removed from {path}")
    _notes(path, key)


@contextmanager
def _editing(path: Path) -> Iterator[None]:
    """A bad value, a broken file or a failed write as one line and exit 2."""
    try:
        yield
    except ConfigError as e:
        raise ConfigProblem(str(e)) from None
    except OSError as e:
        raise ConfigProblem(f"cannot write {path}: {e.strerror}") from None


def _model_folder(text: str) -> str:
    """A whisper_model given to `config set`: taken from where the command runs, written
    absolute, and refused at once if it holds no model (rather than at the next session)."""
    folder = Path(text).expanduser().resolve()
    if not (folder / "model.bin").is_file():
        raise ConfigError(f"whisper_model: {folder} holds no Whisper model (no model.bin in it)")
    return str(folder)


def _notes(path: Path, key: str) -> None:
    """What still keeps the new value from a session: an env var that wins over the file,
    or another key of the file that is wrong (kept as it was: one key is mended at a
    time, and a session refuses the file until all are)."""
    env = KEYS[key].env_var if key in KEYS else None
    if env and os.environ.get(env):
        click.echo(f"Note: {env} is set, and wins over the file.", err=True)
    try:
        load(path)
    except ConfigError as e:
        click.echo(f"Note: {e}", err=True)

