"""The gateway's dead-letter vocabulary: the headers it writes, and how it reads headers.

Every dead letter carries the reason, the sentence, the stage, the partner, its origin and
its attempts (``x-edigw-*``, a contract with the operators' tools, issue #7). A partner's own
headers are data, never instructions (issue #14): the ones the gateway acts on are
quarantined on arrival, and counts and times are read so that no value can make them raise.

Pure functions over header mappings: the decision service writes dead letters with them and
the broker layer (``gateway.messaging.broker``) re-exports them for its callers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# Dead-letter headers: a contract with operators' tools (edigw dlq, issue #7).
H_REASON = "x-edigw-reason"
H_SENTENCE = "x-edigw-sentence"
H_BUSINESS_REFERENCE = "x-edigw-business-reference"
H_STAGE = "x-edigw-stage"
H_PARTNER = "x-edigw-partner"
H_ORIGINAL_EXCHANGE = "x-edigw-original-exchange"
H_ORIGINAL_ROUTING_KEY = "x-edigw-original-routing-key"
H_ORIGINAL_QUEUE = "x-edigw-original-queue"
H_ATTEMPTS = "x-edigw-attempts"
H_FIRST_FAILURE = "x-edigw-first-failure"
H_PROBLEMS = "x-edigw-problems"
H_PARTNER_HEADERS_DROPPED = "x-edigw-partner-headers-dropped"
# "true" when the refused message may be accepted later, once what it needs has arrived (a
# travellers' border exit before its entry, issue #18): an operator replays it then.
H_REPLAYABLE = "x-edigw-replayable"
# Set by the operators' replay (``gateway.interfaces.operators.store``): the message id of the
# message first replayed. The journal files a replay under it: one story (issue #19).
H_REPLAY_OF = "x-edigw-replay-of"


def replay_of(headers: dict[str, Any]) -> str | None:
    """The message a replay is of, from headers the gateway may trust (a partner's own
    ``x-edigw-*`` headers are quarantined on arrival); None for any other message."""
    value = headers.get(H_REPLAY_OF)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value[:200] if isinstance(value, str) and value else None


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


@dataclass(frozen=True, slots=True)
class DeadLetterReason:
    reason: str
    sentence: str
    stage: str
    partner: str
    problems: tuple[str, ...] = ()
    business_reference: str = ""  # what the message is about, when the gateway read it (#19)


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
        **({H_BUSINESS_REFERENCE: why.business_reference[:70]} if why.business_reference else {}),
    }
