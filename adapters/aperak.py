"""APERAK: the application error and acknowledgement the gateway sends for content errors.

A message that passes EDIFACT syntax (CONTRL says accepted) but breaks a mapping
or business rule is answered with an APERAK listing **every** problem: its code,
its position in the partner's message and a sentence. The interchange uses the
sender's syntax version (UNB ``UNOA:3`` or ``UNOA:4``) and the D96A APERAK:

======================  ===================================================
``BGM+963+ref+9+RE``    963 "error response", rejected; ``962`` "document
                        response" and ``AP`` when accepted (e.g. with
                        warnings): UNCL 1001 codes of D.96A (the list has no
                        code named after APERAK before later directories)
``RFF+ACW:ref``         the partner's message reference, UNH 0062 (SG1)
``RFF+DM:number``       the partner's document number (BGM 1004)
``ERC+code:ZZZ:86``     one error (SG3); ``code`` is the gateway's reason,
                        shortened to ERC's 8 characters by :data:`SHORT_CODES`,
                        in a mutually defined list (1131 ``ZZZ``) assigned
                        by the party sending the APERAK (3055 ``86``)
``FTX+AAO+++code:text`` the full reason and the sentence, 70 characters per part
``RFF+ACW:ref:n``       SG4: where: the segment's position ``n`` in the
                        partner's message (C506 line number, UNH = 1, as
                        CONTRL's UCS counts) ...
``FTX+AAO+++TAG:e:c:w`` ... its tag, element and component positions (1-based,
                        as CONTRL's S011 counts) and the same in words
======================  ===================================================

The whole APERAK is written in the partner's character set (UNOA: upper case only).

>>> data = encode([ApplicationError("HS_CODE", "HS code 12 must have 6 to 10 digits", 14, "PIA", 1)],
...               Original(sender="APCS", control_reference="42", message_reference="1",
...                        document_number="M-1"), reference="GW0000000007")
>>> [(e.code, e.segment, e.element) for e in decode(data).errors]
[('HS_CODE', 14, 1)]
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from adapters import ack_text
from adapters.common import MappingError
from adapters.edifact import Delimiters, Interchange, Message, parse, serialize_segment
from adapters.edifact.syntax import describe_position

MESSAGE_TYPE = "APERAK"
DIRECTORY = ("D", "96A", "UN")
TEXT_PART = 70  # 4440 is an..70 in D96A
TEXT_PARTS = 4  # the first of C108's five parts carries the reason code
# UNCL 1001 document name codes (both in the D.96A list): rejected, accepted.
DOCUMENT_REJECTED = "963"  # Error response
DOCUMENT_ACCEPTED = "962"  # Document response
# ERC C901: the gateway's codes are a mutually defined list (1131) assigned by the
# party that sends the APERAK (3055 86: "assigned by party originating the message").
ERROR_CODE_LIST = ("ZZZ", "86")

# ERC 9321 is an..8: the gateway's reasons, shortened. Unknown reasons fall back to GW999;
# the full reason always travels in the FTX that follows.
SHORT_CODES = {
    "CONTAINER_CHECK_DIGIT": "GW101",
    "IMO_CHECK_DIGIT": "GW102",
    "LOCODE": "GW103",
    "HS_CODE": "GW104",
    "MASS_TOTALS": "GW105",
    "CONTROL_TOTALS": "GW106",
    "BL_UNIQUE": "GW107",
    "EQUIPMENT_DECLARED": "GW108",
    "ARRIVAL_AFTER_DEPARTURE": "GW109",
    "PASSENGER_COUNT": "GW110",
    "DUPLICATE": "GW201",
    "NO_ORIGINAL": "GW202",
    "VERSION_NOT_HIGHER": "GW203",
    "ALREADY_CANCELLED": "GW204",
    "CANONICAL_INVALID": "GW300",
    "UNSUPPORTED_MESSAGE_TYPE": "GW301",
    "MISSING_BGM": "GW302",
    "MISSING_DOCUMENT_NUMBER": "GW303",
    "MISSING_TRANSPORT_DOCUMENT": "GW304",
    "MISSING_TRAVELLERS": "GW305",
    # A reconciled call: what a manifest's sender has to correct (issue #17).
    "SHORT_LANDED": "GW401",
    "OVER_LANDED": "GW402",
    "SEAL_MISMATCH": "GW403",
    "WEIGHT_MISMATCH": "GW404",
    # The call's dangerous goods against its notifications (IFTDGN): the manifest's part.
    "DG_NOT_NOTIFIED": "GW405",
    "DG_UN_NUMBER_MISMATCH": "GW406",
    # ... and its loading, against the outward (export) manifests (issue #17, point 5): a
    # block of their own, GW41x.
    "SHORT_SHIPPED": "GW411",
    "LOADED_NOT_DECLARED": "GW412",
}

_REASONS = {short: reason for reason, short in SHORT_CODES.items()}
_NO_TAG = "-"  # SG4's FTX of an error whose segment tag is not known


@dataclass(frozen=True, slots=True)
class ApplicationError:
    """One content error: reason code, sentence and where in the partner's message."""

    code: str
    text: str
    segment: int | None = None
    tag: str = ""
    element: int | None = None  # 0-based after the tag, like Segment.get
    component: int | None = None

    @property
    def where(self) -> str:
        return describe_position(
            self.segment, self.tag, self.element, self.component, default="message"
        )


