"""CUSREP (customs conveyance report: the arrival notification, IMO FAL form 1) -> :class:`VesselCall`.

Neither the packaged nor the generated directory tables define CUSREP, so the directory
validator checks only UNH/UNT (a warning says so); the segments are read by tag and
qualifier, in this profile (the one APCS sends):

==================================  ========================================================
``BGM+<1001>+<call ref>+<1225>``    the call reference; 1225 9 original, 5 replace, 1 cancel
``TDT+20+<voyage>+1++<operator>``   voyage (8028), operator (C040); C222: IMO number
``+++<IMO>:146:11:<name>:<flag>``   (code list 146 or agency 11), vessel name, flag
``RFF+ZCS:<call sign>``             call sign (mutually defined qualifier)
``LOC+60+<LOCODE>+<berth>:ZZZ``     port of call (a port of Algeria) and berth (C519)
``LOC+125`` / ``LOC+61``            last port of call, next port of call
``DTM+132`` ``DTM+178`` ``DTM+186``  ETA, ATA, ATD
``QTY+ZCR:<n>`` ``QTY+ZPA:<n>``     crew, passengers (mutually defined qualifiers)
``QTY+ZCD:<n>`` ``QTY+ZCL:<n>``     containers to discharge, to load
``MEA+AAE+G+KGM:<mass>``            gross mass of the cargo to discharge
``FTX+AAA+++<text>``                brief description of the cargo
==================================  ========================================================

>>> data = (b"UNH+1+CUSREP:D:95B:UN'BGM+ZZZ+CALL-1+9'TDT+20+V1+1+++++9454436:146:11:TAGE:MT'"
...         b"LOC+60+DZALG:139:6'UNT+5+1'")
>>> call = decode(data)[0]
>>> call.key.imo_number, call.port_of_call, call.conveyance.nationality
('9454436', 'DZALG', 'MT')
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from adapters import call_segments as cs
from adapters.common import DecodeContext, MappingError, Positions, whole
from adapters.cuscar_segments import vessel
from adapters.edifact import Interchange, Message, Segment
from adapters.residue import ALL, NOTHING, Residue, Shape, cut
from gateway.domain.calls import CargoSummary, VesselCall
from gateway.domain.model import Conveyance

MESSAGE_TYPE = "CUSREP"
# QTY 6063 (mutually defined) -> VesselCall / CargoSummary attribute.
_COUNTS = {
    "ZCR": "crew_count",
    "ZPA": "passenger_count",
    "ZCD": "containers_to_discharge",
    "ZCL": "containers_to_load",
}
_TIMES = ("132", "178", "186")  # DTM 2005: ETA, ATA, ATD


def decode_message(
    message: Message,
    interchange: Interchange,
    context: DecodeContext | None = None,
    positions: Positions | None = None,
) -> VesselCall:
    """One CUSREP message as a canonical vessel call; what it does not map is carried in its
    NotMapped section (a field already filled keeps the first value, the later one is carried)."""
    context = context or DecodeContext()
    pos: Positions = positions if positions is not None else {}
    body, bgm, number = cs.begin(message, MESSAGE_TYPE)
    pos["document_number"] = (bgm.number, "BGM")
    residue = cs.residue_of(message, bgm)
    conveyance = Conveyance()
    tdt = None
    port_of_call = berth = last_port = next_port = None
    times: dict[str, dt.datetime] = {}
    counts: dict[str, int] = {}
    mass: Decimal | None = None
    description: str | None = None
    decimal_mark = interchange.delimiters.decimal
    for seg in body:
        tag = seg.tag
        shape: Shape = NOTHING
        if tag == "BGM" and seg.number == bgm.number:
            shape = cs.BGM_SHAPE
        elif tag == "TDT" and tdt is None:
            tdt = seg
            shape = vessel(seg, conveyance, residue)
            pos["conveyance"] = (seg.number, tag)
        elif tag == "RFF" and seg.get(0, 0) == "ZCS" and seg.get(0, 1) and not conveyance.call_sign:
            conveyance.call_sign = cut(residue, seg, 0, 1, 35)
            shape = (2,)
        elif tag == "LOC":
            qualifier = seg.get(0)
            if qualifier == "60" and port_of_call is None:
                port_of_call = cs.place(seg, port_of_call=True)
                berth = _berth(seg, residue)
                pos["port_of_call"] = (seg.number, tag)
                shape = (*cs.place_shape(seg), 4)
            elif qualifier == "125" and last_port is None:
                last_port = cs.place(seg)
                shape = cs.place_shape(seg)
            elif qualifier == "61" and next_port is None:
                next_port = cs.place(seg)
                shape = cs.place_shape(seg)
        elif tag == "DTM":
            qualifier, moment = cs.when(seg)
            if moment is not None and qualifier in _TIMES and qualifier not in times:
                times[qualifier] = moment
                shape = cs.DTM_SHAPE
        elif tag == "QTY" and seg.get(0, 0) in _COUNTS and seg.get(0, 0) not in counts:
            count = whole(seg.get(0, 1))
            if count is None:
                raise MappingError(
                    "INVALID_QUANTITY",
                    f"QTY+{seg.get(0, 0)} {seg.get(0, 1)!r} is not a whole number",
                    f"segment {seg.number} QTY element 0 component 1",
                    seg.number,
                )
            counts[seg.get(0, 0)] = count
            shape = (2,)
        elif tag == "MEA" and seg.get(1) == "G" and mass is None:
            mass, shape = cs.gross_mass(seg, decimal_mark, residue)
        elif tag == "FTX" and seg.get(0) == "AAA" and description is None:
            text = ":".join(c for c in seg.element(3) if c)
            if 0 < len(text) <= 512:
                description = text
                shape = (1, 0, 0, ALL)
        residue.segment(seg, shape)
    where = f"CUSREP {message.reference}"
    cs.require_imo(conveyance, tdt, where)
    cs.require_voyage(conveyance, tdt, where)
    port = cs.require_port_of_call(port_of_call, message, "LOC+60")
    cargo_counts = {_COUNTS[k]: v for k, v in counts.items() if _COUNTS[k].startswith("containers")}
    cargo = (
        CargoSummary(gross_mass_kg=mass, description=description, **cargo_counts)
        if cargo_counts or mass is not None or description
        else None
    )
    return VesselCall(
        header=cs.header(message, interchange, context, bgm, VesselCall.DOCUMENT_TYPE, number),
        call_reference=number,
        conveyance=conveyance,
        port_of_call=port,
        berth=berth,
        last_port=last_port,
        next_port=next_port,
        eta=times.get("132"),
        ata=times.get("178"),
        atd=times.get("186"),
        crew_count=counts.get("ZCR"),
        passenger_count=counts.get("ZPA"),
        cargo=cargo,
        not_mapped=residue.finish(),
    )


def _berth(seg: Segment, residue: Residue) -> str | None:
    """The berth of LOC+60 (C519): its name (3222) when sent, else its code (3223); the code
    beside a name, and C519's code list and agency, are carried."""
    name = cut(residue, seg, 2, 3, 35)
    if name:
        residue.keep(seg, 2, 0)
    residue.keep(seg, 2, 1)
    residue.keep(seg, 2, 2)
    return name or cut(residue, seg, 2, 0, 35) or None


def is_cusrep(message: Message) -> bool:
    return message.type == MESSAGE_TYPE


def decode(data: bytes, context: DecodeContext | None = None) -> list[VesselCall]:
    """Every CUSREP message in ``data`` as a vessel call."""
    return cs.decode_all(data, context, is_cusrep, decode_message)
