"""Shared fixtures: the real corpus, and an isolated RabbitMQ vhost per test session.

Integration and end-to-end tests talk to the real broker at EDIGW_TEST_AMQP_HOST
(default 127.0.0.1:5672, guest/guest). Each session creates its own vhost with
``rabbitmqctl`` and deletes it afterwards; each test also gets its own queue-name
prefix, so tests never see each other's messages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.corpus import CORPUS, LEFT_OUT_REASON, corpus_present

__all__ = ["CORPUS"]  # imported from here by older tests

ROOT = Path(__file__).resolve().parent.parent
# The tests run the gateway in development mode (issue #14): signing keys and ministry anchors
# are generated into each test's state directory. Set here, so that every `edigw` child
# process and every load() that reads os.environ gets it; tests of production mode set
# EDIGW_MODE=production (or pass an env without it) themselves.
os.environ["EDIGW_MODE"] = "development"
# Tests that need the shared corpus are deselected, with their reason, where it is absent.
LEFT_OUT_KEY = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"needs_corpus: {LEFT_OUT_REASON}")
    config.stash[LEFT_OUT_KEY] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _deselect_cluster_tests(config, items)
    if corpus_present():
        return
    left_out = [
        i
        for i in items
        if i.get_closest_marker("needs_corpus") or "corpus" in getattr(i, "fixturenames", ())
    ]
    if left_out:
        config.stash[LEFT_OUT_KEY] = [i.nodeid for i in left_out]
        items[:] = [i for i in items if i not in left_out]
        config.hook.pytest_deselected(items=left_out)


def _deselect_cluster_tests(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The cluster's fault tests start three RabbitMQ nodes and take minutes: they run when a
    ``-m`` expression names them (``scripts/test.sh`` with EDIGW_CLUSTER_TESTS=1), never as
    part of the main suite."""
    if "cluster" in (config.option.markexpr or ""):
        return
    cluster = [i for i in items if i.get_closest_marker("cluster")]
    if cluster:
        items[:] = [i for i in items if i not in cluster]
        config.hook.pytest_deselected(items=cluster)


def pytest_report_header(config: pytest.Config) -> str:
    if corpus_present():
        return f"shared corpus: {CORPUS} (every corpus test is collected)"
    return f"shared corpus: absent at {CORPUS}; tests that need it are deselected"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    left_out = config.stash.get(LEFT_OUT_KEY, [])
    if left_out:
        modules = sorted({n.split("::")[0] for n in left_out})
        terminalreporter.write_sep("=", f"{len(left_out)} tests not collected: no shared corpus")
        terminalreporter.write_line(f"each {LEFT_OUT_REASON}")
        terminalreporter.write_line("in: " + ", ".join(modules))


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared real-world corpus (../shared/corpus beside the project, or $EDIGW_CORPUS).

    Tests that request it are deselected where it is absent (pytest_collection_modifyitems)."""
    if not corpus_present():
        pytest.fail(f"the shared corpus is missing at {CORPUS} (set EDIGW_CORPUS)")
    return CORPUS


def _rabbitmqctl(*args: str) -> None:
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([ctl, "-q", *args], check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    """A fresh vhost on the real broker for this test session, deleted at the end."""
    vhost = f"edigw-test-{uuid.uuid4().hex[:10]}"
    host = os.environ.get("EDIGW_TEST_AMQP_HOST", "127.0.0.1:5672")
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@{host}/{quote(vhost, safe='')}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
def gateway_env(amqp_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for a gateway of this test: own vhost, own name prefix, own state dir.

    At the end the test's queues and exchanges are deleted: quorum queues hold broker
    resources (file handles), and a session of a few hundred of them can exhaust a
    default RabbitMQ. Tests may add keys (EDIGW_CONFIG, ...) to the dict they get; the
    clean-up reads the topology from the dict as the test left it.
    """
    env = {
        **os.environ,
        "EDIGW_AMQP_URL": amqp_url,
        "EDIGW_NAME_PREFIX": f"t{uuid.uuid4().hex[:8]}.",
        "EDIGW_STATE_DIR": str(tmp_path / "state"),
    }
    yield env
    delete_topology(env)


def delete_topology(env: dict[str, str]) -> None:
    """Delete every queue and exchange the gateway would declare with ``env``."""
    from pika.exceptions import AMQPError

    from gateway.config import ConfigError, load
    from gateway.messaging import broker
    from gateway.messaging.topology import topology_for

    try:
        settings = load(env=env)
        topology = topology_for(settings)
    except ConfigError:
        return
    try:
        # The broker of the settings, over TLS when they say so (tests/integration/tls_broker.py).
        connection = broker.connect(
            settings.broker_url, tls=broker.tls_from(settings.config.broker)
        )
    except AMQPError:
        return
    try:
        channel = connection.channel()
        for queue in topology.queues:
            try:
                channel.queue_delete(queue.name)
            except AMQPError:
                channel = connection.channel()
        for exchange in topology.exchanges:
            try:
                channel.exchange_delete(exchange.name)
            except AMQPError:
                channel = connection.channel()
    finally:
        if connection.is_open:
            connection.close()
