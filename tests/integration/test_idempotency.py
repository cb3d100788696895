"""Idempotency against the real broker: no second downstream effect from a resend or redelivery.

Dedup keys: the message id (``processed``), sender + interchange control reference, and
business key + version of each document (``dedup``), all claimed in the journal; an
identical resend is answered with the saved acknowledgements (issue #4's amendments).
"""

from __future__ import annotations

import pytest

from adapters.edifact import parse
from adapters.edifact.envelope import with_reference
from gateway.messaging import broker
from gateway.storage.journal import derived_id
from tests.e2e.test_faults_support import (
    cleanup_topologies,  # noqa: F401  (autouse: deletes each test's queues)
    count,
    cuscar,
    declare_topology,
    done_count,
    drain,
    events_of,
    names_of,
    submit,
    wait_until,
    worker_thread,
)

pytestmark = [pytest.mark.broker]


def _uci_action(contrl: bytes) -> str:
    uci = next(
        s for s in contrl.decode("latin-1").replace("\n", "").split("'") if s.startswith("UCI+")
    )
    return uci.split("+")[4][:1]


def test_same_message_id_twice_is_processed_once(gateway_env: dict[str, str]) -> None:
    names = names_of(gateway_env)
    declare_topology(gateway_env)
    with worker_thread(gateway_env):
        submit(gateway_env, [("idem-1", cuscar(40_000))])
        wait_until(lambda: done_count(gateway_env) >= 1, 20, "first delivery done")
        # The same message again (what a redelivery after a lost ack looks like).
        submit(gateway_env, [("idem-1", cuscar(40_000))])
        wait_until(
            lambda: "duplicate" in events_of(gateway_env, "idem-1"), 20, "the copy recognised"
        )
        docs = drain(gateway_env, names.customs_core)
        acks = drain(gateway_env, names.outbound("apcs"))
    assert [p.message_id for p, _ in docs] == [derived_id("idem-1", 0)]
    assert [p.message_id for p, _ in acks] == [derived_id("idem-1", "ack")]


def test_identical_resend_gets_the_same_answer_and_is_not_routed_again(
    gateway_env: dict[str, str],
) -> None:
    names = names_of(gateway_env)
    declare_topology(gateway_env)
    data = cuscar(40_100)
    with worker_thread(gateway_env):
        submit(gateway_env, [("icr-1", data)])
        wait_until(lambda: done_count(gateway_env) >= 1, 20, "original done")
        submit(gateway_env, [("icr-2", data)])  # the very same bytes, a new message id
        wait_until(lambda: done_count(gateway_env) >= 2, 20, "resend done")
        docs = drain(gateway_env, names.customs_core)
        acks = {p.correlation_id: body for p, body in drain(gateway_env, names.outbound("apcs"))}
    assert [p.message_id for p, _ in docs] == [derived_id("icr-1", 0)]
    # The same answer again (issue #4: an error would make partners resend in a loop), as an
    # interchange of its own (issue #16: its own control reference, the rest the same).
    assert [parse(acks[k])[0].control_reference for k in ("icr-1", "icr-2")] == ["1", "2"]
    assert with_reference(acks["icr-2"], "R") == with_reference(acks["icr-1"], "R")
    assert _uci_action(acks["icr-2"]) == "7"
    assert "duplicate" in events_of(gateway_env, "icr-2")
    assert count(gateway_env, names.dead_letter(names.inbound("apcs"))) == 0


def test_reused_interchange_reference_with_other_content_is_rejected(
    gateway_env: dict[str, str],
) -> None:
    names = names_of(gateway_env)
    declare_topology(gateway_env)
    first = cuscar(40_150)
    # Same sender and UNB control reference, another manifest: the reference was reused.
    second = cuscar(40_151).replace(b"F000040151", b"F000040150")
    with worker_thread(gateway_env):
        submit(gateway_env, [("icr-3", first)])
        wait_until(lambda: done_count(gateway_env) >= 1, 20, "original done")
        submit(gateway_env, [("icr-4", second)])
        dlq = names.dead_letter(names.inbound("apcs"))
        [(props, _)] = wait_until(lambda: drain(gateway_env, dlq), 20, "the reuse dead-lettered")
        wait_until(lambda: done_count(gateway_env) >= 2, 20, "reuse done")
        # The rejected bytes again, a new message id: never answered from a saved "accepted".
        submit(gateway_env, [("icr-4b", second)])
        wait_until(lambda: done_count(gateway_env) >= 3, 20, "resend of the reuse done")
        docs = drain(gateway_env, names.customs_core)
        acks = {p.correlation_id: body for p, body in drain(gateway_env, names.outbound("apcs"))}
    assert [p.message_id for p, _ in docs] == [derived_id("icr-3", 0)]
    assert _uci_action(acks["icr-3"]) == "7"
    # CONTRL rejects the interchange with 26 "duplicate detected", and its resend too.
    for rejected in ("icr-4", "icr-4b"):
        assert _uci_action(acks[rejected]) == "4"
        assert b"+4+26" in acks[rejected]
    assert props.message_id == "icr-4"
    assert props.headers[broker.H_REASON] == "DUPLICATE_INTERCHANGE"
    assert "icr-3" in props.headers[broker.H_SENTENCE]


