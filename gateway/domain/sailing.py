"""A sailing's pre-clearance list (issue #18): every vehicle on a ferry and its TPD.

``SailingClearanceList`` is what customs gets when a ferry line's passenger list (PAXLST)
arrives: each vehicle on board put in one group (``ready``: a TPD was pre-declared and agrees;
``to_see``: a TPD was found but the holder, the plate or the VIN differ, or the vehicle or its
holder is under an open TPD already; ``missing``: no TPD), exceptions first, and each
traveller's currency declaration. ``gateway.service.sailing`` builds it; :func:`to_xml` and
:func:`from_xml` map it to ``xsd/travellers-1.xsd`` without loss.

The keys below say when two spellings are the same vessel, plate or name:

>>> vessel_key("M/V Tariq Ibn Ziyad"), vessel_key("TARIQ  IBN-ZIYAD")
('TARIQ IBN ZIYAD', 'TARIQ IBN ZIYAD')
>>> plate_key("gh-123 jk"), name_key("Benaïssa"), name_key("BENAISSA")
('GH123JK', 'BENAISSA', 'BENAISSA')
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from lxml import etree

from gateway.domain.model import Header
from gateway.domain.travellers import NAMESPACE, SCHEMA_VERSION
from gateway.domain.xmlmap import Vocabulary
from gateway.domain.xmlsafe import parse

DOCUMENT_TYPE = "SailingClearanceList"
GROUPS: tuple[str, ...] = ("to_see", "missing", "ready")  # the order a list is read in
HOME_COUNTRY = "DZ"  # vehicles registered here need no temporary admission
DIRECTIONS: tuple[str, ...] = ("arrival", "departure")

_NOT_ALNUM = re.compile(r"[\W_]+")
# A ship's name may come with its type in front: M/V, MV, F/B (ferry boat), M/S, MS.
_SHIP_PREFIX = re.compile(r"^(?:M ?V|F ?B|M ?S|MT|SS) ")


def _folded(text: str) -> str:
    """Upper case, accents off (é -> E), anything but letters and digits a single space."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).upper()
    return " ".join(w for w in re.split(r"[^\w]+", plain) if w)


def vessel_key(name: str) -> str:
    """A vessel's name as the gateway compares it (the portal and the PAXLST spell it apart)."""
    return _SHIP_PREFIX.sub("", _folded(name))


def plate_key(registration: str) -> str:
    """A plate without its spaces and dashes: "GH-123-JK" and "GH 123 JK" are one plate."""
    return _NOT_ALNUM.sub("", _folded(registration))


def name_key(name: str) -> str:
    """A person's name as compared: accents, case and punctuation aside (any script)."""
    return _folded(name)


def direction_of(port_of_departure: str | None, port_of_entry: str | None) -> str:
    """Whether a sailing brings travellers in (``arrival``) or takes them out (``departure``).

    A PAXLST says it by its ports, not by a code: ``LOC+125`` (the port the ferry leaves)
    and ``LOC+87`` (the port it arrives at), UN/LOCODEs whose first two letters are the
    country. A ferry that leaves an Algerian port for a foreign one is a departure; anything
    else, a port of departure unknown included, is read as the arrival it has always been.

    >>> direction_of("DZALG", "FRMRS"), direction_of("FRMRS", "DZALG"), direction_of(None, "FRMRS")
    ('departure', 'arrival', 'arrival')
    """
    leaves_home = (port_of_departure or "").upper().startswith(HOME_COUNTRY)
    arrives_home = (port_of_entry or "").upper().startswith(HOME_COUNTRY)
    return "departure" if leaves_home and not arrives_home else "arrival"


@dataclass(frozen=True, slots=True)
class Finding:
    """Why a vehicle is to be seen (or a note on a ready one): a code and a sentence."""

    code: str
    sentence: str


@dataclass(slots=True)
class ListedVehicle:
    """One vehicle on the sailing, in its group, with the TPD it was matched to (if any)."""

    group: str  # ready, to_see, missing
    traveller_sequence: int  # the traveller's position in the passenger list
    family_name: str
    given_names: str | None = None
    document_number: str | None = None
    vin: str | None = None
    registration: str | None = None
    registration_country: str | None = None
    make: str | None = None
    model: str | None = None
    tpd_reference: str | None = None
    tpd_state: str | None = None
    findings: list[Finding] = field(default_factory=list)


