"""Canonical documents to and from XML (``xsd/customs-1.xsd``).

``to_xml`` and ``from_xml`` round-trip: ``from_xml(to_xml(doc)) == doc``.

>>> from gateway.domain.model import Header, CargoManifest
>>> doc = CargoManifest(Header.new(sender="apcs", document_type="CargoManifest",
...                                business_reference="M1"), document_number="M1")
>>> from_xml(to_xml(doc)) == doc
True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

from lxml import etree

from gateway.domain.model import (
    NAMESPACE,
    SCHEMA_VERSION,
    Acknowledgement,
    Address,
    CanonicalDocument,
    CargoManifest,
    Communication,
    Consignment,
    Contact,
    ControlTotals,
    Conveyance,
    CustomsResponse,
    DangerousGoods,
    Document,
    DocumentReference,
    Employment,
    GoodsItem,
    Header,
    Party,
    PassengerVehicleList,
    Pointer,
    ResponseError,
    Seal,
    TransportEquipment,
    TravelDocument,
    Traveller,
    Vehicle,
)
from gateway.domain.xmlmap import TreeOut, Vocabulary, XmlOut, header_out
from gateway.domain.xmlsafe import parse

NS = f"{{{NAMESPACE}}}"
NSMAP: Any = {None: NAMESPACE}  # lxml-stubs do not allow the default-namespace key None


_VOCABULARY = Vocabulary(NAMESPACE)
_q = _VOCABULARY.q
_add = _VOCABULARY.add
_header_xml = _VOCABULARY.header_to_xml


def _attrs(**values: str | int | None) -> dict[str, str] | None:
    """The XML attributes of the values that are set (None when none is)."""
    attrs = {name: str(value) for name, value in values.items() if value is not None}
    return attrs or None


def _address_out(out: XmlOut, address: Address | None) -> None:
    if address is None:
        return
    out.start("Address")
    for line in address.lines:
        out.leaf("Line", line)
    out.leaf("City", address.city)
    out.leaf("Subdivision", address.subdivision)
    out.leaf("PostalCode", address.postal_code)
    out.leaf("Country", address.country)
    out.end()


def _identifier_out(out: XmlOut, value: str | None, scheme: str | None, agency: str | None) -> None:
    out.leaf("Identifier", value, _attrs(schemeId=scheme, schemeAgencyId=agency))


def _party_out(out: XmlOut, p: Party) -> None:
    out.start("Party", _attrs(role=p.role, code=p.code))
    _identifier_out(out, p.identifier, p.identifier_scheme, p.identifier_scheme_agency)
    out.leaf("TaxId", p.tax_id)
    out.leaf("Name", p.name)
    _address_out(out, p.address)
    if p.to_order:
        out.leaf("ToOrder", True)
    for contact in p.contacts:
        out.start("Contact", _attrs(function=contact.function))
        out.leaf("Department", contact.department)
        out.leaf("Name", contact.name)
        for com in contact.communications:
            out.leaf("Communication", com.number, _attrs(channel=com.channel))
        out.end()
    out.end()


def _equipment_out(out: XmlOut, e: TransportEquipment) -> None:
    out.start("TransportEquipment")
    out.leaf("Identifier", e.identifier)
    out.leaf("SizeType", e.size_type)
    for seal in e.seals:
        out.leaf("Seal", seal.number, _attrs(issuer=seal.issuer, issuerName=seal.issuer_name))
    out.leaf("Fullness", e.fullness)
    out.leaf("GrossMassKg", e.gross_mass_kg)
    out.leaf("TareMassKg", e.tare_mass_kg)
    out.leaf("VerifiedGrossMassKg", e.verified_gross_mass_kg)
    out.leaf("Temperature", e.temperature, _attrs(unit=e.temperature_unit))
    out.end()


def _goods_out(out: XmlOut, g: GoodsItem) -> None:
    out.start("GoodsItem")
    out.leaf("Sequence", g.sequence)
    out.leaf("HsCode", g.hs_code)
    out.leaf("Description", g.description)
    for mark in g.marks:
        out.leaf("Marks", mark)
    out.leaf("PackageCount", g.package_count)
    out.leaf("PackageType", g.package_type)
    out.leaf("GrossMassKg", g.gross_mass_kg)
    out.leaf("NetMassKg", g.net_mass_kg)
    out.leaf("UnitGrossMassKg", g.unit_gross_mass_kg)
    out.leaf("UnitNetMassKg", g.unit_net_mass_kg)
    out.leaf("VolumeM3", g.volume_m3)
    for dg in g.dangerous_goods:
        out.start("DangerousGoods", _attrs(regulation=dg.regulation))
        out.leaf("UnNumber", dg.un_number)
        out.leaf("Class", dg.hazard_class)
        out.leaf("PackingGroup", dg.packing_group)
        out.leaf("Flashpoint", dg.flashpoint, _attrs(unit=dg.flashpoint_unit))
        out.leaf("EmS", dg.ems)
        out.end()
    counts = g.packages_per_equipment
    for i, ref in enumerate(g.equipment_references):
        packages = counts[i] if i < len(counts) else None
        out.leaf("EquipmentReference", ref, _attrs(packages=packages))
    out.end()


def manifest_head_out(out: XmlOut, m: CargoManifest) -> None:
    """Everything of the manifest's XML before its first Consignment (root not included)."""
    header_out(out, m.header)
    out.leaf("DocumentNumber", m.document_number)
    _conveyance_out(out, m.conveyance)
    out.leaf("PortOfCall", m.port_of_call)
    out.leaf("CustomsOffice", m.customs_office)
    out.leaf("ArrivalTime", m.arrival_time)
    out.leaf("ActualArrivalTime", m.actual_arrival_time)
    out.leaf("DepartureTime", m.departure_time)
    for p in m.parties:
        _party_out(out, p)
    for e in m.equipment:
        _equipment_out(out, e)


