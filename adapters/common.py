"""What every adapter shares: the decode context, mapping errors, unit and date helpers."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from lxml import etree

from adapters.dtm import strptime
from gateway.domain import xmlsafe

if TYPE_CHECKING:
    from collections.abc import Sequence

    from adapters.edifact import Message, Segment


@dataclass(frozen=True, slots=True)
class DecodeContext:
    """Facts about a message that its bytes do not carry: who sent it, over which transport."""

    sender: str = "unknown"
    correlation_id: str | None = None
    receiver: str = "customs"


class MappingError(ValueError):
    """A syntactically valid message that cannot become a canonical document.

    ``reason`` is machine-readable, ``where`` points into the partner's message.
    """

    def __init__(
        self, reason: str, sentence: str, where: str = "", segment: int | None = None
    ) -> None:
        super().__init__(sentence)
        self.reason = reason
        self.sentence = sentence
        self.where = where
        self.segment = segment


# Characters XML 1.0 cannot carry. The EDIFACT engine only warns about them (charset policy
# ACCEPT), so a message holding one must be refused before the canonical XML is built.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# Segments joined at a time by the whole-message checks (characters here, the CUSCAR payload
# hash): never the text of a whole large message at once (issue #8).
SEGMENT_SLICE = 2_000


def check_xml_characters(message: Message) -> None:
    """MappingError ``INVALID_CHARACTER`` for a value the canonical XML cannot hold.

    >>> from adapters.edifact import parse
    >>> msg = parse(b"UNH+1+CUSCAR:D:95B:UN'TDT+20+V\x07'UNT+3+1'")[0].messages[0]
    >>> try:
    ...     check_xml_characters(msg)
    ... except MappingError as exc:
    ...     exc.reason, exc.where
    ('INVALID_CHARACTER', 'segment 2 TDT')
    """
    check_xml_segments(message.segments)


def check_xml_segments(segments: Sequence[Segment]) -> None:
    """:func:`check_xml_characters` on ``segments`` (part of a message read as it goes)."""
    bad = _NOT_XML.search
    # One search over all values first: nearly every message is clean, and one regex call
    # on the joined text costs far less than one per value (a 10,000-bill manifest has
    # half a million values). Only a dirty message is searched segment by segment. Joined a
    # slice of segments at a time: the whole text of a 5,000-bill message would be ~8 MB
    # more at the moment its segments are all alive (issue #8).
    clean = True
    for start in range(0, len(segments), SEGMENT_SLICE):
        part = segments[start : start + SEGMENT_SLICE]
        values = "".join(["".join(["".join(e) for e in seg.elements]) for seg in part])
        if bad(values) is not None or any(seg.repeats for seg in part):
            clean = False
            break
    if clean:
        return
    for seg in segments:
        for element in (*seg.elements, *(e for _, reps in seg.repeats for e in reps)):
            for value in element:
                found = bad(value)
                if found is not None:
                    raise MappingError(
                        "INVALID_CHARACTER",
                        f"segment {seg.number} {seg.tag} holds the control character "
                        f"U+{ord(found.group()):04X}, which no canonical document can carry",
                        f"segment {seg.number} {seg.tag}",
                        seg.number,
                    )


Positions = dict[str, tuple[int, str]]
"""Model path (``consignments[0].goods_items[1]``) -> (segment number, tag) in the input."""

#: 6411 (measure unit qualifier, Recommendation 20) of a kilogram: what the canonical mass
#: fields (``...MassKg``) imply. A mass converted from another unit has that unit carried
#: beside it (``Residue.implied``): 0 K and 0 L are both 0 kg, the document must say which.
KILOGRAM = "KGM"
# Mass units (UN/ECE Recommendation 20) to kilograms.
_KG_FACTORS = {
    KILOGRAM: Decimal(1),
    "KG": Decimal(1),
    "TNE": Decimal(1000),
    # "TON" is not a Rec 20 code, but manifests in the wild use it for the metric tonne.
    "TON": Decimal(1000),
    "GRM": Decimal("0.001"),
    "LBR": Decimal("0.45359237"),
    # US CBP ACE weight qualifiers (CUSCAR_edifabric_1: MEA+AAI++K:750): K kilograms, L pounds.
    "K": Decimal(1),
    "L": Decimal("0.45359237"),
}


def whole(value: str, digits: int = 9) -> int | None:
    """A whole number written in ASCII digits, or None (``"²"`` is a digit to Python, not to EDIFACT).

    >>> whole("0042"), whole("4.2"), whole("²")
    (42, None, None)
    """
    return int(value) if re.fullmatch(f"[0-9]{{1,{digits}}}", value) else None


def is_mass_unit(unit: str) -> bool:
    """True for the units :func:`to_kg` converts.

    >>> is_mass_unit("TNE"), is_mass_unit("MTQ")
    (True, False)
    """
    return unit.upper() in _KG_FACTORS


def to_kg(value: str, unit: str, decimal_mark: str = ".") -> Decimal | None:
    """A mass in kilograms, rounded to grams; None for an unknown unit or an empty value.

    >>> to_kg("2,5", "TNE", decimal_mark=",")
    Decimal('2500.000')
    """
    return mass_kg(value, unit, decimal_mark)[0]


_GRAM = Decimal("0.001")


def mass_kg(value: str, unit: str, decimal_mark: str = ".") -> tuple[Decimal | None, bool]:
    """:func:`to_kg` and whether it is exact (False: rounded to grams, e.g. pounds, or none).

    >>> mass_kg("12.5", "KGM"), mass_kg("12.5004", "KGM")[1], mass_kg("1", "LBR")[1]
    ((Decimal('12.500'), True), False, False)
    """
    factor = _KG_FACTORS.get(unit.upper())
    if factor is None:
        return None, False
    number = to_decimal(value, decimal_mark)
    if number is None:
        return None, False
    kg = number * factor
    rounded = kg.quantize(_GRAM)
    return rounded, rounded == kg


def to_decimal(value: str, decimal_mark: str = ".") -> Decimal | None:
    text = value.strip().replace(decimal_mark, ".") if decimal_mark != "." else value.strip()
    if not text:
        return None
    # Syntax 4 and common practice accept either mark; a single comma is a decimal mark.
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    # EDIFACT numbers are at most 18 digits, no exponent: anything else is not a quantity
    # (and "1E999999" would overflow the rounding to grams).
    if not re.fullmatch(r"[+-]?(?:[0-9]{1,18}(?:\.[0-9]{0,18})?|\.[0-9]{1,18})", text):
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


_DTM_FORMATS = {
    "102": ("%Y%m%d", 8),
    "101": ("%y%m%d", 6),
    "203": ("%Y%m%d%H%M", 12),
    "201": ("%y%m%d%H%M", 10),
    "204": ("%Y%m%d%H%M%S", 14),
    "205": ("%Y%m%d%H%M%z", 17),
}


def parse_dtm(value: str, fmt: str) -> dt.datetime | None:
    """An EDIFACT date/time (format code 2379) as an aware datetime (UTC when no zone).

    >>> parse_dtm("1701290000", "201").isoformat()
    '2017-01-29T00:00:00+00:00'
    >>> parse_dtm("20041230", "102").date().isoformat()
    '2004-12-30'
    """
    spec = _DTM_FORMATS.get(fmt or "102")
    if spec is None:
        return None
    pattern, length = spec
    value = value.strip()
    if len(value) != length or not value.isascii():
        return None  # strptime would read "2024123" as 3 December
    try:
        parsed = strptime(value, pattern)  # datetime.strptime's reading (adapters.dtm)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def text_of(el: etree._Element) -> str:
    """The character data of an element of text content (an XSD simple type), as the schema
    and the signature see it: its text and the text after each processing instruction or
    comment inside it. ``el.text`` alone stops at the first of them, and a processing
    instruction survives canonicalisation and schema validation: the signed
    ``<ExpiryDate><?x?>2026-12-31</ExpiryDate>`` read ``.text`` had no expiry date.

    >>> text_of(etree.fromstring(b"<ExpiryDate><?ministry v2?>2026-12-31</ExpiryDate>"))
    '2026-12-31'
    """
    text = el.text or ""
    for child in el:
        if not isinstance(child.tag, str):  # a comment or a processing instruction
            text += child.tail or ""
    return text


def parse_xml(data: bytes) -> etree._Element:
    """Partner XML through the gateway's hardened parser; unsafe or broken XML is a MappingError."""
    try:
        return xmlsafe.parse(data)
    except xmlsafe.UnsafeXmlError as exc:
        raise MappingError(exc.reason, exc.sentence, "document") from None
