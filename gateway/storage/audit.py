"""The operators' audit trail: who did what, when, to which messages. Append-only.

It lives in the journal's SQLite file (its own tables, ``operator_audit`` and
``operator_audit_messages``), so one gateway still needs nothing else; with the
PostgreSQL journal it is kept in ``<state_dir>/operators-audit.sqlite3``.

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
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS operator_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS operator_audit_messages (
    audit_id INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    PRIMARY KEY (audit_id, message_id)
);
CREATE INDEX IF NOT EXISTS operator_audit_messages_message
    ON operator_audit_messages(message_id);
"""


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


class AuditTrail:
    """Append-only table of operator actions in a SQLite file (WAL, shared with the journal)."""

    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=30
        )
        if str(path) != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def record(
        self,
        actor: str,
        action: str,
        *,
        message_ids: Iterable[str] = (),
        detail: str = "",
        data: dict[str, Any] | None = None,
    ) -> int:
        """Append one action; returns its id."""
        ids = list(dict.fromkeys(m for m in message_ids if m))
        at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "INSERT INTO operator_audit (at, actor, action, detail, data) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (at, actor, action, detail, json.dumps(data or {}, default=str)),
                )
                audit_id = int(cur.lastrowid or 0)
                self._db.executemany(
                    "INSERT OR IGNORE INTO operator_audit_messages VALUES (?, ?)",
                    [(audit_id, m) for m in ids],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
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
        with self._lock:
            rows = self._db.execute(sql, (*args, limit)).fetchall()
            out = []
            for aid, at, who, act, detail, data in rows:
                mids = tuple(
                    r[0]
                    for r in self._db.execute(
                        "SELECT message_id FROM operator_audit_messages WHERE audit_id = ? "
                        "ORDER BY rowid",
                        (aid,),
                    )
                )
                out.append(AuditEntry(aid, at, who, act, detail, mids, json.loads(data or "{}")))
        return out

    def counts_by_action(self) -> dict[str, int]:
        """How many actions of each kind were ever recorded (the operator-action metrics)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT action, COUNT(*) FROM operator_audit GROUP BY action"
            ).fetchall()
        return {str(action): int(n) for action, n in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()