def consignment_out(out: XmlOut, c: Consignment) -> None:
    """One Consignment element of a manifest."""
    out.start("Consignment")
    out.leaf("Sequence", c.sequence)
    out.leaf("TransportDocument", c.transport_document, {"kind": c.transport_document_kind})
    out.leaf("MasterReference", c.master_reference)
    out.leaf("MasterSequenceNumber", c.master_sequence_number)
    out.leaf("HouseSequenceNumber", c.house_sequence_number)
    if c.consolidated:
        out.leaf("Consolidated", True)
    out.leaf("PlaceOfReceipt", c.place_of_receipt)
    out.leaf("PlaceOfOriginalLoading", c.place_of_original_loading)
    out.leaf("PlaceOfLoading", c.place_of_loading)
    for place in c.places_of_transhipment:
        out.leaf("PlaceOfTranshipment", place)
    out.leaf("PlaceOfDischarge", c.place_of_discharge)
    out.leaf("PlaceOfDelivery", c.place_of_delivery)
    out.leaf("PlaceOfDestination", c.place_of_destination)
    for p in c.parties:
        _party_out(out, p)
    for g in c.goods_items:
        _goods_out(out, g)
    for e in c.equipment:
        _equipment_out(out, e)
    out.leaf("GrossMassKg", c.gross_mass_kg)
    totals_out(out, c.control_totals)
    out.end()


def manifest_root(m: CargoManifest) -> etree._Element:
    """The manifest's root element alone: its tag, namespaces and attributes."""
    return etree.Element(_q("CargoManifest"), nsmap=NSMAP, schemaVersion=SCHEMA_VERSION)


def manifest_to_xml(m: CargoManifest) -> etree._Element:
    root = manifest_root(m)
    out = TreeOut(_VOCABULARY, root)
    manifest_head_out(out, m)
    for c in m.consignments:
        consignment_out(out, c)
    totals_out(out, m.control_totals)
    return root


def totals_out(out: XmlOut, totals: ControlTotals | None) -> None:
    if totals is None:
        return
    out.start("ControlTotals")
    out.leaf("Consignments", totals.consignments)
    out.leaf("Packages", totals.packages)
    out.leaf("GrossMassKg", totals.gross_mass_kg)
    out.leaf("Equipment", totals.equipment)
    out.end()


