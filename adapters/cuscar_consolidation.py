"""The master/house hierarchy of a CUSCAR consignment group (CNI and its RFF groups).

In the CUSCAR directory a consignment group opens with CNI (1490 consolidation item number,
C503 the document: the master bill of lading) and holds one RFF group per transport
document: a consolidation is a CNI carrying the master bill followed by an ``RFF+BH`` group
per house bill, each with its own places, parties and goods. The canonical manifest keeps
the hierarchy flat, in document order: the master (``consolidated``), then its houses
(``kind="house"``, ``master_reference`` = the master bill), all with the master's sequence
number (MSN, the CNI's 1490) and each house with its own (HSN 1, 2 ...).

>>> from gateway.domain.model import CargoManifest, Header
>>> m = CargoManifest(Header.new(sender="a", document_type="CargoManifest",
...                   business_reference="M"), "M")
>>> group = CniGroup.start(m, "1", "CMDUALG0001", rank=1)
>>> group.transport_reference("house", "HB-1")
'opened'
>>> [(c.transport_document, c.transport_document_kind, c.master_reference,
...   c.master_sequence_number, c.house_sequence_number, c.consolidated) for c in m.consignments]
[('CMDUALG0001', 'master', None, 1, None, True), ('HB-1', 'house', 'CMDUALG0001', 1, 1, False)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from adapters.common import whole
from gateway.domain.model import CargoManifest, Consignment

Reference = Literal["opened", "kept", "carried"]
"""What an RFF naming a bill did: opened a consignment of its own, was kept in the current
one, or has no field left (carried verbatim, issue #16)."""

# RFF 1153 qualifiers that carry a transport document number, and whether it is a house one.
# AAA is an order acknowledgement number (UNCL 1153), not a bill: it is not read as one.
TRANSPORT_DOCUMENT_RFF: dict[str, Literal["master", "house"]] = {
    "BM": "master",
    "MB": "master",
    "BH": "house",
    "HB": "house",
}


@dataclass(slots=True)
class CniGroup:
    """One CNI group of a manifest: its own consignment, the current one and the houses."""

    manifest: CargoManifest
    first: Consignment  # the consignment the CNI itself opened
    current: Consignment  # the one the segments read now belong to
    number: str  # the bill the CNI carried (C503 1004), "" when none
    houses: int = 0

    @classmethod
    def start(cls, manifest: CargoManifest, item_number: str, document: str, rank: int) -> CniGroup:
        """The group of the ``rank``-th CNI: MSN is its 1490 when that is a positive number,
        else its rank."""
        consignment = Consignment(
            sequence=len(manifest.consignments) + 1,
            transport_document=document[:35],
            master_sequence_number=whole(item_number) or rank,
        )
        manifest.consignments.append(consignment)
        return cls(manifest, consignment, consignment, consignment.transport_document)

    def _new(self, document: str, kind: Literal["master", "house"], master: str | None) -> None:
        consignment = Consignment(
            sequence=len(self.manifest.consignments) + 1,
            transport_document=document,
            transport_document_kind=kind,
            master_reference=master,
            master_sequence_number=self.first.master_sequence_number,
        )
        if kind == "house":
            self.houses += 1
            consignment.house_sequence_number = self.houses
        self.manifest.consignments.append(consignment)
        self.current = consignment

    def transport_reference(self, kind: Literal["master", "house"], value: str) -> Reference:
        """An RFF naming a bill (``value`` at most 35 characters): whether it opened a
        consignment of its own (now current), was kept in the current one, or is carried."""
        current = self.current
        if kind == "house":
            if current.transport_document in ("", value):
                # The CNI (or this RFF group) is itself the house bill: say so, keep its goods.
                current.transport_document = value
                current.transport_document_kind = "house"
                if current.house_sequence_number is None:
                    self.houses += 1
                    current.house_sequence_number = self.houses
                return "kept"
            # Another bill: a house of its own under the CNI's master bill.
            first = self.first
            master: str | None = first.master_reference
            if first.transport_document_kind == "master":
                first.consolidated = True
                master = first.transport_document
            self._new(value, "house", master)
            return "opened"
        if current.goods_items:
            # A second bill inside one CNI, its goods numbered from 1 again (MSC/Egypt,
            # CUSCAR_indice_1): a consignment of its own, grouped under the CNI number.
            grouped = self.number if self.number and self.number != value else None
            self._new(value, "master", grouped)
            return "opened"
        if not current.transport_document:
            current.transport_document = value
            current.transport_document_kind = "master"
        elif value != current.transport_document:
            if current.master_reference not in (None, value):
                return "carried"  # a third bill for one consignment: no field left
            current.master_reference = value
        return "kept"
