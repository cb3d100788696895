"""The ship call and what hangs on it: arrival, dangerous goods, discharge and loading.

A customs system acquits manifests against a **call** (issue #17): one vessel's visit to one
port, known by IMO number + voyage + port of call (:attr:`VesselCall.key`). The documents here
are in the customs namespace (``xsd/calls-1.xsd``, included by ``customs-1.xsd``):

* :class:`VesselCall`, the arrival notification (IMO FAL form 1 data, from CUSREP or APCS XML);
* :class:`DangerousGoodsNotification`, the dangerous cargo on board (IMO FAL form 7, IFTDGN);
* :class:`TerminalOperationsReport`, what a terminal discharged or loaded (COARRI, APCS XML);
* :class:`ManifestDiscrepancyReport`, the gateway's reconciliation of a call, for customs (its
  bills and dangerous goods discrepancies: ``gateway.domain.call_discrepancies``).

The last two name their call by the same key; linking and reconciliation are the service's.

>>> import datetime as dt
>>> from gateway.domain.model import Conveyance, Header
>>> call = VesselCall(Header.new(sender="apcs", document_type="VesselCall",
...                              business_reference="CALL-1"), call_reference="CALL-1",
...                   conveyance=Conveyance(imo_number="9454436", voyage_number="0MA1RN1MA"),
...                   port_of_call="DZALG")
>>> from_xml(to_xml(call)) == call, str(call.key)
(True, '9454436/0MA1RN1MA/DZALG')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, cast

from lxml import etree

from gateway.domain.call_discrepancies import (
    DangerousGoodsDiscrepancy,
    DiscrepancyBill,
    bills_from,
    bills_out,
    dangerous_from,
    dangerous_out,
)
from gateway.domain.model import NAMESPACE, SCHEMA_VERSION, Conveyance, Header, NotMappedElement
from gateway.domain.rules import imo_number_ok, locode_problem
from gateway.domain.xml_parts import conveyance_from_xml, conveyance_out
from gateway.domain.xmlmap import TreeOut, Vocabulary, not_mapped_out
from gateway.domain.xmlsafe import parse

#: The country whose ports this gateway serves: a call's port of call is one of its LOCODEs.
PORT_COUNTRY = "DZ"

#: Algeria's commercial ports (UN/LOCODE -> name), for people and samples; a port of call is
#: checked by country (:func:`port_of_call_problem`), not against this list.
ALGERIAN_PORTS: dict[str, str] = {
    "DZALG": "Alger",
    "DZORN": "Oran",
    "DZAAE": "Annaba",
    "DZBJA": "Béjaïa",
    "DZSKI": "Skikda",
    "DZDJE": "Djen Djen",
    "DZMOS": "Mostaganem",
    "DZAZW": "Arzew",
}

Operation = Literal["discharge", "load"]
OPERATIONS: tuple[str, ...] = ("discharge", "load")


def imo_problem(number: str | None) -> str | None:
    """Why ``number`` is not an IMO ship number, or None.

    >>> imo_problem("9454436"), imo_problem("9454437")
    (None, 'IMO number 9454437 has a wrong check digit')
    """
    if not number:
        return "the vessel has no IMO number"
    if not number.isascii() or not number.isdigit() or len(number) != 7:
        return f"IMO number {number} is not 7 digits"
    if not imo_number_ok(number):
        return f"IMO number {number} has a wrong check digit"
    return None


def port_of_call_problem(code: str | None) -> str | None:
    """Why ``code`` cannot be the port of call of a call announced here, or None.

    >>> port_of_call_problem("DZORN"), port_of_call_problem("ESVLC")
    (None, 'ESVLC is not a port of DZ')
    """
    if not code:
        return "no port of call"
    problem = locode_problem(code)
    if problem is not None:
        return problem
    if code[:2] != PORT_COUNTRY:
        return f"{code} is not a port of {PORT_COUNTRY}"
    return None


@dataclass(frozen=True, slots=True)
class CallKey:
    """What names one call: IMO number, voyage and port of call."""

    imo_number: str
    voyage_number: str
    port_of_call: str

    def __str__(self) -> str:
        return f"{self.imo_number}/{self.voyage_number}/{self.port_of_call}"


@dataclass(slots=True)
class CargoSummary:
    """The cargo a call declares in its arrival notification (FAL form 1, 'brief description')."""

    containers_to_discharge: int | None = None
    containers_to_load: int | None = None
    gross_mass_kg: Decimal | None = None  # of the cargo to discharge
    description: str | None = None


@dataclass(slots=True)
class VesselCall:
    """One vessel's visit to one port (WCO: Conveyance report; IMO FAL form 1)."""

    header: Header
    call_reference: str  # the agent's or APCS's number for the call (BGM 1004)
    conveyance: Conveyance  # IMO number (required, check digit), name, call sign, flag, voyage
    port_of_call: str
    berth: str | None = None
    last_port: str | None = None
    next_port: str | None = None
    eta: dt.datetime | None = None
    ata: dt.datetime | None = None
    atd: dt.datetime | None = None
    crew_count: int | None = None
    passenger_count: int | None = None
    cargo: CargoSummary | None = None
    not_mapped: list[NotMappedElement] = field(default_factory=list)  # issue #16

    DOCUMENT_TYPE = "VesselCall"

    @property
    def key(self) -> CallKey:
        return CallKey(
            self.conveyance.imo_number or "",
            self.conveyance.voyage_number or "",
            self.port_of_call,
        )

    def references(self) -> list[str]:
        """The call reference, IMO/voyage and the IMO number alone."""
        refs = [self.call_reference, f"{self.key.imo_number}/{self.key.voyage_number}"]
        if self.conveyance.imo_number:
            refs.append(self.conveyance.imo_number)
        return list(dict.fromkeys(refs))


