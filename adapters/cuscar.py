"""CUSCAR (customs cargo report) <-> canonical :class:`CargoManifest`.

This is the one place where a CUSCAR becomes a manifest. ``decode`` reads every
CUSCAR message in an interchange; ``encode`` writes a manifest back as a D95B
CUSCAR interchange, and ``decode(encode(m))`` gives ``m``'s content again.

>>> data = (b"UNB+UNOA:3+APCS+CUSTOMS+240101:1200+7'UNH+1+CUSCAR:D:95B:UN'BGM+85+M-1+9'"
...         b"CNI+1+BL-1'GID+1+10:PK'MEA+AAE+G+KGM:1200'UNT+6+1'UNZ+1+7'")
>>> manifest = decode(data)[0]
>>> manifest.document_number, manifest.consignments[0].goods_items[0].gross_mass_kg
('M-1', Decimal('1200.000'))
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal

from adapters.common import DecodeContext, MappingError, parse_dtm, to_decimal, to_kg
from adapters.edifact import Delimiters, Interchange, Message, Segment, parse, serialize_segment
from gateway.model import (
    Address,
    CargoManifest,
    Consignment,
    ControlTotals,
    Conveyance,
    GoodsItem,
    Header,
    MessageFunction,
    Party,
    PartyRole,
    Source,
    TransportEquipment,
)

MESSAGE_TYPE = "CUSCAR"

# BGM 1225 message function -> canonical function.
FUNCTIONS: dict[str, MessageFunction] = {"9": "original", "5": "replace", "4": "change", "1": "cancel", "3": "cancel"}
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
_IMO = re.compile(r"^(?:IMO)?(\d{7})$")
_LOCODE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")


def _locode(value: str) -> str | None:
    value = value.strip().upper()
    return value if _LOCODE.match(value) else None


def _payload_hash(message: Message, delimiters: Delimiters) -> str:
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
            lines=lines[:5],
            city=seg.get(5) or None,
            postal_code=seg.get(7) or None,
            country=country if country and re.fullmatch(r"[A-Z]{2}", country) else None,
        )
    return Party(
        role=PARTY_ROLES.get(qualifier, "other"),
        code=qualifier or None,
        identifier=seg.get(1) or None,
        name=name,
        address=address,
    )


def decode_message(
    message: Message, interchange: Interchange, context: DecodeContext | None = None
) -> CargoManifest:
    """One CUSCAR message as a canonical manifest; :class:`MappingError` when it cannot be."""
    context = context or DecodeContext()
    d = interchange.delimiters
    body = message.body()
    bgm = next((s for s in body if s.tag == "BGM"), None)
    if bgm is None:
        raise MappingError("MISSING_BGM", f"CUSCAR {message.reference} has no BGM segment", "BGM")
    number = bgm.get(1)
    if not number:
        raise MappingError(
            "MISSING_DOCUMENT_NUMBER",
            f"BGM of CUSCAR {message.reference} carries no document number (C106/1004)",
            f"segment {bgm.number} BGM element 2",
            bgm.number,
        )
    function = FUNCTIONS.get(bgm.get(2, default="9"), "original")
    manifest = CargoManifest(
        header=Header.new(
            sender=context.sender,
            receiver=context.receiver,
            document_type=CargoManifest.DOCUMENT_TYPE,
            business_reference=number[:70],
            correlation_id=context.correlation_id,
            function=function,
            test=interchange.test_indicator == "1",
            payload_hash=_payload_hash(message, d),
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
    goods: GoodsItem | None = None
    equipment: TransportEquipment | None = None
    totals = ControlTotals()
    has_totals = False
    for seg in body:
        tag = seg.tag
        if tag == "TDT":
            cv = manifest.conveyance
            cv.voyage_number = seg.get(1) or cv.voyage_number
            mode = seg.get(2)
            cv.mode_of_transport = mode if re.fullmatch(r"\d", mode) else cv.mode_of_transport
            cv.carrier = seg.get(4, 3) or seg.get(4) or cv.carrier
            vessel_id, vessel_qual = seg.get(7), seg.get(7, 1)
            imo = _IMO.match(vessel_id.replace(" ", ""))
            if imo and (vessel_qual in ("", "IMO", "11") or vessel_id.startswith("IMO")):
                cv.imo_number = imo.group(1)
            elif vessel_id:
                cv.call_sign = vessel_id[:35]
            cv.name = seg.get(7, 3) or cv.name
            nationality = seg.get(7, 4)
            cv.nationality = nationality if re.fullmatch(r"[A-Z]{2}", nationality) else cv.nationality
        elif tag == "LOC":
            qualifier, place = seg.get(0), _locode(seg.get(1))
            if consignment is None:
                if qualifier in ("60", "125") and place:
                    manifest.port_of_call = manifest.port_of_call or place
                elif qualifier == "22":
                    manifest.customs_office = seg.get(1)[:35] or None
            elif qualifier == "9":
                consignment.place_of_loading = place
            elif qualifier == "11":
                consignment.place_of_discharge = place
        elif tag == "DTM":
            qualifier = seg.get(0, 0)
            when = parse_dtm(seg.get(0, 1), seg.get(0, 2))
            if when is not None and consignment is None:
                if qualifier in ARRIVAL_DTM and manifest.arrival_time is None:
                    manifest.arrival_time = when
                elif qualifier in DEPARTURE_DTM and manifest.departure_time is None:
                    manifest.departure_time = when
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
            manifest.consignments.append(consignment)
        elif tag == "RFF" and consignment is not None:
            qualifier, value = seg.get(0, 0), seg.get(0, 1)
            if qualifier in ("BM", "BH", "AAA") and value:
                if not consignment.transport_document:
                    consignment.transport_document = value[:35]
                    consignment.transport_document_kind = "house" if qualifier == "BH" else "master"
                elif value != consignment.transport_document and qualifier == "BM":
                    consignment.master_reference = value[:35]
        elif tag == "GID" and consignment is not None:
            seq = seg.get(0)
            goods = GoodsItem(
                sequence=int(seq) if seq.isdigit() and int(seq) > 0 else len(consignment.goods_items) + 1,
                package_count=int(seg.get(1)) if seg.get(1).isdigit() else None,
                package_type=seg.get(1, 1) or None,
            )
            consignment.goods_items.append(goods)
        elif tag == "FTX" and goods is not None and seg.get(0) in ("AAA", "AAD", ""):
            text = "".join(seg.element(3)).strip()
            if text:
                goods.description = ((goods.description + " ") if goods.description else "") + text
                goods.description = goods.description[:512]
        elif tag == "PIA" and goods is not None:
            for i in range(1, 6):
                code, kind = seg.get(i, 0), seg.get(i, 1)
                if kind in ("HS", "CG", "") and re.fullmatch(r"\d{4,10}", code):
                    goods.hs_code = code
                    break
        elif tag == "DGS" and goods is not None:
            un = seg.get(3)
            if re.fullmatch(r"\d{4}", un):
                goods.dangerous_goods_un_numbers.append(un)
        elif tag == "MEA":
            dimension, unit, value = seg.get(1), seg.get(2, 0), seg.get(2, 1)
            target = goods if goods is not None else equipment
            if dimension in ("G", "AAB") and target is not None:
                target.gross_mass_kg = to_kg(value, unit, d.decimal)
            elif dimension == "AAL" and goods is not None:
                goods.net_mass_kg = to_kg(value, unit, d.decimal)
            elif dimension == "AAW" and goods is not None and unit == "MTQ":
                goods.volume_m3 = to_decimal(value, d.decimal)
        elif tag == "SGP" and goods is not None:
            if seg.get(0):
                goods.equipment_references.append(seg.get(0)[:35])
        elif tag == "EQD":
            ident = seg.get(1)
            if not ident:
                continue
            full = seg.get(5)
            equipment = TransportEquipment(
                identifier=ident[:35],
                size_type=seg.get(2) or None,
                fullness="full" if full == "5" else "empty" if full == "4" else None,
            )
            goods = None
            # EQD before the first CNI declares the call's equipment; inside a CNI, the consignment's.
            (consignment.equipment if consignment is not None else manifest.equipment).append(equipment)
        elif tag == "SEL" and equipment is not None:
            if seg.get(0):
                equipment.seals.append(seg.get(0)[:35])
        elif tag == "CNT":
            qualifier, value, unit = seg.get(0, 0), seg.get(0, 1), seg.get(0, 2)
            has_totals = True
            if qualifier == "7":
                totals.gross_mass_kg = to_kg(value, unit or "KGM", d.decimal)
            elif qualifier == "11" and value.isdigit():
                totals.packages = int(value)
            elif qualifier == "5" and value.isdigit():
                totals.consignments = int(value)
            elif qualifier == "16" and value.isdigit():
                totals.equipment = int(value)
    for c in manifest.consignments:
        if not c.transport_document:
            raise MappingError(
                "MISSING_TRANSPORT_DOCUMENT",
                f"consignment {c.sequence} of CUSCAR {message.reference} has no bill of lading number",
                "CNI",
            )
        masses = [g.gross_mass_kg for g in c.goods_items if g.gross_mass_kg is not None]
        if masses:
            c.gross_mass_kg = sum(masses, Decimal(0))
    if has_totals:
        manifest.control_totals = totals
    return manifest


def is_cuscar(message: Message) -> bool:
    """CUSCAR by UNH, or (a real-world defect) an empty UNH type with a cargo-report BGM 85."""
    if message.type == MESSAGE_TYPE:
        return True
    return not message.type and any(s.tag == "BGM" and s.get(0) == "85" for s in message.segments[1:3])


def decode(data: bytes, context: DecodeContext | None = None) -> list[CargoManifest]:
    """Every CUSCAR message in ``data`` as a manifest (other message types are skipped)."""
    manifests = []
    for interchange in parse(data):
        for message in interchange.messages:
            if is_cuscar(message):
                manifests.append(decode_message(message, interchange, context))
    return manifests
