"""What the pipeline will call for the travellers' messages (issue #18): the desk.

Portal JSON -> canonical document, signed for customs, and a signed receipt; border events ->
the TPD's state and a signed receipt; PAXLST -> the sailing's signed list. Bad input gets a
refusal (to dead-letter) and a negative signed receipt. Real signatures (a development key).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from gateway.config import load
from gateway.domain import travellers
from gateway.domain.sailing import from_xml as list_from_xml
from gateway.domain.travellers_receipt import TravellersReceipt, receipt_from_xml
from gateway.domain.validation import validate
from gateway.security.signing import Signer, ensure_dev_keys, verify
from gateway.service.travellers import TravellersService
from gateway.service.travellers_desk import TravellersDesk, signer_function, travellers_policy
from gateway.storage.journal import SqliteJournal
from tests.travellers_data import (
    SAILING,
    border_json,
    currency_json,
    encoded,
    karim,
    passenger_list,
    tpd_json,
)


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    key, cert = ensure_dev_keys(tmp_path / "key.pem", tmp_path / "cert.pem")
    return Signer.from_files(key, cert)


@pytest.fixture
def desk(signer: Signer) -> Iterator[TravellersDesk]:
    journal = SqliteJournal(":memory:")
    policy = travellers_policy(load(env={}))
    service = TravellersService(journal, policy, pseudonym_key=b"k", today=lambda: SAILING)
    yield TravellersDesk(service, signer_function(signer))
    journal.close()


def receipt(data: bytes, signer: Signer) -> TravellersReceipt:
    """The receipt, after checking its signature and its schema."""
    element = verify(data, signer.cert_pem)
    assert validate(etree.fromstring(data), schema="travellers-1.xsd") == []
    return receipt_from_xml(element)


def test_a_tpd_request_becomes_a_signed_document_and_an_accepted_receipt(
    desk: TravellersDesk, signer: Signer
) -> None:
    result = desk.portal(encoded(tpd_json("TPD-1")), partner="eservices", inbound_id="in-1")
    assert result.accepted and result.document is not None and result.signed_document
    routed = travellers.from_xml(verify(result.signed_document, signer.cert_pem))
    assert routed == result.document
    answer = receipt(result.receipt, signer)
    assert (answer.outcome, answer.status, answer.reference) == ("accepted", "requested", "TPD-1")
    assert answer.gateway_reference == result.document.header.message_id
    again = desk.portal(encoded(tpd_json("TPD-1")), partner="eservices", inbound_id="in-1")
    assert again.document is not None
    assert again.document.header.message_id == result.document.header.message_id
    assert receipt(again.receipt, signer).duplicate


def test_a_currency_declaration_carries_its_assessment_and_not_required(
    desk: TravellersDesk, signer: Signer
) -> None:
    result = desk.portal(encoded(currency_json("CD-1")), partner="eservices", inbound_id="in-1")
    assert result.signed_document is not None
    routed = travellers.from_xml(verify(result.signed_document, signer.cert_pem))
    assert isinstance(routed, travellers.CurrencyDeclaration) and routed.assessment is not None
    assert routed.assessment.required is False
    assert receipt(result.receipt, signer).status == "not required"


@pytest.mark.parametrize(
    ("change", "reason", "where"),
    [
        (lambda d: d["vehicle"].update(vin="1M8GDM9A1KP042788"), "VIN_INVALID", "/vehicle/vin"),
        (lambda d: d["vehicle"].update(extra=1), "JSON_SCHEMA_INVALID", "/vehicle"),
        (
            lambda d: d["vehicle"]["value"].update(amount="-5"),
            "AMOUNT_NEGATIVE",
            "/vehicle/value/amount",
        ),
        (
            lambda d: d["vehicle"]["value"].update(currency="FRF"),
            "CURRENCY_UNKNOWN",
            "/vehicle/value/currency",
        ),
        (
            lambda d: d["traveller"].update(residenceStatus="resident"),
            "TPD_NOT_ELIGIBLE",
            "/traveller/residenceStatus",
        ),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_a_negative_signed_receipt(
    desk: TravellersDesk, signer: Signer, change: object, reason: str, where: str
) -> None:
    doc = tpd_json("TPD-1")
    change(doc)  # type: ignore[operator]
    result = desk.portal(encoded(doc), partner="eservices", inbound_id="in-1")
    assert result.refusal is not None and result.signed_document is None
    assert (result.refusal.reason, result.refusal.where) == (reason, where)
    answer = receipt(result.receipt, signer)
    assert answer.outcome == "rejected"
    assert [(r.code, r.where) for r in answer.reasons] == [(reason, where)]


def test_an_exit_before_its_entry_is_refused_replayable_then_accepted(
    desk: TravellersDesk, signer: Signer
) -> None:
    desk.portal(encoded(tpd_json("TPD-1")), partner="eservices", inbound_id="in-1")
    exit_event = encoded(border_json("exit", tpd_ref="TPD-1", time="2026-08-30T18:05:00+01:00"))
    refused = desk.border(exit_event, partner="border", inbound_id="b-exit")
    assert refused.refusal is not None and refused.refusal.replayable
    [reason] = receipt(refused.receipt, signer).reasons
    assert (reason.code, reason.replayable) == ("TPD_NOT_ENTERED", True)
    entered = desk.border(
        encoded(border_json("entry", tpd_ref="TPD-1")), partner="border", inbound_id="b-in"
    )
    assert receipt(entered.receipt, signer).status == "open"
    replayed = desk.border(exit_event, partner="border", inbound_id="b-exit")
    assert receipt(replayed.receipt, signer).status == "discharged"


def test_a_border_post_sends_border_events_only(desk: TravellersDesk) -> None:
    result = desk.border(encoded(tpd_json("TPD-1")), partner="border", inbound_id="b-1")
    assert result.refusal is not None and result.refusal.reason == "JSON_UNSUPPORTED_DOCUMENT"
    portal = desk.portal(
        encoded(border_json("entry", tpd_ref="X")), partner="eservices", inbound_id="p-1"
    )
    assert portal.refusal is not None and portal.refusal.reason == "JSON_UNSUPPORTED_DOCUMENT"


def test_a_passenger_list_gives_a_signed_sailing_list_and_a_late_tpd_another(
    desk: TravellersDesk, signer: Signer
) -> None:
    [first] = desk.passenger_list(passenger_list([karim()]), "pax-1")
    listed = list_from_xml(verify(first.signed_xml, signer.cert_pem))
    assert listed.counts()["missing"] == 1 and listed == first.document
    late = desk.portal(encoded(tpd_json("TPD-1")), partner="eservices", inbound_id="in-1")
    [second] = late.lists
    updated = list_from_xml(verify(second.signed_xml, signer.cert_pem))
    assert updated.counts()["ready"] == 1 and updated.header.document_version == 2
    assert updated.header.message_id != listed.header.message_id
