"""Ship calls and manifest acquittal (issue #17): what each call document does to the registry.

A customs system acquits manifests against a **ship call**, named by IMO number + voyage + port
of call. The journal keeps a registry of the calls and of what hangs on them
(``gateway.storage.call_records``); this module decides, for each accepted document, what it
changes there and what customs and the sender must be told:

* a **VesselCall** (CUSREP, APCS XML) announces, amends or cancels a call. A second call for
  the same IMO number, voyage and port under another call reference is refused (``DUPLICATE``).
  Manifests waiting for that call (same key, expected arrivals within ``eta_window_hours``)
  are linked to it.
* a **CargoManifest** is linked to its call. For a call not announced, the port's choice
  (``[calls] unknown_call``, per port in ``[calls.ports.<LOCODE>]``): accepted and flagged
  ``UNKNOWN_CALL`` (linked when the call arrives), or refused with ``UNKNOWN_CALL``. A
  correction (replacement, change, cancellation) of an inward manifest filed after the
  call's actual arrival is flagged ``POST_ARRIVAL``; of an outward (export) manifest, filed
  after the call's actual departure, ``POST_DEPARTURE`` (before it, the loading is still being
  settled). Its bills (with master and house sequence numbers) and containers
  are kept for the reconciliation; the MRN customs registers it under is recorded by
  :func:`register_mrn`.
* a **DangerousGoodsNotification** (IFTDGN) or **TerminalOperationsReport** (COARRI) for a
  call nobody announced is refused with ``UNKNOWN_CALL`` (its dead letter is replayed once the
  call exists). A notification is cross-checked against the dangerous goods of the call's
  manifests; a discharge report that says the discharge is complete reconciles the call
  (``gateway.service.call_checks``).

Versions, duplicates and resends of each document are decided by ``gateway.domain.amendments``
(the same rules as manifests). :func:`judge_all` says what the documents of one message would
do, writing nothing: the pipeline refuses a document with a problem before the amendments
record its version. :func:`file_all` applies the accepted versions, in the journal's unit of
work. Both are idempotent for a redelivered message (docs/calls.md, "Wiring").

>>> from gateway.storage.journal import SqliteJournal
>>> from gateway.domain.model import CargoManifest, Conveyance, Header
>>> journal = SqliteJournal(":memory:")
>>> manifest = CargoManifest(Header.new(sender="apcs", document_type="CargoManifest",
...     business_reference="MAN-1"), "MAN-1", Conveyance(imo_number="9454436",
...     voyage_number="0MA1RN1MA"), port_of_call="DZALG")
>>> filing = file(journal, CallPolicy(), manifest, "in-1")
>>> filing.problem, [f.code for f in filing.flags], filing.linked
(None, ['UNKNOWN_CALL'], False)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gateway.config_schema import CallsSection
from gateway.domain.calls import (
    CallKey,
    DangerousGoodsNotification,
    TerminalOperationsReport,
    VesselCall,
)
from gateway.domain.model import CargoManifest, Document
from gateway.service import call_corrections, call_dangerous
from gateway.service.call_checks import Reconciliation, reconcile, reconcile_loading
from gateway.service.call_content import (
    expected_at_port,
    manifest_call,
    manifest_content,
    outward_port,
)
from gateway.service.call_dangerous import DangerousCheck, DangerousDiscrepancy
from gateway.service.call_registration import record_registration, register_mrn
from gateway.service.call_time import aware as _aware
from gateway.service.call_time import iso as _iso
from gateway.service.call_time import parse as _parse
from gateway.service.call_time import registry_time
from gateway.service.call_time import utcnow as _utcnow
from gateway.service.call_time import within as _within
from gateway.storage.call_records import (
    ACTIVE,
    CANCELLED,
    DANGEROUS_GOODS,
    TERMINAL_REPORT,
    CallDocumentRecord,
    CallRecord,
    ManifestRecord,
    MovementRecord,
    NotifiedDangerous,
)
from gateway.storage.records import Journal

UNKNOWN_CALL = "UNKNOWN_CALL"
POST_ARRIVAL = "POST_ARRIVAL"
POST_DEPARTURE = "POST_DEPARTURE"
DUPLICATE = "DUPLICATE"  # as gateway.domain.amendments calls a second original
CORRECTIONS = ("replace", "change", "cancel")


@dataclass(frozen=True, slots=True)
class PortPolicy:
    """One port's choices: what becomes of a manifest for an unknown call, the ETA window."""

    unknown_call: str = "accept_flagged"  # or "reject"
    eta_window: dt.timedelta = dt.timedelta(hours=72)


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """The ``[calls]`` configuration, as the service applies it."""

    default: PortPolicy = PortPolicy()
    ports: Mapping[str, PortPolicy] = field(default_factory=dict)
    reconcile_after: dt.timedelta = dt.timedelta(hours=48)
    weight_tolerance_percent: Decimal = Decimal(5)
    reconcile_loading_after: dt.timedelta = dt.timedelta(hours=24)  # after the departure

    def port(self, code: str | None) -> PortPolicy:
        return self.ports.get(code or "", self.default)

    @classmethod
    def from_config(cls, section: CallsSection) -> CallPolicy:
        """The policy of a validated ``[calls]`` section (``Settings.config.calls``).

        >>> from gateway.config_schema import CallPortSection
        >>> p = CallPolicy.from_config(CallsSection(ports={"DZORN": CallPortSection(
        ...     unknown_call="reject")}))
        >>> p.port("DZORN").unknown_call, p.port("DZORN").eta_window.days, p.port("DZALG").unknown_call
        ('reject', 3, 'accept_flagged')
        """
        default = PortPolicy(section.unknown_call, dt.timedelta(hours=section.eta_window_hours))
        ports = {
            code: PortPolicy(
                port.unknown_call or default.unknown_call,
                default.eta_window
                if port.eta_window_hours is None
                else dt.timedelta(hours=port.eta_window_hours),
            )
            for code, port in section.ports.items()
        }
        return cls(
            default,
            ports,
            dt.timedelta(hours=section.reconcile_after_hours),
            Decimal(str(section.weight_tolerance_percent)),
            dt.timedelta(hours=section.reconcile_loading_after_hours),
        )


