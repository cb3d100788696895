"""Dead letters as operators see them: built from AMQP properties and headers, no broker here.

A dead letter comes from one of two places:

* the gateway rejected the message and published a copy to the dead-letter exchange
  with ``x-edigw-*`` headers (see :mod:`gateway.messaging.broker`);
* RabbitMQ dead-lettered it itself (a poison message that reached the quorum queue's
  delivery limit): then only ``x-death`` tells where it came from, and the reason is
  ``DELIVERY_LIMIT``.

Which headers are believed (issue #14): a partner can put any header on what it sends.
The worker renames a partner's ``x-edigw-*`` and ``x-death`` headers on arrival
(``x-partner-header.<name>``, :func:`gateway.messaging.broker.quarantine`), so a dead letter the
worker wrote carries only its own; one RabbitMQ dead-lettered (its newest ``x-death``
entry names the queue the DLQ belongs to) carries the partner's headers as published, and
none of its ``x-edigw-*`` is read. The partner and where a replay goes are never read from
a header: they follow from the DLQ's name (:func:`replay_target`). Every value is read
whatever its type (a count, a time or bounded printable text), so no header can make the
operators' tools fail.

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
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gateway.messaging.broker import (
    BROKER_DEATH_HEADERS,
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
    QUARANTINE_PREFIX,
    header_count,
    header_time,
    is_acted_on,
    printable,
    quarantine,
)
from gateway.messaging.naming import Names

DELIVERY_LIMIT = "DELIVERY_LIMIT"
# The worker's reason for a message another partner's broker user wrote (never replayed).
SENDER_MISMATCH = "SENDER_MISMATCH"
# Set by the operators' replay (issue #19): the dead letter's id, so that the message that
# comes back after a failed replay keeps it, and the replays so far (newest last). The worker
# carries every header of a replay on to the dead letter it writes (letters.dead_letter_headers).
H_DEAD_LETTER_ID = "x-edigw-dead-letter-id"
H_REPLAY_HISTORY = "x-edigw-replay-history"
#: How many replays a dead letter's history keeps (the oldest go first).
REPLAY_HISTORY_KEPT = 20
_STABLE_ID = re.compile(r"[0-9a-f]{12}")
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
        *BROKER_DEATH_HEADERS,
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
_CUSTOMS_RESPONSES = Names().customs_responses
# How much of a header's text a dead letter keeps (reason codes, sentences, problems).
_CODE, _SENTENCE = 64, 2000


def _text(value: Any, limit: int = 255) -> str:
    return printable(value, limit)


def _iso(value: Any) -> str:
    """An ISO-8601 UTC timestamp from what the broker gave (datetime, epoch), or ''."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(float(value), dt.UTC).isoformat(timespec="seconds")
        except (OverflowError, ValueError, OSError):
            return ""
    return header_time(value)


def replay_target(queue: str) -> tuple[str, str] | None:
    """Where the dead letters of the DLQ ``queue`` may go back to: exchange and routing key.

    A partner's inbound queue is fed by its inbound exchange of the same name; customs'
    responses by the customs exchange under the key ``responses``. Nothing else, whatever
    a message's headers say.

    >>> replay_target("t1.partner.apcs.in.dlq"), replay_target("t1.customs.core.dlq")
    (('t1.partner.apcs.in', ''), None)
    >>> replay_target("customs.responses.dlq")
    ('edigw.customs', 'responses')
    """
    source = queue.removesuffix(".dlq")
    if source == queue:
        return None
    if _PARTNER_QUEUE.search(source):
        return source, ""
    if source.endswith(_CUSTOMS_RESPONSES):
        names = Names(source.removesuffix(_CUSTOMS_RESPONSES))
        if names.customs_responses == source:
            return names.customs_exchange, "responses"
    return None


def queue_partner(queue: str) -> str:
    """The partner whose dead letters ``queue`` holds (from its name), or ''.

    >>> queue_partner("t1.partner.commerce.in.dlq"), queue_partner("customs.responses.dlq")
    ('commerce', 'customs')
    """
    source = queue.removesuffix(".dlq")
    m = _PARTNER_QUEUE.search(source)
    if m:
        return m.group(1)
    return "customs" if source.endswith(_CUSTOMS_RESPONSES) else ""


