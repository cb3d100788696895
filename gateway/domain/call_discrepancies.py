"""What a ``ManifestDiscrepancyReport`` says beside its containers (issue #17): the bills a
discrepancy is about, and the dangerous goods the call's notifications and manifests say
differently (``xsd/calls-1.xsd``: ``DiscrepancyBillType``, ``DangerousGoodsDiscrepancyType``).

:class:`DangerousGoodsDiscrepancy` kinds (docs/calls.md, "Dangerous goods"):
``DG_NOT_NOTIFIED`` (a manifest declares a UN number in a container that no notification of
the call notifies there), ``DG_NOT_DECLARED`` (notified, on no manifest of the call),
``DG_UN_NUMBER_MISMATCH`` (the same container, different UN numbers on each side).

>>> from lxml import etree
>>> root = etree.Element("r")
>>> d = DangerousGoodsDiscrepancy("DG_UN_NUMBER_MISMATCH", "CMAU3000009", "differ", ("1993",),
...     ("1263",), [DiscrepancyBill("apcs", "MAN-1", "BL-1")],
...     [DiscrepancyNotification("apcs", "DG-1")])
>>> dangerous_out(root, [d])
>>> dangerous_from(root) == [d]
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lxml import etree

from gateway.domain.model import NAMESPACE
from gateway.domain.xmlmap import Vocabulary

_VOCABULARY = Vocabulary(NAMESPACE)
_q = _VOCABULARY.q
_add = _VOCABULARY.add
_req = _VOCABULARY.req
_str = _VOCABULARY.get


@dataclass(frozen=True, slots=True)
class DiscrepancyBill:
    """A bill that declared a container: whose it is to correct, and customs' number for it."""

    sender: str
    manifest_number: str
    transport_document: str
    mrn: str | None = None  # the manifest's, once customs registered it


@dataclass(frozen=True, slots=True)
class DiscrepancyNotification:
    """A dangerous goods notification (IFTDGN) of the call: who sent it, its number."""

    sender: str
    document_number: str


@dataclass(slots=True)
class DangerousGoodsDiscrepancy:
    """Dangerous goods of one container (or in none) that the call's notifications and its
    manifests say differently."""

    kind: str  # DG_NOT_NOTIFIED, DG_NOT_DECLARED, DG_UN_NUMBER_MISMATCH
    container: str | None  # None: goods in no container
    sentence: str
    declared: tuple[str, ...] = ()  # UN numbers on the manifests, not notified
    notified: tuple[str, ...] = ()  # UN numbers notified, not on the manifests
    bills: list[DiscrepancyBill] = field(default_factory=list)  # that declared ``declared``
    notifications: list[DiscrepancyNotification] = field(default_factory=list)


def bills_out(parent: etree._Element, bills: Sequence[DiscrepancyBill]) -> None:
    for b in bills:
        bill = etree.SubElement(parent, _q("Bill"))
        _add(bill, "Sender", b.sender)
        _add(bill, "ManifestNumber", b.manifest_number)
        _add(bill, "TransportDocument", b.transport_document)
        _add(bill, "Mrn", b.mrn)


def bills_from(parent: etree._Element) -> list[DiscrepancyBill]:
    return [
        DiscrepancyBill(
            _req(b, "Sender"),
            _req(b, "ManifestNumber"),
            _req(b, "TransportDocument"),
            _str(b, "Mrn"),
        )
        for b in parent.findall(_q("Bill"))
    ]


def dangerous_out(root: etree._Element, items: Sequence[DangerousGoodsDiscrepancy]) -> None:
    """One ``DangerousGoodsDiscrepancy`` element per item, under ``root``."""
    for d in items:
        el = etree.SubElement(root, _q("DangerousGoodsDiscrepancy"), kind=d.kind)
        _add(el, "Container", d.container or None)
        _add(el, "Sentence", d.sentence)
        for un in d.declared:
            _add(el, "DeclaredUnNumber", un)
        for un in d.notified:
            _add(el, "NotifiedUnNumber", un)
        bills_out(el, d.bills)
        for n in d.notifications:
            ref = etree.SubElement(el, _q("Notification"))
            _add(ref, "Sender", n.sender)
            _add(ref, "DocumentNumber", n.document_number)


def dangerous_from(root: etree._Element) -> list[DangerousGoodsDiscrepancy]:
    """The ``DangerousGoodsDiscrepancy`` elements of ``root`` read back."""
    return [
        DangerousGoodsDiscrepancy(
            el.get("kind", ""),
            _str(el, "Container"),
            _req(el, "Sentence"),
            tuple(_VOCABULARY.get_all(el, "DeclaredUnNumber")),
            tuple(_VOCABULARY.get_all(el, "NotifiedUnNumber")),
            bills_from(el),
            [
                DiscrepancyNotification(_req(n, "Sender"), _req(n, "DocumentNumber"))
                for n in el.findall(_q("Notification"))
            ],
        )
        for el in root.findall(_q("DangerousGoodsDiscrepancy"))
    ]


__all__ = [
    "DangerousGoodsDiscrepancy",
    "DiscrepancyBill",
    "DiscrepancyNotification",
    "bills_from",
    "bills_out",
    "dangerous_from",
    "dangerous_out",
]
