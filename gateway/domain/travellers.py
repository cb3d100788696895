"""Travellers' canonical documents (issue #18): vehicle temporary admission and currency declaration.

``VehicleTemporaryAdmission`` is a TPD request (titre de passage en douane: the temporary
admission of a traveller's own vehicle); ``CurrencyDeclaration`` what a traveller declares
carrying in or out. ``adapters.eservices`` builds them from the customs portal's JSON;
:func:`to_xml` and :func:`from_xml` map them to ``xsd/travellers-1.xsd`` without loss, and
both are registered with ``gateway.domain.canonical_xml``.

>>> import datetime as dt
>>> from decimal import Decimal
>>> from gateway.domain.model import Header
>>> doc = CurrencyDeclaration(
...     Header.new(sender="eservices", document_type="CurrencyDeclaration", business_reference="CD-1"),
...     reference="CD-1", submitted_at=dt.datetime(2026, 7, 1, 9, tzinfo=dt.timezone.utc),
...     declarant=Person("Amel", "Haddad", dt.date(1990, 1, 2), "DZ",
...                      IdentityDocument("passport", "P1", "DZ"), "resident"),
...     direction="entry", amounts=[DeclaredAmount("EUR", Decimal("1500.00"), "cash")])
>>> from_xml(to_xml(doc)) == doc
True
>>> doc.references()
['CD-1', 'P1']
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lxml import etree

from gateway.domain.model import Header
from gateway.domain.xmlmap import Vocabulary
from gateway.domain.xmlsafe import parse

NAMESPACE = "urn:port-edi-gateway:travellers:1"
SCHEMA_VERSION = "1.0"
SCHEMA_FILE = "travellers-1.xsd"


@dataclass(slots=True)
class IdentityDocument:
    type: str  # passport, national_id, consular_card, residence_permit, other
    number: str
    issuing_country: str
    expiry_date: dt.date | None = None


@dataclass(slots=True)
class Person:
    given_names: str
    family_name: str
    birth_date: dt.date
    nationality: str
    document: IdentityDocument
    residence_status: str | None = None  # the traveller and the declarant have one
    country_of_residence: str | None = None


@dataclass(slots=True)
class Money:
    amount: Decimal
    currency: str


@dataclass(slots=True)
class Vehicle:
    vin: str
    registration: str
    registration_country: str
    make: str
    model: str
    year: int
    engine_capacity_cc: int | None = None
    value: Money | None = None


@dataclass(slots=True)
class Sailing:
    operator: str
    vessel: str
    date: dt.date
    port_of_entry: str
    port_of_departure: str | None = None
    vessel_imo: str | None = None


@dataclass(slots=True)
class VehicleTemporaryAdmission:
    """A traveller's request for the temporary admission of their vehicle (a TPD)."""

    header: Header
    reference: str
    submitted_at: dt.datetime
    traveller: Person
    vehicle: Vehicle
    sailing: Sailing
    co_travellers: list[Person] = field(default_factory=list)

    DOCUMENT_TYPE = "VehicleTemporaryAdmission"

    def references(self) -> list[str]:
        """What an operator searches by: the portal's reference, the VIN, the plate."""
        plate = f"{self.vehicle.registration_country}/{self.vehicle.registration}"
        return list(dict.fromkeys([self.reference, self.vehicle.vin, plate]))


@dataclass(slots=True)
class DeclaredAmount:
    currency: str  # ISO 4217
    amount: Decimal
    form: str  # cash, cheques, travellers_cheques, bank_card, precious_metals, other


@dataclass(slots=True)
class Itinerary:
    from_country: str
    to_country: str
    transit_countries: list[str] = field(default_factory=list)
    sailing: Sailing | None = None


@dataclass(slots=True)
class Assessment:
    """The currency rules' verdict, added by the gateway (not by the traveller)."""

    total_eur: Decimal
    threshold_eur: Decimal
    required: bool
    rates_from: dt.date
    exceeds_entry: bool = False


@dataclass(slots=True)
class CurrencyDeclaration:
    """Currency a traveller carries in (entry) or out (exit)."""

    header: Header
    reference: str
    submitted_at: dt.datetime
    declarant: Person
    direction: str  # entry, exit
    amounts: list[DeclaredAmount]
    origin_of_funds: str | None = None
    intended_use: str | None = None
    itinerary: Itinerary | None = None
    entry_declaration_reference: str | None = None
    assessment: Assessment | None = None

    DOCUMENT_TYPE = "CurrencyDeclaration"

    def references(self) -> list[str]:
        refs = [self.reference, self.declarant.document.number]
        if self.entry_declaration_reference:
            refs.append(self.entry_declaration_reference)
        return list(dict.fromkeys(refs))


# ---------------------------------------------------------------- writing

_V = Vocabulary(NAMESPACE)
_q, _add, _get, _req, _opt = _V.q, _V.add, _V.get, _V.req, _V.opt


def _sub(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, _q(name))


