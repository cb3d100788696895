"""The metrics port's health app (gateway.messaging.health), served on a free port."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Gauge

from gateway.messaging.health import Readiness, serve
from gateway.storage.journal import JournalUnavailable


class Probe:
    def __init__(self) -> None:
        self.down = False

    def __call__(self) -> None:
        if self.down:
            raise JournalUnavailable("the journal database cannot be reached")


@pytest.fixture
def endpoint() -> Iterator[tuple[int, Readiness, Probe]]:
    registry = CollectorRegistry()
    Gauge("edigw_test_gauge", "A gauge of this test.", registry=registry).set(7)
    readiness, probe = Readiness(), Probe()
    server, _thread = serve("127.0.0.1", 0, registry, readiness, probe)
    try:
        yield int(server.server_address[1]), readiness, probe
    finally:
        server.shutdown()
        server.server_close()


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_healthz_answers_whatever_the_readiness(endpoint: tuple[int, Readiness, Probe]) -> None:
    port, _readiness, probe = endpoint
    probe.down = True
    assert _get(port, "/healthz") == (200, b'{"status": "alive"}')


def test_readyz_needs_connection_consumers_and_journal(
    endpoint: tuple[int, Readiness, Probe],
) -> None:
    port, readiness, probe = endpoint
    status, body = _get(port, "/readyz")
    assert status == 503
    assert json.loads(body)["checks"] == {
        "broker_connected": False,
        "consuming": False,
        "journal_reachable": True,
    }
    readiness.connected(True)
    assert _get(port, "/readyz")[0] == 503  # connected, but no consumer yet
    readiness.consuming(True)
    status, body = _get(port, "/readyz")
    assert (status, json.loads(body)["ready"]) == (200, True)
    probe.down = True
    status, body = _get(port, "/readyz")
    assert status == 503
    assert json.loads(body)["checks"]["journal_reachable"] is False


def test_a_lost_connection_clears_consuming(endpoint: tuple[int, Readiness, Probe]) -> None:
    port, readiness, _probe = endpoint
    readiness.connected(True)
    readiness.consuming(True)
    readiness.connected(False)
    readiness.connected(True)  # reconnected, consumers not yet registered again
    status, body = _get(port, "/readyz")
    assert status == 503
    assert json.loads(body)["checks"]["consuming"] is False


def test_other_paths_are_the_prometheus_exposition(
    endpoint: tuple[int, Readiness, Probe],
) -> None:
    port, _readiness, _probe = endpoint
    status, body = _get(port, "/metrics")
    assert status == 200
    assert b"edigw_test_gauge 7.0" in body