@dataclass(slots=True)
class ListedDeclaration:
    """A traveller on the sailing and the currency declaration they filed for entry."""

    traveller_sequence: int
    family_name: str
    reference: str
    required: bool  # False: below the threshold, "not required"
    total_eur: Decimal
    given_names: str | None = None
    document_number: str | None = None
    exceeds_entry: bool = False


@dataclass(slots=True)
class SailingClearanceList:
    """The vehicles and declarations of one sailing, ready before the ferry docks."""

    header: Header
    vessel: str  # as the ferry line spells it
    sailing_date: dt.date
    built_at: dt.datetime
    traveller_count: int
    vessel_imo: str | None = None
    port_of_departure: str | None = None
    port_of_entry: str | None = None  # the port the ferry arrives at (abroad on a departure)
    # arrival: vehicles matched to their pre-declared TPDs, entry currency declarations;
    # departure: to their open TPDs (to discharge at exit), exit currency declarations.
    direction: str = "arrival"
    passenger_lists: list[str] = field(default_factory=list)  # PAXLST document numbers
    vehicles: list[ListedVehicle] = field(default_factory=list)
    declarations: list[ListedDeclaration] = field(default_factory=list)
    unmatched_declarations: int = 0  # filed for this sailing, nobody on the list declared them

    DOCUMENT_TYPE = DOCUMENT_TYPE

    def counts(self) -> dict[str, int]:
        """How many vehicles in each group (every group present, 0 first)."""
        out = dict.fromkeys(GROUPS, 0)
        for v in self.vehicles:
            out[v.group] += 1
        return out

    def references(self) -> list[str]:
        """What an operator searches by: the list's own reference and the passenger lists'."""
        return list(dict.fromkeys([self.header.business_reference, *self.passenger_lists]))


def list_reference(vessel: str, day: dt.date) -> str:
    """The business reference of a sailing's list: ``SCL/<vessel key>/<date>`` (70 at most).

    >>> list_reference("Tariq Ibn Ziyad", dt.date(2026, 7, 14))
    'SCL/TARIQ IBN ZIYAD/2026-07-14'
    """
    return f"SCL/{vessel_key(vessel)[:52]}/{day.isoformat()}"


# ---------------------------------------------------------------- XML

_V = Vocabulary(NAMESPACE)
_q, _add, _get, _req, _opt = _V.q, _V.add, _V.get, _V.req, _V.opt


def _bool(text: str) -> bool:
    return text.strip() in {"true", "1"}


def _traveller_xml(
    parent: etree._Element, name: str, item: ListedVehicle | ListedDeclaration, **attrs: str
) -> etree._Element:
    """A vehicle's or a declaration's element, opened with the traveller it is listed with."""
    el = etree.SubElement(parent, _q(name), attrs)
    _add(el, "TravellerSequence", item.traveller_sequence)
    _add(el, "FamilyName", item.family_name)
    _add(el, "GivenNames", item.given_names)
    _add(el, "DocumentNumber", item.document_number)
    return el


def to_xml(doc: SailingClearanceList) -> etree._Element:
    """The canonical XML of a list (unsigned); vehicles in the order they are listed."""
    root = _V.element("SailingClearanceList", schemaVersion=SCHEMA_VERSION)
    _V.header_to_xml(root, doc.header)
    sailing = etree.SubElement(root, _q("Sailing"))
    _add(sailing, "Vessel", doc.vessel)
    _add(sailing, "VesselImo", doc.vessel_imo)
    _add(sailing, "Date", doc.sailing_date)
    _add(sailing, "PortOfDeparture", doc.port_of_departure)
    _add(sailing, "PortOfEntry", doc.port_of_entry)
    _add(sailing, "Direction", doc.direction)
    for number in doc.passenger_lists:
        _add(root, "PassengerListReference", number)
    _add(root, "BuiltAt", doc.built_at)
    counts = doc.counts()
    totals = etree.SubElement(root, _q("Totals"))
    _add(totals, "Travellers", doc.traveller_count)
    _add(totals, "ToSee", counts["to_see"])
    _add(totals, "Missing", counts["missing"])
    _add(totals, "Ready", counts["ready"])
    _add(totals, "UnmatchedDeclarations", doc.unmatched_declarations)
    for v in doc.vehicles:
        el = _traveller_xml(root, "Vehicle", v, group=v.group)
        _add(el, "Vin", v.vin)
        if v.registration is not None:
            attrs = {"country": v.registration_country} if v.registration_country else {}
            _add(el, "Registration", v.registration, **attrs)
        _add(el, "Make", v.make)
        _add(el, "Model", v.model)
        if v.tpd_reference is not None:
            _add(el, "Tpd", v.tpd_reference, state=v.tpd_state or "requested")
        for f in v.findings:
            _add(el, "Finding", f.sentence, code=f.code)
    for d in doc.declarations:
        el = _traveller_xml(root, "Declaration", d)
        _add(el, "Reference", d.reference)
        _add(el, "Required", d.required)
        _add(el, "TotalEur", d.total_eur)
        _add(el, "ExceedsEntry", d.exceeds_entry)
    return root