def _person_xml(parent: etree._Element, name: str, p: Person) -> None:
    el = _sub(parent, name)
    _add(el, "GivenNames", p.given_names)
    _add(el, "FamilyName", p.family_name)
    _add(el, "BirthDate", p.birth_date)
    _add(el, "Nationality", p.nationality)
    _add(el, "ResidenceStatus", p.residence_status)
    _add(el, "CountryOfResidence", p.country_of_residence)
    d = _sub(el, "Document")
    _add(d, "Type", p.document.type)
    _add(d, "Number", p.document.number)
    _add(d, "IssuingCountry", p.document.issuing_country)
    _add(d, "ExpiryDate", p.document.expiry_date)


def _sailing_xml(parent: etree._Element, s: Sailing) -> None:
    el = _sub(parent, "Sailing")
    _add(el, "Operator", s.operator)
    _add(el, "Vessel", s.vessel)
    _add(el, "VesselImo", s.vessel_imo)
    _add(el, "Date", s.date)
    _add(el, "PortOfDeparture", s.port_of_departure)
    _add(el, "PortOfEntry", s.port_of_entry)


def _root(name: str, header: Header) -> etree._Element:
    root = _V.element(name, schemaVersion=SCHEMA_VERSION)
    _V.header_to_xml(root, header)
    return root


def admission_to_xml(doc: VehicleTemporaryAdmission) -> etree._Element:
    root = _root("VehicleTemporaryAdmission", doc.header)
    _add(root, "Reference", doc.reference)
    _add(root, "SubmittedAt", doc.submitted_at)
    _person_xml(root, "Traveller", doc.traveller)
    v = _sub(root, "Vehicle")
    _add(v, "Vin", doc.vehicle.vin)
    _add(v, "Registration", doc.vehicle.registration, country=doc.vehicle.registration_country)
    _add(v, "Make", doc.vehicle.make)
    _add(v, "Model", doc.vehicle.model)
    _add(v, "Year", doc.vehicle.year)
    _add(v, "EngineCapacityCc", doc.vehicle.engine_capacity_cc)
    if doc.vehicle.value is not None:
        _add(v, "Value", doc.vehicle.value.amount, currency=doc.vehicle.value.currency)
    _sailing_xml(root, doc.sailing)
    for p in doc.co_travellers:
        _person_xml(root, "CoTraveller", p)
    return root


def declaration_to_xml(doc: CurrencyDeclaration) -> etree._Element:
    root = _root("CurrencyDeclaration", doc.header)
    _add(root, "Reference", doc.reference)
    _add(root, "SubmittedAt", doc.submitted_at)
    _person_xml(root, "Declarant", doc.declarant)
    _add(root, "Direction", doc.direction)
    _add(root, "EntryDeclarationReference", doc.entry_declaration_reference)
    for a in doc.amounts:
        _add(root, "Amount", a.amount, currency=a.currency, form=a.form)
    _add(root, "OriginOfFunds", doc.origin_of_funds)
    _add(root, "IntendedUse", doc.intended_use)
    if doc.itinerary is not None:
        it = _sub(root, "Itinerary")
        _add(it, "FromCountry", doc.itinerary.from_country)
        _add(it, "ToCountry", doc.itinerary.to_country)
        for country in doc.itinerary.transit_countries:
            _add(it, "TransitCountry", country)
        if doc.itinerary.sailing is not None:
            _sailing_xml(it, doc.itinerary.sailing)
    if doc.assessment is not None:
        verdict = _sub(root, "Assessment")
        _add(verdict, "TotalEur", doc.assessment.total_eur)
        _add(verdict, "ThresholdEur", doc.assessment.threshold_eur)
        _add(verdict, "Required", doc.assessment.required)
        _add(verdict, "RatesFrom", doc.assessment.rates_from)
        _add(verdict, "ExceedsEntry", doc.assessment.exceeds_entry)
    return root


# ---------------------------------------------------------------- reading


def _child(el: etree._Element, name: str) -> etree._Element:
    found = el.find(_q(name))
    if found is None:
        raise ValueError(f"{etree.QName(el).localname} has no {name}")
    return found


def _bool(text: str) -> bool:
    return text.strip() in {"true", "1"}


def _person(el: etree._Element) -> Person:
    d = _child(el, "Document")
    return Person(
        given_names=_req(el, "GivenNames"),
        family_name=_req(el, "FamilyName"),
        birth_date=dt.date.fromisoformat(_req(el, "BirthDate")),
        nationality=_req(el, "Nationality"),
        residence_status=_get(el, "ResidenceStatus"),
        country_of_residence=_get(el, "CountryOfResidence"),
        document=IdentityDocument(
            type=_req(d, "Type"),
            number=_req(d, "Number"),
            issuing_country=_req(d, "IssuingCountry"),
            expiry_date=_opt(d, "ExpiryDate", dt.date.fromisoformat),
        ),
    )


