"""The journal: what happened to every message, searchable by business reference.

A small interface (:class:`Journal`) with an embedded SQLite implementation
(WAL mode) so that one gateway needs nothing else; a PostgreSQL implementation
for several instances plugs in behind the same interface.

>>> j = SqliteJournal(":memory:")
>>> j.record_message("m1", type="CUSCAR", partner="apcs", correlation_id="m1")
>>> j.add_references("m1", ["BL42"])
>>> j.record_event("m1", "received", "3 segments")
>>> [m.message_id for m in j.track("BL42")]
['m1']
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

STATUSES = (
    "received",
    "rejected",
    "routed",
    "acknowledged",
    "answered",
    "dead-lettered",
    "replayed",
    "duplicate",
)


@dataclass(frozen=True, slots=True)
class Event:
    status: str
    at: str
    detail: str


@dataclass(slots=True)
class MessageHistory:
    message_id: str
    type: str
    partner: str
    correlation_id: str
    parent_id: str | None
    events: list[Event] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "message_id": self.message_id,
            "type": self.type,
            "partner": self.partner,
            "correlation_id": self.correlation_id,
            "parent_id": self.parent_id,
            "events": [{"status": e.status, "at": e.at, "detail": e.detail} for e in self.events],
        }


class Journal(Protocol):
    def record_message(
        self,
        message_id: str,
        *,
        type: str,
        partner: str,
        correlation_id: str,
        parent_id: str | None = None,
    ) -> None: ...

    def add_references(self, message_id: str, references: Iterable[str]) -> None: ...

    def record_event(self, message_id: str, status: str, detail: str = "") -> None: ...

    def track(self, reference: str) -> list[MessageHistory]: ...

    def close(self) -> None: ...


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    message_id TEXT PRIMARY KEY,
    parent_id TEXT,
    correlation_id TEXT NOT NULL,
    partner TEXT NOT NULL,
    type TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_parent ON messages(parent_id);
CREATE INDEX IF NOT EXISTS messages_correlation ON messages(correlation_id);
CREATE TABLE IF NOT EXISTS refs (
    reference TEXT NOT NULL,
    message_id TEXT NOT NULL,
    PRIMARY KEY (reference, message_id)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL,
    at TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_message ON events(message_id);
"""


class SqliteJournal:
    """The embedded journal: one SQLite file in WAL mode, safe to share between threads."""

    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=30
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def record_message(
        self,
        message_id: str,
        *,
        type: str,
        partner: str,
        correlation_id: str,
        parent_id: str | None = None,
    ) -> None:
        with self._lock:
            self._db.execute(
                # A second call refines what the first knew (e.g. the type, once decoded).
                "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(message_id) DO UPDATE SET "
                "type = excluded.type, parent_id = COALESCE(messages.parent_id, excluded.parent_id)",
                (message_id, parent_id, correlation_id, partner, type, _now()),
            )

    def add_references(self, message_id: str, references: Iterable[str]) -> None:
        rows = [(r, message_id) for r in dict.fromkeys(references) if r]
        with self._lock:
            self._db.executemany("INSERT OR IGNORE INTO refs VALUES (?, ?)", rows)

    def record_event(self, message_id: str, status: str, detail: str = "") -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown journal status {status!r}")
        with self._lock:
            self._db.execute(
                "INSERT INTO events (message_id, status, at, detail) VALUES (?, ?, ?, ?)",
                (message_id, status, _now(), detail),
            )

    def track(self, reference: str) -> list[MessageHistory]:
        """Every message with that id or reference, with its parent and children."""
        with self._lock:
            ids = {
                r[0]
                for r in self._db.execute(
                    "SELECT message_id FROM refs WHERE reference = ?", (reference,)
                )
            }
            ids |= {
                r[0]
                for r in self._db.execute(
                    "SELECT message_id FROM messages WHERE message_id = ?", (reference,)
                )
            }
            # Widen to the whole family: the inbound interchange and every document made from it.
            family = set(ids)
            for mid in ids:
                row = self._db.execute(
                    "SELECT parent_id FROM messages WHERE message_id = ?", (mid,)
                ).fetchone()
                if row and row[0]:
                    family.add(row[0])
            for mid in list(family):
                family |= {
                    r[0]
                    for r in self._db.execute(
                        "SELECT message_id FROM messages WHERE parent_id = ?", (mid,)
                    )
                }
            out = []
            for row in self._db.execute(
                f"SELECT message_id, type, partner, correlation_id, parent_id FROM messages "
                f"WHERE message_id IN ({','.join('?' * len(family))}) ORDER BY created_at, rowid",
                tuple(family),
            ):
                history = MessageHistory(*row)
                history.events = [
                    Event(*e)
                    for e in self._db.execute(
                        "SELECT status, at, detail FROM events WHERE message_id = ? ORDER BY id",
                        (row[0],),
                    )
                ]
                out.append(history)
            return out

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_journal(backend: str, path: str) -> Journal:
    """The journal named by configuration."""
    if backend == "sqlite":
        return SqliteJournal(path)
    raise NotImplementedError("the PostgreSQL journal is not available yet (issue #6)")