def _vehicle(el: etree._Element) -> ListedVehicle:
    reg = _V.find(el, "Registration")
    tpd = _V.find(el, "Tpd")
    return ListedVehicle(
        group=el.get("group", ""),
        traveller_sequence=int(_req(el, "TravellerSequence")),
        family_name=_req(el, "FamilyName"),
        given_names=_get(el, "GivenNames"),
        document_number=_get(el, "DocumentNumber"),
        vin=_get(el, "Vin"),
        registration=None if reg is None else (reg.text or ""),
        registration_country=None if reg is None else reg.get("country"),
        make=_get(el, "Make"),
        model=_get(el, "Model"),
        tpd_reference=None if tpd is None else (tpd.text or ""),
        tpd_state=None if tpd is None else tpd.get("state"),
        findings=[Finding(f.get("code", ""), f.text or "") for f in el.findall(_q("Finding"))],
    )


def _declaration(el: etree._Element) -> ListedDeclaration:
    return ListedDeclaration(
        traveller_sequence=int(_req(el, "TravellerSequence")),
        family_name=_req(el, "FamilyName"),
        given_names=_get(el, "GivenNames"),
        document_number=_get(el, "DocumentNumber"),
        reference=_req(el, "Reference"),
        required=_bool(_req(el, "Required")),
        total_eur=Decimal(_req(el, "TotalEur")),
        exceeds_entry=_bool(_req(el, "ExceedsEntry")),
    )


def from_xml(source: bytes | etree._Element) -> SailingClearanceList:
    """Read a list back (a signature, if present, is ignored)."""
    root = parse(source) if isinstance(source, bytes) else source
    if root.tag != _q("SailingClearanceList"):
        raise ValueError(f"{root.tag} is not a SailingClearanceList")
    header, sailing, totals = (_V.find(root, n) for n in ("Header", "Sailing", "Totals"))
    if header is None or sailing is None or totals is None:
        raise ValueError("a SailingClearanceList has a Header, a Sailing and Totals")
    return SailingClearanceList(
        header=_V.header_from_xml(header),
        vessel=_req(sailing, "Vessel"),
        vessel_imo=_get(sailing, "VesselImo"),
        sailing_date=dt.date.fromisoformat(_req(sailing, "Date")),
        port_of_departure=_get(sailing, "PortOfDeparture"),
        port_of_entry=_get(sailing, "PortOfEntry"),
        direction=_get(sailing, "Direction") or "arrival",  # lists of before it: arrivals
        passenger_lists=_V.get_all(root, "PassengerListReference"),
        built_at=dt.datetime.fromisoformat(_req(root, "BuiltAt")),
        traveller_count=int(_req(totals, "Travellers")),
        unmatched_declarations=int(_req(totals, "UnmatchedDeclarations")),
        vehicles=[_vehicle(e) for e in root.findall(_q("Vehicle"))],
        declarations=[_declaration(e) for e in root.findall(_q("Declaration"))],
    )


def _register() -> None:
    """Plug the list into ``gateway.domain.canonical_xml`` (done once, at import)."""
    from gateway.domain import canonical_xml

    canonical_xml.register(SailingClearanceList, DOCUMENT_TYPE, to_xml, from_xml, NAMESPACE)


_register()
