"""CUSRES: the customs response to a partner, made from a canonical :class:`CustomsResponse`.

D96B CUSRES, in the syntax version and character set the partner uses (UNOA: upper case
only), in the order of the D.96B CUSRES structure (GIS before the RFF group SG3, errors in
SG4):

=============================  ================================================
``BGM+962+number+9``           962 customs response; the registration number,
                               or the partner's document number before one exists
``DTM+137:ccyymmddhhmm:203``   when customs decided
``GIS+AC:ZZZ::DECISION``       the decision: AC accepted, RE rejected, RL released,
                               HD held (mutually defined codes, list ZZZ)
``GIS+GRN:ZZZ::CHANNEL``       the inspection channel: GRN, ORA, RED
``RFF+INO:ref``                the partner's interchange (its UNB 0020), SG3
``RFF+ACW:ref``                the partner's message (its UNH 0062), SG3
``RFF+DM:number``              the partner's document number, SG3
``RFF+ABT:number``             the customs registration number, SG3
``ERP+1:elem:comp+TAG:seg``    per error (SG4): where (C701 element/component, C853
                               tag and segment number) ...
``ERC+code:ZZZ:86``            ... the code (an..8, longer codes are in the FTX;
                               a mutually defined list assigned by the sender) ...
``FTX+AAO+++code:text``        ... and the sentence; ``FTX+ACB`` keeps the location words
=============================  ================================================

Only references the partner knows go out: its own interchange, message and document
numbers (given by the caller from what the partner sent). Without the partner's message
reference, ``RFF+ACW`` carries the canonical message id (a UUID without dashes), as
before: callers that know the partner's references should give them.

>>> import datetime as dt
>>> from gateway.domain.model import Header, CustomsResponse
>>> r = CustomsResponse(Header.new(sender="customs", document_type="CustomsResponse",
...     business_reference="M-1"), "EG-2026-000042", "released",
...     "1e509ba8-aea6-4639-874d-2076f6c6a3b7", "M-1", channel="green")
>>> back = decode(encode(r, recipient="APCS"))
>>> back.decision, back.channel, back.registration_number
('released', 'green', 'EG-2026-000042')
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from adapters import ack_text
from adapters.common import DecodeContext, MappingError, parse_dtm, whole
from adapters.edifact import Delimiters, parse, serialize_segment
from gateway.domain.model import (
    CustomsResponse,
    Decision,
    Header,
    InspectionChannel,
    Pointer,
    ResponseError,
    Source,
)

MESSAGE_TYPE = "CUSRES"
DIRECTORY = ("D", "96B", "UN")
DECISIONS: dict[Decision, str] = {
    "accepted": "AC",
    "rejected": "RE",
    "released": "RL",
    "held": "HD",
}
CHANNELS: dict[InspectionChannel, str] = {"green": "GRN", "orange": "ORA", "red": "RED"}
_PART = 70
# ERC C901: the gateway's codes, a mutually defined list assigned by the sender (3055 86).
ERROR_CODE_LIST = ("ZZZ", "86")


def _chunks(text: str, parts: int = 4) -> list[str]:
    return [text[i : i + _PART] for i in range(0, min(len(text), _PART * parts), _PART)] or [""]


def _compact_id(message_id: str) -> str:
    """A UUID (36 characters) fits RFF's an..35 without its dashes."""
    return message_id.replace("-", "") if re.fullmatch(r"[0-9a-f-]{36}", message_id) else message_id


def _expand_id(value: str) -> str:
    if re.fullmatch(r"[0-9a-f]{32}", value):
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return value


