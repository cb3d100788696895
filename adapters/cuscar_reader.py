"""The body of a CUSCAR read segment by segment into a manifest (``adapters.cuscar``).

:class:`ManifestReader` holds what reading a message needs to remember (the current
consignment group, goods item, equipment, party) and has one method per segment tag, looked
up in :data:`READERS`. Each method fills the manifest and returns the
:data:`adapters.residue.Shape` of what it mapped, so that what it did not map is carried
verbatim (issue #16), or None when that is known only at the end of the message
(:meth:`ManifestReader.finish`). A value that fills a field already filled is carried, never
written over the first: the first of two ETAs, two gross masses, two ports of loading is the
mapped one.

>>> from adapters.cuscar import decode
>>> data = (b"UNH+1+CUSCAR:D:95B:UN'BGM+85+M-1+9'CNI+1+BL-1'GID+1+10:PK'"
...         b"FTX+AAI+++HANDLE WITH CARE'MEA+AAE+G+KGM:1200'UNT+7+1'")
>>> [(e.tag, e.position, e.value) for e in decode(data)[0].not_mapped]
[('FTX', '5:0:0', 'AAI'), ('FTX', '5:3:0', 'HANDLE WITH CARE')]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Final, Literal

from adapters.common import (
    KILOGRAM,
    MappingError,
    Positions,
    mass_kg,
    parse_dtm,
    to_decimal,
    whole,
)
from adapters.cuscar_consolidation import TRANSPORT_DOCUMENT_RFF, CniGroup
from adapters.cuscar_segments import (
    CONTACT_SHAPE,
    SEAL_SHAPE,
    communication,
    contact,
    dangerous_goods,
    party,
    place_width,
    seal,
    vessel,
)
from adapters.edifact import Segment
from adapters.residue import ALL, NOTHING, Residue, Shape, cut
from gateway.domain.model import (
    CargoManifest,
    Consignment,
    Contact,
    ControlTotals,
    GoodsItem,
    Party,
    TransportEquipment,
)

# Several codes read into one field: the field implies the first (it is mapped with the value);
# another one is carried beside it, so that the document still says which was sent.
# DTM 2005 qualifiers.
ARRIVAL_DTM = ("132", "232")  # estimated, scheduled arrival: the expected one
ACTUAL_ARRIVAL_DTM = "178"
DEPARTURE_DTM = ("133", "186", "136")
ISSUE_DTM = "137"  # document/message date/time
# DOC 1001 document names that are transport documents (bills of lading, waybills).
TRANSPORT_DOCUMENT_DOC: dict[str, Literal["master", "house"]] = {
    "705": "master",  # bill of lading
    "706": "master",
    "740": "master",  # air waybill
    "741": "master",  # master air waybill
    "703": "house",  # house waybill
    "714": "house",  # house bill of lading
}
IMPLIED_DOC = {"master": "705", "house": "714"}
# MEA 6313 measured attribute: gross mass. AAG is the Spanish AEAT and air-cargo usage.
GROSS_MASS_MEA = ("G", "AAG", "AAD", "WT")
NET_MASS_MEA = ("AAL", "N")
UNIT_GROSS_MASS_MEA = "AAB"  # the gross mass of one unit, not a total
UNIT_NET_MASS_MEA = "AAA"
TARE_MEA = "T"
VGM_MEA = "VGM"  # SOLAS verified gross mass of the equipment
# MEA 6311: the measurement purpose a mass or volume field implies (AAE, measurement); another
# one (AAI item weight, WT weights in D99A profiles ...) is carried with the mass it qualifies.
MEASUREMENT_PURPOSE = "AAE"
# LOC 3227 place qualifiers of a consignment besides loading (9, 5) and discharge (11).
_PLACES = {
    "88": "place_of_receipt",
    "76": "place_of_original_loading",
    "7": "place_of_delivery",
    "8": "place_of_destination",
}
# The shape of a location code: the LOCODE rule judges the digits and the country.
_PLACE = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}$")
# GID/PAC package type (7065) code list and agency a package code implies: UN/ECE Rec. 21.
_PACKAGE_AGENCIES = ("", "6")
# EQD C224 size and type code list and agency: 102 (size and type) of ISO (5).
_SIZE_TYPE_LIST, _SIZE_TYPE_AGENCY = ("", "102"), ("", "5")
_TRANSPORT_TEMPERATURE = ("", "2")  # TMP 6245: the transport (set) temperature
_PRODUCT_ID_FUNCTION = "5"  # PIA 4347: product identification
# BGM 1001: the document name a cargo manifest implies (85; 785 cargo manifest is carried).
MANIFEST_NAME = "85"
FREE_TEXT_MARKS = "28"  # PCI 4233: mark free text, what Marks are
CONTAINER = "CN"  # EQD 8053: what a TransportEquipment is unless its typeCode says otherwise
_DTM_SHAPE: Final[Shape] = (3,)
_PCI_SHAPE: Final[Shape] = (1, 255)
_PCI_MARKS_SHAPE: Final[Shape] = (0, 255)
# The shapes the hot branches return, made once (a tuple a segment is 150,000 a manifest).
_LOC_SHAPES: Final = tuple((1, width) for width in range(4))
_CNI_SHAPES: Final = ((0, 1), (1, 1))
_GID_SHAPES: Final = (((0, 2), (0, 4)), ((1, 2), (1, 4)))
_FTX_SHAPES: Final = tuple(tuple((1, w1, w2, ALL) for w2 in (0, 1)) for w1 in (0, 1))
_MEA_SHAPES: Final = ((0, 1, 2), (1, 1, 2))
_EQD_SHAPES: Final = tuple(
    tuple(tuple((1, 1, size, supplier, 1, full) for full in (0, 1)) for supplier in (0, 1))
    for size in (1, 2, 3)
)
_RFF_SHAPE: Final[Shape] = (2,)


IMPLIED_RFF = {"master": "BM", "house": "BH"}


def locode(value: str) -> str | None:
    """A five-character location code as sent, or None for anything else (CBP port codes ...)."""
    value = value.strip().upper()
    return value if _PLACE.match(value) else None


class ManifestReader:
    """Reads the segments of one CUSCAR body into ``manifest`` (see :data:`READERS`)."""

    def __init__(
        self,
        manifest: CargoManifest,
        residue: Residue,
        positions: Positions,
        decimal_mark: str,
        bgm_number: int,
    ) -> None:
        self.manifest = manifest
        self.residue = residue
        self.pos = positions
        self.decimal = decimal_mark
        self.bgm_number = bgm_number  # the BGM the header was made of
        self.consignment: Consignment | None = None
        self.group: CniGroup | None = None
        self.cnis = 0
        self.c_path = ""
        self.contact_party: Party | None = None  # the last NAD: a CTA after it is its contact
        self.last_contact: Contact | None = None
        self.goods: GoodsItem | None = None
        self.g_path = ""
        self.equipment: TransportEquipment | None = None
        self.totals = ControlTotals()
        self.has_totals = False
        self.conveyance_read = False
        # LOC+9 before the first CNI (one-bill messages): a default, mapped only if used.
        self.loading_default: tuple[str, Segment] | None = None
        # RFF+AAM per consignment index: the last resort before the BGM number.
        self.waybills: dict[int, tuple[str, Segment]] = {}
        self.summary = False  # a CNT after the goods: the summary section has begun

    # ------------------------------------------------------------ the header
    def bgm(self, seg: Segment) -> Shape:
        if seg.number != self.bgm_number:
            return NOTHING  # a second BGM: the first made the header
        # C106's version and revision, and 4343, have no field; a name not a manifest's carried.
        return (1 if seg.get(0) in ("", MANIFEST_NAME) else 0, 1, 1)

    def tdt(self, seg: Segment) -> Shape:
        if self.conveyance_read:
            return NOTHING  # the first TDT is the conveyance; another one is carried
        self.conveyance_read = True
        cv = self.manifest.conveyance
        self.pos.setdefault("conveyance", (seg.number, seg.tag))
        shape = vessel(seg, cv, self.residue)
        if cv.imo_number:
            self.pos["conveyance.imo_number"] = (seg.number, seg.tag)
        return shape

    def loc(self, seg: Segment) -> Shape | None:
        qualifier, raw_place = seg.get(0), seg.get(1)
        place = locode(raw_place)
        m, c = self.manifest, self.consignment
        if c is None:
            if qualifier in ("60", "125"):
                if place:
                    if m.port_of_call is not None:
                        return NOTHING
                    m.port_of_call = place
                    self.pos.setdefault("port_of_call", (seg.number, seg.tag))
                    self.residue.implied(seg, 0, 0, "60")
                    return _LOC_SHAPES[place_width(seg)]
                if raw_place and m.customs_office is None:
                    # CBP puts its own port code (Schedule D, list 77) where a LOCODE goes.
                    m.customs_office = cut(self.residue, seg, 1, 0, 35)
                    self.residue.implied(seg, 0, 0, "22")
                    return (1, 1)
            elif qualifier == "22" and raw_place and m.customs_office is None:
                m.customs_office = cut(self.residue, seg, 1, 0, 35)
                return (1, 1)
            elif qualifier == "9" and place and self.loading_default is None:
                self.loading_default = (place, seg)
                return None  # mapped if a consignment has no LOC+9 of its own
            elif qualifier == "5" and place and m.place_of_departure is None:
                m.place_of_departure = place
                return _LOC_SHAPES[place_width(seg)]
            return NOTHING
        if not place:
            return NOTHING
        if qualifier in ("9", "5"):
            # 5 (place of departure) stands in for loading in air cargo (AEAT, portico).
            if c.place_of_loading is not None:
                return NOTHING
            if qualifier != "9":
                self.residue.keep(seg, 0)  # 5 read as loading: carried as sent
            c.place_of_loading = place
            self.pos[f"{self.c_path}.place_of_loading"] = (seg.number, seg.tag)
        elif qualifier == "11":
            if c.place_of_discharge is not None:
                return NOTHING
            c.place_of_discharge = place
            self.pos[f"{self.c_path}.place_of_discharge"] = (seg.number, seg.tag)
        elif qualifier == "13":
            c.places_of_transhipment += (place,)
        elif qualifier in _PLACES and getattr(c, _PLACES[qualifier]) is None:
            setattr(c, _PLACES[qualifier], place)
        else:
            return NOTHING
        return _LOC_SHAPES[place_width(seg)]

    def dtm(self, seg: Segment) -> Shape:
        if self.consignment is not None:
            return NOTHING  # a bill's dates have no field (and strptime is slow)
        qualifier = seg.get(0, 0)
        when = parse_dtm(seg.get(0, 1), seg.get(0, 2))
        if when is None:
            return NOTHING
        m = self.manifest
        if qualifier in ARRIVAL_DTM and m.arrival_time is None:
            m.arrival_time = when
            self.pos["arrival_time"] = (seg.number, seg.tag)
            if qualifier != ARRIVAL_DTM[0]:
                self.residue.keep(seg, 0)  # 232 read as the expected arrival: carried
        elif qualifier == ACTUAL_ARRIVAL_DTM and m.actual_arrival_time is None:
            m.actual_arrival_time = when
            self.pos["actual_arrival_time"] = (seg.number, seg.tag)
        elif qualifier in DEPARTURE_DTM and m.departure_time is None:
            m.departure_time = when
            self.pos["departure_time"] = (seg.number, seg.tag)
            self.residue.implied(seg, 0, 0, DEPARTURE_DTM[0])
        elif qualifier == ISSUE_DTM and m.issue_time is None:
            m.issue_time = when
        else:
            return NOTHING
        return _DTM_SHAPE

    # ------------------------------------------------------------ parties
    def nad(self, seg: Segment) -> Shape:
        found, shape = party(seg, self.residue)
        self.contact_party = found
        self.last_contact = None
        if self.consignment is None:
            self.manifest.parties.append(found)
        else:
            self.consignment.parties.append(found)
        return shape

    def cta(self, seg: Segment) -> Shape:
        if self.contact_party is None:
            return NOTHING
        self.last_contact = contact(seg, self.residue)
        self.contact_party.contacts += (self.last_contact,)
        return CONTACT_SHAPE

    def com(self, seg: Segment) -> Shape:
        if self.last_contact is None:
            return NOTHING
        com, shape = communication(seg, self.residue)
        if com is not None:
            self.last_contact.communications.append(com)
        return shape

    # ------------------------------------------------------------ consignments
    def cni(self, seg: Segment) -> Shape:
        self.goods = None
        self.equipment = None
        self.contact_party = None
        self.cnis += 1
        item = seg.get(0)
        document = seg.get(1)
        if len(document) > 35:
            document = cut(self.residue, seg, 1, 0, 35)
        self.group = CniGroup.start(self.manifest, item, document, self.cnis)
        self._current(seg)
        # 1490 is the MSN when it is a positive number; else the CNI's rank is, and it is carried.
        return _CNI_SHAPES[1 if whole(item) else 0]

    def _current(self, seg: Segment) -> None:
        assert self.group is not None
        self.consignment = self.group.current
        self.c_path = f"consignments[{len(self.manifest.consignments) - 1}]"
        self.pos[self.c_path] = (seg.number, seg.tag)

    def rff(self, seg: Segment) -> Shape | None:
        if self.consignment is None or self.group is None:
            return NOTHING
        qualifier, value = seg.get(0, 0), seg.get(0, 1)
        bill_kind = TRANSPORT_DOCUMENT_RFF.get(qualifier)
        if bill_kind is not None and value:
            done = self.group.transport_reference(bill_kind, value[:35])
            if done == "carried":
                return NOTHING
            if len(value) > 35:
                self.residue.keep(seg, 0, 1)  # the bill cut to 35: carried whole
            if qualifier != IMPLIED_RFF[bill_kind]:
                self.residue.keep(seg, 0)  # MB or HB: carried as sent
            if done == "opened":
                self._current(seg)
                self.goods = None
                self.equipment = None
                self.contact_party = None
            return _RFF_SHAPE
        index = len(self.manifest.consignments) - 1
        if qualifier == "AAM" and value and index not in self.waybills:
            self.waybills[index] = (value, seg)
            return None  # mapped if the consignment has no other bill number
        return NOTHING

    def doc(self, seg: Segment) -> Shape:
        c = self.consignment
        if c is None or self.goods is not None or c.transport_document:
            return NOTHING
        kind = TRANSPORT_DOCUMENT_DOC.get(seg.get(0, 0))
        if kind is None or not seg.get(1, 0):
            return NOTHING
        c.transport_document = cut(self.residue, seg, 1, 0, 35)
        c.transport_document_kind = kind
        self.residue.implied(seg, 0, 0, IMPLIED_DOC[kind])
        return (1, 1)

    def cnt(self, seg: Segment) -> Shape:
        c = self.consignment
        # CNT before a consignment's goods (CUSCAR_cuscartools_1) totals that consignment;
        # after them it is the message's summary section, as the directory places it.
        if c is None or c.goods_items or self.summary:
            self.summary = c is not None
            shape = self._totals(seg, self.totals)
            self.has_totals = self.has_totals or bool(shape)
            self.pos.setdefault("control_totals", (seg.number, seg.tag))
            return shape
        totals = c.control_totals or ControlTotals()
        shape = self._totals(seg, totals)
        if shape:
            c.control_totals = totals
            self.pos.setdefault(f"{self.c_path}.control_totals", (seg.number, seg.tag))
        return shape

    def _totals(self, seg: Segment, totals: ControlTotals) -> Shape:
        """Fill ``totals`` from one CNT; NOTHING when the qualifier is not one we check."""
        qualifier, value = seg.get(0, 0), seg.get(0, 1)
        if qualifier == "7" and totals.gross_mass_kg is None:
            mass, exact = mass_kg(value, seg.get(0, 2) or KILOGRAM, self.decimal)
            if mass is None:
                return NOTHING
            totals.gross_mass_kg = mass
            self.residue.implied(seg, 0, 2, KILOGRAM)  # 6411 K, TNE ... converted: carried
            if not exact:
                self.residue.keep(seg, 0, 1)
            return (3,)
        count = whole(value)
        if count is None:
            return NOTHING
        if qualifier == "11" and totals.packages is None:
            totals.packages = count
        elif qualifier == "5" and totals.consignments is None:
            totals.consignments = count
        elif qualifier == "16" and totals.equipment is None:
            totals.equipment = count
        else:
            # Other 6069 codes (8, 58 ...) are used inconsistently across the corpus: carried.
            return NOTHING
        return (2,)

    # ------------------------------------------------------------ goods items
    def gid(self, seg: Segment) -> Shape:
        c = self.consignment
        if c is None:
            return NOTHING
        seq, count, kind = seg.get(0), seg.get(1), seg.get(1, 1)
        if len(kind) > 35:
            kind = cut(self.residue, seg, 1, 1, 35)
        number = whole(seq)
        goods = GoodsItem(
            sequence=number or len(c.goods_items) + 1,
            package_count=whole(count),
            package_type=kind or None,
        )
        if count and goods.package_count is None:
            self.residue.keep(seg, 1, 0)
        self.goods = goods
        self.equipment = None
        self.g_path = f"{self.c_path}.goods_items[{len(c.goods_items)}]"
        self.pos[self.g_path] = (seg.number, seg.tag)
        c.goods_items.append(goods)
        # The sequence when a positive number (else the rank is, and it is carried); C213's
        # code list and agency when they are UN/ECE's (Rec. 21), its description carried.
        package = seg.element(1)
        implied = len(package) < 3 or (package[2] == "" and package[3:4] in ((), ("",), ("6",)))
        return _GID_SHAPES[1 if number else 0][1 if implied else 0]

    def pac(self, seg: Segment) -> Shape:
        goods = self.goods
        if goods is None:
            return NOTHING
        # CBP ACE puts the package count in PAC instead of GID.
        count_width = 0
        if goods.package_count is None and whole(seg.get(0)) is not None:
            goods.package_count = whole(seg.get(0))
            count_width = 1
        type_width = 0
        if goods.package_type is None and seg.get(2):
            goods.package_type = cut(self.residue, seg, 2, 0, 35)
            type_width = 3 if seg.get(2, 1) == "" and seg.get(2, 2) in _PACKAGE_AGENCIES else 1
        return (count_width, 0, type_width)

    def ftx(self, seg: Segment) -> Shape:
        goods = self.goods
        if goods is None or seg.get(0) not in ("AAA", ""):
            return NOTHING  # FTX+AAD (technical name) and other texts are carried
        text = "".join(seg.element(3)).strip()
        if not text:
            return NOTHING
        description = ((goods.description + " ") if goods.description else "") + text
        if len(description) > 512:
            return NOTHING  # the description is full: this text is carried whole
        goods.description = description
        # 4453 and C107 have no field; empty (FTX+AAA+++text), there is nothing to carry.
        return _FTX_SHAPES[0 if seg.get(1) else 1][0 if any(seg.element(2)) else 1]

    def pia(self, seg: Segment) -> Shape:
        # D95B CUSCAR carries the tariff code in CST (C246); later directories and other
        # profiles use PIA (C212). Both put code and code-list id at 1..5.
        goods = self.goods
        if goods is None or goods.hs_code is not None:
            return NOTHING
        for i in range(1, 6):
            code, kind = seg.get(i, 0), seg.get(i, 1)
            digits = code.replace(".", "").replace(" ", "")
            if kind in ("HS", "CG", "") and re.fullmatch(r"[0-9]{1,12}", digits):
                # Kept as sent (dots removed): the HS rule judges the length, not the adapter.
                goods.hs_code = digits
                self.pos[f"{self.g_path}.hs_code"] = (seg.number, seg.tag)
                first = 1 if seg.tag == "PIA" and seg.get(0) in ("", _PRODUCT_ID_FUNCTION) else 0
                return (first, *(2 if n == i else 0 for n in range(1, i + 1)))
        return NOTHING

    def dgs(self, seg: Segment) -> Shape:
        if self.goods is None:
            return NOTHING
        found, shape = dangerous_goods(seg, self.decimal, self.residue)
        self.goods.dangerous_goods += (found,)
        return shape

    def pci(self, seg: Segment) -> Shape:
        goods = self.goods
        if goods is None:
            return NOTHING
        marks = seg.element(1)
        goods.marks += tuple(
            mark if len(mark) <= 35 else cut(self.residue, seg, 1, i, 35)
            for i, mark in enumerate(marks)
            if mark.strip()
        )
        # 4233: Marks are free text (28), which they imply; another instruction is kept.
        instruction = seg.get(0)
        if instruction in ("", FREE_TEXT_MARKS):
            return _PCI_SHAPE
        if goods.marking_instruction in (None, instruction):
            goods.marking_instruction = instruction
            return _PCI_SHAPE
        return _PCI_MARKS_SHAPE

    def mea(self, seg: Segment) -> Shape:
        dimension, unit, value = seg.get(1), seg.get(2, 0), seg.get(2, 1)
        goods, equipment = self.goods, self.equipment
        mass, exact = mass_kg(value, unit, self.decimal)
        field = ""
        if mass is not None:
            target = goods if goods is not None else equipment
            if dimension in GROSS_MASS_MEA or not dimension:
                if target is not None and target.gross_mass_kg is None:
                    target.gross_mass_kg = mass
                    field = "gross"
                    if dimension and dimension != GROSS_MASS_MEA[0]:
                        self.residue.keep(seg, 1)  # AAG, AAD, WT read as gross: carried
            elif goods is not None:
                field = _set_mass(goods, GOODS_MASSES, dimension, mass)
            elif equipment is not None:
                field = _set_mass(equipment, EQUIPMENT_MASSES, dimension, mass)
        elif dimension == "AAW" and goods is not None and unit == "MTQ":
            volume = to_decimal(value, self.decimal)
            if volume is not None and goods.volume_m3 is None:
                goods.volume_m3 = volume
                field, exact = "volume", True
        if not field:
            return NOTHING
        if field != "volume":
            self.residue.implied(seg, 2, 0, KILOGRAM)  # K, LBR, TNE ... converted: carried
        if not exact:
            self.residue.keep(seg, 2, 1)  # rounded to grams: the value is carried as sent
        if field == "net_mass_kg" and dimension != NET_MASS_MEA[0]:
            self.residue.keep(seg, 1)  # N read as the net mass: carried as sent
        return _MEA_SHAPES[1 if seg.get(0) in ("", MEASUREMENT_PURPOSE) else 0]

    def sgp(self, seg: Segment) -> Shape:
        goods = self.goods
        if goods is None or not seg.get(0):
            return NOTHING
        references = goods.equipment_references
        self.pos.setdefault(
            f"{self.g_path}.equipment_references[{len(references)}]", (seg.number, seg.tag)
        )
        container = seg.get(0)
        references.append(container if len(container) <= 35 else cut(self.residue, seg, 0, 0, 35))
        packages, counts = whole(seg.get(1)), goods.packages_per_equipment
        if packages is not None or counts:
            unsaid = (None,) * (len(references) - 1 - len(counts))
            goods.packages_per_equipment = (*counts, *unsaid, packages)
        if packages is None:
            self.residue.keep(seg, 1)
        return (1, 1)

    # ------------------------------------------------------------ equipment
    def eqd(self, seg: Segment) -> Shape:
        self.goods = None
        ident = seg.get(1)
        if not ident:
            self.equipment = None  # its SEL, MEA, TMP have no equipment to go to: carried
            return NOTHING
        full = seg.get(5)
        kind, size, status = seg.get(0), seg.get(2), seg.get(4)
        if max(len(ident), len(kind), len(size), len(status)) > 35:
            ident, kind = cut(self.residue, seg, 1, 0, 35), cut(self.residue, seg, 0, 0, 35)
            size, status = cut(self.residue, seg, 2, 0, 35), cut(self.residue, seg, 4, 0, 35)
        equipment = self.equipment = TransportEquipment(
            identifier=ident,
            size_type=size or None,
            type_code=None if kind == CONTAINER else kind or None,  # a container is implied
            status=status or None,
            fullness="full" if full == "5" else "empty" if full == "4" else None,
        )
        # EQD before the first CNI declares the call's equipment; inside a CNI, the consignment's.
        c = self.consignment
        if c is not None:
            self.pos[f"{self.c_path}.equipment[{len(c.equipment)}]"] = (seg.number, seg.tag)
            c.equipment.append(equipment)
        else:
            self.pos[f"equipment[{len(self.manifest.equipment)}]"] = (seg.number, seg.tag)
            self.manifest.equipment.append(equipment)
        c224 = seg.element(2)
        size_width = 1
        if len(c224) > 1 and c224[1] in _SIZE_TYPE_LIST:
            size_width = 3 if c224[2:3] in ((), *((a,) for a in _SIZE_TYPE_AGENCY)) else 2
        # C237's code list, agency and country and the supplier (8077) are carried.
        supplier = 0 if seg.get(3) else 1
        return _EQD_SHAPES[size_width - 1][supplier][1 if full in ("", "4", "5") else 0]

    def sel(self, seg: Segment) -> Shape:
        if self.equipment is None or not seg.get(0):
            return NOTHING
        self.equipment.seals.append(seal(seg, self.residue))
        return SEAL_SHAPE

    def tmp(self, seg: Segment) -> Shape:
        equipment = self.equipment
        if equipment is None or equipment.temperature is not None:
            return NOTHING
        temperature = to_decimal(seg.get(1, 0), self.decimal)
        if temperature is None:
            return NOTHING
        equipment.temperature = temperature
        equipment.temperature_unit = seg.get(1, 1) or None
        return (1 if seg.get(0) in _TRANSPORT_TEMPERATURE else 0, 2)

    # ------------------------------------------------------------ the end
    def finish(self, message_reference: str) -> None:
        """What only the whole message decides: bills from RFF+AAM or the BGM, the loading
        place before the first CNI, the consignments' masses; the segments these depend on
        are accounted now."""
        m, residue = self.manifest, self.residue
        default_used = False
        for index, c in enumerate(m.consignments):
            waybill = self.waybills.get(index)
            if not c.transport_document and waybill is not None:
                c.transport_document = cut(residue, waybill[1], 0, 1, 35)
                residue.account(waybill[1], _RFF_SHAPE)
                waybill = None
            if waybill is not None:
                residue.account(waybill[1], NOTHING)
            if not c.transport_document and len(m.consignments) == 1:
                # One bill per message (SCPRBL and similar profiles): the BGM number is the bill's.
                c.transport_document = m.document_number
            if not c.transport_document:
                segment = self.pos.get(f"consignments[{index}]", (None, "CNI"))[0]
                raise MappingError(
                    "MISSING_TRANSPORT_DOCUMENT",
                    f"consignment {c.sequence} of CUSCAR {message_reference} has no bill of "
                    "lading number (CNI 1004, RFF+BM/BH, DOC or RFF+AAM)",
                    f"segment {segment} CNI" if segment else "CNI",
                    segment,
                )
            if c.place_of_loading is None and self.loading_default is not None:
                c.place_of_loading = self.loading_default[0]
                default_used = True
            masses = [g.gross_mass_kg for g in c.goods_items if g.gross_mass_kg is not None]
            if masses:
                c.gross_mass_kg = sum(masses, Decimal(0))
        if self.loading_default is not None:
            seg = self.loading_default[1]
            residue.account(seg, (1, place_width(seg)) if default_used else NOTHING)
        if self.has_totals:
            m.control_totals = self.totals


# MEA 6313 -> the field of a goods item or of a piece of equipment it fills.
GOODS_MASSES = {
    NET_MASS_MEA[0]: "net_mass_kg",
    NET_MASS_MEA[1]: "net_mass_kg",
    UNIT_GROSS_MASS_MEA: "unit_gross_mass_kg",
    UNIT_NET_MASS_MEA: "unit_net_mass_kg",
}
EQUIPMENT_MASSES = {TARE_MEA: "tare_mass_kg", VGM_MEA: "verified_gross_mass_kg"}


def _set_mass(
    target: GoodsItem | TransportEquipment, fields: dict[str, str], dimension: str, mass: Decimal
) -> str:
    """The mass ``dimension`` says into its field of ``target``, unless already said; the
    field's name, or "" when there is none to fill."""
    name = fields.get(dimension)
    if name is None or getattr(target, name) is not None:
        return ""
    setattr(target, name, mass)
    return name


