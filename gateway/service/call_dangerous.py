"""A call's dangerous goods: the notifications (IFTDGN) against the manifests (issue #17, point 4).

:func:`check_dangerous` is the pure cross-check, by container and UN number, of the items the
call's dangerous goods notifications notify against the UN numbers its linked, active
manifests declare on their containers (``DGS`` of a goods item, ``SGP`` its container):

* ``DG_NOT_NOTIFIED``: a manifest declares UN number U in container C, and no notification of
  the call notifies U in C. The manifest's sender has it to correct (APERAK ``GW405``), or the
  carrier its notification; customs hears of it either way.
* ``DG_NOT_DECLARED``: a notification notifies U in C, and no manifest of the call declares U
  in C. Which manifest should have declared it nobody can say: customs alone hears of it.
* ``DG_UN_NUMBER_MISMATCH``: container C is on both sides, and each side has a UN number the
  other lacks (declared UN 1993, notified UN 1263): one discrepancy for the container, naming
  both; the senders of the bills that declared it are told (APERAK ``GW406``).

A side with only extra numbers (declared 1263 and 1993, notified 1263) gives ``DG_NOT_NOTIFIED``
(or ``DG_NOT_DECLARED``) for each extra one. Goods in no container (container ``""``) are
matched by UN number alone, never a mismatch.

:func:`recheck` runs the cross-check again whenever what it depends on changes (a
notification filed, corrected or cancelled; a manifest filed, corrected or withdrawn, linked to
a call that has a notification; a call linking waiting manifests), and records the result on
the call (``call_dangerous_checks``, ``edigw calls show``).

>>> from gateway.storage.call_records import DeclaredEquipment, NotifiedDangerous
>>> declared = [DeclaredEquipment("apcs", "MAN-1", 0, "CMAU3000009", "BL-1", un_numbers=("1993",)),
...             DeclaredEquipment("apcs", "MAN-1", 1, "CMAU3000014", "BL-2", un_numbers=("1866",))]
>>> notified = [NotifiedDangerous("apcs", "DG-1", 1, "1263", "3", container="CMAU3000009"),
...             NotifiedDangerous("apcs", "DG-1", 2, "1203", "3", container="TGHU0000001")]
>>> [(d.kind, d.container, d.declared, d.notified) for d in check_dangerous(notified, declared)]
... # doctest: +NORMALIZE_WHITESPACE
[('DG_UN_NUMBER_MISMATCH', 'CMAU3000009', ('1993',), ('1263',)),
 ('DG_NOT_NOTIFIED', 'CMAU3000014', ('1866',), ()),
 ('DG_NOT_DECLARED', 'TGHU0000001', (), ('1203',))]
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from gateway.domain.call_discrepancies import DiscrepancyNotification
from gateway.domain.calls import CallKey, DangerousGoodsNotification
from gateway.domain.model import CargoManifest, Document
from gateway.storage.call_records import (
    DANGEROUS_GOODS,
    CallRegistry,
    DangerousCheckRecord,
    DeclaredEquipment,
    NotifiedDangerous,
)

T = TypeVar("T")

DG_NOT_NOTIFIED = "DG_NOT_NOTIFIED"
DG_NOT_DECLARED = "DG_NOT_DECLARED"
DG_UN_NUMBER_MISMATCH = "DG_UN_NUMBER_MISMATCH"
DANGEROUS_KINDS = (DG_NOT_NOTIFIED, DG_NOT_DECLARED, DG_UN_NUMBER_MISMATCH)

#: The codes the first release put in ``x-edigw-call-flags`` for two of the kinds; still sent
#: beside the kind, so a consumer that matches them keeps working.
FORMER_FLAGS = {DG_NOT_DECLARED: "NOT_DECLARED", DG_NOT_NOTIFIED: "NOT_NOTIFIED"}


@dataclass(frozen=True, slots=True)
class Bill:
    """A bill of one manifest: whose it is to correct."""

    sender: str
    document_number: str
    transport_document: str

    def to_json(self) -> dict[str, str]:
        return {
            "sender": self.sender,
            "manifest": self.document_number,
            "bill": self.transport_document,
        }


@dataclass(frozen=True, slots=True)
class DangerousDiscrepancy:
    """A container (or goods in no container) whose dangerous goods the notifications and the
    manifests of the call say differently (kinds: the module's docstring)."""

    kind: str
    container: str  # "" for goods in no container
    sentence: str
    declared: tuple[str, ...] = ()  # UN numbers on the manifests and not notified
    notified: tuple[str, ...] = ()  # UN numbers notified and not on the manifests
    bills: tuple[Bill, ...] = ()  # the bills that declared ``declared``
    notifications: tuple[DiscrepancyNotification, ...] = ()  # the notifications of ``notified``

    @property
    def un_numbers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.declared, *self.notified)))

    def flags(self) -> list[str]:
        """Its codes in ``x-edigw-call-flags``: the kind, and the first release's code for it."""
        return [self.kind, *([FORMER_FLAGS[self.kind]] if self.kind in FORMER_FLAGS else [])]

    def label(self) -> str:
        """One line for a header: ``DG_UN_NUMBER_MISMATCH CMAU3000009 UN 1993 notified 1263``."""
        where = self.container or "-"
        if self.kind == DG_UN_NUMBER_MISMATCH:
            return (
                f"{self.kind} {where} UN {' '.join(self.declared)} "
                f"notified {' '.join(self.notified)}"
            )
        return f"{self.kind} {where} UN {' '.join(self.un_numbers)}"

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "container": self.container,
            "un_numbers": list(self.un_numbers),
            "declared": list(self.declared),
            "notified": list(self.notified),
            "sentence": self.sentence,
            "bills": [b.to_json() for b in self.bills],
            "notifications": [
                {"sender": n.sender, "notification": n.document_number} for n in self.notifications
            ],
        }


