"""CUSRES from a canonical CustomsResponse: parses with pydifact and round-trips."""

from __future__ import annotations

import datetime as dt
import warnings

import pytest
from pydifact.segmentcollection import Interchange as PydifactInterchange

from adapters import cusres
from gateway.domain.canonical_xml import from_xml, to_bytes
from gateway.domain.model import CustomsResponse, Header, Pointer, ResponseError
from tests.helpers import assert_valid_cusres


def _response(**kw: object) -> CustomsResponse:
    base: dict[str, object] = dict(
        header=Header.new(
            sender="customs", document_type="CustomsResponse", business_reference="M-1"
        ),
        registration_number="26DZALG0000042",
        decision="held",
        original_message_id="1e509ba8-aea6-4639-874d-2076f6c6a3b7",
        original_reference="MAN-DZALG-2611-001",
        channel="red",
        errors=[
            ResponseError(
                "E101",
                "gross mass of goods item 2 differs from the invoice",
                Pointer("segment 27 MEA, element 2", 27, "MEA", 2, 0),
            ),
            ResponseError(
                "DOCUMENT_MISSING", "import licence required?+:'", Pointer("consignment 1")
            ),
            ResponseError("E3", "no pointer at all"),
        ],
        issued_at=dt.datetime(2026, 11, 30, 9, 15, tzinfo=dt.UTC),
    )
    base.update(kw)
    return CustomsResponse(**base)  # type: ignore[arg-type]


def _same(a: CustomsResponse, b: CustomsResponse) -> None:
    for name in (
        "registration_number",
        "decision",
        "channel",
        "original_message_id",
        "original_reference",
        "errors",
        "issued_at",
    ):
        assert getattr(a, name) == getattr(b, name), name


@pytest.mark.parametrize("version", [3, 4])
@pytest.mark.parametrize("decision", ["accepted", "rejected", "released", "held"])
def test_round_trip(version: int, decision: str) -> None:
    response = _response(decision=decision, channel=None if decision == "rejected" else "green")
    data = cusres.encode(response, recipient="APCS", syntax_version=version)
    _same(cusres.decode(data), response)
    assert_valid_cusres(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interchange = PydifactInterchange.from_str(data.decode("latin-1"))
        assert len(list(interchange.get_messages())) == 1
    assert data.startswith(f"UNB+UNOC:{version}+CUSTOMS+APCS+".encode())


def test_without_registration_number_the_bgm_carries_the_partners_number() -> None:
    data = cusres.encode(_response(registration_number=None, errors=[]), recipient="APCS")
    assert b"BGM+962+MAN-DZALG-2611-001+9'" in data
    assert cusres.decode(data).registration_number is None
    assert_valid_cusres(data)


def test_decoded_response_is_a_valid_canonical_document() -> None:
    back = cusres.decode(cusres.encode(_response(), recipient="APCS"))
    assert from_xml(to_bytes(back)) == back
