"""``edigw translate`` of the travellers' JSON (issue #18): a portal pre-declaration or a border
post's event, read as the running gateway reads it, without its journal.

The running gateway hands a partner's JSON to the travellers' desk
(``gateway.service.travellers_desk``): the portal's (role ``portal``) is decoded into its
canonical ``VehicleTemporaryAdmission`` or ``CurrencyDeclaration`` and validated against
``xsd/travellers-1.xsd``, then decided against the journal (an open TPD for the vehicle, the
sailing's lists); a border post's event (role ``border``) changes the state of a TPD the journal
holds. Offline there is no journal: this reads and validates what the desk would, prints the
portal's canonical document, and says in a warning what only the running gateway decides. A
border event has no canonical document of its own: read and checked, nothing is printed.

>>> from adapters.common import DecodeContext
>>> t = translate_json_offline(b'{"documentType": "tpd-request"', DecodeContext("eservices"), "portal")
>>> p = t.rejection.problems[0]
>>> p.code, p.where, p.sentence
('JSON_MALFORMED', '/', "not JSON: Expecting ',' delimiter (line 1, column 31)")
"""

from __future__ import annotations

from adapters import eservices
from adapters.common import DecodeContext, MappingError
from gateway.domain import travellers as travellers_xml
from gateway.domain.validation import validate
from gateway.service.translation import Problem, Rejection, Translation

BORDER_ROLE = "border"
NOT_DECIDED = "TRAVELLERS_NOT_DECIDED"
NOT_APPLIED = "BORDER_EVENT_NOT_APPLIED"


def translate_json_offline(data: bytes, context: DecodeContext, role: str) -> Translation:
    """``data`` from a partner of ``role`` (``portal`` or ``border``) read as the travellers'
    desk reads it (module docstring)."""
    result = Translation(format="json")

    def reject(reason: str, where: str, sentence: str, stage: str) -> Translation:
        result.rejection = Rejection(reason, sentence, stage, [Problem(reason, where, sentence)])
        return result

    if role == BORDER_ROLE:
        try:
            event = eservices.decode_border_event(data)
        except MappingError as exc:
            return reject(exc.reason, exc.where or "/", exc.sentence, "map")
        result.message_types = ["border-event"]
        named = f"TPD {event.tpd}" if event.tpd else f"the TPD of vehicle {event.vin}"
        result.warnings.add(
            Problem(
                NOT_APPLIED,
                "/",
                f"offline translation: this {event.event} event changes the state of {named} "
                "in the running gateway's journal; it has no canonical document to print",
            )
        )
        return result
    try:
        doc = eservices.decode(data, context)
    except MappingError as exc:
        return reject(exc.reason, exc.where or "/", exc.sentence, "map")
    element = travellers_xml.to_xml(doc)
    problems = validate(element, schema=travellers_xml.SCHEMA_FILE)
    if problems:
        return reject("CANONICAL_INVALID", "/", problems[0].sentence, "validate")
    result.message_types = [doc.header.document_type]
    result.documents.append(doc)  # type: ignore[arg-type]
    result.elements.append(element)
    result.warnings.add(
        Problem(
            NOT_DECIDED,
            "/",
            f"offline translation: whether {doc.header.business_reference} is accepted is "
            "decided by the running gateway against its journal (open TPDs, the sailing's lists)",
        )
    )
    return result


__all__ = ["translate_json_offline"]