@dataclass(slots=True)
class DangerousCargoItem:
    """One dangerous cargo entry (IMDG): what, how dangerous, in which container, where stowed."""

    sequence: int
    un_number: str
    hazard_class: str
    packing_group: str | None = None  # I, II, III as 1, 2, 3 (UNCL 8339)
    flashpoint: Decimal | None = None
    flashpoint_unit: str | None = None  # CEL or FAH
    ems: str | None = None  # e.g. F-E,S-D
    proper_shipping_name: str | None = None
    container: str | None = None
    stowage_position: str | None = None  # bay-row-tier, e.g. 0120482
    gross_mass_kg: Decimal | None = None
    marine_pollutant: bool = False


@dataclass(slots=True)
class DangerousGoodsNotification:
    """The dangerous cargo of one call (IMO FAL form 7; from IFTDGN)."""

    header: Header
    document_number: str
    call: CallKey
    vessel_name: str | None = None
    items: list[DangerousCargoItem] = field(default_factory=list)
    not_mapped: list[NotMappedElement] = field(default_factory=list)  # issue #16

    DOCUMENT_TYPE = "DangerousGoodsNotification"

    def references(self) -> list[str]:
        refs = [self.document_number, f"{self.call.imo_number}/{self.call.voyage_number}"]
        refs.extend(i.container for i in self.items if i.container)
        return list(dict.fromkeys(refs))


@dataclass(slots=True)
class ContainerMovement:
    """One container discharged from or loaded onto the vessel, as the terminal saw it."""

    container: str
    operation: Operation
    time: dt.datetime | None = None
    size_type: str | None = None
    full: bool | None = None  # None: not said
    seals: tuple[str, ...] = ()
    gross_mass_kg: Decimal | None = None
    transport_document: str | None = None  # the bill of lading (RFF+BM)
    stowage_position: str | None = None
    place_of_loading: str | None = None
    place_of_discharge: str | None = None


