"""One call as people see it (issue #17): its manifests, bills, containers, discharge, loading,
dangerous goods.

:func:`find_calls` reads what an operator types (``IMO/VOYAGE`` or ``IMO/VOYAGE/PORT``),
:func:`view` gathers one call from the registry with its reconciliation as of now, and
:func:`find_registration` finds a manifest by its MRN, or a bill by ``MRN/MSN[/HSN]``.
``edigw calls`` and ``edigw track`` print them (``gateway/interfaces/cli_calls.py``).

>>> parse_call("9454436/0MA1RN1MA"), parse_call("9454436/0MA1RN1MA/DZALG")
(('9454436', '0MA1RN1MA', None), ('9454436', '0MA1RN1MA', 'DZALG'))
>>> parse_call("9454436")
Traceback (most recent call last):
...
ValueError: a call is IMO/VOYAGE or IMO/VOYAGE/PORT, not '9454436'
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field, fields

from gateway.service.call_checks import Reconciliation, by_direction, compare
from gateway.service.call_dangerous import DangerousDiscrepancy, check_dangerous
from gateway.service.call_time import parse
from gateway.service.calls import CallPolicy
from gateway.storage.call_records import (
    ACTIVE,
    TERMINAL_REPORT,
    BillRecord,
    CallDocumentRecord,
    CallRecord,
    CallRegistry,
    CallReportRecord,
    DangerousCheckRecord,
    ManifestRecord,
    MovementRecord,
    NotifiedDangerous,
)


def parse_call(text: str) -> tuple[str, str, str | None]:
    """(IMO number, voyage, port or None) of ``IMO/VOYAGE[/PORT]``; ValueError otherwise."""
    parts = text.strip().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f"a call is IMO/VOYAGE or IMO/VOYAGE/PORT, not {text!r}")
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None


def find_calls(registry: CallRegistry, text: str, port: str | None = None) -> list[CallRecord]:
    """The calls ``text`` (``IMO/VOYAGE[/PORT]``) names, at ``port`` when given."""
    imo, voyage, named_port = parse_call(text)
    return registry.calls(imo_number=imo, voyage_number=voyage, port=named_port or port)


def bill_reference(mrn: str | None, bill: BillRecord) -> str | None:
    """How customs names a bill of a registered manifest: MRN/MSN, or MRN/MSN/HSN for a house."""
    if not mrn or bill.master_sequence_number is None:
        return None
    out = f"{mrn}/{bill.master_sequence_number}"
    return out if bill.house_sequence_number is None else f"{out}/{bill.house_sequence_number}"


def _flat(bill: BillRecord) -> dict[str, object]:
    """A bill's fields as ``asdict`` gives them (all plain values), without its deep copies: a
    5,000-container call has 2,500 bills, and ``asdict`` was half of ``calls show --json``."""
    return {name: getattr(bill, name) for name in _BILL_FIELDS}


_BILL_FIELDS = tuple(f.name for f in fields(BillRecord))


@dataclass(slots=True)
class CallView:
    """Everything the registry holds about one call, with its reconciliation as of now."""

    call: CallRecord
    manifests: list[ManifestRecord]  # naming the call: linked or waiting
    bills: list[BillRecord]  # of the linked, active manifests
    documents: list[CallDocumentRecord]
    discharged: list[MovementRecord]
    loaded: list[MovementRecord]
    notified: list[NotifiedDangerous]
    reconciliation: Reconciliation
    reconciliation_state: str  # final (discharge complete), due, or provisional
    # The loading against the outward (export) manifests, as of now (issue #17, point 5).
    loading: Reconciliation
    loading_state: str  # final (loading complete), due (hours after departure), provisional
    outward: set[tuple[str, str]] = field(default_factory=set)  # (sender, number) manifests
    dangerous: list[DangerousDiscrepancy] = field(default_factory=list)
    # The discrepancy reports told to customs, with customs' answers (call_report).
    reports: list[CallReportRecord] = field(default_factory=list)
    # Each time a filed document made the dangerous goods be checked again (call_dangerous).
    checks: list[DangerousCheckRecord] = field(default_factory=list)

    def mrn_of(self, bill: BillRecord) -> str | None:
        for m in self.manifests:
            if (m.sender, m.document_number) == (bill.sender, bill.document_number):
                return m.mrn
        return None

    def to_json(self) -> dict[str, object]:
        c = self.call
        return {
            "call": str(c.key),
            "imo_number": c.key.imo_number,
            "voyage_number": c.key.voyage_number,
            "port_of_call": c.key.port_of_call,
            "call_reference": c.call_reference,
            "sender": c.sender,
            "status": c.status,
            "version": c.version,
            "message_id": c.message_id,
            "vessel_name": c.vessel_name,
            "berth": c.berth,
            "eta": c.eta,
            "ata": c.ata,
            "atd": c.atd,
            "manifests": [
                {
                    **asdict(m),
                    "key": str(m.key),
                    "flags": list(m.flags),
                    "direction": self.direction_of(m),
                }
                for m in self.manifests
            ],
            "bills": [
                {**_flat(b), "customs_reference": bill_reference(self.mrn_of(b), b)}
                for b in self.bills
            ],
            "documents": [{**asdict(d), "key": str(d.key)} for d in self.documents],
            "discharged": len(self.discharged),
            "loaded": len(self.loaded),
            "dangerous_goods": [asdict(n) for n in self.notified],
            "dangerous_goods_discrepancies": [d.to_json() for d in self.dangerous],
            "reconciliation": {
                "state": self.reconciliation_state,
                **self.reconciliation.to_json(),
            },
            "loading_reconciliation": {"state": self.loading_state, **self.loading.to_json()},
            "reports": [{**asdict(r), "key": str(r.key)} for r in self.reports],
            "dangerous_goods_checks": [
                {
                    **asdict(k),
                    "key": str(k.key),
                    "discrepancies": json.loads(k.discrepancies or "[]"),
                }
                for k in self.checks
            ],
        }

    def direction_of(self, manifest: ManifestRecord) -> str:
        """``outward`` for an export manifest of the call (its port of loading), else ``inward``."""
        return (
            "outward" if (manifest.sender, manifest.document_number) in self.outward else "inward"
        )


def _state(
    documents: list[CallDocumentRecord],
    operation: str,
    since: str | None,
    after: dt.timedelta,
    now: dt.datetime | None,
) -> str:
    """``final`` once a terminal reported ``operation`` complete, ``due`` once ``after`` has
    passed ``since`` (the actual arrival or departure), ``provisional`` before."""
    if any(
        d.kind == TERMINAL_REPORT and d.status == ACTIVE and d.operation == operation and d.complete
        for d in documents
    ):
        return "final"
    moment = parse(since)
    if moment is not None and (now or dt.datetime.now(dt.UTC)) >= moment + after:
        return "due"
    return "provisional"


def view(
    registry: CallRegistry, policy: CallPolicy, call: CallRecord, now: dt.datetime | None = None
) -> CallView:
    """The call as the registry holds it now; the reconciliation is ``final`` once a terminal
    reported the discharge complete, ``due`` once ``reconcile_after`` has passed since the
    actual arrival, ``provisional`` before; the loading's the same, by the loading reports
    and ``reconcile_loading_after`` since the actual departure."""
    key = call.key
    tolerance = policy.weight_tolerance_percent
    exports = registry.outward_manifests(key)
    equipment, outward = by_direction(registry.declared_equipment(key, None), exports)
    discharged = registry.movements(key, "discharge")
    loaded = registry.movements(key, "load")
    documents = registry.call_documents(key)
    notified = registry.notified_dangerous(key)
    return CallView(
        call,
        registry.manifests(key),
        registry.bills(key),
        documents,
        discharged,
        loaded,
        notified,
        compare(equipment, discharged, tolerance, key),
        _state(documents, "discharge", call.ata, policy.reconcile_after, now),
        compare(outward, loaded, tolerance, key, "outward"),
        _state(documents, "load", call.atd, policy.reconcile_loading_after, now),
        exports,
        check_dangerous(notified, [*equipment, *outward]),
        registry.call_reports(key),
        registry.dangerous_checks(key),
    )


@dataclass(frozen=True, slots=True)
class Registration:
    """A manifest found by its MRN, and the bills the reference named (all: the MRN alone)."""

    reference: str
    manifest: ManifestRecord
    bills: list[BillRecord]
    containers: list[str] = field(default_factory=list)  # the bills' containers

    def references(self) -> list[str]:
        """What to track: the manifest's canonical message, the bills' numbers and their
        containers (the terminal reports and discrepancy reports that name them)."""
        return [
            self.manifest.message_id,
            *(b.transport_document for b in self.bills),
            *self.containers,
        ]

    def to_json(self) -> dict[str, object]:
        m = self.manifest
        return {
            "reference": self.reference,
            "mrn": m.mrn,
            "sender": m.sender,
            "manifest": m.document_number,
            "call": str(m.key),
            "linked": m.linked_at is not None,
            "bills": [
                {**_flat(b), "customs_reference": bill_reference(m.mrn, b)} for b in self.bills
            ],
            "containers": self.containers,
        }


def find_registration(registry: CallRegistry, reference: str) -> Registration | None:
    """The manifest registered under ``reference`` (an MRN), or the bill ``MRN/MSN[/HSN]`` names,
    with the containers of those bills.

    None when no manifest has that MRN (or the sequence numbers name no bill of it).
    """
    mrn, _, rest = reference.partition("/")
    manifest = registry.manifest_by_mrn(mrn)
    if manifest is None:
        return None
    bills = registry.bills_of_manifest(manifest.sender, manifest.document_number)
    if rest:
        wanted = rest.split("/")
        if len(wanted) > 2 or not all(w.isdecimal() for w in wanted):
            return None
        msn, hsn = int(wanted[0]), int(wanted[1]) if len(wanted) == 2 else None
        bills = [
            b for b in bills if b.master_sequence_number == msn and b.house_sequence_number == hsn
        ]
        if not bills:
            return None
    named = {b.transport_document for b in bills}
    containers = [
        e.container
        for e in registry.equipment_of_manifest(manifest.sender, manifest.document_number)
        if e.container and e.transport_document in named
    ]
    return Registration(reference, manifest, bills, list(dict.fromkeys(containers)))
