"""What the decision service decides: plans, in terms the broker layer carries out.

A :class:`Delivery` is what arrived (no broker objects); a :class:`Plan` is what to do for
it: the messages to publish (documents to customs, answers to the partner, dead letters,
retries), the journal events to record once they are confirmed, and whether to ack.
:class:`Addresses` is what the service needs to know of the broker's names; the broker
layer's ``Names`` is one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.service.translation import MessageHead
from gateway.storage.journal import EventRow, Journal
from gateway.storage.spool import Signed, SpoolBatch, SpooledDocument, content


class Addresses(Protocol):
    """The exchanges and queues a plan publishes to (``gateway.messaging.naming.Names``)."""

    @property
    def customs_exchange(self) -> str: ...

    @property
    def outbound_exchange(self) -> str: ...

    @property
    def dead_letter_exchange(self) -> str: ...

    @property
    def retry_exchange(self) -> str: ...

    def customs(self, destination: str) -> str: ...

    def outbound(self, partner: str) -> str: ...

    def dead_letter(self, queue: str) -> str: ...


@dataclass(slots=True)
class Delivery:
    """What the decision thread needs of an incoming message (no broker objects)."""

    body: bytes
    message_id: str | None
    correlation_id: str | None
    headers: dict[str, Any]
    exchange: str
    routing_key: str
    redelivered: bool
    user_id: str | None = None
    content_type: str | None = None
    type: str | None = None
    # A large body is let go once decided (``DecisionService.let_go_of_body``): ``body`` is empty then.
    spooled_body: SpooledDocument | None = None
    # The journal's id for it when its message id already names another message, another
    # partner's or other content (``DecisionService.receive``; docs/security.md "Message ids").
    inbound_id: str | None = None
    # The body's digest, once computed (:meth:`digest`); a copy with another body has none.
    _digest: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def payload(self) -> Signed:
        """The body as it arrived, in memory or spooled."""
        return self.body if self.spooled_body is None else self.spooled_body

    def digest(self) -> str:
        """The SHA-256 (hex) of the body as it arrived, computed once: the message id's claim
        (:func:`identify`) and the interchange's dedup key both key on it.

        >>> import dataclasses
        >>> d = Delivery(b"UNA", None, None, {}, "", "", False)
        >>> d.digest() == hashlib.sha256(b"UNA").hexdigest()
        True
        >>> dataclasses.replace(d, body=b"UNB").digest() == hashlib.sha256(b"UNB").hexdigest()
        True
        """
        if self._digest is None:
            self._digest = hashlib.sha256(content(self.payload)).hexdigest()
        return self._digest


@dataclass(slots=True)
class Publish:
    exchange: str
    routing_key: str
    body: Signed  # a large document stays in its spool file until it is published
    message_id: str
    correlation_id: str | None
    content_type: str
    type: str | None = None
    headers: dict[str, Any] = field(default_factory=dict)
    kind: str = "document"  # document, ack, dead-letter, retry, response


@dataclass(slots=True)
class Plan:
    """What to do for one delivery: publish these, then record ``events`` and ack."""

    inbound_id: str
    outcome: str  # routed, rejected, duplicate, retry, redelivery, requeue, answered ...
    detail: str = ""
    publishes: list[Publish] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    requeue: bool = False  # nack with requeue instead (a failing handler below its limit)
    # Reject without requeue: the broker dead-letters it (the last resort when even the
    # failure plan failed; the quorum queue's dead-lettering is at-least-once).
    reject: bool = False
    record: bool = True  # mark the inbound message done in the journal after the confirms
    on_confirmed: Callable[[], None] | None = None  # extra journal work after the confirms
    spooled: SpoolBatch | None = None  # the documents' spool files, removed once settled
    # The pipeline's outcome and the time it took, when the message went through it (metrics).
    decision: Any = None
    seconds: float = 0.0
    business_reference: str | None = None  # on the log lines of its carrying out (issue #19)


def inbound_id_of(partner: str, delivery: Delivery) -> str:
    """The partner's message id, or one derived from partner and content when it sent none.

    Deriving it (rather than a random uuid) keeps a redelivery recognisable. A message id
    that names another message (another partner's, or this partner's with other content) is
    replaced on arrival by one of its own (``Delivery.inbound_id``, set by
    ``DecisionService.receive``): a message id is the partner's word, never a key into what
    the gateway decided for someone else.
    """
    if delivery.inbound_id:
        return delivery.inbound_id
    if delivery.message_id:
        return delivery.message_id
    return "sha256-" + hashlib.sha256(partner.encode() + b"\0" + delivery.body).hexdigest()[:40]


# The longest message id AMQP carries (basic properties' shortstr).
AMQP_ID_BYTES = 255
# The dedup key that holds a message id for the (partner, content digest) it first came with.
MESSAGE_ID_KEY = "inbound:"


def identify(journal: Journal, partner: str, d: Delivery, inbound_id: str) -> str:
    """The journal's id for ``d`` (claimed in the arrival's transaction): its message id,
    unless that id names another message.

    A message id is the partner's word. The journal keys what it decided on it (a redelivery
    of a ``done`` message is acknowledged with nothing published) and derives the ids of the
    documents and answers from it, so an id another partner used, or this partner used for
    other content, would make this message a "redelivery" of that one: acknowledged, never
    routed nor answered. Each message id is claimed for (partner, content digest); a message
    whose id is held for another gets an id of its own, derived from its id, its partner and
    its content, which its own redelivery finds again (``Delivery.inbound_id``).
    """
    d.inbound_id = None
    if not d.message_id:
        return inbound_id  # already derived from the partner and the content
    whose, candidates = _candidates(partner, d.message_id, d.digest())
    for candidate in candidates:
        if not journal.claim(whose, {MESSAGE_ID_KEY + candidate: whose}):
            if candidate != d.message_id:
                d.inbound_id = candidate
            return candidate
    raise RuntimeError(f"no free journal id for message id {d.message_id[:200]!r}")


def decided_as(journal: Journal, partner: str, message_id: str, body: bytes) -> str | None:
    """The journal's id for the message ``partner`` sent as ``message_id`` with ``body``, as
    :func:`identify` claimed it on arrival: its message id, or the id of its own it got when
    that one was held for another message; None while it has not arrived (nothing is claimed
    for it: what is recorded under ``message_id`` may be another message's).

    What an operator's replay reads its outcome under (``edigw dlq replay``): the replay's
    message id (``<id>~replayN``) may have been taken before it arrived."""
    whose, candidates = _candidates(partner, message_id, hashlib.sha256(body).hexdigest())
    for candidate in candidates:
        held = journal.holder(MESSAGE_ID_KEY + candidate)
        if held is None:
            return None  # claimed in order: it would have taken this one
        if held[0] == whose:
            return candidate
    return None


def _candidates(partner: str, message_id: str, digest: str) -> tuple[str, tuple[str, ...]]:
    """Who claims (partner and the body's SHA-256, ``digest``), and the ids it tries, in order."""
    own = f"{message_id[:200]}~{partner}~"
    # The last is longer than any AMQP message id (a shortstr, 255 bytes at most): no partner
    # can have taken it by sending it, whoever learnt this message's id and content first.
    last = (own + digest).ljust(AMQP_ID_BYTES + 1, "~")
    return f"{partner}:{digest}", (message_id, own + digest[:16], own + digest, last)


def document_key(partner: str, doc: Any) -> str:
    """The business key + version of a canonical document (dedup across interchanges); a test
    document's (UNB 0035 ``1``) is ``doc-test:...``: it claims nothing of the real one."""
    h = doc.header
    kind = "doc-test" if getattr(h, "test", False) else "doc"
    return (
        f"{kind}:{partner}:{h.document_type}:{h.business_reference}:{h.document_version}:"
        f"{h.function}"
    )


def now() -> str:
    """The time of an event, as the journal records it (UTC, milliseconds)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def file_letter(
    journal: Journal, letter: Publish, inbound_id: str, partner: str, head: MessageHead
) -> None:
    """File the dead letter of one message of an interchange under the interchange, with the
    message's document number: found by it, and its replay (filed under it) joins the
    interchange's story (issue #19)."""
    journal.record_message(
        letter.message_id,
        type=head.type or "message",
        partner=partner,
        correlation_id=letter.correlation_id or inbound_id,
        parent_id=inbound_id,
    )
    journal.add_references(letter.message_id, [head.document_number])
