"""The call registry's loading tables (issue #17, point 5): outward manifests and the claims of
the loading reconciliation after departure, on SQLite and PostgreSQL alike.

* ``call_outward_manifests``: one row per manifest that is an **outward** (export) manifest of
  the call it names, with its port of loading (``gateway.service.call_content``). The
  manifest's own rows stay in ``call_manifests``, ``call_bills`` and ``call_equipment``; a
  manifest without a row here is inward (what the discharge is reconciled against).
* ``call_loading_reconciliations``: who tells a call's loading reconciliation when no terminal
  reported the loading complete (``gateway.service.call_timer``): one row per call,
  claimed by one instance, done once its report and answers are confirmed; the same pattern
  as ``call_reconciliations`` for the discharge.

Schema version 6 (``gateway.storage.migrations``); created on first use like every table of
the registry. :class:`LoadingTables` is mixed into ``journal_calls.CallTables``.

>>> from gateway.storage.journal import SqliteJournal
>>> from gateway.storage.call_records import ACTIVE, CallRecord
>>> j = SqliteJournal(":memory:")
>>> key = CallKey("9454436", "0MA1RN1MA", "DZALG")
>>> j.put_call(CallRecord(key, "apcs", "CALL-1", "m1", 1, ACTIVE, atd="2026-12-02T18:00:00+00:00"))
>>> j.calls_due_loading("2026-12-03T18:00:00+00:00", 20)  # nothing outward: nothing to reconcile
[]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gateway.domain.calls import CallKey
from gateway.storage.call_records import ACTIVE, TERMINAL_REPORT
from gateway.storage.sql_mixin import SqlMixin


def claims_table(name: str) -> str:
    """A table of claims: who tells a call's reconciliation on a clock (one row per call)."""
    return f"""CREATE TABLE IF NOT EXISTS {name} (
    imo_number TEXT NOT NULL,
    voyage_number TEXT NOT NULL,
    port_of_call TEXT NOT NULL,
    trigger_id TEXT NOT NULL,
    claimed_by TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    done_at TEXT,
    PRIMARY KEY (imo_number, voyage_number, port_of_call)
)"""


LOADING_TABLES = (
    """CREATE TABLE IF NOT EXISTS call_outward_manifests (
    sender TEXT NOT NULL,
    document_number TEXT NOT NULL,
    port_of_loading TEXT NOT NULL,
    PRIMARY KEY (sender, document_number)
)""",
    claims_table("call_loading_reconciliations"),
)

_KEY = "imo_number = ? AND voyage_number = ? AND port_of_call = ?"
_SAME_CALL = (
    "{t}.imo_number = c.imo_number AND {t}.voyage_number = c.voyage_number "
    "AND {t}.port_of_call = c.port_of_call"
)
# A manifest (alias m) that is outward: the condition the registry's queries add or negate.
OUTWARD = (
    "EXISTS (SELECT 1 FROM call_outward_manifests o "
    "WHERE o.sender = m.sender AND o.document_number = m.document_number)"
)


def _key(key: CallKey) -> tuple[str, str, str]:
    return (key.imo_number, key.voyage_number, key.port_of_call)


