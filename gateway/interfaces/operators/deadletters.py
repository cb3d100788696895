"""Dead letters as operators see them: built from AMQP properties and headers, no broker here.

A dead letter comes from one of two places:

* the gateway rejected the message and published a copy to the dead-letter exchange
  with ``x-edigw-*`` headers (see :mod:`gateway.messaging.broker`);
* RabbitMQ dead-lettered it itself (a poison message that reached the quorum queue's
  delivery limit): then only ``x-death`` tells where it came from, and the reason is
  ``DELIVERY_LIMIT``.

>>> dl = DeadLetter.from_amqp(
...     "partner.apcs.in.dlq",
...     {"message_id": "m1", "timestamp": 1767225600, "headers": {
...         "x-edigw-reason": "EDIFACT_SYNTAX", "x-edigw-sentence": "bad UNB",
...         "x-edigw-stage": "decode", "x-edigw-partner": "apcs",
...         "x-edigw-original-exchange": "partner.apcs.in",
...         "x-edigw-original-routing-key": "", "x-edigw-attempts": 1,
...         "x-edigw-first-failure": "2026-01-01T00:00:00+00:00"}},
...     b"UNA:+.? 'UNB+UNOC:3+X+Y+260101:0000+1'",
... )
>>> dl.reason, dl.group_key, dl.original_exchange, dl.attempts
('EDIFACT_SYNTAX', 'EDIFACT_SYNTAX/decode', 'partner.apcs.in', 1)
>>> Selector(reason="EDIFACT_SYNTAX").matches(dl), Selector(partner="other").matches(dl)
(True, False)
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gateway.messaging.broker import (
    H_ATTEMPTS,
    H_FIRST_FAILURE,
    H_ORIGINAL_EXCHANGE,
    H_ORIGINAL_QUEUE,
    H_ORIGINAL_ROUTING_KEY,
    H_PARTNER,
    H_PROBLEMS,
    H_REASON,
    H_SENTENCE,
    H_STAGE,
)

DELIVERY_LIMIT = "DELIVERY_LIMIT"
# Headers that describe one failure; a replayed message must not carry them, or a second
# failure would look like the first one (attempts and first failure are kept on purpose).
FAILURE_HEADERS = frozenset(
    {
        H_REASON,
        H_SENTENCE,
        H_STAGE,
        H_PARTNER,
        H_PROBLEMS,
        H_ORIGINAL_EXCHANGE,
        H_ORIGINAL_ROUTING_KEY,
        H_ORIGINAL_QUEUE,
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
        "x-last-death-exchange",
        "x-last-death-queue",
        "x-last-death-reason",
        "x-delivery-count",
        "x-acquired-count",
    }
)
_BROKER_REASONS = {
    "delivery_limit": DELIVERY_LIMIT,
    "rejected": DELIVERY_LIMIT,  # a quorum queue over its delivery limit, on older brokers
    "expired": "EXPIRED",
    "maxlen": "MAXLEN",
}
_UNH_TYPE = re.compile(rb"UNH\+[^+']*\+([A-Z0-9]{1,6})")
_BGM_REF = re.compile(rb"BGM\+[^+']*\+([^+:']{1,70})")
_PARTNER_QUEUE = re.compile(r"partner\.([a-z][a-z0-9_-]{0,31})\.in$")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return f"{value}"


def _iso(value: Any) -> str:
    """An ISO-8601 UTC timestamp from whatever the broker gave (datetime, epoch, text)."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        when: dt.datetime = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return when.astimezone(dt.UTC).isoformat(timespec="seconds")
    if isinstance(value, int | float | Decimal):
        return dt.datetime.fromtimestamp(float(value), dt.UTC).isoformat(timespec="seconds")
    text = _text(value)
    try:
        return _iso(dt.datetime.fromisoformat(text))
    except ValueError:
        return text


