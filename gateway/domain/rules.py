"""Business rules on canonical documents: pure functions, no I/O.

Each rule has a code and a default severity; a partner's configuration may
change the severity (``[partners.apcs.rules] CONTAINER_CHECK_DIGIT = "warn"``),
because real data breaks some rules (a corpus manifest uses the container
number ``EQ123456``) and the partner agreement, not the code, decides whether
that stops the manifest. Severities: ``reject`` (the document is refused and
the partner gets an APERAK), ``warn`` (logged, kept on the outcome, routed),
``off``.

>>> from gateway.domain.model import CargoManifest, Header, TransportEquipment
>>> m = CargoManifest(Header.new(sender="apcs", document_type="CargoManifest",
...                   business_reference="M"), "M", equipment=[TransportEquipment("MSCU1234565")])
>>> [(v.code, v.severity, v.path) for v in check(m)]
[('CONTAINER_CHECK_DIGIT', 'reject', 'equipment[0]')]
>>> check(m, {"CONTAINER_CHECK_DIGIT": "warn"})[0].severity
'warn'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from gateway.domain.model import (
    CargoManifest,
    Consignment,
    ControlTotals,
    Document,
    PassengerVehicleList,
    TransportEquipment,
)

Severity = Literal["reject", "warn", "off"]
SEVERITIES: tuple[Severity, ...] = ("reject", "warn", "off")

# ISO 3166-1 alpha-2 (from the tz database's iso3166.tab), for UN/LOCODE countries.
_COUNTRY_TEXT = """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW"""
COUNTRIES = frozenset(_COUNTRY_TEXT.split())
# Masses that should add up may differ by rounding: 1 kg or 0.5 %, whichever is larger.
MASS_TOLERANCE_KG = Decimal(1)
MASS_TOLERANCE_RATIO = Decimal("0.005")


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: where in the document (a model path) and why, in a sentence."""

    code: str
    severity: Severity
    path: str
    sentence: str


Finding = tuple[str, str]  # (model path, sentence)


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    severity: Severity
    summary: str
    check: Callable[[Document], Iterable[Finding]]


# ------------------------------------------------------------------ check digits


def container_check_digit(identifier: str) -> int | None:
    """The ISO 6346 check digit of the first 10 characters, or None if not shaped like one.

    >>> container_check_digit("CSQU3054383")
    3
    """
    ident = identifier.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{3}[UJZR][0-9]{6,7}", ident):
        return None
    total = 0
    for i, ch in enumerate(ident[:10]):
        if ch.isdigit():
            value = int(ch)
        else:
            # A=10 ... Z=38, skipping the multiples of 11 (11, 22, 33).
            value = 10 + (ord(ch) - ord("A"))
            value += (value - 1) // 10 if value > 10 else 0
        total += value * (2**i)
    return total % 11 % 10


def container_number_ok(identifier: str) -> bool:
    """ISO 6346: owner code, category U/J/Z/R, 6 digits and the right check digit.

    >>> container_number_ok("MSCU1234565"), container_number_ok("EQ123456")
    (False, False)
    """
    ident = identifier.replace(" ", "").upper()
    digit = container_check_digit(ident)
    return digit is not None and len(ident) == 11 and int(ident[10]) == digit


def imo_number_ok(number: str) -> bool:
    """IMO ship number: 7 digits, the last = sum(d_i * (7 - i)) mod 10 over the first six.

    >>> imo_number_ok("9074729"), imo_number_ok("9074728")
    (True, False)
    """
    if not re.fullmatch(r"[0-9]{7}", number):
        return False
    total = sum(int(d) * w for d, w in zip(number[:6], range(7, 1, -1), strict=True))
    return total % 10 == int(number[6])


def locode_problem(code: str) -> str | None:
    """Why ``code`` is not a UN/LOCODE, or None.

    >>> locode_problem("EGALY"), locode_problem("XXABC"), locode_problem("EG1LY")
    (None, 'XX is not an ISO 3166 country', 'EG1LY is not 2 letters and 3 letters or digits 2-9')
    """
    if not re.fullmatch(r"[A-Z]{2}[A-Z2-9]{3}", code):
        return f"{code} is not 2 letters and 3 letters or digits 2-9"
    if code[:2] not in COUNTRIES:
        return f"{code[:2]} is not an ISO 3166 country"
    return None


# ------------------------------------------------------------------ the rules


def _manifest(doc: Document) -> CargoManifest | None:
    return doc if isinstance(doc, CargoManifest) else None


def _containers(m: CargoManifest) -> Iterator[tuple[str, str]]:
    """(path, identifier) of every piece of equipment in the manifest."""
    for i, e in enumerate(m.equipment):
        yield f"equipment[{i}]", e.identifier
    for ci, c in enumerate(m.consignments):
        for i, e in enumerate(c.equipment):
            yield f"consignments[{ci}].equipment[{i}]", e.identifier


