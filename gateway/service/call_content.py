"""What the call registry keeps of a manifest (issue #17): the call it names, its direction, its
bills and the containers each bill declares.

**Direction** (issue #17, point 5). A manifest whose port of call (header ``LOC+60``/``125``)
is a port of Algeria is **inward**: the goods arriving, discharged at that call. One whose
port of call is not (a foreign port of arrival, or none) and whose **port of loading** is a
port of Algeria is **outward**, an export manifest of the call at that port: the port of
loading is the conveyance's place of departure (header ``LOC+5``, UNCL 3227 "place of
departure": where the means of transport departs from), else the first bill's place of
loading (``LOC+9``, "place/port of loading"; a header ``LOC+9`` stands for every bill that
has none). An outward manifest's bills declare their containers for loading at that port
(a bill loading at another port of the voyage: not loaded here); it is linked by its
expected departure (``DTM+133``) instead of its expected arrival.

>>> from gateway.domain.model import CargoManifest, Consignment, Conveyance, GoodsItem, Header
>>> m = CargoManifest(Header.new(sender="apcs", document_type="CargoManifest",
...     business_reference="MAN-1"), "MAN-1", Conveyance(imo_number="9454436",
...     voyage_number="0MA1RN1MA"), port_of_call="DZALG", consignments=[Consignment(1, "BL-1",
...     master_sequence_number=1, goods_items=[GoodsItem(1, equipment_references=["CMAU3000009"])])])
>>> str(manifest_call(m))
'9454436/0MA1RN1MA/DZALG'
>>> bills, equipment = manifest_content(m, "apcs")
>>> [(b.transport_document, b.master_sequence_number) for b in bills], [e.container for e in equipment]
([('BL-1', 1)], ['CMAU3000009'])
"""

from __future__ import annotations

import datetime as dt

from gateway.domain.calls import CallKey, port_of_call_problem
from gateway.domain.model import CargoManifest, TransportEquipment
from gateway.storage.call_records import BillRecord, DeclaredEquipment


def _ours(place: str | None) -> bool:
    return bool(place) and port_of_call_problem(place) is None


def outward_port(doc: CargoManifest) -> str | None:
    """The port of Algeria an outward (export) manifest loads at; None for an inward one.

    >>> from gateway.domain.model import Consignment, Header
    >>> m = CargoManifest(Header.new(sender="apcs", document_type="CargoManifest",
    ...     business_reference="EXP-1"), "EXP-1", port_of_call="FRMRS",
    ...     consignments=[Consignment(1, "BL-1", place_of_loading="DZALG")])
    >>> outward_port(m), outward_port(CargoManifest(m.header, "IMP-1", port_of_call="DZALG"))
    ('DZALG', None)
    """
    if _ours(doc.port_of_call):
        return None
    first = next((c.place_of_loading for c in doc.consignments if c.place_of_loading), None)
    for place in (doc.place_of_departure, first):
        if place and _ours(place):
            return place
    return None


def expected_at_port(doc: CargoManifest) -> dt.datetime | None:
    """When the manifest expects the vessel at the call's port: its expected arrival, or for
    an outward manifest its expected departure (what links it to its call's ETA)."""
    return doc.departure_time if outward_port(doc) else doc.arrival_time


def manifest_call(doc: CargoManifest) -> CallKey | None:
    """The call a manifest names, or None when it lacks the IMO number, voyage or port: the
    port of call, or an outward manifest's port of loading."""
    c = doc.conveyance
    port = outward_port(doc) or doc.port_of_call
    if not (c.imo_number and c.voyage_number and port):
        return None
    return CallKey(c.imo_number, c.voyage_number, port)


def _equipment_facts(e: TransportEquipment) -> tuple[tuple[str, ...], str | None]:
    mass = e.verified_gross_mass_kg if e.verified_gross_mass_kg is not None else e.gross_mass_kg
    return tuple(s.number for s in e.seals), None if mass is None else str(mass)


def manifest_content(
    doc: CargoManifest, sender: str
) -> tuple[list[BillRecord], list[DeclaredEquipment]]:
    """The bills of a manifest and the containers each declares (see ``DeclaredEquipment``).

    A container's seals and mass come from its equipment entry (the bill's own, else the
    manifest's); dangerous goods are the UN numbers of the bill's goods in that container.
    """
    outward = outward_port(doc)
    number, port = doc.document_number, outward or doc.port_of_call
    facts = {e.identifier: _equipment_facts(e) for e in doc.equipment}
    bills: list[BillRecord] = []
    rows: list[DeclaredEquipment] = []
    on_a_bill: set[str] = set()
    for i, c in enumerate(doc.consignments):
        bills.append(
            BillRecord(
                sender,
                number,
                i,
                c.transport_document,
                c.transport_document_kind,
                c.master_reference,
                c.master_sequence_number,
                c.house_sequence_number,
                c.place_of_discharge,
            )
        )
        own = {e.identifier: _equipment_facts(e) for e in c.equipment}
        un_numbers: dict[str, list[str]] = {e.identifier: [] for e in c.equipment}
        for item in c.goods_items:
            found = [d.un_number for d in item.dangerous_goods if d.un_number]
            for container in item.equipment_references or ([""] if found else []):
                un_numbers.setdefault(container, []).extend(found)
        here = (c.place_of_loading if outward else c.place_of_discharge) in (None, "", port)
        for container, uns in un_numbers.items():
            seals, mass = own.get(container) or facts.get(container) or ((), None)
            rows.append(
                DeclaredEquipment(
                    sender,
                    number,
                    len(rows),
                    container,
                    c.transport_document,
                    seals,
                    mass,
                    here,
                    tuple(dict.fromkeys(uns)),
                )
            )
            on_a_bill.add(container)
    for container, (seals, mass) in facts.items():
        if container not in on_a_bill:  # on the manifest's list only
            rows.append(DeclaredEquipment(sender, number, len(rows), container, "", seals, mass))
    return bills, rows
