"""The operators' audit trail: who did what, when, to which messages. Append-only.

It lives beside the journal, in the journal's own store (its own tables, ``operator_audit`` and
``operator_audit_messages``): in the journal's SQLite file, so one gateway still needs nothing
else, or in the PostgreSQL journal's database, shared by every instance (issue #20, point 2).
One implementation (:class:`SqlAuditTrail`) over both (``gateway.storage.sql_database``).
A trail kept in ``<state_dir>/operators-audit.sqlite3`` by earlier releases with PostgreSQL is
read by :func:`read_audit_file` and appended with ``edigw db import-audit FILE``.

>>> trail = AuditTrail(":memory:")
>>> trail.record("alice", "replay", message_ids=["m1", "m2"], detail="group EDIFACT_SYNTAX/decode")
1
>>> [(e.actor, e.action, e.message_ids) for e in trail.entries()]
[('alice', 'replay', ('m1', 'm2'))]
>>> [e.id for e in trail.entries(message_id="m2")]
[1]
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.storage.sql_database import SqlDatabase, SqliteDatabase

# The trail's tables; only the generated key is spelt differently. A message's position keeps
# the order its ids were given in (a SQLite file from before the column has it added,
# _add_positions).
_TABLES = """
CREATE TABLE IF NOT EXISTS operator_audit (
    id {key},
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS operator_audit_messages (
    audit_id {reference} NOT NULL,
    message_id TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (audit_id, message_id)
);
CREATE INDEX IF NOT EXISTS operator_audit_messages_message
    ON operator_audit_messages(message_id);
"""
# In the journal's SQLite file.
SQLITE_TABLES = _TABLES.format(key="INTEGER PRIMARY KEY AUTOINCREMENT", reference="INTEGER")
# In the journal's PostgreSQL database (schema version 2, gateway.storage.migrations).
POSTGRES_AUDIT_TABLES = _TABLES.format(key="BIGSERIAL PRIMARY KEY", reference="BIGINT")
# What an imported entry carries in its data: where it came from (edigw db import-audit).
IMPORTED = "imported_from"


def current_operator() -> str:
    """Who is acting at the terminal: $EDIGW_OPERATOR, else the login name."""
    name = os.environ.get("EDIGW_OPERATOR")
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers; the audit must still be written
        return f"uid:{os.getuid()}"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    action: str
    detail: str
    message_ids: tuple[str, ...]
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "detail": self.detail,
            "message_ids": list(self.message_ids),
            "data": self.data,
        }


class SqlAuditTrail:
    """The append-only trail on a :class:`SqlDatabase` (SQLite file or PostgreSQL): one
    implementation, so both backends answer alike (``tests/integration/test_shared_state.py``)."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def record(
        self,
        actor: str,
        action: str,
        *,
        message_ids: Iterable[str] = (),
        detail: str = "",
        data: dict[str, Any] | None = None,
        at: str | None = None,
    ) -> int:
        """Append one action; returns its id. ``at``: when it happened (now by default; an
        import keeps the original time)."""
        with self._db.transaction() as cur:
            return self._insert(cur, actor, action, message_ids, detail, data or {}, at)

    def _insert(
        self,
        cur: Any,
        actor: str,
        action: str,
        message_ids: Iterable[str],
        detail: str,
        data: dict[str, Any],
        at: str | None,
    ) -> int:
        ids = list(dict.fromkeys(m for m in message_ids if m))
        when = at or dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        cur.execute(
            self._db.q(
                "INSERT INTO operator_audit (at, actor, action, detail, data) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id"
            ),
            (when, actor, action, detail, json.dumps(data, default=str)),
        )
        audit_id = int(cur.fetchone()[0])
        cur.executemany(
            self._db.q(
                "INSERT INTO operator_audit_messages (audit_id, message_id, position) "
                "VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
            ),
            [(audit_id, m, i) for i, m in enumerate(ids)],
        )
        return audit_id

    def entries(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        message_id: str | None = None,
        actor: str | None = None,
    ) -> list[AuditEntry]:
        """Newest first, optionally only one action, one actor, or about one message."""
        sql = "SELECT id, at, actor, action, detail, data FROM operator_audit"
        where: list[str] = []
        args: list[Any] = []
        if action:
            where.append("action = ?")
            args.append(action)
        if actor:
            where.append("actor = ?")
            args.append(actor)
        if message_id:
            where.append(
                "id IN (SELECT audit_id FROM operator_audit_messages WHERE message_id = ?)"
            )
            args.append(message_id)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        with self._db.read() as cur:
            cur.execute(self._db.q(sql), (*args, limit))
            rows = cur.fetchall()
            out = []
            for aid, at, who, act, detail, data in rows:
                cur.execute(
                    self._db.q(
                        "SELECT message_id FROM operator_audit_messages WHERE audit_id = ? "
                        "ORDER BY position"
                    ),
                    (aid,),
                )
                mids = tuple(str(r[0]) for r in cur.fetchall())
                out.append(
                    AuditEntry(int(aid), at, who, act, detail, mids, json.loads(data or "{}"))
                )
        return out

    def counts_by_action(self) -> dict[str, int]:
        """How many actions of each kind were ever recorded (the operator-action metrics)."""
        with self._db.read() as cur:
            cur.execute("SELECT action, COUNT(*) FROM operator_audit GROUP BY action")
            rows = cur.fetchall()
        return {str(action): int(n) for action, n in rows}

    def import_entries(self, entries: Iterable[AuditEntry], source: str) -> tuple[int, int]:
        """Append another trail's ``entries`` (oldest first), each with its original time and a
        note of ``source`` and its original id in its data; one already imported from the same
        source is skipped, so an import can be run again. (imported, skipped), in one
        transaction: all or nothing."""
        imported = skipped = 0
        with self._db.transaction() as cur:
            cur.execute(
                self._db.q("SELECT data FROM operator_audit WHERE data LIKE ?"),
                (f'%"{IMPORTED}"%',),
            )
            seen = {
                (str(origin.get("source")), int(origin.get("id", 0)))
                for (text,) in cur.fetchall()
                if isinstance(origin := json.loads(text).get(IMPORTED), dict)
            }
            for entry in sorted(entries, key=lambda e: e.id):
                if (source, entry.id) in seen:
                    skipped += 1
                    continue
                data = {**entry.data, IMPORTED: {"source": source, "id": entry.id}}
                self._insert(
                    cur, entry.actor, entry.action, entry.message_ids, entry.detail, data, entry.at
                )
                imported += 1
        return imported, skipped

    def close(self) -> None:
        self._db.close()


