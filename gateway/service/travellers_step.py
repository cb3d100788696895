"""The travellers' messages in a partner message's path (issue #18, docs/travellers.md).

A ``portal`` or ``border`` partner's JSON goes to the
:class:`~gateway.service.travellers_desk.TravellersDesk`, never to the EDIFACT or ministry
readers: the desk decodes, decides in the journal, signs, and answers with a signed
``TravellersReceipt``. :func:`travellers_outcome` makes its result an :class:`Outcome` the
decision service plans like any other:

* accepted: the canonical document (portal) and the sailings' lists it changed are routed
  to customs, the receipt goes to ``partner.<id>.out``; a border event routes nothing;
* refused: the message is dead-lettered with the refusal's reason and ``x-edigw-replayable``
  (an exit before its entry may be replayed once the entry has arrived), and the negative
  receipt goes to the partner.

:func:`sailing_lists` is the ferry lines' part: after an accepted PAXLST, its sailing's
pre-clearance list, signed, to customs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from gateway.config import Partner, Route
from gateway.domain.model import CanonicalDocument, PassengerVehicleList
from gateway.service.formats import FormatDecision
from gateway.service.routing import route_for
from gateway.service.translation import Outcome, Problem, Rejection, RoutedDocument, Translation
from gateway.service.travellers import Refusal
from gateway.service.travellers_desk import RECEIPT_TYPE, DeskResult, TravellersDesk

#: The partner roles whose messages the travellers' desk decides.
TRAVELLER_ROLES = ("portal", "border")


def travellers_outcome(
    desk: TravellersDesk,
    data: bytes,
    partner: Partner,
    inbound_id: str,
    correlation_id: str,
    decision: FormatDecision,
    routes: Sequence[Route],
) -> Outcome:
    """The outcome of one portal or border message: routed documents and a receipt, or a
    refusal (dead letter) and a negative receipt."""
    result = _desk_result(desk, data, partner, inbound_id, correlation_id, decision)
    translation = Translation(format="json")
    outcome = Outcome(translation, acknowledgements=[(RECEIPT_TYPE, result.receipt)])
    refusal = result.refusal
    if refusal is not None:
        translation.rejection = Rejection(
            refusal.reason,
            refusal.sentence,
            "travellers",
            [Problem(refusal.reason, refusal.where, refusal.sentence)],
            replayable=refusal.replayable,
        )
        return outcome
    verdict = result.verdict
    if result.document is not None and result.signed_document is not None:
        doc = cast(CanonicalDocument, result.document)
        translation.message_types.append(doc.header.document_type)
        outcome.routed.append(
            RoutedDocument(doc, result.signed_document, route_for(doc, partner.id, routes))
        )
    else:
        translation.message_types.append("BorderEvent")
    for listed in result.lists:
        doc = cast(CanonicalDocument, listed.document)
        outcome.routed.append(
            RoutedDocument(doc, listed.signed_xml, route_for(doc, partner.id, routes))
        )
    if verdict is not None:
        # The reference and the state, never a name or a document number (privacy).
        what = f"{verdict.reference or 'travellers message'}: {verdict.status}"
        if verdict.due_on is not None:
            what += f", due {verdict.due_on.isoformat()}"
        if verdict.duplicate:
            outcome.events.append(("duplicate", f"{what} (sent before: nothing changed)"))
        else:
            outcome.events.append(("decided", what))
    return outcome


def _desk_result(
    desk: TravellersDesk,
    data: bytes,
    partner: Partner,
    inbound_id: str,
    correlation_id: str,
    decision: FormatDecision,
) -> DeskResult:
    if decision.format is None:
        refused = decision.refusal
        assert refused is not None
        return desk.refuse(partner.id, inbound_id, Refusal(refused.reason, refused.sentence))
    if partner.role == "portal":
        return desk.portal(
            data, partner=partner.id, inbound_id=inbound_id, correlation_id=correlation_id
        )
    return desk.border(data, partner=partner.id, inbound_id=inbound_id)


def sailing_lists(
    desk: TravellersDesk,
    routed: Sequence[RoutedDocument],
    inbound_id: str,
    partner: str,
    routes: Sequence[Route],
) -> list[RoutedDocument]:
    """The signed pre-clearance list of each accepted passenger list's sailing, to route."""
    out = []
    for r in routed:
        if not isinstance(r.document, PassengerVehicleList) or r.document.header.test:
            continue  # (a test list, UNB 0035 1, is no sailing's list)
        for listed in desk.passenger_list(r.document, inbound_id):
            doc = cast(CanonicalDocument, listed.document)
            out.append(RoutedDocument(doc, listed.signed_xml, route_for(doc, partner, routes)))
    return out
