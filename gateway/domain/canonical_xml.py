"""Canonical documents to and from XML (``xsd/customs-1.xsd``).

``to_xml`` and ``from_xml`` round-trip: ``from_xml(to_xml(doc)) == doc``.

>>> from gateway.domain.model import Header, CargoManifest
>>> doc = CargoManifest(Header.new(sender="apcs", document_type="CargoManifest",
...                                business_reference="M1"), document_number="M1")
>>> from_xml(to_xml(doc)) == doc
True

Here: the cargo manifest, the customs response and the acknowledgement, and the tables that
``to_xml``/``from_xml`` read (``register`` plugs other modules' documents in). The passenger
list is in ``passenger_list_xml``, the parts the documents share in ``xml_parts``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

from lxml import etree

from gateway.domain.model import (
    NAMESPACE,
    SCHEMA_VERSION,
    Acknowledgement,
    CanonicalDocument,
    CargoManifest,
    Consignment,
    ControlTotals,
    CustomsResponse,
    DangerousGoods,
    Document,
    GoodsItem,
    PassengerVehicleList,
    Pointer,
    ResponseError,
    Seal,
    TransportEquipment,
)
from gateway.domain.passenger_list_xml import passenger_list_from_xml, passenger_list_to_xml
from gateway.domain.xml_parts import NS as NS  # re-exported: the namespace, as {uri}
from gateway.domain.xml_parts import (
    NSMAP,
    VOCABULARY,
    attrs,
    conveyance_from_xml,
    conveyance_out,
    parse_bool,
    parse_datetime,
    party_from_xml,
    party_out,
    required_header,
)
from gateway.domain.xmlmap import TreeOut, XmlOut, header_out, not_mapped_out
from gateway.domain.xmlsafe import parse

_q = VOCABULARY.q
_add = VOCABULARY.add
_header_xml = VOCABULARY.header_to_xml
_find = VOCABULARY.find
_str = VOCABULARY.get
_req = VOCABULARY.req
_opt = VOCABULARY.opt
_all = VOCABULARY.get_all
_header = VOCABULARY.header_from_xml


def _equipment_out(out: XmlOut, e: TransportEquipment) -> None:
    out.start("TransportEquipment", attrs(typeCode=e.type_code))
    out.leaf("Identifier", e.identifier)
    out.leaf("SizeType", e.size_type)
    for seal in e.seals:
        out.leaf("Seal", seal.number, attrs(issuer=seal.issuer, issuerName=seal.issuer_name))
    out.leaf("Fullness", e.fullness)
    out.leaf("Status", e.status)
    out.leaf("GrossMassKg", e.gross_mass_kg)
    out.leaf("TareMassKg", e.tare_mass_kg)
    out.leaf("VerifiedGrossMassKg", e.verified_gross_mass_kg)
    out.leaf("Temperature", e.temperature, attrs(unit=e.temperature_unit))
    out.end()


def _goods_out(out: XmlOut, g: GoodsItem) -> None:
    out.start("GoodsItem")
    out.leaf("Sequence", g.sequence)
    out.leaf("HsCode", g.hs_code)
    out.leaf("Description", g.description)
    out.leaf("MarkingInstruction", g.marking_instruction)
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
        out.start("DangerousGoods", attrs(regulation=dg.regulation))
        out.leaf("UnNumber", dg.un_number)
        out.leaf("Class", dg.hazard_class)
        out.leaf("PackingGroup", dg.packing_group)
        out.leaf("Flashpoint", dg.flashpoint, attrs(unit=dg.flashpoint_unit))
        out.leaf("EmS", dg.ems)
        out.end()
    counts = g.packages_per_equipment
    for i, ref in enumerate(g.equipment_references):
        packages = counts[i] if i < len(counts) else None
        out.leaf("EquipmentReference", ref, attrs(packages=packages))
    out.end()


def manifest_head_out(out: XmlOut, m: CargoManifest) -> None:
    """Everything of the manifest's XML before its first Consignment (root not included)."""
    header_out(out, m.header)
    out.leaf("DocumentNumber", m.document_number)
    out.leaf("IssueTime", m.issue_time)
    conveyance_out(out, m.conveyance)
    out.leaf("PortOfCall", m.port_of_call)
    out.leaf("CustomsOffice", m.customs_office)
    out.leaf("PlaceOfDeparture", m.place_of_departure)
    out.leaf("ArrivalTime", m.arrival_time)
    out.leaf("ActualArrivalTime", m.actual_arrival_time)
    out.leaf("DepartureTime", m.departure_time)
    for p in m.parties:
        party_out(out, p)
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
        party_out(out, p)
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
    out = TreeOut(VOCABULARY, root)
    manifest_head_out(out, m)
    for c in m.consignments:
        consignment_out(out, c)
    manifest_tail_out(out, m)
    return root


