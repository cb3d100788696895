"""The passenger and vehicle list (``PassengerVehicleList``) to and from canonical XML.

Plugged into ``canonical_xml.to_xml``/``from_xml`` by that module's tables.
"""

from __future__ import annotations

from typing import Any, cast

from lxml import etree

from gateway.domain.model import (
    SCHEMA_VERSION,
    Employment,
    PassengerVehicleList,
    TravelDocument,
    Traveller,
    Vehicle,
)
from gateway.domain.xml_parts import (
    NSMAP,
    VOCABULARY,
    address_from_xml,
    address_out,
    attrs,
    conveyance_from_xml,
    conveyance_out,
    identifier_from_xml,
    identifier_out,
    parse_date,
    parse_datetime,
    party_from_xml,
    party_out,
    references_from_xml,
    required_header,
)
from gateway.domain.xmlmap import TreeOut, XmlOut, not_mapped_out

_q = VOCABULARY.q
_header_xml = VOCABULARY.header_to_xml
_find = VOCABULARY.find
_str = VOCABULARY.get
_req = VOCABULARY.req
_opt = VOCABULARY.opt


def _traveller_out(out: XmlOut, t: Traveller) -> None:
    out.start("Traveller", attrs(role=t.role, code=t.role_code))
    out.leaf("Sequence", t.sequence)
    identifier_out(out, t.identifier, t.identifier_scheme, t.identifier_scheme_agency)
    out.leaf("FamilyName", t.family_name)
    out.leaf("GivenNames", t.given_names)
    out.leaf("Gender", t.gender)
    out.leaf("BirthDate", t.birth_date)
    out.leaf("BirthPlace", t.birth_place)
    out.leaf("Nationality", t.nationality)
    address_out(out, t.address)
    for e in t.employment:
        out.start("Employment", {"qualifier": e.qualifier})
        out.leaf("Category", e.category)
        out.leaf("Occupation", e.occupation)
        out.leaf("OccupationText", e.occupation_text)
        out.leaf("Qualification", e.qualification)
        out.leaf("JobTitle", e.job_title)
        out.leaf("Applicability", e.applicability)
        out.end()
    for d in t.documents:
        out.start("TravelDocument")
        out.leaf("Kind", d.kind)
        out.leaf("Number", d.number)
        out.leaf("IssuingCountry", d.issuing_country)
        out.leaf("ExpiryDate", d.expiry_date)
        out.end()
    out.leaf("PlaceOfEmbarkation", t.place_of_embarkation)
    out.leaf("PlaceOfDisembarkation", t.place_of_disembarkation)
    if t.vehicle is not None:
        out.start("Vehicle")
        out.leaf("RegistrationNumber", t.vehicle.registration_number)
        out.leaf("RegistrationCountry", t.vehicle.registration_country)
        out.leaf("Vin", t.vehicle.vin)
        out.leaf("Make", t.vehicle.make)
        out.leaf("Model", t.vehicle.model)
        out.end()
    for r in t.references:
        out.leaf("Reference", r.number, {"qualifier": r.qualifier})
    out.end()


def passenger_list_to_xml(p: PassengerVehicleList) -> etree._Element:
    root = etree.Element(_q("PassengerVehicleList"), nsmap=NSMAP, schemaVersion=SCHEMA_VERSION)
    _header_xml(root, p.header)
    out = TreeOut(VOCABULARY, root)
    out.leaf("DocumentNumber", p.document_number)
    for r in p.document_references:
        out.leaf("Reference", r.number, {"qualifier": r.qualifier})
    for party in p.parties:
        party_out(out, party)
    conveyance_out(out, p.conveyance)
    out.leaf("PortOfDeparture", p.port_of_departure)
    out.leaf("PortOfCall", p.port_of_call)
    out.leaf("DepartureTime", p.departure_time)
    out.leaf("ArrivalTime", p.arrival_time)
    for t in p.travellers:
        _traveller_out(out, t)
    out.leaf("PassengerTotal", p.passenger_total)
    out.leaf("CrewTotal", p.crew_total)
    not_mapped_out(out, p.not_mapped)
    return root


def passenger_list_from_xml(root: etree._Element) -> PassengerVehicleList:
    cv = _find(root, "Conveyance")
    if cv is None:
        raise ValueError("PassengerVehicleList needs a Conveyance")
    travellers = []
    for te in root.findall(_q("Traveller")):
        ve = _find(te, "Vehicle")
        vehicle = None
        if ve is not None:
            vehicle = Vehicle(
                registration_number=_str(ve, "RegistrationNumber"),
                registration_country=_str(ve, "RegistrationCountry"),
                vin=_str(ve, "Vin"),
                make=_str(ve, "Make"),
                model=_str(ve, "Model"),
            )
        identifier, scheme, agency = identifier_from_xml(te)
        travellers.append(
            Traveller(
                sequence=int(_req(te, "Sequence")),
                role=cast(Any, te.get("role")),
                family_name=_req(te, "FamilyName"),
                given_names=_str(te, "GivenNames"),
                gender=_str(te, "Gender"),
                birth_date=_opt(te, "BirthDate", parse_date),
                birth_place=_str(te, "BirthPlace"),
                nationality=_str(te, "Nationality"),
                documents=[
                    TravelDocument(
                        kind=_req(de, "Kind"),
                        number=_req(de, "Number"),
                        issuing_country=_str(de, "IssuingCountry"),
                        expiry_date=_opt(de, "ExpiryDate", parse_date),
                    )
                    for de in te.findall(_q("TravelDocument"))
                ],
                place_of_embarkation=_str(te, "PlaceOfEmbarkation"),
                place_of_disembarkation=_str(te, "PlaceOfDisembarkation"),
                vehicle=vehicle,
                role_code=te.get("code"),
                identifier=identifier,
                identifier_scheme=scheme,
                identifier_scheme_agency=agency,
                address=address_from_xml(te),
                employment=tuple(
                    Employment(
                        qualifier=ee.get("qualifier") or "",
                        category=_str(ee, "Category"),
                        occupation=_str(ee, "Occupation"),
                        occupation_text=_str(ee, "OccupationText"),
                        qualification=_str(ee, "Qualification"),
                        job_title=_str(ee, "JobTitle"),
                        applicability=_str(ee, "Applicability"),
                    )
                    for ee in te.findall(_q("Employment"))
                ),
                references=tuple(references_from_xml(te)),
            )
        )
    return PassengerVehicleList(
        header=required_header(root),
        document_number=_req(root, "DocumentNumber"),
        conveyance=conveyance_from_xml(cv),
        port_of_departure=_str(root, "PortOfDeparture"),
        port_of_call=_str(root, "PortOfCall"),
        departure_time=_opt(root, "DepartureTime", parse_datetime),
        arrival_time=_opt(root, "ArrivalTime", parse_datetime),
        travellers=travellers,
        document_references=references_from_xml(root),
        parties=[party_from_xml(p) for p in root.findall(_q("Party"))],
        passenger_total=_opt(root, "PassengerTotal", int),
        crew_total=_opt(root, "CrewTotal", int),
        not_mapped=VOCABULARY.not_mapped_from_xml(root),
    )
