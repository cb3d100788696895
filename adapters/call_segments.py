"""What the call codecs (CUSREP, IFTDGN, COARRI) share: header, BGM, vessel, places.

Every error is a :class:`adapters.common.MappingError` naming the segment: the partner
gets it back in an APERAK. What a codec does not map is carried verbatim in the document's
NotMapped section (:class:`adapters.residue.Residue`, issue #16): each reader here returns
the shape of what it mapped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from adapters.common import (
    KILOGRAM,
    DecodeContext,
    MappingError,
    check_xml_characters,
    mass_kg,
    parse_dtm,
)
from adapters.cuscar import FUNCTIONS, carry_function_code, payload_hash
from adapters.cuscar_reader import MEASUREMENT_PURPOSE
from adapters.cuscar_segments import place_width
from adapters.edifact import Interchange, Message, Segment, parse
from adapters.residue import NOTHING, Residue, Shape
from gateway.domain.calls import imo_problem, port_of_call_problem
from gateway.domain.model import Conveyance, Header, Source
from gateway.domain.rules import locode_problem

T = TypeVar("T")
BGM_SHAPE: Shape = (0, 1, 1)  # a call document's number and function; its 1001 is carried
DTM_SHAPE: Shape = (3,)


def begin(message: Message, type_name: str) -> tuple[list[Segment], Segment, str]:
    """(body, BGM, document number) of ``message``, or a MappingError."""
    check_xml_characters(message)
    body = message.body()
    bgm = next((s for s in body if s.tag == "BGM"), None)
    if bgm is None or not bgm.get(1):
        first = bgm.number if bgm else message.segments[0].number
        raise MappingError(
            "MISSING_DOCUMENT_NUMBER",
            f"{type_name} {message.reference} has no BGM document number",
            f"segment {first} BGM",
            first,
        )
    return body, bgm, bgm.get(1)[:35]


def header(
    message: Message,
    interchange: Interchange,
    context: DecodeContext,
    bgm: Segment,
    document_type: str,
    number: str,
) -> Header:
    """The canonical header: the BGM function (1225) as for manifests, hash of the message."""
    code = bgm.get(2)
    function = FUNCTIONS.get(code or "9")
    if function is None:
        raise MappingError(
            "UNKNOWN_MESSAGE_FUNCTION",
            f"BGM of {message.type} {message.reference} has message function (1225) {code!r}: "
            "9 original, 5 replacement, 4 change, 1 or 3 cancellation are known",
            f"segment {bgm.number} BGM element 2",
            bgm.number,
        )
    return Header.new(
        sender=context.sender,
        receiver=context.receiver,
        document_type=document_type,
        business_reference=number[:70],
        correlation_id=context.correlation_id,
        function=function,
        test=interchange.test_indicator == "1",
        payload_hash=payload_hash(message, interchange.delimiters),
        source=Source(
            format="EDIFACT",
            message_type=message.type,
            directory=message.directory,
            syntax_version=str(interchange.syntax_version),
            interchange_reference=interchange.control_reference,
            message_reference=message.reference,
        ),
    )


def residue_of(message: Message, bgm: Segment) -> Residue:
    """The NotMapped accounting of ``message`` (positions count from its UNH), its BGM's
    function code carried when the function does not imply it."""
    residue = Residue(message.segments[0].number if message.segments else 1)
    carry_function_code(residue, bgm)
    return residue


def gross_mass(seg: Segment, decimal_mark: str, residue: Residue) -> tuple[Decimal | None, Shape]:
    """A MEA's mass in kg and the shape of what it maps (NOTHING when it is no mass); a value
    rounded to grams, a unit other than KGM (which the field implies) are carried as sent too."""
    mass, exact = mass_kg(seg.get(2, 1), seg.get(2, 0), decimal_mark)
    if mass is None:
        return None, NOTHING
    residue.implied(seg, 2, 0, KILOGRAM)  # another unit (LBR, TNE, K ...) is carried as sent
    if not exact:
        residue.keep(seg, 2, 1)
    return mass, (1 if seg.get(0) in ("", MEASUREMENT_PURPOSE) else 0, 1, 2)


def require_imo(conveyance: Conveyance, tdt: Segment | None, where_message: str) -> str:
    """The vessel's IMO number, check digit verified, or MappingError."""
    problem = imo_problem(conveyance.imo_number)
    if problem is None and conveyance.imo_number:
        return conveyance.imo_number
    number = tdt.number if tdt is not None else None
    reason = "MISSING_IMO_NUMBER" if not conveyance.imo_number else "INVALID_IMO_NUMBER"
    raise MappingError(
        reason,
        f"{where_message}: {problem} (TDT C222 8213, code list 146 or agency 11)",
        f"segment {number} TDT element 7" if number else "no TDT",
        number,
    )


def require_voyage(conveyance: Conveyance, tdt: Segment | None, where_message: str) -> str:
    if conveyance.voyage_number:
        return conveyance.voyage_number
    raise MappingError(
        "MISSING_VOYAGE_NUMBER",
        f"{where_message} names no voyage (TDT 8028): the call cannot be known",
        f"segment {tdt.number} TDT element 1" if tdt else "no TDT",
        tdt.number if tdt else None,
    )


def place_shape(seg: Segment) -> Shape:
    """The shape of a LOC whose place (C517) a field holds."""
    return (1, place_width(seg))


def place(seg: Segment, *, port_of_call: bool = False) -> str:
    """The UN/LOCODE of a LOC (C517 3225), or MappingError: ``INVALID_LOCODE`` for what is
    not one, ``UNKNOWN_PORT`` for a port of call outside the country the gateway serves."""
    code = seg.get(1).strip().upper()
    problem = port_of_call_problem(code) if port_of_call else locode_problem(code)
    if problem is None:
        return code
    reason = "INVALID_LOCODE" if locode_problem(code) else "UNKNOWN_PORT"
    raise MappingError(
        reason,
        f"LOC+{seg.get(0)} place {code!r}: {problem}",
        f"segment {seg.number} LOC element 1",
        seg.number,
    )


def when(seg: Segment) -> tuple[str, dt.datetime | None]:
    """(qualifier, aware datetime or None) of a DTM."""
    return seg.get(0, 0), parse_dtm(seg.get(0, 1), seg.get(0, 2))


def require_port_of_call(port: str | None, message: Message, hint: str = "LOC+60") -> str:
    if port is not None:
        return port
    raise MappingError(
        "MISSING_PORT_OF_CALL",
        f"{message.type} {message.reference} names no port of call ({hint})",
        f"message {message.reference}",
        message.segments[0].number,
    )


def decode_all(
    data: bytes,
    context: DecodeContext | None,
    accepts: Callable[[Message], bool],
    decode_message: Callable[[Message, Interchange, DecodeContext | None], T],
) -> list[T]:
    """Every message of ``data`` that ``accepts`` takes, decoded (the others skipped)."""
    return [
        decode_message(message, interchange, context)
        for interchange in parse(data)
        for message in interchange.messages
        if accepts(message)
    ]