class AuditTrail(SqlAuditTrail):
    """The trail in a SQLite file (WAL, shared with the journal's file)."""

    def __init__(self, path: str | Path) -> None:
        db = SqliteDatabase(path)
        with db.transaction() as cur:
            for statement in SQLITE_TABLES.split(";"):
                if statement.strip():
                    cur.execute(statement)
            _add_positions(cur)
        super().__init__(db)


def _add_positions(cur: Any) -> None:
    """A trail written before the messages' position column gets it, numbered in the order
    the rows were written (their rowid), so every entry lists its ids as it did."""
    columns = {row[1] for row in cur.execute("PRAGMA table_info(operator_audit_messages)")}
    if "position" in columns:
        return
    cur.execute(
        "ALTER TABLE operator_audit_messages ADD COLUMN position INTEGER NOT NULL DEFAULT 0"
    )
    cur.execute("UPDATE operator_audit_messages SET position = rowid")


def read_audit_file(path: str | Path) -> list[AuditEntry]:
    """Every entry of a local SQLite trail (``<state_dir>/operators-audit.sqlite3``, or a SQLite
    journal's file), oldest first, read without changing the file. ValueError when the file
    holds no trail."""
    db = SqliteDatabase(path, read_only=True)
    try:
        with db.read() as cur:
            try:
                cur.execute("SELECT id, at, actor, action, detail, data FROM operator_audit")
            except sqlite3.DatabaseError as exc:
                raise ValueError(f"{path}: not an operators' audit trail ({exc})") from exc
            rows = cur.fetchall()
            messages: dict[int, list[str]] = {}
            cur.execute(
                "SELECT audit_id, message_id FROM operator_audit_messages ORDER BY audit_id, rowid"
            )
            for aid, mid in cur.fetchall():
                messages.setdefault(int(aid), []).append(str(mid))
    finally:
        db.close()
    return [
        AuditEntry(
            int(aid), at, who, act, detail, tuple(messages.get(int(aid), ())), json.loads(data)
        )
        for aid, at, who, act, detail, data in sorted(rows)
    ]
