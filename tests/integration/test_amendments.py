"""Amendments end to end: the real worker, the real broker, the SQLite journal (issue #4).

One document (sender apcs, manifest RULES-0001) goes through original -> replace ->
cancel; a second original with other content is rejected as a duplicate (CONTRL
accepted + APERAK), an identical resend gets the very same acknowledgements again
and is not routed twice, and a change without an original is refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from adapters import aperak
from adapters.edifact.envelope import with_reference
from gateway.config import load
from gateway.messaging import broker
from gateway.storage.backends import open_journal
from tests.e2e.test_faults_support import (
    declare_topology,
    done_count,
    drain,
    names_of,
    submit,
    wait_until,
    worker_thread,
)

pytestmark = [pytest.mark.broker]

VALID = (Path(__file__).resolve().parent.parent / "data" / "cuscar" / "valid.edi").read_bytes()
NS = "{urn:port-edi-gateway:customs:1}"


def version(function: str, reference: str, goods: str, number: str = "RULES-0001") -> bytes:
    return (
        VALID.replace(b"BGM+85+RULES-0001+9'", f"BGM+85+{number}+{function}'".encode())
        .replace(b"R0001", reference.encode())
        .replace(b"LAPTOPS", goods.encode())
    )


def header(xml: bytes, name: str) -> str | None:
    el = etree.fromstring(xml).find(f"{NS}Header/{NS}{name}")
    return None if el is None else el.text


def test_amendment_chain_through_the_broker(gateway_env: dict[str, str]) -> None:
    names = names_of(gateway_env)
    declare_topology(gateway_env)
    replacement = version("5", "AM02", "NOTEBOOKS")
    steps = [
        ("am-original", version("9", "AM01", "LAPTOPS")),
        ("am-replace", replacement),
        ("am-duplicate", version("9", "AM03", "SOMETHING ELSE")),
        ("am-resend", replacement),  # the same bytes again, under a new AMQP message id
        ("am-cancel", version("1", "AM04", "WITHDRAWN")),
        ("am-orphan", version("4", "AM05", "ORPHAN", number="NEVER-FILED")),
    ]
    with worker_thread(gateway_env):
        for i, step in enumerate(steps, start=1):
            submit(gateway_env, [step])  # one at a time: the order is the point
            wait_until(lambda i=i: done_count(gateway_env) >= i, 30, f"step {step[0]} done")
        docs = drain(gateway_env, names.customs_core)
        acks: dict[str, list[tuple[str, bytes]]] = {}
        for props, body in drain(gateway_env, names.outbound("apcs")):
            acks.setdefault(props.correlation_id, []).append((props.type, body))
        dead = drain(gateway_env, names.dead_letter(names.inbound("apcs")))

    # Three versions reached customs, linked to each other.
    assert [(header(b, "Function"), header(b, "DocumentVersion")) for _, b in docs] == [
        ("original", "1"),
        ("replace", "2"),
        ("cancel", "3"),
    ]
    ids = [header(b, "MessageId") for _, b in docs]
    assert [header(b, "PreviousMessageId") for _, b in docs] == [None, ids[0], ids[1]]

    # The duplicate original and the orphan change: dead-lettered, CONTRL accepted + APERAK.
    assert sorted(p.message_id for p, _ in dead) == ["am-duplicate", "am-orphan"]
    assert {p.message_id: p.headers[broker.H_REASON] for p, _ in dead} == {
        "am-duplicate": "DUPLICATE",
        "am-orphan": "NO_ORIGINAL",
    }
    for message_id, code in (("am-duplicate", "DUPLICATE"), ("am-orphan", "NO_ORIGINAL")):
        kinds = [k for k, _ in acks[message_id]]
        assert kinds == ["CONTRL", "APERAK"]
        uci = next(s for s in acks[message_id][0][1].split(b"'") if s.strip().startswith(b"UCI+"))
        assert uci.split(b"+")[4] == b"7"  # the syntax was fine
        assert [e.code for e in aperak.decode(acks[message_id][1][1]).errors] == [code]

    # The identical resend: the same answer as the first time, nothing routed; byte for byte
    # but its own interchange reference (issue #16).
    assert [(k, with_reference(a, "R")) for k, a in acks["am-resend"]] == [
        (k, with_reference(a, "R")) for k, a in acks["am-replace"]
    ]
    assert acks["am-resend"] != acks["am-replace"]

    # `edigw track RULES-0001` shows the whole chain.
    settings = load(env=gateway_env)
    journal = open_journal(settings.journal_backend, settings.journal_path)
    try:
        tracked = {h.message_id for h in journal.track("RULES-0001")}
        statuses = {h.message_id: [e.status for e in h.events] for h in journal.track("am-resend")}
    finally:
        journal.close()
    assert {"am-original", "am-replace", "am-cancel", *ids} <= tracked
    assert "duplicate" in statuses["am-resend"]