@dataclass(frozen=True, slots=True)
class Original:
    """The partner's interchange and message being answered (UNB, UNH, BGM facts)."""

    sender: str
    control_reference: str
    sender_qualifier: str = ""
    recipient: str = ""
    recipient_qualifier: str = ""
    syntax_id: str = "UNOA"
    syntax_version: int = 3
    message_reference: str = ""
    message_type: str = ""
    document_number: str = ""
    # Input number (Segment.number) of the partner's UNH when the errors' segment numbers
    # count from the start of the interchange; 0 when they already count within the message.
    first_segment: int = 0
    # The partner's UNB S002 after its qualifier (``Interchange.sender_route``): the APERAK's
    # recipient routing (S003 0014 [, 0046]), as ISO 9735 asks of a response.
    sender_route: tuple[str, ...] = ()
    # The partner's UNB 0035 was 1: the answer is a test interchange too.
    test: bool = False

    def position(self, segment: int | None) -> int | None:
        """``segment`` counted within the partner's message (UNH = 1), or None if outside."""
        if segment is None or not self.first_segment:
            return segment
        offset = segment - self.first_segment + 1
        return offset if offset >= 1 else None


@dataclass(slots=True)
class ApplicationReport:
    """An APERAK read back: who sent it, about which message, and its errors."""

    sender: str
    recipient: str
    reference: str
    syntax_version: int
    accepted: bool
    message_reference: str = ""
    document_number: str = ""
    errors: list[ApplicationError] = field(default_factory=list)


def _chunks(text: str, size: int = TEXT_PART, parts: int = TEXT_PARTS) -> list[str]:
    text = " ".join(text.split())
    return [text[i : i + size] for i in range(0, min(len(text), size * parts), size)] or [""]


def encode(
    errors: Sequence[ApplicationError],
    original: Original,
    *,
    our_id: str = "CUSTOMS",
    our_qualifier: str = "",
    reference: str = "1",
    now: dt.datetime | None = None,
    accepted: bool = False,
) -> bytes:
    """The APERAK interchange answering ``original``, listing every error in ``errors``.

    ``reference`` is this interchange's own control reference (see :func:`encode_many`).
    """
    return encode_many(
        [(original, errors)],
        our_id=our_id,
        our_qualifier=our_qualifier,
        reference=reference,
        now=now,
        accepted=accepted,
    )


