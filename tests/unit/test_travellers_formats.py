"""Travellers' JSON formats (issue #18): the portal's and border posts' JSON, the adapter and the
canonical documents it makes."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters import eservices
from adapters.common import DecodeContext, MappingError
from gateway.domain import canonical_xml, travellers
from gateway.domain.json_validation import validate_json
from gateway.domain.validation import validate

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "eservices"


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / name).read_text("utf-8"))
    return loaded


def encoded(doc: object) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize(
    ("name", "schema"),
    [
        ("tpd-request.json", "tpd-request.schema.json"),
        ("currency-declaration-entry.json", "currency-declaration.schema.json"),
        ("currency-declaration-exit.json", "currency-declaration.schema.json"),
        ("border-event-entry.json", "border-event.schema.json"),
        ("border-event-exit.json", "border-event.schema.json"),
    ],
)
def test_every_sample_is_valid_against_its_schema(name: str, schema: str) -> None:
    assert validate_json(sample(name), schema) == []


def _without(doc: dict[str, Any], path: str) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    *parents, last = path.split("/")
    node: Any = out
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    del node[last]
    return out


def _with(doc: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    *parents, last = path.split("/")
    node: Any = out
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(last) if last.isdigit() else last] = value
    return out


@pytest.mark.parametrize(
    ("change", "pointer", "words"),
    [
        (lambda d: _without(d, "vehicle/vin"), "/vehicle", "'vin' is a required property"),
        (
            lambda d: _with(d, "traveller/nationality", "France"),
            "/traveller/nationality",
            "does not match",
        ),
        (
            lambda d: _with(d, "traveller/residenceStatus", "tourist"),
            "/traveller/residenceStatus",
            "is not one of",
        ),
        (lambda d: _with(d, "traveller/shoeSize", 42), "/traveller", "'shoeSize' was unexpected"),
        (
            lambda d: _with(d, "coTravellers/0/birthDate", "1986-02-30"),
            "/coTravellers/0/birthDate",
            "is not a 'date'",
        ),
        (lambda d: _with(d, "vehicle/year", "2021"), "/vehicle/year", "is not of type 'integer'"),
        (
            lambda d: _with(d, "sailing/portOfEntry", "Alger"),
            "/sailing/portOfEntry",
            "does not match",
        ),
        (
            lambda d: _with(d, "vehicle/value/amount", 18500.5),
            "/vehicle/value/amount",
            "is not of type 'string'",
        ),
    ],
)
def test_a_tpd_request_breaking_its_schema_is_refused_with_where_and_why(
    change: Any, pointer: str, words: str
) -> None:
    broken = change(sample("tpd-request.json"))
    problems = validate_json(broken, "tpd-request.schema.json")
    assert problems and problems[0].path == pointer and words in problems[0].sentence
    with pytest.raises(MappingError) as exc:
        eservices.decode(encoded(broken))
    assert exc.value.reason == "JSON_SCHEMA_INVALID"
    assert exc.value.where == pointer and words in exc.value.sentence


def test_currency_and_border_schemas_refuse_what_they_must() -> None:
    declaration = sample("currency-declaration-entry.json")
    assert validate_json(_with(declaration, "amounts", []), "currency-declaration.schema.json")
    assert validate_json(
        _with(declaration, "direction", "transit"), "currency-declaration.schema.json"
    )
    assert validate_json(
        _with(declaration, "amounts/0/form", "gold bars"), "currency-declaration.schema.json"
    )
    event = sample("border-event-exit.json")
    assert validate_json(_without(event, "vin"), "border-event.schema.json"), "no TPD and no VIN"
    extension = _with(event, "event", "extension")
    assert validate_json(extension, "border-event.schema.json"), "an extension needs its new date"
    assert (
        validate_json(_with(extension, "extendedUntil", "2026-10-14"), "border-event.schema.json")
        == []
    )


def test_the_tpd_sample_becomes_a_canonical_document_valid_against_its_xsd() -> None:
    data = (SAMPLES / "tpd-request.json").read_bytes()
    doc = eservices.decode(data, DecodeContext(sender="eservices"))
    assert isinstance(doc, travellers.VehicleTemporaryAdmission)
    assert doc.header.document_type == "VehicleTemporaryAdmission"
    assert doc.header.sender == "eservices" and doc.header.source.message_type == "tpd-request"
    assert doc.traveller.family_name == "Benaïssa"
    assert doc.traveller.residence_status == "non_resident_national"
    assert [p.family_name for p in doc.co_travellers] == ["Benaïssa", "بن عيسى"]
    assert doc.vehicle.value == travellers.Money(Decimal("18500.00"), "EUR")
    assert doc.sailing.port_of_departure == "FRMRS" and doc.sailing.date == dt.date(2026, 7, 14)
    assert doc.references() == ["TPD-2026-0714-00042", "VF1RFB00X56123456", "FR/GH-123-JK"]
    element = canonical_xml.to_xml(doc)
    assert validate(element, schema=travellers.SCHEMA_FILE) == []
    assert canonical_xml.from_xml(canonical_xml.to_bytes(element)) == doc


def test_a_currency_declaration_with_its_assessment_round_trips_and_validates() -> None:
    doc = eservices.decode((SAMPLES / "currency-declaration-entry.json").read_bytes())
    assert isinstance(doc, travellers.CurrencyDeclaration)
    assert [(a.currency, a.amount, a.form) for a in doc.amounts] == [
        ("EUR", Decimal("2500.00"), "cash"),
        ("EUR", Decimal("1000.00"), "travellers_cheques"),
    ]
    assert doc.itinerary is not None and doc.itinerary.sailing is not None
    doc.assessment = travellers.Assessment(
        Decimal("3500.00"), Decimal("1000"), True, dt.date(2026, 1, 1)
    )
    element = canonical_xml.to_xml(doc)
    assert validate(element, schema=travellers.SCHEMA_FILE) == []
    assert canonical_xml.from_xml(element) == doc


@pytest.mark.parametrize(
    ("change", "reason", "where"),
    [
        (lambda d: _with(d, "vehicle/vin", "VF1RFB00X5612345"), "VIN_INVALID", "/vehicle/vin"),
        (lambda d: _with(d, "vehicle/vin", "VF1RFB00O56123456"), "VIN_INVALID", "/vehicle/vin"),
        (lambda d: _with(d, "vehicle/vin", "1M8GDM9A1KP042788"), "VIN_INVALID", "/vehicle/vin"),
        (
            lambda d: _with(d, "vehicle/value/currency", "XYZ"),
            "CURRENCY_UNKNOWN",
            "/vehicle/value/currency",
        ),
        (
            lambda d: _with(d, "vehicle/value/amount", "-1.00"),
            "AMOUNT_NEGATIVE",
            "/vehicle/value/amount",
        ),
        (
            lambda d: _with(d, "submittedAt", "2026-07-10T25:14:03+02:00"),
            "JSON_FIELD_INVALID",
            "/submittedAt",
        ),
        (
            lambda d: _with(d, "traveller/givenNames", "Karim\u0000"),
            "INVALID_CHARACTER",
            "/traveller/givenNames",
        ),
    ],
)
def test_a_tpd_request_the_schema_cannot_judge_is_refused_with_its_reason(
    change: Any, reason: str, where: str
) -> None:
    with pytest.raises(MappingError) as exc:
        eservices.decode(encoded(change(sample("tpd-request.json"))))
    assert (exc.value.reason, exc.value.where) == (reason, where)


@pytest.mark.parametrize(
    ("change", "reason", "where"),
    [
        (
            lambda d: _with(d, "amounts/1/currency", "EUU"),
            "CURRENCY_UNKNOWN",
            "/amounts/1/currency",
        ),
        (
            lambda d: _with(d, "amounts/0/amount", "-2500.00"),
            "AMOUNT_NEGATIVE",
            "/amounts/0/amount",
        ),
    ],
)
def test_a_currency_declaration_with_an_unknown_code_or_a_negative_amount_is_refused(
    change: Any, reason: str, where: str
) -> None:
    with pytest.raises(MappingError) as exc:
        eservices.decode(encoded(change(sample("currency-declaration-entry.json"))))
    assert (exc.value.reason, exc.value.where) == (reason, where)
    assert where.rsplit("/", 1)[0] in exc.value.where


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "JSON_MALFORMED"),
        (b"\xff\xfe{}", "JSON_MALFORMED"),
        (b'{"documentType": "tpd-request", "documentType": "tpd-request"}', "JSON_MALFORMED"),
        (b'{"amount": NaN}', "JSON_MALFORMED"),
        (b'{"documentType": "tpd-request", "n": ' + b"7" * 5_000 + b"}", "JSON_MALFORMED"),
        (b'{"amount": -' + b"9" * 4_301 + b"}", "JSON_MALFORMED"),
        (b"[" * 150_000 + b"]" * 150_000, "JSON_TOO_LARGE"),
        (b"[" * 50_000 + b"]" * 50_000, "JSON_MALFORMED"),
        (b"[]", "JSON_UNSUPPORTED_DOCUMENT"),
        (b'{"documentType": []}', "JSON_UNSUPPORTED_DOCUMENT"),  # was a TypeError (unhashable)
        (b'{"documentType": {"a": 1}}', "JSON_UNSUPPORTED_DOCUMENT"),
        (b'{"documentType": "customs-declaration"}', "JSON_UNSUPPORTED_DOCUMENT"),
    ],
)
def test_hostile_json_gets_a_mapping_error_never_a_crash(data: bytes, reason: str) -> None:
    with pytest.raises(MappingError) as exc:
        eservices.decode(data)
    assert exc.value.reason == reason and exc.value.sentence
    with pytest.raises(MappingError) as exc:  # a border post's reader, the same way
        eservices.decode_border_event(data)
    assert exc.value.reason == reason and exc.value.sentence


def test_a_border_event_is_read_and_a_portal_document_is_not_one() -> None:
    event = eservices.decode_border_event((SAMPLES / "border-event-entry.json").read_bytes())
    assert (event.event, event.place, event.tpd, event.vin) == (
        "entry",
        "DZALG",
        "TPD-2026-0714-00042",
        "VF1RFB00X56123456",
    )
    assert event.time.utcoffset() == dt.timedelta(hours=1)
    with pytest.raises(MappingError) as exc:
        eservices.decode_border_event((SAMPLES / "tpd-request.json").read_bytes())
    assert exc.value.reason == "JSON_UNSUPPORTED_DOCUMENT"
    with pytest.raises(MappingError) as exc:
        eservices.decode((SAMPLES / "border-event-exit.json").read_bytes())
    assert exc.value.reason == "JSON_UNSUPPORTED_DOCUMENT"
    bad_vin = _with(sample("border-event-exit.json"), "vin", "1M8GDM9A1KP042788")
    with pytest.raises(MappingError) as exc:
        eservices.decode_border_event(encoded(bad_vin))
    assert (exc.value.reason, exc.value.where) == ("VIN_INVALID", "/vin")
