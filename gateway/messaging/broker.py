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
from decimal import Decimal
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
from gateway.tls import Tls as Tls
from gateway.tls import check_tls as check_tls
from gateway.tls import reason_of as _reason
from gateway.tls import ssl_context as ssl_context
from gateway.tls import tls_from as tls_from

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
H_PARTNER_HEADERS_DROPPED = "x-edigw-partner-headers-dropped"

# Headers from partners (issue #14): every header the gateway or its operators' tools act on
# (the x-edigw-* family and the broker's dead-letter history) is, on a partner's own message,
# a forgery. It is kept, renamed under this prefix, as bounded text: data for people to read.
GATEWAY_HEADER_PREFIX = "x-edigw-"
QUARANTINE_PREFIX = "x-partner-header."
BROKER_DEATH_HEADERS = frozenset(
    {
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
        "x-last-death-exchange",
        "x-last-death-queue",
        "x-last-death-reason",
    }
)
QUARANTINE_MAX_HEADERS = 32
QUARANTINE_MAX_NAME = 64
QUARANTINE_MAX_VALUE = 256
# What a count header (attempts, replays, deliveries) may say; anything else is not a count.
MAX_HEADER_COUNT = 1_000_000


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


@dataclass(frozen=True, slots=True)
class DeadLetterReason:
    reason: str
    sentence: str
    stage: str
    partner: str
    problems: tuple[str, ...] = ()


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


def is_acted_on(name: str) -> bool:
    """Whether the gateway or an operator's tool reads header ``name`` (and so must have written it).

    >>> is_acted_on("X-EDIGW-Reason"), is_acted_on("x-death"), is_acted_on("filename")
    (True, True, False)
    """
    lowered = name.lower()
    return lowered.startswith(GATEWAY_HEADER_PREFIX) or lowered in BROKER_DEATH_HEADERS


def printable(value: Any, limit: int) -> str:
    """``value`` as one line of text for people: at most ``limit`` characters, control
    characters (terminal escapes, newlines) written as ``\\xNN``; never raises.

    >>> print(printable("a\\x1b[2J\\nb", 20), printable(b"ok", 5), printable("x" * 30, 10))
    a\\x1b[2J\\x0ab ok xxxxxxxxxx... (20 more characters)
    """
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        text = bytes(value[: limit * 4]).decode("utf-8", "replace")
        extra = max(len(value) - limit * 4, 0)
    elif isinstance(value, str):
        text, extra = value, 0
    else:
        try:
            text, extra = str(value), 0
        except Exception:  # a huge int over Python's digit limit, a broken __str__
            text, extra = f"<{type(value).__name__}>", 0
    more = len(text) - limit + extra
    text = text[:limit]
    escaped = "".join(
        c
        if c == "\t" or (c.isprintable() and not 0x80 <= ord(c) < 0xA0)
        else f"\\x{ord(c):02x}"
        if ord(c) < 0x100
        else f"\\u{ord(c):04x}"
        for c in text
    )
    return escaped + (f"... ({more} more characters)" if more > 0 else "")


def header_count(value: Any, default: int = 0) -> int:
    """A count from a header (attempts, replays, deliveries): a whole number from 0 to
    ``MAX_HEADER_COUNT``, else ``default``. Whatever a header holds, this never raises.

    >>> header_count(3), header_count("4"), header_count("abc"), header_count(-1)
    (3, 4, 0, 0)
    >>> header_count(2**80, default=1), header_count(1.5), header_count(None), header_count(True)
    (1, 0, 0, 0)
    """
    if isinstance(value, bool):
        return default
    if isinstance(value, bytes | bytearray):
        value = bytes(value[:16]).decode("ascii", "replace") if len(value) <= 16 else ""
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit() and len(value) <= 7):
            return default
        value = int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_HEADER_COUNT:
        return int(value)
    return default


def header_time(value: Any) -> str:
    """An ISO-8601 UTC time from a header the gateway wrote (text or datetime), or ''.

    >>> header_time("2026-01-01T00:00:00+00:00"), header_time("yesterday"), header_time(2**70)
    ('2026-01-01T00:00:00+00:00', '', '')
    """
    if isinstance(value, bytes):
        value = value[:64].decode("ascii", "replace")
    if isinstance(value, str) and len(value) <= 64:
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return ""
    if isinstance(value, dt.datetime):
        when = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        try:
            return when.astimezone(dt.UTC).isoformat(timespec="seconds")
        except (OverflowError, ValueError):
            return ""
    return ""