def encode_many(
    answers: Sequence[tuple[Original, Sequence[ApplicationError]]],
    *,
    our_id: str = "CUSTOMS",
    our_qualifier: str = "",
    reference: str = "1",
    now: dt.datetime | None = None,
    accepted: bool = False,
) -> bytes:
    """One interchange with one APERAK per answered message (all from one partner interchange).

    The envelope (recipient with its identification code qualifier, syntax identifier and
    version) is the first original's. ``reference`` is the interchange control reference
    (UNB/UNZ 0020, an..14) of this APERAK: the caller gives each interchange it sends its
    own, unique per partner and never reused (never the partner's); the default ``1`` is
    for tools and tests. It is also the BGM document number.
    """
    now = now or dt.datetime.now(dt.UTC)
    first = answers[0][0]
    version = first.syntax_version if first.syntax_version in (1, 2, 3, 4) else 3
    d = Delimiters.default(4) if version >= 4 else Delimiters()
    syntax_id = ack_text.output_set(first.syntax_id)
    reference = ack_text.fit(reference, syntax_id, 14) or "1"

    def seg(tag: str, *elements: Sequence[str]) -> str:
        return serialize_segment(
            tag, [[ack_text.fit(c, syntax_id) for c in e] for e in elements], d
        )

    date = now.strftime("%Y%m%d" if version >= 4 else "%y%m%d")
    messages: list[str] = []
    for number, (original, errors) in enumerate(answers, start=1):
        ref = reference if len(answers) == 1 else str(number)
        their_ref = ack_text.fit(original.message_reference, syntax_id, 35)
        body = [
            seg("UNH", [ref], [MESSAGE_TYPE, *DIRECTORY]),
            seg(
                "BGM",
                [DOCUMENT_ACCEPTED if accepted else DOCUMENT_REJECTED],
                [reference if len(answers) == 1 else f"{reference}/{number}"],
                ["9"],
                ["AP" if accepted else "RE"],
            ),
            seg("DTM", ["137", now.strftime("%Y%m%d%H%M"), "203"]),
        ]
        if their_ref:
            body.append(seg("RFF", ["ACW", their_ref]))
        if ack_text.fit(original.document_number, syntax_id):
            body.append(seg("RFF", ["DM", ack_text.fit(original.document_number, syntax_id, 35)]))
        for err in errors:
            position = original.position(err.segment)
            code = SHORT_CODES.get(err.code, "GW999")
            body.append(seg("ERC", [code, *ERROR_CODE_LIST]))
            # C108's first part is mandatory: the ERC code stands in for an unusable reason.
            reason = ack_text.fit(err.code, syntax_id, TEXT_PART) or code
            body.append(seg("FTX", ["AAO"], [], [], [reason, *_chunks(err.text)]))
            tag = ack_text.fit(err.tag, syntax_id, TEXT_PART)
            if position is not None or tag or err.element is not None or err.component is not None:
                body += _where(seg, err, position, tag, their_ref)
        body.append(seg("UNT", [str(len(body) + 1)], [ref]))
        messages.extend(body)
    unb = seg(
        "UNB",
        [syntax_id, str(version)],
        [
            ack_text.fit(our_id, syntax_id, 35) or "UNKNOWN",
            ack_text.fit(our_qualifier, syntax_id, 4),
        ],
        [
            ack_text.fit(first.sender, syntax_id, 35) or "UNKNOWN",
            ack_text.fit(first.sender_qualifier, syntax_id, 4),
            *ack_text.route(first.sender_route, syntax_id, version),
        ],
        [date, now.strftime("%H%M")],
        [reference],
        # Answers to a test interchange are test interchanges (UNB 0035 1), for the
        # partner's test system to take, not its production.
        *([[""]] * 5 + [["1"]] if all(original.test for original, _ in answers) else []),
    )
    unz = seg("UNZ", [str(len(answers))], [reference])
    return "\n".join([unb, *messages, unz]).encode(ack_text.codec(syntax_id), "replace") + b"\n"