@dataclass(slots=True)
class TerminalOperationsReport:
    """What a terminal discharged or loaded for one call (COARRI; APCS XML)."""

    header: Header
    document_number: str
    call: CallKey
    operation: Operation
    terminal: str | None = None
    complete: bool = False  # the terminal says the operation is finished for this call
    completed_at: dt.datetime | None = None
    movements: list[ContainerMovement] = field(default_factory=list)
    not_mapped: list[NotMappedElement] = field(default_factory=list)  # issue #16

    DOCUMENT_TYPE = "TerminalOperationsReport"

    def references(self) -> list[str]:
        refs = [self.document_number, f"{self.call.imo_number}/{self.call.voyage_number}"]
        refs.extend(m.container for m in self.movements)
        return list(dict.fromkeys(refs))


ReconciliationBasis = Literal[
    "discharge_complete", "after_hours", "loading_complete", "after_departure"
]
#: What a reconciliation is of: the discharge (inward manifests) or the loading (outward ones).
Direction = Literal["inward", "outward"]


@dataclass(slots=True)
class Discrepancy:
    """One container whose discharge does not match its manifests (kinds: docs/calls.md)."""

    # SHORT_LANDED, OVER_LANDED (inward); SHORT_SHIPPED, LOADED_NOT_DECLARED (outward);
    # SEAL_MISMATCH, WEIGHT_MISMATCH (either)
    kind: str
    container: str
    sentence: str
    declared: str | None = None  # seals or mass as declared (mismatches)
    discharged: str | None = None  # ... and as discharged (inward) or loaded (outward)
    bills: list[DiscrepancyBill] = field(default_factory=list)  # none: on no manifest


@dataclass(slots=True)
class ManifestDiscrepancyReport:
    """The reconciliation of one call, for customs: the gateway's own document (issue #17).

    Of the discharge (``inward``: the manifests of the goods arriving) or of the loading
    (``outward``: the export manifests, whose port of loading is the call's port)."""

    header: Header
    call: CallKey
    basis: ReconciliationBasis  # a terminal said the operation is complete, or hours passed
    reconciled_at: dt.datetime
    containers_declared: int
    containers_discharged: int  # discharged (inward) or loaded (outward)
    call_reference: str | None = None
    vessel_name: str | None = None
    discrepancies: list[Discrepancy] = field(default_factory=list)
    # The call's dangerous goods, notifications against manifests (call_discrepancies).
    dangerous_goods: list[DangerousGoodsDiscrepancy] = field(default_factory=list)
    direction: Direction = "inward"

    DOCUMENT_TYPE = "ManifestDiscrepancyReport"

    @property
    def port_of_call(self) -> str:
        """The call's port: what ``[[routes]]`` match it by (``routing.office_of``)."""
        return self.call.port_of_call

    def references(self) -> list[str]:
        """IMO/voyage, the call reference, the containers and bills named."""
        refs = [f"{self.call.imo_number}/{self.call.voyage_number}"]
        if self.call_reference:
            refs.append(self.call_reference)
        for d in self.discrepancies:
            refs.append(d.container)
            refs.extend(b.transport_document for b in d.bills)
        for g in self.dangerous_goods:
            refs.extend([g.container] if g.container else [])
            refs.extend(b.transport_document for b in g.bills)
        return list(dict.fromkeys(refs))


CallDocument = VesselCall | DangerousGoodsNotification | TerminalOperationsReport


# ---------------------------------------------------------------- writing

_VOCABULARY = Vocabulary(NAMESPACE)
_q = _VOCABULARY.q
_add = _VOCABULARY.add


def _root(name: str, header: Header) -> etree._Element:
    root = etree.Element(_q(name), nsmap=_VOCABULARY.nsmap, schemaVersion=SCHEMA_VERSION)
    _VOCABULARY.header_to_xml(root, header)
    return root


def _call_key_out(root: etree._Element, key: CallKey) -> None:
    el = etree.SubElement(root, _q("Call"))
    _add(el, "ImoNumber", key.imo_number)
    _add(el, "VoyageNumber", key.voyage_number)
    _add(el, "PortOfCall", key.port_of_call)


