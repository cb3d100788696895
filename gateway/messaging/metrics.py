"""Prometheus metrics of the gateway (prometheus-client), served by ``edigw run``.

Configuration (``[metrics]`` in the TOML, or the environment)::

    [metrics]
    port = 9464            # 0 = no endpoint (EDIGW_METRICS_PORT)
    address = "127.0.0.1"  # where to listen (EDIGW_METRICS_ADDRESS)
    depth_interval = 15    # seconds between queue-depth polls

The worker calls the small hooks below (:func:`received`, :func:`observe`,
:func:`broker_connected`); they never raise, so metrics can never break message
handling. Anyone can feed the overdue gauge with :func:`set_overdue` or
:func:`set_overdue_source`.

>>> received("apcs")
>>> _value("edigw_messages_received_total", partner="apcs") >= 1
True
>>> set_overdue(3)
>>> _value("edigw_overdue_responses")
3.0
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    start_http_server,
)

from gateway.logs import get_logger

log = get_logger()

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

RECEIVED = Counter(
    "edigw_messages_received",
    "Partner messages taken from an inbound queue.",
    ["partner"],
    registry=REGISTRY,
)
ROUTED = Counter(
    "edigw_messages_routed",
    "Partner messages whose canonical documents were published to customs.",
    ["partner", "type"],
    registry=REGISTRY,
)
REJECTED = Counter(
    "edigw_messages_rejected",
    "Partner messages the gateway rejected, by reason code.",
    ["partner", "type", "reason"],
    registry=REGISTRY,
)
DEAD_LETTERED = Counter(
    "edigw_messages_dead_lettered",
    "Messages the gateway put into a dead-letter queue, by reason code.",
    ["partner", "type", "reason"],
    registry=REGISTRY,
)
FINISHED = Counter(
    "edigw_messages_finished",
    "Partner messages finished (acknowledged), by outcome: routed, rejected, duplicate ...",
    ["partner", "outcome"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "edigw_processing_seconds",
    "Time from taking a partner message to acknowledging it.",
    ["partner"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
LAST_MESSAGE = Gauge(
    "edigw_partner_last_message_timestamp_seconds",
    "Unix time of the last message taken from the partner (0: none since start).",
    ["partner"],
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "edigw_queue_messages",
    "Messages ready in each gateway queue (polled).",
    ["queue"],
    registry=REGISTRY,
)
DEAD_LETTER_DEPTH = Gauge(
    "edigw_dead_letter_messages",
    "Messages waiting in each dead-letter queue (polled).",
    ["queue"],
    registry=REGISTRY,
)
BROKER_CONNECTED = Gauge(
    "edigw_broker_connected",
    "1 while the worker holds a connection to RabbitMQ, 0 otherwise.",
    registry=REGISTRY,
)
BROKER_REACHABLE = Gauge(
    "edigw_broker_reachable",
    "1 if the last queue-depth poll reached RabbitMQ, 0 otherwise.",
    registry=REGISTRY,
)
OVERDUE = Gauge(
    "edigw_overdue_responses",
    "Customs responses overdue (fed by the response tracker, see set_overdue_source).",
    registry=REGISTRY,
)

LOOP_STALL = Gauge(
    "edigw_event_loop_stall_seconds_max",
    "Longest time the worker's I/O loop could not run (heartbeats wait as long).",
    registry=REGISTRY,
)

_overdue_value = 0.0
_overdue_source: Callable[[], float] | None = None


def _overdue() -> float:
    if _overdue_source is None:
        return _overdue_value
    try:
        return float(_overdue_source())
    except Exception:  # a broken source must not break the scrape
        log.warning("overdue source failed", exc_info=True)
        return float("nan")


OVERDUE.set_function(_overdue)


def set_overdue(count: float) -> None:
    """Set the overdue-responses gauge (for callers that compute it themselves)."""
    global _overdue_value
    _overdue_value = float(count)


def set_overdue_source(source: Callable[[], float] | None) -> None:
    """Have the gauge call ``source`` at each scrape (e.g. a count from the journal)."""
    global _overdue_source
    _overdue_source = source


def _safe(fn: Callable[..., None]) -> Callable[..., None]:
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:  # metrics must never break message handling
            log.warning("metrics hook failed", hook=fn.__name__, exc_info=True)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@_safe
def received(partner: str) -> None:
    """A message was taken from ``partner``'s inbound queue."""
    RECEIVED.labels(partner).inc()
    LAST_MESSAGE.labels(partner).set(time.time())


