"""A backup on a read-only medium: every command that only reads works on it, and one that
would write says so in one line. The medium is real: the folder bind-mounted read-only
in a private mount namespace (util-linux's unshare), where even root cannot write."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from devkit.session_history import record_clean_screening, record_past_sessions
from voicecoach.store import Store

READ_ONLY_COMMANDS = {
    "history": ["history", "--json"],
    "plan": ["plan", "--json"],
    "track": ["track", "--list", "--json"],
    "export": ["export", "--format", "json"],
    "report": ["report"],
}


def _on_a_read_only_medium(folder: Path, commands: list[list[str]]
                           ) -> list[subprocess.CompletedProcess[str]]:
    """Run each voicecoach command with `folder` mounted read-only."""
    results = []
    for args in commands:
        line = shlex.join([sys.executable, "-m", "voicecoach", *args])
        results.append(subprocess.run(
            ["unshare", "--map-root-user", "--mount", "sh", "-c",
             f'mount --bind "{folder}" "{folder}" && mount -o remount,bind,ro "{folder}"'
             f' && {line}'],
            capture_output=True, text=True, timeout=120, env=os.environ.copy()))
    return results


def test_every_reading_command_works_on_a_read_only_backup(tmp_path: Path) -> None:
    db = tmp_path / "voicecoach.db"
    record_clean_screening(db)
    record_past_sessions(db, count=4)
    medium = tmp_path / "usb"
    medium.mkdir()
    with Store.open(db) as store:
        backup = store.backup(medium / "backup.db")
    before = backup.read_bytes()
    names = list(READ_ONLY_COMMANDS)
    results = _on_a_read_only_medium(
        medium, [[*READ_ONLY_COMMANDS[n], "--db", str(backup)] for n in names]
        + [["backup", "--db", str(backup), "--out", str(tmp_path / "copy.db")],
           ["track", "--toe-touch", "5", "--db", str(backup)]])
    by_name = dict(zip(names, results, strict=False))
    for name, result in by_name.items():
        assert result.returncode == 0, (name, result.stderr)
        assert "Traceback" not in result.stderr
    assert len(json.loads(by_name["history"].stdout)) == 4
    assert len(json.loads(by_name["export"].stdout)["sessions"]) == 4
    copied, written = results[len(names)], results[len(names) + 1]
    assert copied.returncode == 0, copied.stderr
    with Store.open(tmp_path / "copy.db") as store:
        assert len(store.sessions()) == 4
    # A command that writes cannot, and says so in a line.
    assert written.returncode == 2, written.stderr
    assert "Traceback" not in written.stderr
    assert len(written.stderr.strip().splitlines()) == 1, written.stderr
    assert backup.read_bytes() == before
