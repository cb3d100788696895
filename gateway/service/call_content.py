"""What the call registry keeps of a manifest (issue #17): the call it names, its bills and the
containers each bill declares.

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

from gateway.domain.calls import CallKey
from gateway.domain.model import CargoManifest, TransportEquipment
from gateway.storage.call_records import BillRecord, DeclaredEquipment


def manifest_call(doc: CargoManifest) -> CallKey | None:
    """The call a manifest names, or None when it lacks the IMO number, voyage or port."""
    c = doc.conveyance
    if not (c.imo_number and c.voyage_number and doc.port_of_call):
        return None
    return CallKey(c.imo_number, c.voyage_number, doc.port_of_call)


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
    number, port = doc.document_number, doc.port_of_call
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
        here = c.place_of_discharge in (None, "", port)
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