@_safe
def observe(partner: str, outcome: Any, seconds: float) -> None:
    """A message was finished (acknowledged): count its outcome, time it.

    ``outcome`` is a :class:`gateway.service.pipeline.Outcome` (read duck-typed, to keep this
    module free of the pipeline's imports).
    """
    translation = getattr(outcome, "translation", None)
    types = list(dict.fromkeys(getattr(translation, "message_types", None) or []))
    type_label = ",".join(types) or str(getattr(translation, "format", "unknown"))
    rejection = getattr(outcome, "rejection", None)
    if rejection is None:
        finished(partner, "routed", type=type_label, seconds=seconds)
    else:
        reason = str(getattr(rejection, "reason", "UNKNOWN"))
        finished(partner, "rejected", type=type_label, reason=reason, seconds=seconds)


@_safe
def finished(
    partner: str,
    outcome: str,
    *,
    type: str = "",
    reason: str = "",
    seconds: float | None = None,
) -> None:
    """A message was finished, described with plain strings (for workers without an Outcome).

    ``outcome``: ``routed``; ``rejected`` (rejected *and* dead-lettered); ``dead-lettered``
    (dead-lettered without a rejection, e.g. a handler that kept failing); anything else
    (``duplicate``, ``retry`` ...) only counts in ``edigw_messages_finished_total``.
    """
    type_label = type or "unknown"
    FINISHED.labels(partner, outcome).inc()
    if outcome == "routed":
        ROUTED.labels(partner, type_label).inc()
    elif outcome == "rejected":
        REJECTED.labels(partner, type_label, reason or "UNKNOWN").inc()
        DEAD_LETTERED.labels(partner, type_label, reason or "UNKNOWN").inc()
    elif outcome == "dead-lettered":
        DEAD_LETTERED.labels(partner, type_label, reason or "UNKNOWN").inc()
    if seconds is not None:
        LATENCY.labels(partner).observe(seconds)


@_safe
def decided(partner: str, plan_outcome: str, outcome: Any, seconds: float) -> None:
    """The worker decided what to do with a message (``plan_outcome``: routed, rejected ...).

    ``outcome`` is the pipeline's :class:`gateway.service.pipeline.Outcome` (message types, reason).
    """
    translation = getattr(outcome, "translation", None)
    types = list(dict.fromkeys(getattr(translation, "message_types", None) or []))
    if not types:  # rejected on syntax: the CONTRL report still knows the UNH types
        report = getattr(translation, "syntax_report", None)
        found = (getattr(m, "type", "") for m in getattr(report, "messages", None) or [])
        types = list(dict.fromkeys(t for t in found if t))
    rejection = getattr(outcome, "rejection", None)
    finished(
        partner,
        plan_outcome,
        type=",".join(types) or str(getattr(translation, "format", "unknown")),
        reason=str(getattr(rejection, "reason", "") or ""),
        seconds=seconds,
    )


_loop_stall_max = 0.0


@_safe
def loop_stalled(seconds: float) -> None:
    global _loop_stall_max
    if seconds > _loop_stall_max:
        _loop_stall_max = seconds
        LOOP_STALL.set(seconds)


@_safe
def broker_connected(up: bool) -> None:
    BROKER_CONNECTED.set(1 if up else 0)


def _value(name: str, **labels: str) -> float | None:
    """One sample's current value (for tests and the console)."""
    return REGISTRY.get_sample_value(name, labels)


# ---------------------------------------------------------------------- configuration


class MetricsConfigError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    port: int = 0
    address: str = "127.0.0.1"
    depth_interval: float = 15.0