def _sailing(el: etree._Element) -> Sailing:
    return Sailing(
        operator=_req(el, "Operator"),
        vessel=_req(el, "Vessel"),
        vessel_imo=_get(el, "VesselImo"),
        date=dt.date.fromisoformat(_req(el, "Date")),
        port_of_departure=_get(el, "PortOfDeparture"),
        port_of_entry=_req(el, "PortOfEntry"),
    )


def admission_from_xml(root: etree._Element) -> VehicleTemporaryAdmission:
    v = _child(root, "Vehicle")
    reg = _child(v, "Registration")
    value = v.find(_q("Value"))
    return VehicleTemporaryAdmission(
        header=_V.header_from_xml(_child(root, "Header")),
        reference=_req(root, "Reference"),
        submitted_at=dt.datetime.fromisoformat(_req(root, "SubmittedAt")),
        traveller=_person(_child(root, "Traveller")),
        vehicle=Vehicle(
            vin=_req(v, "Vin"),
            registration=reg.text or "",
            registration_country=reg.get("country", ""),
            make=_req(v, "Make"),
            model=_req(v, "Model"),
            year=int(_req(v, "Year")),
            engine_capacity_cc=_opt(v, "EngineCapacityCc", int),
            value=None
            if value is None
            else Money(Decimal(value.text or "0"), value.get("currency", "")),
        ),
        sailing=_sailing(_child(root, "Sailing")),
        co_travellers=[_person(p) for p in root.findall(_q("CoTraveller"))],
    )


def declaration_from_xml(root: etree._Element) -> CurrencyDeclaration:
    itinerary = None
    it = root.find(_q("Itinerary"))
    if it is not None:
        sailing = it.find(_q("Sailing"))
        itinerary = Itinerary(
            from_country=_req(it, "FromCountry"),
            to_country=_req(it, "ToCountry"),
            transit_countries=_V.get_all(it, "TransitCountry"),
            sailing=None if sailing is None else _sailing(sailing),
        )
    assessment = None
    a = root.find(_q("Assessment"))
    if a is not None:
        assessment = Assessment(
            total_eur=Decimal(_req(a, "TotalEur")),
            threshold_eur=Decimal(_req(a, "ThresholdEur")),
            required=_bool(_req(a, "Required")),
            rates_from=dt.date.fromisoformat(_req(a, "RatesFrom")),
            exceeds_entry=_bool(_req(a, "ExceedsEntry")),
        )
    return CurrencyDeclaration(
        header=_V.header_from_xml(_child(root, "Header")),
        reference=_req(root, "Reference"),
        submitted_at=dt.datetime.fromisoformat(_req(root, "SubmittedAt")),
        declarant=_person(_child(root, "Declarant")),
        direction=_req(root, "Direction"),
        entry_declaration_reference=_get(root, "EntryDeclarationReference"),
        amounts=[
            DeclaredAmount(e.get("currency", ""), Decimal(e.text or "0"), e.get("form", ""))
            for e in root.findall(_q("Amount"))
        ],
        origin_of_funds=_get(root, "OriginOfFunds"),
        intended_use=_get(root, "IntendedUse"),
        itinerary=itinerary,
        assessment=assessment,
    )


def to_xml(doc: VehicleTemporaryAdmission | CurrencyDeclaration) -> etree._Element:
    """The canonical XML element for ``doc`` (unsigned)."""
    if isinstance(doc, VehicleTemporaryAdmission):
        return admission_to_xml(doc)
    return declaration_to_xml(doc)


_READERS: dict[str, Any] = {
    _q("VehicleTemporaryAdmission"): admission_from_xml,
    _q("CurrencyDeclaration"): declaration_from_xml,
}


def from_xml(source: bytes | etree._Element) -> VehicleTemporaryAdmission | CurrencyDeclaration:
    """Read a canonical travellers' document back (a signature, if present, is ignored)."""
    root = parse(source) if isinstance(source, bytes) else source
    reader = _READERS.get(root.tag)
    if reader is None:
        raise ValueError(f"{root.tag} is not a canonical travellers' document")
    doc: VehicleTemporaryAdmission | CurrencyDeclaration = reader(root)
    return doc


def _register() -> None:
    """Plug both documents into ``gateway.domain.canonical_xml`` (done once, at import)."""
    from gateway.domain import canonical_xml

    canonical_xml.register(
        VehicleTemporaryAdmission,
        "VehicleTemporaryAdmission",
        admission_to_xml,
        admission_from_xml,
        NAMESPACE,
    )
    canonical_xml.register(
        CurrencyDeclaration,
        "CurrencyDeclaration",
        declaration_to_xml,
        declaration_from_xml,
        NAMESPACE,
    )


_register()


# ---------------------------------------------------------------- the border posts' events


@dataclass(frozen=True, slots=True)
class BorderEvent:
    """What a customs post records for a vehicle under a TPD (not a canonical document: it
    moves the TPD's state in the journal)."""

    event: str  # entry, exit, extension
    place: str  # UN/LOCODE of the port
    time: dt.datetime
    officer: str  # a service number, never a name
    tpd: str | None = None
    vin: str | None = None
    post: str | None = None
    extended_until: dt.date | None = None
