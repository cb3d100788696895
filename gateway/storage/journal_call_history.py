"""What the call registry keeps beside a call's latest state (issue #17): what a correction
replaced, and the reports the gateway told customs with customs' answers to them.

* **What a correction replaced** (``call_superseded``). A correction (version 2 or later of
  a call, manifest, notification or terminal report) overwrites registry rows. If the
  broker then cannot deliver the message that carried it (dead-lettered ``UNROUTABLE``),
  ``Journal.withdraw_acceptance`` must leave the registry as customs knows it, so before a
  correction writes, :meth:`CallHistory.keep_superseded` keeps the rows it may change
  (each a :data:`Scope`: a table and the column values that select them), and
  :meth:`CallHistory.restore_superseded` puts them back: the rows the scope selects now go,
  the kept ones return, latest correction first. Kept rows are let go when restored; those
  of a correction delivered stay (small: one JSON text per scope).
* **Reports to customs** (``call_reports``): each ``ManifestDiscrepancyReport`` routed for
  a call, and customs' answer to it (a ``CustomsResponse`` naming the report), which
  ``edigw calls show`` prints. Customs answers the gateway's own report, so the answer is
  recorded here and forwarded to nobody.

>>> from gateway.storage.journal import SqliteJournal
>>> from gateway.storage.call_records import CallReportRecord
>>> j = SqliteJournal(":memory:")
>>> key = CallKey("9454436", "0MA1RN1MA", "DZALG")
>>> j.put_call_report(CallReportRecord("r1", key, "discharge_complete", "t1", "1 short", "2026-12-07"))
>>> j.answer_call_report("r1", "accepted", "26DZALG0000421", "resp-1", "2026-12-08")
True
>>> [(r.message_id, r.decision) for r in j.call_reports(key)]
[('r1', 'accepted')]
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.domain.calls import CallKey
from gateway.storage.call_records import CallReportRecord
from gateway.storage.sql_mixin import SqlMixin

CALL_HISTORY_TABLES = (
    """CREATE TABLE IF NOT EXISTS call_superseded (
    message_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    table_name TEXT NOT NULL,
    scope TEXT NOT NULL,
    rows TEXT NOT NULL,
    kept_at TEXT NOT NULL,
    PRIMARY KEY (message_id, step)
)""",
    """CREATE TABLE IF NOT EXISTS call_reports (
    message_id TEXT PRIMARY KEY,
    imo_number TEXT NOT NULL,
    voyage_number TEXT NOT NULL,
    port_of_call TEXT NOT NULL,
    basis TEXT NOT NULL,
    trigger_id TEXT NOT NULL,
    summary TEXT NOT NULL,
    told_at TEXT NOT NULL,
    decision TEXT,
    registration_number TEXT,
    response_id TEXT,
    answered_at TEXT
)""",
    "CREATE INDEX IF NOT EXISTS call_reports_call "
    "ON call_reports(imo_number, voyage_number, port_of_call)",
)

# A table of the registry and the column values selecting the rows a correction may change;
# a list of values selects any of them (a terminal report's containers).
Scope = tuple[str, Mapping[str, Any]]

# The tables a correction writes, and their columns (what a scope may name).
_SCOPED = {
    "calls": ("imo_number", "voyage_number", "port_of_call", "sender", "call_reference"),
    "call_manifests": ("sender", "document_number"),
    "call_bills": ("sender", "document_number"),
    "call_equipment": ("sender", "document_number"),
    "call_outward_manifests": ("sender", "document_number"),
    "call_documents": ("sender", "kind", "document_number"),
    "call_dangerous": ("sender", "document_number"),
    "call_movements": (
        "imo_number",
        "voyage_number",
        "port_of_call",
        "operation",
        "container",
        "sender",
        "document_number",
    ),
}
_REPORT_COLUMNS = [f.name for f in dataclasses.fields(CallReportRecord) if f.name != "key"]


def _where(table: str, scope: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """The WHERE clause and parameters of ``scope``; ValueError for a column it may not name."""
    allowed = _SCOPED.get(table, ())
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in scope.items():
        if column not in allowed:
            raise ValueError(f"{table}.{column} is not a column a correction's scope names")
        if isinstance(value, list | tuple):
            clauses.append(f"{column} IN ({', '.join('?' * len(value))})" if value else "1 = 0")
            params.extend(value)
        else:
            clauses.append(f"{column} = ?")
            params.append(value)
    return " AND ".join(clauses) or "1 = 0", params


class CallHistory(SqlMixin):
    """What a correction replaced, and the reports told to customs (module docstring)."""

    def _history(self) -> None:
        self._ensure_tables("_call_history_ready", CALL_HISTORY_TABLES)

    # --- what a correction replaced
    def keep_superseded(self, message_id: str, scopes: Sequence[Scope], at: str) -> None:
        """Keep the rows each scope selects now, before the correction ``message_id`` writes."""
        self._history()
        with self._tx(immediate=True) as cur:
            row = self._exec(cur, "SELECT COALESCE(MAX(step), 0) FROM call_superseded").fetchone()
            step = int(row[0])
            for table, scope in scopes:
                where, params = _where(table, scope)
                found = self._exec(cur, f"SELECT * FROM {table} WHERE {where}", params)
                names = [d[0] for d in found.description]
                rows = [dict(zip(names, r, strict=True)) for r in found.fetchall()]
                step += 1
                self._exec(
                    cur,
                    "INSERT INTO call_superseded VALUES (?, ?, ?, ?, ?, ?)",
                    (message_id, step, table, json.dumps(dict(scope)), json.dumps(rows), at),
                )

    def restore_superseded(self, inbound_id: str) -> int:
        """Put back what the corrections of ``inbound_id``'s documents replaced, latest first;
        the rows written back."""
        self._history()
        restored = 0
        with self._tx(immediate=True) as cur:
            kept = self._exec(
                cur,
                "SELECT message_id, step, table_name, scope, rows FROM call_superseded "
                "WHERE message_id IN (SELECT message_id FROM messages WHERE parent_id = ?) "
                "ORDER BY step DESC",
                (inbound_id,),
            ).fetchall()
            for _message_id, _step, table, scope, rows in kept:
                where, params = _where(table, json.loads(scope))
                self._exec(cur, f"DELETE FROM {table} WHERE {where}", params)
                for row in json.loads(rows):
                    columns = list(row)
                    self._exec(
                        cur,
                        f"INSERT INTO {table} ({', '.join(columns)}) "
                        f"VALUES ({', '.join('?' * len(columns))}) ON CONFLICT DO NOTHING",
                        [row[c] for c in columns],
                    )
                    restored += 1
            for message_id in dict.fromkeys(k[0] for k in kept):
                self._exec(cur, "DELETE FROM call_superseded WHERE message_id = ?", (message_id,))
        return restored

    # --- reports told to customs, and customs' answers
    def put_call_report(self, report: CallReportRecord) -> None:
        """Record a report routed to customs (a redelivered trigger's again: unchanged)."""
        self._history()
        values = [getattr(report, c) for c in _REPORT_COLUMNS]
        columns = ["imo_number", "voyage_number", "port_of_call", *_REPORT_COLUMNS]
        with self._tx() as cur:
            self._exec(
                cur,
                f"INSERT INTO call_reports ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))}) ON CONFLICT DO NOTHING",
                [report.key.imo_number, report.key.voyage_number, report.key.port_of_call, *values],
            )

    def answer_call_report(
        self,
        message_id: str,
        decision: str,
        registration_number: str | None,
        response_id: str,
        at: str,
    ) -> bool:
        """Record customs' answer to the report ``message_id``; False when no such report."""
        self._history()
        with self._tx() as cur:
            updated = self._exec(
                cur,
                "UPDATE call_reports SET decision = ?, registration_number = ?, response_id = ?, "
                "answered_at = ? WHERE message_id = ?",
                (decision, registration_number, response_id, at, message_id),
            ).rowcount
        return bool(updated)

    def call_reports(self, key: CallKey) -> list[CallReportRecord]:
        """The reports told to customs about ``key``, oldest first."""
        self._history()
        with self._read() as cur:
            rows = self._exec(
                cur,
                f"SELECT {', '.join(_REPORT_COLUMNS)} FROM call_reports "
                "WHERE imo_number = ? AND voyage_number = ? AND port_of_call = ? "
                "ORDER BY told_at, message_id",
                (key.imo_number, key.voyage_number, key.port_of_call),
            ).fetchall()
        return [CallReportRecord(r[0], key, *r[1:]) for r in rows]


__all__ = ["CALL_HISTORY_TABLES", "CallHistory", "Scope"]
