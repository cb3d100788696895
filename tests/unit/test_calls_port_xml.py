"""APCS's XML call documents from port partner ``apcs`` (issue #17): decided without a broker,
on an SQLite journal, as ``edigw run`` decides them; answered by a signed XML Acknowledgement.

Samples: ``samples/apcs/xml/`` (MSC AURORA, voyage 611E, at Oran: its arrival notification and
the terminal's discharge report, two containers, complete).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from gateway.domain.calls import CallKey, VesselCall
from gateway.domain.canonical_xml import from_xml
from gateway.domain.model import Acknowledgement
from gateway.service import formats
from gateway.service.decision import DecisionService
from gateway.service.pipeline import translate
from gateway.service.plan import Plan, Publish
from gateway.storage.spool import content
from tests.helpers import xmlsec_verify
from tests.unit.test_calls_report import calls_service
from tests.unit.test_calls_service import SAMPLES
from tests.unit.test_decision_service import arrive, carried_out

XML = SAMPLES / "xml"
ARRIVAL = (XML / "arrival-msc-valencia-oran.xml").read_bytes()
DISCHARGE = (XML / "discharge-msc-oran.xml").read_bytes()
ORAN = CallKey("9703291", "611E", "DZORN")
service = pytest.fixture(name="service")(calls_service)


def decided(service: DecisionService, body: bytes, message_id: str) -> Plan:
    plan = arrive(service, body, message_id)
    carried_out(service, plan)
    return plan


def answer(plan: Plan, tmp_path: Path) -> Acknowledgement:
    """The plan's one answer to apcs: a signed Acknowledgement, xmlsec1 verifies it."""
    [ack] = [p for p in plan.publishes if p.kind == "ack"]
    assert (ack.routing_key, ack.type, ack.content_type) == (
        "apcs",
        "Acknowledgement",
        "application/xml",
    )
    body = content(ack.body)
    verified = xmlsec_verify(body, tmp_path / "c.pem", tmp_path)
    assert verified.returncode == 0, verified.stderr
    doc = from_xml(body)
    assert isinstance(doc, Acknowledgement) and doc.acknowledgement_type == "APERAK"
    return doc


def documents(plan: Plan) -> list[Publish]:
    return [p for p in plan.publishes if p.kind == "document"]


def test_the_apcs_xml_arrival_is_routed_filed_and_answered_in_xml(
    service: DecisionService, tmp_path: Path
) -> None:
    plan = decided(service, ARRIVAL, "x-arrival")
    assert plan.outcome == "routed", plan.detail
    [routed] = documents(plan)
    assert (routed.type, routed.routing_key) == ("VesselCall", "core")
    assert routed.headers["x-edigw-call"] == str(ORAN)
    ack = answer(plan, tmp_path)
    assert (ack.status, ack.acknowledged_message_id, ack.errors) == ("accepted", "x-arrival", [])
    call = service.journal.call(ORAN)
    assert call is not None and call.call_reference == "CALL-DZORN-2612-0107"


def test_the_apcs_xml_discharge_report_reconciles_its_call(
    service: DecisionService, tmp_path: Path
) -> None:
    decided(service, ARRIVAL, "x-arrival")
    plan = decided(service, DISCHARGE, "x-discharge")
    assert plan.outcome == "routed", plan.detail
    kinds = [p.type for p in documents(plan)]
    assert kinds == ["TerminalOperationsReport", "ManifestDiscrepancyReport"]
    assert answer(plan, tmp_path).status == "accepted"
    assert [m.container for m in service.journal.movements(ORAN, "discharge")] == [
        "MSCU1234566",
        "TGHU7654320",
    ]


