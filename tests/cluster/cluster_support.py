"""Helpers of the cluster fault tests: the three nodes of ``scripts/cluster.sh``, a gateway
environment on them, publishes and reads that ride over a lost node, and the count at
``customs.core``. No tests here.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pika
from pika.exceptions import AMQPError

from gateway.config import load
from gateway.messaging import broker
from gateway.messaging.naming import Names
from gateway.messaging.topology import declare, topology_for
from gateway.storage.journal import derived_id
from tests.conftest import delete_topology
from tests.e2e.test_faults_support import connect, site_journal_env

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "cluster.sh"
CLUSTER_DIR = ROOT / "var" / "cluster"
RABBIT_BIN = Path(os.environ.get("RABBIT_BIN", "/usr/lib/rabbitmq/bin"))
NODES = (1, 2, 3)
URL = "amqp://guest:guest@127.0.0.1:5681/%2F"
HOSTS = "127.0.0.1:5682,127.0.0.1:5683"
# scripts/cluster.sh's management listeners: not on 15672, so configured explicitly.
MANAGEMENT_URLS = "http://127.0.0.1:15681,http://127.0.0.1:15682,http://127.0.0.1:15683"


def cluster_sh(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout
    )


def node_name(n: int) -> str:
    return f"edigw{n}@localhost"


def rabbit(tool: str, n: int, *args: str, timeout: float = 60) -> str:
    """``rabbitmqctl`` (or another CLI) on node ``n`` of the cluster only, with its cookie."""
    env = {**os.environ, "HOME": str(CLUSTER_DIR / "home")}
    done = subprocess.run(
        [str(RABBIT_BIN / tool), "-q", "-n", node_name(n), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{tool} {' '.join(args)} on {node_name(n)}: {done.stderr.strip()}")
    return done.stdout


def leader_of(queue: str, up: tuple[int, ...] = NODES) -> int:
    """The number of the node that leads the quorum queue ``queue``."""
    for n in up:
        try:
            rows = json.loads(
                rabbit("rabbitmqctl", n, "list_queues", "name", "leader", "--formatter", "json")
            )
        except (RuntimeError, ValueError):
            continue
        for row in rows:
            if row["name"] == queue:
                return int(str(row["leader"]).removeprefix("edigw").split("@")[0])
    raise AssertionError(f"no node says who leads {queue}")


def members_of(queue: str) -> list[str]:
    rows = json.loads(
        rabbit("rabbitmqctl", 1, "list_queues", "name", "members", "--formatter", "json")
    )
    return next(sorted(r["members"]) for r in rows if r["name"] == queue)


def stop_node(n: int) -> None:
    done = cluster_sh("stop-node", str(n))
    assert done.returncode == 0, done.stderr


def start_node(n: int) -> None:
    done = cluster_sh("start-node", str(n))
    assert done.returncode == 0, done.stderr


def wait_not_quorum_critical(n: int, timeout: float = 120) -> None:
    """Until stopping node ``n`` would leave every quorum queue a majority (its peers caught up)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            rabbit("rabbitmq-queues", n, "check_if_node_is_quorum_critical")
            return
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


@contextmanager
def cluster_env(tmp_path: Path) -> Iterator[tuple[dict[str, str], str]]:
    """A gateway of this test on the cluster: own queue prefix and state, its own PostgreSQL
    schema (upgraded), the site's key and anchors from files; yields (env, journal DSN). The
    test's queues are declared here and deleted after it."""
    base = {
        **os.environ,
        "EDIGW_AMQP_URL": URL,
        "EDIGW_AMQP_HOSTS": HOSTS,
        "EDIGW_MANAGEMENT_URLS": MANAGEMENT_URLS,
        "EDIGW_NAME_PREFIX": f"t{uuid.uuid4().hex[:8]}.",
        "EDIGW_STATE_DIR": str(tmp_path / "state"),
    }
    with site_journal_env(base, tmp_path) as (env, _role, dsn):
        connection = connect(env)
        try:
            declare(connection.channel(), topology_for(load(env=env)))
        finally:
            connection.close()
        try:
            yield env, dsn
        finally:
            delete_topology(env)


def submit(env: dict[str, str], messages: list[tuple[str, bytes]]) -> int:
    """Publish (message id, body) pairs to apcs's inbound exchange, each confirmed; a node lost
    on the way means a new connection and the same message again (a partner's at-least-once:
    the gateway's journal knows a message id it has seen). Returns how many were sent again."""
    names = Names(env["EDIGW_NAME_PREFIX"])
    again, i = 0, 0
    connection = connect(env)
    channel = broker.confirmed_channel(connection)
    while i < len(messages):
        message_id, body = messages[i]
        try:
            broker.publish(
                channel,
                names.inbound("apcs"),
                "",
                body,
                message_id=message_id,
                content_type="application/edifact",
            )
            i += 1
        except (AMQPError, broker.PublishError, OSError):
            again += 1
            time.sleep(0.5)
            with contextlib.suppress(Exception):  # already gone with its node
                connection.close()
            connection = connect(env)
            channel = broker.confirmed_channel(connection)
    connection.close()
    return again


@dataclass(frozen=True)
class Tally:
    """What reached ``customs.core``, counted by message id."""

    documents: int  # on the wire, copies included
    effects: Counter[str]  # distinct message ids and how often each came
    lost: set[str]  # inbound ids with no document
    foreign: set[str]  # document ids that are not the derived id of an inbound message


def tally(docs: list[tuple[pika.BasicProperties, bytes]], inbound: set[str]) -> Tally:
    effects = Counter(str(p.message_id) for p, _ in docs)
    expected = {derived_id(m, 0) for m in inbound}
    by_inbound = {str(p.correlation_id) for p, _ in docs}
    return Tally(len(docs), effects, inbound - by_inbound, set(effects) - expected)
