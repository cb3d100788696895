"""PAXLST (passenger list) -> canonical :class:`PassengerVehicleList`.

Reads the D02B-D05B PAXLST of the corpus (US CBP ACE) and the ferry profile the
port community uses for travellers with their own vehicle. Per traveller group
(SG4, from its NAD):

==========================  ==========================================================
``NAD+FL|FM|VW|DDT ...``    the traveller: FL passenger, FM crew, VW driver (CBP ACE
                            truck usage, and ferry drivers), C080 = family:given names
``ATT+2++M``                gender (M, F, X)
``DTM+329:ccyymmdd:102``    date of birth
``LOC+178/179/180``         embarkation, disembarkation, place of birth
``NAT+2+EG``                nationality
``DOC+P+number``            travel document; ``DTM+36`` expiry, ``LOC+91`` issuing country
``RFF+ABZ:plate``           vehicle licence number (UNCL 1153 ABZ) - ferry profile
``RFF+ZVC:EG``              vehicle registration country (mutually defined) - ferry profile
``RFF+ZVI:VIN``             vehicle identification number (mutually defined) - ferry profile
``RFF+ZVM:make`` ``RFF+ZVD:model``  vehicle make and model (mutually defined) - ferry profile
==========================  ==========================================================

The voyage is SG2: ``TDT`` (voyage number, carrier, vessel), ``LOC+125`` (last port,
``DTM+189`` departure) and ``LOC+87`` (port of arrival, ``DTM+232`` arrival).

>>> data = (b"UNB+UNOC:3+APCS+CUSTOMS+261130:0800+9'UNH+1+PAXLST:D:05B:UN'BGM+745+L1+9'"
...         b"NAD+VW+++NASSER:OMAR'NAT+2+EG'RFF+ABZ:ABC 1234'UNT+6+1'UNZ+1+9'")
>>> plist = decode(data)[0]
>>> plist.travellers[0].family_name, plist.travellers[0].vehicle.registration_number
('NASSER', 'ABC 1234')
"""

from __future__ import annotations

import re

from adapters.common import (
    DecodeContext,
    MappingError,
    Positions,
    check_xml_characters,
    parse_dtm,
    whole,
)
from adapters.cuscar import FUNCTIONS, payload_hash
from adapters.edifact import Interchange, Message, Segment, parse
from gateway.domain.model import (
    Header,
    PassengerVehicleList,
    Source,
    TravelDocument,
    Traveller,
    TravellerRole,
    Vehicle,
)

MESSAGE_TYPE = "PAXLST"
ROLES: dict[str, TravellerRole] = {
    "FL": "passenger",
    "FM": "crew",
    "DDT": "crew",  # crew member in transit
    "DDU": "passenger",  # passenger in transit
    "VW": "driver",
}
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")


def _country(seg: Segment, element: int) -> str | None:
    """A country code in ``element``, unless its code list says it is a state (CBP list 163)."""
    value, code_list = seg.get(element, 0), seg.get(element, 1)
    if _COUNTRY.match(value) and code_list in ("", "162", "5"):
        return value
    return None


def _traveller(seg: Segment, sequence: int) -> Traveller:
    family = seg.get(3, 0) or seg.get(2, 0)
    given = " ".join(c for c in seg.element(3)[1:] if c and whole(c) is None) or None
    if not family:
        raise MappingError(
            "MISSING_TRAVELLER_NAME",
            f"traveller {sequence} has no family name (NAD C080)",
            f"segment {seg.number} NAD element 3",
            seg.number,
        )
    return Traveller(
        sequence=sequence,
        role=ROLES.get(seg.get(0), "other"),
        family_name=family[:70],
        given_names=given[:70] if given else None,
    )


