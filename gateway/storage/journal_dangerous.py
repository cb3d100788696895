"""The dangerous goods of a call, cross-checked again (issue #17, point 4; schema version 5).

Each time a document of a call changes what the cross-check of its dangerous goods reads (a
notification filed, corrected or cancelled; a manifest of a call with a notification filed,
corrected or cancelled; a call linking waiting manifests), ``call_dangerous.recheck`` records
the result here: one row per document filed, keyed by its canonical message id (a redelivery
files nothing, so checks nothing again). ``edigw calls show`` lists them.

>>> from gateway.storage.journal import SqliteJournal
>>> j = SqliteJournal(":memory:")
>>> key = CallKey("9454436", "0MA1RN1MA", "DZALG")
>>> j.put_dangerous_check(DangerousCheckRecord("m1", key, "CargoManifest MAN-1 from apcs",
...     "2026-12-01T05:00:00+00:00", 1, 1, 0, "[]"))
>>> [(c.message_id, c.discrepancy_count) for c in j.dangerous_checks(key)]
[('m1', 0)]
"""

from __future__ import annotations

from gateway.domain.calls import CallKey
from gateway.storage.call_records import DangerousCheckRecord
from gateway.storage.sql_mixin import SqlMixin

DANGEROUS_CHECK_TABLES = (
    """CREATE TABLE IF NOT EXISTS call_dangerous_checks (
    message_id TEXT PRIMARY KEY,
    imo_number TEXT NOT NULL,
    voyage_number TEXT NOT NULL,
    port_of_call TEXT NOT NULL,
    trigger TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    notified INTEGER NOT NULL,
    declared INTEGER NOT NULL,
    discrepancy_count INTEGER NOT NULL,
    discrepancies TEXT NOT NULL,
    step INTEGER NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS call_dangerous_checks_call "
    "ON call_dangerous_checks(imo_number, voyage_number, port_of_call, step)",
)

_COLUMNS = (
    "message_id",
    "imo_number",
    "voyage_number",
    "port_of_call",
    "trigger",
    "checked_at",
    "notified",
    "declared",
    "discrepancy_count",
    "discrepancies",
)


class DangerousChecks(SqlMixin):
    """The ``call_dangerous_checks`` table (module docstring)."""

    def _dangerous_checks_tables(self) -> None:
        self._ensure_tables("_dangerous_checks_ready", DANGEROUS_CHECK_TABLES)

    def put_dangerous_check(self, record: DangerousCheckRecord) -> None:
        """Record a check (the same message's again: unchanged)."""
        self._dangerous_checks_tables()
        k = record.key
        with self._tx(immediate=True) as cur:
            # Its place among the call's checks (several may share a second).
            step = self._exec(
                cur,
                "SELECT COALESCE(MAX(step), 0) + 1 FROM call_dangerous_checks "
                "WHERE imo_number = ? AND voyage_number = ? AND port_of_call = ?",
                (k.imo_number, k.voyage_number, k.port_of_call),
            ).fetchone()[0]
            self._exec(
                cur,
                f"INSERT INTO call_dangerous_checks ({', '.join(_COLUMNS)}, step) "
                f"VALUES ({', '.join('?' * (len(_COLUMNS) + 1))}) ON CONFLICT DO NOTHING",
                (
                    record.message_id,
                    k.imo_number,
                    k.voyage_number,
                    k.port_of_call,
                    record.trigger,
                    record.checked_at,
                    record.notified,
                    record.declared,
                    record.discrepancy_count,
                    record.discrepancies,
                    step,
                ),
            )

    def dangerous_checks(self, key: CallKey) -> list[DangerousCheckRecord]:
        """The checks of ``key``'s dangerous goods, in the order they were made."""
        self._dangerous_checks_tables()
        with self._read() as cur:
            rows = self._exec(
                cur,
                "SELECT message_id, trigger, checked_at, notified, declared, discrepancy_count, "
                "discrepancies FROM call_dangerous_checks "
                "WHERE imo_number = ? AND voyage_number = ? AND port_of_call = ? "
                "ORDER BY step",
                (key.imo_number, key.voyage_number, key.port_of_call),
            ).fetchall()
        return [DangerousCheckRecord(r[0], key, *r[1:]) for r in rows]

    def withdraw_dangerous_checks(self, inbound_id: str) -> int:
        """Forget the checks the documents of ``inbound_id`` made (never delivered: withdrawn,
        ``CallTables.withdraw_filings``); the rows removed."""
        self._dangerous_checks_tables()
        with self._tx(immediate=True) as cur:
            removed: int = self._exec(
                cur,
                "DELETE FROM call_dangerous_checks WHERE message_id IN "
                "(SELECT message_id FROM messages WHERE parent_id = ?)",
                (inbound_id,),
            ).rowcount
        return removed


__all__ = ["DANGEROUS_CHECK_TABLES", "DangerousChecks"]
