"""The settings a config file may hold: each key's name, what it allows and its default.

One table, read by the file (validation), by `voicecoach config` (show, set) and by
the command-line options the keys feed, so that a value is judged the same way
whether it comes from the file, an environment variable or `config set`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voicecoach.protocol.validate import CHECKIN_RANGE_S

ENV_PREFIX = "VOICECOACH_"

RATE_RANGE = (80, 400)
"""Speaking rate, words a minute: slower is a drone, faster is hard to follow upside down."""
DEFAULT_RATE = 160
"""voicecoach.voice.speaking.render.DEFAULT_VOICE.rate (kept here so that `config show`
needs no numpy; tests/test_config_cli.py holds the two equal)."""
VOLUME_RANGE = (0.1, 1.0)
"""A share of full scale. Never 0: the coach's questions are how distress is noticed, so it
must stay audible; quieter than -20 dB is the system volume's job."""
ANSWER_WAIT_RANGE_S = (15, 120)
"""The wait for the pain rating once upright. Stepping off a table with the ankles still
locked takes more than ten seconds; past two minutes the session just hangs."""
DEFAULT_ANSWER_WAIT_S = 30
"""voicecoach.session.engine.EngineSettings.after_answer_timeout_s (held equal by a test)."""
CHECKIN_RANGE = (int(CHECKIN_RANGE_S[0]), int(CHECKIN_RANGE_S[1]))
"""The same bounds a program's checkin_every_s must keep: at least every 2 minutes."""

TRUE_WORDS = frozenset({"true", "yes", "on", "1", "t", "y"})
FALSE_WORDS = frozenset({"false", "no", "off", "0", "f", "n"})
"""What click takes for a boolean (as in VOICECOACH_HEADPHONES=1), so `config set` and the
env var agree."""


class BadValue(ValueError):
    """A value a key does not allow; the message is what it allows ("must be ...")."""


def _shown(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _whole(low: int, high: int, unit: str = "") -> tuple[str, Callable[[object], object]]:
    allowed = f"a whole number{unit} from {low} to {high}"

    def check(value: object) -> object:
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool):
            raise BadValue(f"must be {allowed}, not {_shown(value)}")
        if not low <= value <= high:
            raise BadValue(f"must be {allowed}, not {value}")
        return value

    return allowed, check


def _number(low: float, high: float) -> tuple[str, Callable[[object], object]]:
    allowed = f"a number from {low:g} to {high:g}"

    def check(value: object) -> object:
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise BadValue(f"must be {allowed}, not {value!r}") from None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise BadValue(f"must be {allowed}, not {_shown(value)}")
        if not (math.isfinite(value) and low <= value <= high):
            raise BadValue(f"must be {allowed}, not {value:g}")
        return float(value)

    return allowed, check


def _flag() -> tuple[str, Callable[[object], object]]:
    allowed = "true or false"

    def check(value: object) -> object:
        if isinstance(value, str):
            word = value.strip().lower()
            if word in TRUE_WORDS | FALSE_WORDS:
                return word in TRUE_WORDS
        if not isinstance(value, bool):
            raise BadValue(f"must be {allowed}, not {_shown(value)}")
        return value

    return allowed, check


def _text(what: str, *, index_too: bool = False) -> tuple[str, Callable[[object], object]]:
    allowed = what

    def check(value: object) -> object:
        # A device may be given by index: microphone = 3 in the file means device 3.
        if index_too and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return str(value)
        if not isinstance(value, str) or not value.strip():
            raise BadValue(f"must be {allowed}, not {_shown(value)}")
        return value.strip()

    return allowed, check


@dataclass(frozen=True)
class Key:
    name: str
    """As written in config.toml; the env var is VOICECOACH_ and this in capitals."""
    allowed: str
    """What it takes, in words ("a whole number from 80 to 400")."""
    check: Callable[[object], object]
    """The value as the commands take it, from a TOML value or the text of `config set` or
    an env var; raises BadValue."""
    default: Any = None
    unset: str = ""
    """What a default of None means, in words."""
    help: str = ""

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def shown_default(self) -> str:
        return self.unset if self.default is None else show_value(self.default)


def show_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _key(name: str, kind: tuple[str, Callable[[object], object]], **kw: Any) -> Key:
    return Key(name, kind[0], kind[1], **kw)


KEYS: dict[str, Key] = {k.name: k for k in (
    _key("voice", _text("a voice name or id"),
         unset="the speech engine's default",
         help="the voice the coach speaks with (`voicecoach doctor` lists them)"),
    _key("rate", _whole(*RATE_RANGE), default=DEFAULT_RATE,
         help="speaking rate, words a minute"),
    _key("volume", _number(*VOLUME_RANGE), default=1.0,
         help="the coach's speech, as a share of full volume (alerts stay at full)"),
    _key("microphone", _text("a device name, part of one, or an index", index_too=True),
         unset="the system's default input", help="the microphone (start --mic)"),
    _key("speaker", _text("a device name, part of one, or an index", index_too=True),
         unset="the system's default output", help="the speaker (start --speaker)"),
    _key("headphones", _flag(), default=False,
         help="the microphone cannot hear the speaker"),
    _key("whisper_model", _text("a folder holding a Whisper model"),
         unset="the bundled tiny.en only", help="a larger model for numbers and yes/no"),
    _key("checkin_interval", _whole(*CHECKIN_RANGE, unit=" of seconds"),
         unset="the program's own checkin_every_s", help="seconds between pain check-ins"),
    _key("answer_wait", _whole(*ANSWER_WAIT_RANGE_S, unit=" of seconds"),
         default=DEFAULT_ANSWER_WAIT_S,
         help="once upright, how long to wait for the pain rating before asking again"),
)}
"""Every key, in the order `config show` lists them."""