def _entries(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _stable_id(headers: Mapping[str, Any], trusted: bool) -> str:
    """The id an earlier replay gave the dead letter, when its headers are the gateway's."""
    if not trusted:
        return ""
    value = printable(headers.get(H_DEAD_LETTER_ID), 12)
    return value if _STABLE_ID.fullmatch(value) else ""


def replay_history(headers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A dead letter's replays, oldest first, each read as bounded text whatever it holds.

    >>> replay_history({H_REPLAY_HISTORY: [{"at": "2026-01-01T00:00:00+00:00", "by": "ann",
    ...     "as": "m1~replay1", "edited": False}, "junk"]})
    [{'at': '2026-01-01T00:00:00+00:00', 'by': 'ann', 'as': 'm1~replay1', 'edited': False}]
    """
    history = []
    for entry in _entries(headers.get(H_REPLAY_HISTORY))[-REPLAY_HISTORY_KEPT:]:
        if isinstance(entry, Mapping):
            history.append(
                {
                    "at": header_time(entry.get("at")),
                    "by": printable(entry.get("by"), 200),
                    "as": printable(entry.get("as"), 255),
                    "edited": entry.get("edited") is True,
                }
            )
    return history


def jsonable(value: Any, depth: int = 0) -> Any:
    """Header values (datetimes, bytes, decimals, nested tables) as JSON-friendly values.

    Total: any value a header can hold gives something ``json.dumps`` takes.
    """
    if depth > 16:
        return printable(value, 200)
    if isinstance(value, Mapping):
        return {printable(k, 255): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, dt.datetime):
        return _iso(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Decimal | float):
        number = float(value) if not isinstance(value, Decimal) or value.is_finite() else math.nan
        # NaN and infinity are not JSON (a decimal past float's range becomes infinity).
        return number if math.isfinite(number) else str(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= 64 else printable(value, 64)
    if isinstance(value, str):
        return value
    return printable(value, 1000)


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
    # Whether its x-edigw-* headers are the gateway's (False: RabbitMQ dead-lettered it, and
    # they are whatever the partner published).
    gateway_written: bool = True
    # Its replays so far, oldest first: at, by, as (the replay's message id), edited.
    replays: list[dict[str, Any]] = field(default_factory=list)
    _decoded: tuple[str, str] | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_amqp(cls, queue: str, properties: Mapping[str, Any], body: bytes) -> DeadLetter:
        """Build from the DLQ's name, the message properties (as a mapping) and the body.

        Never raises on what the message carries (see the module's docstring).
        """
        raw_headers = properties.get("headers")
        headers = dict(raw_headers) if isinstance(raw_headers, Mapping) else {}
        deaths = [dict(d) for d in _entries(headers.get("x-death")) if isinstance(d, Mapping)]
        source = queue.removesuffix(".dlq")
        # x-death is newest first; the first entry is where it last died. RabbitMQ puts its
        # own entry there when it dead-letters, whatever a publisher wrote after it.
        last_death = deaths[0] if deaths else {}
        by_broker = bool(deaths) and _text(last_death.get("queue")) == source
        reason = "" if by_broker else _text(headers.get(H_REASON), _CODE)
        if reason:
            sentence = _text(headers.get(H_SENTENCE), _SENTENCE)
            stage = _text(headers.get(H_STAGE), _CODE)
            attempts = header_count(headers.get(H_ATTEMPTS), default=1) or 1
            problems = [_text(p, _SENTENCE) for p in _entries(headers.get(H_PROBLEMS))[:50]]
            first = header_time(headers.get(H_FIRST_FAILURE))
            trusted_deaths = deaths  # the retry tiers', as the worker kept them
        else:
            broker_reason = _text(last_death.get("reason"), _CODE) or "unknown"
            reason = _BROKER_REASONS.get(broker_reason, broker_reason.upper())
            stage = "broker"
            delivery_count = header_count(headers.get("x-delivery-count"))
            sentence = (
                f"RabbitMQ dead-lettered it from {source} "
                f"({broker_reason}"
                + (f", after {delivery_count} redeliveries" if delivery_count else "")
                + "): the gateway failed on it repeatedly without rejecting it"
            )
            attempts = max(header_count(last_death.get("count"), default=1), 1)
            problems = []
            first = ""
            trusted_deaths = deaths[:1]  # older entries may be the partner's
        partner = queue_partner(queue) or (
            _text(headers.get(H_PARTNER), _CODE) if not by_broker else ""
        )
        death_times = [t for t in (_iso(d.get("time")) for d in trusted_deaths) if t]
        stamp = _iso(properties.get("timestamp"))
        last_failure = max([*death_times, stamp] if stamp else death_times, default="")
        first_failure = first or min([*death_times, stamp] if stamp else death_times, default="")
        message_id = _text(properties.get("message_id"))
        exchange, routing_key = replay_target(queue) or ("", "")
        return cls(
            id=_stable_id(headers, not by_broker)
            or hashlib.sha256(
                b"\0".join([message_id.encode(), first_failure.encode(), reason.encode(), body])
            ).hexdigest()[:12],
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
            original_queue=source,
            problems=problems,
            gateway_written=not by_broker,
            replays=replay_history(headers) if not by_broker else [],
        )

    # ------------------------------------------------------------------ derived
    @property
    def group_key(self) -> str:
        """``REASON/stage``: what ``edigw dlq groups`` counts and ``--group`` selects."""
        return f"{self.reason}/{self.stage}"

    @property
    def replay_refusal(self) -> str | None:
        """Why this dead letter is never sent back, or None. A message refused because
        another partner's broker user wrote it (``SENDER_MISMATCH``, the gateway's own reason:
        a partner's ``x-edigw-reason`` is quarantined) would come back under the gateway's
        user, which the worker trusts, and be judged as this partner's: a replay would turn
        the other account's message into this partner's. It stays, to be purged (audited) or
        sent again by its real sender."""
        if self.gateway_written and self.reason == SENDER_MISMATCH:
            return (
                f"another partner's broker user published it into {self.partner}'s inbound "
                f"(SENDER_MISMATCH): a replay would make it {self.partner}'s message, so it is "
                "never replayed; purge it, or have its real sender send it again"
            )
        return None

    @property
    def has_route(self) -> bool:
        """Whether its DLQ belongs to a partner's inbound queue (or customs' responses), the
        only places a dead letter goes back to (:func:`replay_target`)."""
        return bool(self.original_exchange)

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
        if self.gateway_written:
            ref = _text(self.headers.get("x-edigw-business-reference"), 70)
            if ref:
                return ref
        m = _BGM_REF.search(self.body)
        return _text(m.group(1).decode("latin-1"), 70) if m else ""

    @property
    def type(self) -> str:
        return self._decode()[0]

    @property
    def business_reference(self) -> str:
        return self._decode()[1]

    def replay_headers(self) -> dict[str, Any]:
        """The headers to send it back with: the failure's own headers removed.

        The replay is published under the gateway's broker user, so the worker will believe
        its x-edigw-* headers: a partner's (in a dead letter RabbitMQ made) are quarantined.
        """
        kept = {k: v for k, v in self.headers.items() if k not in FAILURE_HEADERS}
        if not self.gateway_written:
            return quarantine(kept)
        if H_ATTEMPTS in kept:
            kept[H_ATTEMPTS] = header_count(kept[H_ATTEMPTS], default=1)
        return kept

    def partner_supplied(self, name: str) -> bool:
        """Whether header ``name`` is what a partner wrote, not the gateway (for display)."""
        if name.startswith(QUARANTINE_PREFIX):
            return True
        # RabbitMQ rewrites x-last-death-* each time it dead-letters; the rest a partner
        # may have published (x-first-death-* is kept when present).
        return (
            not self.gateway_written and is_acted_on(name) and not name.startswith("x-last-death-")
        )

    def shown_headers(self) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
        """(the gateway's and the broker's, the partner's) headers, sorted, JSON-friendly,
        names printable; x-death is shown on its own."""
        ours: list[tuple[str, Any]] = []
        theirs: list[tuple[str, Any]] = []
        for name, value in sorted(jsonable(self.headers).items()):
            if name != "x-death":
                (theirs if self.partner_supplied(name) else ours).append((name, value))
        return ours, theirs

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
            "replays": self.replays,
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
