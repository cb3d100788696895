"""A small layer over pika: connect, publish with confirms, dead-letter with reasons.

Every publish here is persistent, ``mandatory`` and confirmed, so a message the
broker cannot route or store raises instead of vanishing.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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

from gateway.config import ConfigError
from gateway.messaging.naming import Names

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
    """TLS towards the broker (``[broker.tls]``): CA bundle and optional client certificate.

    ``server_name`` is the name the broker's certificate must carry when it is not the
    URL's host (a broker reached by IP address or through a tunnel).
    """

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    server_name: str = ""


class BrokerUnreachable(AMQPConnectionError):  # type: ignore[misc]  # pika has no types
    """No AMQP connection could be opened; ``str()`` is a sentence for the operator."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "the broker could not be reached"

    def __repr__(self) -> str:
        # Callers log and print errors with !r; for this one the sentence is the point.
        return str(self)


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


def check_tls(raw: Mapping[str, Any]) -> None:
    """Refuse at start a ``[broker.tls]`` that cannot work, naming the key and the reason.

    TLS settings with a plain ``amqp://`` URL would be silently unused (pika and aio-pika
    follow the URL's scheme), so that is refused too.

    >>> check_tls({"broker": {"url": "amqp://h/", "tls": {"ca_file": "/etc/ca.pem"}}})
    Traceback (most recent call last):
    gateway.config.ConfigError: broker.tls: is set, so broker.url must be an amqps:// URL
    """
    tls = tls_from(raw)
    if tls is None:
        return
    if not str(raw.get("broker", {}).get("url", "")).startswith("amqps://"):
        raise ConfigError("broker.tls", "is set, so broker.url must be an amqps:// URL")
    ssl_context(tls)


class _NamedContext(ssl.SSLContext):
    """A client context that checks the broker's certificate against ``server_name``.

    aio-pika cannot be given a server hostname, so the name is pinned in the context
    itself, which both pika and asyncio wrap their sockets with.
    """

    server_name: str = ""

    def wrap_socket(
        self,
        sock: socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLSocket:
        return super().wrap_socket(
            sock,
            server_side,
            do_handshake_on_connect,
            suppress_ragged_eofs,
            self.server_name or server_hostname,
            session,
        )

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        return super().wrap_bio(
            incoming, outgoing, server_side, self.server_name or server_hostname, session
        )


def ssl_context(tls: Tls | None) -> ssl.SSLContext | None:
    """A verifying client context (CA, client certificate) for amqps:// URLs.

    A file that is missing or cannot be loaded is a ConfigError naming its key.
    """
    if tls is None:
        return None
    # What ssl.create_default_context() builds: TLS client, CERT_REQUIRED, hostname check.
    context = _NamedContext(ssl.PROTOCOL_TLS_CLIENT)
    context.server_name = tls.server_name
    try:
        if tls.ca_file:
            context.load_verify_locations(cafile=tls.ca_file)
        else:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            "broker.tls.ca_file", f"cannot load {tls.ca_file}: {_reason(exc)}"
        ) from None
    if tls.key_file and not tls.cert_file:
        raise ConfigError("broker.tls.cert_file", "is needed when key_file is set")
    if tls.cert_file:
        try:
            context.load_cert_chain(tls.cert_file, tls.key_file or None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                "broker.tls.cert_file",
                f"cannot load {tls.cert_file} with key {tls.key_file or '(in the same file)'}: "
                f"{_reason(exc)}",
            ) from None
    return context


def _reason(exc: BaseException) -> str:
    """The readable part of an OSError or ssl.SSLError (without the C source location)."""
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return str(exc.verify_message)
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).replace("_", " ").lower()
    if isinstance(exc, OSError) and exc.strerror:
        return str(exc.strerror)
    return str(exc) or type(exc).__name__


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


def connect(
    url: str,
    *,
    heartbeat: int = 30,
    attempts: int = 1,
    delay: float = 1.0,
    tls: Tls | None = None,
) -> pika.BlockingConnection:
    """A blocking connection, retried ``attempts`` times with growing delay.

    ``tls`` applies to ``amqps://`` URLs. Failing that, raises BrokerUnreachable
    with a sentence (TLS refusals and an untrusted certificate included).
    """
    params = pika.URLParameters(url)
    params.heartbeat = heartbeat
    params.blocked_connection_timeout = 300
    params.client_properties = {"connection_name": "edigw"}
    context = ssl_context(tls) if params.ssl_options is not None else None
    if context is not None:
        params.ssl_options = pika.SSLOptions(context, tls.server_name or params.host)  # type: ignore[union-attr]
    last: Exception | None = None
    for i in range(attempts):
        try:
            return pika.BlockingConnection(params)
        except (AMQPConnectionError, AMQPConnectorException, OSError) as exc:
            # A handshake that times out (a busy or restarting broker) is not an
            # AMQPConnectionError in pika, but it is just as retryable; a certificate
            # the client does not trust comes out of pika as a bare ssl.SSLError.
            last = exc
            if i + 1 < attempts:
                time.sleep(min(delay * (2**i), 30))
    assert last is not None
    where = f"{params.host}:{params.port}"
    has_cert = bool(tls and tls.cert_file)
    raise BrokerUnreachable(connection_failure(where, last, client_cert=has_cert)) from last


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
