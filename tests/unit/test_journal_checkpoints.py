"""The SQLite journal's WAL checkpoints run in a thread of their own under ``edigw run`` (#8)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from gateway.storage.journal import SqliteJournal


def _wal_pages(path: Path) -> tuple[int, int]:
    """(frames in the WAL, frames of it already copied into the database), read-only."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        _busy, log, done = connection.execute("PRAGMA wal_checkpoint(NOOP)").fetchone()
        return int(log), int(done)
    except sqlite3.OperationalError:
        # Older SQLite has no NOOP mode: a PASSIVE checkpoint would change what we measure.
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        raise AssertionError(f"cannot read the WAL without checkpointing ({mode})") from None
    finally:
        connection.close()


def _write(journal: SqliteJournal, n: int, first: int = 0) -> None:
    for i in range(first, first + n):
        with journal.unit_of_work():
            journal.record_message(f"m{i}", type="inbound", partner="apcs", correlation_id="c")
            journal.record_event(f"m{i}", "received", "x" * 500)


def test_background_checkpoints_copy_the_wal_without_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = SqliteJournal(path)
    try:
        journal.checkpoint_in_background(every=0.05)
        # The writer's own connection no longer checkpoints at 1,000 pages.
        assert journal._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        _write(journal, 400)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            log, done = _wal_pages(path)
            if log > 0 and done == log:
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"the WAL was not checkpointed: {_wal_pages(path)}")
        assert journal.processed("m0") is None  # still readable and writable
        _write(journal, 10, first=400)
        assert journal.track("m405")[0].events[0].status == "received"
    finally:
        journal.close()
    assert journal._checkpointer is None


def test_without_background_checkpoints_sqlite_checkpoints_in_the_commit(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = SqliteJournal(path)
    try:
        assert journal._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        assert journal._checkpointer is None
    finally:
        journal.close()


def test_an_in_memory_journal_has_no_checkpoint_thread() -> None:
    journal = SqliteJournal(":memory:")
    journal.checkpoint_in_background(every=0.05)
    assert journal._checkpointer is None
    journal.close()
