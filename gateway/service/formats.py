"""Formats per partner (issue #14): what a partner may send, decided before anything is decoded.

The partner's configuration decides first, the content second:

* the **answer** follows the partner's role, never the bytes: a ministry always gets a signed
  receipt, a port partner always a CONTRL (:data:`ANSWERS`);
* the formats a partner may send are its configured ``formats`` that its role can take
  (:data:`ROLE_FORMATS`: a port sends EDIFACT, a ministry XML); none configured: nothing;
* the content is only looked at (:func:`looks_like`) to choose between those formats, or to
  refuse, with a reason, a format the partner may not send (an EDIFACT CUSCAR from a ministry,
  XML from a port) or XML that is not UTF-8 (UTF-16, EBCDIC, a declared other encoding).
  Bytes that look like nothing known go to the reader of the partner's own format, whose
  refusal says what is wrong with them (an EDIFACT syntax error, malformed XML).

The EDIFACT message types (UNH 0065) and the XML vocabularies (root element of the verified
document) are checked later, by the readers, but still before any adapter decodes a message:
:func:`message_type_allowed`, :func:`vocabulary_of`.

>>> from gateway.config import Partner
>>> commerce = Partner("commerce", "Commerce", "ministry", ("xml",), vocabularies=("ubl-origin",))
>>> decide(b"UNB+UNOA:3+X+Y+260101:1200+1'", commerce).refusal.reason
'FORMAT_NOT_ALLOWED'
>>> decide(b"<?xml version='1.0'?><a/>", commerce).format, decide(b"", commerce).answer
('xml', 'receipt')
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from adapters import cuscar
from adapters.edifact import EdifactError, Message, Segment
from adapters.edifact.syntax import ERR_VALUE_NOT_SUPPORTED
from adapters.registry import codec_for, is_acknowledgement
from gateway.config import Partner

if TYPE_CHECKING:
    from gateway.storage.records import Origin

Answer = Literal["contrl", "receipt"]

# How each role is answered; a partner of any other role (customs) sends nothing inbound.
# The customs portal and the border posts (issue #18) get a signed TravellersReceipt.
ANSWERS: Mapping[str, Answer] = {
    "port": "contrl",
    "ministry": "receipt",
    "portal": "receipt",
    "border": "receipt",
}
# The formats each role's answer can speak of: a CONTRL answers EDIFACT, a signed receipt XML
# (a ministry's) or JSON (the travellers' messages, gateway.service.travellers_step).
ROLE_FORMATS: Mapping[str, frozenset[str]] = {
    "port": frozenset({"edifact", "xml"}),  # XML: APCS's call documents only (port_xml)
    "ministry": frozenset({"xml"}),
    "portal": frozenset({"json"}),
    "border": frozenset({"json"}),
}
_FORMAT_NAMES: Mapping[str, str] = {"edifact": "EDIFACT", "xml": "XML", "json": "JSON"}
# Root element of a verified ministry document -> its vocabulary ([partners.<id>] vocabularies).
# The same roots as gateway.service.receipts.ADAPTERS (a test keeps the two in step), written
# out: the ministries' adapters load with the desk, not with every EDIFACT translation
# (issue #20, point 6).
VOCABULARIES: Mapping[str, str] = {
    "{urn:un:unece:uncefact:data:standard:SPSCertificate:17}SPSCertificate": "ephyto",
    # A TRACES envelope around an SPSCertificate.
    "{http://schemas.xmlsoap.org/soap/envelope/}Envelope": "ephyto",
    "{urn:oasis:names:specification:ubl:schema:xsd:CertificateOfOrigin-2}CertificateOfOrigin": (
        "ubl-origin"
    ),
    "{urn:port-edi-gateway:national-lpco:1}LpcoDocument": "national-lpco",
}

_UTF8_BOM = b"\xef\xbb\xbf"
_BLANK = b" \t\r\n"
_UTF16_32_BOMS = (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00", b"\xff\xfe", b"\xfe\xff")
# '<' then '?' or a letter, in EBCDIC (0x4C is '<' in every EBCDIC code page; 'L' in ASCII).
_EBCDIC_TAG = re.compile(rb"\x4c[\x6f\x81-\x89\x91-\x99\xa2-\xa9\xc1-\xc9\xd1-\xd9\xe2-\xe9]")
_ALL_BLANK = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*")
_ENCODING = re.compile(rb"""^<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")

