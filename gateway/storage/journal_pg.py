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
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Literal

import psycopg

from gateway.storage.journal import JournalUnavailable, SqlJournal
from gateway.storage.migrations import LATEST, LOCK_KEY, current_version, upgrade
from gateway.storage.schema import PORTABLE_SCHEMA, POSTGRES_TABLES


class PgDatabase:
    """One connection to the journal's database, guarded by a lock; reconnects after a failure.

    The journal holds one; so do the operators' audit trail and the LPCO registry when they
    live in the same database (``gateway.storage.sql_database.SqlDatabase``).
    """

    dialect: Literal["postgresql"] = "postgresql"

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self.lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None

    def connection(self) -> psycopg.Connection[Any]:
        """The open connection (made now if there is none); the caller holds :attr:`lock`."""
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=10)
            except psycopg.OperationalError as exc:
                raise JournalUnavailable(f"the journal database cannot be reached: {exc}") from exc
        return self._conn

    def q(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def create(self, statements: str) -> None:
        """Create tables on first use; several instances may start at once, so the creation
        is serialised with the migrations' advisory lock."""
        with self.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            cur.execute(statements)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.lock:
            conn = self.connection()
            try:
                with conn.transaction(), conn.cursor() as cur:
                    yield cur
            except psycopg.OperationalError as exc:
                conn.close()  # reconnect on next use
                raise JournalUnavailable(f"the journal database failed: {exc}") from exc

    def read(self) -> AbstractContextManager[Any]:
        return self.transaction()

    def close(self) -> None:
        with self.lock:
            if self._conn is not None:
                self._conn.close()


class PostgresJournal(SqlJournal):
    """The journal on a :class:`PgDatabase`."""

    def __init__(self, dsn: str) -> None:
        self._db = PgDatabase(dsn)
        self._lock = self._db.lock
        self._db.create(POSTGRES_TABLES + PORTABLE_SCHEMA)

    def _q(self, sql: str) -> str:
        return self._db.q(sql)

    @contextmanager
    def _transaction(self, immediate: bool = False) -> Iterator[Any]:
        # ``immediate`` matters for SQLite only; PostgreSQL's row locks on the dedup
        # primary key already serialise competing claims.
        with self._db.transaction() as cur:
            yield cur

    def close(self) -> None:
        self._db.close()


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


def upgrade_schema(dsn: str, *, until: int = LATEST) -> list[int]:
    """``edigw db upgrade``: apply the migrations the database lacks (up to ``until``); the
    versions applied."""
    with _admin(dsn) as conn:
        try:
            return upgrade(conn, until=until)
        except psycopg.OperationalError as exc:
            raise JournalUnavailable(f"the journal database failed: {exc}") from exc
