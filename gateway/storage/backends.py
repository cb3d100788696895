"""Which journal, operators' audit trail and LPCO registry the configuration names: the one
place a storage backend is chosen. Called by the composition root (``gateway.bootstrap``) only.

>>> journal = open_journal("sqlite", ":memory:")
>>> journal.track("nothing")
[]
>>> open_journal("mongodb", "x")
Traceback (most recent call last):
...
ValueError: unknown journal backend 'mongodb'
"""

from __future__ import annotations

from pathlib import Path

from gateway.logs import get_logger
from gateway.storage.audit import POSTGRES_AUDIT_TABLES, AuditTrail, SqlAuditTrail
from gateway.storage.audit import read_audit_file as read_audit_file
from gateway.storage.journal import SqliteJournal
from gateway.storage.lpco_records import POSTGRES_LPCO_TABLE, LpcoRecords, SqliteLpcoRecords
from gateway.storage.records import Journal


def open_journal(backend: str, path: str) -> Journal:
    """The journal named by configuration ("sqlite": a file; "postgresql": a DSN)."""
    if backend == "sqlite":
        return SqliteJournal(path)
    if backend == "postgresql":
        # psycopg takes a quarter of a second to import: only where PostgreSQL is configured.
        from gateway.storage.journal_pg import PostgresJournal

        return PostgresJournal(path)
    raise ValueError(f"unknown journal backend {backend!r}")


# What releases before schema version 2 kept per machine beside a PostgreSQL journal.
LOCAL_AUDIT_FILE = "operators-audit.sqlite3"
LOCAL_LPCO_FILE = "lpco.sqlite3"


def _left_behind(path: Path, what: str, how: str) -> None:
    """Say so when an earlier release's local file is there: nothing moves it silently."""
    if path.is_file():
        get_logger().warning(
            f"a local {what} from before schema version 2 is not used with PostgreSQL: {how}",
            path=str(path),
        )


def open_audit_trail(
    backend: str, journal_path: str, state_dir: Path | None = None
) -> SqlAuditTrail:
    """The operators' audit trail, in the journal's own store: its SQLite file, or its
    PostgreSQL database (shared by every instance; ``edigw db import-audit`` appends a trail
    an earlier release kept in ``<state_dir>/operators-audit.sqlite3``, which is logged when
    ``state_dir`` holds one)."""
    if backend == "sqlite":
        return AuditTrail(journal_path)
    if backend == "postgresql":
        from gateway.storage.journal_pg import PgDatabase

        if state_dir is not None:
            _left_behind(
                state_dir / LOCAL_AUDIT_FILE,
                "audit trail",
                "import it once with `edigw db import-audit FILE` (docs/operators.md)",
            )
        db = PgDatabase(journal_path)
        db.create(POSTGRES_AUDIT_TABLES)
        return SqlAuditTrail(db)
    raise ValueError(f"unknown journal backend {backend!r}")


def open_lpco_records(backend: str, journal_path: str, state_dir: Path) -> LpcoRecords:
    """The LPCO registry's rows: ``<state_dir>/lpco.sqlite3`` beside a SQLite journal (one
    gateway), the journal's PostgreSQL database otherwise (shared by every instance)."""
    if backend == "sqlite":
        return SqliteLpcoRecords(str(state_dir / LOCAL_LPCO_FILE))
    if backend == "postgresql":
        from gateway.storage.journal_pg import PgDatabase

        _left_behind(
            state_dir / LOCAL_LPCO_FILE,
            "LPCO registry",
            "the shared registry starts without its rows (docs/ministries.md); keep it backed up",
        )
        db = PgDatabase(journal_path)
        db.create(POSTGRES_LPCO_TABLE)
        return LpcoRecords(db)
    raise ValueError(f"unknown journal backend {backend!r}")
