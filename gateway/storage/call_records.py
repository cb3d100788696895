"""What the call registry keeps (issue #17), and the interface every journal implements for it.

A customs system acquits manifests against a **ship call** (IMO number + voyage + port of
call, :class:`~gateway.domain.calls.CallKey`). The journal keeps, beside its message history:

* the calls (:class:`CallRecord`, one per key);
* the manifests filed for a call (:class:`ManifestRecord`: the call they name, whether they are
  linked to it yet, their flags, the MRN customs gave them) with their bills
  (:class:`BillRecord`, master and house sequence numbers) and the containers each bill
  declares (:class:`DeclaredEquipment`);
* the terminal reports and dangerous goods notifications filed for it
  (:class:`CallDocumentRecord`), the containers discharged or loaded (:class:`MovementRecord`)
  and the dangerous goods notified (:class:`NotifiedDangerous`), with each time they were
  cross-checked with the manifests again (:class:`DangerousCheckRecord`).

The rows are facts as filed; what they mean (links, flags, reconciliation) is
``gateway.service.calls``'s to decide. ``gateway.storage.journal_calls`` has the SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.domain.calls import CallKey

ACTIVE, CANCELLED = "active", "cancelled"
DANGEROUS_GOODS, TERMINAL_REPORT = "DangerousGoodsNotification", "TerminalOperationsReport"


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call as its latest accepted version announced it."""

    key: CallKey
    sender: str
    call_reference: str
    message_id: str  # the canonical VesselCall of the latest version
    version: int
    status: str  # ACTIVE or CANCELLED
    vessel_name: str | None = None
    berth: str | None = None
    eta: str | None = None  # ISO 8601, as the canonical document has them
    ata: str | None = None
    atd: str | None = None
    filed_at: str = ""


@dataclass(frozen=True, slots=True)
class ManifestRecord:
    """A manifest filed for a call: the call it names, its link, flags and MRN."""

    sender: str
    document_number: str
    key: CallKey  # the call the manifest names (fields empty when it names none)
    message_id: str  # the canonical CargoManifest of the latest version
    inbound_id: str
    version: int
    function: str
    status: str  # ACTIVE or CANCELLED
    eta: str | None = None  # the manifest's own expected arrival
    flags: tuple[str, ...] = ()  # every flag any version got (customs treats them as risks)
    linked_at: str | None = None  # None: not linked to its call (yet)
    mrn: str | None = None  # the manifest reference number customs registered it under
    registered_at: str | None = None
    filed_at: str = ""
    bill_count: int = 0
    equipment_count: int = 0


@dataclass(frozen=True, slots=True)
class BillRecord:
    """One bill of lading of a manifest, with its place in the master/house hierarchy."""

    sender: str
    document_number: str
    position: int  # the order in the manifest, from 0
    transport_document: str
    kind: str  # master or house
    master_reference: str | None = None
    master_sequence_number: int | None = None  # MSN
    house_sequence_number: int | None = None  # HSN
    place_of_discharge: str | None = None


@dataclass(frozen=True, slots=True)
class DeclaredEquipment:
    """A container as one bill of a manifest declares it ('' bill: the manifest's own list).

    A container on several bills (groupage) has one row per bill; dangerous goods are the UN
    numbers of that bill's goods in that container ('' container: goods in no container).
    """

    sender: str
    document_number: str
    position: int
    container: str
    transport_document: str = ""
    seals: tuple[str, ...] = ()
    gross_mass_kg: str | None = None  # VGM if declared, else the equipment's gross mass
    # False: stays on board (the bill discharges at another port). On an outward manifest:
    # whether the bill loads here (False: loaded at another port of the voyage).
    discharge_here: bool = True
    un_numbers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CallDocumentRecord:
    """A dangerous goods notification or terminal report filed for a call: its latest version."""

    sender: str
    document_number: str
    kind: str  # DANGEROUS_GOODS or TERMINAL_REPORT
    key: CallKey
    message_id: str
    version: int
    status: str  # ACTIVE or CANCELLED
    operation: str | None = None  # a terminal report's: discharge or load
    complete: bool = False  # a terminal report says the operation is finished
    completed_at: str | None = None
    terminal: str | None = None
    filed_at: str = ""
    item_count: int = 0  # movements or dangerous goods items


@dataclass(frozen=True, slots=True)
class MovementRecord:
    """One container discharged or loaded, as the last report that named it said."""

    container: str
    operation: str
    sender: str
    document_number: str  # the report
    time: str | None = None
    seals: tuple[str, ...] = ()
    gross_mass_kg: str | None = None
    transport_document: str | None = None
    stowage_position: str | None = None


@dataclass(frozen=True, slots=True)
class NotifiedDangerous:
    """One item of a dangerous goods notification (IFTDGN) of a call."""

    sender: str
    document_number: str
    sequence: int
    un_number: str
    hazard_class: str
    packing_group: str | None = None
    container: str | None = None
    proper_shipping_name: str | None = None
    ems: str | None = None
    stowage_position: str | None = None


@dataclass(frozen=True, slots=True)
class CallReportRecord:
    """A ``ManifestDiscrepancyReport`` routed to customs for a call, and customs' answer."""

    message_id: str  # the report
    key: CallKey
    basis: str  # discharge_complete or after_hours
    trigger_id: str  # the terminal's report or the timer's claim that reconciled the call
    summary: str
    told_at: str
    decision: str | None = None  # customs' answer, once it came
    registration_number: str | None = None
    response_id: str | None = None
    answered_at: str | None = None