def encode(
    response: CustomsResponse,
    *,
    recipient: str,
    recipient_qualifier: str = "",
    recipient_route: Sequence[str] = (),
    our_id: str = "CUSTOMS",
    our_qualifier: str = "",
    reference: str = "1",
    syntax_id: str = "UNOC",
    syntax_version: int = 3,
    now: dt.datetime | None = None,
    their_interchange_reference: str = "",
    their_message_reference: str = "",
    their_document_number: str = "",
) -> bytes:
    """The CUSRES interchange telling ``recipient`` what customs decided.

    ``reference`` is this interchange's own control reference (UNB/UNZ 0020, an..14): the
    caller gives each interchange it sends its own, unique per partner and never reused;
    the default ``1`` is for tools and tests. ``their_*`` are what the partner sent: its
    UNB 0020, UNH 0062 and document number (BGM 1004; ``response.original_reference``
    when not given). The CUSRES is written in ``syntax_id`` (UNOA: upper case only).
    ``recipient_route``: the partner's UNB S002 after its qualifier (its address for reverse
    routing, or internal identification and sub-identification), the recipient's S003 0014
    [, 0046] here, as ISO 9735 asks of a response.
    """
    now = now or dt.datetime.now(dt.UTC)
    version = syntax_version if syntax_version in (1, 2, 3, 4) else 3
    v4 = version >= 4
    d = Delimiters.default(4) if v4 else Delimiters()
    syntax_id = ack_text.output_set(syntax_id)
    reference = ack_text.fit(reference, syntax_id, 14) or "1"

    def seg(tag: str, *elements: list[str]) -> str:
        return serialize_segment(
            tag, [[ack_text.fit(c, syntax_id) for c in e] for e in elements], d
        )

    def ref(qualifier: str, value: str) -> list[str]:
        value = ack_text.fit(value, syntax_id, 35)
        return [seg("RFF", [qualifier, value])] if value else []

    issued = response.issued_at or now
    document = their_document_number or response.original_reference
    number = ack_text.fit(response.registration_number or document, syntax_id, 35)
    body = [
        seg("UNH", [reference], [MESSAGE_TYPE, *DIRECTORY]),
        seg("BGM", ["962"], [number], ["9"]),
        seg("DTM", ["137", issued.astimezone(dt.UTC).strftime("%Y%m%d%H%M"), "203"]),
        seg("GIS", [DECISIONS[response.decision], "ZZZ", "", "DECISION"]),
    ]
    if response.channel is not None:
        body.append(seg("GIS", [CHANNELS[response.channel], "ZZZ", "", "CHANNEL"]))
    body += ref("INO", their_interchange_reference)
    body += ref("ACW", their_message_reference or _compact_id(response.original_message_id))
    body += ref("DM", document)
    body += ref("ABT", response.registration_number or "")
    for err in response.errors:
        p = err.pointer
        if p is not None:
            body.append(
                seg(
                    "ERP",
                    [
                        "1",
                        "" if p.element is None else str(p.element),
                        "" if p.component is None else str(p.component),
                    ],
                    [(p.tag or "")[:3], "" if p.segment is None else str(p.segment)],
                )
            )
        else:
            body.append(seg("ERP", ["1"]))
        body.append(seg("ERC", [ack_text.fit(err.code, syntax_id, 8), *ERROR_CODE_LIST]))
        code = ack_text.fit(err.code, syntax_id, _PART) or "-"  # C108's first part is mandatory
        body.append(seg("FTX", ["AAO"], [], [], [code, *_chunks(err.description)]))
        if p is not None and ack_text.fit(p.location, syntax_id).strip():
            body.append(seg("FTX", ["ACB"], [], [], _chunks(p.location)))
    body.append(seg("UNT", [str(len(body) + 1)], [reference]))
    unb = seg(
        "UNB",
        [syntax_id, str(version)],
        [
            ack_text.fit(our_id, syntax_id, 35) or "UNKNOWN",
            ack_text.fit(our_qualifier, syntax_id, 4),
        ],
        [
            ack_text.fit(recipient, syntax_id, 35) or "UNKNOWN",
            ack_text.fit(recipient_qualifier, syntax_id, 4),
            *ack_text.route(recipient_route, syntax_id, version),
        ],
        [now.strftime("%Y%m%d" if v4 else "%y%m%d"), now.strftime("%H%M")],
        [reference],
    )
    unz = seg("UNZ", ["1"], [reference])
    return "\n".join([unb, *body, unz]).encode(ack_text.codec(syntax_id), "replace") + b"\n"


def decode(data: bytes, context: DecodeContext | None = None) -> CustomsResponse:
    """A CUSRES written by :func:`encode` back as a :class:`CustomsResponse`."""
    context = context or DecodeContext(sender="customs")
    found = [(ic, m) for ic in parse(data)[:1] for m in ic.messages if m.type == MESSAGE_TYPE]
    if not found:  # "UNB" alone parses: no message to read, which is the sender's error
        raise MappingError("NO_MESSAGES", "the interchange holds no CUSRES message")
    interchange, message = found[0]
    decision: Decision = "accepted"
    channel: InspectionChannel | None = None
    registration: str | None = None
    original_id = original_ref = ""
    issued: dt.datetime | None = None
    errors: list[ResponseError] = []
    pointer: Pointer | None = None
    for seg in message.body():
        if seg.tag == "DTM" and seg.get(0, 0) == "137":
            issued = parse_dtm(seg.get(0, 1), seg.get(0, 2))
        elif seg.tag == "RFF":
            qualifier, value = seg.get(0, 0), seg.get(0, 1)
            if qualifier == "ACW":  # the partner's UNH 0062 (or, older, our message id)
                original_id = _expand_id(value)
            elif qualifier == "DM":
                original_ref = value
            elif qualifier == "ABT":
                registration = value
        elif seg.tag == "GIS":
            code, kind = seg.get(0, 0), seg.get(0, 3)
            if kind == "DECISION":
                decision = next((k for k, v in DECISIONS.items() if v == code), "accepted")
            elif kind == "CHANNEL":
                channel = next((k for k, v in CHANNELS.items() if v == code), None)
        elif seg.tag == "ERP":
            element, component = seg.get(0, 1), seg.get(0, 2)
            number = seg.get(1, 1)
            pointer = Pointer(
                location="",
                segment=whole(number),
                tag=seg.get(1, 0) or None,
                element=whole(element),
                component=whole(component),
            )
            if seg.get(1, 0) == "" and not element and not number:
                pointer = None
        elif seg.tag == "ERC":
            errors.append(ResponseError(seg.get(0), "", pointer))
            pointer = None
        elif seg.tag == "FTX" and errors:
            parts = list(seg.element(3))
            if seg.get(0) == "AAO":
                errors[-1].code = parts[0] if parts and parts[0] else errors[-1].code
                errors[-1].description = "".join(parts[1:])
            elif seg.get(0) == "ACB":
                location = "".join(parts)
                if errors[-1].pointer is None:
                    errors[-1].pointer = Pointer(location=location)
                else:
                    errors[-1].pointer.location = location
    header = Header.new(
        sender=context.sender,
        receiver=interchange.recipient or context.receiver,
        document_type=CustomsResponse.DOCUMENT_TYPE,
        business_reference=(registration or original_ref or "-")[:70],
        correlation_id=context.correlation_id,
        source=Source(
            format="EDIFACT",
            message_type=MESSAGE_TYPE,
            directory=message.directory,
            syntax_version=str(interchange.syntax_version),
            interchange_reference=interchange.control_reference,
            message_reference=message.reference,
        ),
    )
    return CustomsResponse(
        header=header,
        registration_number=registration,
        decision=decision,
        original_message_id=original_id,
        original_reference=original_ref,
        channel=channel,
        errors=errors,
        issued_at=issued,
    )
