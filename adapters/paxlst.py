"""PAXLST (passenger list) -> canonical :class:`PassengerVehicleList`.

Reads the D02B-D05B PAXLST of the corpus (US CBP ACE) and the ferry profile the
port community uses for travellers with their own vehicle. The groups are the
directories': a NAD before the voyage (SG2) is the reporting party (SG1, with its CTA
and COM), but for a traveller role code; every NAD after it opens a traveller (SG4),
and all up to the next NAD is his. Per traveller group:

==========================  ==========================================================
``NAD+FL|FM|VW|DDT ...``    the traveller: FL passenger, FM crew, VW driver (CBP ACE
                            truck usage, and ferry drivers), C080 = family:given names;
                            any other code: role "other", the code kept. C082 id with
                            its scheme, C058/C059 ... 3207 the address
``EMP``                     employment (a crew member's rank), the codes as sent
``RFF`` (other qualifiers)  the traveller's references
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
``DTM+189`` departure) and ``LOC+87`` (port of arrival, ``DTM+232`` arrival). Header
``RFF`` are the list's references; ``CNT+42`` (total passengers, checked by the rule
PASSENGER_COUNT) and ``CNT+41`` (total crew) are kept.

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
from adapters.cuscar_segments import communication, contact, party
from adapters.edifact import Interchange, Message, Segment, parse
from gateway.domain.model import (
    Address,
    Contact,
    DocumentReference,
    Employment,
    Header,
    Party,
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


def _address(seg: Segment, name_from_c058: bool) -> Address | None:
    """The traveller's address: C058 lines (but the name when C080 is empty), C059 street,
    3164 city, C819 subdivision (a US state, not a country), 3251 postcode, 3207 country."""
    c058 = [c for c in seg.element(2) if c][1 if name_from_c058 else 0 :]
    lines = [line[:70] for line in [*c058, *(c for c in seg.element(4) if c)]]
    country = seg.get(8)
    address = Address(
        lines=lines,
        city=seg.get(5)[:35] or None,
        subdivision=seg.get(6)[:35] or None,
        postal_code=seg.get(7)[:35] or None,
        country=country if _COUNTRY.match(country) else None,
    )
    return address if address != Address() else None


def _traveller(seg: Segment, sequence: int) -> Traveller:
    """A traveller from the NAD that opens his group (SG4), whatever its role code."""
    family = seg.get(3, 0) or seg.get(2, 0)
    given = " ".join(c for c in seg.element(3)[1:] if c and whole(c) is None) or None
    if not family:
        raise MappingError(
            "MISSING_TRAVELLER_NAME",
            f"traveller {sequence} has no family name (NAD C080)",
            f"segment {seg.number} NAD element 3",
            seg.number,
        )
    qualifier = seg.get(0)
    identifier = seg.get(1)[:35] or None
    return Traveller(
        sequence=sequence,
        role=ROLES.get(qualifier, "other"),
        role_code=qualifier[:3] or None,
        family_name=family[:70],
        given_names=given[:70] if given else None,
        identifier=identifier,
        identifier_scheme=(seg.get(1, 1)[:17] or None) if identifier else None,
        identifier_scheme_agency=(seg.get(1, 2)[:3] or None) if identifier else None,
        address=_address(seg, name_from_c058=not seg.get(3, 0)),
    )


def _employment(seg: Segment) -> Employment:
    """EMP: 9003, C948 category, C951 occupation (code 9009, text 9008), C950 qualification,
    3494 job title, 9035 applicability, the codes as sent."""
    return Employment(
        qualifier=seg.get(0)[:3],
        category=seg.get(1, 0)[:35] or None,
        occupation=seg.get(2, 0)[:35] or None,
        occupation_text=seg.get(2, 3)[:70] or None,
        qualification=seg.get(3, 0)[:35] or None,
        job_title=seg.get(4)[:35] or None,
        applicability=seg.get(5)[:35] or None,
    )


def _reference(seg: Segment) -> DocumentReference | None:
    qualifier, number = seg.get(0, 0), seg.get(0, 1).strip()
    return DocumentReference(qualifier[:3], number[:70]) if qualifier and number else None


def _count(seg: Segment, plist: PassengerVehicleList, pos: Positions) -> None:
    """CNT+42 (total passengers) and CNT+41 (total crew): kept, CNT+42 checked by a rule."""
    qualifier, value = seg.get(0, 0), seg.get(0, 1)
    if qualifier not in ("41", "42"):
        return
    count = whole(value)
    if count is None:
        raise MappingError(
            "INVALID_CONTROL_TOTAL",
            f"CNT+{qualifier} count {value!r} is not a whole number",
            f"segment {seg.number} CNT element 0 component 1",
            seg.number,
        )
    if qualifier == "42":
        plist.passenger_total = count
        pos["passenger_total"] = (seg.number, seg.tag)
    else:
        plist.crew_total = count
        pos["crew_total"] = (seg.number, seg.tag)


def _reporting_party(seg: Segment, party: Party | None) -> Party | None:
    """CTA and COM of the SG1 party: its contacts."""
    if party is None:
        return None
    if seg.tag == "CTA":
        party.contacts = (*party.contacts, contact(seg))
    elif (com := communication(seg)) is not None:
        if not party.contacts:
            party.contacts = (Contact(),)
        party.contacts[-1].communications.append(com)
    return party


def decode_message(
    message: Message,
    interchange: Interchange,
    context: DecodeContext | None = None,
    positions: Positions | None = None,
) -> PassengerVehicleList:
    """One PAXLST message as a canonical passenger and vehicle list.

    Groups as the directories (D02B..D05B) define them: a NAD before the voyage (SG2, from
    its TDT) is the reporting party (SG1), but for a traveller role code; every NAD after it
    opens a traveller (SG4), and all up to the next NAD is his.
    """
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
    reporting: Party | None = None
    voyage_seen = False
    for seg in body:
        tag = seg.tag
        if tag == "NAD" and traveller is None and not voyage_seen and seg.get(0) not in ROLES:
            reporting = party(seg)
            pos[f"parties[{len(plist.parties)}]"] = (seg.number, tag)
            plist.parties.append(reporting)
        elif tag == "NAD":
            traveller = _traveller(seg, len(plist.travellers) + 1)
            pos[f"travellers[{len(plist.travellers)}]"] = (seg.number, tag)
            plist.travellers.append(traveller)
            document = reporting = None
        elif tag == "CNT":
            _count(seg, plist, pos)
        elif traveller is None:
            if tag == "TDT":
                voyage_seen = True
                reporting = None
            elif tag in ("CTA", "COM"):
                reporting = _reporting_party(seg, reporting)
            _voyage_segment(seg, plist, pos)
        else:
            document = _traveller_segment(seg, plist, traveller, document, pos)
    if not plist.travellers:
        raise MappingError(
            "MISSING_TRAVELLERS",
            f"PAXLST {message.reference} lists no traveller (no NAD after the voyage's TDT, "
            "nor NAD FL, FM, VW, DDT or DDU)",
            f"message {message.reference}",
            message.segments[0].number,
        )
    return plist


def _voyage_segment(seg: Segment, plist: PassengerVehicleList, pos: Positions) -> None:
    """A segment before the first traveller: header RFF, the voyage (SG2: TDT, LOC, DTM)."""
    tag = seg.tag
    if tag == "RFF" and (reference := _reference(seg)) is not None:
        plist.document_references.append(reference)
    elif tag == "TDT":
        pos.setdefault("conveyance", (seg.number, tag))
        cv = plist.conveyance
        cv.voyage_number = seg.get(1)[:35] or cv.voyage_number
        mode = seg.get(2)
        if re.fullmatch(r"0?[0-9]", mode):
            cv.mode_of_transport = mode[-1]
        cv.carrier = (seg.get(4, 3) or seg.get(4))[:70] or cv.carrier
        vessel = seg.get(7)
        # The IMO number the standard way is 8213 with list 146 (means of transport
        # identification) of agency 11 (Lloyd's Register): 9287039:146:11.
        if re.fullmatch(r"(?:IMO)?[0-9]{7}", vessel) and (
            seg.get(7, 1) in ("", "IMO", "11", "146") or seg.get(7, 2) == "11"
        ):
            cv.imo_number = vessel[-7:]
            pos["conveyance.imo_number"] = (seg.number, tag)
        elif vessel:
            cv.call_sign = vessel[:35]
        cv.name = seg.get(7, 3)[:70] or cv.name
        if _COUNTRY.match(seg.get(7, 4)):
            cv.nationality = seg.get(7, 4)
    elif tag == "LOC":
        place = seg.get(1)[:35] or None
        if seg.get(0) == "125":
            plist.port_of_departure = place
            pos["port_of_departure"] = (seg.number, tag)
        elif seg.get(0) == "87":
            plist.port_of_call = place
            pos["port_of_call"] = (seg.number, tag)
    elif tag == "DTM":
        when = parse_dtm(seg.get(0, 1), seg.get(0, 2))
        qualifier = seg.get(0, 0)
        if when is not None and qualifier in ("189", "186", "136"):
            plist.departure_time = when
            pos["departure_time"] = (seg.number, tag)
        elif when is not None and qualifier in ("232", "132", "178"):
            plist.arrival_time = when
            pos["arrival_time"] = (seg.number, tag)


def _traveller_segment(
    seg: Segment,
    plist: PassengerVehicleList,
    traveller: Traveller,
    document: TravelDocument | None,
    pos: Positions,
) -> TravelDocument | None:
    """A segment of a traveller's group (SG4, with SG5 documents); the document it opens."""
    tag = seg.tag
    if tag == "ATT" and seg.get(0) == "2":
        gender = seg.get(2, 0)[:1].upper()
        traveller.gender = gender if gender in ("M", "F", "X") else None
    elif tag == "DTM":
        qualifier = seg.get(0, 0)
        when = parse_dtm(seg.get(0, 1), seg.get(0, 2))
        if when is not None and qualifier == "329" and document is None:
            traveller.birth_date = when.date()
        elif when is not None and qualifier == "36" and document is not None:
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
    elif tag == "EMP":
        traveller.employment.append(_employment(seg))
    elif tag == "DOC":
        kind, doc_number = seg.get(0, 0), seg.get(1, 0)
        if kind and doc_number:
            document = TravelDocument(kind=kind[:35], number=doc_number[:35])
            traveller.documents.append(document)
    elif tag == "RFF" and seg.get(0, 0) in _VEHICLE_RFF and seg.get(0, 1).strip():
        _vehicle_reference(seg, traveller, len(plist.travellers) - 1, pos)
    elif tag == "RFF" and (reference := _reference(seg)) is not None:
        traveller.references.append(reference)
    return document


_VEHICLE_RFF = ("ABZ", "ZVC", "ZVI", "ZVM", "ZVD")


def _vehicle_reference(seg: Segment, traveller: Traveller, index: int, pos: Positions) -> None:
    qualifier, value = seg.get(0, 0), seg.get(0, 1).strip()
    vehicle = traveller.vehicle = traveller.vehicle or Vehicle()
    pos.setdefault(f"travellers[{index}].vehicle", (seg.number, seg.tag))
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
