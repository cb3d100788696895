"""The XML side of translation: canonical XML written, validated and signed; ministry XML
read offline.

:func:`write_canonical` turns one decoded document into its validated canonical XML (signed
at once when the pipeline signs, a large manifest streamed without a tree);
:func:`translate_xml_offline` is ``edigw translate`` on a ministry's XML (no trust store).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeGuard

from lxml import etree

from adapters.common import DecodeContext, MappingError
from gateway.domain import xmlsafe
from gateway.domain.canonical_xml import to_xml
from gateway.domain.model import CanonicalDocument, CargoManifest, PassengerVehicleList
from gateway.domain.validation import validate
from gateway.service.translation import Problem, Rejection, Translation

if TYPE_CHECKING:
    # A large manifest's streamed path, and the spool, are the signing gateway's (issue #20,
    # point 6: `edigw translate` signs nothing).
    from gateway.security import c14n
    from gateway.storage.spool import SpoolBatch

# A manifest of this many bills or more is written and signed without a tree (issue #8): at
# 5,000 bills the tree is ~37 MB. Smaller ones keep the tree path (lxml's own serialisation,
# the bytes partners have seen so far); the two give the same document (c14n-equal).
STREAM_MIN_CONSIGNMENTS = 500

# A passenger list's signed XML waits while its sailing's pre-clearance list is built (the
# travellers kept, every vehicle matched, the list written and signed: issue #18). At ~3.8
# times the PAXLST it was, in memory, the largest part of the gateway's peak: given a spool,
# it goes there from 64 KiB (~100 travellers), not from the spool's 1 MiB.
PASSENGER_LIST_SPOOL_MIN_BYTES = 1 << 16


def spool_min_bytes(doc: CanonicalDocument | object) -> int | None:
    """The size from which ``doc``'s signed XML is spooled; None: the spool's own."""
    return PASSENGER_LIST_SPOOL_MIN_BYTES if isinstance(doc, PassengerVehicleList) else None


def _streams(doc: CanonicalDocument) -> TypeGuard[CargoManifest]:
    return isinstance(doc, CargoManifest) and len(doc.consignments) >= STREAM_MIN_CONSIGNMENTS


def write_canonical(
    doc: CanonicalDocument,
    result: Translation,
    sign: Callable[[etree._Element], bytes] | None,
    sign_digest: c14n.SignDigest | None = None,
    spool: SpoolBatch | None = None,
) -> Rejection | None:
    """The validated canonical XML of ``doc``: signed into ``result.signed`` when ``sign``
    is given (the tree then goes at once; a large document to ``spool`` when given), else
    kept in ``result.elements``.

    A large manifest with ``sign`` and ``sign_digest`` is streamed (``gateway.security.c14n``); when
    the streamed check refuses it, or a value cannot be XML, the tree path below decides
    and words the rejection, as it always has.
    """
    if sign is not None and sign_digest is not None and _streams(doc):
        from gateway.security import c14n

        try:
            parts = c14n.signed_parts(doc, sign_digest)
        except ValueError:
            parts = None  # to_xml raises it again below, and the message is refused
        if parts is not None:
            # Its bills are in the signed bytes: the model keeps the rest, and the bills go
            # before the bytes are joined (issue #8).
            result.documents[-1] = c14n.SignedManifest.of(doc)
            del doc
            result.signed.append(c14n.joined(parts) if spool is None else spool.keep(parts))
            return None
    try:
        element = to_xml(doc)
    except (ValueError, TypeError) as exc:
        # A value XML cannot carry (a control character, say) that an adapter let
        # through: the message is refused like any other canonical-schema failure.
        sentence = f"the {doc.header.document_type} cannot be written as XML: {exc}"
        return Rejection(
            "CANONICAL_INVALID",
            sentence,
            "validate",
            [Problem("CANONICAL_INVALID", "/", sentence)],
        )
    schema_problems = validate(element)
    if schema_problems:
        return Rejection(
            "CANONICAL_INVALID",
            f"the {doc.header.document_type} made from this message breaks the canonical schema "
            f"({schema_problems[0].sentence})",
            "validate",
            [Problem("CANONICAL_INVALID", p.path, p.sentence) for p in schema_problems],
        )
    if sign is None:
        result.elements.append(element)
    elif spool is None:
        result.signed.append(sign(element))
    else:
        result.signed.append(spool.keep([sign(element)], spool_min_bytes(doc)))
    return None


def translate_xml_offline(data: bytes, context: DecodeContext, result: Translation) -> Translation:
    """Ministry XML without a trust store (``edigw translate``): decoded, signature NOT checked;
    APCS's call XML (unsigned) decoded as the gateway decodes it from a port.

    The gateway itself always goes through the ministry desk, which verifies the
    signature first and decodes only the verified bytes; this path is for people
    looking at a document offline, and says so in a warning.
    """
    from gateway.domain import lpco
    from gateway.service.port_xml import PORT_VOCABULARIES
    from gateway.service.receipts import ADAPTERS

    def reject(reason: str, sentence: str, stage: str) -> Translation:
        result.rejection = Rejection(
            reason, sentence, stage, [Problem(reason, "document", sentence)]
        )
        return result

    try:
        root = xmlsafe.parse(data)
    except xmlsafe.UnsafeXmlError as exc:
        return reject(exc.reason, exc.sentence, "decode")
    if root.tag in PORT_VOCABULARIES:  # APCS's call XML (issue #17): unsigned, as it comes
        from adapters import apcs_calls

        try:
            call_doc = apcs_calls.decode(data, context)
        except MappingError as exc:
            return reject(exc.reason, exc.sentence, "map")
        call_element = to_xml(call_doc)
        invalid = validate(call_element)
        if invalid:
            return reject("CANONICAL_INVALID", invalid[0].sentence, "validate")
        result.message_types = [etree.QName(root).localname]
        result.documents.append(call_doc)  # type: ignore[arg-type]
        result.elements.append(call_element)
        return result
    decoder = ADAPTERS.get(root.tag)
    if decoder is None:
        return reject(
            "UNSUPPORTED_DOCUMENT",
            f"{etree.QName(root).localname} is not a document the gateway translates "
            "(SPSCertificate, CertificateOfOrigin, the national LpcoDocument, or EDIFACT)",
            "map",
        )
    try:
        doc = decoder(root, data, context)
    except MappingError as exc:
        return reject(exc.reason, exc.sentence, "map")
    element = to_xml(doc)
    problems = validate(element, schema=lpco.SCHEMA_FILE)
    if problems:
        return reject("CANONICAL_INVALID", problems[0].sentence, "validate")
    result.message_types = [etree.QName(root).localname]
    result.documents.append(doc)  # type: ignore[arg-type]
    result.elements.append(element)
    result.warnings.add(
        Problem(
            "SIGNATURE_NOT_CHECKED",
            "signature",
            "offline translation: the signature was not verified (`edigw verify` checks it)",
        )
    )
    return result
