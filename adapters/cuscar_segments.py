"""Segments read into canonical parts: vessel, parties, contacts, dangerous goods, seals, places.

Shared by the EDIFACT codecs (CUSCAR, PAXLST and the call codecs). Each reader fills its part
and returns the :data:`adapters.residue.Shape` of what it mapped (issue #16): the caller
accounts the segment with it, and what the shape leaves out is carried verbatim; a value read
but not kept whole is carried with :meth:`adapters.residue.Residue.keep`.

The element positions are those of the UN/EDIFACT segment directory, the same from D.95B to
D.17B in the packaged and generated tables (``adapters/edifact/directories/``,
``var/directories/``; ``tests/unit/test_cuscar_fidelity.py`` checks every table holds them):

* TDT: 8051, 8028, C220 (8067 mode), C228, C040 (3127 code, 1131, 3055, 3128 name), 8101,
  C401, C222 (8213 id, 1131, 3055, 8212 name, 8453 nationality);
* DGS: 8273 regulation, C205 hazard class (8351), C234 UNDG number (7124), C223 flashpoint
  (7106 value, 6411 unit), 8339 packing group, 8364 EmS;
* NAD: 3035, C082 party id (3039 id, 1131 code list, 3055 agency), C058 name and address,
  C080 party name (3036 x5, 3045), C059 street, 3164 city, C819 subdivision, 3251, 3207;
* SEL: 9308 seal number, C215 sealing party (9303 code, 1131, 3055, 9302 name);
* CTA: 3139 function, C056 (3413 department id, 3412 name); COM: C076 (3148 number, 3155);
* LOC: 3227, C517 (3225 place, 1131, 3055, 3224 name), C519, C553, 5479.

>>> from adapters.edifact import Segment
>>> from adapters.residue import Residue
>>> dg, shape = dangerous_goods(Segment("DGS", (("IMD",), ("3",), ("1263",), ("23", "CEL"),
...     ("2",), ("F-E,S-E",)), 1), ",", Residue(1))
>>> dg.un_number, dg.hazard_class, dg.flashpoint, dg.flashpoint_unit, dg.ems, shape
('1263', '3', Decimal('23'), 'CEL', 'F-E,S-E', (1, 1, 1, 2, 1, 1))
"""

from __future__ import annotations

import re
from typing import Final

from adapters.common import to_decimal
from adapters.edifact import Segment
from adapters.residue import NOTHING, Residue, Shape, cut
from gateway.domain.model import (
    Address,
    Communication,
    Contact,
    Conveyance,
    DangerousGoods,
    Party,
    PartyRole,
    Seal,
)

# NAD 3035 party qualifier -> canonical role.
PARTY_ROLES: dict[str, PartyRole] = {
    "CZ": "shipper",
    "CN": "consignee",
    "N1": "notify",
    "NI": "notify",
    "NP": "notify",
    "CA": "carrier",
    "AG": "agent",
}
_COUNTRY = re.compile(r"[A-Z]{2}")
_UN_NUMBER = re.compile(r"^(?:UN)?\s*([0-9]{4})$")
# A consignee "to order" (negotiable bill): English, and French as Algerian forwarders write it.
_TO_ORDER = re.compile(r"^\s*(?:TO\s+(?:THE\s+)?ORDER\b|[AÀ]\s+L'?\s*ORDRE\b)", re.IGNORECASE)

LLOYDS_REGISTER: Final = "11"  # UNCL 3055: the agency of IMO ship numbers
IMO_LISTS: Final = ("", "IMO", "146", LLOYDS_REGISTER)  # C222 1131 lists an IMO number is sent in
IMO_LIST: Final = "146"  # means of transport identification: the standard one, with agency 11
_IMO = re.compile(r"^(?:IMO)?([0-9]{7})$")
CALL_SIGN_LIST: Final = "103"  # UNCL 1131: call sign directory
# TDT 8051: the stage whose means of transport the Conveyance implies, main carriage. The first
# TDT is the conveyance whatever its stage (11 at the border for US CBP ...); another stage is
# carried beside it.
MAIN_CARRIAGE: Final = "20"
# C517 code list (1131) and agency (3055) a UN/LOCODE is sent with: 139 (port) of UN/ECE (6).
_LOCODE_LIST, _LOCODE_AGENCY = ("", "139"), ("", "6")


