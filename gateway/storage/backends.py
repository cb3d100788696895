"""Which journal and which operators' audit trail the configuration names: the one place a
storage backend is chosen. Called by the composition root (``gateway.bootstrap``) only.

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

from gateway.storage.audit import AuditTrail
from gateway.storage.journal import SqliteJournal
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


def open_audit_trail(backend: str, journal_path: str, state_dir: Path) -> AuditTrail:
    """The operators' audit trail: in the journal's own file with SQLite, beside it otherwise
    (a SQLite file of its own in the state directory)."""
    if backend == "sqlite":
        return AuditTrail(journal_path)
    return AuditTrail(state_dir / "operators-audit.sqlite3")
