"""A reconciled call, told (issue #17): the discrepancy report to customs, and to each
manifest's sender what is theirs to correct.

When a call is reconciled (a terminal reports the discharge complete, or
``reconcile_after_hours`` passed since the actual arrival: ``gateway.service.call_timer``;
or, against its outward manifests, a terminal reports the loading complete, or
``reconcile_loading_after_hours`` passed since the actual departure:
``gateway.service.call_timer``), :func:`plan_report` makes

* one canonical :class:`~gateway.domain.calls.ManifestDiscrepancyReport` (``xsd/calls-1.xsd``),
  signed like every document the gateway routes, for the customs system the call's port is
  routed to (``[[routes]]``, matched by the call's announcer and port); an empty report when
  the call reconciled clean, so customs knows the call was reconciled at all;
* for each manifest with a discrepancy of its own (its bills' containers short-landed,
  mismatched, or declared to stay on board and discharged), an **APERAK** to the manifest's
  sender, in the syntax version and envelope of the interchange that carried the manifest:
  ``BGM+962`` and ``AP`` (the manifest stands, accepted: what follows is for it to
  correct), ``RFF+DM`` the manifest's number, one ``ERC`` + ``FTX`` per container
  (``GW401`` short-landed, ``GW402`` over-landed, ``GW403`` seal, ``GW404`` weight; loading:
  ``GW411`` short-shipped, ``GW412`` loaded at this port, declared for another; dangerous
  goods: ``GW405`` declared and not notified, ``GW406`` UN number mismatch). A port
  partner sends EDIFACT only (``formats.ROLE_FORMATS``), so its answer is an APERAK; a
  manifest whose origin the journal does not hold gets none (said in the journal).

The routed report is recorded as an origin (role ``gateway``) and as a report of its call
(``call_reports``), so customs may answer it on ``customs.responses``: :func:`record_answer`
records that answer on the call and forwards it to nobody (the gateway wrote the report).

An over-landed container on no manifest is nobody's: customs alone hears of it, as of dangerous
goods notified and on no manifest. When a manifest or a notification filed later makes the
call's dangerous goods be checked again, :func:`plan_recheck` tells the manifests' senders
what is theirs in an APERAK of the same form. Every id is
derived from what triggered the reconciliation, so a redelivered trigger republishes the
same messages (consumers drop the copies).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from adapters import aperak
from gateway.config import Route
from gateway.domain.call_discrepancies import (
    DangerousGoodsDiscrepancy,
    DiscrepancyBill,
)
from gateway.domain.calls import (
    CallKey,
    Discrepancy,
    ManifestDiscrepancyReport,
    ReconciliationBasis,
)
from gateway.domain.canonical_xml import to_xml
from gateway.domain.model import CustomsResponse, Header, Source
from gateway.logs import get_logger
from gateway.service import routing
from gateway.service.call_checks import Reconciliation
from gateway.service.call_dangerous import Bill, DangerousCheck, DangerousDiscrepancy, by_manifest
from gateway.service.plan import Addresses, Plan, Publish, now
from gateway.service.signing_step import sign_element
from gateway.storage.call_records import CallReportRecord
from gateway.storage.records import EventRow, Journal, Origin, derived_id

if TYPE_CHECKING:
    from gateway.security.signing import Signer

log = get_logger()

DOCUMENT_TYPE = ManifestDiscrepancyReport.DOCUMENT_TYPE
# The origin role of a document the gateway wrote itself: customs' answer goes to nobody.
GATEWAY_ROLE = "gateway"


@dataclass(frozen=True, slots=True)
class Reporter:
    """What telling a reconciliation needs: the journal (in the caller's unit of work), the
    signer, the broker's names, the routes, and who the gateway answers a partner as
    (``answering(origin)``: our UNB id and qualifier for the partner that sent ``origin``)."""

    journal: Journal
    signer: Signer
    names: Addresses
    routes: Sequence[Route]
    sender_id: str  # the gateway's id, the report's Header/Sender
    answering: Callable[[Origin], Mapping[str, str]]


@dataclass(slots=True)
class Told:
    """What :func:`plan_report` decided: the publishes, the journal events, the report."""

    report: ManifestDiscrepancyReport
    publishes: list[Publish]
    events: list[EventRow]


def report_of(
    journal: Journal,
    reconciliation: Reconciliation,
    basis: ReconciliationBasis,
    *,
    message_id: str,
    correlation_id: str,
    sender_id: str,
    now: dt.datetime | None = None,
) -> ManifestDiscrepancyReport:
    """The canonical report of ``reconciliation``, each bill with its manifest's MRN."""
    key = reconciliation.call
    call = journal.call(key)
    mrns: dict[tuple[str, str], str | None] = {}

    def mrn(sender: str, number: str) -> str | None:
        if (sender, number) not in mrns:
            record = journal.call_manifest(sender, number)
            mrns[sender, number] = record.mrn if record is not None else None
        return mrns[sender, number]

    def bills(found: Sequence[Bill]) -> list[DiscrepancyBill]:
        return [
            DiscrepancyBill(
                b.sender,
                b.document_number,
                b.transport_document,
                mrn(b.sender, b.document_number),
            )
            for b in found
        ]

    moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    header = Header(
        message_id=message_id,
        correlation_id=correlation_id[:70],
        function="original",
        sender=sender_id[:35],
        receiver="customs",
        document_type=DOCUMENT_TYPE,
        document_version=1,
        business_reference=f"MDR/{key}"[:70],
        test=False,
        created_at=moment,
        payload_hash="",
        source=Source("gateway", DOCUMENT_TYPE),
    )
    return ManifestDiscrepancyReport(
        header,
        key,
        basis,
        moment,
        reconciliation.declared,
        reconciliation.discharged,
        call.call_reference if call is not None else None,
        call.vessel_name if call is not None else None,
        direction=reconciliation.direction,
        discrepancies=[
            Discrepancy(d.kind, d.container, d.sentence, d.declared, d.discharged, bills(d.bills))
            for d in reconciliation.discrepancies
        ],
        dangerous_goods=[
            DangerousGoodsDiscrepancy(
                g.kind,
                g.container or None,
                g.sentence,
                g.declared,
                g.notified,
                bills(g.bills),
                list(g.notifications),
            )
            for g in reconciliation.dangerous
        ],
    )


def plan_report(
    reporter: Reporter,
    reconciliation: Reconciliation,
    basis: ReconciliationBasis | Literal["complete"],
    trigger_id: str,
    *,
    now: dt.datetime | None = None,
) -> Told:
    """The report to customs and the APERAKs to the manifests' senders (module docstring).

    ``trigger_id``: the message that reconciled the call (the terminal's report), or the
    timer's claim; the ids of what is published are derived from it. The journal records
    the report and each APERAK as messages of the trigger's story. ``basis`` ``complete``:
    a terminal reported the operation complete (``discharge_complete`` or
    ``loading_complete``, by the reconciliation's direction).
    """
    outward = reconciliation.direction == "outward"
    if basis == "complete":
        basis = "loading_complete" if outward else "discharge_complete"
    journal = reporter.journal
    # The loading's report and answers have ids of their own (a terminal's interchange may
    # complete a call's discharge and loading at once).
    tag = f"mdr-load:{reconciliation.call}" if outward else "mdr"
    report_id = derived_id(trigger_id, tag)
    report = report_of(
        journal,
        reconciliation,
        basis,
        message_id=report_id,
        correlation_id=trigger_id,
        sender_id=reporter.sender_id,
        now=now,
    )
    key = reconciliation.call
    call = journal.call(key)
    announcer = call.sender if call is not None else reporter.sender_id
    events: list[EventRow] = []
    publishes: list[Publish] = []
    journal.record_message(
        report_id,
        type=DOCUMENT_TYPE,
        partner=announcer,
        correlation_id=trigger_id,
        parent_id=trigger_id,
    )
    journal.add_references(report_id, [report.header.business_reference, *report.references()])
    try:
        destination = routing.route_for(report, announcer, reporter.routes)
    except LookupError as exc:
        events.append((report_id, "flagged", f"not routed: {exc}"))
        log.warning("discrepancy report not routed", call=str(key), error=str(exc))
    else:
        signed = sign_element(reporter.signer, to_xml(report))
        publishes.append(
            Publish(
                reporter.names.customs_exchange,
                destination,
                signed,
                report_id,
                trigger_id,
                "application/xml",
                DOCUMENT_TYPE,
                {
                    "x-edigw-partner": announcer,
                    "x-edigw-business-reference": report.header.business_reference,
                    "x-edigw-inbound-id": trigger_id,
                    "x-edigw-call": str(key)[:255],
                },
                "document",
            )
        )
        target = reporter.names.customs(destination)
        _record_told(journal, report, trigger_id, announcer, reconciliation.summary())
        events.append((report_id, "routed", f"signed, to {target}: {reconciliation.summary()}"))
        events.append((trigger_id, "routed", f"{DOCUMENT_TYPE} of call {key} to {target}"))
    for index, ((sender, number), found) in enumerate(_by_manifest(reconciliation).items()):
        told = _tell_sender(
            reporter, key, sender, number, found, trigger_id, f"{tag}-aperak{index}"
        )
        publishes.extend(told[0])
        events.extend(told[1])
    return Told(report, publishes, events)


def _record_told(
    journal: Journal,
    report: ManifestDiscrepancyReport,
    trigger_id: str,
    announcer: str,
    summary: str,
) -> None:
    """The report, routed: an origin customs may answer (``customs.responses``, its
    ``OriginalMessageId`` the report's id), and a report of its call (``calls show``).

    The origin's ``role`` is ``gateway``: the gateway wrote the report, so customs' answer is
    recorded on the call and forwarded to nobody (``responses.ResponseHandler``)."""
    h = report.header
    journal.record_origin(
        Origin(
            h.message_id,
            # Its own id, not the trigger's: an answer naming the terminal's message is the
            # terminal report's (Journal.origin finds an origin by either id).
            h.message_id,
            announcer,
            now(),
            {
                "document_type": DOCUMENT_TYPE,
                "business_reference": h.business_reference,
                "role": GATEWAY_ROLE,
                "format": "XML",
                "call": str(report.call),
                "trigger_id": trigger_id,
            },
        )
    )
    journal.put_call_report(
        CallReportRecord(h.message_id, report.call, report.basis, trigger_id, summary, now())
    )


def record_answer(
    journal: Journal, response_id: str, response: CustomsResponse, origin: Origin
) -> Plan:
    """Customs' answer to a report the gateway routed (``origin``): recorded in the journal
    (a message of the report's story, ``answered`` on the report) and on its call
    (``calls show``), forwarded to nobody (the gateway wrote the report)."""
    decision = response.decision + (
        f", registration {response.registration_number}" if response.registration_number else ""
    )
    call = str(origin.facts.get("call") or "")
    detail = f"{decision}; {DOCUMENT_TYPE} of call {call}: recorded, forwarded to nobody"
    with journal.unit_of_work():  # one commit for the whole decision
        journal.record_message(
            response_id,
            type=CustomsResponse.DOCUMENT_TYPE,
            partner=origin.partner,
            correlation_id=str(origin.facts.get("trigger_id") or origin.inbound_id),
            parent_id=origin.message_id,
        )
        journal.add_references(response_id, [*response.references(), call])
        journal.answer_call_report(
            origin.message_id,
            response.decision,
            response.registration_number,
            response_id,
            now(),
        )
        journal.decide(response_id, "answered", detail)
    log.info("customs answered a discrepancy report", original=origin.message_id, call=call)

    def answered() -> None:
        journal.mark_answered(origin.message_id, detail)

    return Plan(
        response_id,
        "answered",
        detail,
        [],
        [(response_id, "answered", f"to {DOCUMENT_TYPE} of call {call}: {decision}")],
        on_confirmed=answered,
    )


def _by_manifest(reconciliation: Reconciliation) -> dict[tuple[str, str], list[Discrepancy]]:
    """Each manifest's own discrepancies (sender, document number), in the report's order:
    its containers', then its dangerous goods' (:func:`_dangerous_lines`)."""
    out: dict[tuple[str, str], list[Discrepancy]] = {}
    for d in reconciliation.discrepancies:
        for manifest in dict.fromkeys((b.sender, b.document_number) for b in d.bills):
            theirs = [b for b in d.bills if (b.sender, b.document_number) == manifest]
            on = ", ".join(b.transport_document for b in theirs)
            out.setdefault(manifest, []).append(
                Discrepancy(d.kind, d.container, f"{d.sentence} (bill {on})" if on else d.sentence)
            )
    for manifest, found in by_manifest(reconciliation.dangerous).items():
        out.setdefault(manifest, []).extend(_dangerous_lines(found))
    return out


def _dangerous_lines(found: Sequence[DangerousDiscrepancy]) -> list[Discrepancy]:
    """Dangerous goods discrepancies as an APERAK's lines (kind, container, sentence)."""
    return [Discrepancy(d.kind, d.container or "-", d.sentence) for d in found]


def plan_recheck(reporter: Reporter, check: DangerousCheck) -> tuple[list[Publish], list[EventRow]]:
    """The APERAKs of a dangerous goods cross-check made again (``call_dangerous.recheck``):
    to the sender of each manifest with discrepancies of its own (a manifest's filing: to
    its sender alone), ids derived from the document whose filing made the check. Customs
    has the discrepancies in the headers of that document's publish, and in the call's
    ``ManifestDiscrepancyReport``."""
    publishes: list[Publish] = []
    events: list[EventRow] = []
    for index, ((sender, number), found) in enumerate(check.to_tell().items()):
        told = _tell_sender(
            reporter,
            check.call,
            sender,
            number,
            _dangerous_lines(found),
            check.trigger_id,
            f"dg-aperak{index}",
            what=f"dangerous goods of call {check.call} checked again",
        )
        publishes += told[0]
        events += told[1]
        log.info(
            "dangerous goods checked again: told the manifest's sender",
            message_id=check.trigger_id,
            partner=sender,
            business_reference=number,
            call=str(check.call),
            kinds=",".join(d.kind for d in found),
        )
    return publishes, events


def _tell_sender(
    reporter: Reporter,
    key: CallKey,
    sender: str,
    number: str,
    found: list[Discrepancy],
    trigger_id: str,
    answer: str,
    *,
    what: str = "",
) -> tuple[list[Publish], list[EventRow]]:
    """The APERAK telling ``sender`` what of its manifest ``number`` is to correct."""
    journal = reporter.journal
    record = journal.call_manifest(sender, number)
    origin = journal.origin(record.message_id) if record is not None else None
    if record is None or origin is None:
        return [], [(trigger_id, "flagged", f"manifest {number} of {sender}: no origin to answer")]
    answer_id = derived_id(trigger_id, answer)
    facts = origin.facts
    version = str(facts.get("syntax_version") or "3")
    original = aperak.Original(
        sender=str(facts.get("interchange_sender") or origin.partner.upper()),
        sender_qualifier=str(facts.get("interchange_sender_qualifier") or ""),
        sender_route=tuple(str(p) for p in facts.get("interchange_sender_route") or ()),
        recipient=str(facts.get("interchange_recipient") or ""),
        control_reference=str(facts.get("interchange_reference") or ""),
        syntax_id=str(facts.get("syntax_id") or "UNOC"),
        syntax_version=int(version) if version.isdecimal() else 3,
        message_reference=str(facts.get("message_reference") or ""),
        message_type="CUSCAR",
        document_number=number,
    )
    reference = journal.interchange_reference(sender, answer_id, record.message_id)
    our = reporter.answering(origin)
    body = aperak.encode(
        [aperak.ApplicationError(d.kind, d.sentence) for d in found],
        original,
        our_id=our["our_id"],
        our_qualifier=our.get("our_qualifier", ""),
        reference=reference,
        accepted=True,
    )
    journal.record_message(
        answer_id,
        type="APERAK",
        partner=sender,
        correlation_id=origin.inbound_id,
        parent_id=record.message_id,
    )
    kinds = ", ".join(f"{d.kind} {d.container}" for d in found)
    target = reporter.names.outbound(sender)
    return [
        Publish(
            reporter.names.outbound_exchange,
            sender,
            body,
            answer_id,
            origin.inbound_id,
            "application/edifact",
            "APERAK",
            {"x-edigw-original-message-id": record.message_id, "x-edigw-call": str(key)[:255]},
            "ack",
        )
    ], [
        (
            record.message_id,
            "flagged",
            f"{what or f'call {key} reconciled'}; APERAK to {target}: {kinds}",
        ),
        (answer_id, "routed", f"APERAK to {target} for manifest {number}: {kinds}"),
    ]


__all__ = [
    "DOCUMENT_TYPE",
    "GATEWAY_ROLE",
    "Reporter",
    "Told",
    "plan_recheck",
    "plan_report",
    "record_answer",
    "report_of",
]