def _check_containers(doc: Document) -> Iterator[Finding]:
    m = _manifest(doc)
    if m is None or m.conveyance.mode_of_transport not in (None, "1"):
        return  # road and rail equipment is trailers and wagons, numbered otherwise
    for path, ident in _containers(m):
        if not container_number_ok(ident):
            digit = container_check_digit(ident)
            why = (
                f"its check digit should be {digit}"
                if digit is not None and len(ident) == 11
                else "it is not 4 letters (the 4th U, J, Z or R), 6 digits and a check digit"
            )
            yield path, f"container number {ident} is not a valid ISO 6346 number: {why}"


def _check_imo(doc: Document) -> Iterator[Finding]:
    conveyance = getattr(doc, "conveyance", None)
    imo = getattr(conveyance, "imo_number", None)
    if imo and not imo_number_ok(imo):
        yield "conveyance.imo_number", f"IMO number {imo} has a wrong check digit"


def _places(doc: Document) -> Iterator[tuple[str, str]]:
    if isinstance(doc, CargoManifest):
        if doc.port_of_call:
            yield "port_of_call", doc.port_of_call
        for ci, c in enumerate(doc.consignments):
            if c.place_of_loading:
                yield f"consignments[{ci}].place_of_loading", c.place_of_loading
            if c.place_of_discharge:
                yield f"consignments[{ci}].place_of_discharge", c.place_of_discharge
    elif isinstance(doc, PassengerVehicleList):
        for name in ("port_of_departure", "port_of_call"):
            value = getattr(doc, name)
            if value and len(value) == 5:
                yield name, value


def _check_locodes(doc: Document) -> Iterator[Finding]:
    for path, code in _places(doc):
        problem = locode_problem(code)
        if problem:
            yield path, f"place {code} is not a UN/LOCODE: {problem}"


def _check_hs(doc: Document) -> Iterator[Finding]:
    m = _manifest(doc)
    if m is None:
        return
    for ci, c in enumerate(m.consignments):
        for gi, g in enumerate(c.goods_items):
            if g.hs_code is not None and not re.fullmatch(r"[0-9]{6,10}", g.hs_code):
                yield (
                    f"consignments[{ci}].goods_items[{gi}].hs_code",
                    f"HS code {g.hs_code} of goods item {g.sequence} (bill {c.transport_document}) "
                    "must have 6 to 10 digits",
                )


