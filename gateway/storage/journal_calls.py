"""The call registry's SQL (issue #17), shared by the SQLite and the PostgreSQL journal.

:class:`CallTables` is mixed into ``gateway.storage.journal.SqlJournal``: the same portable
SQL (``?`` placeholders, ``ON CONFLICT``) on both backends, its tables created on first use
(a PostgreSQL schema may predate them), every write in the open unit of work when there is one.

>>> from gateway.storage.journal import SqliteJournal
>>> from gateway.storage.call_records import ACTIVE, CallRecord
>>> j = SqliteJournal(":memory:")
>>> key = CallKey("9454436", "0MA1RN1MA", "DZALG")
>>> j.put_call(CallRecord(key, "apcs", "CALL-1", "m1", 1, ACTIVE, eta="2026-12-01T07:00:00+00:00"))
>>> j.call(key).call_reference, [c.key for c in j.calls(port="DZALG")] == [key]
('CALL-1', True)
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar, cast

from gateway.domain.calls import CallKey
from gateway.storage.call_records import (
    ACTIVE,
    DANGEROUS_GOODS,
    TERMINAL_REPORT,
    BillRecord,
    CallDocumentRecord,
    CallRecord,
    DeclaredEquipment,
    ManifestRecord,
    MovementRecord,
    NotifiedDangerous,
)
from gateway.storage.journal_call_history import CallHistory
from gateway.storage.journal_dangerous import DangerousChecks
from gateway.storage.journal_loading import LOADING_TABLES, OUTWARD, LoadingTables, claims_table

CALL_TABLES = (
    """CREATE TABLE IF NOT EXISTS calls (
    imo_number TEXT NOT NULL,
    voyage_number TEXT NOT NULL,
    port_of_call TEXT NOT NULL,
    sender TEXT NOT NULL,
    call_reference TEXT NOT NULL,
    message_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    vessel_name TEXT,
    berth TEXT,
    eta TEXT,
    ata TEXT,
    atd TEXT,
    filed_at TEXT NOT NULL,
    PRIMARY KEY (imo_number, voyage_number, port_of_call)
)""",
    "CREATE INDEX IF NOT EXISTS calls_reference ON calls(sender, call_reference)",
    "CREATE INDEX IF NOT EXISTS calls_port ON calls(port_of_call, eta)",
    """CREATE TABLE IF NOT EXISTS call_manifests (
    sender TEXT NOT NULL,
    document_number TEXT NOT NULL,
    imo_number TEXT NOT NULL,
    voyage_number TEXT NOT NULL,
    port_of_call TEXT NOT NULL,
    message_id TEXT NOT NULL,
    inbound_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    function TEXT NOT NULL,
    status TEXT NOT NULL,
    eta TEXT,
    flags TEXT NOT NULL,
    linked_at TEXT,
    mrn TEXT,
    registered_at TEXT,
    filed_at TEXT NOT NULL,
    bill_count INTEGER NOT NULL,
    equipment_count INTEGER NOT NULL,
    PRIMARY KEY (sender, document_number)
)""",
    "CREATE INDEX IF NOT EXISTS call_manifests_call "
    "ON call_manifests(imo_number, voyage_number, port_of_call)",
    "CREATE INDEX IF NOT EXISTS call_manifests_mrn ON call_manifests(mrn)",
    """CREATE TABLE IF NOT EXISTS call_bills (
    sender TEXT NOT NULL,
    document_number TEXT NOT NULL,
    position INTEGER NOT NULL,
    transport_document TEXT NOT NULL,
    kind TEXT NOT NULL,
    master_reference TEXT,
    master_sequence_number INTEGER,
    house_sequence_number INTEGER,
    place_of_discharge TEXT,
    PRIMARY KEY (sender, document_number, position)
)""",
    """CREATE TABLE IF NOT EXISTS call_equipment (
    sender TEXT NOT NULL,
    document_number TEXT NOT NULL,
    position INTEGER NOT NULL,
    container TEXT NOT NULL,
    transport_document TEXT NOT NULL,
    seals TEXT NOT NULL,
    gross_mass_kg TEXT,
    discharge_here INTEGER NOT NULL,
    un_numbers TEXT NOT NULL,
    PRIMARY KEY (sender, document_number, position)
)""",
    """CREATE TABLE IF NOT EXISTS call_documents (
    sender TEXT NOT NULL,
    kind TEXT NOT NULL,
    document_number TEXT NOT NULL,
    imo_number TEXT NOT NULL,
    voyage_number TEXT NOT NULL,
    port_of_call TEXT NOT NULL,
    message_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    operation TEXT,
    complete INTEGER NOT NULL,
    completed_at TEXT,
    terminal TEXT,
    filed_at TEXT NOT NULL,
    item_count INTEGER NOT NULL,
    PRIMARY KEY (sender, kind, document_number)
)""",
    "CREATE INDEX IF NOT EXISTS call_documents_call "
    "ON call_documents(imo_number, voyage_number, port_of_call)",
    """CREATE TABLE IF NOT EXISTS call_movements (
    imo_number TEXT NOT NULL,
    voyage_number TEXT NOT NULL,
    port_of_call TEXT NOT NULL,
    operation TEXT NOT NULL,
    container TEXT NOT NULL,
    sender TEXT NOT NULL,
    document_number TEXT NOT NULL,
    time TEXT,
    seals TEXT NOT NULL,
    gross_mass_kg TEXT,
    transport_document TEXT,
    stowage_position TEXT,
    PRIMARY KEY (imo_number, voyage_number, port_of_call, operation, container)
)""",
    "CREATE INDEX IF NOT EXISTS call_movements_report ON call_movements(sender, document_number)",
    """CREATE TABLE IF NOT EXISTS call_dangerous (
    sender TEXT NOT NULL,
    document_number TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    imo_number TEXT NOT NULL,
    voyage_number TEXT NOT NULL,
    port_of_call TEXT NOT NULL,
    un_number TEXT NOT NULL,
    hazard_class TEXT NOT NULL,
    packing_group TEXT,
    container TEXT,
    proper_shipping_name TEXT,
    ems TEXT,
    stowage_position TEXT,
    PRIMARY KEY (sender, document_number, sequence)
)""",
    "CREATE INDEX IF NOT EXISTS call_dangerous_call "
    "ON call_dangerous(imo_number, voyage_number, port_of_call)",
)

# Who tells a call's reconciliation when no terminal reported the discharge complete
# (``gateway.service.call_timer``): one row per call, claimed by one instance, done once its
# report and answers are confirmed. A claim not done by ``stale_before`` may be taken over.
RECONCILIATION_TABLES = (claims_table("call_reconciliations"),)

_KEY = "imo_number = ? AND voyage_number = ? AND port_of_call = ?"
_KEY_COLUMNS = ("imo_number", "voyage_number", "port_of_call")
# The manifests whose content counts for a call: linked to it and not cancelled.
_LINKED = (
    "JOIN call_manifests m ON m.sender = x.sender AND m.document_number = x.document_number "
    "WHERE m.imo_number = ? AND m.voyage_number = ? AND m.port_of_call = ? "
    f"AND m.linked_at IS NOT NULL AND m.status = '{ACTIVE}'"
)

R = TypeVar("R")


def _key(key: CallKey) -> tuple[str, str, str]:
    return (key.imo_number, key.voyage_number, key.port_of_call)


def _columns(cls: type[Any]) -> list[str]:
    """The table columns of a record class: its fields, a call key as its three columns."""
    out: list[str] = []
    for f in dataclasses.fields(cls):
        out.extend(_KEY_COLUMNS if f.type == "CallKey" else (f.name,))
    return out


def _values(record: Any) -> list[Any]:
    """A record as SQL values: a call key as three, a tuple as JSON, a bool as 0 or 1."""
    out: list[Any] = []
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if isinstance(value, CallKey):
            out.extend(_key(value))
        elif isinstance(value, tuple):
            out.append(json.dumps(list(value), ensure_ascii=False))
        elif isinstance(value, bool):
            out.append(int(value))
        else:
            out.append(value)
    return out


_PLAIN, _KEYED, _TUPLE, _BOOL = range(4)


def _tuple(value: str | None) -> tuple[str, ...]:
    r"""A JSON list of strings read back (seals, UN numbers). The usual one, of one plain
    string, without the JSON parser: a 5,000-container call reads 30,000 of them.

    >>> _tuple('["SL-009"]'), _tuple('["A", "B"]'), _tuple('["x\\"y"]'), _tuple("[]")
    (('SL-009',), ('A', 'B'), ('x"y',), ())
    """
    if not value or value == "[]":
        return ()
    inner = value[2:-2]
    if value[:2] == '["' and value[-2:] == '"]' and '"' not in inner and "\\" not in inner:
        return (inner,)
    return tuple(json.loads(value))


@functools.cache
def _reading(cls: type[Any]) -> tuple[int, ...]:
    """How each field of a record class is read back: plain, call key, JSON tuple or bool."""
    kinds = []
    for f in dataclasses.fields(cls):
        if f.type == "CallKey":
            kinds.append(_KEYED)
        elif str(f.type).startswith("tuple"):
            kinds.append(_TUPLE)
        else:
            kinds.append(_BOOL if f.type == "bool" else _PLAIN)
    return tuple(kinds)


@functools.cache
def _special(cls: type[Any]) -> tuple[tuple[int, int], ...] | None:
    """The columns of a record class read other than as they are (JSON tuples, bools), when
    it has no call key; None when it has one (its columns are not its fields one for one).
    The registry reads thousands of containers per call (issue #17's benchmark)."""
    kinds = _reading(cast(Any, cls))
    if _KEYED in kinds:
        return None
    return tuple((i, kind) for i, kind in enumerate(kinds) if kind != _PLAIN)


def _record(cls: type[R], row: Sequence[Any]) -> R:
    """A record read back from the columns of :func:`_columns`, in their order."""
    special = _special(cast(Any, cls))
    if special is not None:  # no call key: one column per field, only a few converted
        if not special:
            return cls(*row)
        out = list(row)
        for i, kind in special:
            value = out[i]
            if kind == _TUPLE:
                out[i] = _tuple(value)
            else:
                out[i] = bool(value)
        return cls(*out)
    values: list[Any] = []
    at = 0
    for kind in _reading(cast(Any, cls)):
        value = row[at]
        if kind == _KEYED:
            value = CallKey(*row[at : at + 3])
            at += 2
        elif kind == _TUPLE:
            value = _tuple(value)
        elif kind == _BOOL:
            value = bool(value)
        values.append(value)
        at += 1
    return cls(*values)


def _select_list(cls: type[Any], alias: str = "") -> str:
    return ", ".join(f"{alias}{c}" for c in _columns(cls))


def _upsert(table: str, columns: Sequence[str], conflict: Sequence[str]) -> str:
    """INSERT of ``columns``; a row with the same ``conflict`` columns is updated instead."""
    update = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in conflict)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {update}"
    )


