"""The PostgreSQL journal: the same interface as SQLite, shared by several gateway instances.

Chosen by configuration (``journal.backend = "postgresql"``, ``journal.path`` = a
libpq DSN). Dedup claims are single transactions on primary keys, so two
instances that receive the same message (a redelivery to another consumer) can
never both route it.

Opened by the composition root through ``gateway.storage.backends`` (needs a server;
``tests/integration/test_journal_backends.py`` runs the same calls on both backends)::

    journal = open_journal("postgresql", "postgresql://postgres@127.0.0.1:5432/test")
    journal.record_message("m1", type="CUSCAR", partner="apcs", correlation_id="m1")
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from gateway.storage.journal import JournalUnavailable, SqlJournal
from gateway.storage.migrations import current_version, upgrade
from gateway.storage.schema import PORTABLE_SCHEMA, POSTGRES_TABLES


class PostgresJournal(SqlJournal):
    """One connection per journal object, guarded by a lock; reconnects after a failure."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        with self._lock:
            conn = self._connection()
            try:
                with conn.transaction():
                    # Several instances may start at once: serialise the schema creation.
                    conn.execute("SELECT pg_advisory_xact_lock(6006)")
                    conn.execute(POSTGRES_TABLES + PORTABLE_SCHEMA)
            except psycopg.OperationalError as exc:
                raise JournalUnavailable(f"the journal database cannot be reached: {exc}") from exc

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=10)
            except psycopg.OperationalError as exc:
                raise JournalUnavailable(f"the journal database cannot be reached: {exc}") from exc
        return self._conn

    def _q(self, sql: str) -> str:
        return sql.replace("?", "%s")

    @contextmanager
    def _transaction(self, immediate: bool = False) -> Iterator[Any]:
        # ``immediate`` matters for SQLite only; PostgreSQL's row locks on the dedup
        # primary key already serialise competing claims.
        with self._lock:
            conn = self._connection()
            try:
                with conn.transaction(), conn.cursor() as cur:
                    yield cur
            except psycopg.OperationalError as exc:
                conn.close()  # reconnect on next use
                raise JournalUnavailable(f"the journal database failed: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()


def _admin(dsn: str) -> psycopg.Connection[Any]:
    """A connection of its own for the schema's versions (not a journal's)."""
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise JournalUnavailable(f"the journal database cannot be reached: {exc}") from exc


def schema_version(dsn: str) -> int:
    """The version of the journal's schema in the database (``gateway.storage.migrations``)."""
    with _admin(dsn) as conn, conn.cursor() as cur:
        return current_version(cur)


def upgrade_schema(dsn: str) -> list[int]:
    """``edigw db upgrade``: apply the migrations the database lacks; the versions applied."""
    with _admin(dsn) as conn:
        try:
            return upgrade(conn)
        except psycopg.OperationalError as exc:
            raise JournalUnavailable(f"the journal database failed: {exc}") from exc
