"""A customs response's log lines say whose story they are part of (issue #19, point 8): its
correlation id and the business reference of the document it answers, as the lines of the
partner's message do, on the way to the sender and on the way to a dead letter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.domain.canonical_xml import to_bytes, to_xml
from gateway.domain.model import CustomsResponse, Header
from gateway.logs import configure
from gateway.service.decision import DecisionService
from gateway.service.plan import Delivery, Plan
from gateway.service.responses import ResponseHandler
from tests.edifact_builders import interchange, message
from tests.unit import test_decision_service as decisions
from tests.unit.test_decision_service import arrive, carried_out

RESPONSES = "t.customs.responses"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[DecisionService]:
    """The decision service of ``test_decision_service``: an in-memory journal, dev keys."""
    yield from decisions.service.__wrapped__(tmp_path)


@pytest.fixture
def json_logs() -> Iterator[None]:
    configure("json", "info")
    yield
    configure("json")


def _respond(service: DecisionService, original: str, response_id: str) -> Plan:
    response = CustomsResponse(
        Header.new(sender="customs", document_type="CustomsResponse", business_reference="R-1"),
        "26DZALG0000007",
        "accepted",
        original,
        "MAN-DZALG-0701",
        channel="green",
    )
    d = Delivery(to_bytes(to_xml(response)), response_id, "corr-7", {}, RESPONSES, "", False)
    return ResponseHandler(service).decide(RESPONSES, d)


def _lines(err: str, message_id: str) -> list[dict[str, object]]:
    lines = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    return [line for line in lines if line.get("message_id") == message_id]


def test_a_responses_lines_carry_its_correlation_id_and_what_it_answers(
    service: DecisionService, json_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = arrive(service, interchange(message("1", "MAN-DZALG-0701")), "in-0701")
    assert plan.outcome == "routed", plan.detail
    carried_out(service, plan)
    [document] = plan.decision.routed
    capsys.readouterr()

    answered = _respond(service, document.document.header.message_id, "cr-0701")
    assert answered.outcome == "answered"
    assert answered.business_reference == "MAN-DZALG-0701"  # the worker's "done" line's
    lines = _lines(capsys.readouterr().err, "cr-0701")
    assert [line["event"] for line in lines] == ["customs response translated"]
    for line in lines:
        assert line["partner"] == "customs"
        assert line["correlation_id"] == "corr-7"
        assert line["business_reference"] == "MAN-DZALG-0701"


def test_a_response_to_an_unknown_document_says_what_it_claims_to_answer(
    service: DecisionService, json_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = _respond(service, "no-such-document", "cr-unknown")
    [letter] = plan.publishes
    assert letter.kind == "dead-letter"
    assert letter.headers["x-edigw-business-reference"] == "MAN-DZALG-0701"  # dlq list's
    assert plan.business_reference == "MAN-DZALG-0701"
    lines = _lines(capsys.readouterr().err, "cr-unknown")
    assert lines, "the dead letter is logged"
    for line in lines:
        assert line["correlation_id"] == "corr-7"
        assert line["business_reference"] == "MAN-DZALG-0701"