def _conveyance_out(out: XmlOut, c: Conveyance) -> None:
    out.start("Conveyance")
    out.leaf("ImoNumber", c.imo_number)
    out.leaf("Name", c.name)
    out.leaf("CallSign", c.call_sign)
    out.leaf("Nationality", c.nationality)
    out.leaf("VoyageNumber", c.voyage_number)
    out.leaf("Carrier", c.carrier)
    out.leaf("ModeOfTransport", c.mode_of_transport)
    out.end()


def _traveller_out(out: XmlOut, t: Traveller) -> None:
    out.start("Traveller", _attrs(role=t.role, code=t.role_code))
    out.leaf("Sequence", t.sequence)
    _identifier_out(out, t.identifier, t.identifier_scheme, t.identifier_scheme_agency)
    out.leaf("FamilyName", t.family_name)
    out.leaf("GivenNames", t.given_names)
    out.leaf("Gender", t.gender)
    out.leaf("BirthDate", t.birth_date)
    out.leaf("BirthPlace", t.birth_place)
    out.leaf("Nationality", t.nationality)
    _address_out(out, t.address)
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
    out = TreeOut(_VOCABULARY, root)
    out.leaf("DocumentNumber", p.document_number)
    for r in p.document_references:
        out.leaf("Reference", r.number, {"qualifier": r.qualifier})
    for party in p.parties:
        _party_out(out, party)
    _conveyance_out(out, p.conveyance)
    out.leaf("PortOfDeparture", p.port_of_departure)
    out.leaf("PortOfCall", p.port_of_call)
    out.leaf("DepartureTime", p.departure_time)
    out.leaf("ArrivalTime", p.arrival_time)
    for t in p.travellers:
        _traveller_out(out, t)
    out.leaf("PassengerTotal", p.passenger_total)
    out.leaf("CrewTotal", p.crew_total)
    return root


def _errors_xml(parent: etree._Element, errors: list[ResponseError]) -> None:
    for e in errors:
        ee = etree.SubElement(parent, _q("Error"))
        _add(ee, "Code", e.code)
        _add(ee, "Description", e.description)
        if e.pointer is not None:
            pe = etree.SubElement(ee, _q("Pointer"))
            _add(pe, "Location", e.pointer.location)
            _add(pe, "Segment", e.pointer.segment)
            _add(pe, "Tag", e.pointer.tag)
            _add(pe, "Element", e.pointer.element)
            _add(pe, "Component", e.pointer.component)


def response_to_xml(r: CustomsResponse) -> etree._Element:
    root = etree.Element(_q("CustomsResponse"), nsmap=NSMAP, schemaVersion=SCHEMA_VERSION)
    _header_xml(root, r.header)
    _add(root, "RegistrationNumber", r.registration_number)
    _add(root, "Decision", r.decision)
    _add(root, "InspectionChannel", r.channel)
    _add(root, "OriginalMessageId", r.original_message_id)
    _add(root, "OriginalReference", r.original_reference)
    _add(root, "IssuedAt", r.issued_at)
    _errors_xml(root, r.errors)
    return root


def acknowledgement_to_xml(a: Acknowledgement) -> etree._Element:
    root = etree.Element(_q("Acknowledgement"), nsmap=NSMAP, schemaVersion=SCHEMA_VERSION)
    _header_xml(root, a.header)
    _add(root, "AcknowledgedMessageId", a.acknowledged_message_id)
    _add(root, "Status", a.status)
    _add(root, "AcknowledgementType", a.acknowledgement_type)
    _errors_xml(root, a.errors)
    return root


_SERIALIZERS: dict[type, Callable[[Any], etree._Element]] = {
    CargoManifest: manifest_to_xml,
    PassengerVehicleList: passenger_list_to_xml,
    CustomsResponse: response_to_xml,
    Acknowledgement: acknowledgement_to_xml,
}


def to_xml(doc: CanonicalDocument | Document) -> etree._Element:
    """The canonical XML element for ``doc`` (unsigned)."""
    return _SERIALIZERS[type(doc)](doc)


def to_bytes(doc: CanonicalDocument | Document | etree._Element) -> bytes:
    el = doc if isinstance(doc, etree._Element) else to_xml(doc)
    return etree.tostring(el, xml_declaration=True, encoding="UTF-8")


