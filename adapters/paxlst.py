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
``DTM+329:ccyymmdd:102``    date of birth; ``yymmdd`` (format 101, or no format: the
                            WCO/IATA/ICAO API guidelines' dates) in the century that
                            puts it on or before the day the list was sent (UNB 0017)
``LOC+178/179/180``         embarkation, disembarkation, place of birth
``NAT+2+EG``                nationality
``DOC+P+number``            travel document; ``DTM+36`` expiry (``yymmdd`` as any
                            EDIFACT date: years 69-99 are 19xx, 00-68 20xx), ``LOC+91``
                            issuing country
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

import datetime as dt
import re
from collections.abc import Iterable

from adapters.common import (
    DecodeContext,
    MappingError,
    Positions,
    check_xml_characters,
    parse_dtm,
    whole,
)
from adapters.cuscar import FUNCTIONS, body_segments, carry_function_code, payload_hash
from adapters.cuscar_segments import (
    CONTACT_SHAPE,
    communication,
    contact,
    party,
    place_width,
    vessel,
)
from adapters.edifact import Interchange, Message, Segment, parse
from adapters.residue import NOTHING, Residue, Shape, cut
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
_COUNTRY_LISTS = ("", "162", "5")  # ISO 3166 (162, or agency 5 put in the list's place)
_COUNTRY_AGENCIES = ("", "5")  # ISO
_DEPARTURE_DTM = ("189", "186", "136")
_ARRIVAL_DTM = ("232", "132", "178")  # the first of each is the one the field implies
_DATE_FORMATS = ("", "102", "101")  # a date without a time: a date field holds all of it
_DTM_SHAPE: Shape = (3,)


def _country(seg: Segment, element: int) -> str | None:
    """A country code in ``element``, unless its code list says it is a state (CBP list 163)."""
    value, code_list = seg.get(element, 0), seg.get(element, 1)
    if _COUNTRY.match(value) and code_list in _COUNTRY_LISTS:
        return value
    return None


def _country_width(seg: Segment, element: int, residue: Residue) -> int:
    """How much of a country composite (3207/3293, 1131, 3055) a country field holds: ISO
    3166's list (162) and agency (5) are implied, a 5 in the list's place is carried."""
    residue.implied(seg, element, 1, "162")
    return 3 if seg.get(element, 2) in _COUNTRY_AGENCIES else 2


def _address(seg: Segment, name_from_c058: bool, residue: Residue) -> Address | None:
    """The traveller's address: C058 lines (but the name when C080 is empty), C059 street,
    3164 city, C819 subdivision (a US state, not a country), 3251 postcode, 3207 country."""
    c058 = [(2, i) for i, c in enumerate(seg.element(2)[:5]) if c][1 if name_from_c058 else 0 :]
    c059 = [(4, i) for i, c in enumerate(seg.element(4)[:4]) if c]
    country = seg.get(8)
    address = Address(
        lines=[cut(residue, seg, e, c, 70) for e, c in (*c058, *c059)],
        city=cut(residue, seg, 5, 0, 35) or None,
        subdivision=cut(residue, seg, 6, 0, 35) or None,
        postal_code=cut(residue, seg, 7, 0, 35) or None,
        country=country if _COUNTRY.match(country) else None,
    )
    return address if address != Address() else None


def _traveller(seg: Segment, sequence: int, residue: Residue) -> tuple[Traveller, Shape]:
    """A traveller from the NAD that opens his group (SG4), whatever its role code: C080
    family and given names (a number among the given names, or 3045, is carried)."""
    family_at = (3, 0) if seg.get(3, 0) else (2, 0)
    family = seg.get(*family_at)
    if not family:
        raise MappingError(
            "MISSING_TRAVELLER_NAME",
            f"traveller {sequence} has no family name (NAD C080)",
            f"segment {seg.number} NAD element 3",
            seg.number,
        )
    given_at = [i for i, c in enumerate(seg.element(3)[1:5], start=1) if c]
    for i in given_at:
        if whole(seg.get(3, i)) is not None:
            residue.keep(seg, 3, i)
    given = " ".join(seg.get(3, i) for i in given_at if whole(seg.get(3, i)) is None) or None
    if given is not None and len(given) > 70:
        for i in given_at:
            residue.keep(seg, 3, i)
    qualifier = seg.get(0)
    identifier = cut(residue, seg, 1, 0, 35) or None
    found = Traveller(
        sequence=sequence,
        role=ROLES.get(qualifier, "other"),
        role_code=residue.share(cut(residue, seg, 0, 0, 3)) or None,
        family_name=residue.share(cut(residue, seg, *family_at, 70)),
        given_names=residue.share(given[:70]) if given else None,
        identifier=identifier,
        identifier_scheme=(cut(residue, seg, 1, 1, 17) or None) if identifier else None,
        identifier_scheme_agency=(cut(residue, seg, 1, 2, 3) or None) if identifier else None,
        address=_address(seg, family_at == (2, 0), residue),
    )
    country = seg.get(8)
    return found, (
        1,
        3 if identifier else 0,
        5,
        5,
        4,
        1,
        1,
        1,
        1 if not country or _COUNTRY.match(country) else 0,
    )


def _employment(seg: Segment, residue: Residue) -> Employment:
    """EMP: 9003, C948 category, C951 occupation (code 9009, text 9008), C950 qualification,
    3494 job title, 9035 applicability, the codes as sent (shape :data:`_EMP_SHAPE`; the
    occupation's code list and agency carried)."""
    residue.keep(seg, 2, 1)
    residue.keep(seg, 2, 2)
    return Employment(
        qualifier=cut(residue, seg, 0, 0, 3),
        category=cut(residue, seg, 1, 0, 35) or None,
        occupation=cut(residue, seg, 2, 0, 35) or None,
        occupation_text=cut(residue, seg, 2, 3, 70) or None,
        qualification=cut(residue, seg, 3, 0, 35) or None,
        job_title=cut(residue, seg, 4, 0, 35) or None,
        applicability=cut(residue, seg, 5, 0, 35) or None,
    )


_EMP_SHAPE: Shape = (1, 1, 4, 1, 1, 1)


def _reference(seg: Segment, residue: Residue) -> DocumentReference | None:
    qualifier, number = seg.get(0, 0), seg.get(0, 1).strip()
    if not qualifier or not number:
        return None
    if len(number) > 70:
        residue.keep(seg, 0, 1)
    return DocumentReference(cut(residue, seg, 0, 0, 3), number[:70])


def _count(seg: Segment, plist: PassengerVehicleList, pos: Positions) -> Shape:
    """CNT+42 (total passengers) and CNT+41 (total crew): kept, CNT+42 checked by a rule."""
    qualifier, value = seg.get(0, 0), seg.get(0, 1)
    if qualifier not in ("41", "42"):
        return NOTHING
    count = whole(value)
    if count is None:
        raise MappingError(
            "INVALID_CONTROL_TOTAL",
            f"CNT+{qualifier} count {value!r} is not a whole number",
            f"segment {seg.number} CNT element 0 component 1",
            seg.number,
        )
    if qualifier == "42" and plist.passenger_total is None:
        plist.passenger_total = count
        pos["passenger_total"] = (seg.number, seg.tag)
    elif qualifier == "41" and plist.crew_total is None:
        plist.crew_total = count
        pos["crew_total"] = (seg.number, seg.tag)
    else:
        return NOTHING
    return (2,)


def _reporting_party(seg: Segment, party: Party | None, residue: Residue) -> Shape:
    """CTA and COM of the SG1 party: its contacts."""
    if party is None:
        return NOTHING
    if seg.tag == "CTA":
        party.contacts = (*party.contacts, contact(seg, residue))
        return CONTACT_SHAPE
    com, shape = communication(seg, residue)
    if com is not None:
        if not party.contacts:
            party.contacts = (Contact(),)
        party.contacts[-1].communications.append(com)
    return shape


def decode_message(
    message: Message,
    interchange: Interchange,
    context: DecodeContext | None = None,
    positions: Positions | None = None,
    *,
    release: bool = False,
    stream: Iterable[Segment] | None = None,
) -> PassengerVehicleList:
    """One PAXLST message as a canonical passenger and vehicle list.

    Groups as the directories (D02B..D05B) define them: a NAD before the voyage (SG2, from
    its TDT) is the reporting party (SG1), but for a traveller role code; every NAD after it
    opens a traveller (SG4), and all up to the next NAD is his. What no field holds is carried
    in the list's NotMapped section (a field already filled keeps the first value).

    ``release`` and ``stream`` as :func:`adapters.cuscar.decode_message`'s: a summer
    sailing's 1,500 travellers are some 20,000 segments, which held whole beside the list
    they become were twice the budget of the issue #18 (the gateway's memory at most 10x
    the PAXLST): let go as they are read (``release``), or read again from the input as
    they are decoded (``stream``), only the list grows.
    """
    context = context or DecodeContext()
    pos: Positions = positions if positions is not None else {}
    if stream is None:
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
    first = message.segments[0].number
    residue = Residue(first)
    carry_function_code(residue, bgm)
    plist = PassengerVehicleList(
        header=Header.new(
            sender=context.sender,
            receiver=context.receiver,
            document_type=PassengerVehicleList.DOCUMENT_TYPE,
            business_reference=number[:70],
            correlation_id=context.correlation_id,
            function=FUNCTIONS.get(bgm.get(2) or "9", "original"),
            test=interchange.test_indicator == "1",
            payload_hash=""
            if stream is not None
            else payload_hash(message, interchange.delimiters),
            source=Source(
                format="EDIFACT",
                message_type=MESSAGE_TYPE,
                directory=message.directory,
                syntax_version=str(interchange.syntax_version),
                interchange_reference=interchange.control_reference,
                message_reference=message.reference,
            ),
        ),
        document_number=cut(residue, bgm, 1, 0, 35),
    )
    born_by = _sent_on(interchange)
    traveller: Traveller | None = None
    growing: _Growing | None = None
    document: TravelDocument | None = None
    reporting: Party | None = None
    voyage_seen = conveyance_read = False
    said: dict[str, Segment] = {}  # the voyage's fields: which segment gave each
    segments, streamed = body_segments(
        message, body, interchange.delimiters, release=release, stream=stream
    )
    for seg in segments:
        tag = seg.tag
        shape: Shape = NOTHING
        if tag == "BGM":
            # 1225 is the function only when the gateway knows it; 1001 (745 passenger list,
            # 250 crew list ...) says which list: carried, as C106's version and revision.
            known = bgm.get(2) in ("", *FUNCTIONS)
            shape = (0, 1, 1 if known else 0) if seg.number == bgm.number else NOTHING
        elif tag == "NAD" and traveller is None and not voyage_seen and seg.get(0) not in ROLES:
            reporting, shape = party(seg, residue)
            pos[f"parties[{len(plist.parties)}]"] = (seg.number, tag)
            plist.parties.append(reporting)
        elif tag == "NAD":
            if growing is not None:
                growing.settle()
            traveller, shape = _traveller(seg, len(plist.travellers) + 1, residue)
            growing = _Growing(traveller)
            pos[f"travellers[{len(plist.travellers)}]"] = (seg.number, tag)
            plist.travellers.append(traveller)
            document = reporting = None
        elif tag == "CNT":
            shape = _count(seg, plist, pos)
        elif traveller is None:
            if tag == "TDT":
                voyage_seen = True
                reporting = None
                if not conveyance_read:
                    conveyance_read = True
                    pos.setdefault("conveyance", (seg.number, tag))
                    shape = vessel(seg, plist.conveyance, residue)
                    if plist.conveyance.imo_number:
                        pos["conveyance.imo_number"] = (seg.number, tag)
            elif tag in ("CTA", "COM"):
                shape = _reporting_party(seg, reporting, residue)
            else:
                shape = _voyage_segment(seg, plist, pos, residue, said)
        else:
            assert growing is not None
            document, shape = _traveller_segment(
                seg, plist, growing, document, pos, residue, born_by
            )
        residue.segment(seg, shape)
    if growing is not None:
        growing.settle()
    if not plist.travellers:
        raise MappingError(
            "MISSING_TRAVELLERS",
            f"PAXLST {message.reference} lists no traveller (no NAD after the voyage's TDT, "
            "nor NAD FL, FM, VW, DDT or DDU)",
            f"message {message.reference}",
            first,
        )
    plist.not_mapped = residue.finish()
    if streamed is not None:
        plist.header.payload_hash = streamed.hash
    return plist


def _voyage_segment(
    seg: Segment,
    plist: PassengerVehicleList,
    pos: Positions,
    residue: Residue,
    said: dict[str, Segment],
) -> Shape:
    """A segment before the first traveller: header RFF, the voyage's LOC and DTM.

    A later port or time of the voyage replaces an earlier one (the one in its LOC group,
    after the TDT's, is the one that counts); the earlier segment is then carried
    (``said``: which segment gave each field).
    """
    tag = seg.tag
    if tag == "RFF" and (reference := _reference(seg, residue)) is not None:
        plist.document_references.append(reference)
        return (2,)
    if tag == "LOC":
        qualifier = seg.get(0)
        field = {"125": "port_of_departure", "87": "port_of_call"}.get(qualifier)
        if field is None or not seg.get(1):
            return NOTHING
        _replace(field, seg, said, residue)
        setattr(plist, field, cut(residue, seg, 1, 0, 35))
        pos[field] = (seg.number, tag)
        return (1, place_width(seg))
    if tag == "DTM":
        when = parse_dtm(seg.get(0, 1), seg.get(0, 2))
        qualifier = seg.get(0, 0)
        if when is None:
            return NOTHING
        if qualifier in _DEPARTURE_DTM:
            field = "departure_time"
        elif qualifier in _ARRIVAL_DTM:
            field = "arrival_time"
        else:
            return NOTHING
        _replace(field, seg, said, residue)
        setattr(plist, field, when)
        residue.implied(seg, 0, 0, _DEPARTURE_DTM[0] if field == "departure_time" else "232")
        pos[field] = (seg.number, tag)
        return _DTM_SHAPE
    return NOTHING


def _replace(field: str, seg: Segment, said: dict[str, Segment], residue: Residue) -> None:
    """``seg`` gives ``field`` now: the segment that gave it before is carried."""
    before = said.get(field)
    if before is not None:
        residue.account(before, NOTHING)
    said[field] = seg


def _date(seg: Segment, residue: Residue, born_by: dt.date | None = None) -> dt.date | None:
    """The date of a DTM; a time it also gives has no field, so the value is carried too.

    Six digits and no format (2379) are ``yymmdd``, as the WCO/IATA/ICAO API guidelines write
    every date of a PAXLST (``DTM+329:570121``). A date of birth (``born_by``: the day the list
    was sent) with a two-digit year is in the century that puts it on or before that day:
    ``570121`` is 21 January 1957, not 2057 (EDIFACT's 2-digit years read 00-68 as 20xx).
    """
    value, fmt = seg.get(0, 1), seg.get(0, 2)
    if not fmt and len(value.strip()) == 6:
        fmt = "101"
    when = parse_dtm(value, fmt)
    if when is None:
        return None
    if fmt not in _DATE_FORMATS:
        residue.keep(seg, 0, 1)
    day = when.date()
    if born_by is not None and fmt in _TWO_DIGIT_YEARS and day > born_by:
        try:
            day = day.replace(year=day.year - 100)
        except ValueError:  # 29 February of a year whose century before was no leap year
            residue.keep(seg, 0, 1)
            return None
    return residue.share(day)


_TWO_DIGIT_YEARS = ("101", "201")


def _sent_on(interchange: Interchange) -> dt.date:
    """The day the interchange was prepared (UNB 0017: yymmdd, or ccyymmdd in syntax 4), else
    today: a date of birth is on or before it."""
    text = interchange.date.strip()
    when = parse_dtm(text, "102" if len(text) == 8 else "101")
    return when.date() if when is not None else dt.datetime.now(dt.UTC).date()


class _Growing:
    """A traveller's documents, employment and references as they are read (appended to,
    in constant time), given to the traveller when the next one starts (:meth:`settle`):
    each list no longer than it is, and none at all where () says it (issue #18's memory
    budget: a 1,500-traveller list held 3,000 empty lists)."""

    __slots__ = ("documents", "employment", "references", "traveller")

    def __init__(self, traveller: Traveller) -> None:
        self.traveller = traveller
        self.documents: list[TravelDocument] = []
        self.employment: list[Employment] = []
        self.references: list[DocumentReference] = []

    def settle(self) -> None:
        t = self.traveller
        if self.documents:
            t.documents = self.documents[:]  # exactly as long: no room kept for more
        t.employment, t.references = tuple(self.employment), tuple(self.references)


def _traveller_segment(
    seg: Segment,
    plist: PassengerVehicleList,
    growing: _Growing,
    document: TravelDocument | None,
    pos: Positions,
    residue: Residue,
    born_by: dt.date | None = None,
) -> tuple[TravelDocument | None, Shape]:
    """A segment of a traveller's group (SG4, with SG5 documents): the document it opens (or
    the one still open) and the shape of what it mapped; ``born_by``: :func:`_date`'s."""
    traveller = growing.traveller
    tag, qualifier = seg.tag, seg.get(0, 0)
    if tag == "ATT" and qualifier == "2" and traveller.gender is None:
        gender = _GENDERS.get(seg.get(2, 0).upper())
        if gender is not None:
            traveller.gender = gender
            residue.implied(seg, 2, 0, gender)  # "m" is M, and carried as sent
            return document, (1, 0, 1)
    elif tag == "DTM" and qualifier == "329" and document is None and traveller.birth_date is None:
        traveller.birth_date = _date(seg, residue, born_by)
        return document, (_DTM_SHAPE if traveller.birth_date is not None else NOTHING)
    elif tag == "DTM" and qualifier == "36" and document is not None:
        if document.expiry_date is None:
            document.expiry_date = _date(seg, residue)
            return document, (_DTM_SHAPE if document.expiry_date is not None else NOTHING)
    elif tag == "LOC":
        return document, _traveller_place(seg, traveller, document, residue)
    elif tag == "NAT" and traveller.nationality is None and (found := _country(seg, 1)):
        traveller.nationality = residue.share(found)
        return document, (1 if qualifier in ("", "2") else 0, _country_width(seg, 1, residue))
    elif tag == "EMP":
        growing.employment.append(_employment(seg, residue))
        return document, _EMP_SHAPE
    elif tag == "DOC" and qualifier and seg.get(1, 0):
        document = TravelDocument(
            kind=residue.share(cut(residue, seg, 0, 0, 35)), number=cut(residue, seg, 1, 0, 35)
        )
        growing.documents.append(document)
        return document, (1, 1)
    elif tag == "RFF" and qualifier in _VEHICLE_RFF and seg.get(0, 1).strip():
        kept = _vehicle_reference(seg, traveller, len(plist.travellers) - 1, pos, residue)
        return document, ((2,) if kept else NOTHING)
    elif tag == "RFF" and (reference := _reference(seg, residue)) is not None:
        growing.references.append(reference)
        return document, (2,)
    return document, NOTHING


def _traveller_place(
    seg: Segment, traveller: Traveller, document: TravelDocument | None, residue: Residue
) -> Shape:
    """LOC+91 (the open document's issuing country), 178, 179, 180 (embarkation,
    disembarkation, birth place); a place already said is carried."""
    qualifier = seg.get(0)
    if qualifier == "91":
        country = _country(seg, 1)
        if document is None or country is None or document.issuing_country is not None:
            return NOTHING
        document.issuing_country = residue.share(country)
        return (1, _country_width(seg, 1, residue))
    field = _TRAVELLER_PLACES.get(qualifier)
    if field is None or not seg.get(1) or getattr(traveller, field) is not None:
        return NOTHING
    setattr(traveller, field, residue.share(cut(residue, seg, 1, 0, 35)))
    return (1, place_width(seg))


_TRAVELLER_PLACES = {
    "178": "place_of_embarkation",
    "179": "place_of_disembarkation",
    "180": "birth_place",
}
_VEHICLE_RFF = ("ABZ", "ZVC", "ZVI", "ZVM", "ZVD")
_SHARED_RFF = ("ZVC", "ZVM", "ZVD")
# ATT+2 gender (ICAO 9303), as sent in any case: one object each.
_GENDERS = {"M": "M", "F": "F", "X": "X"}
_VEHICLE_FIELDS = {
    "ABZ": "registration_number",
    "ZVC": "registration_country",
    "ZVI": "vin",
    "ZVM": "make",
    "ZVD": "model",
}


def _vehicle_reference(
    seg: Segment, traveller: Traveller, index: int, pos: Positions, residue: Residue
) -> bool:
    """A vehicle RFF into the traveller's vehicle; False when its field is already said (or a
    registration country is no country code): the RFF is then carried."""
    qualifier, value = seg.get(0, 0), seg.get(0, 1).strip()
    vehicle = traveller.vehicle or Vehicle()
    field = _VEHICLE_FIELDS[qualifier]
    if getattr(vehicle, field) is not None:
        return False
    if qualifier == "ZVC" and not _COUNTRY.match(value):
        return False
    if qualifier == "ZVI":
        if not _VIN.match(value.upper()):
            raise MappingError(
                "INVALID_VIN",
                f"VIN {value} of traveller {traveller.sequence} is not 17 characters "
                "of ISO 3779 (digits and letters other than I, O, Q)",
                f"segment {seg.number} RFF element 0 component 1",
                seg.number,
            )
        value = value.upper()
    elif len(value) > 35:
        residue.keep(seg, 0, 1)
        value = value[:35]
    traveller.vehicle = vehicle
    pos.setdefault(f"travellers[{index}].vehicle", (seg.number, seg.tag))
    # A make, a model, a country: shared; a plate or a VIN is the vehicle's own.
    setattr(vehicle, field, residue.share(value) if qualifier in _SHARED_RFF else value)
    return True


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