def _close(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= max(MASS_TOLERANCE_KG, MASS_TOLERANCE_RATIO * max(abs(a), abs(b)))


def _goods_mass(c: Consignment) -> Decimal | None:
    masses = [g.gross_mass_kg for g in c.goods_items if g.gross_mass_kg is not None]
    return sum(masses, Decimal(0)) if masses else None


def _check_masses(doc: Document) -> Iterator[Finding]:
    m = _manifest(doc)
    if m is None:
        return
    per_equipment: dict[str, Decimal] = {}
    for ci, c in enumerate(m.consignments):
        goods = _goods_mass(c)
        if goods is not None and c.gross_mass_kg is not None and not _close(goods, c.gross_mass_kg):
            yield (
                f"consignments[{ci}]",
                f"goods items of bill {c.transport_document} weigh {goods} kg, "
                f"the consignment says {c.gross_mass_kg} kg",
            )
        for g in c.goods_items:
            if g.gross_mass_kg is not None and len(g.equipment_references) == 1:
                ref = g.equipment_references[0]
                per_equipment[ref] = per_equipment.get(ref, Decimal(0)) + g.gross_mass_kg
    for path, ident in _containers(m):
        equipment = _equipment_by_path(m, path)
        if equipment.gross_mass_kg is None or ident not in per_equipment:
            continue
        if not _close(per_equipment[ident], equipment.gross_mass_kg):
            yield (
                path,
                f"goods items in {ident} weigh {per_equipment[ident]} kg, "
                f"the equipment says {equipment.gross_mass_kg} kg",
            )


def _equipment_by_path(m: CargoManifest, path: str) -> TransportEquipment:
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", path)]
    if path.startswith("equipment"):
        return m.equipment[numbers[0]]
    return m.consignments[numbers[0]].equipment[numbers[1]]


def _totals_findings(
    path: str, declared: ControlTotals, consignments: list[Consignment], equipment: int | None
) -> Iterator[Finding]:
    packages = sum(g.package_count or 0 for c in consignments for g in c.goods_items)
    if declared.packages is not None and declared.packages != packages:
        yield path, f"CNT says {declared.packages} packages, the goods items hold {packages}"
    if declared.consignments is not None and declared.consignments != len(consignments):
        yield (
            path,
            f"CNT says {declared.consignments} consignments, the message holds {len(consignments)}",
        )
    if declared.gross_mass_kg is not None:
        masses = [_goods_mass(c) for c in consignments]
        total = sum((x for x in masses if x is not None), Decimal(0))
        if not _close(total, declared.gross_mass_kg):
            yield (
                path,
                f"CNT says {declared.gross_mass_kg} kg gross, the goods items weigh {total} kg",
            )
    if declared.equipment is not None and equipment is not None and declared.equipment != equipment:
        yield (
            path,
            f"CNT says {declared.equipment} pieces of equipment, the message declares {equipment}",
        )


def _check_control_totals(doc: Document) -> Iterator[Finding]:
    m = _manifest(doc)
    if m is None:
        return
    if m.control_totals is not None:
        declared_equipment = len({ident for _path, ident in _containers(m)})
        yield from _totals_findings(
            "control_totals", m.control_totals, m.consignments, declared_equipment
        )
    for ci, c in enumerate(m.consignments):
        if c.control_totals is not None:
            yield from _totals_findings(
                f"consignments[{ci}].control_totals", c.control_totals, [c], None
            )


def _check_bl_unique(doc: Document) -> Iterator[Finding]:
    m = _manifest(doc)
    if m is None:
        return
    seen: dict[str, int] = {}
    for ci, c in enumerate(m.consignments):
        first = seen.setdefault(c.transport_document, ci)
        if first != ci:
            yield (
                f"consignments[{ci}]",
                f"bill {c.transport_document} appears in consignments {first + 1} and {ci + 1}",
            )


def _check_equipment_declared(doc: Document) -> Iterator[Finding]:
    m = _manifest(doc)
    if m is None:
        return
    declared = {ident for _path, ident in _containers(m)}
    for ci, c in enumerate(m.consignments):
        for gi, g in enumerate(c.goods_items):
            for ri, ref in enumerate(g.equipment_references):
                if ref not in declared:
                    yield (
                        f"consignments[{ci}].goods_items[{gi}].equipment_references[{ri}]",
                        f"goods item {g.sequence} of bill {c.transport_document} is in {ref}, "
                        "which no EQD declares",
                    )


def _check_times(doc: Document) -> Iterator[Finding]:
    arrival = getattr(doc, "arrival_time", None)
    departure = getattr(doc, "departure_time", None)
    if arrival is not None and departure is not None and arrival <= departure:
        yield (
            "arrival_time",
            f"arrival {arrival.isoformat()} is not after departure {departure.isoformat()}",
        )


def _check_passenger_count(doc: Document) -> Iterator[Finding]:
    """CNT+42 counts the passengers, CNT+41 the crew (UNCL 6069, as the WCO/IATA PAXLST
    guidelines use them): a crew member (NAD+FM, DDT) is not a passenger. A CNT+42 that
    counts everyone aboard, crew included, is taken too (lists written before this did)."""
    if not isinstance(doc, PassengerVehicleList):
        return
    listed = len(doc.travellers)
    crew = sum(1 for t in doc.travellers if t.role == "crew")
    passengers = listed - crew
    if doc.passenger_total is not None and doc.passenger_total not in (passengers, listed):
        also = f" and {crew} crew" if crew else ""
        yield (
            "passenger_total",
            f"CNT+42 declares {doc.passenger_total} passengers, the list has {passengers} "
            f"traveller{'s' if passengers != 1 else ''}{also}",
        )
    if doc.crew_total is not None and doc.crew_total != crew:
        yield (
            "crew_total",
            f"CNT+41 declares {doc.crew_total} crew, the list has {crew} crew "
            f"member{'s' if crew != 1 else ''}",
        )


RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        Rule(
            "CONTAINER_CHECK_DIGIT",
            "reject",
            "ISO 6346 container number and check digit",
            _check_containers,
        ),
        Rule("IMO_CHECK_DIGIT", "reject", "IMO ship number check digit", _check_imo),
        Rule("LOCODE", "reject", "UN/LOCODE form and ISO 3166 country", _check_locodes),
        Rule("HS_CODE", "reject", "HS code of 6 to 10 digits", _check_hs),
        Rule(
            "MASS_TOTALS",
            "reject",
            "goods masses add up to consignment and equipment masses",
            _check_masses,
        ),
        Rule(
            "CONTROL_TOTALS",
            "reject",
            "CNT control totals match the content",
            _check_control_totals,
        ),
        Rule("BL_UNIQUE", "reject", "a bill of lading appears once per manifest", _check_bl_unique),
        Rule(
            "EQUIPMENT_DECLARED",
            "reject",
            "every container a goods item uses (SGP) is declared (EQD)",
            _check_equipment_declared,
        ),
        Rule("ARRIVAL_AFTER_DEPARTURE", "reject", "arrival is after departure", _check_times),
        Rule(
            "PASSENGER_COUNT",
            "reject",
            "CNT+42 total passengers and CNT+41 total crew match the travellers listed",
            _check_passenger_count,
        ),
    )
}
RULE_CODES = tuple(RULES)


def check(doc: Document, severities: Mapping[str, str] | None = None) -> list[Violation]:
    """Every rule ``doc`` breaks, with the severity ``severities`` (or the default) gives it.

    Rules switched ``off`` are not run.
    """
    severities = severities or {}
    out: list[Violation] = []
    for rule in RULES.values():
        severity = severities.get(rule.code, rule.severity)
        if severity == "off":
            continue
        for path, sentence in rule.check(doc):
            out.append(
                Violation(rule.code, "warn" if severity == "warn" else "reject", path, sentence)
            )
    return out
