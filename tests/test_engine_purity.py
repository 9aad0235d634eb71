"""The engine's package is pure: nothing in voicecoach/session/ touches a device, a thread,
the wall clock, a file or the screen. Its imports are checked by reading its source."""

from __future__ import annotations

import ast
from pathlib import Path

SESSION = Path(__file__).parent.parent / "voicecoach" / "session"

ALLOWED = {
    "__future__", "collections", "collections.abc", "dataclasses", "enum", "heapq",
    "itertools", "typing", "voicecoach.session", "voicecoach.protocol.limits",
    "voicecoach.protocol.program",
}
"""Standard modules with no side effects, the engine's own package, and the protocol's data
and limits. Not: time, threading, os, signal, subprocess, numpy, rich, sqlite3, or any of
voicecoach.runtime, voice, store, cli."""


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def allowed(module: str) -> bool:
    return any(module == a or module.startswith(a + ".") for a in ALLOWED)


def test_the_session_package_imports_nothing_impure():
    modules = sorted(SESSION.glob("*.py"))
    assert {p.stem for p in modules} >= {"engine", "events", "actions", "clock", "prompts",
                                         "commands"}
    impure = {p.name: sorted(m for m in imports_of(p) if not allowed(m)) for p in modules}
    assert {name: bad for name, bad in impure.items() if bad} == {}


def test_the_check_would_catch_a_wall_clock():
    assert not allowed("time") and not allowed("threading")
    assert not allowed("voicecoach.runtime.clock") and not allowed("voicecoach.voice.pcm")
