"""What a correction of a call document may change in the registry (issue #17).

A correction (version 2 or later: a replacement, change or cancellation) overwrites what the
earlier version filed. When the message that carried it is then dead-lettered as unroutable,
``Journal.withdraw_acceptance`` gives back what it replaced, so before it writes,
``calls.file_all`` keeps the rows :func:`scopes` selects
(``gateway.storage.journal_call_history``):

* a call: its row at the key it names, and at the key its reference had before (a
  replacement may move it), and the manifests it may link or unlink (those naming either key);
* a manifest: its row, bills and containers;
* a dangerous goods notification: its row and items;
* a terminal report: its row, its movements, and the movements of other reports it names
  again (a container a later report names is as that report says).
"""

from __future__ import annotations

from gateway.domain.calls import (
    CallKey,
    DangerousGoodsNotification,
    TerminalOperationsReport,
    VesselCall,
)
from gateway.domain.model import CargoManifest, Document
from gateway.storage.call_records import DANGEROUS_GOODS, TERMINAL_REPORT
from gateway.storage.journal_call_history import Scope
from gateway.storage.records import Journal

SLICE = 500  # containers named in one scope


def _key(key: CallKey) -> dict[str, str]:
    return {
        "imo_number": key.imo_number,
        "voyage_number": key.voyage_number,
        "port_of_call": key.port_of_call,
    }


def scopes(journal: Journal, doc: Document) -> list[Scope]:
    """The registry rows filing the correction ``doc`` may change (module docstring); [] for
    an original (version 1: withdrawing it removes what it filed) or another document."""
    h = doc.header
    if h.document_version < 2:
        return []
    if isinstance(doc, CargoManifest):
        mine = {"sender": h.sender, "document_number": doc.document_number}
        tables = ("call_manifests", "call_bills", "call_equipment", "call_outward_manifests")
        return [(table, mine) for table in tables]
    if isinstance(doc, DangerousGoodsNotification | TerminalOperationsReport):
        dangerous = isinstance(doc, DangerousGoodsNotification)
        kind = DANGEROUS_GOODS if dangerous else TERMINAL_REPORT
        mine = {"sender": h.sender, "document_number": doc.document_number}
        out: list[Scope] = [
            ("call_documents", {**mine, "kind": kind}),
            ("call_dangerous" if dangerous else "call_movements", mine),
        ]
        if isinstance(doc, TerminalOperationsReport):
            named: dict[str, list[str]] = {}
            for m in doc.movements:
                named.setdefault(m.operation, []).append(m.container)
            out += [  # in slices: a bound on the parameters of one statement, any backend
                (
                    "call_movements",
                    {**_key(doc.call), "operation": op, "container": containers[i : i + SLICE]},
                )
                for op, containers in named.items()
                for i in range(0, len(containers), SLICE)
            ]
        return out
    if isinstance(doc, VesselCall):
        keys = [doc.key]
        prior = journal.call_by_reference(h.sender, doc.call_reference)
        if prior is not None and prior.key != doc.key:
            keys.append(prior.key)
        out = [("calls", {"sender": h.sender, "call_reference": doc.call_reference})]
        out += [("calls", _key(k)) for k in keys]
        out += [
            ("call_manifests", {"sender": m.sender, "document_number": m.document_number})
            for k in keys
            for m in journal.manifests(k)
        ]
        return out
    return []


__all__ = ["Scope", "scopes"]
