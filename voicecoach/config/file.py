"""config.toml in the config dir: read and checked whole, written atomically.

Reading never creates anything: a missing file is an empty one. Writing goes
through a temporary file in the same folder, fsynced, then renamed over the old
one, so a crash or a full disk leaves the old file or the new one, never half of
either. A set or an unset edits only its own line, so comments and the other keys
stay as they were.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from voicecoach import paths
from voicecoach.config.keys import KEYS, BadValue, show_value

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FILE_NAME = "config.toml"
MAX_CONFIG_BYTES = 64 * 1024
"""A few flat keys: anything larger is not a config file (and is not read whole)."""


class ConfigError(Exception):
    """The config file (or a value for it) cannot be used; the message is one line."""


def config_path() -> Path:
    """Where the config file is, or would be: creates nothing."""
    return paths.config_dir(create=False) / FILE_NAME


def read_raw(path: Path) -> dict[str, Any]:
    """The file's TOML as it is (no key checked); {} if there is no file."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ConfigError(f"{path}: cannot be read ({e.strerror})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: is over {MAX_CONFIG_BYTES // 1024} KB: not a config file")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: is not UTF-8 text (byte {e.start})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: is not valid TOML ({e})") from None
    except RecursionError:
        raise ConfigError(f"{path}: nests too deeply to be a config file") from None


def _at(where: Path | str | None) -> str:
    return f"{where}: " if where is not None else ""


def unknown_key_error(name: str, where: Path | str | None = None) -> ConfigError:
    return ConfigError(f"{_at(where)}unknown key {name!r}; the keys are {', '.join(KEYS)}")


def check_value(name: str, value: object, where: Path | str | None = None) -> object:
    """`value` as the commands take it, or a ConfigError naming `where` (the file, or the
    env var) and the key."""
    key = KEYS.get(name)
    if key is None:
        raise unknown_key_error(name, where)
    try:
        return key.check(value)
    except BadValue as e:
        raise ConfigError(f"{_at(where)}{name} {e}") from None


def load(path: Path | None = None) -> dict[str, Any]:
    """The file's settings, every key checked: {name: value}. An unknown key or a bad
    value is a ConfigError naming the file and the key."""
    path = path or config_path()
    values: dict[str, Any] = {}
    for name, value in read_raw(path).items():
        values[name] = check_value(name, value, path)
    if "whisper_model" in values:
        # A path written in the file is taken from the file's folder, not from wherever
        # the command happens to run.
        model = Path(values["whisper_model"]).expanduser()
        values["whisper_model"] = str(model if model.is_absolute() else path.parent / model)
    return values


def toml_value(value: object) -> str:
    """A str, int, float or bool as TOML. JSON's string escapes are TOML's too."""
    if isinstance(value, bool | int | float):
        return show_value(value) if not isinstance(value, float) else repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _edited(text: str, name: str, value: object | None) -> str:
    """`text` with `name`'s line replaced by `name = value` (or removed when None),
    or the line appended when there was none."""
    line = re.compile(rf"^[ \t]*{re.escape(name)}[ \t]*=.*$\n?", re.M)
    new = "" if value is None else f"{name} = {toml_value(value)}\n"
    if line.search(text):
        return line.sub(lambda _m: new, text, count=1)
    if value is None:
        return text
    return text + ("" if not text or text.endswith("\n") else "\n") + new


def _fresh(values: dict[str, Any]) -> str:
    return "".join(f"{name} = {toml_value(value)}\n" for name, value in values.items())


def write_key(path: Path, name: str, value: object | None) -> None:
    """Set `name` to `value` (None: remove it), keeping every other key as it is.

    The edit is by line, to keep the user's comments; if the result does not read back
    as exactly the expected keys (a value written over several lines by hand, say), the
    file is written afresh from its values instead.
    """
    old_text = path.read_text(encoding="utf-8") if path.exists() else ""
    expected = dict(read_raw(path))
    if value is None:
        expected.pop(name, None)
    else:
        expected[name] = value
    text = _edited(old_text, name, value)
    try:
        by_line = tomllib.loads(text) == expected
    except tomllib.TOMLDecodeError:
        by_line = False
    if not by_line:
        if not all(isinstance(v, str | int | float | bool) for v in expected.values()):
            # Tables or lists (never valid here) cannot be written back by this writer.
            raise ConfigError(f"{path}: holds tables or lists, which no key takes; edit "
                              "them out by hand")
        text = _fresh(expected)
    write_atomically(path, text)


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text`: a temp file in the same folder, fsynced, renamed over
    it, then the folder fsynced so the rename itself survives a power cut."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(temp, path.stat().st_mode & 0o7777)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    try:
        folder = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return  # not every platform opens folders (Windows): the rename is done anyway
    try:
        os.fsync(folder)
    except OSError:
        pass
    finally:
        os.close(folder)