def metrics_settings(
    raw: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> MetricsSettings:
    """The ``[metrics]`` section of the configuration (``Settings.raw``), env over file.

    >>> metrics_settings({"metrics": {"port": 9464}}, env={})
    MetricsSettings(port=9464, address='127.0.0.1', depth_interval=15.0)
    >>> metrics_settings({}, env={"EDIGW_METRICS_PORT": "0"}).port
    0
    """
    env = os.environ if env is None else env
    section = dict(raw.get("metrics", {}) or {})
    port: Any = env.get("EDIGW_METRICS_PORT", section.get("port", 0))
    address = env.get("EDIGW_METRICS_ADDRESS", section.get("address", "127.0.0.1"))
    interval: Any = section.get("depth_interval", 15)
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise MetricsConfigError(f"metrics.port: must be a whole number, not {port!r}") from None
    if not 0 <= port <= 65535:
        raise MetricsConfigError(f"metrics.port: must be from 0 (off) to 65535, not {port}")
    if not isinstance(interval, int | float) or isinstance(interval, bool) or interval < 1:
        raise MetricsConfigError(f"metrics.depth_interval: seconds, at least 1, not {interval!r}")
    return MetricsSettings(port=port, address=str(address), depth_interval=float(interval))


# ---------------------------------------------------------------------- serving


class QueueDepthPoller(threading.Thread):
    """Polls the depth of every gateway queue on its own connection (pika is not thread-safe)."""

    def __init__(
        self, broker_url: str, queues: list[str], interval: float, tls: Any = None
    ) -> None:
        super().__init__(name="edigw-metrics-depth", daemon=True)
        self.broker_url = broker_url
        self.tls = tls
        self.queues = queues
        self.interval = interval
        self.stopping = threading.Event()

    def poll_once(self) -> dict[str, int]:
        from pika.exceptions import AMQPError, ChannelClosedByBroker

        from gateway.messaging import broker

        depths: dict[str, int] = {}
        try:
            connection = broker.connect(self.broker_url, heartbeat=60, tls=self.tls)
        except AMQPError:
            BROKER_REACHABLE.set(0)
            return depths
        try:
            channel = connection.channel()
            for queue in self.queues:
                try:
                    depths[queue] = int(
                        channel.queue_declare(queue, passive=True).method.message_count
                    )
                except ChannelClosedByBroker:  # not declared (yet)
                    channel = connection.channel()
            BROKER_REACHABLE.set(1)
        except AMQPError:
            BROKER_REACHABLE.set(0)
        finally:
            if connection.is_open:
                connection.close()
        for queue, n in depths.items():
            gauge = DEAD_LETTER_DEPTH if queue.endswith(".dlq") else QUEUE_DEPTH
            gauge.labels(queue).set(n)
        return depths

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except Exception:  # keep polling whatever happens
                log.warning("queue depth poll failed", exc_info=True)
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()


@dataclass(slots=True)
class MetricsServer:
    server: Any
    thread: threading.Thread
    poller: QueueDepthPoller
    port: int

    def stop(self) -> None:
        self.poller.stop()
        self.server.shutdown()
        self.server.server_close()


def start(settings: Any) -> MetricsServer | None:
    """Serve /metrics if ``[metrics] port`` is not 0, and poll queue depths. Never raises."""
    try:
        conf = metrics_settings(getattr(settings, "raw", {}) or {})
        if conf.port == 0:
            return None
        from gateway.messaging.naming import Names
        from gateway.messaging.topology import topology_for

        names = Names(settings.name_prefix)
        queues = [q.name for q in topology_for(settings, names).queues]
        for partner in settings.partners_with_role("port", "ministry"):
            # Series exist from the start, so "no traffic" alerts work after a restart too.
            RECEIVED.labels(partner.id)
            LAST_MESSAGE.labels(partner.id)
        server, thread = start_http_server(conf.port, addr=conf.address, registry=REGISTRY)
        from gateway.messaging.broker import tls_from

        poller = QueueDepthPoller(
            settings.broker_url, queues, conf.depth_interval, tls_from(settings.raw)
        )
        poller.start()
        port = int(server.server_address[1])
        log.info("metrics endpoint", address=conf.address, port=port)
        return MetricsServer(server, thread, poller, port)
    except Exception:  # the gateway runs without metrics rather than not at all
        log.error("metrics endpoint not started", exc_info=True)
        return None
