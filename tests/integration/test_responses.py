"""Customs responses against the real broker: correlated, translated to CUSRES, journalled once.

Also: ``edigw overdue`` lists a routed document until customs answers it, and a
response to an unknown document is dead-lettered with the reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from adapters import cusres
from adapters.edifact import parse
from gateway.domain.canonical_xml import to_bytes, to_xml
from gateway.domain.model import CustomsResponse, Header
from gateway.messaging import broker
from gateway.storage.journal import derived_id
from tests.e2e.test_faults_support import (
    cleanup_topologies,  # noqa: F401  (autouse: deletes each test's queues)
    cuscar,
    declare_topology,
    done_count,
    drain,
    events_of,
    gateway_process,
    names_of,
    submit,
    wait_until,
    worker_thread,
)

pytestmark = [pytest.mark.broker]


def _response(original_id: str, reference: str) -> bytes:
    r = CustomsResponse(
        Header.new(sender="customs", document_type="CustomsResponse", business_reference=reference),
        "EG-2026-000042",
        "released",
        original_id,
        reference,
        channel="green",
    )
    return to_bytes(to_xml(r))


def _publish_response(env: dict[str, str], message_id: str, body: bytes) -> None:
    names = names_of(env)
    connection = broker.connect(env["EDIGW_AMQP_URL"], attempts=5)
    try:
        channel = broker.confirmed_channel(connection)
        broker.publish(
            channel,
            names.customs_exchange,
            "responses",
            body,
            message_id=message_id,
            content_type="application/xml",
            type="CustomsResponse",
        )
    finally:
        connection.close()


def _overdue(env: dict[str, str]) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "gateway", "overdue", "--minutes", "0", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [m["message_id"] for m in json.loads(proc.stdout)["messages"]]


def test_customs_response_goes_back_to_the_sender_as_cusres_once(
    gateway_env: dict[str, str],
) -> None:
    names = names_of(gateway_env)
    declare_topology(gateway_env)
    doc_id = derived_id("resp-1", 0)
    with worker_thread(gateway_env):
        submit(gateway_env, [("resp-1", cuscar(50_000))])
        wait_until(lambda: done_count(gateway_env) >= 1, 20, "manifest routed")
        drain(gateway_env, names.outbound("apcs"))  # the CONTRL
        assert _overdue(gateway_env) == [doc_id]
        body = _response(doc_id, "MAN-FAULT-050000")
        _publish_response(gateway_env, "cr-1", body)
        _publish_response(gateway_env, "cr-1", body)  # a redelivered response
        wait_until(lambda: done_count(gateway_env) >= 2, 20, "response handled")
        wait_until(lambda: "duplicate" in events_of(gateway_env, "cr-1"), 20, "copy seen")
        out = drain(gateway_env, names.outbound("apcs"))
    [(props, cusres_bytes)] = out
    assert props.type == "CUSRES"
    assert props.correlation_id == "resp-1"  # the partner's own message id
    assert props.message_id == derived_id("cr-1", "out")
    decoded = cusres.decode(cusres_bytes)
    assert decoded.decision == "released"
    # What the partner knows (its UNH 0062, its UNB 0020), never the gateway's ids (#16).
    assert decoded.original_message_id == "1"
    assert doc_id.replace("-", "").encode() not in cusres_bytes
    assert b"RFF+INO:F000050000'" in cusres_bytes
    assert b"UNB+UNOC:3+CUSTOMS+APCS:ZZZ" in cusres_bytes  # back to the UNB sender
    # Its own interchange reference: the partner's next, after the CONTRL's 1.
    assert parse(cusres_bytes)[0].control_reference == "2"
    assert events_of(gateway_env, doc_id).count("answered") == 1
    assert _overdue(gateway_env) == []


def test_response_to_an_unknown_document_is_dead_lettered(gateway_env: dict[str, str]) -> None:
    names = names_of(gateway_env)
    declare_topology(gateway_env)
    with worker_thread(gateway_env):
        _publish_response(
            gateway_env, "cr-x", _response("00000000-0000-0000-0000-000000000000", "X")
        )
        dlq = names.dead_letter(names.customs_responses)
        [(props, _)] = wait_until(lambda: drain(gateway_env, dlq), 20, "dead letter")
    assert props.headers[broker.H_REASON] == "UNKNOWN_ORIGINAL"
    assert props.headers[broker.H_STAGE] == "correlate"


def test_the_running_gateway_logs_a_document_without_answer_as_overdue(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text("[responses]\noverdue_after_minutes = 0.01\noverdue_check_seconds = 0.5\n")
    env = {**gateway_env, "EDIGW_CONFIG": str(config)}
    declare_topology(env)
    log = tmp_path / "gateway.log"
    with gateway_process(env, log):
        submit(env, [("late-1", cuscar(50_100))])
        wait_until(lambda: b"overdue: no customs answer" in log.read_bytes(), 30, "overdue logged")
    line = next(x for x in log.read_bytes().splitlines() if b"overdue: no customs answer" in x)
    assert derived_id("late-1", 0).encode() in line
    assert b"MAN-FAULT-050100" in line
