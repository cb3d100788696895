"""/healthz and /readyz of a real ``edigw run`` (issue #20, point 3), on its own vhost.

Readiness is lost by deleting the test's own vhost: the broker closes the gateway's
connection and refuses its reconnections, so /readyz stays 503 while RabbitMQ keeps serving
every other test (nothing here stops or restarts the broker).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import _rabbitmqctl
from tests.integration.test_metrics import _free_port

pytestmark = [pytest.mark.broker, pytest.mark.e2e]


def _get(port: int, path: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _wait_for(port: int, path: str, status: int, seconds: float = 40) -> dict[str, object]:
    """The body of ``path`` once it answers ``status``; fails with the last answer."""
    deadline = time.monotonic() + seconds
    last: object = None
    while time.monotonic() < deadline:
        try:
            code, body = _get(port, path)
        except OSError as exc:  # not listening yet
            last = exc
        else:
            if code == status:
                return body
            last = (code, body)
        time.sleep(0.2)
    raise AssertionError(f"{path} never answered {status}: last {last!r}")


@pytest.fixture
def own_vhost() -> Iterator[str]:
    """A vhost of this test alone (the test deletes it; deleted here if it did not)."""
    vhost = f"edigw-health-{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        yield vhost
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # the test deleted it
            _rabbitmqctl("delete_vhost", vhost)


def test_ready_once_consuming_then_503_when_the_broker_connection_is_lost(
    own_vhost: str, tmp_path: Path
) -> None:
    host = os.environ.get("EDIGW_TEST_AMQP_HOST", "127.0.0.1:5672")
    port = _free_port()
    env = {
        **os.environ,
        "EDIGW_AMQP_URL": f"amqp://guest:guest@{host}/{quote(own_vhost, safe='')}",
        "EDIGW_NAME_PREFIX": f"h{uuid.uuid4().hex[:8]}.",
        "EDIGW_STATE_DIR": str(tmp_path / "state"),
    }
    env.pop("EDIGW_METRICS_PORT", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "--log-format",
            "json",
            "run",
            "--metrics-port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        ready = _wait_for(port, "/readyz", 200)
        assert ready == {
            "ready": True,
            "checks": {"broker_connected": True, "consuming": True, "journal_reachable": True},
        }
        assert _get(port, "/healthz") == (200, {"status": "alive"})
        # /metrics is still served on the same port.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            assert b"edigw_broker_connected 1.0" in resp.read()

        _rabbitmqctl("delete_vhost", own_vhost)  # closes the connection, refuses reconnection
        lost = _wait_for(port, "/readyz", 503)
        assert lost["ready"] is False
        assert lost["checks"] == {
            "broker_connected": False,
            "consuming": False,
            "journal_reachable": True,
        }
        # Alive all the same: the worker keeps trying to reconnect.
        assert _get(port, "/healthz") == (200, {"status": "alive"})
        assert proc.poll() is None
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()[-2000:]
