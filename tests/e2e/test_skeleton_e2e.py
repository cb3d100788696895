"""End to end with real processes: `edigw run` as a subprocess, the real broker, xmlsec1.

These tests follow one CUSCAR through the whole gateway, and one malformed file into
the dead-letter queue, exactly as a partner and an operator would see them.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.messaging.naming import Names
from tests.helpers import SAMPLES, drain, wait_for, xmlsec_verify

pytestmark = [pytest.mark.e2e, pytest.mark.broker]
EDIGW = [sys.executable, "-m", "gateway", "--log-format", "json"]


def edigw(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EDIGW, *args], env=env, capture_output=True, text=True, timeout=60, check=check
    )


@pytest.fixture
def running_gateway(
    gateway_env: dict[str, str], tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    edigw(gateway_env, "topology")
    log = open(tmp_path / "gateway.log", "wb")  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen([*EDIGW, "run"], env=gateway_env, stdout=log, stderr=log)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


def test_cuscar_travels_end_to_end(
    running_gateway: subprocess.Popen[bytes], gateway_env: dict[str, str], tmp_path: Path
) -> None:
    names = Names(gateway_env["EDIGW_NAME_PREFIX"])
    url = gateway_env["EDIGW_AMQP_URL"]
    submitted = edigw(
        gateway_env, "submit", "--partner", "apcs", str(SAMPLES / "01-cuscar-msc-algiers.edi")
    )
    message_id = submitted.stdout.split("\t")[0]
    assert len(message_id) == 36

    [(props, body)] = wait_for(lambda: drain(url, names.customs_core))
    assert props.correlation_id == message_id
    assert props.type == "CargoManifest"
    assert b"<DocumentNumber>MAN-DZALG-2611-001</DocumentNumber>" in body
    cert = Path(gateway_env["EDIGW_STATE_DIR"]) / "keys" / "gateway-signing-cert.pem"
    verified = xmlsec_verify(body, cert, tmp_path)
    assert verified.returncode == 0, verified.stderr

    [(ack_props, ack)] = wait_for(lambda: drain(url, names.outbound("apcs")))
    assert ack_props.correlation_id == message_id
    assert ack.startswith(b"UNB+UNOC:3+CUSTOMS+APCS:ZZZ")
    assert b"UCI+AP000001+APCS:ZZZ+CUSTOMS:ZZZ+7'" in ack

    tracked = json.loads(edigw(gateway_env, "track", "MEDUAB123457", "--json").stdout)
    assert tracked["reference"] == "MEDUAB123457"
    by_id = {m["message_id"]: m for m in tracked["messages"]}
    statuses = [e["status"] for e in by_id[message_id]["events"]]
    assert statuses[0] == "received"
    assert {"routed", "acknowledged"} <= set(statuses)
    assert any(m["type"] == "CargoManifest" for m in tracked["messages"])
    # The human view too, and a reference nobody used is an error for scripts.
    assert message_id in edigw(gateway_env, "track", message_id).stdout
    assert edigw(gateway_env, "track", "NO-SUCH-BL", check=False).returncode == 1


def test_malformed_file_is_dead_lettered_with_reason_and_rejected(
    running_gateway: subprocess.Popen[bytes], gateway_env: dict[str, str], tmp_path: Path
) -> None:
    names = Names(gateway_env["EDIGW_NAME_PREFIX"])
    url = gateway_env["EDIGW_AMQP_URL"]
    garbage = tmp_path / "garbage.edi"
    garbage.write_bytes(
        b"UNB+UNOA:3+APCS:ZZZ+CUSTOMS+261129:1200+BAD1'UNH+1+CUSCAR:D:95B:UN'BGM+85+X+9'"
    )
    bad_id = edigw(gateway_env, "submit", "--partner", "apcs", str(garbage)).stdout.split("\t")[0]
    good_id = edigw(
        gateway_env,
        "submit",
        "--partner",
        "apcs",
        str(SAMPLES / "02-cuscar-ferry-two-messages.edi"),
    ).stdout.split("\t")[0]

    dead = wait_for(lambda: drain(url, names.dead_letter(names.inbound("apcs"))))
    [(props, body)] = dead
    assert body == garbage.read_bytes()  # nothing lost: the partner's exact bytes
    assert props.message_id == bad_id
    headers = props.headers
    assert headers["x-edigw-reason"] == "EDIFACT_SYNTAX"
    assert "UNT" in headers["x-edigw-sentence"]
    assert headers["x-edigw-stage"] == "decode"
    assert headers["x-edigw-partner"] == "apcs"
    assert headers["x-edigw-original-queue"] == names.inbound("apcs")
    assert headers["x-edigw-original-exchange"] == names.inbound("apcs")

    # The worker survived the bad input: the good file behind it is routed.
    routed = wait_for(lambda: drain(url, names.customs_core))
    assert len(routed) == 2
    acks = {p.correlation_id: b for p, b in wait_for(lambda: _acks_for(url, names, 2))}
    assert b"UCI+BAD1+APCS:ZZZ+CUSTOMS+4" in acks[bad_id]
    assert b"+7'" in acks[good_id]
    assert running_gateway.poll() is None

    tracked = json.loads(edigw(gateway_env, "track", bad_id, "--json").stdout)
    statuses = [e["status"] for e in tracked["messages"][0]["events"]]
    assert statuses == ["received", "rejected", "dead-lettered", "acknowledged"]


_seen: dict[str, list] = {}


def _acks_for(url: str, names: Names, count: int) -> list:
    got = _seen.setdefault(url + names.prefix, [])
    got.extend(drain(url, names.outbound("apcs")))
    return got if len(got) >= count else []


def test_sigterm_stops_gracefully(
    running_gateway: subprocess.Popen[bytes], gateway_env: dict[str, str]
) -> None:
    names = Names(gateway_env["EDIGW_NAME_PREFIX"])
    url = gateway_env["EDIGW_AMQP_URL"]
    files = [str(SAMPLES / "01-cuscar-msc-algiers.edi")] * 20
    edigw(gateway_env, "submit", "--partner", "apcs", *files)
    wait_for(lambda: drain(url, names.customs_core), timeout=30)
    running_gateway.send_signal(signal.SIGTERM)
    assert running_gateway.wait(timeout=30) == 0
    # Whatever was not processed before the stop is still in the inbound queue: nothing lost.
    rest = drain(url, names.customs_core)
    remaining = drain(url, names.inbound("apcs"))
    acks = drain(url, names.outbound("apcs"))
    assert len(acks) + len(remaining) == 20 or len(acks) >= len(rest)


def test_unroutable_message_is_dead_lettered_and_a_replay_routes_it(
    running_gateway: subprocess.Popen[bytes], gateway_env: dict[str, str]
) -> None:
    """Accepted, then undeliverable: the replay after the fix must be judged afresh.

    The pipeline records versions and the partner's answer when it accepts a message;
    when the customs queue is gone those are withdrawn with the dead letter, so the
    operator's replay is routed instead of being answered as a resend.
    """
    import pika

    names = Names(gateway_env["EDIGW_NAME_PREFIX"])
    url = gateway_env["EDIGW_AMQP_URL"]
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    # Once the worker consumes, its topology is declared: only then take the queue away.
    wait_for(
        lambda: channel.queue_declare(names.inbound("apcs"), passive=True).method.consumer_count
    )
    channel.queue_delete(names.customs_core)
    connection.close()
    edigw(gateway_env, "submit", "--partner", "apcs", str(SAMPLES / "01-cuscar-msc-algiers.edi"))

    def letters() -> list[dict[str, object]]:
        out = edigw(gateway_env, "dlq", "list", "--json", check=False).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    [letter] = wait_for(letters)
    assert letter["reason"] == "UNROUTABLE"
    edigw(gateway_env, "topology")  # the operator restores the queue
    edigw(gateway_env, "dlq", "replay", str(letter["id"]))
    [(props, body)] = wait_for(lambda: drain(url, names.customs_core))
    assert props.type == "CargoManifest"
    assert b"<DocumentNumber>MAN-DZALG-2611-001</DocumentNumber>" in body
    assert letters() == []


def test_a_large_manifest_is_streamed_end_to_end_and_verifies_with_xmlsec1(
    running_gateway: subprocess.Popen[bytes], gateway_env: dict[str, str], tmp_path: Path
) -> None:
    """6,000 bills in two CUSCAR messages (5,000 + 1,000): both written and signed without a
    tree (gateway/security/c14n.py, issue #8), routed, verified by xmlsec1, and journaled by BL."""
    from bench.common import valid_cuscar

    names = Names(gateway_env["EDIGW_NAME_PREFIX"])
    url = gateway_env["EDIGW_AMQP_URL"]
    big = tmp_path / "manifest-6000.edi"
    big.write_bytes(valid_cuscar(6000))
    submitted = edigw(gateway_env, "submit", "--partner", "apcs", str(big))
    message_id = submitted.stdout.split("\t")[0]
    documents: list[tuple[object, bytes]] = []
    wait_for(lambda: documents.extend(drain(url, names.customs_core)) or len(documents) >= 2, 60)
    assert len(documents) == 2
    cert = Path(gateway_env["EDIGW_STATE_DIR"]) / "keys" / "gateway-signing-cert.pem"
    bills = 0
    for props, body in documents:
        assert getattr(props, "correlation_id", None) == message_id
        assert getattr(props, "type", None) == "CargoManifest"
        assert b"></Source>" in body  # the canonical writer's spelling: streamed
        verified = xmlsec_verify(body, cert, tmp_path)
        assert verified.returncode == 0, verified.stderr
        bills += body.count(b"<Consignment>")
    assert bills == 6000
    [(_props, ack)] = wait_for(lambda: drain(url, names.outbound("apcs")))
    assert re.search(rb"UCI\+[^']*\+7'", ack)  # the interchange accepted
    # A bill of the second message is found in the journal (references of SignedManifest).
    bl = big.read_bytes().rsplit(b"CNI+", 1)[1].split(b"'", 1)[0].split(b"+")[1].decode()
    tracked = json.loads(edigw(gateway_env, "track", bl, "--json").stdout)
    assert any(m["message_id"] == message_id for m in tracked["messages"])
