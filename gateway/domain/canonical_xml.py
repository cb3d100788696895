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
    Consignment,
    ControlTotals,
    Conveyance,
    CustomsResponse,
    Document,
    GoodsItem,
    Header,
    Party,
    PassengerVehicleList,
    Pointer,
    ResponseError,
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


def _party_out(out: XmlOut, p: Party) -> None:
    out.start("Party", {"role": p.role, "code": p.code} if p.code else {"role": p.role})
    out.leaf("Identifier", p.identifier)
    out.leaf("TaxId", p.tax_id)
    out.leaf("Name", p.name)
    if p.address is not None:
        out.start("Address")
        for line in p.address.lines:
            out.leaf("Line", line)
        out.leaf("City", p.address.city)
        out.leaf("PostalCode", p.address.postal_code)
        out.leaf("Country", p.address.country)
        out.end()
    out.end()


def _equipment_out(out: XmlOut, e: TransportEquipment) -> None:
    out.start("TransportEquipment")
    out.leaf("Identifier", e.identifier)
    out.leaf("SizeType", e.size_type)
    for seal in e.seals:
        out.leaf("Seal", seal)
    out.leaf("Fullness", e.fullness)
    out.leaf("GrossMassKg", e.gross_mass_kg)
    out.end()


def manifest_head_out(out: XmlOut, m: CargoManifest) -> None:
    """Everything of the manifest's XML before its first Consignment (root not included)."""
    header_out(out, m.header)
    out.leaf("DocumentNumber", m.document_number)
    _conveyance_out(out, m.conveyance)
    out.leaf("PortOfCall", m.port_of_call)
    out.leaf("CustomsOffice", m.customs_office)
    out.leaf("ArrivalTime", m.arrival_time)
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
    out.leaf("PlaceOfLoading", c.place_of_loading)
    out.leaf("PlaceOfDischarge", c.place_of_discharge)
    for p in c.parties:
        _party_out(out, p)
    for g in c.goods_items:
        out.start("GoodsItem")
        out.leaf("Sequence", g.sequence)
        out.leaf("HsCode", g.hs_code)
        out.leaf("Description", g.description)
        out.leaf("PackageCount", g.package_count)
        out.leaf("PackageType", g.package_type)
        out.leaf("GrossMassKg", g.gross_mass_kg)
        out.leaf("NetMassKg", g.net_mass_kg)
        out.leaf("VolumeM3", g.volume_m3)
        for un in g.dangerous_goods_un_numbers:
            out.leaf("DangerousGoodsUnNumber", un)
        for ref in g.equipment_references:
            out.leaf("EquipmentReference", ref)
        out.end()
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


def passenger_list_to_xml(p: PassengerVehicleList) -> etree._Element:
    root = etree.Element(_q("PassengerVehicleList"), nsmap=NSMAP, schemaVersion=SCHEMA_VERSION)
    _header_xml(root, p.header)
    _add(root, "DocumentNumber", p.document_number)
    _conveyance_out(TreeOut(_VOCABULARY, root), p.conveyance)
    _add(root, "PortOfDeparture", p.port_of_departure)
    _add(root, "PortOfCall", p.port_of_call)
    _add(root, "DepartureTime", p.departure_time)
    _add(root, "ArrivalTime", p.arrival_time)
    for t in p.travellers:
        te = etree.SubElement(root, _q("Traveller"), role=t.role)
        _add(te, "Sequence", t.sequence)
        _add(te, "FamilyName", t.family_name)
        _add(te, "GivenNames", t.given_names)
        _add(te, "Gender", t.gender)
        _add(te, "BirthDate", t.birth_date)
        _add(te, "BirthPlace", t.birth_place)
        _add(te, "Nationality", t.nationality)
        for d in t.documents:
            de = etree.SubElement(te, _q("TravelDocument"))
            _add(de, "Kind", d.kind)
            _add(de, "Number", d.number)
            _add(de, "IssuingCountry", d.issuing_country)
            _add(de, "ExpiryDate", d.expiry_date)
        _add(te, "PlaceOfEmbarkation", t.place_of_embarkation)
        _add(te, "PlaceOfDisembarkation", t.place_of_disembarkation)
        if t.vehicle is not None:
            ve = etree.SubElement(te, _q("Vehicle"))
            _add(ve, "RegistrationNumber", t.vehicle.registration_number)
            _add(ve, "RegistrationCountry", t.vehicle.registration_country)
            _add(ve, "Vin", t.vehicle.vin)
            _add(ve, "Make", t.vehicle.make)
            _add(ve, "Model", t.vehicle.model)
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


def _party(el: etree._Element) -> Party:
    a = _find(el, "Address")
    address = None
    if a is not None:
        address = Address(
            lines=_all(a, "Line"),
            city=_str(a, "City"),
            postal_code=_str(a, "PostalCode"),
            country=_str(a, "Country"),
        )
    return Party(
        role=cast(Any, el.get("role")),
        code=el.get("code"),
        identifier=_str(el, "Identifier"),
        tax_id=_str(el, "TaxId"),
        name=_str(el, "Name"),
        address=address,
    )


def _equipment(el: etree._Element) -> TransportEquipment:
    return TransportEquipment(
        identifier=_req(el, "Identifier"),
        size_type=_str(el, "SizeType"),
        seals=_all(el, "Seal"),
        fullness=cast(Any, _str(el, "Fullness")),
        gross_mass_kg=_opt(el, "GrossMassKg", Decimal),
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
        goods = [
            GoodsItem(
                sequence=int(_req(ge, "Sequence")),
                hs_code=_str(ge, "HsCode"),
                description=_str(ge, "Description"),
                package_count=_opt(ge, "PackageCount", int),
                package_type=_str(ge, "PackageType"),
                gross_mass_kg=_opt(ge, "GrossMassKg", Decimal),
                net_mass_kg=_opt(ge, "NetMassKg", Decimal),
                volume_m3=_opt(ge, "VolumeM3", Decimal),
                dangerous_goods_un_numbers=_all(ge, "DangerousGoodsUnNumber"),
                equipment_references=_all(ge, "EquipmentReference"),
            )
            for ge in ce.findall(_q("GoodsItem"))
        ]
        equipment = [_equipment(ee) for ee in ce.findall(_q("TransportEquipment"))]
        consignments.append(
            Consignment(
                sequence=int(_req(ce, "Sequence")),
                transport_document=td.text or "",
                transport_document_kind=cast(Any, td.get("kind", "master")),
                master_reference=_str(ce, "MasterReference"),
                place_of_loading=_str(ce, "PlaceOfLoading"),
                place_of_discharge=_str(ce, "PlaceOfDischarge"),
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