def jsonable(value: Any) -> Any:
    """Header values (datetimes, bytes, decimals, nested tables) as JSON-friendly values."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return _iso(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Decimal):
        return float(value)
    return value


def parse_since(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """``--since``: an ISO date/time, or a duration back from now (``30m``, ``2h``, ``7d``).

    >>> now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    >>> parse_since("2h", now).isoformat()
    '2026-01-01T22:00:00+00:00'
    >>> parse_since("2026-01-01", now).isoformat()
    '2026-01-01T00:00:00+00:00'
    """
    now = now or dt.datetime.now(dt.UTC)
    m = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text)
    if m:
        seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
        return now - dt.timedelta(seconds=int(m.group(1)) * seconds)
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--since wants an ISO date/time or a duration like 30m, 2h, 7d; not {text!r}"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@dataclass(slots=True)
class DeadLetter:
    """One message in a dead-letter queue, with everything an operator needs to decide."""

    id: str
    queue: str
    body: bytes
    message_id: str
    correlation_id: str
    content_type: str
    amqp_type: str
    headers: dict[str, Any]
    deaths: list[dict[str, Any]]
    reason: str
    sentence: str
    stage: str
    partner: str
    first_failure: str
    last_failure: str
    attempts: int
    original_exchange: str
    original_routing_key: str
    original_queue: str
    problems: list[str] = field(default_factory=list)
    _decoded: tuple[str, str] | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_amqp(cls, queue: str, properties: Mapping[str, Any], body: bytes) -> DeadLetter:
        """Build from the DLQ's name, the message properties (as a mapping) and the body."""
        headers = dict(properties.get("headers") or {})
        deaths = [dict(d) for d in headers.get("x-death") or [] if isinstance(d, Mapping)]
        # x-death is newest first; the first entry is where it last died.
        last_death = deaths[0] if deaths else {}
        death_count = sum(int(d.get("count", 1)) for d in deaths)
        reason = _text(headers.get(H_REASON))
        if reason:
            sentence = _text(headers.get(H_SENTENCE))
            stage = _text(headers.get(H_STAGE))
            exchange = _text(headers.get(H_ORIGINAL_EXCHANGE))
            routing_key = _text(headers.get(H_ORIGINAL_ROUTING_KEY))
            original_queue = _text(headers.get(H_ORIGINAL_QUEUE))
            attempts = int(headers.get(H_ATTEMPTS) or 1)
        else:
            broker_reason = _text(last_death.get("reason")) or "unknown"
            reason = _BROKER_REASONS.get(broker_reason, broker_reason.upper())
            original_queue = _text(last_death.get("queue"))
            exchange = _text(last_death.get("exchange"))
            keys = last_death.get("routing-keys") or [""]
            routing_key = _text(keys[0])
            stage = "broker"
            delivery_count = headers.get("x-delivery-count")
            sentence = (
                f"RabbitMQ dead-lettered it from {original_queue or 'its queue'} "
                f"({broker_reason}"
                + (f", after {delivery_count} redeliveries" if delivery_count else "")
                + "): the gateway failed on it repeatedly without rejecting it"
            )
            attempts = max(death_count, int(headers.get(H_ATTEMPTS) or 0), 1)
        partner = _text(headers.get(H_PARTNER))
        if not partner:
            m = _PARTNER_QUEUE.search(original_queue or queue.removesuffix(".dlq"))
            partner = m.group(1) if m else ""
        death_times = [_iso(d.get("time")) for d in deaths if d.get("time")]
        stamp = _iso(properties.get("timestamp"))
        last_failure = max([t for t in [*death_times, stamp] if t], default="")
        first_failure = _iso(headers.get(H_FIRST_FAILURE)) or min(
            [t for t in [*death_times, stamp] if t], default=""
        )
        message_id = _text(properties.get("message_id"))
        digest = hashlib.sha256(
            b"\0".join([message_id.encode(), first_failure.encode(), reason.encode(), body])
        ).hexdigest()
        problems = [_text(p) for p in headers.get(H_PROBLEMS) or []]
        return cls(
            id=digest[:12],
            queue=queue,
            body=body,
            message_id=message_id,
            correlation_id=_text(properties.get("correlation_id")),
            content_type=_text(properties.get("content_type")),
            amqp_type=_text(properties.get("type")),
            headers=headers,
            deaths=deaths,
            reason=reason,
            sentence=sentence,
            stage=stage,
            partner=partner,
            first_failure=first_failure,
            last_failure=last_failure or first_failure,
            attempts=attempts,
            original_exchange=exchange,
            original_routing_key=routing_key,
            original_queue=original_queue or queue.removesuffix(".dlq"),
            problems=problems,
        )

    # ------------------------------------------------------------------ derived
    @property
    def group_key(self) -> str:
        """``REASON/stage``: what ``edigw dlq groups`` counts and ``--group`` selects."""
        return f"{self.reason}/{self.stage}"

    @property
    def has_route(self) -> bool:
        """Whether we know where to send it back (the default exchange counts for a queue)."""
        return bool(self.original_exchange or self.original_routing_key)

    def _decode(self) -> tuple[str, str]:
        """Message type and business reference, read from the body (cached)."""
        if self._decoded is None:
            self._decoded = (self._sniff_type(), self._sniff_reference())
        return self._decoded

    def _sniff_type(self) -> str:
        found = dict.fromkeys(m.decode("ascii") for m in _UNH_TYPE.findall(self.body))
        if found:
            return ",".join(found)
        if self.amqp_type:
            return self.amqp_type
        return "xml" if self.body.lstrip()[:1] == b"<" else "unknown"

    def _sniff_reference(self) -> str:
        ref = _text(self.headers.get("x-edigw-business-reference"))
        if ref:
            return ref
        m = _BGM_REF.search(self.body)
        return m.group(1).decode("latin-1") if m else ""

    @property
    def type(self) -> str:
        return self._decode()[0]

    @property
    def business_reference(self) -> str:
        return self._decode()[1]

    def replay_headers(self) -> dict[str, Any]:
        """The headers to send it back with: the failure's own headers removed."""
        return {k: v for k, v in self.headers.items() if k not in FAILURE_HEADERS}

    def summary(self) -> dict[str, Any]:
        """The ``edigw dlq list --json`` object."""
        return {
            "id": self.id,
            "message_id": self.message_id,
            "queue": self.queue,
            "reason": self.reason,
            "sentence": self.sentence,
            "stage": self.stage,
            "partner": self.partner,
            "type": self.type,
            "business_reference": self.business_reference,
            "first_failure": self.first_failure,
            "last_failure": self.last_failure,
            "attempts": self.attempts,
        }

    def to_json(self) -> dict[str, Any]:
        """Everything, body included (base64): the ``export`` line, enough to re-publish."""
        return {
            **self.summary(),
            "correlation_id": self.correlation_id,
            "content_type": self.content_type,
            "amqp_type": self.amqp_type,
            "original_exchange": self.original_exchange,
            "original_routing_key": self.original_routing_key,
            "original_queue": self.original_queue,
            "problems": self.problems,
            "headers": jsonable(self.headers),
            "x_death": jsonable(self.deaths),
            "body_base64": base64.b64encode(self.body).decode("ascii"),
        }

    def contains(self, text: str) -> bool:
        """Search: ``text`` in the body, a header, the reason or the message ids, any case."""
        needle = text.casefold()
        haystacks = [
            self.body_text(),
            json.dumps(jsonable(self.headers), ensure_ascii=False),
            self.sentence,
            self.business_reference,
            self.message_id,
            self.correlation_id,
        ]
        return any(needle in h.casefold() for h in haystacks)

    def body_text(self) -> str:
        """The body as text for people and editors (latin-1 keeps every byte round-trippable)."""
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError:
            return self.body.decode("latin-1")


