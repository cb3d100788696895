"""A reconciled call told (issue #17): the signed ManifestDiscrepancyReport to customs and the
APERAK to each manifest's sender, decided without a broker on an SQLite journal.

The call of the samples: CUSREP 06, the CUSCAR of ``tests/data/calls`` (3 containers), IFTDGN
07 and the terminal's COARRI 08 (discharge complete, 2 containers): CMAU3000020 is
short-landed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters import aperak
from gateway.domain.calls import ManifestDiscrepancyReport
from gateway.domain.canonical_xml import from_xml, to_bytes, to_xml
from gateway.domain.validation import validate
from gateway.domain.xmlsafe import parse
from gateway.service import call_report
from gateway.service.call_checks import (
    OVER_LANDED,
    SHORT_LANDED,
    Bill,
    ContainerDiscrepancy,
    Reconciliation,
)
from gateway.service.calls import CallPolicy
from gateway.service.decision import DecisionService
from gateway.service.plan import Plan, Publish
from gateway.storage.spool import content
from tests.helpers import assert_valid_aperak, xmlsec_verify
from tests.unit import test_decision_service as decisions
from tests.unit.test_calls_service import KEY, ROOT, SAMPLES
from tests.unit.test_decision_service import arrive, carried_out

MANIFEST = ROOT / "tests/data/calls/cuscar-cma-cgm-tage-algiers.edi"
SHORT = "CMAU3000020"


def calls_service(tmp_path: Path) -> Iterator[DecisionService]:
    """The decision service of ``test_decision_service``, filing calls as ``edigw run`` does."""
    for s in decisions.service.__wrapped__(tmp_path):
        s.calls = s.pipeline.calls = CallPolicy()
        yield s


service = pytest.fixture(name="service")(calls_service)


def routed(service: DecisionService, path: Path, message_id: str) -> Plan:
    plan = arrive(service, path.read_bytes(), message_id)
    assert plan.outcome == "routed", plan.detail
    carried_out(service, plan)
    return plan


def the_call(service: DecisionService) -> Plan:
    """The whole call of the samples; the plan of the discharge report."""
    routed(service, SAMPLES / "06-cusrep-cma-cgm-marseille-algiers.edi", "in-cusrep")
    routed(service, MANIFEST, "in-cuscar")
    routed(service, SAMPLES / "07-iftdgn-cma-cgm-paints.edi", "in-iftdgn")
    return routed(service, SAMPLES / "08-coarri-discharge-algiers.edi", "in-coarri")


def of_type(plan: Plan, kind: str) -> list[Publish]:
    return [p for p in plan.publishes if p.type == kind]


def signed_report(report: Publish, tmp_path: Path) -> ManifestDiscrepancyReport:
    """The report ``report`` publishes: schema-valid, its signature verified by xmlsec1."""
    body = content(report.body)
    assert validate(parse(body)) == []
    verified = xmlsec_verify(body, tmp_path / "c.pem", tmp_path)
    assert verified.returncode == 0, verified.stderr
    doc = from_xml(body)
    assert isinstance(doc, ManifestDiscrepancyReport)
    return doc


def test_a_reconciled_call_sends_customs_a_signed_discrepancy_report(
    service: DecisionService, tmp_path: Path
) -> None:
    plan = the_call(service)
    [report] = of_type(plan, "ManifestDiscrepancyReport")
    assert (report.exchange, report.routing_key, report.kind) == (
        service.names.customs_exchange,
        "core",
        "document",
    )
    assert report.headers["x-edigw-call"] == str(KEY)
    doc = signed_report(report, tmp_path)
    assert (doc.call, doc.basis, doc.containers_declared, doc.containers_discharged) == (
        KEY,
        "discharge_complete",
        3,
        2,
    )
    assert doc.call_reference == "CALL-DZALG-2612-0042"
    [short] = doc.discrepancies
    assert (short.kind, short.container) == (SHORT_LANDED, SHORT)
    assert [(b.sender, b.manifest_number, b.transport_document) for b in short.bills] == [
        ("apcs", "MAN-DZALG-2612-0042", "CMDUMRS0423")
    ]
    # The report is in the terminal report's story, findable by the call.
    assert any(
        e[0] == "in-coarri" and e[2].startswith(f"ManifestDiscrepancyReport of call {KEY} to ")
        for e in plan.events
    )
    carried_out(service, plan)
    found = {h.message_id for h in service.journal.track(SHORT)}
    assert report.message_id in found


def test_the_manifests_sender_gets_an_aperak_listing_what_is_its_to_correct(
    service: DecisionService,
) -> None:
    plan = the_call(service)
    [answer] = of_type(plan, "APERAK")
    assert (answer.exchange, answer.routing_key) == (service.names.outbound_exchange, "apcs")
    data = content(answer.body)
    [interchange] = assert_valid_aperak(data)
    assert interchange is not None
    told = aperak.decode(data)
    assert told.accepted and told.document_number == "MAN-DZALG-2612-0042"
    assert [e.code for e in told.errors] == [SHORT_LANDED]
    assert SHORT in told.errors[0].text and "CMDUMRS0423" in told.errors[0].text
    # It answers the manifest's interchange, under a reference of the gateway's own.
    manifest = service.journal.call_manifest("apcs", "MAN-DZALG-2612-0042")
    assert manifest is not None
    assert answer.headers["x-edigw-original-message-id"] == manifest.message_id
    assert told.reference and service.journal.sent_interchange("apcs", told.reference)
    assert any(
        e[0] == manifest.message_id and e[1] == "flagged" and SHORT in e[2] for e in plan.events
    )


def test_a_redelivered_discharge_report_tells_nothing_new(service: DecisionService) -> None:
    plan = the_call(service)
    again = arrive(
        service,
        (SAMPLES / "08-coarri-discharge-algiers.edi").read_bytes(),
        "in-coarri",
        redelivered=True,
    )
    assert not of_type(again, "ManifestDiscrepancyReport") and not of_type(again, "APERAK")
    assert of_type(plan, "ManifestDiscrepancyReport")


def test_an_over_landed_container_is_for_customs_alone(service: DecisionService) -> None:
    routed(service, SAMPLES / "06-cusrep-cma-cgm-marseille-algiers.edi", "in-cusrep")
    routed(service, MANIFEST, "in-cuscar")
    reconciliation = Reconciliation(
        KEY,
        3,
        4,
        [
            ContainerDiscrepancy(OVER_LANDED, "TGHU0000001", "on no manifest of the call"),
            ContainerDiscrepancy(
                SHORT_LANDED,
                SHORT,
                "not discharged",
                (Bill("apcs", "MAN-DZALG-2612-0042", "CMDUMRS0423"),),
            ),
        ],
    )
    with service.journal.unit_of_work():
        told = call_report.plan_report(
            service.reporter(),
            reconciliation,
            "after_hours",
            "timer-1",
            now=dt.datetime(2026, 12, 3, 7, 0, tzinfo=dt.UTC),
        )
    assert [d.kind for d in told.report.discrepancies] == [OVER_LANDED, SHORT_LANDED]
    [answer] = [p for p in told.publishes if p.type == "APERAK"]
    assert [e.code for e in aperak.decode(content(answer.body)).errors] == [SHORT_LANDED]
    assert told.report.basis == "after_hours"
    # Both ways of the mapping.
    assert from_xml(to_bytes(to_xml(told.report))) == told.report
