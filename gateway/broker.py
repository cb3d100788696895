"""A small layer over pika: connect, publish with confirms, dead-letter with reasons.

Every publish here is persistent, ``mandatory`` and confirmed, so a message the
broker cannot route or store raises instead of vanishing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPConnectionError, NackError, UnroutableError

from gateway.naming import Names

PERSISTENT = 2

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


def connect(
    url: str, *, heartbeat: int = 30, attempts: int = 1, delay: float = 1.0
) -> pika.BlockingConnection:
    """A blocking connection, retried ``attempts`` times with growing delay."""
    params = pika.URLParameters(url)
    params.heartbeat = heartbeat
    params.blocked_connection_timeout = 300
    params.client_properties = {"connection_name": "edigw"}
    last: Exception | None = None
    for i in range(attempts):
        try:
            return pika.BlockingConnection(params)
        except AMQPConnectionError as exc:
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
    old = dict(getattr(properties, "headers", None) or {})
    attempts = int(old.get(H_ATTEMPTS, 0)) + 1
    headers = {
        **old,
        H_REASON: why.reason,
        H_SENTENCE: why.sentence,
        H_STAGE: why.stage,
        H_PARTNER: why.partner,
        H_ORIGINAL_EXCHANGE: original_exchange,
        H_ORIGINAL_ROUTING_KEY: original_routing_key,
        H_ORIGINAL_QUEUE: source_queue,
        H_ATTEMPTS: attempts,
        H_FIRST_FAILURE: old.get(H_FIRST_FAILURE)
        or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        H_PROBLEMS: list(why.problems[:50]),
    }
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