def manifest_tail_out(out: XmlOut, m: CargoManifest) -> None:
    """Everything of the manifest's XML after its last Consignment (root not included)."""
    totals_out(out, m.control_totals)
    not_mapped_out(out, m.not_mapped)


def totals_out(out: XmlOut, totals: ControlTotals | None) -> None:
    if totals is None:
        return
    out.start("ControlTotals")
    out.leaf("Consignments", totals.consignments)
    out.leaf("Packages", totals.packages)
    out.leaf("GrossMassKg", totals.gross_mass_kg)
    out.leaf("Equipment", totals.equipment)
    out.end()


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


def _equipment(el: etree._Element) -> TransportEquipment:
    temperature = _find(el, "Temperature")
    return TransportEquipment(
        identifier=_req(el, "Identifier"),
        size_type=_str(el, "SizeType"),
        type_code=el.get("typeCode"),
        status=_str(el, "Status"),
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
        marking_instruction=_str(ge, "MarkingInstruction"),
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
                consolidated=_opt(ce, "Consolidated", parse_bool) or False,
                place_of_receipt=_str(ce, "PlaceOfReceipt"),
                place_of_original_loading=_str(ce, "PlaceOfOriginalLoading"),
                place_of_loading=_str(ce, "PlaceOfLoading"),
                places_of_transhipment=tuple(_all(ce, "PlaceOfTranshipment")),
                place_of_discharge=_str(ce, "PlaceOfDischarge"),
                place_of_delivery=_str(ce, "PlaceOfDelivery"),
                place_of_destination=_str(ce, "PlaceOfDestination"),
                parties=[party_from_xml(p) for p in ce.findall(_q("Party"))],
                goods_items=goods,
                equipment=equipment,
                gross_mass_kg=_opt(ce, "GrossMassKg", Decimal),
                control_totals=_totals(ce),
            )
        )
    return CargoManifest(
        header=_header(header_el),
        document_number=_req(root, "DocumentNumber"),
        conveyance=conveyance_from_xml(cv),
        port_of_call=_str(root, "PortOfCall"),
        customs_office=_str(root, "CustomsOffice"),
        issue_time=_opt(root, "IssueTime", parse_datetime),
        place_of_departure=_str(root, "PlaceOfDeparture"),
        arrival_time=_opt(root, "ArrivalTime", parse_datetime),
        actual_arrival_time=_opt(root, "ActualArrivalTime", parse_datetime),
        departure_time=_opt(root, "DepartureTime", parse_datetime),
        parties=[party_from_xml(p) for p in root.findall(_q("Party"))],
        equipment=[_equipment(e) for e in root.findall(_q("TransportEquipment"))],
        consignments=consignments,
        control_totals=_totals(root),
        not_mapped=VOCABULARY.not_mapped_from_xml(root),
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
        header=required_header(root),
        registration_number=_str(root, "RegistrationNumber"),
        decision=cast(Any, _req(root, "Decision")),
        channel=cast(Any, _str(root, "InspectionChannel")),
        original_message_id=_req(root, "OriginalMessageId"),
        original_reference=_req(root, "OriginalReference"),
        issued_at=_opt(root, "IssuedAt", parse_datetime),
        errors=_errors(root),
    )


def acknowledgement_from_xml(root: etree._Element) -> Acknowledgement:
    return Acknowledgement(
        header=required_header(root),
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