def _where(container: str) -> str:
    return f"container {container}" if container else "goods in no container"


def _bills(bills: Sequence[Bill]) -> str:
    return ", ".join(dict.fromkeys(f"{b.transport_document} ({b.document_number})" for b in bills))


def _numbers(refs: Sequence[DiscrepancyNotification]) -> str:
    return ", ".join(dict.fromkeys(n.document_number for n in refs))


def _merged(groups: Iterable[Sequence[T]]) -> tuple[T, ...]:
    return tuple(dict.fromkeys(x for group in groups for x in group))


def check_dangerous(
    notified: Sequence[NotifiedDangerous], declared: Sequence[DeclaredEquipment]
) -> list[DangerousDiscrepancy]:
    """Cross-check notified and declared dangerous goods by container and UN number (the
    module's docstring); containers in the manifests' order, then those only notified."""
    on_manifests: dict[str, dict[str, list[Bill]]] = {}
    for row in declared:
        for un in row.un_numbers:
            bills = on_manifests.setdefault(row.container, {}).setdefault(un, [])
            bill = Bill(row.sender, row.document_number, row.transport_document)
            if bill not in bills:
                bills.append(bill)
    in_notifications: dict[str, dict[str, list[DiscrepancyNotification]]] = {}
    for item in notified:
        refs = in_notifications.setdefault(item.container or "", {}).setdefault(item.un_number, [])
        ref = DiscrepancyNotification(item.sender, item.document_number)
        if ref not in refs:
            refs.append(ref)
    out: list[DangerousDiscrepancy] = []
    for container in dict.fromkeys([*on_manifests, *in_notifications]):
        mine = on_manifests.get(container, {})
        theirs = in_notifications.get(container, {})
        only_declared = [un for un in mine if un not in theirs]
        only_notified = [un for un in theirs if un not in mine]
        if container and only_declared and only_notified:
            named = _merged([mine[un] for un in only_declared])
            notifications = _merged([theirs[un] for un in only_notified])
            out.append(
                DangerousDiscrepancy(
                    DG_UN_NUMBER_MISMATCH,
                    container,
                    f"container {container} is declared with UN {', '.join(only_declared)} "
                    f"(bill {_bills(named)}) and notified with UN {', '.join(only_notified)} "
                    f"({_numbers(notifications)})",
                    tuple(only_declared),
                    tuple(only_notified),
                    named,
                    notifications,
                )
            )
            continue
        for un in only_declared:
            out.append(
                DangerousDiscrepancy(
                    DG_NOT_NOTIFIED,
                    container,
                    f"UN {un} in {_where(container)} is declared on bill {_bills(mine[un])} "
                    "and in no dangerous goods notification of the call",
                    declared=(un,),
                    bills=tuple(mine[un]),
                )
            )
        for un in only_notified:
            out.append(
                DangerousDiscrepancy(
                    DG_NOT_DECLARED,
                    container,
                    f"UN {un} in {_where(container)} is notified ({_numbers(theirs[un])}) "
                    "and declared on no manifest of the call",
                    notified=(un,),
                    notifications=tuple(theirs[un]),
                )
            )
    return out


