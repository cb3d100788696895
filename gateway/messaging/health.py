"""``/healthz`` and ``/readyz`` beside ``/metrics``, on the metrics port of ``edigw run``.

- ``/healthz``: the process is alive and its HTTP thread answers. 200 always; a load
  balancer or systemd watchdog that gets no answer restarts the process.
- ``/readyz``: this instance does work now: the broker connection is open, its consumers
  are registered (the worker says so through :class:`Readiness`), and the journal answers a
  read. 200 when all three hold, else 503; the body (JSON) names each check, so an operator
  sees which one failed. A load balancer or orchestrator takes an instance out of rotation
  on 503 without killing it: the worker reconnects by itself.

Every other path is the Prometheus exposition (``/metrics``), as before.

>>> state = Readiness()
>>> state.report(lambda: None)
(False, {'broker_connected': False, 'consuming': False, 'journal_reachable': True})
>>> state.connected(True); state.consuming(True)
>>> state.report(lambda: None)[0]
True
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler

from gateway.logs import get_logger

log = get_logger()

Probe = Callable[[], object]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class Readiness:
    """What the worker tells the health endpoint: connected to the broker, consuming.

    Set from the worker's event loop, read from the HTTP threads: two booleans behind a lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connected = False
        self._consuming = False

    def connected(self, up: bool) -> None:
        with self._lock:
            self._connected = up
            if not up:
                self._consuming = False  # no connection, no consumers

    def consuming(self, up: bool) -> None:
        with self._lock:
            self._consuming = up

    def report(self, journal_probe: Probe) -> tuple[bool, dict[str, bool]]:
        """(ready, each check): the journal is probed at each call, outside the lock."""
        with self._lock:
            checks = {"broker_connected": self._connected, "consuming": self._consuming}
        try:
            journal_probe()
            checks["journal_reachable"] = True
        except Exception as exc:  # any failure of the probe means "not reachable"
            log.warning("readiness: journal unreachable", error=str(exc))
            checks["journal_reachable"] = False
        return all(checks.values()), checks


def health_app(
    registry: CollectorRegistry, readiness: Readiness, journal_probe: Probe
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The WSGI app of the metrics port: ``/healthz``, ``/readyz``, else ``/metrics``."""
    metrics_app = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return _json(start_response, "200 OK", {"status": "alive"})
        if path == "/readyz":
            ready, checks = readiness.report(journal_probe)
            status = "200 OK" if ready else "503 Service Unavailable"
            return _json(start_response, status, {"ready": ready, "checks": checks})
        return metrics_app(environ, start_response)  # type: ignore[no-any-return]

    return app


def _json(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body, sort_keys=True).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [data]


def serve(
    address: str,
    port: int,
    registry: CollectorRegistry,
    readiness: Readiness,
    journal_probe: Probe,
) -> tuple[WSGIServer, threading.Thread]:
    """Serve the metrics port's app from a daemon thread (port 0: any free port)."""
    server = make_server(
        address,
        port,
        health_app(registry, readiness, journal_probe),
        ThreadingWSGIServer,
        handler_class=_SilentHandler,
    )
    thread = threading.Thread(target=server.serve_forever, name="edigw-metrics-http", daemon=True)
    thread.start()
    return server, thread
