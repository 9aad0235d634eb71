"""The config file's keys as command-line options: their env vars, their types, and the
file's values handed to click as each command's default_map.

click then applies one order to every key: the option, else its env var, else the
default_map (the file), else the option's own default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from voicecoach.config import KEYS, ConfigError, Key, load

F = TypeVar("F", bound=Callable[..., Any])

USES: dict[str, dict[str, str]] = {
    "voice": {"start": "voice"},
    "rate": {"start": "rate"},
    "volume": {"start": "volume"},
    "microphone": {"start": "mic", "doctor": "mic"},
    "speaker": {"start": "speaker", "doctor": "speaker"},
    "headphones": {"start": "headphones"},
    "whisper_model": {"start": "whisper_model", "listen": "whisper_model",
                      "eval": "whisper_model"},
    "checkin_interval": {"start": "checkin_interval"},
    "answer_wait": {"start": "answer_wait"},
}
"""Which option of which command each key feeds: {key: {command: parameter name}}."""


class ConfigProblem(click.ClickException):
    """The config file or a value for it cannot be used: configuration, so exit code 2."""

    exit_code = 2


def defaults_for(command: str | None) -> dict[str, Any]:
    """The config file's values for `command`'s options, keyed by parameter name (click's
    default_map for it). The file is only read for a command that takes one of its keys,
    so a broken file stops `start`, never `history` or `config set` mending it."""
    wanted = {key: uses[command] for key, uses in USES.items() if command in uses}
    if not wanted:
        return {}
    try:
        values = load()
    except ConfigError as e:
        raise ConfigProblem(str(e)) from None
    return {wanted[key]: value for key, value in values.items() if key in wanted}


class KeyType(click.ParamType):
    """An option's type that is its config key's own check: the option, the env var and
    the file are refused with the same words ("must be a number from 0.1 to 1")."""

    def __init__(self, key: Key) -> None:
        self.key = key
        self.name = key.name

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        try:
            return self.key.check(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


def setting_option(key_name: str, *decls: str, help: str, **kwargs: Any) -> Callable[[F], F]:
    """A click option fed by config key `key_name`: its env var is VOICECOACH_<KEY> and
    `--help` names both."""
    key = KEYS[key_name]
    if "type" not in kwargs and not kwargs.get("is_flag"):
        kwargs["type"] = KeyType(key)
    return click.option(*decls, envvar=key.env_var, show_envvar=True,
                        help=f"{help} Config key: {key.name}.", **kwargs)