def test_an_apcs_xml_report_for_an_unknown_call_is_dead_lettered_and_answered(
    service: DecisionService, tmp_path: Path
) -> None:
    plan = decided(service, DISCHARGE, "x-early")
    assert plan.outcome == "rejected", plan.detail
    [letter] = [p for p in plan.publishes if p.kind == "dead-letter"]
    assert letter.headers["x-edigw-reason"] == "UNKNOWN_CALL"
    assert content(letter.body) == DISCHARGE
    ack = answer(plan, tmp_path)
    assert ack.status == "rejected" and [e.code for e in ack.errors] == ["UNKNOWN_CALL"]
    assert service.journal.call_documents(ORAN) == []
    # Its replay once the call exists is an original, not a resend: nothing was filed.
    decided(service, ARRIVAL, "x-arrival")
    replayed = decided(service, DISCHARGE, "x-replay")
    assert replayed.outcome == "routed", replayed.detail
    assert "TerminalOperationsReport" in [p.type for p in documents(replayed)]


def test_apcs_xml_that_breaks_its_schema_is_refused_with_the_reason(
    service: DecisionService, tmp_path: Path
) -> None:
    broken = DISCHARGE.replace(b"<Imo>9703291</Imo>", b"")
    plan = decided(service, broken, "x-broken")
    assert plan.outcome == "rejected"
    ack = answer(plan, tmp_path)
    assert ack.status == "rejected" and [e.code for e in ack.errors] == ["SCHEMA_INVALID"]
    assert documents(plan) == []


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (ARRIVAL.replace(b"<Crew>24</Crew>", b"<Crew>" + b"7" * 5_000 + b"</Crew>"), "Crew"),
        (
            ARRIVAL.replace(b'discharge="2"', b'discharge="' + b"1" * 5_000 + b'"'),
            "Cargo/@discharge",
        ),
        (ARRIVAL.replace(b"2026-12-03T06:00:00+01:00", b"2026-12-03T24:00:00+01:00"), "ETA"),
        (ARRIVAL.replace(b"2026-12-03T06:00:00+01:00", b"12026-12-03T06:00:00+01:00"), "ETA"),
        (
            DISCHARGE.replace(b'completedAt="2026-12-03T19', b'completedAt="-2026-12-03T19'),
            "@completedAt",
        ),
        (
            DISCHARGE.replace(b'time="2026-12-03T09:12', b'time="2026-12-03T24:00'),
            "Container/@time",
        ),
    ],
)
def test_apcs_xml_values_the_schema_allows_and_python_cannot_hold_are_refused(
    service: DecisionService, tmp_path: Path, body: bytes, where: str
) -> None:
    """xs:nonNegativeInteger has no bound (int() refuses 4,301 digits), xs:dateTime takes hour
    24, five-digit and negative years: valid for the schema, a ValueError for Python, which
    went past the adapter (the message failed five deliveries, INTERNAL_ERROR, unanswered).
    Now each is refused at once with its field, answered with a signed Acknowledgement."""
    plan = decided(service, body, "x-odd")
    assert plan.outcome == "rejected", plan.detail
    ack = answer(plan, tmp_path)
    assert ack.status == "rejected"
    assert [(e.code, e.pointer.location if e.pointer else "") for e in ack.errors] == [
        ("CALL_FIELD_INVALID", where)
    ]
    assert documents(plan) == [] and [p.kind for p in plan.publishes] == ["dead-letter", "ack"]


def test_only_the_configured_vocabulary_is_xml_a_port_may_send(service: DecisionService) -> None:
    apcs = service.settings.partners["apcs"]
    assert formats.decide(ARRIVAL, apcs).format == "xml"
    other = etree.tostring(etree.Element("{urn:apcs:dz:calls:1}Unknown"))
    refused = formats.decide(other, apcs).refusal
    assert refused is not None and refused.reason == "FORMAT_NOT_ALLOWED"
    terminal = service.settings.partners["terminal-djendjen"]
    assert terminal.vocabularies == ()
    assert formats.decide(ARRIVAL, terminal).refusal is not None


def test_edigw_translate_reads_apcs_xml_offline() -> None:
    translation = translate(ARRIVAL)
    assert translation.rejection is None
    [doc] = translation.documents
    assert isinstance(doc, VesselCall) and doc.key == ORAN