@dataclass(frozen=True, slots=True)
class Flag:
    """A mark customs sees on an accepted document: a code and why."""

    code: str
    sentence: str


@dataclass(slots=True)
class Filing:
    """What one call document did (or would do) to the registry, and what to say about it."""

    document_type: str
    document_number: str
    call: CallKey | None
    problem: tuple[str, str] | None = None  # refused: (code, sentence); nothing was written
    flags: list[Flag] = field(default_factory=list)
    linked: bool = False  # a manifest: linked to its call
    linked_manifests: list[tuple[str, str]] = field(default_factory=list)  # a call: linked now
    unlinked_manifests: list[tuple[str, str]] = field(default_factory=list)  # a re-keyed call's
    reconciliation: Reconciliation | None = None
    dangerous: list[DangerousDiscrepancy] = field(default_factory=list)
    dangerous_check: DangerousCheck | None = None  # the call's dangerous goods, checked again
    redelivery: bool = False  # the same message filed before: nothing changed

    def events(self) -> list[tuple[str, str]]:
        """Journal events (status, detail) for the document's history."""
        name = f"{self.document_type} {self.document_number}"
        out = [("flagged", f"{f.code}: {f.sentence}") for f in self.flags]
        if self.linked:
            out.append(("linked", f"{name} linked to call {self.call}"))
        if self.linked_manifests:
            listed = ", ".join(f"{s}:{n}" for s, n in self.linked_manifests)
            out.append(("linked", f"call {self.call} linked its waiting manifests {listed}"))
        if self.unlinked_manifests:
            listed = ", ".join(f"{s}:{n}" for s, n in self.unlinked_manifests)
            out.append(("flagged", f"call {self.call} was re-keyed; unlinked {listed}"))
        if self.reconciliation is not None:
            out.append(("flagged", self.reconciliation.summary()))
        if self.dangerous_check is not None and self.dangerous:  # a clean check: its row only
            out.append(("flagged", self.dangerous_check.summary()))
        return out

    def headers(self) -> dict[str, str]:
        """AMQP headers for the routed document: its call and its flags (customs' risk marks)."""
        out: dict[str, str] = {}
        if self.call is not None:
            out["x-edigw-call"] = str(self.call)[:255]
        codes = [f.code for f in self.flags]
        for d in self.dangerous:  # the kind, and the code the first release sent for it
            codes += d.flags()
        if codes:
            out["x-edigw-call-flags"] = ",".join(dict.fromkeys(codes))
        if self.dangerous:  # what of the notifications disagrees with the manifests
            out["x-edigw-dangerous-goods"] = "; ".join(d.label() for d in self.dangerous)[:1000]
        return out


