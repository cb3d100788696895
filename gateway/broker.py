"""A small layer over pika: connect, publish with confirms, dead-letter with reasons.

Every publish here is persistent, ``mandatory`` and confirmed, so a message the
broker cannot route or store raises instead of vanishing.
"""

from __future__ import annotations

import datetime as dt
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.adapters.utils.connection_workflow import AMQPConnectorException
from pika.exceptions import AMQPConnectionError, NackError, UnroutableError

from gateway.config import ConfigError
from gateway.naming import Names

PERSISTENT = 2
DEFAULT_RETRY_DELAYS_MS = (1000, 5000, 30000)

# Dead-letter headers: a contract with operators' tools (edigw dlq, issue #7).
H_REASON = "x-edigw-reason"
H_SENTENCE = "x-edigw-sentence"
H_STAGE = "x-edigw-stage"
H_PARTNER = "x-edigw-partner"
H_ORIGINAL_EXCHANGE = "x-edigw-original-exchange"
H_ORIGINAL_ROUTING_KEY = "x-edigw-original-routing-key"
H_ORIGINAL_QUEUE = "x-edigw-original-queue"
H_ATTEMPTS = "x-edigw-attempts"
H_FIRST_FAILURE = "x-edigw-first-failure"
H_PROBLEMS = "x-edigw-problems"


class PublishError(RuntimeError):
    """The broker did not take responsibility for a message (returned or nacked)."""


@dataclass(frozen=True, slots=True)
class DeadLetterReason:
    reason: str
    sentence: str
    stage: str
    partner: str
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Tls:
    """TLS towards the broker (``[broker.tls]``): CA bundle and optional client certificate."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    server_name: str = ""


def tls_from(raw: Mapping[str, Any]) -> Tls | None:
    """The ``[broker.tls]`` table of a raw configuration, or None when TLS is not configured.

    >>> tls_from({"broker": {"tls": {"ca_file": "/etc/ca.pem"}}}).ca_file
    '/etc/ca.pem'
    """
    table = raw.get("broker", {}).get("tls") or {}
    if not table or not any(table.get(k) for k in ("ca_file", "cert_file", "key_file")):
        return None
    return Tls(
        ca_file=str(table.get("ca_file", "")),
        cert_file=str(table.get("cert_file", "")),
        key_file=str(table.get("key_file", "")),
        server_name=str(table.get("server_name", "")),
    )


def ssl_context(tls: Tls | None) -> ssl.SSLContext | None:
    """A verifying client context (CA, client certificate) for amqps:// URLs."""
    if tls is None:
        return None
    context = ssl.create_default_context(cafile=tls.ca_file or None)
    if tls.cert_file:
        context.load_cert_chain(tls.cert_file, tls.key_file or None)
    return context


def connect(
    url: str,
    *,
    heartbeat: int = 30,
    attempts: int = 1,
    delay: float = 1.0,
    tls: Tls | None = None,
) -> pika.BlockingConnection:
    """A blocking connection, retried ``attempts`` times with growing delay."""
    params = pika.URLParameters(url)
    params.heartbeat = heartbeat
    params.blocked_connection_timeout = 300
    params.client_properties = {"connection_name": "edigw"}
    context = ssl_context(tls)
    if context is not None:
        params.ssl_options = pika.SSLOptions(context, tls.server_name or params.host)  # type: ignore[union-attr]
    last: Exception | None = None
    for i in range(attempts):
        try:
            return pika.BlockingConnection(params)
        except (AMQPConnectionError, AMQPConnectorException) as exc:
            # A handshake that times out (a busy or restarting broker) is not an
            # AMQPConnectionError in pika, but it is just as retryable.
            last = exc
            if i + 1 < attempts:
                time.sleep(min(delay * (2**i), 30))
    assert last is not None
    raise last


def confirmed_channel(connection: pika.BlockingConnection) -> BlockingChannel:
    channel = connection.channel()
    channel.confirm_delivery()
    return channel


