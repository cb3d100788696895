"""IFTDGN (dangerous goods notification, IMO FAL form 7) -> :class:`DangerousGoodsNotification`.

Neither the packaged nor the generated directory tables define IFTDGN, so the directory
validator checks only UNH/UNT (a warning says so); the segments are read by tag and
qualifier. The call is named as in CUSREP (``TDT`` with the IMO number, ``LOC+60``); then
one group per dangerous cargo entry, opened by its ``DGS``:

======================================================  ==========================================
``DGS+IMD+<class>+<UN no>+<flashpoint>:CEL+<PG>+<EmS>``  regulation, class (C205), UN number
                                                         (C234), flashpoint (C223), packing
                                                         group (8339), EmS (8364)
``FTX+AAD+++<proper shipping name>``                     proper shipping name (technical name)
``FTX+AAC+++MARINE POLLUTANT``                           marine pollutant
``MEA+AAE+G+KGM:<mass>``                                 gross mass
``EQD+CN+<container>``                                   the container it is in
``SGP+<container>``                                      the container it is in, as the directory
                                                         places it (D.96A: the equipment in SG5
                                                         before the goods, each DGS's placement
                                                         in its SGP; its package count carried)
``LOC+147+<bay row tier>``                               stowage position (cell)
======================================================  ==========================================

An item holds one container: a second EQD or SGP of the same DGS (goods split over two
containers) is carried in NotMapped, as an EQD before the first DGS is (the directory's SG5:
the equipment list, which names no goods).

>>> data = (b"UNH+1+IFTDGN:D:95B:UN'BGM+ZZZ+DG-1+9'TDT+20+V1+1+++++9454436:146:11'"
...         b"LOC+60+DZORN:139:6'DGS+IMD+3+1263+023:CEL+2+F-E,S-E'EQD+CN+CMAU1234567'UNT+7+1'")
>>> dgn = decode(data)[0]
>>> item = dgn.items[0]
>>> item.un_number, item.hazard_class, item.packing_group, item.flashpoint, item.container
('1263', '3', '2', Decimal('23'), 'CMAU1234567')
"""

from __future__ import annotations

import re

from adapters import call_segments as cs
from adapters.common import DecodeContext, MappingError, Positions, to_decimal
from adapters.cuscar_segments import vessel
from adapters.edifact import Interchange, Message, Segment
from adapters.residue import ALL, NOTHING, Residue, Shape, cut
from gateway.domain.calls import CallKey, DangerousCargoItem, DangerousGoodsNotification
from gateway.domain.model import Conveyance

MESSAGE_TYPE = "IFTDGN"
_UN = re.compile(r"^[0-9]{4}$")
_CLASS = re.compile(r"^[1-9](?:\.[1-6])?[A-Z]?$")
_PACKING = {"1": "1", "2": "2", "3": "3", "I": "1", "II": "2", "III": "3"}
# What the notification keeps of its TDT: the voyage and the vessel (IMO number and the list
# and agency that say so, name); mode, carrier and flag are the call's (CUSREP), carried here.
CALL_VESSEL_SHAPE: Shape = (1, 1, 0, 0, 0, 0, 0, 4)


def _item(
    seg: Segment, sequence: int, decimal_mark: str, residue: Residue
) -> tuple[DangerousCargoItem, Shape]:
    un, hazard = seg.get(2, 0).strip(), seg.get(1, 0).strip()
    if not _UN.match(un):
        raise MappingError(
            "INVALID_UN_NUMBER",
            f"dangerous cargo {sequence}: UN number {un!r} is not four digits (DGS C234 7124)",
            f"segment {seg.number} DGS element 2",
            seg.number,
        )
    if not _CLASS.match(hazard):
        raise MappingError(
            "INVALID_HAZARD_CLASS",
            f"dangerous cargo {sequence} (UN {un}): class {hazard!r} is not an IMDG class "
            "(DGS C205 8351, e.g. 3, 2.1, 4.3)",
            f"segment {seg.number} DGS element 1",
            seg.number,
        )
    packing = seg.get(4).strip().upper()
    if packing and packing not in _PACKING:
        raise MappingError(
            "INVALID_PACKING_GROUP",
            f"dangerous cargo {sequence} (UN {un}): packing group {packing!r} is not I, II or III",
            f"segment {seg.number} DGS element 4",
            seg.number,
        )
    flashpoint = to_decimal(seg.get(3, 0), decimal_mark)
    if packing:
        residue.implied(seg, 4, 0, _PACKING[packing])  # II is packing group 2, carried as sent
    item = DangerousCargoItem(
        sequence=sequence,
        un_number=un,
        hazard_class=hazard,
        packing_group=_PACKING.get(packing),
        flashpoint=flashpoint,
        flashpoint_unit=(seg.get(3, 1) or None) if flashpoint is not None else None,
        ems=cut(residue, seg, 5, 0, 35) or None,
    )
    # The regulation is the IMDG code's (IMD) in a notification to a port: other codes carried.
    regulation = 1 if seg.get(0) in ("", "IMD") else 0
    return item, (regulation, 1, 1, 2 if flashpoint is not None else 0, 1, 1)


