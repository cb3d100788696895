"""Customs responses: from the canonical ``CustomsResponse`` back to the original sender.

The customs core publishes a canonical CustomsResponse (``customs-1.xsd``) on
``customs.responses`` (or on the customs exchange with key ``responses``). Its
``OriginalMessageId`` is the id of the canonical document the gateway routed. The
gateway finds that document's origin in the journal, translates the response into
the sender's format and delivers it on ``partner.<id>.out``:

* port partners (EDIFACT): a CUSRES in the syntax version and envelope ids of the
  interchange that carried the original (``adapters.cusres``);
* ministries (XML): the canonical CustomsResponse, signed by the gateway.

The journal records ``answered`` on the original document (once, even when the
response is redelivered); ``edigw overdue`` lists routed documents with no answer
after ``responses.overdue_after_minutes``. The MRN of an accepted manifest (its
``RegistrationNumber``) is carried in the CUSRES (BGM and ``RFF+ABT``), becomes a
reference of the manifest and is kept on its call (``calls.record_registration``, issue #17).

>>> from gateway.config_schema import ResponsesSection
>>> overdue_after(ResponsesSection(overdue_after_minutes=90))
datetime.timedelta(seconds=5400)
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from gateway.config_schema import ResponsesSection
from gateway.domain.model import CustomsResponse
from gateway.logs import bind_reference, get_logger, message_context
from gateway.service import call_report, calls, formats
from gateway.service.plan import Delivery, Plan, Publish, inbound_id_of
from gateway.service.translation import Rejection
from gateway.storage.journal import Origin, derived_id

if TYPE_CHECKING:
    from gateway.service.decision import DecisionService

log = get_logger()


def overdue_after(section: ResponsesSection) -> dt.timedelta:
    """``responses.overdue_after_minutes`` as a delay."""
    return dt.timedelta(minutes=section.overdue_after_minutes)


def parse_response(body: bytes) -> CustomsResponse:
    """The canonical CustomsResponse in ``body``; ValueError when it is something else."""
    from gateway.domain.canonical_xml import from_xml

    doc = from_xml(body)
    if not isinstance(doc, CustomsResponse):
        raise ValueError(f"expected a CustomsResponse, got a {type(doc).__name__}")
    return doc


def answers_in_edifact(origin: Origin) -> bool:
    """Whether the original came in EDIFACT, and so is answered by a CUSRES."""
    return str(origin.facts.get("format", "")).upper() == "EDIFACT"


def render(
    response: CustomsResponse,
    origin: Origin,
    *,
    our_id: str,
    signer: Any = None,
    our_qualifier: str = "",
    reference: str = "1",
) -> tuple[bytes, str, str]:
    """The response in the original sender's format: (body, content type, message type).

    A CUSRES goes under ``reference``, its own interchange control reference (issue #16: the
    journal gives each its own), and names what the partner knows of the original: its UNB
    0020, UNH 0062 and document number, never the gateway's internal ids.
    """
    facts = origin.facts
    if answers_in_edifact(origin):
        from adapters import cusres

        version = str(facts.get("syntax_version") or "3")
        body = cusres.encode(
            response,
            recipient=str(facts.get("interchange_sender") or origin.partner.upper()),
            recipient_qualifier=str(facts.get("interchange_sender_qualifier") or ""),
            recipient_route=[str(p) for p in facts.get("interchange_sender_route") or ()],
            our_id=our_id,
            our_qualifier=our_qualifier,
            syntax_id=str(facts.get("syntax_id") or "UNOC"),
            syntax_version=int(version) if version.isdecimal() else 3,
            reference=reference,
            their_interchange_reference=str(facts.get("interchange_reference") or ""),
            their_message_reference=str(facts.get("message_reference") or ""),
            their_document_number=str(facts.get("business_reference") or ""),
        )
        return body, "application/edifact", "CUSRES"
    from gateway.domain.canonical_xml import to_bytes, to_xml

    element = to_xml(response)
    if signer is not None:
        element = signer.sign(element)
    return to_bytes(element), "application/xml", "CustomsResponse"


class ResponseHandler:
    """Decides, in the worker's decision thread, what to do with one customs response.

    It sits beside the decision service (whose dead letters it writes), not in the worker.
    """

    def __init__(self, decisions: DecisionService) -> None:
        self.decisions = decisions

    def decide(self, queue: str, d: Delivery) -> Plan:
        decisions = self.decisions
        journal = decisions.journal
        names = decisions.names
        response_id = inbound_id_of("customs", d)
        # Every line of a response's story says its correlation id, as the worker's own lines
        # do, and, once read, what it answers (issue #19, point 8).
        with message_context(
            message_id=response_id,
            partner="customs",
            correlation_id=d.correlation_id or response_id,
            business_reference=None,
        ):
            prior = journal.processed(response_id)
            if prior is not None and prior.state == "done":
                journal.record_event(
                    response_id, "duplicate", "redelivery of a response already delivered"
                )
                log.info("redelivery of a processed response: acknowledged, nothing resent")
                return Plan(response_id, "redelivery", prior.outcome, record=False)
            try:
                response = parse_response(d.body)
            except Exception as exc:  # input from outside: never crash, dead-letter it
                return decisions.dead_letter_plan(
                    response_id,
                    "customs",
                    queue,
                    d,
                    Rejection(
                        "RESPONSE_INVALID",
                        f"not a canonical CustomsResponse ({type(exc).__name__}: {exc})",
                        "decode",
                    ),
                )
            original = response.original_message_id
            # The original's document number, which its sender's lines carried.
            about = response.original_reference or response.header.business_reference or None
            bind_reference(about)
            origin = journal.origin(original)
            if origin is None:
                return decisions.dead_letter_plan(
                    response_id,
                    "customs",
                    queue,
                    d,
                    Rejection(
                        "UNKNOWN_ORIGINAL",
                        f"no routed document has the id {original}; the response cannot be "
                        "delivered",
                        "correlate",
                    ),
                    about or "",  # in dlq list, and on the worker's "done" line
                )
            if origin.facts.get("role") == call_report.GATEWAY_ROLE:  # our own report (#17)
                return call_report.record_answer(journal, response_id, response, origin)
            kind = "CUSRES" if answers_in_edifact(origin) else "CustomsResponse"
            out_id = derived_id(response_id, "out")
            detail = (
                f"{response.decision}"
                + (f", channel {response.channel}" if response.channel else "")
                + (
                    f", registration {response.registration_number}"
                    if response.registration_number
                    else ""
                )
                + f"; {kind} to {names.outbound(origin.partner)}"
            )
            with journal.unit_of_work():  # one commit for the whole decision
                journal.record_message(
                    response_id,
                    type="CustomsResponse",
                    partner=origin.partner,
                    correlation_id=origin.inbound_id,
                    parent_id=origin.message_id,
                )
                journal.add_references(response_id, response.references())
                # The MRN of an accepted manifest: a reference of it, kept on its call (#17).
                registered = calls.record_registration(journal, response, origin)
                journal.decide(response_id, "answered", detail)
                # A CUSRES is an interchange of its own: its reference from the partner's
                # counter, the same again if this response is decided again (issue #16).
                reference = (
                    journal.interchange_reference(origin.partner, out_id, response_id)
                    if kind == "CUSRES"
                    else "1"
                )
            body, content_type, kind = render(
                response,
                origin,
                signer=decisions.pipeline.signer,
                reference=reference,
                **formats.answering_as(
                    decisions.settings.partners, decisions.pipeline.interchange_id, origin
                ),
            )
            log.info("customs response translated", original=original, to=origin.partner, kind=kind)

            def answered() -> None:
                if not journal.mark_answered(origin.message_id, detail):
                    log.info("original was already answered; this answer was delivered too")

            return Plan(
                response_id,
                "answered",
                detail,
                [
                    Publish(
                        names.outbound_exchange,
                        origin.partner,
                        body,
                        out_id,
                        origin.inbound_id,
                        content_type,
                        kind,
                        {
                            "x-edigw-original-message-id": origin.message_id,
                            "x-edigw-decision": response.decision,
                        },
                        "response",
                    )
                ],
                [
                    (response_id, "routed", f"{kind} to {names.outbound(origin.partner)}"),
                    *([(origin.message_id, *registered)] if registered else []),
                ],
                on_confirmed=answered,
                business_reference=about,
            )
