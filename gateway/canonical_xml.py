"""Canonical documents to and from XML (``xsd/customs-1.xsd``).

``to_xml`` and ``from_xml`` round-trip: ``from_xml(to_xml(doc)) == doc``.

>>> from gateway.model import Header, CargoManifest
>>> doc = CargoManifest(Header.new(sender="apcs", document_type="CargoManifest",
...                                business_reference="M1"), document_number="M1")
>>> from_xml(to_xml(doc)) == doc
True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar, cast

from lxml import etree

from gateway.model import (
    NAMESPACE,
    SCHEMA_VERSION,
    Address,
    CanonicalDocument,
    CargoManifest,
    Consignment,
    ControlTotals,
    Conveyance,
    GoodsItem,
    Header,
    Party,
    Source,
    TransportEquipment,
)
from gateway.xmlsafe import parse

NS = f"{{{NAMESPACE}}}"
NSMAP: Any = {None: NAMESPACE}  # lxml-stubs do not allow the default-namespace key None
T = TypeVar("T")


def _q(name: str) -> str:
    return NS + name


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _add(parent: etree._Element, name: str, value: object) -> None:
    """Append <name>value</name> unless value is None (optional elements stay absent)."""
    if value is None:
        return
    el = etree.SubElement(parent, _q(name))
    el.text = _text(value)


def _header_xml(parent: etree._Element, h: Header) -> None:
    el = etree.SubElement(parent, _q("Header"))
    _add(el, "MessageId", h.message_id)
    _add(el, "CorrelationId", h.correlation_id)
    _add(el, "PreviousMessageId", h.previous_message_id)
    _add(el, "Function", h.function)
    _add(el, "Sender", h.sender)
    _add(el, "Receiver", h.receiver)
    _add(el, "DocumentType", h.document_type)
    _add(el, "DocumentVersion", h.document_version)
    _add(el, "BusinessReference", h.business_reference)
    _add(el, "Test", h.test)
    _add(el, "CreatedAt", h.created_at)
    ph = etree.SubElement(el, _q("PayloadHash"), algorithm="sha256")
    ph.text = h.payload_hash
    src = etree.SubElement(el, _q("Source"), format=h.source.format)
    for attr, value in (
        ("messageType", h.source.message_type),
        ("directory", h.source.directory),
        ("syntaxVersion", h.source.syntax_version),
        ("interchangeReference", h.source.interchange_reference),
        ("messageReference", h.source.message_reference),
    ):
        if value:
            src.set(attr, value)


def _party_xml(parent: etree._Element, p: Party) -> None:
    el = etree.SubElement(parent, _q("Party"), role=p.role)
    if p.code:
        el.set("code", p.code)
    _add(el, "Identifier", p.identifier)
    _add(el, "TaxId", p.tax_id)
    _add(el, "Name", p.name)
    if p.address is not None:
        a = etree.SubElement(el, _q("Address"))
        for line in p.address.lines:
            _add(a, "Line", line)
        _add(a, "City", p.address.city)
        _add(a, "PostalCode", p.address.postal_code)
        _add(a, "Country", p.address.country)


def _equipment_xml(parent: etree._Element, e: TransportEquipment) -> None:
    el = etree.SubElement(parent, _q("TransportEquipment"))
    _add(el, "Identifier", e.identifier)
    _add(el, "SizeType", e.size_type)
    for seal in e.seals:
        _add(el, "Seal", seal)
    _add(el, "Fullness", e.fullness)
    _add(el, "GrossMassKg", e.gross_mass_kg)


def manifest_to_xml(m: CargoManifest) -> etree._Element:
    root = etree.Element(_q("CargoManifest"), nsmap=NSMAP, schemaVersion=SCHEMA_VERSION)
    _header_xml(root, m.header)
    _add(root, "DocumentNumber", m.document_number)
    cv = etree.SubElement(root, _q("Conveyance"))
    _add(cv, "ImoNumber", m.conveyance.imo_number)
    _add(cv, "Name", m.conveyance.name)
    _add(cv, "CallSign", m.conveyance.call_sign)
    _add(cv, "Nationality", m.conveyance.nationality)
    _add(cv, "VoyageNumber", m.conveyance.voyage_number)
    _add(cv, "Carrier", m.conveyance.carrier)
    _add(cv, "ModeOfTransport", m.conveyance.mode_of_transport)
    _add(root, "PortOfCall", m.port_of_call)
    _add(root, "CustomsOffice", m.customs_office)
    _add(root, "ArrivalTime", m.arrival_time)
    _add(root, "DepartureTime", m.departure_time)
    for p in m.parties:
        _party_xml(root, p)
    for e in m.equipment:
        _equipment_xml(root, e)
    for c in m.consignments:
        ce = etree.SubElement(root, _q("Consignment"))
        _add(ce, "Sequence", c.sequence)
        td = etree.SubElement(ce, _q("TransportDocument"), kind=c.transport_document_kind)
        td.text = c.transport_document
        _add(ce, "MasterReference", c.master_reference)
        _add(ce, "PlaceOfLoading", c.place_of_loading)
        _add(ce, "PlaceOfDischarge", c.place_of_discharge)
        for p in c.parties:
            _party_xml(ce, p)
        for g in c.goods_items:
            ge = etree.SubElement(ce, _q("GoodsItem"))
            _add(ge, "Sequence", g.sequence)
            _add(ge, "HsCode", g.hs_code)
            _add(ge, "Description", g.description)
            _add(ge, "PackageCount", g.package_count)
            _add(ge, "PackageType", g.package_type)
            _add(ge, "GrossMassKg", g.gross_mass_kg)
            _add(ge, "NetMassKg", g.net_mass_kg)
            _add(ge, "VolumeM3", g.volume_m3)
            for un in g.dangerous_goods_un_numbers:
                _add(ge, "DangerousGoodsUnNumber", un)
            for ref in g.equipment_references:
                _add(ge, "EquipmentReference", ref)
        for e in c.equipment:
            _equipment_xml(ce, e)
        _add(ce, "GrossMassKg", c.gross_mass_kg)
    if m.control_totals is not None:
        ct = etree.SubElement(root, _q("ControlTotals"))
        _add(ct, "Consignments", m.control_totals.consignments)
        _add(ct, "Packages", m.control_totals.packages)
        _add(ct, "GrossMassKg", m.control_totals.gross_mass_kg)
        _add(ct, "Equipment", m.control_totals.equipment)
    return root


_SERIALIZERS: dict[type, Callable[[Any], etree._Element]] = {CargoManifest: manifest_to_xml}


def to_xml(doc: CanonicalDocument) -> etree._Element:
    """The canonical XML element for ``doc`` (unsigned)."""
    return _SERIALIZERS[type(doc)](doc)


def to_bytes(doc: CanonicalDocument | etree._Element) -> bytes:
    el = doc if isinstance(doc, etree._Element) else to_xml(doc)
    return etree.tostring(el, xml_declaration=True, encoding="UTF-8")


# ---------------------------------------------------------------- reading back


def _find(el: etree._Element, name: str) -> etree._Element | None:
    return el.find(_q(name))


def _str(el: etree._Element, name: str) -> str | None:
    child = el.find(_q(name))
    return None if child is None else (child.text or "")


def _req(el: etree._Element, name: str) -> str:
    value = _str(el, name)
    if value is None:
        raise ValueError(f"{el.tag} has no {name}")
    return value


def _opt(el: etree._Element, name: str, conv: Callable[[str], T]) -> T | None:
    value = _str(el, name)
    return None if value is None else conv(value)


def _all(el: etree._Element, name: str) -> list[str]:
    return [c.text or "" for c in el.findall(_q(name))]


def _datetime(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _bool(value: str) -> bool:
    return value.strip() in {"true", "1"}


def _header(el: etree._Element) -> Header:
    src = el.find(_q("Source"))
    assert src is not None
    return Header(
        message_id=_req(el, "MessageId"),
        correlation_id=_req(el, "CorrelationId"),
        previous_message_id=_str(el, "PreviousMessageId"),
        function=cast(Any, _req(el, "Function")),
        sender=_req(el, "Sender"),
        receiver=_req(el, "Receiver"),
        document_type=_req(el, "DocumentType"),
        document_version=int(_req(el, "DocumentVersion")),
        business_reference=_req(el, "BusinessReference"),
        test=_bool(_req(el, "Test")),
        created_at=_datetime(_req(el, "CreatedAt")),
        payload_hash=_req(el, "PayloadHash"),
        source=Source(
            format=src.get("format", ""),
            message_type=src.get("messageType", ""),
            directory=src.get("directory", ""),
            syntax_version=src.get("syntaxVersion", ""),
            interchange_reference=src.get("interchangeReference", ""),
            message_reference=src.get("messageReference", ""),
        ),
    )


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
            )
        )
    ct = _find(root, "ControlTotals")
    totals = None
    if ct is not None:
        totals = ControlTotals(
            consignments=_opt(ct, "Consignments", int),
            packages=_opt(ct, "Packages", int),
            gross_mass_kg=_opt(ct, "GrossMassKg", Decimal),
            equipment=_opt(ct, "Equipment", int),
        )
    return CargoManifest(
        header=_header(header_el),
        document_number=_req(root, "DocumentNumber"),
        conveyance=Conveyance(
            imo_number=_str(cv, "ImoNumber"),
            name=_str(cv, "Name"),
            call_sign=_str(cv, "CallSign"),
            nationality=_str(cv, "Nationality"),
            voyage_number=_str(cv, "VoyageNumber"),
            carrier=_str(cv, "Carrier"),
            mode_of_transport=_str(cv, "ModeOfTransport"),
        ),
        port_of_call=_str(root, "PortOfCall"),
        customs_office=_str(root, "CustomsOffice"),
        arrival_time=_opt(root, "ArrivalTime", _datetime),
        departure_time=_opt(root, "DepartureTime", _datetime),
        parties=[_party(p) for p in root.findall(_q("Party"))],
        equipment=[_equipment(e) for e in root.findall(_q("TransportEquipment"))],
        consignments=consignments,
        control_totals=totals,
    )


_READERS: dict[str, Callable[[etree._Element], CanonicalDocument]] = {
    _q("CargoManifest"): manifest_from_xml,
}


def from_xml(source: bytes | etree._Element) -> CanonicalDocument:
    """Read a canonical document back (a signature, if present, is ignored here)."""
    root = parse(source) if isinstance(source, bytes) else source
    reader = _READERS.get(root.tag)
    if reader is None:
        raise ValueError(f"{root.tag} is not a canonical document")
    return reader(root)
