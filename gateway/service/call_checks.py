"""What a call's documents say against each other (issue #17): discharge and dangerous goods.

* :func:`compare` reconciles the containers the call's manifests declare for discharge here
  with those the terminals report discharged, per container and bill:

  - ``SHORT_LANDED``: on a manifest, not discharged;
  - ``OVER_LANDED``: discharged, not on any manifest (or declared to stay on board);
  - ``SEAL_MISMATCH`` / ``WEIGHT_MISMATCH``: the seals differ, or the gross mass differs from
    the declared one by more than the tolerance (percent of the declared mass).

* the dangerous goods notified (IFTDGN) against those the manifests declare, by container and
  UN number (``gateway.service.call_dangerous.check_dangerous``): ``DG_NOT_NOTIFIED``,
  ``DG_NOT_DECLARED``, ``DG_UN_NUMBER_MISMATCH``.

Both are pure over the registry's records; :func:`reconcile` reads them from the journal, and
its reconciliation carries both (the report to customs tells both).

>>> from gateway.storage.call_records import DeclaredEquipment, MovementRecord
>>> declared = [DeclaredEquipment("apcs", "MAN-1", 0, "CMAU3000009", "BL-1"),
...             DeclaredEquipment("apcs", "MAN-1", 1, "CMAU3000014", "BL-2")]
>>> landed = [MovementRecord("CMAU3000009", "discharge", "terminal", "DIS-1"),
...           MovementRecord("TGHU0000001", "discharge", "terminal", "DIS-1")]
>>> r = compare(declared, landed, Decimal(5), CallKey("9454436", "0MA1RN1MA", "DZALG"))
>>> [(d.kind, d.container) for d in r.discrepancies]
[('SHORT_LANDED', 'CMAU3000014'), ('OVER_LANDED', 'TGHU0000001')]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from gateway.domain.calls import CallKey
from gateway.service.call_dangerous import Bill, DangerousDiscrepancy, check_dangerous
from gateway.storage.call_records import CallRegistry, DeclaredEquipment, MovementRecord

SHORT_LANDED = "SHORT_LANDED"
OVER_LANDED = "OVER_LANDED"
SEAL_MISMATCH = "SEAL_MISMATCH"
WEIGHT_MISMATCH = "WEIGHT_MISMATCH"


@dataclass(frozen=True, slots=True)
class ContainerDiscrepancy:
    """One container whose discharge does not match what was declared."""

    kind: str
    container: str
    sentence: str
    bills: tuple[Bill, ...] = ()  # the bills that declared it (none: over-landed)
    declared: str | None = None  # seals or mass as declared (mismatches)
    discharged: str | None = None  # ... and as discharged

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "container": self.container,
            "sentence": self.sentence,
            "bills": [b.to_json() for b in self.bills],
            "declared": self.declared,
            "discharged": self.discharged,
        }


@dataclass(slots=True)
class Reconciliation:
    """The discharge of one call against its manifests."""

    call: CallKey
    declared: int  # containers declared for discharge here
    discharged: int
    discrepancies: list[ContainerDiscrepancy] = field(default_factory=list)
    # The call's dangerous goods, notifications against manifests, when it was reconciled.
    dangerous: list[DangerousDiscrepancy] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[ContainerDiscrepancy]:
        return [d for d in self.discrepancies if d.kind == kind]

    def summary(self) -> str:
        counts = {k: len(self.of_kind(k)) for k in (SHORT_LANDED, OVER_LANDED)}
        mismatched = len(self.of_kind(SEAL_MISMATCH)) + len(self.of_kind(WEIGHT_MISMATCH))
        dangerous = f", {len(self.dangerous)} dangerous goods" if self.dangerous else ""
        return (
            f"call {self.call} reconciled: {self.declared} containers declared, "
            f"{self.discharged} discharged; {counts[SHORT_LANDED]} short-landed, "
            f"{counts[OVER_LANDED]} over-landed, {mismatched} mismatched{dangerous}"
        )

    def by_sender(self) -> dict[str, list[ContainerDiscrepancy]]:
        """What each manifest's sender has to correct (an over-landed container is nobody's:
        it goes to customs alone)."""
        out: dict[str, list[ContainerDiscrepancy]] = {}
        for d in self.discrepancies:
            for sender in dict.fromkeys(b.sender for b in d.bills):
                out.setdefault(sender, []).append(d)
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "call": str(self.call),
            "declared": self.declared,
            "discharged": self.discharged,
            "discrepancies": [d.to_json() for d in self.discrepancies],
            "dangerous_goods": [d.to_json() for d in self.dangerous],
        }


@dataclass(slots=True)
class _Declared:
    bills: list[Bill] = field(default_factory=list)
    seals: set[str] = field(default_factory=set)
    mass: Decimal | None = None
    here: bool = False


def _decimal(text: str | None) -> Decimal | None:
    try:
        return None if text is None else Decimal(text)
    except InvalidOperation:
        return None


def _seals(values: Iterable[str]) -> set[str]:
    return {v.strip().upper() for v in values if v.strip()}


def _declared(rows: Iterable[DeclaredEquipment]) -> dict[str, _Declared]:
    """The declared containers (a container on several bills merged), in manifest order."""
    out: dict[str, _Declared] = {}
    for row in rows:
        if not row.container:
            continue
        entry = out.setdefault(row.container, _Declared())
        if row.transport_document:
            entry.bills.append(Bill(row.sender, row.document_number, row.transport_document))
        entry.seals |= _seals(row.seals)
        entry.mass = entry.mass if entry.mass is not None else _decimal(row.gross_mass_kg)
        entry.here = entry.here or row.discharge_here
    return out


def compare(
    declared: Sequence[DeclaredEquipment],
    discharged: Sequence[MovementRecord],
    tolerance_percent: Decimal,
    call: CallKey,
) -> Reconciliation:
    """Reconcile declared containers with discharged ones (see the module's docstring)."""
    expected = _declared(declared)
    landed = {m.container: m for m in discharged}
    here = [c for c, d in expected.items() if d.here]
    result = Reconciliation(call, len(here), len(landed))
    for container in here:
        d = expected[container]
        bills = tuple(d.bills)
        m = landed.get(container)
        if m is None:
            on = ", ".join(b.transport_document for b in bills) or "the manifest's list"
            result.discrepancies.append(
                ContainerDiscrepancy(
                    SHORT_LANDED,
                    container,
                    f"container {container} ({on}) was declared for discharge at "
                    f"{call.port_of_call} and not discharged",
                    bills,
                )
            )
            continue
        seals = _seals(m.seals)
        if d.seals and seals and d.seals != seals:
            result.discrepancies.append(
                ContainerDiscrepancy(
                    SEAL_MISMATCH,
                    container,
                    f"container {container} was discharged with seals {' '.join(sorted(seals))}, "
                    f"declared with {' '.join(sorted(d.seals))}",
                    bills,
                    " ".join(sorted(d.seals)),
                    " ".join(sorted(seals)),
                )
            )
        mass = _decimal(m.gross_mass_kg)
        if d.mass and mass is not None and abs(mass - d.mass) * 100 > d.mass * tolerance_percent:
            result.discrepancies.append(
                ContainerDiscrepancy(
                    WEIGHT_MISMATCH,
                    container,
                    f"container {container} weighed {mass} kg at discharge, declared "
                    f"{d.mass} kg (tolerance {tolerance_percent}%)",
                    bills,
                    str(d.mass),
                    str(mass),
                )
            )
    for container, m in landed.items():
        d_or_none = expected.get(container)
        if d_or_none is not None and d_or_none.here:
            continue
        why = (
            "on no manifest of the call"
            if d_or_none is None
            else "declared to stay on board (discharge at another port)"
        )
        result.discrepancies.append(
            ContainerDiscrepancy(
                OVER_LANDED,
                container,
                f"container {container} was discharged ({m.document_number} from {m.sender}) "
                f"and is {why}",
                tuple(d_or_none.bills) if d_or_none is not None else (),
            )
        )
    return result


def reconcile(registry: CallRegistry, tolerance_percent: Decimal, call: CallKey) -> Reconciliation:
    """Reconcile ``call`` from what the registry holds now, its dangerous goods with it."""
    declared = registry.declared_equipment(call)
    result = compare(declared, registry.movements(call, "discharge"), tolerance_percent, call)
    result.dangerous = check_dangerous(registry.notified_dangerous(call), declared)
    return result