Kind = Literal["edifact", "xml", "xml-utf16", "xml-ebcdic", "empty", "other"]
_DESCRIPTIONS: Mapping[str, str] = {
    "edifact": "an EDIFACT interchange",
    "xml": "an XML document",
    "xml-utf16": "text in UTF-16 or UTF-32",
    "xml-ebcdic": "an XML document in EBCDIC",
    "empty": "an empty message",
    "other": "neither EDIFACT nor XML",
}


def looks_like(data: bytes) -> Kind:
    """What the first bytes of ``data`` look like; a guess that only ever narrows a choice.

    >>> [looks_like(b) for b in (b"UNA:+.? 'UNB", b"\\xef\\xbb\\xbf <a/>", b"<\\x00a\\x00", b"")]
    ['edifact', 'xml', 'xml-utf16', 'empty']
    >>> looks_like("<?xml version='1.0'?>".encode("cp500")), looks_like(b"\\x00\\x01junk")
    ('xml-ebcdic', 'other')
    """
    if data.startswith(_UTF16_32_BOMS):
        return "xml-utf16"
    if b"\x00" in data[:4]:
        # No EDIFACT or UTF-8 XML starts with a NUL: UTF-16/32 without a byte order mark?
        text = data[:64].replace(b"\x00", b"").lstrip(_BLANK)
        return "xml-utf16" if text.startswith(b"<") else "other"
    if _ALL_BLANK.fullmatch(data):
        return "empty"
    head = data[:512]
    if head.startswith(_UTF8_BOM):
        head = head[len(_UTF8_BOM) :]
    head = head.lstrip(_BLANK)
    if head.startswith(b"<"):
        return "xml"
    if head.startswith((b"UNA", b"UNB")):
        return "edifact"
    if _EBCDIC_TAG.match(data[:64].lstrip(b"\x40\x05\x15\x25\x0d")):  # EBCDIC blanks, newlines
        return "xml-ebcdic"
    return "other"


def declared_encoding(data: bytes) -> str | None:
    """The ``encoding`` of the XML declaration, when there is one.

    >>> declared_encoding(b'<?xml version="1.0" encoding="ISO-8859-1"?><a/>')
    'ISO-8859-1'
    >>> declared_encoding(b"\\xef\\xbb\\xbf<?xml version='1.0'?><a/>") is None
    True
    """
    head = data[:512]
    if head.startswith(_UTF8_BOM):
        head = head[len(_UTF8_BOM) :]
    found = _ENCODING.match(head)
    return None if found is None else found.group(1).decode("ascii", "replace")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a message is refused before it is decoded: a reason code and a sentence."""

    reason: str
    sentence: str


@dataclass(frozen=True, slots=True)
class FormatDecision:
    """How to read a partner's message, and how to answer it.

    ``answer`` always comes from the partner's role. ``format`` is the reader to use
    ("edifact" or "xml"), None when the message is refused (``refusal``). ``kind`` is what
    the bytes looked like (:func:`looks_like`), for the journal and the log.
    """

    answer: Answer
    kind: Kind
    format: str | None = None
    refusal: Refusal | None = None


def allowed_formats(partner: Partner) -> tuple[str, ...]:
    """The partner's configured formats that its role can take, in configured order."""
    possible = ROLE_FORMATS.get(partner.role, frozenset())
    return tuple(f for f in partner.formats if f in possible)