def judge(
    journal: Journal, policy: CallPolicy, doc: Document, *, now: dt.datetime | None = None
) -> Filing | None:
    """What :func:`file` would decide for ``doc``, writing nothing; None: not a call document."""
    return judge_all(journal, policy, [doc], now=now)[0]


def judge_all(
    journal: Journal,
    policy: CallPolicy,
    docs: Sequence[Document],
    *,
    now: dt.datetime | None = None,
) -> list[Filing | None]:
    """:func:`judge` for each document of one partner message, in order, as if the ones before
    it had been filed: a call announced earlier in the same interchange counts as announced.

    The pipeline asks this before the amendments record their versions, and refuses each
    document whose filing has a problem (a refused document must leave no version behind: its
    replay, once the call is announced, would be taken for a resend).
    """
    judge = CallJudge(journal, policy, now=now)
    return [judge.judge(doc) for doc in docs]


class CallJudge:
    """:func:`judge_all` one document at a time, as the pipeline reads an interchange: each
    document is judged before its version is previewed and it is signed, so a refused one is
    never signed, and a call announced earlier in the message counts for the ones after it.

    :meth:`withdraw` forgets a call a document announced when that document is refused later
    (its schema): the manifests after it are then judged as if it had never come.
    """

    def __init__(
        self, journal: Journal, policy: CallPolicy, *, now: dt.datetime | None = None
    ) -> None:
        self._desk = _Desk(journal, policy, now or _utcnow(), write=False)
        # message id -> the call it announced, and what was announced under that key before
        self._announced: dict[str, tuple[CallKey, CallRecord | None]] = {}

    def judge(self, doc: Document) -> Filing | None:
        """What :func:`file` would decide for ``doc``, after the documents judged before it."""
        desk = self._desk
        filing = _dispatch(desk, doc)
        if isinstance(doc, VesselCall) and filing is not None and filing.problem is None:
            self._announced[doc.header.message_id] = (doc.key, desk.announced.get(doc.key))
            desk.announced[doc.key] = _call_record(doc, desk.now)
        return filing

    def withdraw(self, doc: Document) -> None:
        """``doc`` was refused after :meth:`judge`: the call it announced is not announced."""
        announced = self._announced.pop(doc.header.message_id, None)
        if announced is None:
            return
        key, before = announced
        if before is None:
            self._desk.announced.pop(key, None)
        else:
            self._desk.announced[key] = before


def file(
    journal: Journal,
    policy: CallPolicy,
    doc: Document,
    inbound_id: str,
    *,
    now: dt.datetime | None = None,
) -> Filing | None:
    """Apply the accepted version ``doc`` to the call registry (see :func:`file_all`)."""
    return file_all(journal, policy, [doc], inbound_id, now=now)[0]


def file_all(
    journal: Journal,
    policy: CallPolicy,
    docs: Sequence[Document],
    inbound_id: str,
    *,
    now: dt.datetime | None = None,
) -> list[Filing | None]:
    """Apply the routed documents of one partner message to the call registry, in order, in one
    unit of work (the decision's, when one is open).

    None for a document that is not a call document. A refused one (``Filing.problem``)
    writes nothing. Call it once each document's amendments verdict is known
    (``Header.function`` and ``document_version`` set) and its duplicates dropped.
    """
    with journal.unit_of_work():
        desk = _Desk(journal, policy, now or _utcnow(), write=True, inbound_id=inbound_id)
        return [_dispatch(desk, doc) for doc in docs]


