"""What a call's documents say against each other (issue #17): discharge, loading, dangerous goods.

* :func:`compare` reconciles the containers the call's manifests declare for discharge here
  with those the terminals report discharged, per container and bill:

  - ``SHORT_LANDED``: on a manifest, not discharged;
  - ``OVER_LANDED``: discharged, not on any manifest (or declared to stay on board);
  - ``SEAL_MISMATCH`` / ``WEIGHT_MISMATCH``: the seals differ, or the gross mass differs from
    the declared one by more than the tolerance (percent of the declared mass).

  The same, ``outward``, reconciles the containers the call's outward (export) manifests
  declare for loading here with those the terminals report loaded (:func:`reconcile_loading`):
  ``SHORT_SHIPPED`` (declared for export, not loaded), ``LOADED_NOT_DECLARED`` (loaded, on no
  outward manifest, or declared for loading at another port), and the same mismatches.

* the dangerous goods notified (IFTDGN) against those the manifests declare, by container and
  UN number (``gateway.service.call_dangerous.check_dangerous``): ``DG_NOT_NOTIFIED``,
  ``DG_NOT_DECLARED``, ``DG_UN_NUMBER_MISMATCH``.

Both are pure over the registry's records; :func:`reconcile` and :func:`reconcile_loading`
read them from the journal; the discharge's reconciliation carries both (the report to
customs tells both).

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

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from gateway.domain.calls import CallKey, Direction
from gateway.service.call_dangerous import Bill, DangerousDiscrepancy, check_dangerous
from gateway.storage.call_records import CallRegistry, DeclaredEquipment, MovementRecord

SHORT_LANDED = "SHORT_LANDED"
OVER_LANDED = "OVER_LANDED"
SEAL_MISMATCH = "SEAL_MISMATCH"
WEIGHT_MISMATCH = "WEIGHT_MISMATCH"
SHORT_SHIPPED = "SHORT_SHIPPED"  # the loading (reconcile_loading)
LOADED_NOT_DECLARED = "LOADED_NOT_DECLARED"


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
    """The discharge of one call against its (inward) manifests, or its loading against its
    outward manifests (``direction``, ``gateway.service.loading_checks``)."""

    call: CallKey
    declared: int  # containers declared for discharge here (outward: for loading here)
    discharged: int  # discharged (outward: loaded)
    discrepancies: list[ContainerDiscrepancy] = field(default_factory=list)
    # The call's dangerous goods, notifications against manifests, when it was reconciled.
    dangerous: list[DangerousDiscrepancy] = field(default_factory=list)
    direction: Direction = "inward"

    def of_kind(self, kind: str) -> list[ContainerDiscrepancy]:
        return [d for d in self.discrepancies if d.kind == kind]

    def mismatched(self) -> int:
        return len(self.of_kind(SEAL_MISMATCH)) + len(self.of_kind(WEIGHT_MISMATCH))

    def summary(self) -> str:
        mismatched = self.mismatched()
        if self.direction == "outward":
            return (
                f"call {self.call} loading reconciled: {self.declared} containers declared for "
                f"loading, {self.discharged} loaded; {len(self.of_kind(SHORT_SHIPPED))} "
                f"short-shipped, {len(self.of_kind(LOADED_NOT_DECLARED))} loaded not declared, "
                f"{mismatched} mismatched"
            )
        counts = {k: len(self.of_kind(k)) for k in (SHORT_LANDED, OVER_LANDED)}
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
            "direction": self.direction,
            "declared": self.declared,
            "loaded" if self.direction == "outward" else "discharged": self.discharged,
            "discrepancies": [d.to_json() for d in self.discrepancies],
            "dangerous_goods": [d.to_json() for d in self.dangerous],
        }


@dataclass(slots=True)
class Declared:
    """A container as the manifests declare it: its bills, seals, mass, and whether it is
    discharged (or, outward, loaded) at this port."""

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


def declared_containers(rows: Iterable[DeclaredEquipment]) -> dict[str, Declared]:
    """The declared containers (a container on several bills merged), in manifest order."""
    out: dict[str, Declared] = {}
    for row in rows:
        if not row.container:
            continue
        entry = out.setdefault(row.container, Declared())
        if row.transport_document:
            entry.bills.append(Bill(row.sender, row.document_number, row.transport_document))
        entry.seals |= _seals(row.seals)
        entry.mass = entry.mass if entry.mass is not None else _decimal(row.gross_mass_kg)
        entry.here = entry.here or row.discharge_here
    return out


def mismatches(
    container: str, d: Declared, m: MovementRecord, tolerance_percent: Decimal, operation: str
) -> list[ContainerDiscrepancy]:
    """The seal and weight mismatches of ``container`` as declared (``d``) and as discharged
    or loaded (``m``, ``operation``: discharge or loading)."""
    bills, out = tuple(d.bills), []
    done = _WORDS["inward" if operation == "discharge" else "outward"].done
    seals = _seals(m.seals)
    if d.seals and seals and d.seals != seals:
        out.append(
            ContainerDiscrepancy(
                SEAL_MISMATCH,
                container,
                f"container {container} was {done} with seals {' '.join(sorted(seals))}, "
                f"declared with {' '.join(sorted(d.seals))}",
                bills,
                " ".join(sorted(d.seals)),
                " ".join(sorted(seals)),
            )
        )
    mass = _decimal(m.gross_mass_kg)
    if d.mass and mass is not None and abs(mass - d.mass) * 100 > d.mass * tolerance_percent:
        out.append(
            ContainerDiscrepancy(
                WEIGHT_MISMATCH,
                container,
                f"container {container} weighed {mass} kg at {operation}, declared "
                f"{d.mass} kg (tolerance {tolerance_percent}%)",
                bills,
                str(d.mass),
                str(mass),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class _Words:
    """What the reconciliation of one direction calls things."""

    missing: str  # declared here, not handled
    extra: str  # handled, not declared here
    operation: str
    done: str
    manifests: str
    elsewhere: str


_WORDS: dict[str, _Words] = {
    "inward": _Words(
        SHORT_LANDED,
        OVER_LANDED,
        "discharge",
        "discharged",
        "on no manifest of the call",
        "declared to stay on board (discharge at another port)",
    ),
    "outward": _Words(
        SHORT_SHIPPED,
        LOADED_NOT_DECLARED,
        "loading",
        "loaded",
        "on no outward manifest of the call",
        "declared for loading at another port",
    ),
}


def compare(
    declared: Sequence[DeclaredEquipment],
    discharged: Sequence[MovementRecord],
    tolerance_percent: Decimal,
    call: CallKey,
    direction: Direction = "inward",
) -> Reconciliation:
    """Reconcile declared containers with discharged ones (see the module's docstring); or,
    ``outward``, the outward manifests' containers with the loaded ones: ``SHORT_SHIPPED``
    (declared for loading here, not loaded), ``LOADED_NOT_DECLARED`` (loaded, on no outward
    manifest, or declared for loading at another port), and the same mismatches."""
    words = _WORDS[direction]
    expected = declared_containers(declared)
    landed = {m.container: m for m in discharged}
    here = [c for c, d in expected.items() if d.here]
    result = Reconciliation(call, len(here), len(landed), direction=direction)
    for container in here:
        d = expected[container]
        bills = tuple(d.bills)
        m = landed.get(container)
        if m is None:
            on = ", ".join(b.transport_document for b in bills) or "the manifest's list"
            result.discrepancies.append(
                ContainerDiscrepancy(
                    words.missing,
                    container,
                    f"container {container} ({on}) was declared for {words.operation} at "
                    f"{call.port_of_call} and not {words.done}",
                    bills,
                )
            )
            continue
        result.discrepancies += mismatches(container, d, m, tolerance_percent, words.operation)
    for container, m in landed.items():
        d_or_none = expected.get(container)
        if d_or_none is not None and d_or_none.here:
            continue
        why = words.manifests if d_or_none is None else words.elsewhere
        result.discrepancies.append(
            ContainerDiscrepancy(
                words.extra,
                container,
                f"container {container} was {words.done} ({m.document_number} from {m.sender}) "
                f"and is {why}",
                tuple(d_or_none.bills) if d_or_none is not None else (),
            )
        )
    return result


def by_direction(
    declared: Iterable[DeclaredEquipment], exports: Collection[tuple[str, str]]
) -> tuple[list[DeclaredEquipment], list[DeclaredEquipment]]:
    """The call's declared containers (``declared_equipment(key, None)``, every manifest)
    split into inward (discharge) and outward (loading), each in manifest order, by the
    (sender, number) of its outward manifests: one read of the containers, not one a direction."""
    inward: list[DeclaredEquipment] = []
    outward: list[DeclaredEquipment] = []
    for row in declared:
        (outward if (row.sender, row.document_number) in exports else inward).append(row)
    return inward, outward


def reconcile(registry: CallRegistry, tolerance_percent: Decimal, call: CallKey) -> Reconciliation:
    """Reconcile ``call``'s discharge from what the registry holds now, the call's dangerous
    goods with it (notified against every manifest of the call, inward and outward: a
    notification lists what is on board either way)."""
    inward, outward = by_direction(
        registry.declared_equipment(call, None), registry.outward_manifests(call)
    )
    result = compare(inward, registry.movements(call, "discharge"), tolerance_percent, call)
    result.dangerous = check_dangerous(registry.notified_dangerous(call), [*inward, *outward])
    return result


def reconcile_loading(
    registry: CallRegistry, tolerance_percent: Decimal, call: CallKey
) -> Reconciliation:
    """Reconcile ``call``'s loading (its outward manifests) from what the registry holds now."""
    return compare(
        registry.declared_equipment(call, "outward"),
        registry.movements(call, "load"),
        tolerance_percent,
        call,
        "outward",
    )
