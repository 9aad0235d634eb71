"""`voicecoach recover`: a database damaged in the middle gives back every row it can.

The damage is real: pages of the file overwritten with random bytes after the sessions
were written, as a failing disk or a stray write would leave them.
"""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from devkit.session_history import record_clean_screening
from voicecoach.cli import main
from voicecoach.store import Store
from voicecoach.store.journal import journal_files
from voicecoach.store.store import default_journal_dir

SESSIONS = 4
EVENTS = 600
"""Events a session: enough that the events table spans tens of pages."""


def _history(db: Path) -> None:
    record_clean_screening(db)
    with Store.open(db) as store:
        for s in range(SESSIONS):
            sid = store.start_session(program="first-session",
                                      started_at=f"2026-11-0{s + 1}T10:00:00+00:00", pid=1,
                                      options={"mode": "voice"})
            store.log_event(sid, 0.0, "pain", {"phase": "before", "value": 3,
                                               "source": "key 3"})
            for i in range(EVENTS):
                store.log_event(sid, 1.0 + i, "prompt", {"id": f"cue_{i}", "text": "x" * 40})
            store.end_session(sid, "completed")
    with sqlite3.connect(db) as conn:  # everything into the main file, as after a while
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _damage(db: Path, pages: list[int], seed: int = 1) -> None:
    size = 4096
    rng = random.Random(seed)
    with db.open("r+b") as f:
        for page in pages:
            f.seek(page * size + 100)
            f.write(bytes(rng.randrange(256) for _ in range(size - 200)))


def _events_page_numbers(db: Path) -> list[int]:
    """Pages of the events table's b-tree, found through SQLite's own dbstat."""
    with sqlite3.connect(db) as conn:
        try:
            rows = conn.execute("SELECT pageno FROM dbstat WHERE name = 'events'"
                                " AND pagetype = 'leaf'").fetchall()
        except sqlite3.OperationalError:  # no dbstat in this build: the file's middle
            count = conn.execute("PRAGMA page_count").fetchone()[0]
            return list(range(count // 3, count // 3 + 3))
    return [int(r[0]) - 1 for r in rows]  # 0-based offsets


def test_a_database_damaged_in_the_middle_is_recovered_row_by_row(tmp_path: Path):
    db = tmp_path / "voicecoach.db"
    _history(db)
    with sqlite3.connect(db) as conn:
        written = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    leaves = _events_page_numbers(db)
    assert len(leaves) > 20
    _damage(db, leaves[len(leaves) // 2: len(leaves) // 2 + 2])  # two pages of events

    runner = CliRunner()
    refused = runner.invoke(main, ["history", "--db", str(db)])
    assert refused.exit_code == 2 and "damaged" in refused.output, refused.output

    result = runner.invoke(main, ["recover", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["damaged"] is True and report["sessions"] == SESSIONS
    copied, lost = report["copied"], report["lost"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        events = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        pains = conn.execute("SELECT COUNT(*) FROM pain").fetchone()[0]
        screenings = conn.execute("SELECT COUNT(*) FROM screenings").fetchone()[0]
    assert events == copied["events"]
    # Two pages of events (about 150 rows each) are gone, and counted; the rest is there.
    assert 0 < lost["events"] <= 400, lost
    assert events + lost["events"] == written
    assert pains == SESSIONS and screenings == 1
    # The damaged file is kept, and the commands work again.
    assert Path(report["kept"]).exists()
    assert runner.invoke(main, ["history", "--db", str(db)]).exit_code == 0
    assert "first-session" in runner.invoke(main, ["history", "--db", str(db)]).output


def test_a_sound_database_is_left_alone(tmp_path: Path):
    db = tmp_path / "voicecoach.db"
    _history(db)
    before = db.read_bytes()
    result = CliRunner().invoke(main, ["recover", "--db", str(db)])
    assert result.exit_code == 0 and "not damaged" in result.output
    assert db.read_bytes() == before


def test_a_file_with_nothing_readable_is_one_line_and_exit_2(tmp_path: Path):
    db = tmp_path / "voicecoach.db"
    db.write_bytes(bytes(random.Random(2).randrange(256) for _ in range(40_000)))
    result = CliRunner().invoke(main, ["recover", "--db", str(db)])
    assert result.exit_code == 2, result.output
    assert "nothing could be read" in result.output and "restore a backup" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert db.exists()  # the user's file is not touched


def test_damage_during_a_session_is_found_at_its_end_and_the_session_kept(tmp_path: Path):
    """The file is damaged while a session writes (old pages, as a failing disk would):
    the end of the session finds it, the whole session goes to the journal, and
    `recover` brings it back beside what the damaged file still holds."""
    db = tmp_path / "voicecoach.db"
    _history(db)
    leaves = _events_page_numbers(db)
    store = Store.open(db)
    sid = store.start_session(program="weeks-1-2", started_at="2026-12-01T09:00:00+00:00",
                              pid=1, options={"mode": "voice"})
    for i in range(50):
        store.log_event(sid, float(i), "prompt", {"id": f"today_{i}", "text": "y"})
    _damage(db, leaves[3:5], seed=7)
    store.end_session(sid, "completed")
    assert store.failure is not None and "is damaged" in store.failure, store.failure
    assert "voicecoach recover" in store.failure
    store.close()
    assert journal_files(default_journal_dir(db), db)  # the session, whole

    result = CliRunner().invoke(main, ["recover", "--db", str(db)])
    assert result.exit_code == 0, result.output
    with Store.open(db) as recovered:
        today = [s for s in recovered.sessions() if s["program"] == "weeks-1-2"]
        assert len(today) == 1 and today[0]["status"] == "completed"
        assert len(recovered.events(today[0]["id"])) == 50
    assert not journal_files(default_journal_dir(db), db)  # merged, and gone
