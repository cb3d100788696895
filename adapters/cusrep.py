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

from decimal import Decimal

from adapters import call_segments as cs
from adapters.common import DecodeContext, MappingError, Positions, to_kg, whole
from adapters.edifact import Interchange, Message
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


def decode_message(
    message: Message,
    interchange: Interchange,
    context: DecodeContext | None = None,
    positions: Positions | None = None,
) -> VesselCall:
    """One CUSREP message as a canonical vessel call."""
    context = context or DecodeContext()
    pos: Positions = positions if positions is not None else {}
    body, bgm, number = cs.begin(message, MESSAGE_TYPE)
    pos["document_number"] = (bgm.number, "BGM")
    conveyance = Conveyance()
    tdt = None
    port_of_call = berth = last_port = next_port = None
    eta = ata = atd = None
    counts: dict[str, int] = {}
    mass: Decimal | None = None
    description: str | None = None
    for seg in body:
        tag = seg.tag
        if tag == "TDT" and tdt is None:
            tdt = seg
            cs.vessel(seg, conveyance)
            pos["conveyance"] = (seg.number, tag)
        elif tag == "RFF" and seg.get(0, 0) == "ZCS" and seg.get(0, 1):
            conveyance.call_sign = seg.get(0, 1)[:35]
        elif tag == "LOC":
            qualifier = seg.get(0)
            if qualifier == "60" and port_of_call is None:
                port_of_call = cs.place(seg, port_of_call=True)
                berth = (seg.get(2, 3) or seg.get(2))[:35] or None
                pos["port_of_call"] = (seg.number, tag)
            elif qualifier == "125":
                last_port = cs.place(seg)
            elif qualifier == "61":
                next_port = cs.place(seg)
        elif tag == "DTM":
            qualifier, moment = cs.when(seg)
            if qualifier == "132":
                eta = moment
            elif qualifier == "178":
                ata = moment
            elif qualifier == "186":
                atd = moment
        elif tag == "QTY" and seg.get(0, 0) in _COUNTS:
            count = whole(seg.get(0, 1))
            if count is None:
                raise MappingError(
                    "INVALID_QUANTITY",
                    f"QTY+{seg.get(0, 0)} {seg.get(0, 1)!r} is not a whole number",
                    f"segment {seg.number} QTY element 0 component 1",
                    seg.number,
                )
            counts[_COUNTS[seg.get(0, 0)]] = count
        elif tag == "MEA" and seg.get(1) == "G":
            mass = to_kg(seg.get(2, 1), seg.get(2, 0), interchange.delimiters.decimal)
        elif tag == "FTX" and seg.get(0) == "AAA":
            description = ":".join(c for c in seg.element(3) if c)[:512] or None
    where = f"CUSREP {message.reference}"
    cs.require_imo(conveyance, tdt, where)
    cs.require_voyage(conveyance, tdt, where)
    port = cs.require_port_of_call(port_of_call, message, "LOC+60")
    cargo_counts = {k: v for k, v in counts.items() if k.startswith("containers")}
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
        eta=eta,
        ata=ata,
        atd=atd,
        crew_count=counts.get("crew_count"),
        passenger_count=counts.get("passenger_count"),
        cargo=cargo,
    )


def is_cusrep(message: Message) -> bool:
    return message.type == MESSAGE_TYPE


def decode(data: bytes, context: DecodeContext | None = None) -> list[VesselCall]:
    """Every CUSREP message in ``data`` as a vessel call."""
    return cs.decode_all(data, context, is_cusrep, decode_message)