class LoadingTables(SqlMixin):
    """Outward manifests and the loading claims (module docstring)."""

    if TYPE_CHECKING:  # provided by journal_calls.CallTables (every registry table, on first use)

        def _tables(self) -> None: ...

        def _select(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...

    def _put_direction(self, cur: Any, sender: str, number: str, outward_from: str | None) -> None:
        """In ``put_manifest``'s transaction: the manifest is outward from that port, or not."""
        self._exec(
            cur,
            "DELETE FROM call_outward_manifests WHERE sender = ? AND document_number = ?",
            (sender, number),
        )
        if outward_from:
            self._exec(
                cur,
                "INSERT INTO call_outward_manifests (sender, document_number, port_of_loading) "
                "VALUES (?, ?, ?)",
                (sender, number, outward_from),
            )

    def outward_manifests(self, key: CallKey) -> set[tuple[str, str]]:
        """The (sender, document number) of the outward manifests naming ``key``."""
        rows = self._select(
            "SELECT m.sender, m.document_number FROM call_manifests m WHERE m.imo_number = ? "
            f"AND m.voyage_number = ? AND m.port_of_call = ? AND {OUTWARD}",
            _key(key),
        )
        return {(r[0], r[1]) for r in rows}

    # --- reconcile the loading after departure (no terminal reported the loading complete)
    def calls_due_loading(self, departed_before: str, limit: int) -> list[CallKey]:
        """Active calls that departed before ``departed_before``, with an outward manifest
        linked or a loading report filed (something to reconcile), whose loading no terminal
        reported complete and whose loading reconciliation nobody told yet, oldest first."""
        rows = self._select(
            "SELECT c.imo_number, c.voyage_number, c.port_of_call FROM calls c "
            f"WHERE c.status = '{ACTIVE}' AND c.atd IS NOT NULL AND c.atd <= ? "
            "AND (EXISTS (SELECT 1 FROM call_manifests m WHERE "
            f"{_SAME_CALL.format(t='m')} AND m.linked_at IS NOT NULL AND {OUTWARD}) "
            f"OR EXISTS (SELECT 1 FROM call_documents d WHERE {_SAME_CALL.format(t='d')} "
            f"AND d.kind = '{TERMINAL_REPORT}' AND d.operation = 'load')) "
            f"AND NOT EXISTS (SELECT 1 FROM call_documents d WHERE {_SAME_CALL.format(t='d')} "
            f"AND d.kind = '{TERMINAL_REPORT}' AND d.operation = 'load' "
            f"AND d.complete = 1 AND d.status = '{ACTIVE}') "
            "AND NOT EXISTS (SELECT 1 FROM call_loading_reconciliations r "
            f"WHERE {_SAME_CALL.format(t='r')} AND r.done_at IS NOT NULL) "
            "ORDER BY c.atd, c.imo_number LIMIT ?",
            (departed_before, limit),
        )
        return [CallKey(*r) for r in rows]

    def _claim(
        self, table: str, key: CallKey, trigger_id: str, by: str, at: str, stale_before: str
    ) -> bool:
        """Claim the call's row of ``table`` (a reconciliation's claims): True for the one
        instance that gets it (no claim yet, or one not done and older than ``stale_before``);
        an ``INSERT ... ON CONFLICT`` only one transaction wins, on either backend."""
        with self._tx(immediate=True) as cur:
            claimed = self._exec(
                cur,
                f"INSERT INTO {table} (imo_number, voyage_number, port_of_call, trigger_id, "
                "claimed_by, claimed_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (imo_number, voyage_number, port_of_call) DO UPDATE SET "
                "claimed_by = excluded.claimed_by, claimed_at = excluded.claimed_at "
                f"WHERE {table}.done_at IS NULL AND {table}.claimed_at < ?",
                (*_key(key), trigger_id, by, at, stale_before),
            ).rowcount
        return bool(claimed)

    def _claim_done(self, table: str, key: CallKey, at: str) -> None:
        with self._tx() as cur:
            self._exec(cur, f"UPDATE {table} SET done_at = ? WHERE {_KEY}", (at, *_key(key)))

    def claim_loading_reconciliation(
        self, key: CallKey, trigger_id: str, by: str, at: str, stale_before: str
    ) -> bool:
        """Claim telling ``key``'s loading reconciliation (as ``claim_reconciliation``)."""
        self._tables()
        return self._claim("call_loading_reconciliations", key, trigger_id, by, at, stale_before)

    def loading_reconciliation_told(self, key: CallKey, at: str) -> None:
        """The claimed loading reconciliation of ``key`` was told (its publishes confirmed)."""
        self._tables()
        self._claim_done("call_loading_reconciliations", key, at)


__all__ = ["LOADING_TABLES", "OUTWARD", "LoadingTables", "claims_table"]
