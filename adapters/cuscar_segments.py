"""CUSCAR segments read into canonical parts: parties, contacts, dangerous goods, seals.

The element positions are those of the UN/EDIFACT segment directory, the same from D.95B to
D.17B in the packaged and generated tables (``adapters/edifact/directories/``,
``var/directories/``; ``tests/unit/test_cuscar_fidelity.py`` checks every table holds them):

* DGS: 8273 regulation, C205 hazard class (8351), C234 UNDG number (7124), C223 flashpoint
  (7106 value, 6411 unit), 8339 packing group, 8364 EmS;
* NAD: 3035, C082 party id (3039 id, 1131 code list, 3055 agency), C058, C080 ...;
* SEL: 9308 seal number, C215 sealing party (9303 code, 1131, 3055, 9302 name);
* TMP: 6245, C239 temperature (6246 value, 6411 unit);
* CTA: 3139 function, C056 (3413 department id, 3412 name); COM: C076 (3148 number, 3155).

>>> from adapters.edifact import Segment
>>> dg = dangerous_goods(Segment("DGS", (("IMD",), ("3",), ("1263",), ("23", "CEL"), ("2",),
...     ("F-E,S-E",)), 1), ",")
>>> dg.un_number, dg.hazard_class, dg.flashpoint, dg.flashpoint_unit, dg.ems
('1263', '3', Decimal('23'), 'CEL', 'F-E,S-E')
"""

from __future__ import annotations

import re

from adapters.common import to_decimal
from adapters.edifact import Segment
from gateway.domain.model import (
    Address,
    Communication,
    Contact,
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


def party(seg: Segment) -> Party:
    """A NAD as a party: role, identifier with its scheme, name, address, "to order"."""
    qualifier = seg.get(0)
    name_parts = [c for c in seg.element(3) if c] or [c for c in seg.element(2) if c]
    street = [c for c in seg.element(4) if c]
    # Many partners put name and address all in C058 (name and address), line by line.
    name = " ".join(name_parts[:1]) if name_parts else None
    lines = street or name_parts[1:]
    country = seg.get(8) or None
    address = None
    if lines or seg.get(5) or country:
        address = Address(
            lines=[line[:70] for line in lines[:5]],
            city=seg.get(5)[:35] or None,
            postal_code=seg.get(7)[:35] or None,
            country=country if country and _COUNTRY.fullmatch(country) else None,
        )
    identifier = seg.get(1)[:35] or None
    return Party(
        role=PARTY_ROLES.get(qualifier, "other"),
        code=qualifier or None,
        identifier=identifier,
        identifier_scheme=(seg.get(1, 1) or None) if identifier else None,
        identifier_scheme_agency=(seg.get(1, 2) or None) if identifier else None,
        name=name[:512] if name else None,
        address=address,
        to_order=bool(name_parts and _TO_ORDER.match(name_parts[0])),
    )


def contact(seg: Segment) -> Contact:
    """A CTA: function, department and name."""
    return Contact(
        function=seg.get(0) or None,
        department=seg.get(1, 0)[:35] or None,
        name=seg.get(1, 1)[:512] or None,
    )


def communication(seg: Segment) -> Communication | None:
    """A COM: number or address and channel; None when it carries no number."""
    number = seg.get(0, 0)
    return Communication(number[:512], seg.get(0, 1) or None) if number else None


def dangerous_goods(seg: Segment, decimal_mark: str) -> DangerousGoods:
    """A DGS: the UNDG number from C234 (element 2), never from the flashpoint (C223)."""
    un = _UN_NUMBER.match(seg.get(2, 0).strip().upper())
    flashpoint = seg.get(3, 0)
    value = to_decimal(flashpoint, decimal_mark) if flashpoint else None
    return DangerousGoods(
        un_number=un.group(1) if un else None,
        hazard_class=seg.get(1, 0)[:35] or None,
        packing_group=seg.get(4)[:35] or None,
        flashpoint=value,
        flashpoint_unit=(seg.get(3, 1) or None) if value is not None else None,
        ems=seg.get(5)[:35] or None,
        regulation=seg.get(0) or None,
    )


def seal(seg: Segment) -> Seal:
    """A SEL: the seal number and who sealed (C215 code 9303 or name 9302)."""
    return Seal(
        seg.get(0)[:35],
        issuer=seg.get(1, 0) or None,
        issuer_name=seg.get(1, 3) or None,
    )