def _where(
    seg: Callable[..., str],
    err: ApplicationError,
    position: int | None,
    tag: str,
    their_ref: str,
) -> list[str]:
    """SG4 of one error: RFF+ACW with the segment's position, FTX with tag, element,
    component (C108's first part is mandatory: ``-`` stands for no tag) and words."""
    line = "" if position is None else str(position)
    where = describe_position(  # in words, counted as the codes are
        position,
        tag,
        None if err.element is None else err.element + 1,
        None if err.component is None else err.component + 1,
        default="message",
    )
    return [
        seg("RFF", ["ACW", their_ref, line] if line else ["ACW", their_ref]),
        seg(
            "FTX",
            ["AAO"],
            [],
            [],
            [
                tag or _NO_TAG,
                _one_based(err.element),
                _one_based(err.component),
                *_chunks(where, parts=2),
            ],
        ),
    ]


def _one_based(position: int | None) -> str:
    """A 0-based element or component position as CONTRL's S011 writes it (1-based)."""
    return "" if position is None else str(position + 1)


def decode(data: bytes) -> ApplicationReport:
    """The first APERAK of an interchange written by :func:`encode` (or a partner's D96A)."""
    reports = decode_all(data)
    if not reports:
        raise MappingError("NO_MESSAGES", "the interchange holds no APERAK message")
    return reports[0]


def decode_all(data: bytes) -> list[ApplicationReport]:
    """Every APERAK message of the interchange, in order."""
    return [_report(ic, m) for ic in parse(data)[:1] for m in ic.messages if m.type == MESSAGE_TYPE]


def _report(interchange: Interchange, message: Message) -> ApplicationReport:
    report = ApplicationReport(
        sender=interchange.sender,
        recipient=interchange.recipient,
        reference=interchange.control_reference,
        syntax_version=interchange.syntax_version,
        accepted=True,
    )
    errors: list[dict[str, str]] = []  # raw fields of each ERC group, in order
    for seg in message.body():
        if seg.tag == "BGM":
            report.accepted = seg.get(3) != "RE"
        elif seg.tag == "ERC":
            errors.append({"code": seg.get(0)})
        elif seg.tag == "RFF" and not errors:
            if seg.get(0, 0) == "ACW":
                report.message_reference = seg.get(0, 1)
            elif seg.get(0, 0) in ("DM", "AAE"):
                report.document_number = seg.get(0, 1)
        elif seg.tag == "FTX" and errors:
            parts = [*seg.element(3), ""]
            current = errors[-1]
            if "text" not in current:  # the first FTX: full reason and sentence
                # A known ERC code names the reason exactly (UNOA writes "_" as "-").
                current["code"] = _REASONS.get(current["code"]) or parts[0] or current["code"]
                current["text"] = "".join(parts[1:])
            else:  # the FTX of SG4: the tag, element and component (1-based), words
                current["tag"] = "" if parts[0] == _NO_TAG else parts[0]
                current["element"] = _zero_based(parts[1] if len(parts) > 1 else "")
                current["component"] = _zero_based(parts[2] if len(parts) > 2 else "")
        elif seg.tag == "RFF" and errors and seg.get(0, 0) == "ACW":
            errors[-1]["segment"] = seg.get(0, 2)  # C506 line number: position in the message
    for raw in errors:
        report.errors.append(
            ApplicationError(
                code=raw["code"],
                text=raw.get("text", ""),
                segment=_number(raw.get("segment", "")),
                tag=raw.get("tag", ""),
                element=_number(raw.get("element", "")),
                component=_number(raw.get("component", "")),
            )
        )
    return report


def _zero_based(value: str) -> str:
    number = _number(value)
    return "" if number is None or number < 1 else str(number - 1)


def _number(value: str) -> int | None:
    return int(value) if re.fullmatch("[0-9]{1,9}", value) else None
