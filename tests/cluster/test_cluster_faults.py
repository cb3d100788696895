"""Fault tests on the real three-node cluster (issue #20, point 1), two ``edigw run`` on it.

Each test sends 1,000 CUSCARs to ``partner.apcs.in`` (half before the fault, half while it
happens), lets a fault happen in the middle of the traffic, and ends with every message
counted at ``customs.core`` by message id: **0 lost** (every inbound message has its
document) and **0 duplicate downstream effects** (one document id per inbound message, the
one derived from it; a copy on the wire after a redelivery carries the same id, so a consumer
keyed on message ids does it once). The journal (PostgreSQL, shared by the two instances)
records all 1,000 as done, and nothing is dead-lettered.

Run with ``.venv/bin/pytest -m cluster tests/cluster`` (scripts/test.sh does when
EDIGW_CLUSTER_TESTS=1); the cluster comes up by itself if it is not running.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from subprocess import Popen

import pytest

from gateway.config import load
from gateway.messaging.broker import Connector
from gateway.messaging.metrics import queue_depths
from gateway.messaging.naming import Names
from tests.cluster.cluster_support import (
    NODES,
    Tally,
    cluster_env,
    leader_of,
    members_of,
    start_node,
    stop_node,
    submit,
    tally,
    wait_not_quorum_critical,
)
from tests.e2e.test_faults_support import (
    count,
    cuscar,
    done_count_pg,
    drain,
    gateway_process,
    kill9,
    wait_until,
)

pytestmark = [pytest.mark.cluster, pytest.mark.e2e]
N = 1000


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[dict[str, str], str]]:
    with cluster_env(tmp_path) as made:
        yield made


def _traffic_with_fault(
    env: dict[str, str],
    dsn: str,
    tmp_path: Path,
    first: int,
    fault: Callable[[list[Popen[bytes]]], None],
) -> tuple[Tally, set[str], int]:
    """1,000 messages through two gateways, ``fault`` run once 100 are routed, while the
    second half is being sent; returns the tally at customs.core, the inbound ids, and how
    many documents were routed when the fault began."""
    names = Names(env["EDIGW_NAME_PREFIX"])
    messages = [(f"cl-{first + i:07d}", cuscar(first + i)) for i in range(N)]
    submit(env, messages[: N // 2])
    with ExitStack() as stack:
        gateways = [
            stack.enter_context(
                gateway_process(
                    env, tmp_path / f"gw{k}.log", {"EDIGW_STATE_DIR": str(tmp_path / f"gw{k}")}
                )
            )
            for k in (1, 2)
        ]
        wait_until(lambda: count(env, names.customs_core) >= 100, 120, "100 routed")
        routed_at_fault = count(env, names.customs_core)
        failed: list[BaseException] = []

        def run_fault() -> None:
            try:
                fault(gateways)
            except BaseException as exc:  # reported by the test thread
                failed.append(exc)

        thread = threading.Thread(target=run_fault)
        thread.start()
        submit(env, messages[N // 2 :])
        thread.join(timeout=400)
        assert not thread.is_alive(), "the fault did not finish"
        assert not failed, f"the fault itself failed: {failed[0]!r}"
        wait_until(lambda: done_count_pg(dsn) >= N, 240, f"all {N} messages done")
        docs = drain(env, names.customs_core)
    assert count(env, names.dead_letter(names.inbound("apcs"))) == 0, "something was dead-lettered"
    return tally(docs, {m for m, _ in messages}), {m for m, _ in messages}, routed_at_fault


def _assert_nothing_lost_nothing_doubled(
    result: Tally, inbound: set[str], routed_at_fault: int
) -> None:
    assert routed_at_fault < N, "the traffic was over before the fault: the test proves nothing"
    assert result.lost == set(), f"{len(result.lost)} messages lost"
    assert result.foreign == set(), f"{len(result.foreign)} documents with an unexpected id"
    assert len(result.effects) == len(inbound) == N, "downstream effects counted by message id"


def test_stopping_the_leader_of_the_inbound_queue_loses_and_doubles_nothing(
    env: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    gateway_env, dsn = env
    queue = Names(gateway_env["EDIGW_NAME_PREFIX"]).inbound("apcs")
    assert len(members_of(queue)) == 3, "the quorum queue is not on the three nodes"
    leader = leader_of(queue)
    survivors = tuple(n for n in NODES if n != leader)
    new_leader: list[int] = []

    def stop_the_leader(_gateways: list[Popen[bytes]]) -> None:
        stop_node(leader)
        new_leader.append(leader_of(queue, survivors))

    try:
        result, inbound, routed = _traffic_with_fault(
            gateway_env, dsn, tmp_path, 100_000, stop_the_leader
        )
    finally:
        start_node(leader)
    _assert_nothing_lost_nothing_doubled(result, inbound, routed)
    assert new_leader and new_leader[0] in survivors, "no other node took the lead"
    logs = "".join((tmp_path / f"gw{k}.log").read_text() for k in (1, 2))
    if leader == 1:  # the gateways were on it (the first of their list): they moved on
        assert '"number": 2' in logs or '"number": 3' in logs


def test_a_rolling_restart_of_the_three_nodes_loses_and_doubles_nothing(
    env: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    gateway_env, dsn = env
    restarted: list[int] = []

    def rolling_restart(_gateways: list[Popen[bytes]]) -> None:
        for n in NODES:
            # As an operator would: only once its peers have caught up (a quorum kept).
            wait_not_quorum_critical(n)
            stop_node(n)
            start_node(n)
            restarted.append(n)

    result, inbound, routed = _traffic_with_fault(
        gateway_env, dsn, tmp_path, 200_000, rolling_restart
    )
    _assert_nothing_lost_nothing_doubled(result, inbound, routed)
    assert restarted == list(NODES)


def test_kill_9_of_one_gateway_during_the_traffic_loses_and_doubles_nothing(
    env: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    gateway_env, dsn = env
    killed: list[int] = []

    def kill_one(gateways: list[Popen[bytes]]) -> None:
        kill9(gateways[0])
        killed.append(gateways[0].returncode)

    result, inbound, routed = _traffic_with_fault(gateway_env, dsn, tmp_path, 300_000, kill_one)
    _assert_nothing_lost_nothing_doubled(result, inbound, routed)
    assert killed == [-9], "the gateway was not killed by SIGKILL"


def test_with_the_first_node_down_depths_still_count_unacknowledged_messages(
    env: tuple[dict[str, str], str],
) -> None:
    """The depth poller and the console ask the management API node by node (issue #20):
    with url's own node stopped, another node's API answers, so the depths still come from
    the API (ready + unacknowledged), not from AMQP's ready count alone."""
    gateway_env, _dsn = env
    settings = load(env=gateway_env)
    queue = Names(gateway_env["EDIGW_NAME_PREFIX"]).inbound("apcs")
    submit(gateway_env, [(f"mg-{i}", cuscar(200_000 + i)) for i in range(3)])
    connector = Connector(
        settings.config.broker.url, hosts=tuple(str(h) for h in settings.config.broker.hosts)
    )
    management_urls = settings.config.metrics.management_urls
    assert len(management_urls) == 3
    wait_not_quorum_critical(1)
    stop_node(1)
    try:
        readings: list[tuple[dict[str, int], bool]] = []

        def read() -> bool:
            readings.append(
                queue_depths(connector, [queue], management_urls=management_urls, timeout=5)
            )
            return readings[-1][0].get(queue) == 3

        # The API's figures trail the queue by its statistics interval (5 s), longer while a
        # new leader takes over the queue.
        wait_until(read, 60, "the depth read from another node's management API")
        assert all(counted for _depths, counted in readings), "a reading fell back to AMQP"
    finally:
        start_node(1)
