"""The three-node cluster of ``scripts/cluster.sh`` for the tests marked ``cluster``.

Brought up (without its own gateways: each test runs its own) when it is not running, and
taken down after the session only if this session brought it up. Every test starts with
the three nodes running and clustered.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.cluster_support import NODES, cluster_sh, node_name, rabbit


def _members() -> set[str]:
    import json

    status = json.loads(rabbit("rabbitmqctl", 1, "cluster_status", "--formatter", "json"))
    return set(status.get("running_nodes", []))


@pytest.fixture(scope="session")
def cluster() -> Iterator[None]:
    started = cluster_sh("status").returncode != 0
    if started:
        done = cluster_sh("up", "--no-gateways", timeout=600)
        assert done.returncode == 0, f"scripts/cluster.sh up failed:\n{done.stderr[-3000:]}"
    try:
        yield
    finally:
        if started:
            cluster_sh("down")


@pytest.fixture(autouse=True)
def three_nodes_running(cluster: None) -> None:
    """Each test begins on the whole cluster (a test restores what it stopped)."""
    if cluster_sh("status").returncode != 0:  # a node down: start-node skips running ones
        for n in NODES:
            cluster_sh("start-node", str(n))
    assert _members() == {node_name(n) for n in NODES}
