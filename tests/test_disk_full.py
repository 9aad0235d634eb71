"""A disk that fills while a session runs: a real one, a 3 MB tmpfs of its own mounted
in a private mount namespace (util-linux's unshare, no root needed), so SQLite, the
journal and the events file meet a real ENOSPC."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent
FILL = (
    'python3 -c "import os, sys\n'
    'fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND)\n'
    'try:\n'
    '    while True: os.write(fd, bytes(4096))\n'
    'except OSError: pass\n'
    'os.ftruncate(fd, max(0, os.fstat(fd).st_size - int(sys.argv[2])))" '
)
"""Fill the disk to the last byte, then give back N bytes: `$FILL FILE N`."""


def on_a_small_disk(disk: Path, script: str, env: dict[str, str] | None = None,
                    stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the shell `script` with a fresh 3 MB tmpfs mounted at `disk`."""
    disk.mkdir(exist_ok=True)
    return subprocess.run(
        ["unshare", "--map-root-user", "--mount", "sh", "-c",
         f'mount -t tmpfs -o size=3m tmpfs "{disk}" && {script}'],
        capture_output=True, text=True, timeout=300, input=stdin,
        env={**os.environ, **(env or {})})


CHILD_ON_A_DISK_THAT_FILLS = """
import json, os, sys
from pathlib import Path
from voicecoach.store import Store, StoreError

disk = Path(sys.argv[1])
db, journals, filler = disk / "voicecoach.db", disk / "recovery", disk / "filler"


def fill() -> None:
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"x" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


store = Store.open(db, journal_dir=journals)
sid = store.start_session(program="p", started_at="2024-05-01T08:00:00+00:00",
                          pid=os.getpid(), options={})
for n in range(50):
    if n == 20:
        fill()  # the disk fills in the middle of the hold
    store.log_event(sid, float(n), "heard", {"n": n, "transcript": "ready " * 40})
store.end_session(sid, "completed")
failure = store.failure
store.close()

# The next session finds the disk still full: it is refused before it starts.
try:
    Store.open(db, journal_dir=journals).start_session(
        program="p", started_at="2024-05-01T09:00:00+00:00", pid=os.getpid(), options={})
    refused = None
except StoreError as e:
    refused = str(e)

filler.unlink()  # the user frees some space
with Store.open(db, journal_dir=journals) as store:
    session = store.session(sid)
    events = [e["n"] for e in store.events(sid)]
    store.start_session(program="p", started_at="2024-05-01T10:00:00+00:00",
                        pid=os.getpid(), options={})
print(json.dumps({"failure": failure, "refused": refused, "status": session["status"],
                  "events": events, "reserve": (journals / "space-reserve").stat().st_size}))
"""


def test_a_disk_that_fills_mid_session_loses_nothing(tmp_path: Path) -> None:
    # The journal is on the same disk as the database, as it is by default.
    disk = tmp_path / "disk"
    script = tmp_path / "child.py"
    script.write_text(CHILD_ON_A_DISK_THAT_FILLS)
    run = on_a_small_disk(disk, f'exec "{sys.executable}" "{script}" "{disk}"')
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.splitlines()[-1])
    assert "the disk is full" in result["failure"]
    assert result["refused"] is not None and "is full" in result["refused"]
    assert result["status"] == "completed"
    assert result["events"] == list(range(50))
    assert result["reserve"] == 1024 * 1024  # in place again for the next session


def test_a_text_session_on_a_disk_that_fills_is_guided_to_its_end_and_kept(
        tmp_path: Path) -> None:
    disk, events = tmp_path / "home", tmp_path / "ev.jsonl"
    seed = ("from devkit.session_history import record_clean_screening, record_past_sessions\n"
            "from voicecoach.paths import default_db_path\n"
            "record_clean_screening(default_db_path()); record_past_sessions(default_db_path())")
    voicecoach = f'"{sys.executable}" -m voicecoach'
    script = (f'"{sys.executable}" -c "{seed}" && '
              # 48 KB left: the session starts, and its log soon outgrows the disk.
              f'{FILL} "{disk}/filler" 49152 && '
              f'{voicecoach} start --text --fast --no-checklist --pain 2 --events "{events}"'
              f' > "{tmp_path}/session.out" 2>&1; echo $? > "{tmp_path}/rc"; '
              f'rm "{disk}/filler" && {voicecoach} history --json')
    run = on_a_small_disk(disk, script, stdin="1\n" * 6, env={
        "VOICECOACH_HOME": str(disk),
        "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)])})
    said = (tmp_path / "session.out").read_text()
    assert (tmp_path / "rc").read_text().strip() == "0", said
    assert "Session complete" in said
    assert "the disk is full" in said and "Traceback" not in said
    assert run.returncode == 0, run.stderr
    newest = json.loads(run.stdout)[0]
    assert newest["status"] == "completed"
    logged = [json.loads(line) for line in events.read_text().splitlines()]
    assert newest["event_count"] == len(logged) > 20
    assert "merged recovery journal" in run.stderr
