"""CUSCAR (customs cargo report) -> canonical :class:`CargoManifest`.

This is the one place where a CUSCAR becomes a manifest. ``decode`` reads every
CUSCAR message in an interchange. The corpus shows how far real CUSCARs drift
from the directory, and each tolerance below names the file that needs it:

* an empty UNH message type with a cargo-report BGM 85 (MSC/Egypt, ``indice``);
* the bill of lading outside CNI: in ``DOC`` (US CBP ACE, ``edifabric``), in
  ``RFF+HB`` (Spanish AEAT air cargo, ``portico``), or only in the BGM of a
  one-bill message (German port community ``SCPRBL`` profile, ``smooks``);
* masses in TNE/TON/K/LBR, with either decimal mark; MEA with an empty or
  item-weight dimension; DTM formats 101/102/201/203/204/205.

>>> data = (b"UNB+UNOA:3+APCS+CUSTOMS+240101:1200+7'UNH+1+CUSCAR:D:95B:UN'BGM+85+M-1+9'"
...         b"CNI+1+BL-1'GID+1+10:PK'MEA+AAE+G+KGM:1200'UNT+6+1'UNZ+1+7'")
>>> manifest = decode(data)[0]
>>> manifest.document_number, manifest.consignments[0].goods_items[0].gross_mass_kg
('M-1', Decimal('1200.000'))
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal

from adapters.common import (
    SEGMENT_SLICE,
    DecodeContext,
    MappingError,
    Positions,
    check_xml_characters,
    check_xml_segments,
    is_mass_unit,
    parse_dtm,
    to_decimal,
    to_kg,
    whole,
)
from adapters.edifact import Delimiters, Interchange, Message, Segment, parse, serialize_segment
from gateway.domain.model import (
    Address,
    CargoManifest,
    Consignment,
    ControlTotals,
    GoodsItem,
    Header,
    MessageFunction,
    Party,
    PartyRole,
    Source,
    TransportEquipment,
)

MESSAGE_TYPE = "CUSCAR"

# BGM 1225 message function -> canonical function. 2 (addition) adds to a manifest
# already filed, so it is an amendment; 22 (final transmission, CBP) is the whole manifest.
FUNCTIONS: dict[str, MessageFunction] = {
    "9": "original",
    "22": "original",
    "5": "replace",
    "4": "change",
    "2": "change",
    "1": "cancel",
    "3": "cancel",
}
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
# DTM 2005 qualifiers.
ARRIVAL_DTM = ("178", "132", "232")  # actual, estimated, scheduled arrival
DEPARTURE_DTM = ("186", "133", "136")
# RFF 1153 qualifiers that carry a transport document number, and whether it is a house one.
TRANSPORT_DOCUMENT_RFF = {
    "BM": "master",
    "AAA": "master",
    "MB": "master",
    "BH": "house",
    "HB": "house",
}
# DOC 1001 document names that are transport documents (bills of lading, waybills).
TRANSPORT_DOCUMENT_DOC = {
    "705": "master",  # bill of lading
    "706": "master",
    "740": "master",  # air waybill
    "741": "master",  # master air waybill
    "703": "house",  # house waybill
    "714": "house",  # house bill of lading
}
# MEA 6313 measured attribute: gross mass. AAG is the Spanish AEAT and air-cargo usage.
GROSS_MASS_MEA = ("G", "AAB", "AAG", "AAD", "WT")
NET_MASS_MEA = ("AAL", "N", "AAA")
_IMO = re.compile(r"^(?:IMO)?([0-9]{7})$")
# The shape of a location code: the LOCODE rule judges the digits and the country.
_PLACE = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}$")
_COUNTRY = re.compile(r"[A-Z]{2}")


def _locode(value: str) -> str | None:
    """A five-character location code as sent, or None for anything else (CBP port codes ...)."""
    value = value.strip().upper()
    return value if _PLACE.match(value) else None


def payload_hash(message: Message, delimiters: Delimiters) -> str:
    """SHA-256 of the message as written with its delimiters: same content, same hash.

    Exactly ``serialize_segment(tag, elements, delimiters)`` per segment, hashed in one go.
    A segment with no service character in its values (nearly all of them) is joined with
    ``str`` methods in C; only the others go through ``serialize_segment`` (issue #8: this
    was a third of the time of a 10,000-BL manifest).

    >>> from adapters.edifact import parse
    >>> msg = parse(b"UNB+UNOA:3+A+B+240101:1200+1'UNH+1+CUSCAR:D:95B:UN'FTX+AAA+++50?+ PCS'"
    ...             b"UNT+3+1'UNZ+1+1'")[0].messages[0]
    >>> payload_hash(msg, Delimiters()) == _slow_payload_hash(msg, Delimiters())
    True
    """
    hasher = _PayloadHasher(delimiters)
    hasher.add(message.segments)
    return hasher.hexdigest()


class _PayloadHasher:
    """:func:`payload_hash` over the segments given to :meth:`add`, in order."""

    def __init__(self, delimiters: Delimiters) -> None:
        self.delimiters = delimiters
        d = delimiters
        specials = d.component + d.element + d.segment + d.active_release + d.active_repetition
        self.needs_escape = re.compile("[" + re.escape(specials) + "]").search
        self.digest = hashlib.sha256()

    def add(self, segments: Iterable[Segment]) -> None:
        delimiters, needs_escape, digest = self.delimiters, self.needs_escape, self.digest
        comp, elem, term = delimiters.component, delimiters.element, delimiters.segment
        texts: list[str] = []
        for seg in segments:
            elements = seg.elements
            values = "".join(["".join(e) for e in elements])
            if needs_escape(values) is None:
                # No value holds a service character: trimming trailing empty components and
                # elements is rstrip of the separators, as serialize_segment's trim does.
                body = elem.join([seg.tag, *[comp.join(e).rstrip(comp) for e in elements]])
                texts.append(body.rstrip(elem) + term)
            else:
                texts.append(serialize_segment(seg.tag, elements, delimiters))
            if len(texts) >= SEGMENT_SLICE:
                # Hashed a slice at a time: the whole text of a 5,000-bill message, as str and
                # as UTF-8, was ~11 MB more at the moment its segments are all alive (issue #8).
                digest.update("".join(texts).encode("utf-8"))
                texts.clear()
        digest.update("".join(texts).encode("utf-8"))

    def hexdigest(self) -> str:
        return self.digest.hexdigest()


class _Streamed:
    """The whole-message checks of a message decoded as it is read again (issue #8).

    :meth:`body` gives the body of ``segments`` (UNH..UNT as read) and, a slice at a time as
    they pass, checks their characters (:func:`check_xml_segments`) and hashes them as
    :func:`payload_hash` does; :attr:`hash` is complete once the body has been read.
    """

    def __init__(self, delimiters: Delimiters) -> None:
        self.hasher = _PayloadHasher(delimiters)
        self.hash = ""

    def _take(self, part: list[Segment]) -> None:
        check_xml_segments(part)
        self.hasher.add(part)
        part.clear()

    def body(self, segments: Iterable[Segment]) -> Iterator[Segment]:
        part: list[Segment] = []
        for n, seg in enumerate(segments):
            part.append(seg)
            if len(part) >= SEGMENT_SLICE:
                self._take(part)
            # The first segment is the UNH, the last the UNT (the read stops at it).
            if n and seg.tag != "UNT":
                yield seg
        self._take(part)
        self.hash = self.hasher.hexdigest()


def _slow_payload_hash(message: Message, delimiters: Delimiters) -> str:
    """The reference :func:`payload_hash` is checked against (tests), one segment at a time."""
    h = hashlib.sha256()
    for seg in message.segments:
        h.update(serialize_segment(seg.tag, seg.elements, delimiters).encode("utf-8"))
    return h.hexdigest()


def _party(seg: Segment) -> Party:
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
    return Party(
        role=PARTY_ROLES.get(qualifier, "other"),
        code=qualifier or None,
        identifier=seg.get(1)[:35] or None,
        name=name[:512] if name else None,
        address=address,
    )


def _totals(seg: Segment, totals: ControlTotals, decimal_mark: str) -> bool:
    """Fill ``totals`` from one CNT; False when the qualifier is not one we check."""
    qualifier, value, unit = seg.get(0, 0), seg.get(0, 1), seg.get(0, 2)
    if qualifier == "7":
        totals.gross_mass_kg = to_kg(value, unit or "KGM", decimal_mark)
    elif qualifier == "11" and whole(value) is not None:
        totals.packages = whole(value)
    elif qualifier == "5" and whole(value) is not None:
        totals.consignments = whole(value)
    elif qualifier == "16" and whole(value) is not None:
        totals.equipment = whole(value)
    else:
        # Other 6069 codes (8, 58 ...) are used inconsistently across the corpus; not guessed.
        return False
    return True


def decode_message(
    message: Message,
    interchange: Interchange,
    context: DecodeContext | None = None,
    positions: Positions | None = None,
    *,
    release: bool = False,
    stream: Iterable[Segment] | None = None,
) -> CargoManifest:
    """One CUSCAR message as a canonical manifest; :class:`MappingError` when it cannot be.

    ``release``: the message's segments are let go as they are read (``message.segments``
    is empty afterwards), so that a large message's segments and its manifest are not all
    alive at once (issue #8: 27 MB and 10 MB at 5,000 bills).

    ``positions``, when given, is filled with model paths -> (segment number, tag),
    so that a rule broken by ``consignments[0].goods_items[1]`` can point at its GID.

    ``stream``: the message's segments (UNH..UNT) read again from the input, decoded as they
    come; ``message`` then holds what the first read kept (its first segments and first BGM,
    ``contrl.StreamingAcknowledgement``), the characters are checked and the payload hashed
    as the segments pass. A ``MappingError`` may then not be the one the whole message
    gives first (a bad character later in the message wins over it): the caller decodes
    the whole message again for it (``gateway.service.pipeline``).
    """
    context = context or DecodeContext()
    pos: Positions = positions if positions is not None else {}
    if stream is None:
        check_xml_characters(message)
    d = interchange.delimiters
    body = message.body()
    bgm = next((s for s in body if s.tag == "BGM"), None)
    if bgm is None:
        raise MappingError(
            "MISSING_BGM",
            f"CUSCAR {message.reference} has no BGM segment",
            f"message {message.reference}",
            message.segments[0].number,
        )
    number = bgm.get(1)
    if not number:
        raise MappingError(
            "MISSING_DOCUMENT_NUMBER",
            f"BGM of CUSCAR {message.reference} carries no document number (C106/1004)",
            f"segment {bgm.number} BGM element 1",
            bgm.number,
        )
    pos["document_number"] = (bgm.number, "BGM")
    function = FUNCTIONS.get(bgm.get(2) or "9", "original")
    manifest = CargoManifest(
        header=Header.new(
            sender=context.sender,
            receiver=context.receiver,
            document_type=CargoManifest.DOCUMENT_TYPE,
            business_reference=number[:70],
            correlation_id=context.correlation_id,
            function=function,
            test=interchange.test_indicator == "1",
            payload_hash=payload_hash(message, d) if stream is None else "",
            source=Source(
                format="EDIFACT",
                message_type=message.type or MESSAGE_TYPE,
                directory=message.directory,
                syntax_version=str(interchange.syntax_version),
                interchange_reference=interchange.control_reference,
                message_reference=message.reference,
            ),
        ),
        document_number=number[:35],
    )
    consignment: Consignment | None = None
    c_path = ""
    goods: GoodsItem | None = None
    g_path = ""
    equipment: TransportEquipment | None = None
    totals = ControlTotals()
    has_totals = False
    loading_default: str | None = None  # LOC+9 before the first CNI (one-bill messages)
    waybills: dict[int, str] = {}  # RFF+AAM, the last resort before the BGM number
    cni_number = ""  # what the current CNI carried (the group of its bills)
    summary = False  # a CNT after the goods: the summary section has begun
    streamed = _Streamed(d) if stream is not None else None
    segments: Iterable[Segment] = body
    if streamed is not None and stream is not None:
        segments = streamed.body(stream)
    elif release:
        message.segments.clear()
        body.reverse()
        segments = _drain(body)
    for seg in segments:
        tag = seg.tag
        if tag == "TDT":
            pos.setdefault("conveyance", (seg.number, tag))
            cv = manifest.conveyance
            cv.voyage_number = seg.get(1)[:35] or cv.voyage_number
            mode = seg.get(2)
            if re.fullmatch(r"0?[0-9]", mode):  # "03" (CBP) is mode 3
                cv.mode_of_transport = mode[-1]
            cv.carrier = (seg.get(4, 3) or seg.get(4))[:70] or cv.carrier
            vessel_id, vessel_qual = seg.get(7), seg.get(7, 1)
            imo = _IMO.match(vessel_id.replace(" ", ""))
            if imo and (vessel_qual in ("", "IMO", "11") or vessel_id.startswith("IMO")):
                cv.imo_number = imo.group(1)
                pos["conveyance.imo_number"] = (seg.number, tag)
            elif vessel_id:
                cv.call_sign = vessel_id[:35]
            cv.name = seg.get(7, 3)[:70] or cv.name
            nationality = seg.get(7, 4)
            if re.fullmatch(r"[A-Z]{2}", nationality):
                cv.nationality = nationality
        elif tag == "LOC":
            qualifier, raw_place = seg.get(0), seg.get(1)
            place = _locode(raw_place)
            if consignment is None:
                if qualifier in ("60", "125"):
                    if place:
                        manifest.port_of_call = manifest.port_of_call or place
                        pos.setdefault("port_of_call", (seg.number, tag))
                    elif raw_place and manifest.customs_office is None:
                        # CBP puts its own port code (Schedule D, list 77) where a LOCODE goes.
                        manifest.customs_office = raw_place[:35]
                elif qualifier == "22" and raw_place:
                    manifest.customs_office = raw_place[:35]
                elif qualifier == "9" and place:
                    loading_default = place
            elif qualifier == "9" or (qualifier == "5" and consignment.place_of_loading is None):
                # 5 (place of departure) stands in for loading in air cargo (AEAT, portico).
                consignment.place_of_loading = place
                pos[f"{c_path}.place_of_loading"] = (seg.number, tag)
            elif qualifier == "11":
                consignment.place_of_discharge = place
                pos[f"{c_path}.place_of_discharge"] = (seg.number, tag)
        elif tag == "DTM":
            qualifier = seg.get(0, 0)
            # Only the voyage's dates are read; a bill's DTM is not parsed (strptime is slow).
            when = parse_dtm(seg.get(0, 1), seg.get(0, 2)) if consignment is None else None
            if when is not None and consignment is None:
                if qualifier in ARRIVAL_DTM and manifest.arrival_time is None:
                    manifest.arrival_time = when
                    pos["arrival_time"] = (seg.number, tag)
                elif qualifier in DEPARTURE_DTM and manifest.departure_time is None:
                    manifest.departure_time = when
                    pos["departure_time"] = (seg.number, tag)
        elif tag == "NAD":
            party = _party(seg)
            if consignment is None:
                manifest.parties.append(party)
            else:
                consignment.parties.append(party)
        elif tag == "CNI":
            goods = None
            equipment = None
            doc = seg.get(1)
            consignment = Consignment(
                sequence=len(manifest.consignments) + 1,
                transport_document=doc[:35] if doc else "",
            )
            c_path = f"consignments[{len(manifest.consignments)}]"
            pos[c_path] = (seg.number, tag)
            cni_number = consignment.transport_document
            manifest.consignments.append(consignment)
        elif tag == "RFF" and consignment is not None:
            qualifier, value = seg.get(0, 0), seg.get(0, 1)
            index = len(manifest.consignments) - 1
            kind = TRANSPORT_DOCUMENT_RFF.get(qualifier)
            if kind is not None and value and consignment.goods_items:
                # A second bill inside one CNI, its goods numbered from 1 again (MSC/Egypt,
                # CUSCAR_indice_1): a consignment of its own, grouped under the CNI number.
                consignment = Consignment(
                    sequence=len(manifest.consignments) + 1,
                    transport_document=value[:35],
                    transport_document_kind="house" if kind == "house" else "master",
                    master_reference=cni_number if cni_number and cni_number != value else None,
                )
                c_path = f"consignments[{len(manifest.consignments)}]"
                pos[c_path] = (seg.number, tag)
                manifest.consignments.append(consignment)
                goods = None
                equipment = None
            elif kind is not None and value:
                if not consignment.transport_document:
                    consignment.transport_document = value[:35]
                    consignment.transport_document_kind = "house" if kind == "house" else "master"
                elif value != consignment.transport_document and kind == "master":
                    consignment.master_reference = value[:35]
            elif qualifier == "AAM" and value:
                waybills.setdefault(index, value[:35])
        elif tag == "DOC" and consignment is not None and goods is None:
            kind = TRANSPORT_DOCUMENT_DOC.get(seg.get(0, 0))
            value = seg.get(1, 0)
            if kind is not None and value and not consignment.transport_document:
                consignment.transport_document = value[:35]
                consignment.transport_document_kind = "house" if kind == "house" else "master"
        elif tag == "CNT":
            # CNT before a consignment's goods (CUSCAR_cuscartools_1) totals that consignment;
            # after them it is the message's summary section, as the directory places it.
            if consignment is None or consignment.goods_items or summary:
                summary = consignment is not None
                has_totals = _totals(seg, totals, d.decimal) or has_totals
                pos.setdefault("control_totals", (seg.number, tag))
            else:
                c_totals = consignment.control_totals or ControlTotals()
                if _totals(seg, c_totals, d.decimal):
                    consignment.control_totals = c_totals
                    pos.setdefault(f"{c_path}.control_totals", (seg.number, tag))
        elif tag == "GID" and consignment is not None:
            seq = seg.get(0)
            goods = GoodsItem(
                sequence=whole(seq) or len(consignment.goods_items) + 1,
                package_count=whole(seg.get(1)),
                package_type=seg.get(1, 1)[:35] or None,
            )
            equipment = None
            g_path = f"{c_path}.goods_items[{len(consignment.goods_items)}]"
            pos[g_path] = (seg.number, tag)
            consignment.goods_items.append(goods)
        elif tag == "PAC" and goods is not None:
            # CBP ACE puts the package count in PAC instead of GID.
            if goods.package_count is None and whole(seg.get(0)) is not None:
                goods.package_count = whole(seg.get(0))
                goods.package_type = goods.package_type or seg.get(2)[:35] or None
        elif tag == "FTX" and goods is not None and seg.get(0) in ("AAA", "AAD", ""):
            text = "".join(seg.element(3)).strip()
            if text:
                goods.description = ((goods.description + " ") if goods.description else "") + text
                goods.description = goods.description[:512]
        elif tag in ("PIA", "CST") and goods is not None:
            # D95B CUSCAR carries the tariff code in CST (C246); later directories and
            # other profiles use PIA (C212). Both put code and code-list id at 1..5.
            for i in range(1, 6):
                code, kind = seg.get(i, 0), seg.get(i, 1)
                digits = code.replace(".", "").replace(" ", "")
                if kind in ("HS", "CG", "") and re.fullmatch(r"[0-9]{1,12}", digits):
                    # Kept as sent (dots removed): the HS rule judges the length, not the adapter.
                    goods.hs_code = digits
                    pos[f"{g_path}.hs_code"] = (seg.number, tag)
                    break
        elif tag == "DGS" and goods is not None:
            un = seg.get(3)
            if re.fullmatch(r"[0-9]{4}", un):
                goods.dangerous_goods_un_numbers.append(un)
        elif tag == "MEA":
            dimension, unit, value = seg.get(1), seg.get(2, 0), seg.get(2, 1)
            target = goods if goods is not None else equipment
            mass = is_mass_unit(unit)
            if target is not None and mass and (dimension in GROSS_MASS_MEA or not dimension):
                target.gross_mass_kg = to_kg(value, unit, d.decimal)
            elif goods is not None and mass and dimension in NET_MASS_MEA:
                goods.net_mass_kg = to_kg(value, unit, d.decimal)
            elif dimension == "AAW" and goods is not None and unit == "MTQ":
                goods.volume_m3 = to_decimal(value, d.decimal)
        elif tag == "SGP" and goods is not None:
            if seg.get(0):
                pos.setdefault(
                    f"{g_path}.equipment_references[{len(goods.equipment_references)}]",
                    (seg.number, tag),
                )
                goods.equipment_references.append(seg.get(0)[:35])
        elif tag == "EQD":
            ident = seg.get(1)
            if not ident:
                continue
            full = seg.get(5)
            equipment = TransportEquipment(
                identifier=ident[:35],
                size_type=seg.get(2)[:35] or None,
                fullness="full" if full == "5" else "empty" if full == "4" else None,
            )
            goods = None
            # EQD before the first CNI declares the call's equipment; inside a CNI, the consignment's.
            if consignment is not None:
                pos[f"{c_path}.equipment[{len(consignment.equipment)}]"] = (seg.number, tag)
                consignment.equipment.append(equipment)
            else:
                pos[f"equipment[{len(manifest.equipment)}]"] = (seg.number, tag)
                manifest.equipment.append(equipment)
        elif tag == "SEL" and equipment is not None and seg.get(0):
            equipment.seals.append(seg.get(0)[:35])
    for index, c in enumerate(manifest.consignments):
        if not c.transport_document and index in waybills:
            c.transport_document = waybills[index]
        if not c.transport_document and len(manifest.consignments) == 1:
            # One bill per message (SCPRBL and similar profiles): the BGM number is the bill's.
            c.transport_document = manifest.document_number
        if not c.transport_document:
            segment = pos.get(f"consignments[{index}]", (None, "CNI"))[0]
            raise MappingError(
                "MISSING_TRANSPORT_DOCUMENT",
                f"consignment {c.sequence} of CUSCAR {message.reference} has no bill of lading "
                "number (CNI 1004, RFF+BM/BH, DOC or RFF+AAM)",
                f"segment {segment} CNI" if segment else "CNI",
                segment,
            )
        if c.place_of_loading is None and loading_default is not None:
            c.place_of_loading = loading_default
        masses = [g.gross_mass_kg for g in c.goods_items if g.gross_mass_kg is not None]
        if masses:
            c.gross_mass_kg = sum(masses, Decimal(0))
    if has_totals:
        manifest.control_totals = totals
    if streamed is not None:
        manifest.header.payload_hash = streamed.hash
    return manifest


def _drain(stack: list[Segment]) -> Iterator[Segment]:
    """The segments of ``stack`` (reversed) in order, each dropped from it as it is given."""
    while stack:
        yield stack.pop()


def is_cuscar(message: Message) -> bool:
    """CUSCAR by UNH, or (a real-world defect) an empty UNH type with a cargo-report BGM 85."""
    if message.type == MESSAGE_TYPE:
        return True
    return not message.type and any(
        s.tag == "BGM" and s.get(0) == "85" for s in message.segments[1:3]
    )


def decode(data: bytes, context: DecodeContext | None = None) -> list[CargoManifest]:
    """Every CUSCAR message in ``data`` as a manifest (other message types are skipped)."""
    manifests = []
    for interchange in parse(data):
        for message in interchange.messages:
            if is_cuscar(message):
                manifests.append(decode_message(message, interchange, context))
    return manifests
