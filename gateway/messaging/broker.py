"""A small layer over pika: connect, publish with confirms, dead-letter with reasons.

Every publish here is persistent, ``mandatory`` and confirmed, so a message the
broker cannot route or store raises instead of vanishing.
"""

from __future__ import annotations

import datetime as dt
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.adapters.utils.connection_workflow import AMQPConnectorException
from pika.exceptions import (
    AMQPConnectionError,
    NackError,
    ProbableAccessDeniedError,
    ProbableAuthenticationError,
    UnroutableError,
)

from gateway.messaging.naming import Names
from gateway.service.letters import BROKER_DEATH_HEADERS as BROKER_DEATH_HEADERS
from gateway.service.letters import GATEWAY_HEADER_PREFIX as GATEWAY_HEADER_PREFIX
from gateway.service.letters import H_ATTEMPTS as H_ATTEMPTS
from gateway.service.letters import H_FIRST_FAILURE as H_FIRST_FAILURE
from gateway.service.letters import H_ORIGINAL_EXCHANGE as H_ORIGINAL_EXCHANGE
from gateway.service.letters import H_ORIGINAL_QUEUE as H_ORIGINAL_QUEUE
from gateway.service.letters import H_ORIGINAL_ROUTING_KEY as H_ORIGINAL_ROUTING_KEY
from gateway.service.letters import H_PARTNER as H_PARTNER
from gateway.service.letters import H_PARTNER_HEADERS_DROPPED as H_PARTNER_HEADERS_DROPPED
from gateway.service.letters import H_PROBLEMS as H_PROBLEMS
from gateway.service.letters import H_REASON as H_REASON
from gateway.service.letters import H_SENTENCE as H_SENTENCE
from gateway.service.letters import H_STAGE as H_STAGE
from gateway.service.letters import MAX_HEADER_COUNT as MAX_HEADER_COUNT
from gateway.service.letters import QUARANTINE_MAX_HEADERS as QUARANTINE_MAX_HEADERS
from gateway.service.letters import QUARANTINE_MAX_NAME as QUARANTINE_MAX_NAME
from gateway.service.letters import QUARANTINE_MAX_VALUE as QUARANTINE_MAX_VALUE
from gateway.service.letters import QUARANTINE_PREFIX as QUARANTINE_PREFIX
from gateway.service.letters import DeadLetterReason as DeadLetterReason
from gateway.service.letters import dead_letter_headers as dead_letter_headers
from gateway.service.letters import from_gateway as from_gateway
from gateway.service.letters import header_count as header_count
from gateway.service.letters import header_time as header_time
from gateway.service.letters import is_acted_on as is_acted_on
from gateway.service.letters import printable as printable
from gateway.service.letters import quarantine as quarantine
from gateway.tls import Tls as Tls
from gateway.tls import check_tls as check_tls
from gateway.tls import reason_of as _reason
from gateway.tls import ssl_context as ssl_context
from gateway.tls import tls_from as tls_from

if TYPE_CHECKING:
    from aio_pika.abc import AbstractConnection

PERSISTENT = 2


def _lenient_timestamps() -> None:
    """Let pika and pamqp decode a timestamp out of the platform's range as its number.

    Both raise on one (a header of type ``T`` set to 2**64-1, say) while decoding the frame,
    which drops the connection: a partner's header would then knock the worker off the
    broker at every delivery, and the operators' tools at every listing of the DLQ.
    """
    import struct

    import pamqp.decode
    import pika.data

    pika_decode_value = pika.data.decode_value

    def pika_value(encoded: bytes, offset: int) -> tuple[Any, int]:
        if encoded[offset : offset + 1] == b"T":
            (seconds,) = struct.unpack_from(">Q", encoded, offset + 1)
            try:
                return dt.datetime.fromtimestamp(seconds, dt.UTC), offset + 9
            except (OverflowError, ValueError, OSError):
                return seconds, offset + 9
        decoded: tuple[Any, int] = pika_decode_value(encoded, offset)
        return decoded

    pamqp_timestamp = pamqp.decode.timestamp

    def pamqp_value(value: bytes) -> tuple[int, Any]:
        try:
            return pamqp_timestamp(value)
        except (OverflowError, ValueError, OSError):
            return 8, struct.unpack(">Q", value[:8])[0] if len(value) >= 8 else 0

    if getattr(pika.data.decode_value, "__name__", "") != "pika_value":
        pika.data.decode_value = pika_value
    pamqp.decode.TABLE_MAPPING[b"T"] = pamqp_value
    pamqp.decode.METHODS["timestamp"] = pamqp_value


_lenient_timestamps()


class PublishError(RuntimeError):
    """The broker did not take responsibility for a message (returned or nacked)."""