def publish(
    channel: BlockingChannel,
    exchange: str,
    routing_key: str,
    body: bytes,
    *,
    message_id: str | None = None,
    correlation_id: str | None = None,
    content_type: str = "application/octet-stream",
    headers: Mapping[str, Any] | None = None,
    type: str | None = None,
    user_id: str | None = None,
) -> None:
    """Publish persistently with ``mandatory``; returns once the broker confirmed."""
    props = pika.BasicProperties(
        delivery_mode=PERSISTENT,
        message_id=message_id,
        correlation_id=correlation_id,
        content_type=content_type,
        headers=dict(headers or {}),
        type=type,
        user_id=user_id,
        timestamp=int(time.time()),
    )
    try:
        channel.basic_publish(exchange, routing_key, body, props, mandatory=True)
    except UnroutableError as exc:
        raise PublishError(f"no queue is bound to {exchange!r} with key {routing_key!r}") from exc
    except NackError as exc:
        raise PublishError(
            f"the broker refused the message for {exchange!r}/{routing_key!r}"
        ) from exc


def dead_letter_headers(
    old_headers: Mapping[str, Any] | None,
    source_queue: str,
    why: DeadLetterReason,
    *,
    original_exchange: str = "",
    original_routing_key: str = "",
    attempts: int | None = None,
) -> dict[str, Any]:
    """The headers every dead letter carries: reason, sentence, stage, partner, origin, attempts.

    >>> h = dead_letter_headers({}, "partner.apcs.in", DeadLetterReason("X", "why", "map", "apcs"))
    >>> h["x-edigw-reason"], h["x-edigw-attempts"]
    ('X', 1)
    """
    old = dict(old_headers or {})
    if attempts is None:
        attempts = int(old.get(H_ATTEMPTS, 0) or 0) + 1
    first = old.get(H_FIRST_FAILURE)
    if isinstance(first, bytes):
        first = first.decode("utf-8", "replace")
    return {
        **old,
        H_REASON: why.reason,
        H_SENTENCE: why.sentence,
        H_STAGE: why.stage,
        H_PARTNER: why.partner,
        # A message that came back from a retry queue keeps where it first came from.
        H_ORIGINAL_EXCHANGE: old.get(H_ORIGINAL_EXCHANGE) or original_exchange,
        H_ORIGINAL_ROUTING_KEY: old.get(H_ORIGINAL_ROUTING_KEY) or original_routing_key,
        H_ORIGINAL_QUEUE: source_queue,
        H_ATTEMPTS: attempts,
        H_FIRST_FAILURE: first or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        H_PROBLEMS: list(why.problems[:50]),
    }


def dead_letter(
    channel: BlockingChannel,
    names: Names,
    source_queue: str,
    body: bytes,
    properties: Any,
    why: DeadLetterReason,
    *,
    original_exchange: str = "",
    original_routing_key: str = "",
) -> None:
    """Put a copy of a message into the dead-letter queue of ``source_queue``, with the reason.

    The worker acknowledges the original only after this publish is confirmed.
    """
    headers = dead_letter_headers(
        getattr(properties, "headers", None),
        source_queue,
        why,
        original_exchange=original_exchange,
        original_routing_key=original_routing_key,
    )
    publish(
        channel,
        names.dead_letter_exchange,
        source_queue,
        body,
        message_id=getattr(properties, "message_id", None),
        correlation_id=getattr(properties, "correlation_id", None),
        content_type=getattr(properties, "content_type", None) or "application/octet-stream",
        headers=headers,
        type=getattr(properties, "type", None),
    )


def retry_delays(settings_raw: Mapping[str, Any]) -> tuple[int, ...]:
    """``broker.retry_delays_ms`` (the retry tiers), validated.

    >>> retry_delays({"broker": {"retry_delays_ms": [100, 2000]}})
    (100, 2000)
    """
    value = settings_raw.get("broker", {}).get("retry_delays_ms", list(DEFAULT_RETRY_DELAYS_MS))
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 10 <= v <= 86_400_000 for v in value
    ):
        raise ConfigError(
            "broker.retry_delays_ms", "must be a list of delays in milliseconds (10 .. 86400000)"
        )
    return tuple(value)
