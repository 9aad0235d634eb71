"""Finding a session's helper processes (the judge, the speech engine) to fault them.

Plain functions, imported by the tests and by the benchmarks in scripts/ alike.
"""

from __future__ import annotations

from pathlib import Path

JUDGE = "voicecoach.voice.hearing.judge_worker"
RENDERER = "voicecoach.voice.speaking.render_worker"


def children_running(parent: int, module: str) -> list[int]:
    """The pids of `parent`'s children whose command line runs `module`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and module in cmdline:
            found.append(int(entry.name))
    return found