def encode_text(text: str, like: bytes) -> bytes:
    """Inverse of :meth:`DeadLetter.body_text` for an edited text: same encoding as ``like``."""
    try:
        like.decode("utf-8")
    except UnicodeDecodeError:
        return text.encode("latin-1")
    return text.encode("utf-8")


@dataclass(frozen=True, slots=True)
class Selector:
    """Which dead letters an operator means: the filters of list/replay/purge/export.

    Every given criterion must hold (AND); none given selects all.
    """

    ids: tuple[str, ...] = ()
    reason: str | None = None
    partner: str | None = None
    type: str | None = None
    group: str | None = None
    since: dt.datetime | None = None
    text: str | None = None  # case-insensitive, in the body, the headers or the reason

    def matches(self, dl: DeadLetter) -> bool:
        if self.ids and not any(dl.id == i or (i and dl.message_id == i) for i in self.ids):
            return False
        if self.reason and dl.reason != self.reason:
            return False
        if self.partner and dl.partner != self.partner:
            return False
        if self.type and self.type not in dl.type.split(","):
            return False
        if self.group and self.group not in (dl.group_key, dl.reason):
            return False
        if self.since is not None:
            when = _parse_iso(dl.last_failure)
            if when is None or when < self.since:
                return False
        return not self.text or dl.contains(self.text)

    @property
    def is_everything(self) -> bool:
        return not (
            self.ids
            or self.reason
            or self.partner
            or self.type
            or self.group
            or self.since
            or self.text
        )


def _parse_iso(text: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@dataclass(slots=True)
class Group:
    """Dead letters that failed for the same reason at the same stage."""

    key: str
    reason: str
    stage: str
    count: int = 0
    oldest: str = ""
    newest: str = ""
    partners: set[str] = field(default_factory=set)
    sentence: str = ""  # one example, so the operator sees what it is about

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.key,
            "reason": self.reason,
            "stage": self.stage,
            "count": self.count,
            "oldest": self.oldest,
            "newest": self.newest,
            "partners": sorted(self.partners),
            "example": self.sentence,
        }


def group_dead_letters(letters: Iterable[DeadLetter]) -> list[Group]:
    """Count by reason and stage, largest group first.

    >>> a = DeadLetter.from_amqp("q.dlq", {"headers": {"x-edigw-reason": "R", "x-edigw-stage": "s",
    ...     "x-edigw-first-failure": "2026-01-01T00:00:00+00:00"}}, b"x")
    >>> [(g.key, g.count, g.oldest) for g in group_dead_letters([a, a])]
    [('R/s', 2, '2026-01-01T00:00:00+00:00')]
    """
    groups: dict[str, Group] = {}
    for dl in letters:
        g = groups.get(dl.group_key)
        if g is None:
            g = groups[dl.group_key] = Group(
                dl.group_key, dl.reason, dl.stage, sentence=dl.sentence
            )
        g.count += 1
        first, last = dl.first_failure or dl.last_failure, dl.last_failure or dl.first_failure
        g.oldest = min(x for x in (g.oldest, first) if x) if (g.oldest or first) else ""
        g.newest = max(g.newest, last)
        if dl.partner:
            g.partners.add(dl.partner)
    return sorted(groups.values(), key=lambda g: (-g.count, g.key))


def filter_letters(letters: Sequence[DeadLetter], selector: Selector) -> list[DeadLetter]:
    return [dl for dl in letters if selector.matches(dl)]