# ---------------------------------------------------------------- reading back


_find = _VOCABULARY.find
_str = _VOCABULARY.get
_req = _VOCABULARY.req
_opt = _VOCABULARY.opt
_all = _VOCABULARY.get_all


def _datetime(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _bool(value: str) -> bool:
    return value.strip() in {"true", "1"}


_header = _VOCABULARY.header_from_xml


def _address(parent: etree._Element) -> Address | None:
    a = _find(parent, "Address")
    if a is None:
        return None
    return Address(
        lines=_all(a, "Line"),
        city=_str(a, "City"),
        subdivision=_str(a, "Subdivision"),
        postal_code=_str(a, "PostalCode"),
        country=_str(a, "Country"),
    )


def _references(parent: etree._Element) -> list[DocumentReference]:
    return [
        DocumentReference(qualifier=r.get("qualifier") or "", number=r.text or "")
        for r in parent.findall(_q("Reference"))
    ]


def _identifier(parent: etree._Element) -> tuple[str | None, str | None, str | None]:
    """The Identifier below ``parent``: value, scheme and scheme agency (all None without one)."""
    ident = _find(parent, "Identifier")
    if ident is None:
        return None, None, None
    return ident.text or "", ident.get("schemeId"), ident.get("schemeAgencyId")


def _party(el: etree._Element) -> Party:
    identifier, scheme, agency = _identifier(el)
    return Party(
        role=cast(Any, el.get("role")),
        code=el.get("code"),
        identifier=identifier,
        identifier_scheme=scheme,
        identifier_scheme_agency=agency,
        tax_id=_str(el, "TaxId"),
        name=_str(el, "Name"),
        address=_address(el),
        to_order=_opt(el, "ToOrder", _bool) or False,
        contacts=tuple(
            Contact(
                function=ce.get("function"),
                department=_str(ce, "Department"),
                name=_str(ce, "Name"),
                communications=[
                    Communication(number=co.text or "", channel=co.get("channel"))
                    for co in ce.findall(_q("Communication"))
                ],
            )
            for ce in el.findall(_q("Contact"))
        ),
    )


def _equipment(el: etree._Element) -> TransportEquipment:
    temperature = _find(el, "Temperature")
    return TransportEquipment(
        identifier=_req(el, "Identifier"),
        size_type=_str(el, "SizeType"),
        seals=[
            Seal(se.text or "", issuer=se.get("issuer"), issuer_name=se.get("issuerName"))
            for se in el.findall(_q("Seal"))
        ],
        fullness=cast(Any, _str(el, "Fullness")),
        gross_mass_kg=_opt(el, "GrossMassKg", Decimal),
        tare_mass_kg=_opt(el, "TareMassKg", Decimal),
        verified_gross_mass_kg=_opt(el, "VerifiedGrossMassKg", Decimal),
        temperature=None if temperature is None else Decimal(temperature.text or ""),
        temperature_unit=None if temperature is None else temperature.get("unit"),
    )


def _dangerous_goods(el: etree._Element) -> DangerousGoods:
    flashpoint = _find(el, "Flashpoint")
    return DangerousGoods(
        un_number=_str(el, "UnNumber"),
        hazard_class=_str(el, "Class"),
        packing_group=_str(el, "PackingGroup"),
        flashpoint=None if flashpoint is None else Decimal(flashpoint.text or ""),
        flashpoint_unit=None if flashpoint is None else flashpoint.get("unit"),
        ems=_str(el, "EmS"),
        regulation=el.get("regulation"),
    )


def _goods(ge: etree._Element) -> GoodsItem:
    references = ge.findall(_q("EquipmentReference"))
    counts = [r.get("packages") for r in references]
    return GoodsItem(
        sequence=int(_req(ge, "Sequence")),
        hs_code=_str(ge, "HsCode"),
        description=_str(ge, "Description"),
        marks=tuple(_all(ge, "Marks")),
        package_count=_opt(ge, "PackageCount", int),
        package_type=_str(ge, "PackageType"),
        gross_mass_kg=_opt(ge, "GrossMassKg", Decimal),
        net_mass_kg=_opt(ge, "NetMassKg", Decimal),
        unit_gross_mass_kg=_opt(ge, "UnitGrossMassKg", Decimal),
        unit_net_mass_kg=_opt(ge, "UnitNetMassKg", Decimal),
        volume_m3=_opt(ge, "VolumeM3", Decimal),
        dangerous_goods=tuple(_dangerous_goods(de) for de in ge.findall(_q("DangerousGoods"))),
        equipment_references=[r.text or "" for r in references],
        packages_per_equipment=(
            tuple(None if c is None else int(c) for c in counts)
            if any(c is not None for c in counts)
            else ()
        ),
    )


def manifest_from_xml(root: etree._Element) -> CargoManifest:
    header_el = _find(root, "Header")
    cv = _find(root, "Conveyance")
    if header_el is None or cv is None:
        raise ValueError("CargoManifest needs Header and Conveyance")
    consignments = []
    for ce in root.findall(_q("Consignment")):
        td = _find(ce, "TransportDocument")
        assert td is not None
        goods = [_goods(ge) for ge in ce.findall(_q("GoodsItem"))]
        equipment = [_equipment(ee) for ee in ce.findall(_q("TransportEquipment"))]
        consignments.append(
            Consignment(
                sequence=int(_req(ce, "Sequence")),
                transport_document=td.text or "",
                transport_document_kind=cast(Any, td.get("kind", "master")),
                master_reference=_str(ce, "MasterReference"),
                master_sequence_number=_opt(ce, "MasterSequenceNumber", int),
                house_sequence_number=_opt(ce, "HouseSequenceNumber", int),
                consolidated=_opt(ce, "Consolidated", _bool) or False,
                place_of_receipt=_str(ce, "PlaceOfReceipt"),
                place_of_original_loading=_str(ce, "PlaceOfOriginalLoading"),
                place_of_loading=_str(ce, "PlaceOfLoading"),
                places_of_transhipment=tuple(_all(ce, "PlaceOfTranshipment")),
                place_of_discharge=_str(ce, "PlaceOfDischarge"),
                place_of_delivery=_str(ce, "PlaceOfDelivery"),
                place_of_destination=_str(ce, "PlaceOfDestination"),
                parties=[_party(p) for p in ce.findall(_q("Party"))],
                goods_items=goods,
                equipment=equipment,
                gross_mass_kg=_opt(ce, "GrossMassKg", Decimal),
                control_totals=_totals(ce),
            )
        )
    return CargoManifest(
        header=_header(header_el),
        document_number=_req(root, "DocumentNumber"),
        conveyance=_conveyance(cv),
        port_of_call=_str(root, "PortOfCall"),
        customs_office=_str(root, "CustomsOffice"),
        arrival_time=_opt(root, "ArrivalTime", _datetime),
        actual_arrival_time=_opt(root, "ActualArrivalTime", _datetime),
        departure_time=_opt(root, "DepartureTime", _datetime),
        parties=[_party(p) for p in root.findall(_q("Party"))],
        equipment=[_equipment(e) for e in root.findall(_q("TransportEquipment"))],
        consignments=consignments,
        control_totals=_totals(root),
    )


def _totals(parent: etree._Element) -> ControlTotals | None:
    ct = _find(parent, "ControlTotals")
    if ct is None:
        return None
    return ControlTotals(
        consignments=_opt(ct, "Consignments", int),
        packages=_opt(ct, "Packages", int),
        gross_mass_kg=_opt(ct, "GrossMassKg", Decimal),
        equipment=_opt(ct, "Equipment", int),
    )


def _conveyance(cv: etree._Element) -> Conveyance:
    return Conveyance(
        imo_number=_str(cv, "ImoNumber"),
        name=_str(cv, "Name"),
        call_sign=_str(cv, "CallSign"),
        nationality=_str(cv, "Nationality"),
        voyage_number=_str(cv, "VoyageNumber"),
        carrier=_str(cv, "Carrier"),
        mode_of_transport=_str(cv, "ModeOfTransport"),
    )


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _required_header(root: etree._Element) -> Header:
    el = _find(root, "Header")
    if el is None:
        raise ValueError(f"{root.tag} has no Header")
    return _header(el)


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
        identifier, scheme, agency = _identifier(te)
        travellers.append(
            Traveller(
                sequence=int(_req(te, "Sequence")),
                role=cast(Any, te.get("role")),
                family_name=_req(te, "FamilyName"),
                given_names=_str(te, "GivenNames"),
                gender=_str(te, "Gender"),
                birth_date=_opt(te, "BirthDate", _date),
                birth_place=_str(te, "BirthPlace"),
                nationality=_str(te, "Nationality"),
                documents=[
                    TravelDocument(
                        kind=_req(de, "Kind"),
                        number=_req(de, "Number"),
                        issuing_country=_str(de, "IssuingCountry"),
                        expiry_date=_opt(de, "ExpiryDate", _date),
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
                address=_address(te),
                employment=[
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
                ],
                references=_references(te),
            )
        )
    return PassengerVehicleList(
        header=_required_header(root),
        document_number=_req(root, "DocumentNumber"),
        conveyance=_conveyance(cv),
        port_of_departure=_str(root, "PortOfDeparture"),
        port_of_call=_str(root, "PortOfCall"),
        departure_time=_opt(root, "DepartureTime", _datetime),
        arrival_time=_opt(root, "ArrivalTime", _datetime),
        travellers=travellers,
        document_references=_references(root),
        parties=[_party(p) for p in root.findall(_q("Party"))],
        passenger_total=_opt(root, "PassengerTotal", int),
        crew_total=_opt(root, "CrewTotal", int),
    )


def _errors(root: etree._Element) -> list[ResponseError]:
    out = []
    for ee in root.findall(_q("Error")):
        pe = _find(ee, "Pointer")
        pointer = None
        if pe is not None:
            pointer = Pointer(
                location=_req(pe, "Location"),
                segment=_opt(pe, "Segment", int),
                tag=_str(pe, "Tag"),
                element=_opt(pe, "Element", int),
                component=_opt(pe, "Component", int),
            )
        out.append(ResponseError(_req(ee, "Code"), _req(ee, "Description"), pointer))
    return out


def response_from_xml(root: etree._Element) -> CustomsResponse:
    return CustomsResponse(
        header=_required_header(root),
        registration_number=_str(root, "RegistrationNumber"),
        decision=cast(Any, _req(root, "Decision")),
        channel=cast(Any, _str(root, "InspectionChannel")),
        original_message_id=_req(root, "OriginalMessageId"),
        original_reference=_req(root, "OriginalReference"),
        issued_at=_opt(root, "IssuedAt", _datetime),
        errors=_errors(root),
    )


def acknowledgement_from_xml(root: etree._Element) -> Acknowledgement:
    return Acknowledgement(
        header=_required_header(root),
        acknowledged_message_id=_req(root, "AcknowledgedMessageId"),
        status=cast(Any, _req(root, "Status")),
        acknowledgement_type=_req(root, "AcknowledgementType"),
        errors=_errors(root),
    )


_READERS: dict[str, Callable[[etree._Element], Any]] = {
    _q("CargoManifest"): manifest_from_xml,
    _q("PassengerVehicleList"): passenger_list_from_xml,
    _q("CustomsResponse"): response_from_xml,
    _q("Acknowledgement"): acknowledgement_from_xml,
}


def register(
    document_class: type,
    element_name: str,
    writer: Callable[[Any], etree._Element],
    reader: Callable[[etree._Element], Any],
    namespace: str = NAMESPACE,
) -> None:
    """Plug another module's document (e.g. an LPCO in ``lpco-1.xsd``) into to_xml/from_xml."""
    _SERIALIZERS[document_class] = writer
    _READERS[f"{{{namespace}}}{element_name}"] = reader


def from_xml(source: bytes | etree._Element) -> CanonicalDocument:
    """Read a canonical document back (a signature, if present, is ignored here)."""
    root = parse(source) if isinstance(source, bytes) else source
    reader = _READERS.get(root.tag)
    if reader is None:
        raise ValueError(f"{root.tag} is not a canonical document")
    doc: CanonicalDocument = reader(root)
    return doc