def by_manifest(
    discrepancies: Sequence[DangerousDiscrepancy],
) -> dict[tuple[str, str], list[DangerousDiscrepancy]]:
    """Each manifest's own discrepancies, (sender, document number): those naming its bills
    (``DG_NOT_DECLARED`` names none: it is customs' alone)."""
    out: dict[tuple[str, str], list[DangerousDiscrepancy]] = {}
    for d in discrepancies:
        for manifest in dict.fromkeys((b.sender, b.document_number) for b in d.bills):
            out.setdefault(manifest, []).append(d)
    return out


@dataclass(slots=True)
class DangerousCheck:
    """The cross-check made again when a document of the call was filed (:func:`recheck`)."""

    call: CallKey
    trigger_id: str  # the canonical message whose filing made the check
    trigger: str  # what it is: "CargoManifest MAN-1 from apcs"
    checked_at: str
    notified: int  # items notified
    declared: int  # container + UN number pairs declared
    discrepancies: list[DangerousDiscrepancy] = field(default_factory=list)
    # A manifest's filing: only that manifest's sender is told (None: every manifest's).
    manifest: tuple[str, str] | None = None

    def summary(self) -> str:
        counts = {k: sum(d.kind == k for d in self.discrepancies) for k in DANGEROUS_KINDS}
        return (
            f"dangerous goods of call {self.call} checked again after {self.trigger}: "
            f"{self.notified} item(s) notified, {self.declared} declared; "
            f"{counts[DG_NOT_NOTIFIED]} not notified, {counts[DG_NOT_DECLARED]} not declared, "
            f"{counts[DG_UN_NUMBER_MISMATCH]} UN number mismatch(es)"
        )

    def to_tell(self) -> dict[tuple[str, str], list[DangerousDiscrepancy]]:
        """What each manifest's sender is told now (its own discrepancies)."""
        mine = by_manifest(self.discrepancies)
        if self.manifest is None:
            return mine
        return {self.manifest: mine[self.manifest]} if self.manifest in mine else {}

    def record(self) -> DangerousCheckRecord:
        return DangerousCheckRecord(
            self.trigger_id,
            self.call,
            self.trigger,
            self.checked_at,
            self.notified,
            self.declared,
            len(self.discrepancies),
            json.dumps([d.to_json() for d in self.discrepancies], ensure_ascii=False),
        )


def recheck(
    registry: CallRegistry,
    key: CallKey,
    *,
    trigger_id: str,
    trigger: str,
    at: str,
    notification: bool = False,
    manifest: tuple[str, str] | None = None,
) -> DangerousCheck | None:
    """Cross-check ``key``'s dangerous goods again, from what the registry holds now, and
    record the result on the call; None (nothing checked) while no notification was filed for
    the call, unless ``notification`` (the filing is one: even its cancellation counts)."""
    if not notification and not any(
        d.kind == DANGEROUS_GOODS for d in registry.call_documents(key)
    ):
        return None
    notified = registry.notified_dangerous(key)
    declared = registry.declared_equipment(key, None)  # inward and outward: all on board
    check = DangerousCheck(
        key,
        trigger_id,
        trigger,
        at,
        len(notified),
        len({(e.container, un) for e in declared for un in e.un_numbers}),
        check_dangerous(notified, declared),
        manifest,
    )
    registry.put_dangerous_check(check.record())
    return check


def after_filing(
    registry: CallRegistry,
    doc: Document,
    key: CallKey | None,
    number: str,
    changed: bool,
    at: str | None,
) -> DangerousCheck | None:
    """:func:`recheck` after ``doc`` (number ``number``, of call ``key``) was filed, when it
    changed what the cross-check reads: a notification always; a manifest or a call when
    ``changed`` (a manifest linked to its call, a call that linked waiting manifests)."""
    notification = isinstance(doc, DangerousGoodsNotification)
    if key is None or not (notification or changed):
        return None
    h = doc.header
    return recheck(
        registry,
        key,
        trigger_id=h.message_id,
        trigger=f"{h.document_type} {number} from {h.sender}",
        at=at or "",
        notification=notification,
        manifest=(h.sender, number) if isinstance(doc, CargoManifest) else None,
    )


__all__ = [
    "DANGEROUS_KINDS",
    "DG_NOT_DECLARED",
    "DG_NOT_NOTIFIED",
    "DG_UN_NUMBER_MISMATCH",
    "FORMER_FLAGS",
    "Bill",
    "DangerousCheck",
    "DangerousDiscrepancy",
    "after_filing",
    "by_manifest",
    "check_dangerous",
    "recheck",
]