def vessel_call_to_xml(doc: VesselCall) -> etree._Element:
    root = _root("VesselCall", doc.header)
    _add(root, "CallReference", doc.call_reference)
    conveyance_out(TreeOut(_VOCABULARY, root), doc.conveyance)
    _add(root, "PortOfCall", doc.port_of_call)
    _add(root, "Berth", doc.berth)
    _add(root, "LastPort", doc.last_port)
    _add(root, "NextPort", doc.next_port)
    _add(root, "EstimatedArrival", doc.eta)
    _add(root, "ActualArrival", doc.ata)
    _add(root, "ActualDeparture", doc.atd)
    _add(root, "CrewCount", doc.crew_count)
    _add(root, "PassengerCount", doc.passenger_count)
    if doc.cargo is not None:
        c = etree.SubElement(root, _q("CargoSummary"))
        _add(c, "ContainersToDischarge", doc.cargo.containers_to_discharge)
        _add(c, "ContainersToLoad", doc.cargo.containers_to_load)
        _add(c, "GrossMassKg", doc.cargo.gross_mass_kg)
        _add(c, "Description", doc.cargo.description)
    not_mapped_out(TreeOut(_VOCABULARY, root), doc.not_mapped)
    return root


def dangerous_goods_to_xml(doc: DangerousGoodsNotification) -> etree._Element:
    root = _root("DangerousGoodsNotification", doc.header)
    _add(root, "DocumentNumber", doc.document_number)
    _call_key_out(root, doc.call)
    _add(root, "VesselName", doc.vessel_name)
    for item in doc.items:
        el = etree.SubElement(root, _q("Item"))
        _add(el, "Sequence", item.sequence)
        _add(el, "UnNumber", item.un_number)
        _add(el, "Class", item.hazard_class)
        _add(el, "PackingGroup", item.packing_group)
        if item.flashpoint is not None:
            unit = {"unit": item.flashpoint_unit} if item.flashpoint_unit else {}
            _add(el, "Flashpoint", item.flashpoint, **unit)
        _add(el, "EmS", item.ems)
        _add(el, "ProperShippingName", item.proper_shipping_name)
        _add(el, "Container", item.container)
        _add(el, "StowagePosition", item.stowage_position)
        _add(el, "GrossMassKg", item.gross_mass_kg)
        if item.marine_pollutant:
            _add(el, "MarinePollutant", True)
    not_mapped_out(TreeOut(_VOCABULARY, root), doc.not_mapped)
    return root


def terminal_report_to_xml(doc: TerminalOperationsReport) -> etree._Element:
    root = _root("TerminalOperationsReport", doc.header)
    _add(root, "DocumentNumber", doc.document_number)
    _call_key_out(root, doc.call)
    _add(root, "Operation", doc.operation)
    _add(root, "Terminal", doc.terminal)
    _add(root, "Complete", doc.complete)
    _add(root, "CompletedAt", doc.completed_at)
    for m in doc.movements:
        el = etree.SubElement(root, _q("Movement"), operation=m.operation)
        _add(el, "Container", m.container)
        _add(el, "Time", m.time)
        _add(el, "SizeType", m.size_type)
        _add(el, "Full", m.full)
        for seal in m.seals:
            _add(el, "Seal", seal)
        _add(el, "GrossMassKg", m.gross_mass_kg)
        _add(el, "TransportDocument", m.transport_document)
        _add(el, "StowagePosition", m.stowage_position)
        _add(el, "PlaceOfLoading", m.place_of_loading)
        _add(el, "PlaceOfDischarge", m.place_of_discharge)
    not_mapped_out(TreeOut(_VOCABULARY, root), doc.not_mapped)
    return root


def discrepancy_report_to_xml(doc: ManifestDiscrepancyReport) -> etree._Element:
    root = _root("ManifestDiscrepancyReport", doc.header)
    _call_key_out(root, doc.call)
    _add(root, "CallReference", doc.call_reference)
    _add(root, "VesselName", doc.vessel_name)
    _add(root, "Direction", doc.direction)
    _add(root, "Basis", doc.basis)
    _add(root, "ReconciledAt", doc.reconciled_at)
    _add(root, "ContainersDeclared", doc.containers_declared)
    handled = "Loaded" if doc.direction == "outward" else "Discharged"
    _add(root, f"Containers{handled}", doc.containers_discharged)
    for d in doc.discrepancies:
        el = etree.SubElement(root, _q("Discrepancy"), kind=d.kind)
        _add(el, "Container", d.container)
        _add(el, "Sentence", d.sentence)
        _add(el, "Declared", d.declared)
        _add(el, handled, d.discharged)
        bills_out(el, d.bills)
    dangerous_out(root, doc.dangerous_goods)
    return root


