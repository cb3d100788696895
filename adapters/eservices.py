"""The customs online portal's JSON (``xsd/json/``) to travellers' canonical documents (issue #18).

Pure: bytes in, a :class:`gateway.domain.travellers.VehicleTemporaryAdmission`, a
:class:`gateway.domain.travellers.CurrencyDeclaration` or a border post's
:class:`gateway.domain.travellers.BorderEvent` out, or a :class:`adapters.common.MappingError`
whose ``reason`` says what is wrong and ``where`` points into the JSON (a JSON Pointer).
The document says what it is in ``documentType``; its schema is then checked whole, then
what a schema cannot say: the VIN (ISO 3779), the currency codes (ISO 4217), the signs of
amounts, dates that exist.

>>> from pathlib import Path
>>> samples = Path(__file__).resolve().parents[1] / "samples" / "eservices"
>>> doc = decode((samples / "tpd-request.json").read_bytes())
>>> doc.vehicle.make, doc.sailing.port_of_entry, doc.header.source.format
('Renault', 'DZALG', 'json')
>>> try:
...     decode(b'{"documentType": "tpd-request"}')
... except MappingError as exc:
...     exc.reason, exc.where
('JSON_SCHEMA_INVALID', '/')
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from adapters.common import DecodeContext, MappingError
from gateway.domain.json_validation import validate_json
from gateway.domain.model import Header, Source
from gateway.domain.travellers import (
    BorderEvent,
    CurrencyDeclaration,
    DeclaredAmount,
    IdentityDocument,
    Itinerary,
    Money,
    Person,
    Sailing,
    Vehicle,
    VehicleTemporaryAdmission,
)
from gateway.domain.travellers_rules import ISO_4217, vin_problem

FORMAT: Final = "json"
SYNTAX_VERSION: Final = "1.0"
#: A pre-declaration is a few kilobytes; anything far larger is not one.
MAX_BYTES: Final = 256 * 1024
SCHEMAS: Final = {
    "tpd-request": "tpd-request.schema.json",
    "currency-declaration": "currency-declaration.schema.json",
    "border-event": "border-event.schema.json",
}
# What XML 1.0 cannot carry (JSON can: "\u0000"): refused before a canonical document is made.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two values for one key: which one counts would depend on the reader. Refused.
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise MappingError("JSON_MALFORMED", f"the key {key[:40]!r} appears twice", "/")
        seen[key] = value
    return seen


def _refuse_constant(name: str) -> Any:
    raise MappingError("JSON_MALFORMED", f"{name} is not a JSON number", "/")


def load(data: bytes) -> Any:
    """The JSON value of ``data``, or MappingError ``JSON_MALFORMED`` with the reason."""
    if len(data) > MAX_BYTES:
        raise MappingError(
            "JSON_TOO_LARGE", f"the document has {len(data)} bytes, at most {MAX_BYTES}", "/"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MappingError("JSON_MALFORMED", f"not UTF-8 at byte {exc.start}", "/") from None
    try:
        return json.loads(
            text, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
        )
    except json.JSONDecodeError as exc:
        raise MappingError(
            "JSON_MALFORMED", f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", "/"
        ) from None
    except RecursionError:
        raise MappingError("JSON_MALFORMED", "nested too deeply", "/") from None
    except ValueError:
        # Python refuses to read an integer of more than 4,300 digits (int_max_str_digits):
        # a ValueError, not a JSONDecodeError, which went past the adapter, so the message
        # failed five times and was dead-lettered INTERNAL_ERROR without a receipt.
        raise MappingError("JSON_MALFORMED", "a number has too many digits", "/") from None


def document_type(value: Any) -> str:
    """The ``documentType`` of a parsed document, or MappingError for one we do not take."""
    kind = value.get("documentType") if isinstance(value, dict) else None
    if not isinstance(kind, str) or kind not in SCHEMAS:  # a list or object is unhashable
        shown = repr(kind)[:40]
        raise MappingError(
            "JSON_UNSUPPORTED_DOCUMENT",
            f"documentType {shown} is not one of {', '.join(SCHEMAS)}",
            "/documentType",
        )
    return str(kind)


def _checked(value: Any, kind: str) -> dict[str, Any]:
    problems = validate_json(value, SCHEMAS[kind])
    if problems:
        first = problems[0]
        raise MappingError(
            "JSON_SCHEMA_INVALID", f"breaks {SCHEMAS[kind]}: {first.sentence}", first.path
        )
    _check_characters(value, "")
    checked: dict[str, Any] = value
    return checked


def _check_characters(value: Any, where: str) -> None:
    if isinstance(value, str):
        if _NOT_XML.search(value):
            raise MappingError(
                "INVALID_CHARACTER", "a control character no canonical XML can hold", where or "/"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_characters(item, f"{where}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_characters(item, f"{where}/{i}")


def _date(text: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise MappingError("JSON_FIELD_INVALID", f"{text!r} is not a date", where) from None


def _time(text: str, where: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise MappingError(
            "JSON_FIELD_INVALID", f"{text[:40]!r} is not a date and time with its zone", where
        )
    return value


def _currency(code: str, where: str) -> str:
    if code not in ISO_4217:
        raise MappingError("CURRENCY_UNKNOWN", f"{code!r} is not an ISO 4217 currency", where)
    return code


def _amount(text: str, where: str) -> Decimal:
    value = Decimal(text)  # the schema's pattern made sure it is a decimal number
    if value < 0:
        raise MappingError("AMOUNT_NEGATIVE", f"an amount cannot be negative ({text})", where)
    return value


def _person(p: dict[str, Any], where: str) -> Person:
    d = p["document"]
    return Person(
        given_names=p["givenNames"],
        family_name=p["familyName"],
        birth_date=_date(p["birthDate"], f"{where}/birthDate"),
        nationality=p["nationality"],
        residence_status=p.get("residenceStatus"),
        country_of_residence=p.get("countryOfResidence"),
        document=IdentityDocument(
            type=d["type"],
            number=d["number"],
            issuing_country=d["issuingCountry"],
            expiry_date=None
            if "expiryDate" not in d
            else _date(d["expiryDate"], f"{where}/document/expiryDate"),
        ),
    )


def _sailing(s: dict[str, Any], where: str) -> Sailing:
    return Sailing(
        operator=s["operator"],
        vessel=s["vessel"],
        vessel_imo=s.get("vesselImo"),
        date=_date(s["date"], f"{where}/date"),
        port_of_departure=s.get("portOfDeparture"),
        port_of_entry=s["portOfEntry"],
    )


def _vin(vin: str, where: str) -> str:
    problem = vin_problem(vin)
    if problem is not None:
        raise MappingError("VIN_INVALID", f"{vin[:20]!r}: {problem}", where)
    return vin


def _header(doc: dict[str, Any], kind: str, data: bytes, context: DecodeContext) -> Header:
    try:  # the canonical header wants a UUID; a partner's own ids may be anything
        correlation = str(uuid.UUID(context.correlation_id)) if context.correlation_id else None
    except ValueError:
        correlation = None
    return Header.new(
        sender=context.sender,
        receiver=context.receiver,
        document_type=_CANONICAL[kind],
        business_reference=doc["reference"],
        correlation_id=correlation,
        payload_hash=hashlib.sha256(data).hexdigest(),
        source=Source(format=FORMAT, message_type=kind, syntax_version=SYNTAX_VERSION),
    )


def _admission(
    doc: dict[str, Any], data: bytes, context: DecodeContext
) -> VehicleTemporaryAdmission:
    v = doc["vehicle"]
    value = v.get("value")
    return VehicleTemporaryAdmission(
        header=_header(doc, "tpd-request", data, context),
        reference=doc["reference"],
        submitted_at=_time(doc["submittedAt"], "/submittedAt"),
        traveller=_person(doc["traveller"], "/traveller"),
        vehicle=Vehicle(
            vin=_vin(v["vin"], "/vehicle/vin"),
            registration=v["registration"],
            registration_country=v["registrationCountry"],
            make=v["make"],
            model=v["model"],
            year=v["year"],
            engine_capacity_cc=v.get("engineCapacityCc"),
            value=None
            if value is None
            else Money(
                _amount(value["amount"], "/vehicle/value/amount"),
                _currency(value["currency"], "/vehicle/value/currency"),
            ),
        ),
        sailing=_sailing(doc["sailing"], "/sailing"),
        co_travellers=[
            _person(p, f"/coTravellers/{i}") for i, p in enumerate(doc.get("coTravellers", []))
        ],
    )


def _declaration(doc: dict[str, Any], data: bytes, context: DecodeContext) -> CurrencyDeclaration:
    it = doc.get("itinerary")
    return CurrencyDeclaration(
        header=_header(doc, "currency-declaration", data, context),
        reference=doc["reference"],
        submitted_at=_time(doc["submittedAt"], "/submittedAt"),
        declarant=_person(doc["declarant"], "/declarant"),
        direction=doc["direction"],
        entry_declaration_reference=doc.get("entryDeclarationReference"),
        amounts=[
            DeclaredAmount(
                _currency(a["currency"], f"/amounts/{i}/currency"),
                _amount(a["amount"], f"/amounts/{i}/amount"),
                a["form"],
            )
            for i, a in enumerate(doc["amounts"])
        ],
        origin_of_funds=doc.get("originOfFunds"),
        intended_use=doc.get("intendedUse"),
        itinerary=None
        if it is None
        else Itinerary(
            from_country=it["fromCountry"],
            to_country=it["toCountry"],
            transit_countries=list(it.get("transitCountries", [])),
            sailing=None if "sailing" not in it else _sailing(it["sailing"], "/itinerary/sailing"),
        ),
    )


_CANONICAL: Final = {
    "tpd-request": VehicleTemporaryAdmission.DOCUMENT_TYPE,
    "currency-declaration": CurrencyDeclaration.DOCUMENT_TYPE,
}
_DECODERS: Final[dict[str, Callable[..., VehicleTemporaryAdmission | CurrencyDeclaration]]] = {
    "tpd-request": _admission,
    "currency-declaration": _declaration,
}


def decode(
    data: bytes, context: DecodeContext | None = None
) -> VehicleTemporaryAdmission | CurrencyDeclaration:
    """A portal pre-declaration (TPD request or currency declaration) -> its canonical document."""
    value = load(data)
    kind = document_type(value)
    if kind not in _DECODERS:
        raise MappingError(
            "JSON_UNSUPPORTED_DOCUMENT",
            f"a {kind} comes from a border post, not from the portal",
            "/documentType",
        )
    return _DECODERS[kind](_checked(value, kind), data, context or DecodeContext())


def decode_border_event(data: bytes) -> BorderEvent:
    """A border post's event -> :class:`BorderEvent` (MappingError when it is not a valid one)."""
    value = load(data)
    if document_type(value) != "border-event":
        raise MappingError(
            "JSON_UNSUPPORTED_DOCUMENT",
            "a border post sends border-event documents only",
            "/documentType",
        )
    doc = _checked(value, "border-event")
    return BorderEvent(
        event=doc["event"],
        place=doc["place"],
        time=_time(doc["time"], "/time"),
        officer=doc["officer"],
        tpd=doc.get("tpd"),
        vin=None if "vin" not in doc else _vin(doc["vin"], "/vin"),
        post=doc.get("post"),
        extended_until=None
        if "extendedUntil" not in doc
        else _date(doc["extendedUntil"], "/extendedUntil"),
    )
