"""Dead-letter queues on the real broker: read without losing, replay, purge.

How a quorum dead-letter queue is read without taking anything away
--------------------------------------------------------------------
AMQP has no "peek". We ``basic.get`` every ready message of each DLQ with manual
acknowledgement on one channel and *hold* the deliveries until we are done (so we
never see one twice, and ``basic.get`` returning nothing is a definite end of the
queue: no idle timeout to guess). Then one ``basic.nack(multiple, requeue)`` gives
back everything we did not acknowledge, and the channel is closed.

Quorum queues count returns, and that decides whether browsing is safe:

* RabbitMQ 3.x: every return bumps ``x-delivery-count``; there is no default
  delivery limit and DLQs are declared without one: nothing is ever dropped.
* RabbitMQ 4.0-4.2: a default delivery limit of 20, counted on every acquisition
  (get, then nack or channel close alike): the DLQs must be declared with the limit
  disabled (``x-delivery-limit = -1``, or a policy), or browsing 20 times would make
  the broker drop messages, since a DLQ has no dead-letter exchange of its own.
  (Never on 3.x: there, -1 drops a message at its first return.)
* RabbitMQ 4.3+: the limit counts failed deliveries only; ``basic.nack`` with
  requeue is not one (``basic.reject`` and a channel close are), hence the nack.

* Removal is an ``ack`` of the held delivery, and it happens only *after* the
  broker confirmed the replayed copy (publisher confirms, ``mandatory``). A crash
  between the two leaves the message in both places (at-least-once, never lost);
  a crash anywhere else leaves it in the DLQ, because the connection drop returns
  every unacknowledged delivery.
* While one operator holds the DLQ, another sees the messages held as in
  flight (not ready): two operators never replay the same delivery.

>>> # see tests/integration/test_dlq_cli.py for this module at work on a real broker
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError, ChannelClosedByBroker

from gateway.bootstrap import App
from gateway.interfaces.operators.deadletters import (
    H_DEAD_LETTER_ID,
    H_REPLAY_HISTORY,
    REPLAY_HISTORY_KEPT,
    DeadLetter,
    Selector,
    replay_target,
)
from gateway.logs import get_logger
from gateway.messaging import broker
from gateway.messaging.topology import Topology

log = get_logger()

H_REPLAYED_BY = "x-edigw-replayed-by"
H_REPLAYED_AT = "x-edigw-replayed-at"
H_REPLAYS = "x-edigw-replays"
H_EDITED_BY = "x-edigw-edited-by"
H_REPLAY_OF = "x-edigw-replay-of"
# Test hook (see tests/integration/test_dlq_interrupted.py): die hard after N confirmed
# publishes, *before* the matching ack — the worst moment for an interruption.
CRASH_AFTER_ENV = "EDIGW_TEST_DLQ_CRASH_AFTER"
NO_ROUTE = (
    "{queue} is not the dead-letter queue of a partner's inbound queue (nor of customs' "
    "responses): a dead letter goes back only to the inbound exchange of the partner it "
    "came from, so it stays where it is"
)


def dead_letter_queues(topology: Topology) -> list[str]:
    """Every DLQ of the configured topology."""
    return [q.name for q in topology.queues if q.name.endswith(".dlq")]


def replay_id(original_id: str, replays: int) -> str:
    """The message id of the ``replays``-th replay of a message.

    >>> replay_id("m1", 1), replay_id("m1", 2)
    ('m1~replay1', 'm1~replay2')
    """
    return f"{original_id}~replay{replays}"


def _replay_count(headers: dict[str, Any]) -> tuple[str, int]:
    """(the message id of the first replayed message, replays so far) from replay headers."""
    return (
        broker.printable(headers.get(H_REPLAY_OF), 200),
        broker.header_count(headers.get(H_REPLAYS)),
    )


def next_replay_id(letter: DeadLetter) -> str:
    """The message id the next replay of ``letter`` will carry (read from the headers the
    replay is sent with: the gateway's only)."""
    replay_of, replays = _replay_count(letter.replay_headers())
    return replay_id(replay_of or letter.message_id or letter.id, replays + 1)


def _props_mapping(props: pika.BasicProperties) -> dict[str, Any]:
    return {
        "message_id": props.message_id,
        "correlation_id": props.correlation_id,
        "content_type": props.content_type,
        "type": props.type,
        "timestamp": props.timestamp,
        "headers": props.headers or {},
    }


@dataclass(slots=True)
class Held:
    letter: DeadLetter
    delivery_tag: int


@dataclass(slots=True)
class ReplayResult:
    replayed: list[DeadLetter] = field(default_factory=list)
    failed: list[tuple[DeadLetter, str]] = field(default_factory=list)


class DeadLetterStore:
    """The DLQs of one gateway on one connection. Use as a context manager."""

    def __init__(
        self, connection: pika.BlockingConnection, queues: Sequence[str], user: str = ""
    ) -> None:
        self.connection = connection
        self.queues = list(queues)
        # Replays carry user_id = our broker user; RabbitMQ checks it, so the worker can
        # tell an operator's replay from a partner's message that merely has the headers.
        self.user = user

    @classmethod
    def open(cls, app: App) -> DeadLetterStore:
        """The dead-letter queues of ``app``'s topology, on a connection of their own."""
        # Two attempts: ride out a broker that is briefly busy (a handshake timeout).
        connection = app.broker.blocking(attempts=2)
        return cls(connection, dead_letter_queues(app.topology), app.broker.user)

    def __enter__(self) -> DeadLetterStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()

    # ------------------------------------------------------------------ reading
    def depths(self) -> dict[str, int]:
        """Ready messages per queue (passive declare); queues that do not exist are left out."""
        out: dict[str, int] = {}
        channel = self.connection.channel()
        for queue in self.queues:
            try:
                ok = channel.queue_declare(queue, passive=True)
                out[queue] = int(ok.method.message_count)
            except ChannelClosedByBroker:  # not declared (yet): left out
                channel = self.connection.channel()
        if channel.is_open:
            channel.close()
        return out

    def consumers(self, queues: Sequence[str]) -> dict[str, int]:
        """Consumers per queue (passive declare): whether anyone will decide a replay."""
        out: dict[str, int] = {}
        channel = self.connection.channel()
        for queue in dict.fromkeys(queues):
            try:
                out[queue] = int(channel.queue_declare(queue, passive=True).method.consumer_count)
            except ChannelClosedByBroker:  # not declared: nobody consumes it
                out[queue] = 0
                channel = self.connection.channel()
        if channel.is_open:
            channel.close()
        return out

    @contextmanager
    def holding(self) -> Iterator[tuple[BlockingChannel, list[Held]]]:
        """Every ready dead letter, held unacknowledged until the block ends (then returned)."""
        channel = self.connection.channel()
        held: list[Held] = []
        try:
            for queue in self._existing_queues():
                while True:
                    method, props, body = channel.basic_get(queue, auto_ack=False)
                    if method is None:
                        break
                    letter = DeadLetter.from_amqp(queue, _props_mapping(props), body)
                    held.append(Held(letter, method.delivery_tag))
            yield channel, held
        finally:
            if channel.is_open:
                # Give back every delivery we did not acknowledge: one nack(multiple, requeue)
                # of the last tag. RabbitMQ >= 4.3 does not count that as a failed delivery
                # (a channel close does); older brokers count both the same. Closing the
                # channel then returns anything left (and is what happens on a crash).
                if held:
                    with contextlib.suppress(AMQPError):
                        channel.basic_nack(delivery_tag=0, multiple=True, requeue=True)
                with contextlib.suppress(AMQPError):
                    channel.close()

    def _existing_queues(self) -> list[str]:
        depths = self.depths()
        return [q for q in self.queues if q in depths]

    def browse(self, selector: Selector | None = None) -> list[DeadLetter]:
        """The dead letters that match, oldest failure first, left in place."""
        selector = selector or Selector()
        with self.holding() as (_channel, held):
            letters = [h.letter for h in held if selector.matches(h.letter)]
        return sorted(letters, key=lambda d: (d.last_failure, d.id))

    # ------------------------------------------------------------------ changing
    def replay(
        self,
        selector: Selector,
        *,
        actor: str,
        dry_run: bool = False,
        body_for: Callable[[DeadLetter], bytes] | None = None,
        progress: Callable[[Sequence[DeadLetter]], Any] | None = None,
    ) -> ReplayResult:
        """Send the selected dead letters back where they came from: confirm first, then ack.

        ``body_for`` replaces the body (``edit``); ``progress`` wraps the batch for a
        progress bar and must yield each letter back.
        """
        result = ReplayResult()
        crash_after = int(os.environ.get(CRASH_AFTER_ENV) or 0)
        publisher = broker.confirmed_channel(self.connection)
        try:
            with self.holding() as (channel, held):
                chosen = [h for h in held if selector.matches(h.letter)]
                by_letter = {id(h.letter): h for h in chosen}
                letters = [h.letter for h in chosen]
                if dry_run:
                    result.replayed = letters
                    return result
                iterable = progress(letters) if progress else letters
                for letter in iterable:
                    h = by_letter[id(letter)]
                    if not letter.has_route:
                        result.failed.append((letter, NO_ROUTE.format(queue=letter.queue)))
                        continue
                    refusal = letter.replay_refusal
                    if refusal is not None:  # edited or not: it stays (security.md)
                        result.failed.append((letter, refusal))
                        continue
                    try:
                        self._publish_back(publisher, letter, actor, body_for)
                    except broker.PublishError as exc:
                        result.failed.append((letter, str(exc)))
                        continue
                    except ChannelClosedByBroker as exc:
                        # e.g. the original exchange no longer exists: the broker closes the
                        # publishing channel. The message stays in the DLQ; carry on.
                        result.failed.append((letter, f"the broker refused it: {exc.reply_text}"))
                        publisher = broker.confirmed_channel(self.connection)
                        continue
                    if crash_after and len(result.replayed) + 1 >= crash_after:
                        os._exit(70)
                    channel.basic_ack(h.delivery_tag)
                    result.replayed.append(letter)
        finally:
            if publisher.is_open:
                publisher.close()
        return result

    def _publish_back(
        self,
        publisher: BlockingChannel,
        letter: DeadLetter,
        actor: str,
        body_for: Callable[[DeadLetter], bytes] | None,
    ) -> None:
        headers = letter.replay_headers()
        replay_of, replays = _replay_count(headers)
        replays += 1
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        headers[H_REPLAYED_BY] = actor
        headers[H_REPLAYED_AT] = at
        headers[H_REPLAYS] = replays
        original_id = replay_of or letter.message_id or letter.id
        headers[H_REPLAY_OF] = original_id
        # The same id and the story so far come back with it if it fails again (issue #19).
        headers[H_DEAD_LETTER_ID] = letter.id
        step = {
            "at": at,
            "by": actor,
            "as": replay_id(original_id, replays),
            "edited": body_for is not None,
        }
        headers[H_REPLAY_HISTORY] = [*letter.replays, step][-REPLAY_HISTORY_KEPT:]
        body = letter.body
        if body_for is not None:
            body = body_for(letter)
            headers[H_EDITED_BY] = actor
        # Derived from the DLQ's name (DeadLetter.from_amqp), never from a header; checked
        # again here, at the one place that publishes.
        target = replay_target(letter.queue)
        if target is None or target != (letter.original_exchange, letter.original_routing_key):
            raise broker.PublishError(NO_ROUTE.format(queue=letter.queue))
        exchange, routing_key = target
        broker.publish(
            publisher,
            exchange,
            routing_key,
            body,
            # A new id for each replay: the worker is idempotent by message id and would take
            # the same id for a redelivery of a message it already finished. The id is derived
            # (not random), so the duplicate an interrupted replay may leave is still recognised.
            message_id=replay_id(original_id, replays),
            correlation_id=letter.correlation_id or original_id,
            content_type=letter.content_type or "application/octet-stream",
            headers=headers,
            type=letter.amqp_type or None,
            user_id=self.user or None,
        )
        log.info(
            "dead letter replayed",
            id=letter.id,
            message_id=letter.message_id,
            replay_id=replay_id(original_id, replays),
            exchange=exchange,
            routing_key=routing_key,
            edited=body_for is not None,
        )

    def purge(
        self,
        selector: Selector,
        *,
        progress: Callable[[Sequence[DeadLetter]], Any] | None = None,
    ) -> list[DeadLetter]:
        """Remove the selected dead letters for good; returns them (for the audit trail)."""
        removed: list[DeadLetter] = []
        with self.holding() as (channel, held):
            chosen = [h for h in held if selector.matches(h.letter)]
            by_letter = {id(h.letter): h for h in chosen}
            letters = [h.letter for h in chosen]
            for letter in progress(letters) if progress else letters:
                channel.basic_ack(by_letter[id(letter)].delivery_tag)
                removed.append(letter)
        return removed
