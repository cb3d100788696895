"""APCS's XML arrival notification and terminal report -> :class:`VesselCall`,
:class:`TerminalOperationsReport` (``xsd/apcs-calls-1.xsd``, samples in ``samples/apcs/xml/``).

The same data as CUSREP and COARRI, from the port community system in XML. Pure: bytes in,
a canonical document out, or a :class:`MappingError` (the input breaks the APCS schema, an
IMO check digit is wrong, the port of call is not a port of Algeria).

>>> doc = decode(b'<TerminalReport xmlns="urn:apcs:dz:calls:1" operation="load">'
...              b'<ReportNumber>L1</ReportNumber><Imo>9454436</Imo><Voyage>V1</Voyage>'
...              b'<PortOfCall>DZBJA</PortOfCall><Container id="CMAU3000009"/></TerminalReport>')
>>> doc.operation, doc.call.port_of_call, doc.movements[0].container, doc.complete
('load', 'DZBJA', 'CMAU3000009', False)
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any, Final, cast

from lxml import etree

from adapters.common import DecodeContext, MappingError, parse_xml, text_of, whole
from gateway.domain.calls import (
    CallKey,
    CargoSummary,
    ContainerMovement,
    TerminalOperationsReport,
    VesselCall,
    imo_problem,
    port_of_call_problem,
)
from gateway.domain.model import Conveyance, Header, Source
from gateway.domain.rules import locode_problem
from gateway.domain.validation import validate

NAMESPACE: Final = "urn:apcs:dz:calls:1"
SCHEMA_FILE: Final = "apcs-calls-1.xsd"
_NS = f"{{{NAMESPACE}}}"
ARRIVAL: Final = f"{_NS}ArrivalNotification"
TERMINAL_REPORT: Final = f"{_NS}TerminalReport"


def _text(el: etree._Element, name: str) -> str | None:
    child = el.find(_NS + name)
    text = None if child is None else text_of(child)
    return text.strip() if text else None


# A value the schema allows but Python cannot hold: xs:dateTime takes hour 24 and years of
# five digits, xs:nonNegativeInteger any number of digits (int() refuses more than 4,300).
# Refused as a field the gateway cannot use; before, the ValueError went past the adapter and
# the message failed five deliveries and was dead-lettered INTERNAL_ERROR, unanswered.
FIELD_INVALID: Final = "CALL_FIELD_INVALID"


def _moment(value: str | None, where: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise MappingError(
            FIELD_INVALID, f"{value[:30]!r} is not a date and time the gateway can use", where
        ) from None


def _int(value: str | None, where: str) -> int | None:
    if value is None:
        return None
    number = whole(value.strip().removeprefix("+"))
    if number is None:
        raise MappingError(
            FIELD_INVALID, f"{value[:20]!r} is not a whole number of 1 to 9 digits", where
        )
    return number


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _header(
    root: etree._Element, data: bytes, context: DecodeContext, document_type: str, number: str
) -> Header:
    return Header.new(
        sender=context.sender,
        receiver=context.receiver,
        document_type=document_type,
        business_reference=number,
        correlation_id=context.correlation_id,
        function=cast(Any, root.get("function", "original")),
        payload_hash=hashlib.sha256(data).hexdigest(),
        source=Source(format="XML", message_type=etree.QName(root).localname),
    )


def _checked(code: str | None, *, port_of_call: bool, where: str) -> str | None:
    if code is None:
        return None
    problem = port_of_call_problem(code) if port_of_call else locode_problem(code)
    if problem is not None:
        reason = "INVALID_LOCODE" if locode_problem(code) else "UNKNOWN_PORT"
        raise MappingError(reason, f"{where} {code}: {problem}", where)
    return code


def _imo(number: str) -> str:
    problem = imo_problem(number)
    if problem is not None:
        raise MappingError("INVALID_IMO_NUMBER", problem, "Vessel/@imo")
    return number


def arrival(root: etree._Element, data: bytes, context: DecodeContext) -> VesselCall:
    vessel = root.find(_NS + "Vessel")
    port = root.find(_NS + "PortOfCall")
    assert vessel is not None and port is not None  # the schema requires them
    number = _text(root, "CallReference") or ""
    cargo_el = root.find(_NS + "Cargo")
    cargo = None
    if cargo_el is not None:
        cargo = CargoSummary(
            containers_to_discharge=_int(cargo_el.get("discharge"), "Cargo/@discharge"),
            containers_to_load=_int(cargo_el.get("load"), "Cargo/@load"),
            gross_mass_kg=_decimal(cargo_el.get("grossMassKg")),
            description=text_of(cargo_el).strip()[:512] or None,
        )
    return VesselCall(
        header=_header(root, data, context, VesselCall.DOCUMENT_TYPE, number),
        call_reference=number,
        conveyance=Conveyance(
            imo_number=_imo(vessel.get("imo", "")),
            name=text_of(vessel).strip() or None,
            call_sign=vessel.get("callSign"),
            nationality=vessel.get("flag"),
            voyage_number=_text(root, "Voyage"),
            carrier=_text(root, "Operator"),
            mode_of_transport="1",
        ),
        port_of_call=_checked(text_of(port).strip(), port_of_call=True, where="PortOfCall") or "",
        berth=port.get("berth"),
        last_port=_checked(_text(root, "LastPort"), port_of_call=False, where="LastPort"),
        next_port=_checked(_text(root, "NextPort"), port_of_call=False, where="NextPort"),
        eta=_moment(_text(root, "ETA"), "ETA"),
        ata=_moment(_text(root, "ATA"), "ATA"),
        atd=_moment(_text(root, "ATD"), "ATD"),
        crew_count=_int(_text(root, "Crew"), "Crew"),
        passenger_count=_int(_text(root, "Passengers"), "Passengers"),
        cargo=cargo,
    )


def terminal_report(
    root: etree._Element, data: bytes, context: DecodeContext
) -> TerminalOperationsReport:
    port = root.find(_NS + "PortOfCall")
    assert port is not None  # the schema requires it
    number = _text(root, "ReportNumber") or ""
    operation = cast(Any, root.get("operation"))
    movements = [
        ContainerMovement(
            container=c.get("id", "").replace(" ", "").upper(),
            operation=operation,
            time=_moment(c.get("time"), "Container/@time"),
            size_type=c.get("sizeType"),
            full=None if c.get("full") is None else c.get("full") in ("true", "1"),
            seals=tuple(text_of(s).strip() for s in c.findall(_NS + "Seal")),
            gross_mass_kg=_decimal(c.get("grossMassKg")),
            transport_document=c.get("billOfLading"),
            stowage_position=c.get("position"),
            place_of_loading=_checked(c.get("loadedAt"), port_of_call=False, where="loadedAt"),
            place_of_discharge=_checked(
                c.get("dischargeAt"), port_of_call=False, where="dischargeAt"
            ),
        )
        for c in root.findall(_NS + "Container")
    ]
    port_code = _checked(text_of(port).strip(), port_of_call=False, where="PortOfCall")
    return TerminalOperationsReport(
        header=_header(root, data, context, TerminalOperationsReport.DOCUMENT_TYPE, number),
        document_number=number,
        call=CallKey(_imo(_text(root, "Imo") or ""), _text(root, "Voyage") or "", port_code or ""),
        operation=operation,
        terminal=port.get("terminal"),
        complete=root.get("complete") in ("true", "1"),
        completed_at=_moment(root.get("completedAt"), "@completedAt"),
        movements=movements,
    )


def decode(
    data: bytes, context: DecodeContext | None = None
) -> VesselCall | TerminalOperationsReport:
    """An APCS arrival notification or terminal report as its canonical document."""
    context = context or DecodeContext()
    root = parse_xml(data)
    if root.tag not in (ARRIVAL, TERMINAL_REPORT):
        raise MappingError(
            "UNSUPPORTED_DOCUMENT",
            f"{root.tag} is neither an APCS ArrivalNotification nor a TerminalReport",
            "document",
        )
    problems = validate(root, schema=SCHEMA_FILE)
    if problems:
        raise MappingError(
            "SCHEMA_INVALID",
            f"the APCS {etree.QName(root).localname} breaks {SCHEMA_FILE}: {problems[0].sentence}",
            problems[0].path,
        )
    if root.tag == ARRIVAL:
        return arrival(root, data, context)
    return terminal_report(root, data, context)