def quarantine(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    """A partner's headers as data: those the gateway acts on renamed and made bounded text.

    Every ``x-edigw-*`` header and the broker's dead-letter history (``x-death``, ...) of a
    message a partner published can only be forged; each is kept as
    ``x-partner-header.<name>`` (name cut to 64 characters, value to 256 characters of
    printable text), at most 32 of them, the number left out in
    ``x-edigw-partner-headers-dropped``. Other headers pass unchanged. Never raises.

    >>> quarantine({"x-edigw-original-exchange": "edigw.customs", "filename": "a.edi"})
    {'filename': 'a.edi', 'x-partner-header.x-edigw-original-exchange': 'edigw.customs'}
    """
    kept: dict[str, Any] = {}
    moved: dict[str, str] = {}
    dropped = 0
    for raw_name, value in dict(headers or {}).items():
        name = str(raw_name)
        if not is_acted_on(name) and not name.startswith(QUARANTINE_PREFIX):
            kept[name] = value
            continue
        if name.startswith(QUARANTINE_PREFIX):  # the partner's own "quarantined" header
            name = name[len(QUARANTINE_PREFIX) :]
        if len(moved) >= QUARANTINE_MAX_HEADERS:
            dropped += 1
            continue
        # ASCII with escapes, so that the new name stays within AMQP's 255-byte names.
        label = QUARANTINE_PREFIX + ascii(name)[1:-1][:QUARANTINE_MAX_NAME]
        moved[label] = printable(value, QUARANTINE_MAX_VALUE)
    out = {**kept, **moved}
    if dropped:
        out[H_PARTNER_HEADERS_DROPPED] = dropped
    return out


def from_gateway(
    user_id: str | None,
    exchange: str,
    headers: Mapping[str, Any],
    *,
    own_user: str | None,
    retry_exchange: str,
) -> bool:
    """Whether a consumed message was written by the gateway's side, not by a partner.

    Two kinds are: a message published under the gateway's own broker user (``user_id``,
    which RabbitMQ checks against the login: an operator's replay), and one coming back
    from a retry tier (dead-lettered by the tier's queue through the default exchange, which
    partner users may not write to). Everything else is a partner's.

    >>> from_gateway("edigw", "partner.apcs.in", {}, own_user="edigw", retry_exchange="edigw.retry")
    True
    >>> from_gateway(None, "partner.apcs.in", {}, own_user="edigw", retry_exchange="edigw.retry")
    False
    """
    if own_user and user_id == own_user:
        return True
    if exchange != "":
        return False
    deaths = headers.get("x-death")
    newest = deaths[0] if isinstance(deaths, list) and deaths else None
    if not isinstance(newest, Mapping):
        return False
    queue = printable(newest.get("queue"), 255)
    reason = printable(newest.get("reason"), 32)
    return queue.startswith(f"{retry_exchange}.") and reason == "expired"


def own_user(url: str) -> str:
    """The broker user the gateway logs in as (``user_id`` of its and its operators' publishes).

    >>> own_user("amqp://edigw:secret@mq/customs"), own_user("amqp://mq/")
    ('edigw', 'guest')
    """
    return str(pika.URLParameters(url).credentials.username)


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

    The origin (exchange and routing key) is what the caller consumed from, never a header:
    ``old_headers`` are the message's headers as the worker took them in (a partner's
    quarantined, see :func:`quarantine`); only the attempts and the first failure of an
    earlier round are carried on, read as a count and a time whatever they hold.

    >>> h = dead_letter_headers({}, "partner.apcs.in", DeadLetterReason("X", "why", "map", "apcs"))
    >>> h["x-edigw-reason"], h["x-edigw-attempts"]
    ('X', 1)
    """
    old = dict(old_headers or {})
    if attempts is None:
        attempts = header_count(old.get(H_ATTEMPTS)) + 1
    first = header_time(old.get(H_FIRST_FAILURE))
    return {
        **old,
        H_REASON: why.reason,
        H_SENTENCE: why.sentence,
        H_STAGE: why.stage,
        H_PARTNER: why.partner,
        H_ORIGINAL_EXCHANGE: original_exchange,
        H_ORIGINAL_ROUTING_KEY: original_routing_key,
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