@dataclass(slots=True)
class _Desk:
    """What filing one document needs: the journal, the policy, the time, whether to write,
    and the calls announced earlier in the same batch (:func:`judge_all`)."""

    journal: Journal
    policy: CallPolicy
    now: dt.datetime
    write: bool
    inbound_id: str = ""
    announced: dict[CallKey, CallRecord] = field(default_factory=dict)

    def call(self, key: CallKey) -> CallRecord | None:
        return self.announced.get(key) or self.journal.call(key)


def _dispatch(desk: _Desk, doc: Document) -> Filing | None:
    if desk.write and doc.header.document_version > 1:  # what it replaces, kept (withdrawal)
        kept = call_corrections.scopes(desk.journal, doc)
        if kept:
            desk.journal.keep_superseded(doc.header.message_id, kept, _iso(desk.now) or "")
    if isinstance(doc, VesselCall):
        filing = _file_call(desk, doc)
    elif isinstance(doc, CargoManifest):
        filing = _file_manifest(desk, doc)
    elif isinstance(doc, DangerousGoodsNotification):
        filing = _file_dangerous(desk, doc)
    elif isinstance(doc, TerminalOperationsReport):
        return _file_report(desk, doc)
    else:
        return None
    if desk.write and not filing.redelivery and filing.problem is None:
        changed = filing.linked or bool(filing.linked_manifests)  # a manifest, or a call
        check = call_dangerous.after_filing(
            desk.journal, doc, filing.call, filing.document_number, changed, _iso(desk.now)
        )
        if check is not None:
            filing.dangerous_check, filing.dangerous = check, check.discrepancies
    return filing


# ---------------------------------------------------------------- calls


def _file_call(desk: _Desk, doc: VesselCall) -> Filing:
    h = doc.header
    key = doc.key
    filing = Filing(h.document_type, doc.call_reference, key)
    holder = desk.call(key)
    if holder is not None and holder.message_id == h.message_id:
        filing.redelivery = True
        return filing
    prior = desk.journal.call_by_reference(h.sender, doc.call_reference)
    mine = holder is not None and (holder.sender, holder.call_reference) == (
        h.sender,
        doc.call_reference,
    )
    if holder is not None and holder.status == ACTIVE and not mine:
        filing.problem = (
            DUPLICATE,
            f"call {key} was already announced as {holder.call_reference} by {holder.sender} "
            f"(message {holder.message_id}): amend that call (BGM function 5) or cancel it first",
        )
        return filing
    if not desk.write:
        return filing
    if prior is not None and prior.key != key:
        # A replacement that corrects the IMO number, voyage or port: the manifests linked to
        # the old key no longer belong to this call.
        desk.journal.delete_call(prior.key)
        linked = [
            (m.sender, m.document_number) for m in desk.journal.manifests(prior.key, linked=True)
        ]
        desk.journal.link_manifests(linked, None)
        filing.unlinked_manifests = linked
    cancelled = h.function == "cancel"
    desk.journal.put_call(_call_record(doc, desk.now))
    if not cancelled:
        window = desk.policy.port(key.port_of_call).eta_window
        waiting = [
            (m.sender, m.document_number)
            for m in desk.journal.manifests(key, linked=False)
            if m.status == ACTIVE and _within(m.eta, doc.eta, window)
        ]
        desk.journal.link_manifests(waiting, _iso(desk.now))
        filing.linked_manifests = waiting
    return filing


# ---------------------------------------------------------------- manifests


def _call_record(doc: VesselCall, now: dt.datetime) -> CallRecord:
    h = doc.header
    return CallRecord(
        doc.key,
        h.sender,
        doc.call_reference,
        h.message_id,
        h.document_version,
        CANCELLED if h.function == "cancel" else ACTIVE,
        doc.conveyance.name,
        doc.berth,
        _iso(doc.eta),
        _iso(doc.ata),
        _iso(doc.atd),
        _iso(now) or "",
    )


