"""Is the process that started a session still running?

A pid alone is not enough: pids are reused, a killed child stays a zombie until
its parent reaps it, and a database on a shared drive may be written from
another machine. On Linux the process start time (with the boot id) tells a
reused pid apart; elsewhere the pid check is all there is.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

PROC = Path("/proc")


def host_name() -> str:
    return socket.gethostname()


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces; split after it.
    after_name = raw[raw.rfind(")") + 2:]
    return after_name.split()


def process_start(pid: int) -> str | None:
    """An id of this process's life: boot id plus start time, or None off Linux."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 20:
        return None
    try:
        boot_id = (PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot_id = "?"
    # fields[19] is field 22 of /proc/<pid>/stat: start time in clock ticks since boot.
    return f"{boot_id}:{fields[19]}"


def is_alive(pid: int, started: str | None = None) -> bool:
    """True if `pid` runs and, when `started` is known, is the same process as then."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    fields = _stat_fields(pid)
    if fields is not None and fields and fields[0] == "Z":
        return False  # killed, not yet reaped: it will never write again
    if started is not None:
        now = process_start(pid)
        if now is not None and now != started:
            return False  # the pid was reused by another process
    return True