@dataclass(frozen=True, slots=True)
class DangerousCheckRecord:
    """The call's dangerous goods cross-checked again when a document of it was filed
    (``gateway.service.call_dangerous.recheck``): what made the check, and what it found."""

    message_id: str  # the canonical message whose filing made the check
    key: CallKey
    trigger: str  # "CargoManifest MAN-1 from apcs"
    checked_at: str
    notified: int  # items notified
    declared: int  # container + UN number pairs declared
    discrepancy_count: int
    discrepancies: str  # JSON: a list of call_dangerous.DangerousDiscrepancy.to_json()


class CallRegistry(Protocol):
    """The call registry of the journal (SQLite and PostgreSQL: ``journal_calls.CallTables``).

    Writes join the open unit of work (``Journal.unit_of_work``) when there is one.
    """

    def call(self, key: CallKey) -> CallRecord | None: ...

    def call_by_reference(self, sender: str, call_reference: str) -> CallRecord | None: ...

    def calls(
        self,
        *,
        port: str | None = None,
        since: str | None = None,
        imo_number: str | None = None,
        voyage_number: str | None = None,
        limit: int = 1000,
    ) -> list[CallRecord]:
        """Calls by ETA (else ATA), newest first; ``since``: ETA or ATA on or after it."""
        ...

    def put_call(self, record: CallRecord) -> None: ...

    def delete_call(self, key: CallKey) -> None: ...

    def call_manifest(self, sender: str, document_number: str) -> ManifestRecord | None: ...

    def put_manifest(
        self,
        record: ManifestRecord,
        bills: Sequence[BillRecord],
        equipment: Sequence[DeclaredEquipment],
        *,
        outward_from: str | None = None,
    ) -> None:
        """The manifest's row and its whole content, replacing what an earlier version filed;
        ``outward_from``: it is an outward (export) manifest loading at that port."""
        ...

    def manifests(self, key: CallKey, *, linked: bool | None = None) -> list[ManifestRecord]:
        """The manifests naming ``key`` (only the linked or the unlinked ones when said)."""
        ...

    def link_manifests(self, manifests: Sequence[tuple[str, str]], at: str | None) -> None:
        """Link (sender, document number) manifests to the call they name; None unlinks."""
        ...

    def manifest_by_mrn(self, mrn: str) -> ManifestRecord | None: ...

    def register_mrn(self, sender: str, document_number: str, mrn: str, at: str) -> bool:
        """Record the MRN customs gave a manifest; False when no such manifest is filed."""
        ...

    def bills(self, key: CallKey) -> list[BillRecord]:
        """The bills of the active manifests linked to ``key``, in manifest order."""
        ...

    def bills_of_manifest(self, sender: str, document_number: str) -> list[BillRecord]: ...

    def equipment_of_manifest(
        self, sender: str, document_number: str
    ) -> list[DeclaredEquipment]: ...

    def declared_equipment(
        self, key: CallKey, direction: str | None = "inward"
    ) -> list[DeclaredEquipment]:
        """The containers the active manifests linked to ``key`` declare: the inward ones
        (discharge), the outward ones (loading), or all (None)."""
        ...

    def outward_manifests(self, key: CallKey) -> set[tuple[str, str]]:
        """The (sender, document number) of the outward manifests naming ``key``."""
        ...

    def call_document(
        self, sender: str, kind: str, document_number: str
    ) -> CallDocumentRecord | None: ...

    def put_report(self, report: CallDocumentRecord, movements: Sequence[MovementRecord]) -> None:
        """A terminal report and its movements, replacing those an earlier version filed."""
        ...

    def call_documents(self, key: CallKey) -> list[CallDocumentRecord]:
        """The dangerous goods notifications and terminal reports filed for ``key``."""
        ...

    def movements(self, key: CallKey, operation: str) -> list[MovementRecord]: ...

    def put_dangerous(
        self, document: CallDocumentRecord, items: Sequence[NotifiedDangerous]
    ) -> None:
        """A dangerous goods notification's items, replacing an earlier version's."""
        ...

    def notified_dangerous(self, key: CallKey) -> list[NotifiedDangerous]: ...

    def calls_due(self, arrived_before: str, limit: int) -> list[CallKey]: ...

    def claim_reconciliation(
        self, key: CallKey, trigger_id: str, by: str, at: str, stale_before: str
    ) -> bool: ...

    def reconciliation_told(self, key: CallKey, at: str) -> None: ...

    # The loading reconciliation after departure (journal_loading).
    def calls_due_loading(self, departed_before: str, limit: int) -> list[CallKey]: ...

    def claim_loading_reconciliation(
        self, key: CallKey, trigger_id: str, by: str, at: str, stale_before: str
    ) -> bool: ...

    def loading_reconciliation_told(self, key: CallKey, at: str) -> None: ...

    # What a correction replaced, and the reports told to customs (journal_call_history).
    def keep_superseded(
        self, message_id: str, scopes: Sequence[tuple[str, Mapping[str, Any]]], at: str
    ) -> None: ...

    def restore_superseded(self, inbound_id: str) -> int: ...

    def put_call_report(self, report: CallReportRecord) -> None: ...

    def answer_call_report(
        self,
        message_id: str,
        decision: str,
        registration_number: str | None,
        response_id: str,
        at: str,
    ) -> bool: ...

    def call_reports(self, key: CallKey) -> list[CallReportRecord]: ...

    # The dangerous goods checked again (journal_dangerous).
    def put_dangerous_check(self, record: DangerousCheckRecord) -> None: ...

    def dangerous_checks(self, key: CallKey) -> list[DangerousCheckRecord]: ...
