"""Space kept back on the journal's disk, so a session still has somewhere to go when the
disk fills while it runs.

When the disk holding the database fills mid-session, SQLite cannot commit and the
store turns to its recovery journal, which lives on the same disk as a rule (the data
folder) and so cannot be written either: the session would be kept only in memory and
lost with the process. A session therefore starts by making sure a reserve file of
RESERVE_BYTES, really allocated, sits in the journal folder; when a write fails for want
of space the reserve is deleted and the journal written into the room it leaves. A long
session's journal is tens of kilobytes, so one megabyte holds several.

A disk too full to hold the reserve at the start refuses the session: before anyone is
inverted, refusing is the safe answer.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

RESERVE_BYTES = 1024 * 1024
RESERVE_NAME = "space-reserve"


class NoSpace(Exception):
    """The disk is too full for a session to start; the message is one line."""


def reserve_path(journal_dir: Path) -> Path:
    return journal_dir / RESERVE_NAME


def ensure_reserve(journal_dir: Path) -> None:
    """Make sure the reserve is in place, allocated on disk (not a sparse file).

    Raises NoSpace if the disk cannot hold it; other OSErrors (a read-only folder) are
    left to the journal's own handling and only logged here.
    """
    path = reserve_path(journal_dir)
    try:
        if path.stat().st_size >= RESERVE_BYTES:
            return
    except FileNotFoundError:
        pass
    except OSError as e:
        logger.warning("cannot check the space reserve %s: %s", path, e)
        return
    try:
        journal_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            _allocate(fd, RESERVE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            path.unlink(missing_ok=True)
            raise NoSpace(f"the disk holding {journal_dir} is full: free some space first, "
                          "or nothing of the session could be kept") from None
        logger.warning("cannot make the space reserve %s: %s", path, e)


def _allocate(fd: int, size: int) -> None:
    """Blocks really taken (a sparse file would free nothing when deleted)."""
    if hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, size)
            return
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise
    os.lseek(fd, 0, os.SEEK_SET)
    block = b"\0" * 65536
    for _ in range(size // len(block)):
        os.write(fd, block)


def release_reserve(journal_dir: Path) -> bool:
    """Delete the reserve, giving its space to the journal; True if there was one."""
    path = reserve_path(journal_dir)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as e:
        logger.warning("cannot release the space reserve %s: %s", path, e)
        return False
    logger.warning("the disk is full: released %s for the recovery journal", path)
    return True


def is_out_of_space(error: BaseException) -> bool:
    """A write that failed for want of space: OSError ENOSPC/EDQUOT or SQLite's FULL."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    name = getattr(error, "sqlite_errorname", "") or ""
    return "FULL" in name or "disk is full" in str(error).lower()