def decode_message(
    message: Message,
    interchange: Interchange,
    context: DecodeContext | None = None,
    positions: Positions | None = None,
) -> PassengerVehicleList:
    """One PAXLST message as a canonical passenger and vehicle list."""
    context = context or DecodeContext()
    pos: Positions = positions if positions is not None else {}
    check_xml_characters(message)
    body = message.body()
    bgm = next((s for s in body if s.tag == "BGM"), None)
    if bgm is None or not bgm.get(1):
        raise MappingError(
            "MISSING_DOCUMENT_NUMBER",
            f"PAXLST {message.reference} has no BGM document number",
            f"segment {bgm.number if bgm else message.segments[0].number} BGM",
            bgm.number if bgm else message.segments[0].number,
        )
    number = bgm.get(1)
    pos["document_number"] = (bgm.number, "BGM")
    plist = PassengerVehicleList(
        header=Header.new(
            sender=context.sender,
            receiver=context.receiver,
            document_type=PassengerVehicleList.DOCUMENT_TYPE,
            business_reference=number[:70],
            correlation_id=context.correlation_id,
            function=FUNCTIONS.get(bgm.get(2) or "9", "original"),
            test=interchange.test_indicator == "1",
            payload_hash=payload_hash(message, interchange.delimiters),
            source=Source(
                format="EDIFACT",
                message_type=MESSAGE_TYPE,
                directory=message.directory,
                syntax_version=str(interchange.syntax_version),
                interchange_reference=interchange.control_reference,
                message_reference=message.reference,
            ),
        ),
        document_number=number[:35],
    )
    traveller: Traveller | None = None
    document: TravelDocument | None = None
    last_loc = ""
    for seg in body:
        tag = seg.tag
        if tag == "NAD":
            qualifier = seg.get(0)
            if qualifier in ROLES:
                traveller = _traveller(seg, len(plist.travellers) + 1)
                pos[f"travellers[{len(plist.travellers)}]"] = (seg.number, tag)
                plist.travellers.append(traveller)
                document = None
        elif tag == "TDT" and traveller is None:
            pos.setdefault("conveyance", (seg.number, tag))
            cv = plist.conveyance
            cv.voyage_number = seg.get(1)[:35] or cv.voyage_number
            mode = seg.get(2)
            if re.fullmatch(r"0?[0-9]", mode):
                cv.mode_of_transport = mode[-1]
            cv.carrier = (seg.get(4, 3) or seg.get(4))[:70] or cv.carrier
            vessel = seg.get(7)
            if re.fullmatch(r"(?:IMO)?[0-9]{7}", vessel) and seg.get(7, 1) in ("", "IMO", "11"):
                cv.imo_number = vessel[-7:]
                pos["conveyance.imo_number"] = (seg.number, tag)
            elif vessel:
                cv.call_sign = vessel[:35]
            cv.name = seg.get(7, 3)[:70] or cv.name
            if _COUNTRY.match(seg.get(7, 4)):
                cv.nationality = seg.get(7, 4)
        elif tag == "LOC" and traveller is None:
            last_loc = seg.get(0)
            place = seg.get(1)[:35] or None
            if last_loc == "125":
                plist.port_of_departure = place
                pos["port_of_departure"] = (seg.number, tag)
            elif last_loc == "87":
                plist.port_of_call = place
                pos["port_of_call"] = (seg.number, tag)
        elif tag == "DTM" and traveller is None:
            when = parse_dtm(seg.get(0, 1), seg.get(0, 2))
            qualifier = seg.get(0, 0)
            if when is not None and qualifier in ("189", "186", "136"):
                plist.departure_time = when
                pos["departure_time"] = (seg.number, tag)
            elif when is not None and qualifier in ("232", "132", "178"):
                plist.arrival_time = when
                pos["arrival_time"] = (seg.number, tag)
        elif traveller is None:
            continue
        elif tag == "ATT" and seg.get(0) == "2":
            gender = seg.get(2, 0)[:1].upper()
            traveller.gender = gender if gender in ("M", "F", "X") else None
        elif tag == "DTM":
            qualifier = seg.get(0, 0)
            when = parse_dtm(seg.get(0, 1), seg.get(0, 2))
            if when is None:
                continue
            if qualifier == "329" and document is None:
                traveller.birth_date = when.date()
            elif qualifier == "36" and document is not None:
                document.expiry_date = when.date()
        elif tag == "LOC":
            qualifier, place = seg.get(0), seg.get(1)[:35] or None
            if qualifier == "91" and document is not None:
                document.issuing_country = _country(seg, 1) or document.issuing_country
            elif qualifier == "178":
                traveller.place_of_embarkation = place
            elif qualifier == "179":
                traveller.place_of_disembarkation = place
            elif qualifier == "180":
                traveller.birth_place = place
        elif tag == "NAT":
            traveller.nationality = _country(seg, 1) or traveller.nationality
        elif tag == "DOC":
            kind, doc_number = seg.get(0, 0), seg.get(1, 0)
            if kind and doc_number:
                document = TravelDocument(kind=kind[:35], number=doc_number[:35])
                traveller.documents.append(document)
        elif tag == "RFF":
            qualifier, value = seg.get(0, 0), seg.get(0, 1).strip()
            if qualifier not in ("ABZ", "ZVC", "ZVI", "ZVM", "ZVD") or not value:
                continue
            vehicle = traveller.vehicle = traveller.vehicle or Vehicle()
            index = len(plist.travellers) - 1
            pos.setdefault(f"travellers[{index}].vehicle", (seg.number, tag))
            if qualifier == "ABZ":
                vehicle.registration_number = value[:35]
            elif qualifier == "ZVC" and _COUNTRY.match(value):
                vehicle.registration_country = value
            elif qualifier == "ZVI":
                vehicle.vin = value.upper() if _VIN.match(value.upper()) else None
                if vehicle.vin is None:
                    raise MappingError(
                        "INVALID_VIN",
                        f"VIN {value} of traveller {traveller.sequence} is not 17 characters "
                        "of ISO 3779 (digits and letters other than I, O, Q)",
                        f"segment {seg.number} RFF element 0 component 1",
                        seg.number,
                    )
            elif qualifier == "ZVM":
                vehicle.make = value[:35]
            elif qualifier == "ZVD":
                vehicle.model = value[:35]
    if not plist.travellers:
        raise MappingError(
            "MISSING_TRAVELLERS",
            f"PAXLST {message.reference} lists no traveller (no NAD FL, FM, VW, DDT or DDU)",
            f"message {message.reference}",
            message.segments[0].number,
        )
    return plist


def is_paxlst(message: Message) -> bool:
    return message.type == MESSAGE_TYPE


def decode(data: bytes, context: DecodeContext | None = None) -> list[PassengerVehicleList]:
    """Every PAXLST message in ``data`` as a passenger and vehicle list."""
    return [
        decode_message(message, interchange, context)
        for interchange in parse(data)
        for message in interchange.messages
        if is_paxlst(message)
    ]