def _file_manifest(desk: _Desk, doc: CargoManifest) -> Filing:
    h = doc.header
    key = manifest_call(doc)
    filing = Filing(h.document_type, doc.document_number, key)
    prior = desk.journal.call_manifest(h.sender, doc.document_number)
    if prior is not None and prior.message_id == h.message_id:
        filing.redelivery, filing.linked = True, prior.linked_at is not None
        return filing
    call = desk.call(key) if key is not None else None
    port = desk.policy.port(key.port_of_call if key is not None else doc.port_of_call)
    if prior is not None and prior.linked_at is not None and key == prior.key:
        filing.linked = True  # a correction stays with the call it was linked to
    elif call is not None and call.status == ACTIVE:
        filing.linked = _within(_iso(expected_at_port(doc)), call.eta, port.eta_window)
    if not filing.linked:
        sentence = _unknown_call_sentence(doc, key, call, port)
        if port.unknown_call == "reject" and h.function != "cancel":
            filing.problem = (UNKNOWN_CALL, sentence)
            return filing
        filing.flags.append(Flag(UNKNOWN_CALL, sentence))
    outward_from = outward_port(doc)
    late = _late_correction(desk.now, doc, call, outward_from is not None)
    if late is not None:
        filing.flags.append(late)
    if not desk.write:
        return filing
    cancelled = h.function == "cancel"
    bills, equipment = ([], []) if cancelled else manifest_content(doc, h.sender)
    flags = tuple(dict.fromkeys([*(prior.flags if prior else ()), *(f.code for f in filing.flags)]))
    kept = prior.linked_at if prior is not None and prior.key == key else None
    linked_at = kept or _iso(desk.now)
    desk.journal.put_manifest(
        ManifestRecord(
            h.sender,
            doc.document_number,
            key or CallKey("", "", doc.port_of_call or ""),
            h.message_id,
            desk.inbound_id,
            h.document_version,
            h.function,
            CANCELLED if cancelled else ACTIVE,
            _iso(expected_at_port(doc)),
            flags,
            linked_at if filing.linked else None,
            prior.mrn if prior else None,
            prior.registered_at if prior else None,
            _iso(desk.now) or "",
            len(bills),
            len({e.container for e in equipment if e.container}),
        ),
        bills,
        equipment,
        outward_from=outward_from,
    )
    return filing


def _late_correction(
    now: dt.datetime, doc: CargoManifest, call: CallRecord | None, outward: bool
) -> Flag | None:
    """A correction filed when customs may no longer act on what it corrects: an inward
    manifest's after the call's actual arrival (the goods are landing), an outward one's after
    the actual departure (the goods are gone); None for an original or an earlier filing."""
    h = doc.header
    if h.function not in CORRECTIONS:
        return None
    if outward:
        code, event = POST_DEPARTURE, "departure"
        moment = _parse(call.atd) if call is not None and call.atd else None
    else:
        code, event = POST_ARRIVAL, "arrival"
        moment = _parse(call.ata) if call is not None and call.ata else doc.actual_arrival_time
    if moment is None or now <= _aware(moment):
        return None
    return Flag(
        code,
        f"{h.function} of manifest {doc.document_number} filed at {_iso(now)}, after "
        f"the call's actual {event} at {_iso(moment)}",
    )


