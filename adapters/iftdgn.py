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
``LOC+147+<bay row tier>``                               stowage position (cell)
======================================================  ==========================================

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
from adapters.common import DecodeContext, MappingError, Positions, to_decimal, to_kg
from adapters.edifact import Interchange, Message, Segment
from gateway.domain.calls import CallKey, DangerousCargoItem, DangerousGoodsNotification
from gateway.domain.model import Conveyance

MESSAGE_TYPE = "IFTDGN"
_UN = re.compile(r"^[0-9]{4}$")
_CLASS = re.compile(r"^[1-9](?:\.[1-6])?[A-Z]?$")
_PACKING = {"1": "1", "2": "2", "3": "3", "I": "1", "II": "2", "III": "3"}


def _item(seg: Segment, sequence: int, decimal_mark: str) -> DangerousCargoItem:
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
    return DangerousCargoItem(
        sequence=sequence,
        un_number=un,
        hazard_class=hazard,
        packing_group=_PACKING.get(packing),
        flashpoint=flashpoint,
        flashpoint_unit=(seg.get(3, 1) or None) if flashpoint is not None else None,
        ems=seg.get(5)[:35] or None,
    )


def decode_message(
    message: Message,
    interchange: Interchange,
    context: DecodeContext | None = None,
    positions: Positions | None = None,
) -> DangerousGoodsNotification:
    """One IFTDGN message as a canonical dangerous goods notification."""
    context = context or DecodeContext()
    pos: Positions = positions if positions is not None else {}
    body, bgm, number = cs.begin(message, MESSAGE_TYPE)
    pos["document_number"] = (bgm.number, "BGM")
    conveyance = Conveyance()
    tdt = None
    port_of_call: str | None = None
    items: list[DangerousCargoItem] = []
    decimal_mark = interchange.delimiters.decimal
    for seg in body:
        tag = seg.tag
        item = items[-1] if items else None
        if tag == "DGS":
            items.append(_item(seg, len(items) + 1, decimal_mark))
            pos[f"items[{len(items) - 1}]"] = (seg.number, tag)
        elif tag == "TDT" and tdt is None:
            tdt = seg
            cs.vessel(seg, conveyance)
        elif tag == "LOC" and item is None and seg.get(0) == "60" and port_of_call is None:
            port_of_call = cs.place(seg)
            pos["call.port_of_call"] = (seg.number, tag)
        elif item is None:
            continue
        elif tag == "FTX" and seg.get(0) == "AAD":
            item.proper_shipping_name = " ".join(c for c in seg.element(3) if c)[:512] or None
        elif tag == "FTX" and seg.get(0) == "AAC":
            text = " ".join(seg.element(3)).upper()
            item.marine_pollutant = item.marine_pollutant or "MARINE POLLUTANT" in text
        elif tag == "MEA" and seg.get(1) == "G":
            item.gross_mass_kg = to_kg(seg.get(2, 1), seg.get(2, 0), decimal_mark)
        elif tag == "EQD" and seg.get(1):
            item.container = seg.get(1).replace(" ", "").upper()[:35]
        elif tag == "LOC" and seg.get(0) == "147" and seg.get(1):
            item.stowage_position = seg.get(1).strip()[:35]
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
    )


def is_iftdgn(message: Message) -> bool:
    return message.type == MESSAGE_TYPE


def decode(data: bytes, context: DecodeContext | None = None) -> list[DangerousGoodsNotification]:
    """Every IFTDGN message in ``data`` as a dangerous goods notification."""
    return cs.decode_all(data, context, is_iftdgn, decode_message)
