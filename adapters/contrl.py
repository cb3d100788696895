"""CONTRL: the UN/EDIFACT syntax and service report (ISO 9735-5).

``acknowledge(data)`` reads an interchange and never raises on bad input: it
returns a :class:`SyntaxReport` saying what was accepted or rejected and why.
``encode(report)`` turns that report into CONTRL bytes in the sender's syntax
version (``CONTRL:D:3:UN`` for syntax 1-3, ``CONTRL:4:1:UN`` for syntax 4).

>>> report = acknowledge(b"UNB+UNOA:3+SND+RCV+240101:1200+42'UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+3+1'UNZ+1+42'")
>>> report.accepted, report.action
(True, '7')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from adapters.edifact.syntax import (
    Delimiters,
    EdifactError,
    Interchange,
    parse,
    serialize_segment,
)

# Action codes (service code list 0083).
ACTION_ACKNOWLEDGED = "7"  # this level acknowledged, lower levels acknowledged if not explicitly rejected
ACTION_REJECTED = "4"  # this level and all lower levels rejected
ACTION_RECEIVED = "8"  # interchange received


@dataclass(slots=True)
class MessageReport:
    reference: str
    type: str
    version: str
    release: str
    agency: str
    errors: list[EdifactError] = field(default_factory=list)

    @property
    def action(self) -> str:
        return ACTION_REJECTED if self.errors else ACTION_ACKNOWLEDGED


@dataclass(slots=True)
class SyntaxReport:
    """What the gateway says about one received interchange."""

    sender: str = ""
    sender_qualifier: str = ""
    recipient: str = ""
    recipient_qualifier: str = ""
    control_reference: str = ""
    syntax_id: str = "UNOA"
    syntax_version: int = 3
    errors: list[EdifactError] = field(default_factory=list)  # interchange level
    messages: list[MessageReport] = field(default_factory=list)
    interchanges: list[Interchange] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.errors and all(not m.errors for m in self.messages)

    @property
    def action(self) -> str:
        return ACTION_ACKNOWLEDGED if self.accepted else ACTION_REJECTED

    def all_errors(self) -> list[EdifactError]:
        return [*self.errors, *(e for m in self.messages for e in m.errors)]


def check_envelope(ic: Interchange) -> list[MessageReport]:
    """Per-message control checks: UNT segment count and reference."""
    reports = []
    for msg in ic.messages:
        report = MessageReport(msg.reference, msg.type, msg.version, msg.release, msg.agency)
        unt = msg.segments[-1]
        declared = unt.get(0)
        if not msg.type:
            report.errors.append(
                EdifactError("12", "UNH carries no message type", segment=msg.segments[0].number, tag="UNH")
            )
        if declared != str(len(msg.segments)):
            report.errors.append(
                EdifactError(
                    "29",
                    f"UNT says {declared or 'nothing'} segments but message {msg.reference} has {len(msg.segments)}",
                    segment=unt.number,
                    tag="UNT",
                )
            )
        if unt.get(1) != msg.reference:
            report.errors.append(
                EdifactError(
                    "28",
                    f"UNT reference {unt.get(1)!r} does not match UNH reference {msg.reference!r}",
                    segment=unt.number,
                    tag="UNT",
                )
            )
        reports.append(report)
    return reports


def acknowledge(data: bytes) -> SyntaxReport:
    """Parse and check ``data``; the result says accepted or rejected, never raises EdifactError."""
    try:
        interchanges = parse(data)
    except EdifactError as exc:
        report = SyntaxReport(errors=[exc])
        _fill_header_from_bytes(report, data)
        return report
    first = interchanges[0]
    report = SyntaxReport(
        sender=first.sender,
        sender_qualifier=first.sender_qualifier,
        recipient=first.recipient,
        recipient_qualifier=first.recipient_qualifier,
        control_reference=first.control_reference,
        syntax_id=first.syntax_id or "UNOA",
        syntax_version=first.syntax_version,
        interchanges=interchanges,
    )
    for ic in interchanges:
        report.messages.extend(check_envelope(ic))
    return report


def _fill_header_from_bytes(report: SyntaxReport, data: bytes) -> None:
    """Best effort: read the UNB of an input that failed to parse, to address the CONTRL."""
    text = data.decode("latin-1")
    start = text.find("UNB")
    if start < 0:
        return
    end = text.find("'", start)
    raw = text[start : end if end > 0 else len(text)]
    parts = raw.split("+")
    comps = [p.split(":") for p in parts]
    if len(comps) > 1 and comps[1]:
        report.syntax_id = comps[1][0][:4] or "UNOA"
        if len(comps[1]) > 1 and comps[1][1].isdigit():
            report.syntax_version = int(comps[1][1])
    if len(comps) > 2:
        report.sender = comps[2][0][:35]
        report.sender_qualifier = comps[2][1][:4] if len(comps[2]) > 1 else ""
    if len(comps) > 3:
        report.recipient = comps[3][0][:35]
        report.recipient_qualifier = comps[3][1][:4] if len(comps[3]) > 1 else ""
    if len(comps) > 5:
        report.control_reference = comps[5][0][:14]


def encode(
    report: SyntaxReport,
    *,
    our_id: str = "CUSTOMS",
    reference: str = "1",
    now: dt.datetime | None = None,
) -> bytes:
    """The CONTRL interchange answering ``report``, from ``our_id`` to the original sender."""
    now = now or dt.datetime.now(dt.UTC)
    d = Delimiters()
    v4 = report.syntax_version >= 4
    date = now.strftime("%Y%m%d" if v4 else "%y%m%d")
    segs: list[str] = []
    syntax_id = report.syntax_id if report.syntax_id in {"UNOA", "UNOB", "UNOC", "UNOW", "UNOY"} else "UNOA"
    segs.append(
        serialize_segment(
            "UNB",
            [
                [syntax_id, str(report.syntax_version)],
                [our_id],
                [report.sender or "UNKNOWN", report.sender_qualifier],
                [date, now.strftime("%H%M")],
                [reference],
            ],
            d,
        )
    )
    body: list[str] = []
    msg_id = ["CONTRL", "4", "1", "UN"] if v4 else ["CONTRL", "D", "3", "UN"]
    body.append(serialize_segment("UNH", [[reference], msg_id], d))
    first_error = report.errors[0] if report.errors else None
    uci = [
        [report.control_reference],
        [report.sender, report.sender_qualifier],
        [report.recipient, report.recipient_qualifier],
        [report.action],
    ]
    if first_error is not None:
        uci.append([first_error.code])
        if first_error.tag:
            uci.append([first_error.tag])
    body.append(serialize_segment("UCI", uci, d))
    for msg in report.messages:
        ucm = [[msg.reference], [msg.type, msg.version, msg.release, msg.agency], [msg.action]]
        if msg.errors:
            ucm.append([msg.errors[0].code])
        body.append(serialize_segment("UCM", ucm, d))
        for err in msg.errors:
            if err.segment is not None:
                body.append(serialize_segment("UCS", [[str(err.segment)], [err.code]], d))
    body.append(serialize_segment("UNT", [[str(len(body) + 1)], [reference]], d))
    segs.extend(body)
    segs.append(serialize_segment("UNZ", [["1"], [reference]], d))
    return "\n".join(segs).encode("ascii", "replace") + b"\n"
