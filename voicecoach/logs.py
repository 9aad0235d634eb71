"""Where voicecoach's own messages go: a session's log file, and one line on the terminal.

Nothing a library or a helper thread logs may put a traceback on the screen of someone
hanging upside down: the terminal gets one line a warning, without the traceback, and
a session keeps the whole record (tracebacks included) in its log file, for a bug
report.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from voicecoach import paths

LOG_NAME = "voicecoach.log"
LOG_BYTES = 1_000_000
"""A log file is rolled over at this size; two old ones are kept."""


class OneLine(logging.Formatter):
    """The message alone, on one line: no traceback, no stack."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().replace("\n", " ")
        return f"voicecoach: {message}"


class SessionLogFile(logging.handlers.RotatingFileHandler):
    """The log file, which must never be the thing that fails: a write it cannot make (a
    full disk) is dropped, where logging's own handler would print a traceback to the
    terminal. The terminal line for the same record is still printed, by its handler."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        pass


def quiet_terminal() -> None:
    """Warnings and errors from voicecoach's modules reach stderr as one line each (and
    only once, however often this is called)."""
    package = logging.getLogger("voicecoach")
    if any(isinstance(h.formatter, OneLine) for h in package.handlers):
        return
    terminal = logging.StreamHandler(sys.stderr)
    terminal.setLevel(logging.WARNING)
    terminal.setFormatter(OneLine())
    # With a handler of its own the package's records no longer fall to logging's last
    # resort, which printed the traceback as well.
    package.addHandler(terminal)


def log_path(create: bool = True) -> Path:
    """The session log; its folder made if missing unless `create` is False."""
    return paths.data_dir(create) / LOG_NAME


def log_to_file() -> Path | None:
    """Keep everything voicecoach logs from INFO up, tracebacks included, in the log file
    (a session calls this: it writes to the data folder anyway). None if the file cannot
    be opened; the session goes on without it."""
    package = logging.getLogger("voicecoach")
    path = log_path()
    for handler in package.handlers:
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename) == path:
            return path
    try:
        handler = SessionLogFile(path, maxBytes=LOG_BYTES, backupCount=2, encoding="utf-8")
    except OSError:
        return None
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    package.addHandler(handler)
    if package.getEffectiveLevel() > logging.INFO:
        package.setLevel(logging.INFO)
    return path