def decide(data: bytes, partner: Partner) -> FormatDecision:
    """The format to read ``data`` as, or its refusal, and the answer ``partner`` gets."""
    answer = ANSWERS.get(partner.role, "contrl")
    kind = looks_like(data)
    allowed = allowed_formats(partner)

    def refuse(reason: str, sentence: str) -> FormatDecision:
        return FormatDecision(answer, kind, refusal=Refusal(reason, sentence))

    if not allowed:
        configured = ", ".join(partner.formats) or "none"
        return refuse(
            "FORMAT_NOT_ALLOWED",
            f"partner {partner.id} ({partner.role}) may send no format (configured: {configured})",
        )
    if "xml" in allowed and answer == "contrl" and not _port_xml(data, partner):
        # A port sends XML only in the call vocabularies it is configured for (issue #17,
        # ``gateway.service.port_xml``): any other XML is no format it may send.
        allowed = tuple(f for f in allowed if f != "xml")
    if kind in ("xml-utf16", "xml-ebcdic") and "xml" in allowed:
        return refuse(
            "XML_ENCODING_UNSUPPORTED",
            f"this is {_DESCRIPTIONS[kind]}; XML is accepted in UTF-8 only",
        )
    encoding = declared_encoding(data) if kind == "xml" else None
    if encoding is not None and encoding.lower() != "utf-8" and "xml" in allowed:
        return refuse(
            "XML_ENCODING_UNSUPPORTED",
            f"the XML declaration says encoding {encoding[:40]!r}; XML is accepted in UTF-8 only",
        )
    reader = "xml" if kind.startswith("xml") else kind
    if reader in allowed:
        return FormatDecision(answer, kind, format=reader)
    if reader in ("edifact", "xml"):
        shown = " or ".join(_FORMAT_NAMES.get(f, f) for f in allowed)
        return refuse(
            "FORMAT_NOT_ALLOWED",
            f"this is {_DESCRIPTIONS[kind]}; partner {partner.id} may send {shown} only",
        )
    # Empty or unknown bytes: the partner's own reader says what is wrong with them.
    return FormatDecision(answer, kind, format=allowed[0])


def _port_xml(data: bytes, partner: Partner) -> bool:
    """Whether ``data`` is XML of a port vocabulary ``partner`` may send (APCS call XML)."""
    from gateway.service.port_xml import port_vocabulary

    vocabulary = port_vocabulary(data)
    return vocabulary is not None and vocabulary in partner.vocabularies


MESSAGE_TYPE_NOT_ALLOWED = "MESSAGE_TYPE_NOT_ALLOWED"


def message_type_allowed(message_type: str, allowed: Collection[str]) -> bool:
    """Whether an EDIFACT message of ``message_type`` (UNH 0065) may be sent (exact match)."""
    return bool(message_type) and message_type in allowed


def message_kind(message: Message) -> str:
    """The type a decoder takes ``message`` for: its UNH type (an untyped CUSCAR is a CUSCAR,
    as ``gateway.service.pipeline.decoder_for`` decodes it), so that what is allowed is what is read."""
    return cuscar.MESSAGE_TYPE if cuscar.is_cuscar(message) else message.type


def type_refusal(
    message: Message, allowed: Collection[str] | None, sender: str
) -> EdifactError | None:
    """The CONTRL error for a message of a type the partner may not send, None when it may
    (``allowed`` None: any type): 0085 code 17 (no agreement) on the UNH's S009 0065."""
    kind = message_kind(message)
    if allowed is None or message_type_allowed(kind, allowed):
        return None
    return _type_error(
        message,
        "17",
        f"message {message.reference!r} is a {kind or 'message without type'}, which "
        f"{sender or 'this partner'} may not send (allowed: {', '.join(sorted(allowed)) or 'none'})",
        MESSAGE_TYPE_NOT_ALLOWED,
    )


def _type_error(message: Message, code: str, sentence: str, reason: str) -> EdifactError:
    """A CONTRL error on ``message``'s type: its UNH, S009 0065 (reported in its UCM)."""
    return EdifactError(
        code,
        sentence,
        segment=message.segments[0].number,
        tag="UNH",
        element=1,
        component=0,
        reason=reason,
    )


UNSUPPORTED_MESSAGE_TYPE = "UNSUPPORTED_MESSAGE_TYPE"
# The one message type never answered with a CONTRL, and so never checked for one (ISO 9735-5).
CONTRL = "CONTRL"