class BrokerUnreachable(AMQPConnectionError):  # type: ignore[misc]  # pika has no types
    """No AMQP connection could be opened; ``str()`` is a sentence for the operator."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "the broker could not be reached"

    def __repr__(self) -> str:
        # Callers log and print errors with !r; for this one the sentence is the point.
        return str(self)


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc``, its causes and contexts, and the exceptions a pika workflow failure collected."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        item = todo.pop()
        if item in seen:
            continue
        seen.append(item)
        # pika keeps the cause of a failed connection phase in ``.exception``.
        linked = (item.__cause__, item.__context__, getattr(item, "exception", None))
        todo.extend(e for e in linked if isinstance(e, BaseException))
        todo.extend(e for e in getattr(item, "exceptions", ()) if isinstance(e, BaseException))
        todo.extend(e for e in getattr(item, "args", ()) if isinstance(e, BaseException))
    return seen


def connection_failure(where: str, exc: BaseException, *, client_cert: bool = False) -> str:
    """A sentence saying why no connection to ``where`` (host:port) could be opened.

    pika reports a TLS refusal by the broker as a lost stream inside a protocol
    error, and an untrusted broker certificate as a bare ssl error; this names both.
    Under TLS 1.3 the broker refuses a client certificate after the client thinks the
    handshake is over: its alert may be lost, leaving an EOF, read by ``client_cert``.

    >>> connection_failure("mq:5671", ConnectionRefusedError(111, "Connection refused"))
    'cannot connect to the broker at mq:5671: Connection refused'
    """
    causes = _causes(exc)
    text = " ".join(repr(c) for c in causes)
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (
                f"the TLS handshake with the broker at {where} failed: its certificate is not "
                f"trusted ({_reason(cause)}); check broker.tls.ca_file and server_name"
            )
    tls_cut = any(isinstance(c, ssl.SSLEOFError) for c in causes) or "SSLEOFError" in text
    if "CERTIFICATE_REQUIRED" in text or (tls_cut and not client_cert):
        return (
            f"the broker at {where} refused the TLS connection: it requires a client "
            "certificate (broker.tls.cert_file and key_file)"
        )
    alerts = ("UNKNOWN_CA", "BAD_CERTIFICATE", "CERTIFICATE_UNKNOWN", "CERTIFICATE_EXPIRED")
    alert = next((a for a in alerts if a in text), "")
    if alert or tls_cut:
        reason = alert.replace("_", " ").lower() if alert else "it closed the TLS connection"
        return (
            f"the broker at {where} refused our client certificate ({reason}); "
            "check broker.tls.cert_file against the broker's CA"
        )
    if any(isinstance(c, ProbableAuthenticationError | ProbableAccessDeniedError) for c in causes):
        return f"the broker at {where} refused the login: check the user, password and vhost"
    for cause in causes:
        if isinstance(cause, ssl.SSLError):
            return f"the TLS handshake with the broker at {where} failed: {_reason(cause)}"
    for cause in causes:
        if isinstance(cause, OSError):
            return f"cannot connect to the broker at {where}: {_reason(cause)}"
    return f"cannot connect to the broker at {where}: {exc!r}"


def node_urls(url: str, hosts: Sequence[str] = ()) -> tuple[str, ...]:
    """``url``, then the same URL on each other node of its cluster (``broker.hosts``), in order.

    The nodes share ``url``'s user, password and virtual host; a host already named is left out.

    >>> node_urls("amqp://u:p@a:5681/v", ["b:5682", "a:5681", "c"])
    ('amqp://u:p@a:5681/v', 'amqp://u:p@b:5682/v', 'amqp://u:p@c/v')
    """
    parts = urlsplit(url)
    login, _, own = parts.netloc.rpartition("@")
    urls, seen = [url], {own.lower()}
    for host in hosts:
        if host.lower() in seen:
            continue
        seen.add(host.lower())
        urls.append(urlunsplit(parts._replace(netloc=f"{login}@{host}" if login else host)))
    return tuple(urls)


def connection_parameters(
    url: str, *, hosts: Sequence[str] = (), heartbeat: int = 30, tls: Tls | None = None
) -> list[pika.URLParameters]:
    """One pika parameter set per node, in the order a connection tries them.

    pika's ``BlockingConnection`` takes the list and moves to the next node when one cannot
    be reached; each node's TLS server name is its own host unless ``tls.server_name`` is set.
    """
    out = []
    for node in node_urls(url, hosts):
        params = pika.URLParameters(node)
        params.heartbeat = heartbeat
        params.blocked_connection_timeout = 300
        params.client_properties = {"connection_name": "edigw"}
        context = ssl_context(tls) if params.ssl_options is not None else None
        if context is not None:
            server_name = (tls.server_name if tls else "") or params.host
            params.ssl_options = pika.SSLOptions(context, server_name)
        out.append(params)
    return out


def connect(
    url: str,
    *,
    heartbeat: int = 30,
    attempts: int = 1,
    delay: float = 1.0,
    tls: Tls | None = None,
    hosts: Sequence[str] = (),
) -> pika.BlockingConnection:
    """A blocking connection to the first node that answers, retried ``attempts`` times with
    growing delay.

    ``hosts``: the cluster's other nodes, tried after ``url``'s (:func:`node_urls`). ``tls``
    applies to ``amqps://`` URLs. Failing that, raises BrokerUnreachable with a sentence (TLS
    refusals and an untrusted certificate included).
    """
    nodes = connection_parameters(url, hosts=hosts, heartbeat=heartbeat, tls=tls)
    last: Exception | None = None
    for i in range(attempts):
        try:
            return pika.BlockingConnection(nodes if len(nodes) > 1 else nodes[0])
        except (AMQPConnectionError, AMQPConnectorException, OSError) as exc:
            # A handshake that times out (a busy or restarting broker) is not an
            # AMQPConnectionError in pika, but it is just as retryable; a certificate
            # the client does not trust comes out of pika as a bare ssl.SSLError.
            last = exc
            if i + 1 < attempts:
                time.sleep(min(delay * (2**i), 30))
    assert last is not None
    where = ", ".join(f"{p.host}:{p.port}" for p in nodes)
    if len(nodes) > 1:
        where = f"any of {where}"
    has_cert = bool(tls and tls.cert_file)
    raise BrokerUnreachable(connection_failure(where, last, client_cert=has_cert)) from last


@dataclass(frozen=True, slots=True)
class Connector:
    """How this gateway reaches its broker: ``broker.url`` and ``[broker.tls]``.

    Built once by the composition root (``gateway.bootstrap``); whatever talks to the broker
    opens its connections through the one it is given (the worker reconnects with it, the
    operators' tools and the console open one per use), and a test can hand in another.

    >>> Connector("amqp://edigw:secret@mq/customs").user
    'edigw'
    """

    url: str
    tls: Tls | None = None
    # The cluster's other nodes, "host:port" (``broker.hosts``): tried after url's node.
    hosts: tuple[str, ...] = ()

    @property
    def user(self) -> str:
        """The broker user the gateway logs in as."""
        return own_user(self.url)

    @property
    def nodes(self) -> tuple[str, ...]:
        """The URL of every node, in the order a connection tries them."""
        return node_urls(self.url, self.hosts)

    def blocking(
        self, *, url: str | None = None, heartbeat: int = 30, attempts: int = 1
    ) -> pika.BlockingConnection:
        """A blocking (pika) connection to the first node that answers, retried ``attempts``
        times; ``url``: another login on the same broker (a partner's own credentials for
        ``edigw submit``), with this TLS and these nodes."""
        return connect(
            url or self.url, heartbeat=heartbeat, attempts=attempts, tls=self.tls, hosts=self.hosts
        )

    async def asynchronous(
        self, *, heartbeat: int, name: str, timeout: float
    ) -> AbstractConnection:
        """The asyncio (aio-pika) connection of ``edigw run``, named ``name`` on the broker: to
        the first node that answers within ``timeout``, in the order of :attr:`nodes`.

        aio-pika takes one URL; going down the list is how ``edigw run`` fails over to another
        node of the cluster when its own is lost (its reconnect calls this again).
        """
        # aio-pika takes a fifth of a second to import: only `edigw run` pays for it.
        import aio_pika

        from gateway.logs import get_logger

        failure: Exception | None = None
        for number, node in enumerate(self.nodes, 1):
            try:
                connection = await aio_pika.connect(
                    node,
                    heartbeat=heartbeat,
                    client_properties={"connection_name": name},
                    ssl_context=ssl_context(self.tls),
                    timeout=timeout,
                )
            except Exception as exc:  # refused, timed out, closed in the handshake: next node
                failure = exc
                continue
            if len(self.nodes) > 1:
                # Which node of the cluster this instance is on: what a failover changes.
                where = urlsplit(node).netloc.rpartition("@")[2]
                get_logger().info("broker node", node=where, number=number, of=len(self.nodes))
            return connection
        assert failure is not None
        raise failure


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


def own_user(url: str) -> str:
    """The broker user the gateway logs in as (``user_id`` of its and its operators' publishes).

    >>> own_user("amqp://edigw:secret@mq/customs"), own_user("amqp://mq/")
    ('edigw', 'guest')
    """
    return str(pika.URLParameters(url).credentials.username)


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