_CALLS = _select_list(CallRecord)
_MANIFESTS = _select_list(ManifestRecord)
_DOCUMENTS = _select_list(CallDocumentRecord)
_MOVEMENT_COLUMNS = [*_KEY_COLUMNS, *_columns(MovementRecord)]
_DANGEROUS_COLUMNS = [*_KEY_COLUMNS, *_columns(NotifiedDangerous)]


class CallTables(LoadingTables, CallHistory, DangerousChecks):
    """The call registry (``call_records.CallRegistry``) on the journal's SQL connection."""

    def _tables(self) -> None:
        self._ensure_tables("_calls_ready", (*CALL_TABLES, *RECONCILIATION_TABLES, *LOADING_TABLES))

    def _select(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        self._tables()
        with self._read() as cur:
            return list(self._exec(cur, sql, params).fetchall())

    def _write(self, immediate: bool = False) -> AbstractContextManager[Any]:
        self._tables()
        return self._tx(immediate)

    def _insert_many(self, cur: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            cur.executemany(self._q(sql), [tuple(r) for r in rows])

    # --- calls
    def call(self, key: CallKey) -> CallRecord | None:
        rows = self._select(f"SELECT {_CALLS} FROM calls WHERE {_KEY}", _key(key))
        return _record(CallRecord, rows[0]) if rows else None

    def call_by_reference(self, sender: str, call_reference: str) -> CallRecord | None:
        rows = self._select(
            f"SELECT {_CALLS} FROM calls WHERE sender = ? AND call_reference = ?",
            (sender, call_reference),
        )
        return _record(CallRecord, rows[0]) if rows else None

    def calls(
        self,
        *,
        port: str | None = None,
        since: str | None = None,
        imo_number: str | None = None,
        voyage_number: str | None = None,
        limit: int = 1000,
    ) -> list[CallRecord]:
        where, params = [], []
        for column, value in (
            ("port_of_call", port),
            ("imo_number", imo_number),
            ("voyage_number", voyage_number),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("COALESCE(eta, ata, filed_at) >= ?")
            params.append(since)
        sql = f"SELECT {_CALLS} FROM calls"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY COALESCE(eta, ata, filed_at) DESC, imo_number LIMIT ?"
        return [_record(CallRecord, r) for r in self._select(sql, [*params, limit])]

    def put_call(self, record: CallRecord) -> None:
        with self._write() as cur:
            self._exec(cur, _upsert("calls", _columns(CallRecord), _KEY_COLUMNS), _values(record))

    def delete_call(self, key: CallKey) -> None:
        with self._write() as cur:
            self._exec(cur, f"DELETE FROM calls WHERE {_KEY}", _key(key))

    # --- reconciliation after hours (no terminal reported the discharge complete)
    def calls_due(self, arrived_before: str, limit: int) -> list[CallKey]:
        """Active calls that arrived before ``arrived_before``, whose discharge no terminal
        reported complete and whose reconciliation nobody told yet, oldest first."""
        rows = self._select(
            "SELECT c.imo_number, c.voyage_number, c.port_of_call FROM calls c "
            f"WHERE c.status = '{ACTIVE}' AND c.ata IS NOT NULL AND c.ata <= ? "
            "AND NOT EXISTS (SELECT 1 FROM call_documents d WHERE d.imo_number = c.imo_number "
            "AND d.voyage_number = c.voyage_number AND d.port_of_call = c.port_of_call "
            f"AND d.kind = '{TERMINAL_REPORT}' AND d.operation = 'discharge' "
            f"AND d.complete = 1 AND d.status = '{ACTIVE}') "
            "AND NOT EXISTS (SELECT 1 FROM call_reconciliations r "
            "WHERE r.imo_number = c.imo_number AND r.voyage_number = c.voyage_number "
            "AND r.port_of_call = c.port_of_call AND r.done_at IS NOT NULL) "
            "ORDER BY c.ata, c.imo_number LIMIT ?",
            (arrived_before, limit),
        )
        return [CallKey(*r) for r in rows]

    def claim_reconciliation(
        self, key: CallKey, trigger_id: str, by: str, at: str, stale_before: str
    ) -> bool:
        """Claim telling ``key``'s reconciliation: True for the one instance that gets it (no
        claim yet, or one not done and older than ``stale_before``)."""
        self._tables()
        return self._claim("call_reconciliations", key, trigger_id, by, at, stale_before)

    def reconciliation_told(self, key: CallKey, at: str) -> None:
        """The claimed reconciliation of ``key`` was told (its publishes confirmed)."""
        self._tables()
        self._claim_done("call_reconciliations", key, at)

    # --- a message never delivered (dead-lettered as unroutable)
    def withdraw_filings(self, inbound_id: str) -> int:
        """Take out of the registry what the documents of ``inbound_id`` filed: a correction
        (a later version) gives back what it replaced (``CallHistory.restore_superseded``);
        then what they filed as originals (version 1) goes: a manifest with its bills and
        containers; a call, its manifests waiting again; a report's movements, a
        notification's items; the dangerous goods checks they made go too. Its replay files
        them again. Returns the rows removed or restored."""
        mine = "message_id IN (SELECT message_id FROM messages WHERE parent_id = ?) AND version = 1"
        removed = self.restore_superseded(inbound_id) + self.withdraw_dangerous_checks(inbound_id)
        with self._write(immediate=True) as cur:
            manifests = self._exec(
                cur,
                f"SELECT sender, document_number FROM call_manifests WHERE {mine}",
                (inbound_id,),
            ).fetchall()
            for sender, number in manifests:
                for table in (
                    "call_bills",
                    "call_equipment",
                    "call_outward_manifests",
                    "call_manifests",
                ):
                    removed += self._exec(
                        cur,
                        f"DELETE FROM {table} WHERE sender = ? AND document_number = ?",
                        (sender, number),
                    ).rowcount
            keys = self._exec(
                cur, f"SELECT {', '.join(_KEY_COLUMNS)} FROM calls WHERE {mine}", (inbound_id,)
            ).fetchall()
            for key in keys:
                self._exec(cur, f"UPDATE call_manifests SET linked_at = NULL WHERE {_KEY}", key)
                removed += self._exec(cur, f"DELETE FROM calls WHERE {_KEY}", key).rowcount
            documents = self._exec(
                cur,
                f"SELECT sender, kind, document_number FROM call_documents WHERE {mine}",
                (inbound_id,),
            ).fetchall()
            for sender, kind, number in documents:
                items = "call_dangerous" if kind == DANGEROUS_GOODS else "call_movements"
                removed += self._exec(
                    cur,
                    f"DELETE FROM {items} WHERE sender = ? AND document_number = ?",
                    (sender, number),
                ).rowcount
                removed += self._exec(
                    cur,
                    "DELETE FROM call_documents WHERE sender = ? AND kind = ? "
                    "AND document_number = ?",
                    (sender, kind, number),
                ).rowcount
        return removed

    # --- manifests, their bills and containers
    def call_manifest(self, sender: str, document_number: str) -> ManifestRecord | None:
        rows = self._select(
            f"SELECT {_MANIFESTS} FROM call_manifests WHERE sender = ? AND document_number = ?",
            (sender, document_number),
        )
        return _record(ManifestRecord, rows[0]) if rows else None

    def put_manifest(
        self,
        record: ManifestRecord,
        bills: Sequence[BillRecord],
        equipment: Sequence[DeclaredEquipment],
        *,
        outward_from: str | None = None,
    ) -> None:
        mine = (record.sender, record.document_number)
        columns = _columns(ManifestRecord)
        with self._write(immediate=True) as cur:
            self._exec(
                cur,
                _upsert("call_manifests", columns, ("sender", "document_number")),
                _values(record),
            )
            self._put_direction(cur, *mine, outward_from)
            for table, cls, rows in (
                ("call_bills", BillRecord, bills),
                ("call_equipment", DeclaredEquipment, equipment),
            ):
                self._exec(
                    cur, f"DELETE FROM {table} WHERE sender = ? AND document_number = ?", mine
                )
                names = _columns(cls)
                self._insert_many(
                    cur,
                    f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                    [_values(r) for r in rows],
                )

    def manifests(self, key: CallKey, *, linked: bool | None = None) -> list[ManifestRecord]:
        sql = f"SELECT {_MANIFESTS} FROM call_manifests WHERE {_KEY}"
        if linked is not None:
            sql += " AND linked_at IS NOT NULL" if linked else " AND linked_at IS NULL"
        rows = self._select(sql + " ORDER BY filed_at, sender, document_number", _key(key))
        return [_record(ManifestRecord, r) for r in rows]

    def link_manifests(self, manifests: Sequence[tuple[str, str]], at: str | None) -> None:
        if not manifests:
            return
        with self._write() as cur:
            self._insert_many(
                cur,
                "UPDATE call_manifests SET linked_at = ? WHERE sender = ? AND document_number = ?",
                [(at, sender, number) for sender, number in manifests],
            )

    def manifest_by_mrn(self, mrn: str) -> ManifestRecord | None:
        rows = self._select(
            f"SELECT {_MANIFESTS} FROM call_manifests WHERE mrn = ? ORDER BY registered_at DESC",
            (mrn,),
        )
        return _record(ManifestRecord, rows[0]) if rows else None

    def register_mrn(self, sender: str, document_number: str, mrn: str, at: str) -> bool:
        with self._write() as cur:
            updated = self._exec(
                cur,
                "UPDATE call_manifests SET mrn = ?, registered_at = ? "
                "WHERE sender = ? AND document_number = ?",
                (mrn, at, sender, document_number),
            ).rowcount
        return bool(updated)

    def bills(self, key: CallKey) -> list[BillRecord]:
        rows = self._select(
            f"SELECT {_select_list(BillRecord, 'x.')} FROM call_bills x {_LINKED} "
            "ORDER BY x.sender, x.document_number, x.position",
            _key(key),
        )
        return [_record(BillRecord, r) for r in rows]

    def bills_of_manifest(self, sender: str, document_number: str) -> list[BillRecord]:
        rows = self._select(
            f"SELECT {_select_list(BillRecord)} FROM call_bills "
            "WHERE sender = ? AND document_number = ? ORDER BY position",
            (sender, document_number),
        )
        return [_record(BillRecord, r) for r in rows]

    def equipment_of_manifest(self, sender: str, document_number: str) -> list[DeclaredEquipment]:
        rows = self._select(
            f"SELECT {_select_list(DeclaredEquipment)} FROM call_equipment "
            "WHERE sender = ? AND document_number = ? ORDER BY position",
            (sender, document_number),
        )
        return [_record(DeclaredEquipment, r) for r in rows]

    def declared_equipment(
        self, key: CallKey, direction: str | None = "inward"
    ) -> list[DeclaredEquipment]:
        which = {"inward": f" AND NOT {OUTWARD}", "outward": f" AND {OUTWARD}"}
        rows = self._select(
            f"SELECT {_select_list(DeclaredEquipment, 'x.')} FROM call_equipment x {_LINKED}"
            f"{which.get(direction or '', '')} ORDER BY x.sender, x.document_number, x.position",
            _key(key),
        )
        return [_record(DeclaredEquipment, r) for r in rows]

    # --- terminal reports and dangerous goods notifications
    def call_document(
        self, sender: str, kind: str, document_number: str
    ) -> CallDocumentRecord | None:
        rows = self._select(
            f"SELECT {_DOCUMENTS} FROM call_documents "
            "WHERE sender = ? AND kind = ? AND document_number = ?",
            (sender, kind, document_number),
        )
        return _record(CallDocumentRecord, rows[0]) if rows else None

    def call_documents(self, key: CallKey) -> list[CallDocumentRecord]:
        rows = self._select(
            f"SELECT {_DOCUMENTS} FROM call_documents WHERE {_KEY} "
            "ORDER BY filed_at, kind, document_number",
            _key(key),
        )
        return [_record(CallDocumentRecord, r) for r in rows]

    def _put_document(
        self,
        cur: Any,
        document: CallDocumentRecord,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        conflict: Sequence[str],
    ) -> None:
        """The document's row, and its items (``rows``) instead of an earlier version's."""
        self._exec(
            cur,
            _upsert(
                "call_documents",
                _columns(CallDocumentRecord),
                ("sender", "kind", "document_number"),
            ),
            _values(document),
        )
        self._exec(
            cur,
            f"DELETE FROM {table} WHERE sender = ? AND document_number = ?",
            (document.sender, document.document_number),
        )
        self._insert_many(cur, _upsert(table, columns, conflict), rows)

    def put_report(self, report: CallDocumentRecord, movements: Sequence[MovementRecord]) -> None:
        with self._write(immediate=True) as cur:
            # A container a later report names again is as that report says.
            self._put_document(
                cur,
                report,
                "call_movements",
                _MOVEMENT_COLUMNS,
                [[*_key(report.key), *_values(m)] for m in movements],
                [*_KEY_COLUMNS, "operation", "container"],
            )

    def movements(self, key: CallKey, operation: str) -> list[MovementRecord]:
        rows = self._select(
            f"SELECT {_select_list(MovementRecord)} FROM call_movements "
            f"WHERE {_KEY} AND operation = ? ORDER BY container",
            (*_key(key), operation),
        )
        return [_record(MovementRecord, r) for r in rows]

    def put_dangerous(
        self, document: CallDocumentRecord, items: Sequence[NotifiedDangerous]
    ) -> None:
        with self._write(immediate=True) as cur:
            self._put_document(
                cur,
                document,
                "call_dangerous",
                _DANGEROUS_COLUMNS,
                [[*_key(document.key), *_values(i)] for i in items],
                ["sender", "document_number", "sequence"],
            )

    def notified_dangerous(self, key: CallKey) -> list[NotifiedDangerous]:
        rows = self._select(
            f"SELECT {_select_list(NotifiedDangerous, 'x.')} FROM call_dangerous x "
            "JOIN call_documents d ON d.sender = x.sender "
            f"AND d.document_number = x.document_number AND d.kind = '{DANGEROUS_GOODS}' "
            "WHERE x.imo_number = ? AND x.voyage_number = ? AND x.port_of_call = ? "
            f"AND d.status = '{ACTIVE}' ORDER BY x.sender, x.document_number, x.sequence",
            _key(key),
        )
        return [_record(NotifiedDangerous, r) for r in rows]


__all__ = ["CALL_TABLES", "RECONCILIATION_TABLES", "CallTables"]