def vessel(seg: Segment, cv: Conveyance, residue: Residue) -> Shape:
    """A TDT into ``cv``: voyage (8028), mode (C220), carrier (C040), IMO number or call sign,
    name and flag (C222); the IMO number as ``IMO9703291``, ``:IMO``, ``:11`` or the standard
    ``9703291:146:11`` (agency 11, Lloyd's Register)."""
    cv.voyage_number = cut(residue, seg, 1, 0, 35) or cv.voyage_number
    mode = seg.get(2)
    mode_width = 1
    if re.fullmatch(r"0?[0-9]", mode):  # "03" (CBP) is mode 3, and carried as sent
        cv.mode_of_transport = mode[-1]
        residue.implied(seg, 2, 0, mode[-1])
    elif mode:
        mode_width = 0
    code, name = cut(residue, seg, 4, 0, 70), cut(residue, seg, 4, 3, 70)
    cv.carrier = name or code or None
    if code:
        cv.carrier_code = code
        cv.carrier_scheme = seg.get(4, 1) or None
        cv.carrier_scheme_agency = seg.get(4, 2) or None
    else:  # a scheme without a code to go with it is not the carrier's
        residue.keep(seg, 4, 1)
        residue.keep(seg, 4, 2)
    ident, code_list, agency = seg.get(7).replace(" ", ""), seg.get(7, 1), seg.get(7, 2)
    imo = _IMO.match(ident)
    if imo and (code_list in IMO_LISTS or agency == LLOYDS_REGISTER or ident.startswith("IMO")):
        cv.imo_number = imo.group(1)
        # The standard list and agency (146, 11) are what ImoNumber implies; others carried.
        residue.implied(seg, 7, 1, IMO_LIST)
        residue.implied(seg, 7, 2, LLOYDS_REGISTER)
    elif ident:
        cv.call_sign = cut(residue, seg, 7, 0, 35)
        if code_list != CALL_SIGN_LIST:
            residue.keep(seg, 7, 1)
        residue.keep(seg, 7, 2)
    else:
        residue.keep(seg, 7, 1)
        residue.keep(seg, 7, 2)
    cv.name = cut(residue, seg, 7, 3, 70) or cv.name
    nationality = seg.get(7, 4)
    if _COUNTRY.fullmatch(nationality):
        cv.nationality = nationality
    else:
        residue.keep(seg, 7, 4)
    residue.implied(seg, 0, 0, MAIN_CARRIAGE)
    return (1, 1, mode_width, 0, 4, 0, 0, 5)


def place_width(seg: Segment) -> int:
    """How much of a LOC's C517 a place field holds: the place, and the code list and agency
    that say it is a UN/LOCODE (139 of UN/ECE, or none); the rest is carried."""
    c517 = seg.element(1)
    if len(c517) < 2:
        return 1
    if c517[1] not in _LOCODE_LIST:
        return 1
    if len(c517) < 3:
        return 2
    return 3 if c517[2] in _LOCODE_AGENCY else 2


_NINE: Final = ((),) * 9  # a NAD's nine data elements, to pad a shorter one with