SegmentReader = Callable[[ManifestReader, Segment], Shape | None]

#: Segment tag -> the :class:`ManifestReader` method that reads it; a tag not here (GIS, QTY,
#: TSR ...) has no canonical field: the segment is carried whole.
READERS: Final[dict[str, SegmentReader]] = {
    "BGM": ManifestReader.bgm,
    "TDT": ManifestReader.tdt,
    "LOC": ManifestReader.loc,
    "DTM": ManifestReader.dtm,
    "NAD": ManifestReader.nad,
    "CTA": ManifestReader.cta,
    "COM": ManifestReader.com,
    "CNI": ManifestReader.cni,
    "RFF": ManifestReader.rff,
    "DOC": ManifestReader.doc,
    "CNT": ManifestReader.cnt,
    "GID": ManifestReader.gid,
    "PAC": ManifestReader.pac,
    "FTX": ManifestReader.ftx,
    "PIA": ManifestReader.pia,
    "CST": ManifestReader.pia,
    "DGS": ManifestReader.dgs,
    "PCI": ManifestReader.pci,
    "MEA": ManifestReader.mea,
    "SGP": ManifestReader.sgp,
    "EQD": ManifestReader.eqd,
    "SEL": ManifestReader.sel,
    "TMP": ManifestReader.tmp,
}