# ---------------------------------------------------------------- reading

_str = _VOCABULARY.get
_req = _VOCABULARY.req
_opt = _VOCABULARY.opt


def _bool(value: str) -> bool:
    return value.strip() in {"true", "1"}


def _datetime(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _header(root: etree._Element) -> Header:
    el = root.find(_q("Header"))
    if el is None:
        raise ValueError(f"{etree.QName(root).localname} has no Header")
    return _VOCABULARY.header_from_xml(el)


def _call_key(root: etree._Element) -> CallKey:
    el = root.find(_q("Call"))
    if el is None:
        raise ValueError(f"{etree.QName(root).localname} has no Call")
    return CallKey(_req(el, "ImoNumber"), _req(el, "VoyageNumber"), _req(el, "PortOfCall"))


def vessel_call_from_xml(root: etree._Element) -> VesselCall:
    cv = root.find(_q("Conveyance"))
    if cv is None:
        raise ValueError("VesselCall has no Conveyance")
    cargo = None
    ce = root.find(_q("CargoSummary"))
    if ce is not None:
        cargo = CargoSummary(
            containers_to_discharge=_opt(ce, "ContainersToDischarge", int),
            containers_to_load=_opt(ce, "ContainersToLoad", int),
            gross_mass_kg=_opt(ce, "GrossMassKg", Decimal),
            description=_str(ce, "Description"),
        )
    return VesselCall(
        header=_header(root),
        call_reference=_req(root, "CallReference"),
        conveyance=conveyance_from_xml(cv),
        port_of_call=_req(root, "PortOfCall"),
        berth=_str(root, "Berth"),
        last_port=_str(root, "LastPort"),
        next_port=_str(root, "NextPort"),
        eta=_opt(root, "EstimatedArrival", _datetime),
        ata=_opt(root, "ActualArrival", _datetime),
        atd=_opt(root, "ActualDeparture", _datetime),
        crew_count=_opt(root, "CrewCount", int),
        passenger_count=_opt(root, "PassengerCount", int),
        cargo=cargo,
        not_mapped=_VOCABULARY.not_mapped_from_xml(root),
    )


def dangerous_goods_from_xml(root: etree._Element) -> DangerousGoodsNotification:
    items = []
    for el in root.findall(_q("Item")):
        fp = el.find(_q("Flashpoint"))
        items.append(
            DangerousCargoItem(
                sequence=int(_req(el, "Sequence")),
                un_number=_req(el, "UnNumber"),
                hazard_class=_req(el, "Class"),
                packing_group=_str(el, "PackingGroup"),
                flashpoint=None if fp is None else Decimal(fp.text or "0"),
                flashpoint_unit=None if fp is None else fp.get("unit"),
                ems=_str(el, "EmS"),
                proper_shipping_name=_str(el, "ProperShippingName"),
                container=_str(el, "Container"),
                stowage_position=_str(el, "StowagePosition"),
                gross_mass_kg=_opt(el, "GrossMassKg", Decimal),
                marine_pollutant=_opt(el, "MarinePollutant", _bool) or False,
            )
        )
    return DangerousGoodsNotification(
        header=_header(root),
        document_number=_req(root, "DocumentNumber"),
        call=_call_key(root),
        vessel_name=_str(root, "VesselName"),
        items=items,
        not_mapped=_VOCABULARY.not_mapped_from_xml(root),
    )


def terminal_report_from_xml(root: etree._Element) -> TerminalOperationsReport:
    movements = [
        ContainerMovement(
            container=_req(el, "Container"),
            operation=cast(Any, el.get("operation", "")),
            time=_opt(el, "Time", _datetime),
            size_type=_str(el, "SizeType"),
            full=_opt(el, "Full", _bool),
            seals=tuple(_VOCABULARY.get_all(el, "Seal")),
            gross_mass_kg=_opt(el, "GrossMassKg", Decimal),
            transport_document=_str(el, "TransportDocument"),
            stowage_position=_str(el, "StowagePosition"),
            place_of_loading=_str(el, "PlaceOfLoading"),
            place_of_discharge=_str(el, "PlaceOfDischarge"),
        )
        for el in root.findall(_q("Movement"))
    ]
    return TerminalOperationsReport(
        header=_header(root),
        document_number=_req(root, "DocumentNumber"),
        call=_call_key(root),
        operation=cast(Any, _req(root, "Operation")),
        terminal=_str(root, "Terminal"),
        complete=_bool(_req(root, "Complete")),
        completed_at=_opt(root, "CompletedAt", _datetime),
        movements=movements,
        not_mapped=_VOCABULARY.not_mapped_from_xml(root),
    )


def discrepancy_report_from_xml(root: etree._Element) -> ManifestDiscrepancyReport:
    discrepancies = [
        Discrepancy(
            kind=el.get("kind", ""),
            container=_req(el, "Container"),
            sentence=_req(el, "Sentence"),
            declared=_str(el, "Declared"),
            discharged=_str(el, "Discharged") or _str(el, "Loaded"),
            bills=bills_from(el),
        )
        for el in root.findall(_q("Discrepancy"))
    ]
    return ManifestDiscrepancyReport(
        header=_header(root),
        call=_call_key(root),
        basis=cast(Any, _req(root, "Basis")),
        reconciled_at=_datetime(_req(root, "ReconciledAt")),
        containers_declared=int(_req(root, "ContainersDeclared")),
        containers_discharged=int(
            _str(root, "ContainersDischarged") or _req(root, "ContainersLoaded")
        ),
        call_reference=_str(root, "CallReference"),
        vessel_name=_str(root, "VesselName"),
        discrepancies=discrepancies,
        dangerous_goods=dangerous_from(root),
        direction=cast(Any, _str(root, "Direction") or "inward"),
    )


def to_xml(doc: CallDocument) -> etree._Element:
    """The canonical XML element of a call document (unsigned)."""
    if isinstance(doc, VesselCall):
        return vessel_call_to_xml(doc)
    if isinstance(doc, DangerousGoodsNotification):
        return dangerous_goods_to_xml(doc)
    return terminal_report_to_xml(doc)


def from_xml(source: bytes | etree._Element) -> CallDocument:
    """A call document read back (a signature, if present, is ignored here)."""
    root = parse(source) if isinstance(source, bytes) else source
    reader = _READERS.get(root.tag)
    if reader is None:
        raise ValueError(f"{root.tag} is not a call document")
    doc: CallDocument = reader(root)
    return doc


_READERS: dict[str, Any] = {
    _q("VesselCall"): vessel_call_from_xml,
    _q("DangerousGoodsNotification"): dangerous_goods_from_xml,
    _q("TerminalOperationsReport"): terminal_report_from_xml,
}


def _register() -> None:
    """Plug the call documents into ``canonical_xml.to_xml``/``from_xml`` (once, at import)."""
    from gateway.domain import canonical_xml

    canonical_xml.register(VesselCall, "VesselCall", vessel_call_to_xml, vessel_call_from_xml)
    canonical_xml.register(
        DangerousGoodsNotification,
        "DangerousGoodsNotification",
        dangerous_goods_to_xml,
        dangerous_goods_from_xml,
    )
    canonical_xml.register(
        TerminalOperationsReport,
        "TerminalOperationsReport",
        terminal_report_to_xml,
        terminal_report_from_xml,
    )
    canonical_xml.register(
        ManifestDiscrepancyReport,
        "ManifestDiscrepancyReport",
        discrepancy_report_to_xml,
        discrepancy_report_from_xml,
    )


_register()
