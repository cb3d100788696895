"""APCS's XML call documents from a port partner (issue #17): read, judged, answered in XML.

A port partner sends EDIFACT; one whose configuration also lists ``xml`` in ``formats`` and
``apcs-calls`` in ``vocabularies`` (``[partners.apcs]``) may send APCS's XML arrival
notification and terminal report too (``xsd/apcs-calls-1.xsd``, ``adapters/apcs_calls.py``).
:func:`port_vocabulary` is how ``formats.decide`` tells such XML from any other: by its root
element, before anything is decoded; any other XML from a port stays refused
(``FORMAT_NOT_ALLOWED``, answered by CONTRL, as before).

:func:`translate_port_xml` reads one such document as the EDIFACT path reads a message: the
adapter (schema, IMO check digit, ports), the business rules (the partner's severities), the
call registry's judgement before anything is filed (an unknown call: ``UNKNOWN_CALL``, a
second call for the same key: ``DUPLICATE``), the canonical schema, then signed; the
pipeline files its version (``amend``) and routes it like any call document.

The answer is XML too: the canonical ``Acknowledgement`` (``customs-1.xsd``), signed by the
gateway, the XML counterpart of the APERAK (:func:`acknowledgement`): ``Status`` accepted or
rejected, ``AcknowledgementType`` ``APERAK``, ``AcknowledgedMessageId`` the partner's message
id, one ``Error`` per problem (code, sentence, where). It goes to ``partner.<id>.out`` as
``Acknowledgement`` (content type ``application/xml``).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, Final, cast

from lxml import etree

from adapters import apcs_calls
from adapters.common import DecodeContext, MappingError
from gateway.domain import xmlsafe
from gateway.domain.canonical_xml import to_xml
from gateway.domain.model import Acknowledgement, Header, Pointer, ResponseError
from gateway.domain.rules import check
from gateway.domain.validation import validate
from gateway.service.translation import Problem, Rejection, Translation

if TYPE_CHECKING:
    # Judged and filed only by `edigw run` (a journal); `edigw translate` loads neither.
    from gateway.service.calls import CallJudge

VOCABULARY: Final = "apcs-calls"
#: Root element (Clark notation) -> vocabulary, for XML a port partner may send.
PORT_VOCABULARIES: Final[Mapping[str, str]] = {
    apcs_calls.ARRIVAL: VOCABULARY,
    apcs_calls.TERMINAL_REPORT: VOCABULARY,
}
ANSWER_TYPE: Final = Acknowledgement.DOCUMENT_TYPE


def port_vocabulary(data: bytes) -> str | None:
    """The port vocabulary of an XML document by its root element, None when it has none.

    Only the first start tag is read (no entity, no network): the document is parsed in
    full, safely, by the adapter later.

    >>> port_vocabulary(b'<?xml version="1.0"?><TerminalReport xmlns="urn:apcs:dz:calls:1"/>')
    'apcs-calls'
    >>> port_vocabulary(b"<LpcoDocument/>") is None, port_vocabulary(b"<unclosed") is None
    (True, True)
    """
    try:
        events = etree.iterparse(
            io.BytesIO(data),
            events=("start",),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
        )
        for _event, element in events:
            return PORT_VOCABULARIES.get(element.tag)
    except etree.LxmlError:
        return None
    return None


def translate_port_xml(
    data: bytes,
    context: DecodeContext,
    *,
    sign: Callable[[etree._Element], bytes],
    inbound_id: str | None = None,
    severities: Mapping[str, str] | None = None,
    vocabularies: Collection[str] | None = None,
    calls: CallJudge | None = None,
) -> Translation:
    """One APCS XML call document, decoded, checked and signed (the module's docstring)."""
    result = Translation(format="xml", message_count=1)

    def reject(reason: str, sentence: str, stage: str, where: str = "document") -> Translation:
        result.rejection = Rejection(reason, sentence, stage, [Problem(reason, where, sentence)])
        result.documents, result.signed = [], []
        return result

    try:
        root = xmlsafe.parse(data)
    except xmlsafe.UnsafeXmlError as exc:
        return reject(exc.reason, exc.sentence, "decode")
    result.message_types = [etree.QName(root).localname]
    vocabulary = PORT_VOCABULARIES.get(root.tag)
    if vocabulary is None or (vocabularies is not None and vocabulary not in vocabularies):
        allowed = ", ".join(vocabularies or ()) or "none"
        return reject(
            "VOCABULARY_NOT_ALLOWED",
            f"{etree.QName(root).localname} is not a vocabulary {context.sender} may send "
            f"(allowed: {allowed})",
            "format",
        )
    try:
        doc = apcs_calls.decode(data, context)
    except MappingError as exc:
        return reject(exc.reason, exc.sentence, "map", exc.where or "document")
    if inbound_id is not None:
        from gateway.storage.records import derived_id

        doc.header.message_id = derived_id(inbound_id, 0)
    result.refuse_references(doc.references())
    violations = check(doc, severities)
    errors = [v for v in violations if v.severity != "warn"]
    for v in violations:
        if v.severity == "warn":
            result.warnings.add(Problem(v.code, v.path, v.sentence))
    if errors:
        first = errors[0]
        result.rejection = Rejection(
            "BUSINESS_RULES",
            f"{len(errors)} business rule(s) broken, first {first.code}: {first.sentence}",
            "rules",
            [Problem(v.code, v.path, v.sentence) for v in errors],
        )
        return result
    if calls is not None:
        filing = calls.judge(doc)
        if filing is not None and filing.problem is not None:
            code, sentence = filing.problem
            return reject(code, sentence, "call")
    element = to_xml(doc)
    problems = validate(element)
    if problems:
        return reject(
            "CANONICAL_INVALID",
            f"the {doc.header.document_type} made from this document breaks the canonical "
            f"schema ({problems[0].sentence})",
            "validate",
            problems[0].path,
        )
    result.documents.append(cast(Any, doc))
    result.sources.append(0)
    result.signed.append(sign(element))
    result.refused_references = []
    return result


def acknowledgement(
    translation: Translation,
    inbound_id: str,
    *,
    sender: str,
    partner: str,
    sign: Callable[[etree._Element], bytes],
) -> bytes:
    """The signed ``Acknowledgement`` answering ``translation`` (accepted or rejected)."""
    rejection = translation.rejection
    docs = translation.documents
    reference = docs[0].header.business_reference if docs else "-"
    header = Header.new(
        sender=sender[:35],
        receiver=partner[:35],
        document_type=ANSWER_TYPE,
        business_reference=(reference or "-")[:70],
        correlation_id=inbound_id[:70],
    )
    from gateway.storage.records import derived_id

    header.message_id = derived_id(inbound_id, "ack")
    errors = []
    if rejection is not None:
        problems = rejection.problems or [Problem(rejection.reason, "document", rejection.sentence)]
        errors = [
            ResponseError(
                p.code[:35],
                (p.sentence or p.code)[:512],
                Pointer(p.where[:512]) if p.where else None,
            )
            for p in problems
        ]
    answer = Acknowledgement(
        header,
        inbound_id[:70],
        "rejected" if rejection is not None else "accepted",
        "APERAK",
        errors,
    )
    return sign(to_xml(answer))


__all__ = [
    "ANSWER_TYPE",
    "PORT_VOCABULARIES",
    "VOCABULARY",
    "acknowledgement",
    "port_vocabulary",
    "translate_port_xml",
]