def decode_message(
    message: Message,
    interchange: Interchange,
    context: DecodeContext | None = None,
    positions: Positions | None = None,
) -> DangerousGoodsNotification:
    """One IFTDGN message as a canonical dangerous goods notification; what it does not map
    is carried in its NotMapped section (an item's field already filled keeps the first)."""
    context = context or DecodeContext()
    pos: Positions = positions if positions is not None else {}
    body, bgm, number = cs.begin(message, MESSAGE_TYPE)
    pos["document_number"] = (bgm.number, "BGM")
    residue = cs.residue_of(message, bgm)
    conveyance = Conveyance()
    tdt = None
    port_of_call: str | None = None
    items: list[DangerousCargoItem] = []
    decimal_mark = interchange.delimiters.decimal
    for seg in body:
        tag = seg.tag
        item = items[-1] if items else None
        shape: Shape = NOTHING
        if tag == "BGM" and seg.number == bgm.number:
            shape = cs.BGM_SHAPE
        elif tag == "DGS":
            found, shape = _item(seg, len(items) + 1, decimal_mark, residue)
            items.append(found)
            pos[f"items[{len(items) - 1}]"] = (seg.number, tag)
        elif tag == "TDT" and tdt is None:
            tdt = seg
            vessel(seg, conveyance, residue)
            shape = CALL_VESSEL_SHAPE
        elif tag == "LOC" and item is None and seg.get(0) == "60" and port_of_call is None:
            port_of_call = cs.place(seg)
            pos["call.port_of_call"] = (seg.number, tag)
            shape = cs.place_shape(seg)
        elif item is not None:
            shape = _item_segment(seg, item, decimal_mark, residue)
        residue.segment(seg, shape)
    where = f"IFTDGN {message.reference}"
    imo = cs.require_imo(conveyance, tdt, where)
    voyage = cs.require_voyage(conveyance, tdt, where)
    port = cs.require_port_of_call(port_of_call, message, "LOC+60")
    if not items:
        raise MappingError(
            "MISSING_DANGEROUS_GOODS",
            f"{where} declares no dangerous cargo (no DGS)",
            f"message {message.reference}",
            message.segments[0].number,
        )
    return DangerousGoodsNotification(
        header=cs.header(
            message, interchange, context, bgm, DangerousGoodsNotification.DOCUMENT_TYPE, number
        ),
        document_number=number,
        call=CallKey(imo, voyage, port),
        vessel_name=conveyance.name,
        items=items,
        not_mapped=residue.finish(),
    )


def _item_segment(
    seg: Segment, item: DangerousCargoItem, decimal_mark: str, residue: Residue
) -> Shape:
    """A segment of a dangerous cargo entry (after its DGS): the shape of what it mapped."""
    tag, qualifier = seg.tag, seg.get(0)
    if tag == "FTX" and qualifier == "AAD" and item.proper_shipping_name is None:
        name = " ".join(c for c in seg.element(3) if c)
        if 0 < len(name) <= 512:
            item.proper_shipping_name = name
            return (1, 0, 0, ALL)
    elif tag == "FTX" and qualifier == "AAC":
        text = " ".join(seg.element(3)).upper()
        item.marine_pollutant = item.marine_pollutant or "MARINE POLLUTANT" in text
        # The flag holds the text only when the text is the words themselves.
        if " ".join(c for c in seg.element(3) if c).upper() == "MARINE POLLUTANT":
            return (1, 0, 0, ALL)
    elif tag == "MEA" and seg.get(1) == "G" and item.gross_mass_kg is None:
        item.gross_mass_kg, shape = cs.gross_mass(seg, decimal_mark, residue)
        return shape
    elif tag == "EQD" and seg.get(1) and item.container is None:
        item.container = _container(seg, 1, residue)
        return (1 if qualifier in ("", "CN") else 0, 1)
    elif tag == "SGP" and seg.get(0) and item.container is None:
        item.container = _container(seg, 0, residue)
        return (1,)  # C237's code list, agency and country, and the package count: carried
    elif tag == "LOC" and qualifier == "147" and seg.get(1) and item.stowage_position is None:
        item.stowage_position = seg.get(1).strip()[:35]
        if len(seg.get(1).strip()) > 35:
            residue.keep(seg, 1)
        return (1, 1)
    return NOTHING


def _container(seg: Segment, element: int, residue: Residue) -> str:
    """The container of an EQD (C237 at element 1) or an SGP (C237 at element 0)."""
    if len(seg.get(element)) > 35:
        residue.keep(seg, element)
    return seg.get(element).replace(" ", "").upper()[:35]


def is_iftdgn(message: Message) -> bool:
    return message.type == MESSAGE_TYPE


def decode(data: bytes, context: DecodeContext | None = None) -> list[DangerousGoodsNotification]:
    """Every IFTDGN message in ``data`` as a dangerous goods notification."""
    return cs.decode_all(data, context, is_iftdgn, decode_message)
