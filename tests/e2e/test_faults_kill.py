"""Fault test: ``kill -9`` of ``edigw run`` in the middle of 1,000 messages, then a restart.

What is asserted (the guarantee is at-least-once delivery with idempotent effects):

* every one of the 1,000 inbound messages produced its canonical document on
  ``customs.core``: after dropping copies by ``message_id`` there is exactly one per
  inbound message, and its id is the one derived from the inbound message id;
* copies on the wire can only come from the messages in flight at the kill (at most
  the prefetch window), and each carries the same ``message_id`` as the original;
* every sender gets exactly one final acknowledgement (CONTRL) per message after the
  same drop by ``message_id``, with the same bounded number of wire copies;
* the journal records every inbound message as done.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from gateway.config import load
from gateway.storage.backends import open_journal
from gateway.storage.journal import derived_id
from tests.e2e.test_faults_support import (
    cleanup_topologies,  # noqa: F401  (autouse: deletes each test's queues)
    count,
    cuscar,
    declare_topology,
    done_count,
    drain,
    gateway_process,
    kill9,
    names_of,
    submit,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.broker]
N = 1000


def test_kill_9_mid_run_then_restart_loses_nothing_and_doubles_nothing(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    names = names_of(gateway_env)
    declare_topology(gateway_env)
    messages = [(f"kill-{i:05d}", cuscar(i)) for i in range(N)]
    submit(gateway_env, messages)
    log = tmp_path / "gateway.log"

    with gateway_process(gateway_env, log) as first:
        # Kill it for real once it is well into the run (some routed, most not yet).
        wait_until(lambda: count(gateway_env, names.customs_core) >= 150, 40, "150 routed")
        kill9(first)
    routed_before_restart = count(gateway_env, names.customs_core)
    assert routed_before_restart < N, (
        "the gateway finished before the kill; the test proves nothing"
    )

    with gateway_process(gateway_env, log):
        wait_until(
            lambda: done_count(gateway_env) >= N, 50, "all messages processed after the restart"
        )
        docs = drain(gateway_env, names.customs_core)
        acks = drain(gateway_env, names.outbound("apcs"))

    settings = load(env=gateway_env)
    prefetch = settings.prefetch
    doc_ids = Counter(p.message_id for p, _ in docs)
    ack_ids = Counter(p.message_id for p, _ in acks)
    inbound_ids = {mid for mid, _ in messages}

    # Exactly once after dropping copies by message_id, with the derived ids.
    assert {p.correlation_id for p, _ in docs} == inbound_ids
    assert set(doc_ids) == {derived_id(mid, 0) for mid in inbound_ids}
    assert {p.correlation_id for p, _ in acks} == inbound_ids
    assert set(ack_ids) == {derived_id(mid, "ack") for mid in inbound_ids}
    # Copies come only from the window in flight at the kill.
    assert len(docs) - len(doc_ids) <= prefetch
    assert len(acks) - len(ack_ids) <= prefetch
    # Nothing went to the dead-letter queue and nothing is left behind.
    assert count(gateway_env, names.dead_letter(names.inbound("apcs"))) == 0
    journal = open_journal(settings.journal_backend, settings.journal_path)
    try:
        states = Counter(
            (p.state if (p := journal.processed(mid)) else None) for mid in inbound_ids
        )
    finally:
        journal.close()
    assert states == {"done": N}


M = 300  # interchanges of three messages each, the second refused


def test_kill_9_in_the_middle_of_per_message_plans_gives_one_effect_per_message(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    """Issue #15: each message of an interchange decided on its own, and a ``kill -9`` in
    the middle of the plans: after the restart, every accepted message has exactly one
    document on customs.core and every refused one exactly one dead letter (copies dropped
    by message id, at most the prefetch window's), with ids derived from the inbound
    message id and the message's place."""
    from tests.edifact_builders import interchange, message

    names = names_of(gateway_env)
    declare_topology(gateway_env)
    messages = [
        (
            f"pm-kill-{i:04d}",
            interchange(
                message("1", f"MAN-DZALG-K{i:04d}-1"),
                message("2", f"MAN-DZALG-K{i:04d}-2", container="MSCU1234565"),
                message("3", f"MAN-DZALG-K{i:04d}-3"),
                reference=f"K{i:04d}",
            ),
        )
        for i in range(M)
    ]
    submit(gateway_env, messages)
    log = tmp_path / "gateway.log"
    with gateway_process(gateway_env, log) as first:
        wait_until(lambda: count(gateway_env, names.customs_core) >= 60, 40, "60 routed")
        kill9(first)
    assert count(gateway_env, names.customs_core) < 2 * M, "finished before the kill"
    with gateway_process(gateway_env, log):
        wait_until(lambda: done_count(gateway_env) >= M, 60, "all interchanges processed")
        docs = drain(gateway_env, names.customs_core)
        letters = drain(gateway_env, names.dead_letter(names.inbound("apcs")))

    prefetch = load(env=gateway_env).prefetch
    inbound_ids = [mid for mid, _ in messages]
    doc_ids = Counter(p.message_id for p, _ in docs)
    letter_ids = Counter(p.message_id for p, _ in letters)
    assert set(doc_ids) == {derived_id(mid, n) for mid in inbound_ids for n in (0, 2)}
    assert set(letter_ids) == {derived_id(mid, "dl1") for mid in inbound_ids}
    assert {p.headers["x-edigw-message-reference"] for p, _ in letters} == {"2"}
    assert len(docs) - len(doc_ids) <= 2 * prefetch
    assert len(letters) - len(letter_ids) <= prefetch
