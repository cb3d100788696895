"""Fault tests: the journal (PostgreSQL) becomes unavailable mid-run.

Transient failures go through the retry tiers (TTL delay queues dead-lettering back to
the work queue) and succeed once the journal is back; when the tiers are used up the
message is dead-lettered with reason JOURNAL_UNAVAILABLE. The journal is made
unavailable for real: its role loses LOGIN and its sessions are terminated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.messaging import broker
from gateway.storage.journal import derived_id
from tests.e2e.test_faults_support import (
    cleanup_topologies,  # noqa: F401  (autouse: deletes each test's queues)
    count,
    cuscar,
    declare_topology,
    done_count_pg,
    drain,
    gateway_process,
    names_of,
    pg_cut,
    pg_restore,
    site_journal_env,
    submit,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.broker]


@pytest.fixture
def pg_env(
    gateway_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[dict[str, str], str, str]]:
    # With a shared journal `edigw run` takes keys and anchors from configured files only
    # and wants the schema upgraded (issue #20): made here, as a site would install them.
    config = "[broker]\nretry_delays_ms = [400, 800, 1200]\n"
    with site_journal_env(gateway_env, tmp_path, config) as made:
        yield made


def test_journal_outage_is_retried_through_delay_queues_and_nothing_is_lost(
    pg_env: tuple[dict[str, str], str, str], tmp_path: Path
) -> None:
    env, role, dsn = pg_env
    names = names_of(env)
    declare_topology(env)
    before = [(f"jr-a-{i}", cuscar(30_000 + i)) for i in range(5)]
    during = [(f"jr-b-{i}", cuscar(31_000 + i)) for i in range(5)]
    log = tmp_path / "gateway.log"
    with gateway_process(env, log):
        submit(env, before)
        wait_until(lambda: done_count_pg(dsn) >= 5, 30, "first messages done")
        pg_cut(role)
        try:
            submit(env, during)
            wait_until(
                lambda: b"JOURNAL_UNAVAILABLE" in log.read_bytes(), 20, "a retry to be scheduled"
            )
        finally:
            pg_restore(role)
        wait_until(lambda: done_count_pg(dsn) >= 10, 40, "every message done after the outage")
        docs = drain(env, names.customs_core)
    assert {p.message_id for p, _ in docs} == {derived_id(m, 0) for m, _ in before + during}
    assert count(env, names.dead_letter(names.inbound("apcs"))) == 0
    assert b"transient failure: retrying later" in log.read_bytes()


def test_journal_outage_longer_than_the_tiers_is_dead_lettered_with_the_reason(
    pg_env: tuple[dict[str, str], str, str], tmp_path: Path
) -> None:
    env, role, dsn = pg_env
    names = names_of(env)
    declare_topology(env)
    log = tmp_path / "gateway.log"
    dlq = names.dead_letter(names.inbound("apcs"))
    with gateway_process(env, log):
        submit(env, [("jr-warmup", cuscar(32_000))])
        wait_until(lambda: done_count_pg(dsn) >= 1, 30, "warm-up done")
        pg_cut(role)
        try:
            submit(env, [("jr-long", cuscar(32_001))])
            wait_until(lambda: count(env, dlq) >= 1, 30, "the message dead-lettered")
        finally:
            pg_restore(role)
        [(props, _)] = drain(env, dlq)
    h = props.headers
    assert props.message_id == "jr-long"
    assert h[broker.H_REASON] == "JOURNAL_UNAVAILABLE"
    assert "gave up after 3 delayed retries" in h[broker.H_SENTENCE]
    assert h[broker.H_STAGE] == "journal"
    assert h[broker.H_ATTEMPTS] == 4
    assert h[broker.H_ORIGINAL_EXCHANGE] == names.inbound("apcs")
    assert h[broker.H_PARTNER] == "apcs"
    assert h[broker.H_FIRST_FAILURE]
