"""voicecoach's settings: a config file, env vars and options, one order for every key.

A command-line option wins over its env var (VOICECOACH_<KEY>), which wins over
config.toml in the config dir, which wins over the built-in default. The commands
get the file's values as click's default_map (voicecoach.cli.settings), so click
itself applies that order; `effective()` says the same for `voicecoach config show`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from voicecoach.config.file import (
    ConfigError,
    check_value,
    config_path,
    load,
    read_raw,
    unknown_key_error,
    write_key,
)
from voicecoach.config.keys import KEYS, Key, show_value

Source = Literal["default", "file", "env"]


@dataclass(frozen=True)
class Setting:
    key: Key
    value: Any
    """None: the default the key's `unset` describes."""
    source: Source

    def shown(self) -> str:
        return self.key.unset if self.value is None else show_value(self.value)


def effective(environ: Mapping[str, str] | None = None,
              path: Path | None = None) -> list[Setting]:
    """Every key's value for a command given no option, and where it comes from."""
    environ = os.environ if environ is None else environ
    from_file = load(path)
    settings = []
    for key in KEYS.values():
        text = environ.get(key.env_var)
        if text:  # an empty env var counts as unset, as click counts it
            settings.append(Setting(key, check_value(key.name, text, key.env_var), "env"))
        elif key.name in from_file:
            settings.append(Setting(key, from_file[key.name], "file"))
        else:
            settings.append(Setting(key, key.default, "default"))
    return settings


__all__ = ["KEYS", "ConfigError", "Key", "Setting", "check_value", "config_path", "effective",
           "load", "read_raw", "unknown_key_error", "write_key"]
