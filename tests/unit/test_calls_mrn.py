"""The MRN path (issue #17), decided without a broker: a manifest routed, customs answers it
with the MRN it registered it under, the gateway carries the MRN back in a CUSRES, records it
on the manifest and makes it a reference ``edigw track`` finds.

The call documents are filed as the pipeline will file them (``calls.file`` on each routed
document, after its amendments verdict): the wiring the pipeline's split will add.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters import cusres
from gateway.domain.canonical_xml import to_bytes, to_xml
from gateway.domain.model import CustomsResponse, Decision, Header
from gateway.service import calls
from gateway.service.calls import CallPolicy
from gateway.service.decision import DecisionService
from gateway.service.plan import Delivery, Plan
from gateway.service.responses import ResponseHandler
from gateway.storage.spool import content
from tests.unit import test_decision_service as decisions
from tests.unit.test_calls_service import KEY, ROOT, SAMPLES
from tests.unit.test_decision_service import arrive, carried_out

MRN = "26DZALG0000421"
RESPONSES = "t.customs.responses"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[DecisionService]:
    """The decision service of ``test_decision_service``: an in-memory journal, dev keys."""
    yield from decisions.service.__wrapped__(tmp_path)


def routed(service: DecisionService, path: Path, message_id: str) -> str:
    """Arrive ``path`` from apcs, carry the plan out and file its documents as the pipeline will:
    the routed document's id."""
    plan = arrive(service, path.read_bytes(), message_id)
    assert plan.outcome == "routed", plan.detail
    carried_out(service, plan)
    [document] = plan.decision.routed
    filing = calls.file(service.journal, CallPolicy(), document.document, message_id)
    assert filing is not None and filing.problem is None
    return document.document.header.message_id


def answer(service: DecisionService, original: str, decision: Decision, response_id: str) -> Plan:
    response = CustomsResponse(
        Header.new(sender="customs", document_type="CustomsResponse", business_reference=MRN),
        MRN,
        decision,
        original,
        "MAN-DZALG-2612-0042",
        channel="green" if decision != "rejected" else None,
    )
    body = to_bytes(to_xml(response))
    d = Delivery(body, response_id, None, {}, RESPONSES, "", False)
    plan = ResponseHandler(service).decide(RESPONSES, d)
    carried_out(service, plan)
    return plan


def test_the_mrn_goes_back_in_a_cusres_and_is_recorded_on_the_manifest(
    service: DecisionService,
) -> None:
    journal = service.journal
    routed(service, SAMPLES / "06-cusrep-cma-cgm-marseille-algiers.edi", "in-cusrep")
    manifest_id = routed(
        service, ROOT / "tests/data/calls/cuscar-cma-cgm-tage-algiers.edi", "in-cuscar"
    )

    plan = answer(service, manifest_id, "accepted", "cr-1")
    assert plan.outcome == "answered"
    [out] = plan.publishes
    assert (out.type, out.routing_key) == ("CUSRES", "apcs")
    text = content(out.body).decode()
    assert f"BGM+962+{MRN}+9'" in text and f"RFF+ABT:{MRN}'" in text
    assert "RFF+DM:MAN-DZALG-2612-0042'" in text
    assert cusres.decode(content(out.body)).registration_number == MRN

    assert (
        manifest_id,
        "registered",
        f"MRN {MRN}; manifest MAN-DZALG-2612-0042 of call {KEY}",
    ) in plan.events
    record = journal.manifest_by_mrn(MRN)
    assert record is not None and (record.document_number, record.message_id) == (
        "MAN-DZALG-2612-0042",
        manifest_id,
    )
    # `edigw track MRN`: the partner's message, the manifest and customs' answer.
    found = {h.message_id: h for h in journal.track(MRN)}
    assert {"in-cuscar", manifest_id, "cr-1"} <= set(found)
    assert "registered" in [e.status for e in found[manifest_id].events]


def test_no_mrn_is_recorded_for_a_rejection_or_a_call(service: DecisionService) -> None:
    journal = service.journal
    call_id = routed(service, SAMPLES / "06-cusrep-cma-cgm-marseille-algiers.edi", "in-cusrep")
    manifest_id = routed(
        service, ROOT / "tests/data/calls/cuscar-cma-cgm-tage-algiers.edi", "in-cuscar"
    )

    rejected = answer(service, manifest_id, "rejected", "cr-rejected")
    assert rejected.outcome == "answered"
    assert not any(status == "registered" for _, status, _ in rejected.events)
    to_the_call = answer(service, call_id, "accepted", "cr-call")
    assert not any(status == "registered" for _, status, _ in to_the_call.events)
    assert journal.manifest_by_mrn(MRN) is None
    record = journal.call_manifest("apcs", "MAN-DZALG-2612-0042")
    assert record is not None and record.mrn is None


def test_an_mrn_for_a_manifest_the_registry_never_filed_is_still_a_reference(
    service: DecisionService,
) -> None:
    plan = arrive(
        service, (ROOT / "tests/data/calls/cuscar-cma-cgm-tage-algiers.edi").read_bytes(), "in-x"
    )
    carried_out(service, plan)
    manifest_id = plan.decision.routed[0].document.header.message_id  # not filed in the registry
    answered = answer(service, manifest_id, "released", "cr-x")
    assert (
        manifest_id,
        "registered",
        f"MRN {MRN}; manifest MAN-DZALG-2612-0042",
    ) in answered.events
    assert manifest_id in {h.message_id for h in service.journal.track(MRN)}