def test_same_document_version_in_a_new_interchange_is_not_routed_again(
    gateway_env: dict[str, str],
) -> None:
    names = names_of(gateway_env)
    declare_topology(gateway_env)
    first = cuscar(40_200)
    # A new interchange reference carrying the very same manifest (number and version).
    second = first.replace(b"F000040200", b"R000040200")
    with worker_thread(gateway_env):
        submit(gateway_env, [("doc-1", first), ("doc-2", second)])
        wait_until(lambda: done_count(gateway_env) >= 2, 20, "both done")
        docs = drain(gateway_env, names.customs_core)
        acks = {p.correlation_id: body for p, body in drain(gateway_env, names.outbound("apcs"))}
    assert [p.message_id for p, _ in docs] == [derived_id("doc-1", 0)]
    assert _uci_action(acks["doc-2"]) == "7"  # accepted: the syntax is fine, nothing new to do
    assert "duplicate" in events_of(gateway_env, "doc-2")
    assert count(gateway_env, names.dead_letter(names.inbound("apcs"))) == 0


def test_a_message_id_another_partner_used_is_decided_on_its_own(
    gateway_env: dict[str, str],
) -> None:
    """Message ids are the partners' words: the customs portal's TPD request carrying the id
    of apcs's manifest (by chance or on purpose) is not a "redelivery" of that manifest,
    acknowledged with nothing routed nor answered (docs/security.md, "Message ids"). Each is
    routed under ids of its own and answered with its own message id as correlation id."""
    from tests.travellers_data import encoded, tpd_json

    names = names_of(gateway_env)
    declare_topology(gateway_env)
    with worker_thread(gateway_env):
        submit(gateway_env, [("shared-1", cuscar(40_300))])
        wait_until(lambda: done_count(gateway_env) >= 1, 20, "apcs's manifest done")
        submit(gateway_env, [("shared-1", encoded(tpd_json("TPD-SHARED-1")))], partner="eservices")
        receipts = wait_until(
            lambda: drain(gateway_env, names.outbound("eservices")), 20, "the portal answered"
        )
        wait_until(lambda: done_count(gateway_env) >= 2, 20, "the portal's message done")
        docs = drain(gateway_env, names.customs_core)
        acks = drain(gateway_env, names.outbound("apcs"))
    assert [p.correlation_id for p, _ in receipts] == ["shared-1"]
    assert [p.correlation_id for p, _ in acks] == ["shared-1"]
    assert sorted(p.type for p, _ in docs) == ["CargoManifest", "VehicleTemporaryAdmission"]
    assert len({p.message_id for p, _ in docs}) == 2  # none of apcs's ids reused
    assert [p.message_id for p, _ in docs if p.type == "CargoManifest"] == [
        derived_id("shared-1", 0)
    ]
    for partner in ("apcs", "eservices"):
        assert count(gateway_env, names.dead_letter(names.inbound(partner))) == 0


def test_a_message_id_reused_for_other_content_is_not_dropped(
    gateway_env: dict[str, str],
) -> None:
    """The same message id on another manifest of the same partner (a client that numbers
    its messages from 1 at every start): routed and answered like any new message; the very
    same message again is still recognised as a redelivery."""
    names = names_of(gateway_env)
    declare_topology(gateway_env)
    with worker_thread(gateway_env):
        submit(gateway_env, [("reused-1", cuscar(40_310))])
        wait_until(lambda: done_count(gateway_env) >= 1, 20, "first manifest done")
        submit(gateway_env, [("reused-1", cuscar(40_311))])
        wait_until(lambda: done_count(gateway_env) >= 2, 20, "second manifest done")
        submit(gateway_env, [("reused-1", cuscar(40_311))])
        wait_until(
            lambda: any(
                "duplicate" in events_of(gateway_env, m)
                for m in _inbound_ids(gateway_env, "reused-1")
            ),
            20,
            "the copy recognised",
        )
        docs = drain(gateway_env, names.customs_core)
        acks = drain(gateway_env, names.outbound("apcs"))
    assert len(docs) == 2 and len({p.message_id for p, _ in docs}) == 2
    assert [p.correlation_id for p, _ in acks] == ["reused-1", "reused-1"]
    assert {_uci_action(body) for _, body in acks} == {"7"}


def _inbound_ids(env: dict[str, str], message_id: str) -> list[str]:
    """The journal's ids of inbound messages whose partner message id was ``message_id``."""
    from gateway.config import load
    from gateway.storage.backends import open_journal

    settings = load(env=env)
    journal = open_journal(settings.journal_backend, settings.journal_path)
    try:
        return [h.message_id for h in journal.track(message_id)]
    finally:
        journal.close()
