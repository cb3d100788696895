"""From partner bytes to signed canonical documents and an acknowledgement: no broker here.

:func:`translate` is the pure part (decode + validate), used offline by
``edigw translate``; :class:`InboundPipeline` adds signing, routing and the
partner's acknowledgement, and returns an :class:`Outcome` that the worker
carries out on the broker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lxml import etree

from adapters import contrl, cuscar
from adapters.common import DecodeContext, MappingError
from adapters.edifact import EdifactError
from gateway.canonical_xml import to_bytes, to_xml
from gateway.config import Partner, Route
from gateway.journal import derived_id
from gateway.model import CanonicalDocument
from gateway.routing import route_for
from gateway.signing import Signer
from gateway.validation import validate


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a message was rejected: a code, where in the input, and a sentence."""

    code: str
    where: str
    sentence: str

    def line(self) -> str:
        return f"{self.code}\t{self.where}\t{self.sentence}"


@dataclass(slots=True)
class Rejection:
    """Why a message cannot be processed; becomes dead-letter headers and a negative ack."""

    reason: str  # machine-readable, e.g. EDIFACT_SYNTAX
    sentence: str  # for the operator
    stage: str  # decode, map, validate, sign, route
    problems: list[Problem] = field(default_factory=list)


@dataclass(slots=True)
class Translation:
    """What ``translate`` made of an input: documents, or the rejection and its problems."""

    documents: list[CanonicalDocument] = field(default_factory=list)
    elements: list[etree._Element] = field(default_factory=list)
    rejection: Rejection | None = None
    syntax_report: contrl.SyntaxReport | None = None
    format: str = "unknown"
    message_types: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RoutedDocument:
    document: CanonicalDocument
    signed_xml: bytes
    destination: str  # "core" or "legacy"


@dataclass(slots=True)
class Outcome:
    translation: Translation
    routed: list[RoutedDocument] = field(default_factory=list)
    acknowledgement: bytes = b""
    acknowledgement_type: str = ""

    @property
    def rejection(self) -> Rejection | None:
        return self.translation.rejection


def sniff_format(data: bytes) -> str:
    """'xml' or 'edifact', chosen by content (never by file name)."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return "xml" if head.startswith(b"<") else "edifact"


def translate(data: bytes, context: DecodeContext | None = None) -> Translation:
    """Decode ``data`` with the adapter its content calls for and validate the result."""
    context = context or DecodeContext()
    fmt = sniff_format(data)
    result = Translation(format=fmt)
    if fmt == "xml":
        result.rejection = Rejection(
            "UNSUPPORTED_FORMAT",
            "XML partner documents are not accepted on this route yet",
            "decode",
            [
                Problem(
                    "UNSUPPORTED_FORMAT",
                    "document",
                    "no XML adapter is configured for this partner",
                )
            ],
        )
        return result
    report = contrl.acknowledge(data)
    result.syntax_report = report
    if not report.accepted:
        problems = [Problem(f"EDIFACT_{e.code}", e.where, e.sentence) for e in report.all_errors()]
        result.rejection = Rejection(
            "EDIFACT_SYNTAX",
            f"the interchange breaks EDIFACT syntax rules ({problems[0].sentence})",
            "decode",
            problems,
        )
        return result
    for ic in report.interchanges:
        for message in ic.messages:
            result.message_types.append(message.type or "?")
            if not cuscar.is_cuscar(message):
                result.rejection = Rejection(
                    "UNSUPPORTED_MESSAGE_TYPE",
                    f"message {message.reference} is a {message.type or 'message without type'}, "
                    "which the gateway does not accept from port partners",
                    "map",
                    [
                        Problem(
                            "UNSUPPORTED_MESSAGE_TYPE",
                            f"segment {message.segments[0].number} UNH",
                            f"{message.type or '(empty)'} is not a supported message type",
                        )
                    ],
                )
                return result
            try:
                result.documents.append(cuscar.decode_message(message, ic, context))
            except MappingError as exc:
                result.rejection = Rejection(
                    exc.reason,
                    exc.sentence,
                    "map",
                    [Problem(exc.reason, exc.where or "message", exc.sentence)],
                )
                return result
            except EdifactError as exc:  # an adapter that reads deeper may still find syntax errors
                result.rejection = Rejection(
                    "EDIFACT_SYNTAX",
                    exc.sentence,
                    "map",
                    [Problem(f"EDIFACT_{exc.code}", exc.where, exc.sentence)],
                )
                return result
    if not result.documents:
        result.rejection = Rejection("NO_MESSAGES", "the interchange holds no message", "decode")
        return result
    for doc in result.documents:
        element = to_xml(doc)
        schema_problems = validate(element)
        if schema_problems:
            result.rejection = Rejection(
                "CANONICAL_INVALID",
                f"the {doc.header.document_type} made from this message breaks the canonical schema "
                f"({schema_problems[0].sentence})",
                "validate",
                [Problem("CANONICAL_INVALID", p.path, p.sentence) for p in schema_problems],
            )
            result.documents, result.elements = [], []
            return result
        result.elements.append(element)
    return result


class InboundPipeline:
    """Decode, validate, sign, route and acknowledge one partner message."""

    def __init__(self, signer: Signer, routes: Sequence[Route], interchange_id: str) -> None:
        self.signer = signer
        self.routes = routes
        self.interchange_id = interchange_id

    def process(
        self, data: bytes, partner: Partner, correlation_id: str, inbound_id: str | None = None
    ) -> Outcome:
        context = DecodeContext(sender=partner.id, correlation_id=correlation_id)
        translation = translate(data, context)
        outcome = Outcome(translation)
        if translation.rejection is None:
            if inbound_id is not None:
                # Ids derived from the inbound message: a redelivery makes the same ids (#6).
                for i, doc in enumerate(translation.documents):
                    doc.header.message_id = derived_id(inbound_id, i)
                translation.elements = [to_xml(doc) for doc in translation.documents]
            for doc, element in zip(translation.documents, translation.elements, strict=True):
                signed = self.signer.sign(element)
                outcome.routed.append(
                    RoutedDocument(doc, to_bytes(signed), route_for(doc, partner.id, self.routes))
                )
        report = translation.syntax_report
        if report is not None:
            if translation.rejection is not None and report.accepted:
                # The syntax was fine but the content was not: reject the messages in the CONTRL
                # (issue #4 answers these with an APERAK instead).
                for msg in report.messages:
                    msg.errors.append(EdifactError("12", translation.rejection.sentence, tag="UNH"))
            outcome.acknowledgement = contrl.encode(report, our_id=self.interchange_id)
            outcome.acknowledgement_type = "CONTRL"
        return outcome
