"""One SQL connection of a store: the SQLite journal's, and those of the operators' audit trail
and the LPCO registry, which live beside the journal on either backend (issue #20, point 2).

Each store writes its SQL once (``?`` placeholders, ``ON CONFLICT``, ``RETURNING``: SQLite
3.35+ and PostgreSQL both take them) against a :class:`SqlDatabase`; the backend says how a
transaction is opened and how a placeholder is spelt. :class:`SqliteDatabase` is a local file
(WAL), ``gateway.storage.journal_pg.PgDatabase`` the shared PostgreSQL journal database.
Opened by ``gateway.storage.backends`` only (the composition root's choice).

>>> db = SqliteDatabase(":memory:")
>>> with db.transaction() as cur:
...     _ = cur.execute("CREATE TABLE t (x INTEGER)")
...     _ = cur.execute(db.q("INSERT INTO t VALUES (?)"), (1,))
>>> with db.read() as cur:
...     cur.execute("SELECT x FROM t").fetchall()
[(1,)]
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

from gateway.storage.records import JournalUnavailable


class SqlDatabase(Protocol):
    """What a store needs of its database, whichever backend holds it."""

    @property
    def dialect(self) -> Literal["sqlite", "postgresql"]: ...

    def q(self, sql: str) -> str:
        """``sql`` with ``?`` placeholders in the backend's own spelling."""
        ...

    def transaction(self) -> AbstractContextManager[Any]:
        """A cursor in one write transaction: committed at the end, rolled back on an error."""
        ...

    def read(self) -> AbstractContextManager[Any]:
        """A cursor for reading."""
        ...

    def close(self) -> None: ...


class SqliteDatabase:
    """A local SQLite file in WAL mode, shared between threads behind a lock."""

    dialect: Literal["sqlite"] = "sqlite"

    def __init__(self, path: str | Path, *, read_only: bool = False, what: str = "") -> None:
        self.path = str(path)
        # How failures name it: "the journal", else the file.
        self.what = what or self.path
        self.lock = threading.Lock()
        if read_only:
            # An import's source file: read as it is, never created nor changed.
            if not Path(path).is_file():
                raise FileNotFoundError(f"{path}: no such file")
            self.connection = sqlite3.connect(
                f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
            )
            return
        if self.path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.connection = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30
            )
            self.connection.execute("PRAGMA journal_mode=WAL")
            # A commit survives a crash of the process without a disk sync of its own
            # (issue #8).
            self.connection.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.OperationalError as exc:
            raise JournalUnavailable(f"{self.what} {path} cannot be opened: {exc}") from exc

    def q(self, sql: str) -> str:
        return sql

    @contextmanager
    def transaction(self, immediate: bool = True) -> Iterator[sqlite3.Cursor]:
        """``immediate`` (the default): the write lock taken before reading, so that two
        processes on one file serialise."""
        with self.lock:
            db = self.connection
            cur = db.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
                yield cur
                cur.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise JournalUnavailable(f"{self.what} cannot be written: {exc}") from exc
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            finally:
                cur.close()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Cursor]:
        # Autocommit: one SELECT is its own read transaction in SQLite, so no BEGIN and
        # COMMIT around it.
        with self.lock:
            cur = self.connection.cursor()
            try:
                yield cur
            except sqlite3.OperationalError as exc:
                raise JournalUnavailable(f"{self.what} cannot be read: {exc}") from exc
            finally:
                cur.close()

    def close(self) -> None:
        with self.lock:
            self.connection.close()