def is_contrl_type(message_type: str) -> bool:
    """UNH 0065 of a CONTRL, as a partner may write it (case, spaces)."""
    return message_type.strip().upper() == CONTRL


def is_contrl(message: Message) -> bool:
    """A partner's CONTRL: recorded, never answered (no check of it can be reported)."""
    return is_contrl_type(message.type)


def type_unsupported(message: Message) -> EdifactError | None:
    """The CONTRL error for a message no codec reads (an INVOIC, a partner's APERAK), None
    when one does: 0085 code 14, "value not supported in this position", on the UNH's S009
    0065 (issue #16). Such a message is refused in its UCM, never "accepted" and then
    answered by an APERAK."""
    if codec_for(message) is not None:
        return None
    kind = message_kind(message) or "(none)"
    why = (
        "an acknowledgement, which the gateway takes from no partner and answers with none"
        if is_acknowledgement(kind)
        else "a type the gateway does not read"
    )
    return _type_error(
        message,
        ERR_VALUE_NOT_SUPPORTED,
        f"message {message.reference!r}, of type {kind}, is {why}",
        UNSUPPORTED_MESSAGE_TYPE,
    )


@dataclass(frozen=True, slots=True)
class Envelope:
    """What a partner's EDIFACT must be addressed as (issue #16).

    ``recipients``: the gateway's own ids for this partner; a UNB recipient that is none of
    them is refused (ISO 9735 error 7). ``required``: messages must come in an interchange
    (a UNB): bare UNH..UNT name no one a CONTRL could be sent to. ``senders``: the
    partner's ``interchange_ids``; a UNB sender that is none of them is refused (ISO 9735
    error 23); None (an empty list in the configuration): any.
    """

    recipients: tuple[str, ...]
    required: bool = True
    senders: tuple[str, ...] | None = None


def envelope_for(partner: Partner, interchange_id: str) -> Envelope:
    """The envelope ``partner``'s EDIFACT must have: addressed to one of its ``gateway_ids``
    (``interchange_id`` when it has none), in a UNB when it is answered by CONTRL."""
    return Envelope(
        partner.gateway_ids or (interchange_id,),
        ANSWERS.get(partner.role, "contrl") == "contrl",
        partner.interchange_ids or None,
    )


def answering_id(partner: Partner, interchange_id: str, addressed: str) -> str:
    """The id the gateway answers ``partner`` as (UNB sender of CONTRL, APERAK, CUSRES): the
    one the partner addressed when it is one of ours, else the first of them.

    >>> apcs = Partner("apcs", "APCS", "port", ("edifact",), gateway_ids=("DZDOUANE", "CUSTOMS"))
    >>> answering_id(apcs, "CUSTOMS", "CUSTOMS"), answering_id(apcs, "CUSTOMS", "OTHER")
    ('CUSTOMS', 'DZDOUANE')
    """
    ours = partner.gateway_ids or (interchange_id,)
    return addressed if addressed in ours else ours[0]


def answering_as(
    partners: Mapping[str, Partner], interchange_id: str, origin: Origin
) -> dict[str, str]:
    """Who the gateway answers the sender of ``origin`` as: the id it addressed, when it is
    one of the gateway's for that partner, and our qualifier (issue #16)."""
    partner = partners.get(origin.partner)
    if partner is None:
        return {"our_id": interchange_id}
    addressed = str(origin.facts.get("interchange_recipient") or "")
    return {
        "our_id": answering_id(partner, interchange_id, addressed),
        "our_qualifier": partner.gateway_qualifier,
    }


class Refused:
    """A CONTRL check fed a message's segments whose verdict is known from its head: the
    segments are not looked at (a refused type is not read any further)."""

    def __init__(self, errors: list[EdifactError]) -> None:
        self.errors = errors

    def feed(self, segment: Segment) -> None:
        pass

    def finish(self) -> list[EdifactError]:
        return self.errors


def vocabulary_of(root_tag: str) -> str | None:
    """The vocabulary of a document by its root element (Clark notation), None if unknown."""
    return VOCABULARIES.get(root_tag)