def _unknown_call_sentence(
    doc: CargoManifest, key: CallKey | None, call: CallRecord | None, port: PortPolicy
) -> str:
    name = f"manifest {doc.document_number}"
    if key is None:
        return f"{name} does not name its call (IMO number, voyage and port of call)"
    if call is None:
        return f"{name} names call {key}, which is not announced"
    if call.status != ACTIVE:
        return f"{name} names call {key}, which was cancelled ({call.call_reference})"
    hours = int(port.eta_window.total_seconds() // 3600)
    return (
        f"{name} expects {'departure' if outward_port(doc) else 'arrival'} at "
        f"{_iso(expected_at_port(doc))}, more than {hours} hours from "
        f"the ETA {call.eta} of call {key} ({call.call_reference})"
    )


# ---------------------------------------------------------------- dangerous goods, terminals


def _unknown_call(kind: str, number: str, key: CallKey, call: CallRecord | None) -> tuple[str, str]:
    state = "is not announced" if call is None else f"was cancelled ({call.call_reference})"
    return (
        UNKNOWN_CALL,
        f"{kind} {number} is for call {key}, which {state}; replay it once the call is announced",
    )


def _opened(
    desk: _Desk, doc: DangerousGoodsNotification | TerminalOperationsReport, kind: str, label: str
) -> Filing:
    """The filing of a document that hangs on a call, before anything is written: a
    redelivery, refused for a call nobody announced (a cancellation of what was filed is
    not), or to be filed."""
    h = doc.header
    filing = Filing(h.document_type, doc.document_number, doc.call)
    prior = desk.journal.call_document(h.sender, kind, doc.document_number)
    if prior is not None and prior.message_id == h.message_id:
        filing.redelivery = True
        return filing
    call = desk.call(doc.call)
    if (call is None or call.status != ACTIVE) and not (h.function == "cancel" and prior):
        filing.problem = _unknown_call(label, doc.document_number, doc.call, call)
    return filing


def _document_record(
    doc: DangerousGoodsNotification | TerminalOperationsReport,
    kind: str,
    now: dt.datetime,
    items: int,
    **report: Any,
) -> CallDocumentRecord:
    h = doc.header
    return CallDocumentRecord(
        h.sender,
        doc.document_number,
        kind,
        doc.call,
        h.message_id,
        h.document_version,
        CANCELLED if h.function == "cancel" else ACTIVE,
        filed_at=_iso(now) or "",
        item_count=items,
        **report,
    )


def _file_dangerous(desk: _Desk, doc: DangerousGoodsNotification) -> Filing:
    h = doc.header
    filing = _opened(desk, doc, DANGEROUS_GOODS, "dangerous goods notification")
    if filing.redelivery or filing.problem or not desk.write:
        return filing
    cancelled = h.function == "cancel"
    items = (
        []
        if cancelled
        else [
            NotifiedDangerous(
                h.sender,
                doc.document_number,
                i.sequence,
                i.un_number,
                i.hazard_class,
                i.packing_group,
                i.container,
                i.proper_shipping_name,
                i.ems,
                i.stowage_position,
            )
            for i in doc.items
        ]
    )
    desk.journal.put_dangerous(_document_record(doc, DANGEROUS_GOODS, desk.now, len(items)), items)
    return filing  # cross-checked with the manifests once filed (_dispatch)


def _file_report(desk: _Desk, doc: TerminalOperationsReport) -> Filing:
    h = doc.header
    filing = _opened(desk, doc, TERMINAL_REPORT, "terminal report")
    if filing.redelivery or filing.problem or not desk.write:
        return filing
    cancelled = h.function == "cancel"
    movements = (
        []
        if cancelled
        else [
            MovementRecord(
                m.container,
                m.operation,
                h.sender,
                doc.document_number,
                _iso(m.time),
                tuple(m.seals),
                None if m.gross_mass_kg is None else str(m.gross_mass_kg),
                m.transport_document,
                m.stowage_position,
            )
            for m in doc.movements
        ]
    )
    desk.journal.put_report(
        _document_record(
            doc,
            TERMINAL_REPORT,
            desk.now,
            len(movements),
            operation=doc.operation,
            complete=doc.complete and not cancelled,
            completed_at=_iso(doc.completed_at),
            terminal=doc.terminal,
        ),
        movements,
    )
    if doc.complete and not cancelled:  # the discharge, or the loading (outward manifests)
        check = reconcile if doc.operation == "discharge" else reconcile_loading
        filing.reconciliation = check(desk.journal, desk.policy.weight_tolerance_percent, doc.call)
    return filing


__all__ = [
    "POST_ARRIVAL",
    "POST_DEPARTURE",
    "UNKNOWN_CALL",
    "CallPolicy",
    "Filing",
    "Flag",
    "PortPolicy",
    "file",
    "file_all",
    "judge",
    "judge_all",
    "manifest_call",
    "manifest_content",
    "record_registration",
    "register_mrn",
    "registry_time",
]
