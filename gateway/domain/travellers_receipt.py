"""The signed receipt the portal and the border posts get for each message (issue #18).

Accepted: the TPD's or the declaration's reference, the gateway's reference of the canonical
document, the state it is in (``requested``, ``open``, ``extended``, ``discharged``; a
declaration ``required`` or ``not required``), the due date of a vehicle that entered, and
notes for the officer. Rejected: each reason with its code, where (a JSON Pointer) and
whether the same message may be sent again later (``replayable``: an exit before its entry).
``xsd/travellers-1.xsd``, element ``TravellersReceipt``.

>>> r = TravellersReceipt("border", "m1", "rejected", reasons=[ReceiptReason(
...     "TPD_NOT_ENTERED", "no open TPD", "/vin", replayable=True)])
>>> receipt_from_xml(receipt_to_xml(r)) == r
True
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from lxml import etree

from gateway.domain.travellers import NAMESPACE, SCHEMA_VERSION
from gateway.domain.xmlmap import Vocabulary
from gateway.domain.xmlsafe import parse

RECEIPT_TYPE = "TravellersReceipt"
_V = Vocabulary(NAMESPACE)


@dataclass(frozen=True, slots=True)
class ReceiptReason:
    code: str
    sentence: str
    where: str = "/"
    replayable: bool = False


@dataclass(slots=True)
class TravellersReceipt:
    """The gateway's answer to one message of the portal or of a border post."""

    partner: str
    inbound_message_id: str
    outcome: str  # accepted, rejected
    duplicate: bool = False
    reference: str | None = None  # the TPD's or the declaration's
    gateway_reference: str | None = None  # the canonical document's message id
    status: str | None = None
    due_date: dt.date | None = None
    notes: list[str] = field(default_factory=list)
    reasons: list[ReceiptReason] = field(default_factory=list)
    receipt_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    issued_at: dt.datetime = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).replace(microsecond=0)
    )


def receipt_to_xml(r: TravellersReceipt) -> etree._Element:
    root = _V.element(RECEIPT_TYPE, schemaVersion=SCHEMA_VERSION)
    _V.add(root, "ReceiptId", r.receipt_id)
    _V.add(root, "IssuedAt", r.issued_at)
    _V.add(root, "Partner", r.partner)
    _V.add(root, "InboundMessageId", r.inbound_message_id[:70])
    _V.add(root, "Outcome", r.outcome)
    _V.add(root, "Duplicate", r.duplicate)
    _V.add(root, "Reference", r.reference[:35] if r.reference else None)
    _V.add(root, "GatewayReference", r.gateway_reference)
    _V.add(root, "Status", r.status)
    _V.add(root, "DueDate", r.due_date)
    for note in r.notes:
        _V.add(root, "Note", note[:512])
    for reason in r.reasons:
        _V.add(
            root,
            "Reason",
            reason.sentence[:512] or reason.code,
            code=reason.code[:35],
            where=reason.where[:256] or "/",
            replayable="true" if reason.replayable else "false",
        )
    return root


def receipt_from_xml(source: bytes | etree._Element) -> TravellersReceipt:
    root = parse(source) if isinstance(source, bytes) else source
    if root.tag != _V.q(RECEIPT_TYPE):
        raise ValueError(f"{root.tag} is not a {RECEIPT_TYPE}")
    due = _V.get(root, "DueDate")
    return TravellersReceipt(
        receipt_id=_V.req(root, "ReceiptId"),
        issued_at=dt.datetime.fromisoformat(_V.req(root, "IssuedAt")),
        partner=_V.req(root, "Partner"),
        inbound_message_id=_V.req(root, "InboundMessageId"),
        outcome=_V.req(root, "Outcome"),
        duplicate=_V.req(root, "Duplicate") == "true",
        reference=_V.get(root, "Reference"),
        gateway_reference=_V.get(root, "GatewayReference"),
        status=_V.get(root, "Status"),
        due_date=None if due is None else dt.date.fromisoformat(due),
        notes=_V.get_all(root, "Note"),
        reasons=[
            ReceiptReason(
                e.get("code", ""),
                e.text or "",
                e.get("where", "/"),
                e.get("replayable") == "true",
            )
            for e in root.findall(_V.q("Reason"))
        ],
    )