def party(seg: Segment, residue: Residue) -> tuple[Party, Shape]:
    """A NAD as a party: role, identifier with its scheme, name, address, "to order".

    The name is C080's first part (C058's when C080 is empty, as many partners write name and
    address in C058, line by line); its other parts are address lines when there is no street
    (C059), else carried. Read straight from the elements: a manifest has three NADs a bill.
    """
    els = seg.elements
    if len(els) < 9:
        els = els + _NINE[len(els) :]
    qualifier = els[0][0] if els[0] else ""
    c082 = els[1]
    identifier = c082[0] if c082 else ""
    c080 = els[3][:5]
    names, name_element = (c080, 3) if any(c080) else (els[2][:5], 2)
    street = els[4][:4]
    has_street = any(street)
    name = None
    lines: list[str] = []
    at: list[tuple[int, int]] = []  # where each line is, to carry one that is cut
    for i, value in enumerate(names):
        if not value:
            continue
        if name is None:
            name = value
        elif has_street:  # the street is the address: the name's other parts have no field
            residue.keep(seg, name_element, i)
        else:
            lines.append(value)
            at.append((name_element, i))
    for i, value in enumerate(street):
        if value:
            lines.append(value)
            at.append((4, i))
    city = els[5][0] if els[5] else ""
    subdivision = els[6][0] if els[6] else ""
    postal = els[7][0] if els[7] else ""
    country = els[8][0] if els[8] else ""
    # Values longer than their field (no directory allows it in a NAD) are cut and carried.
    if len(identifier) > 35:
        identifier = cut(residue, seg, 1, 0, 35)
    if name is not None and len(name) > 512:
        name = cut(residue, seg, name_element, names.index(name), 512)
    for n, line in enumerate(lines):
        if len(line) > 70:
            lines[n] = cut(residue, seg, *at[n], 70)
    if len(city) > 35:
        city = cut(residue, seg, 5, 0, 35)
    if len(subdivision) > 35:
        subdivision = cut(residue, seg, 6, 0, 35)
    if len(postal) > 35:
        postal = cut(residue, seg, 7, 0, 35)
    country_width = 1 if not country or _COUNTRY.fullmatch(country) else 0
    if not country_width:
        country = ""
    address = None
    if lines or city or subdivision or postal or country:
        address = Address(
            lines=lines,
            city=city or None,
            subdivision=subdivision or None,
            postal_code=postal or None,
            country=country or None,
        )
    found = Party(
        role=PARTY_ROLES.get(qualifier, "other"),
        code=qualifier or None,
        identifier=identifier or None,
        identifier_scheme=(seg.get(1, 1) or None) if identifier else None,
        identifier_scheme_agency=(seg.get(1, 2) or None) if identifier else None,
        name=name,
        address=address,
        to_order=bool(name and _TO_ORDER.match(name)),
    )
    # C082's list and agency without an identifier, and the name element not read, are carried
    # (an empty one, ``NAD+CZ+++NAME``, has nothing to carry: 1 spares it the slow path).
    return found, (
        1,
        3 if identifier else 0 if any(c082) else 1,
        5 if name_element == 2 or not any(els[2]) else 0,
        5 if name_element == 3 or not any(els[3]) else 0,
        4,
        1,
        1,
        1,
        country_width,
    )


CONTACT_SHAPE: Final[Shape] = (1, 2)


def contact(seg: Segment, residue: Residue) -> Contact:
    """A CTA: function, department and name (shape :data:`CONTACT_SHAPE`)."""
    return Contact(
        function=seg.get(0) or None,
        department=cut(residue, seg, 1, 0, 35) or None,
        name=cut(residue, seg, 1, 1, 512) or None,
    )


def communication(seg: Segment, residue: Residue) -> tuple[Communication | None, Shape]:
    """A COM: number or address and channel; None (all carried) when it carries no number."""
    number = cut(residue, seg, 0, 0, 512)
    if not number:
        return None, NOTHING
    return Communication(number, seg.get(0, 1) or None), (2,)


def dangerous_goods(
    seg: Segment, decimal_mark: str, residue: Residue
) -> tuple[DangerousGoods, Shape]:
    """A DGS: the UNDG number from C234 (element 2), never from the flashpoint (C223)."""
    un = _UN_NUMBER.match(seg.get(2, 0).strip().upper())
    flashpoint = seg.get(3, 0)
    value = to_decimal(flashpoint, decimal_mark) if flashpoint else None
    found = DangerousGoods(
        un_number=un.group(1) if un else None,
        hazard_class=cut(residue, seg, 1, 0, 35) or None,
        packing_group=cut(residue, seg, 4, 0, 35) or None,
        flashpoint=value,
        flashpoint_unit=(seg.get(3, 1) or None) if value is not None else None,
        ems=cut(residue, seg, 5, 0, 35) or None,
        regulation=seg.get(0) or None,
    )
    return found, (1, 1, 1 if un or not seg.get(2, 0) else 0, 2 if value is not None else 0, 1, 1)


SEAL_SHAPE: Final[Shape] = (1, 4)


def seal(seg: Segment, residue: Residue) -> Seal:
    """A SEL: the seal number and who sealed (C215 code 9303 or name 9302); shape
    :data:`SEAL_SHAPE`, C215's code list and agency carried."""
    c215 = seg.element(1)
    if len(c215) > 1:
        residue.keep(seg, 1, 1)
        residue.keep(seg, 1, 2)
    number = seg.get(0)
    return Seal(
        number if len(number) <= 35 else cut(residue, seg, 0, 0, 35),
        issuer=seg.get(1, 0) or None,
        issuer_name=seg.get(1, 3) or None,
    )
