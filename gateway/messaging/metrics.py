"""Prometheus metrics of the gateway (prometheus-client), served by ``edigw run``.

Configuration (``[metrics]`` in the TOML, or the environment)::

    [metrics]
    port = 9464            # 0 = no endpoint (EDIGW_METRICS_PORT)
    address = "127.0.0.1"  # where to listen (EDIGW_METRICS_ADDRESS)
    depth_interval = 15    # seconds between queue-depth polls
    management_url = ""    # RabbitMQ management API; "" = each broker node's host, port 15672
    management_urls = []   # more APIs, tried in order after it (gateway.messaging.management)

Labels are bounded (issue #19): a ``type`` is one of :data:`KNOWN_TYPES` (else ``other``),
a ``partner`` one of the configured partners (else ``other``), a ``destination`` core or
legacy (else ``other``): partner content never makes a new series.

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

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pika.exceptions import AMQPError, ChannelClosedByBroker
from prometheus_client import (
    Counter,
    Gauge,
    Histogram,
)

from gateway.config import INBOUND_ROLES
from gateway.logs import get_logger
from gateway.messaging.broker import Connector
from gateway.messaging.components import Gateway
from gateway.messaging.health import Readiness, serve
from gateway.messaging.management import management_queues
from gateway.messaging.metrics_registry import REGISTRY, swap_collector
from gateway.messaging.metrics_travellers import watch_overdue_vehicles
from gateway.storage.travellers_retention import travellers_of

log = get_logger()

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
    "Messages in each gateway queue, ready + unacknowledged (polled).",
    ["queue"],
    registry=REGISTRY,
)
DEAD_LETTER_DEPTH = Gauge(
    "edigw_dead_letter_messages",
    "Messages in each dead-letter queue, ready + unacknowledged: an operator browsing "
    "does not make it drop (polled).",
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

ROUTED_BY_DESTINATION = Counter(
    "edigw_documents_routed",
    "Canonical documents published to customs, by destination (core or legacy).",
    ["partner", "destination"],
    registry=REGISTRY,
)
BUILD_INFO = Gauge(
    "edigw_build_info",
    "Always 1; the labels say which gateway version runs on which Python.",
    ["version", "python"],
    registry=REGISTRY,
)
DEPTH_COUNTS_UNACKED = Gauge(
    "edigw_queue_depth_counts_unacked",
    "1 if the last depth poll read the management API (ready + unacknowledged), "
    "0 if it fell back to AMQP (ready only).",
    registry=REGISTRY,
)

#: The message types (UNH 0065, or the root element of an XML document) and input formats a
#: ``type`` label may carry; any other becomes ``other``. Partners' configured
#: ``message_types`` are added at :func:`start`.
KNOWN_TYPES: frozenset[str] = frozenset(
    {
        "CUSCAR",
        "PAXLST",
        "CUSRES",
        "CONTRL",
        "APERAK",
        "SPSCertificate",
        "CertificateOfOrigin",
        "LpcoDocument",
        "xml",
        "edifact",
        "unknown",
    }
)
DESTINATIONS: frozenset[str] = frozenset({"core", "legacy"})
OTHER = "other"
_known_types: set[str] = set(KNOWN_TYPES)
_known_partners: set[str] | None = None  # None until the configuration is known


def _build_info() -> None:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("port-edi-gateway")
    except PackageNotFoundError:
        ours = "unknown"
    BUILD_INFO.labels(ours, platform.python_version()).set(1)


_build_info()


def know_partners(ids: Any, message_types: Any = ()) -> None:
    """The configured partners (and the message types they may send): the only label values.

    ``None`` forgets them (any partner label is then taken as it is).
    """
    global _known_partners
    _known_partners = None if ids is None else {str(i) for i in ids}
    _known_types.update(str(t) for t in message_types)


def partner_label(partner: str) -> str:
    """``partner`` if configured, else ``other`` (any value while no configuration is known).

    >>> know_partners(["apcs"]); partner_label("apcs"), partner_label("evil\x1b[2J")
    ('apcs', 'other')
    >>> know_partners(None); partner_label("evil")
    'evil'
    """
    if _known_partners is None or partner in _known_partners:
        return partner
    return OTHER


def type_label(types: Any) -> str:
    """One bounded ``type`` label for the message types of one message or interchange.

    >>> type_label(["CUSCAR", "CUSCAR"]), type_label(["CUSCAR", "PAXLST"]), type_label(["X" * 99])
    ('CUSCAR', 'mixed', 'other')
    >>> type_label("CUSCAR,PAXLST"), type_label([]), type_label("xml")
    ('mixed', 'unknown', 'xml')
    """
    if isinstance(types, str):
        types = [t for t in types.split(",") if t]
    found = list(dict.fromkeys(str(t) for t in types or []))
    if not found:
        return "unknown"
    if len(found) > 1:
        return "mixed"
    return found[0] if found[0] in _known_types else OTHER


def destination_label(destination: str) -> str:
    return destination if destination in DESTINATIONS else OTHER


#: The operators' actions counted by ``edigw_operator_actions_total`` (always present, 0 first).
OPERATOR_ACTIONS: tuple[str, ...] = ("replay", "edit", "purge")


class OperatorActionsCollector:
    """``edigw_operator_actions_total{action}``, read from the audit trail at each scrape.

    The actions are taken by short-lived ``edigw dlq`` commands and the console, not by the
    process that serves /metrics: the audit trail is where they all meet. Every instance
    that shares a trail reports the same totals, so dashboards and alerts take ``max by``.
    """

    def __init__(self, source: Callable[[], Mapping[str, int]]) -> None:
        self.source = source

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily

        family = CounterMetricFamily(
            "edigw_operator_actions",
            "Operator actions on dead letters (replay, edit, purge), from the audit trail.",
            labels=["action"],
        )
        try:
            counts = dict(self.source())
        except Exception:  # a broken trail must not break the scrape
            log.warning("operator actions unreadable", exc_info=True)
            return
        for action in OPERATOR_ACTIONS:
            family.add_metric([action], float(counts.get(action, 0)))
        yield family


_operator_actions: OperatorActionsCollector | None = None


def set_operator_actions_source(source: Callable[[], Mapping[str, int]] | None) -> None:
    """Serve ``edigw_operator_actions_total`` from ``source`` (None: stop serving it)."""
    global _operator_actions
    new = None if source is None else OperatorActionsCollector(source)
    _operator_actions = swap_collector(_operator_actions, new)


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
    partner = partner_label(partner)
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
    label = ",".join(types) or str(getattr(translation, "format", "unknown"))
    rejection = getattr(outcome, "rejection", None)
    if rejection is None:
        finished(partner, "routed", type=label, seconds=seconds)
        routed_documents(partner, outcome)
    else:
        reason = str(getattr(rejection, "reason", "UNKNOWN"))
        finished(partner, "rejected", type=label, reason=reason, seconds=seconds)


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
    kind = type_label(type)
    partner = partner_label(partner)
    FINISHED.labels(partner, outcome).inc()
    if outcome == "routed":
        ROUTED.labels(partner, kind).inc()
    elif outcome == "rejected":
        REJECTED.labels(partner, kind, reason or "UNKNOWN").inc()
        DEAD_LETTERED.labels(partner, kind, reason or "UNKNOWN").inc()
    elif outcome == "dead-lettered":
        DEAD_LETTERED.labels(partner, kind, reason or "UNKNOWN").inc()
    if seconds is not None:
        LATENCY.labels(partner).observe(seconds)


@_safe
def routed_documents(partner: str, outcome: Any) -> None:
    """Count the documents of ``outcome`` (a pipeline Outcome) per destination, core or legacy."""
    for document in getattr(outcome, "routed", None) or []:
        destination = destination_label(str(getattr(document, "destination", "")))
        ROUTED_BY_DESTINATION.labels(partner_label(partner), destination).inc()


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
    if plan_outcome == "routed":
        routed_documents(partner, outcome)


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


# ---------------------------------------------------------------------- queue depths


def _management_depths(
    broker: Connector, queues: list[str], management_urls: Sequence[str], timeout: float
) -> dict[str, int]:
    """Ready + unacknowledged messages per queue, from the first management API of the
    cluster that answers (raises when none does)."""
    rows = management_queues(
        broker.nodes, "name,messages", management_urls=management_urls, timeout=timeout
    )
    wanted = set(queues)
    return {
        str(row["name"]): int(row.get("messages") or 0)
        for row in rows
        if isinstance(row, dict) and row.get("name") in wanted
    }


def _amqp_ready(broker: Connector, queues: list[str]) -> dict[str, int]:
    """Ready messages per existing queue (passive declare): all AMQP can tell."""
    depths: dict[str, int] = {}
    connection = broker.blocking(heartbeat=60)
    try:
        channel = connection.channel()
        for queue in queues:
            try:
                depths[queue] = int(channel.queue_declare(queue, passive=True).method.message_count)
            except ChannelClosedByBroker:  # not declared (yet)
                channel = connection.channel()
    finally:
        if connection.is_open:
            connection.close()
    return depths


def queue_depths(
    broker: Connector,
    queues: list[str],
    *,
    management_url: str = "",
    management_urls: Sequence[str] = (),
    timeout: float = 5.0,
) -> tuple[dict[str, int], bool]:
    """(messages per existing queue, whether unacknowledged ones are counted).

    Ready + unacknowledged, from the management API: an operator browsing a dead-letter
    queue holds its messages unacknowledged, and a ready-only count would read 0 then.
    Which queues exist, and whether the broker answers at all, is asked over AMQP first
    (raising its error when the broker is unreachable); when the API cannot be reached, the
    ready count of a passive declare is all there is (logged, and said by the flag).
    """
    ready = _amqp_ready(broker, queues)
    try:
        total = _management_depths(broker, list(ready), [management_url, *management_urls], timeout)
    except Exception as exc:  # no management plugin, refused, timeout: fall back, say so
        log.warning(
            "queue depths without unacknowledged messages: management API unreachable",
            error=repr(exc)[:300],
        )
        return ready, False
    return {queue: total.get(queue, n) for queue, n in ready.items()}, True


# ---------------------------------------------------------------------- serving


class QueueDepthPoller(threading.Thread):
    """Polls the depth of every gateway queue on its own connection (pika is not thread-safe)."""

    def __init__(
        self,
        broker: Connector,
        queues: list[str],
        interval: float,
        management_urls: Sequence[str] = (),
    ) -> None:
        super().__init__(name="edigw-metrics-depth", daemon=True)
        self.broker = broker
        self.management_urls = tuple(management_urls)
        self.queues = queues
        self.interval = interval
        self.stopping = threading.Event()

    def poll_once(self) -> dict[str, int]:
        try:
            depths, counts_unacked = queue_depths(
                self.broker, self.queues, management_urls=self.management_urls
            )
        except AMQPError:
            BROKER_REACHABLE.set(0)
            return {}
        BROKER_REACHABLE.set(1)
        DEPTH_COUNTS_UNACKED.set(1 if counts_unacked else 0)
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


def start(
    gateway: Gateway, readiness: Readiness | None = None, port: int | None = None
) -> MetricsServer | None:
    """Serve /metrics, /healthz and /readyz (``gateway.messaging.health``) if the port is not
    0, and poll queue depths. ``port`` (``edigw run --metrics-port``) overrides ``[metrics]
    port``. Never raises."""
    try:
        settings = gateway.settings
        conf = settings.config.metrics
        port = conf.port if port is None else port
        configured = settings.partners_with_role(*INBOUND_ROLES)
        know_partners(
            [p.id for p in configured],
            [t for p in configured for t in p.message_types],
        )
        if port == 0:
            return None
        queues = [q.name for q in gateway.topology.queues]
        for partner in configured:
            # Series exist from the start, so "no traffic" alerts work after a restart too.
            RECEIVED.labels(partner.id)
            LAST_MESSAGE.labels(partner.id)
        server, thread = serve(
            conf.address, port, REGISTRY, readiness or Readiness(), gateway.journal.ping
        )
        poller = QueueDepthPoller(
            gateway.broker,
            queues,
            conf.depth_interval,
            [conf.management_url, *conf.management_urls],
        )
        # The operator actions of the audit trail, counted at each scrape.
        set_operator_actions_source(gateway.audit.counts_by_action)
        watch_overdue_vehicles(travellers_of(gateway.journal))  # issue #18
        poller.start()
        port = int(server.server_address[1])
        log.info(
            "metrics endpoint", address=conf.address, port=port, health=["/healthz", "/readyz"]
        )
        return MetricsServer(server, thread, poller, port)
    except Exception:  # the gateway runs without metrics rather than not at all
        log.error("metrics endpoint not started", exc_info=True)
        return None
