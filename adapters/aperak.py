"""APERAK: the application error and acknowledgement the gateway sends for content errors.

A message that passes EDIFACT syntax (CONTRL says accepted) but breaks a mapping
or business rule is answered with an APERAK listing **every** problem: its code,
its position in the partner's message and a sentence. The interchange uses the
sender's syntax version (UNB ``UNOA:3`` or ``UNOA:4``) and the D96A APERAK:

======================  ===================================================
``BGM+305+ref+9+RE``    application error and acknowledgement, rejected
                        (``AP`` when accepted, e.g. with warnings)
``RFF+ACW:ref``         the partner's message reference (SG1)
``RFF+DM:number``       the partner's document number (BGM 1004)
``ERC+code``            one error (SG3); ``code`` is the gateway's reason,
                        shortened to ERC's 8 characters by :data:`SHORT_CODES`
``FTX+AAO+++code:text`` the full reason and the sentence, 70 characters per part
``RFF+AFO:seg:element`` SG4: where (segment number, element, component) ...
``FTX+AAO+++where``     ... and the same in words
======================  ===================================================

>>> data = encode([ApplicationError("HS_CODE", "HS code 12 must have 6 to 10 digits", 14, "PIA", 1)],
...               Original(sender="APCS", control_reference="42", message_reference="1",
...                        document_number="M-1"), reference="A1")
>>> [(e.code, e.segment, e.element) for e in decode(data).errors]
[('HS_CODE', 14, 1)]
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from adapters.common import MappingError
from adapters.edifact import Delimiters, Interchange, Message, parse, serialize_segment
from adapters.edifact.syntax import describe_position

MESSAGE_TYPE = "APERAK"
DIRECTORY = ("D", "96A", "UN")
TEXT_PART = 70  # 4440 is an..70 in D96A
TEXT_PARTS = 4  # the first of C108's five parts carries the reason code

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
}


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


def _fit(text: str, syntax_id: str) -> str:
    """Text the character set can carry: UNOA is upper case, UNOA/UNOB are ASCII."""
    if syntax_id == "UNOA":
        text = text.upper()
    if syntax_id in ("UNOA", "UNOB"):
        text = text.encode("ascii", "replace").decode("ascii")
    return text


def encode(
    errors: Sequence[ApplicationError],
    original: Original,
    *,
    our_id: str = "CUSTOMS",
    reference: str = "1",
    now: dt.datetime | None = None,
    accepted: bool = False,
) -> bytes:
    """The APERAK interchange answering ``original``, listing every error in ``errors``."""
    return encode_many(
        [(original, errors)], our_id=our_id, reference=reference, now=now, accepted=accepted
    )


def encode_many(
    answers: Sequence[tuple[Original, Sequence[ApplicationError]]],
    *,
    our_id: str = "CUSTOMS",
    reference: str = "1",
    now: dt.datetime | None = None,
    accepted: bool = False,
) -> bytes:
    """One interchange with one APERAK per answered message (all from one partner interchange).

    The envelope (recipient, syntax identifier and version) is the first original's.
    """
    now = now or dt.datetime.now(dt.UTC)
    first = answers[0][0]
    v4 = first.syntax_version >= 4
    d = Delimiters.default(4) if v4 else Delimiters()
    syntax_id = (
        first.syntax_id if first.syntax_id in ("UNOA", "UNOB", "UNOC", "UNOW", "UNOY") else "UNOA"
    )

    def seg(tag: str, *elements: Sequence[str]) -> str:
        return serialize_segment(tag, [[_fit(c, syntax_id) for c in e] for e in elements], d)

    date = now.strftime("%Y%m%d" if v4 else "%y%m%d")
    messages: list[str] = []
    for number, (original, errors) in enumerate(answers, start=1):
        ref = reference if len(answers) == 1 else str(number)
        body = [
            seg("UNH", [ref], [MESSAGE_TYPE, *DIRECTORY]),
            seg(
                "BGM",
                ["305"],
                [reference if len(answers) == 1 else f"{reference}/{number}"],
                ["9"],
                ["AP" if accepted else "RE"],
            ),
            seg("DTM", ["137", now.strftime("%Y%m%d%H%M"), "203"]),
        ]
        if original.message_reference:
            body.append(seg("RFF", ["ACW", original.message_reference]))
        if original.document_number:
            body.append(seg("RFF", ["DM", original.document_number[:35]]))
        for err in errors:
            body.append(seg("ERC", [SHORT_CODES.get(err.code, "GW999")]))
            body.append(seg("FTX", ["AAO"], [], [], [err.code[:TEXT_PART], *_chunks(err.text)]))
            position = [
                "" if err.segment is None else str(err.segment),
                "" if err.element is None else str(err.element),
                "" if err.component is None else str(err.component),
            ]
            body.append(seg("RFF", ["AFO", *position]))
            body.append(seg("FTX", ["AAO"], [], [], [err.tag, *_chunks(err.where)]))
        body.append(seg("UNT", [str(len(body) + 1)], [ref]))
        messages.extend(body)
    unb = seg(
        "UNB",
        [syntax_id, str(first.syntax_version if first.syntax_version in (1, 2, 3, 4) else 3)],
        [our_id],
        [first.sender or "UNKNOWN", first.sender_qualifier],
        [date, now.strftime("%H%M")],
        [reference],
    )
    unz = seg("UNZ", [str(len(answers))], [reference])
    return "\n".join([unb, *messages, unz]).encode("latin-1", "replace") + b"\n"


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
                current["code"] = parts[0] or current["code"]
                current["text"] = "".join(parts[1:])
            else:  # the FTX of SG4: the tag (and the position in words)
                current["tag"] = parts[0]
        elif seg.tag == "RFF" and errors and seg.get(0, 0) == "AFO":
            current = errors[-1]
            current["segment"], current["element"], current["component"] = (
                seg.get(0, 1),
                seg.get(0, 2),
                seg.get(0, 3),
            )
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


def _number(value: str) -> int | None:
    return int(value) if re.fullmatch("[0-9]{1,9}", value) else None
