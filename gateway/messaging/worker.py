"""The gateway's worker: consume partner messages, carry out the pipeline's outcome, ack.

The guarantee is *at-least-once delivery with idempotent effects* (docs/reliability.md):

* every publish (canonical documents, copies, dead letter, acknowledgement) is
  persistent, ``mandatory`` and confirmed by the broker before the inbound
  message is acknowledged, so a crash in between means a redelivery, never a loss;
* the journal remembers each inbound message (``processed``) and the business
  keys it claimed (``dedup``), and documents get ids derived from the inbound
  message id, so a redelivery either does nothing (already done) or publishes
  the very same message ids again (crash before ``done``) for consumers to drop.

Design (one asyncio loop, one decision thread):

* aio-pika carries the connection; its I/O loop keeps running (heartbeats) while
  the pipeline works on a 50 MB manifest in the decision thread;
* decisions are taken one at a time, in delivery order, in that thread (journal
  and pipeline are synchronous), handed over in batches (``gateway.messaging.serial``): the
  arrivals of the messages taken together are recorded in one transaction, and so
  are completions confirmed together; the publishes of many messages are then in
  flight together and their confirms awaited concurrently (a window of
  ``prefetch`` messages) instead of one blocking round trip per publish;
* transient failures (journal unavailable, broker nack) go to delay queues
  (TTL + dead-letter exchange back to the work queue), permanent ones straight
  to the dead-letter queue; a handler that keeps failing is dead-lettered on its
  ``delivery_limit``-th delivery.

>>> Worker.__name__
'Worker'
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import hashlib
import os
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import aio_pika
import aiormq.exceptions
import pika.exceptions
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
)
from aiormq.abc import DeliveredMessage
from pika.adapters.utils.connection_workflow import AMQPConnectorException

from adapters import contrl
from adapters.edifact import EdifactError, envelope
from gateway.bootstrap import Gateway
from gateway.config import ConfigError, Partner, load
from gateway.logs import get_logger, message_context
from gateway.messaging import broker, malloc, metrics
from gateway.messaging.naming import Names
from gateway.messaging.partners import user_for
from gateway.messaging.serial import SerialThread
from gateway.messaging.topology import declare
from gateway.service import routing
from gateway.service.pipeline import Outcome, Problem, Rejection, Translation
from gateway.service.responses import ResponseHandler, overdue_after
from gateway.storage.journal import EventRow, JournalUnavailable, Origin, derived_id
from gateway.storage.spool import Signed, Spool, SpoolBatch, SpooledDocument, content

log = get_logger()

# Test-only fault injection: a message whose body holds these bytes makes the handler
# raise every time (the poison-message fault test). Never set in production.
FAULT_ENV = "EDIGW_TEST_FAIL_MARKER"
# Publishes of a plan go out together (their confirms overlap) unless their bodies add up to
# more than this: then one after the other, each confirmed before the next is framed. aiormq
# holds a body twice while it frames it, so a vessel's manifests (5 MB each at 5,000 bills)
# sent at once were the gateway's memory peak; a 1-BL CUSCAR's two publishes stay pipelined.
SEQUENTIAL_PUBLISH_BYTES = 1 << 20


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
    # A large body is let go once decided (``Worker._let_go_of_body``): ``body`` is empty then.
    spooled_body: SpooledDocument | None = None

    @property
    def payload(self) -> Signed:
        """The body as it arrived, in memory or spooled."""
        return self.body if self.spooled_body is None else self.spooled_body


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
    record: bool = True  # mark the inbound message done in the journal after the confirms
    on_confirmed: Callable[[], None] | None = None  # extra journal work after the confirms
    spooled: SpoolBatch | None = None  # the documents' spool files, removed once settled


def inbound_id_of(partner: str, delivery: Delivery) -> str:
    """The partner's message id, or one derived from partner and content when it sent none.

    Deriving it (rather than a random uuid) keeps a redelivery recognisable.
    """
    if delivery.message_id:
        return delivery.message_id
    return "sha256-" + hashlib.sha256(partner.encode() + b"\0" + delivery.body).hexdigest()[:40]


def document_key(partner: str, doc: Any) -> str:
    """The business key + version of a canonical document (dedup across interchanges)."""
    h = doc.header
    return (
        f"doc:{partner}:{h.document_type}:{h.business_reference}:{h.document_version}:{h.function}"
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class Worker:
    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.stopping = False
        self.processed = 0
        self.names = gateway.names
        settings = gateway.settings
        self.retry_delays = broker.retry_delays(settings.raw)
        self.copies = routing.copies_from(settings.raw)
        self.heartbeat = int(settings.raw.get("broker", {}).get("heartbeat", 30))
        self.fault_marker = os.environ.get(FAULT_ENV, "").encode() or None
        self.response_handler: Any = ResponseHandler(self)
        self.overdue_after = overdue_after(settings.raw)
        self.overdue_check = float(
            settings.raw.get("responses", {}).get("overdue_check_seconds", 60)
        )
        self._overdue_seen: set[str] = set()
        # Broker users of the partners (issue #6): a message whose user_id is another
        # partner's user is refused. Gateway and operator accounts are trusted: broker
        # permissions decide who may write into an inbound at all.
        self._partner_users = {
            user_for(self.names, p.id): p.id
            for p in settings.partners_with_role("port", "ministry")
        }
        # The decision thread: journal and pipeline, one call at a time, handed over in
        # batches; the arrivals taken together share one journal transaction, and so do
        # consecutive completions.
        self._serial = SerialThread(
            "edigw-decide",
            groups={"journal": lambda: self.gw.journal.unit_of_work()},
            prepare_group="journal",
        )
        self._executor = self._serial.executor
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._unblocked: asyncio.Event | None = None
        self._inflight: set[asyncio.Task[Any]] = set()
        self._exchanges: dict[str, AbstractExchange] = {}
        # Large signed documents wait in <state_dir>/spool/<pid>/ until published (issue #8).
        self.spool = Spool.in_state_dir(settings.state_dir)
        self.trim_min_bytes = malloc.settings(settings.raw)[2]

    # ------------------------------------------------------------------ lifecycle
    def request_stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        if not self.stopping:
            log.info("stopping: finishing in-flight messages", signal=signum)
        self.stopping = True
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    def request_reload(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(
                lambda: self._loop.run_in_executor(self._executor, self.reload_routes)  # type: ignore[union-attr]
            )

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGHUP, self.request_reload)

    def reload_routes(self) -> bool:
        """Re-read the configuration's routes and copy rules (SIGHUP, ``edigw routes reload``).

        A bad configuration is refused and the old rules stay; every change is logged.
        """
        settings = self.gw.settings
        try:
            new = load(path=None if settings.source == "defaults" else settings.source)
            copies = routing.copies_from(new.raw)
        except (ConfigError, ValueError) as exc:
            log.error("routes reload refused; the old rules stay", error=str(exc))
            return False
        changed = routing.changes(self.gw.pipeline.routes, new.routes, self.copies, copies)
        # Assignments of whole tuples: the decision thread sees the old or the new rules.
        self.gw.pipeline.routes = new.routes
        self.copies = copies
        log.info(
            "routes reloaded",
            changes=changed or ["no change"],
            rules=routing.describe(new.routes, copies),
        )
        return True

    def _pid_file(self) -> Path:
        return self.gw.settings.state_dir / "run" / f"edigw-{os.getpid()}.pid"

    def run(self) -> None:
        """Serve until asked to stop; reconnect with backoff when the broker goes away."""
        pid_file = self._pid_file()
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        pid_file.write_text(str(os.getpid()))
        for leftover in self.spool.clean():
            log.info("spool files of an earlier process removed", folder=str(leftover))
        metrics_server = metrics.start(self.gw.settings)  # None when [metrics] port = 0
        # The journal's WAL checkpoints (and their disk waits) off the decision thread.
        self.gw.journal.checkpoint_in_background()
        try:
            asyncio.run(self._main())
        finally:
            if metrics_server is not None:
                metrics_server.stop()
            pid_file.unlink(missing_ok=True)
            self._executor.shutdown(wait=True)
            self.spool.close()
        log.info("stopped", processed=self.processed)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._unblocked = asyncio.Event()
        if self.stopping:
            self._stop.set()
        backoff = 1.0
        while not self.stopping:
            try:
                await self._serve()
                backoff = 1.0
            except Exception as exc:
                # Whatever broke the connection (refused, handshake timeout, closed by the
                # broker, a channel error), the remedy is the same: back off, reconnect;
                # unacknowledged messages are redelivered.
                if self.stopping:
                    break
                expected = isinstance(
                    exc,
                    TimeoutError
                    | aiormq.exceptions.AMQPError
                    | ConnectionError
                    | OSError
                    | pika.exceptions.AMQPError
                    | AMQPConnectorException,
                )
                log.warning(
                    "broker connection lost, reconnecting",
                    error=repr(exc),
                    retry_in=backoff,
                    exc_info=None if expected else exc,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=backoff)
                backoff = min(backoff * 2, 30.0)

    def _declare(self) -> None:
        connection = broker.connect(
            self.gw.settings.broker_url, tls=broker.tls_from(self.gw.settings.raw)
        )
        try:
            declare(connection.channel(), self.gw.topology)
        finally:
            connection.close()

    async def _serve(self) -> None:
        assert self._stop is not None and self._unblocked is not None
        settings = self.gw.settings
        await asyncio.to_thread(self._declare)
        connection = await aio_pika.connect(
            settings.broker_url,
            heartbeat=self.heartbeat,
            client_properties={"connection_name": f"edigw run {os.getpid()}"},
            ssl_context=broker.ssl_context(broker.tls_from(settings.raw)),
            timeout=15,
        )
        lost: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def on_close(_sender: Any, exc: BaseException | None = None) -> None:
            if not lost.done():
                lost.set_result(exc)

        connection.close_callbacks.add(on_close)
        metrics.broker_connected(True)
        self._watch_blocked(connection)
        self._unblocked.set()
        self._exchanges = {}
        try:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            channel.close_callbacks.add(on_close)
            await channel.set_qos(prefetch_count=settings.prefetch)
            consumers = []
            for partner in settings.partners_with_role("port", "ministry"):
                name = self.names.inbound(partner.id)
                queue = await channel.get_queue(name, ensure=False)
                tag = await _consume(channel, name, self._callback(channel, partner, name))
                consumers.append((queue, tag))
            if self.response_handler is not None:
                name = self.names.customs_responses
                queue = await channel.get_queue(name, ensure=False)
                tag = await _consume(channel, name, self._response_callback(channel, name))
                consumers.append((queue, tag))
            log.info(
                "consuming",
                queues=[q.name for q, _ in consumers],
                prefetch=settings.prefetch,
                retry_delays_ms=list(self.retry_delays),
            )
            stop_task: asyncio.Future[Any] = asyncio.ensure_future(self._stop.wait())
            overdue_task = asyncio.ensure_future(self._watch_overdue())
            stall_task = asyncio.ensure_future(self._watch_stalls())
            try:
                await asyncio.wait({stop_task, lost}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop_task.cancel()
                overdue_task.cancel()
                stall_task.cancel()
            if lost.done():
                raise ConnectionError(f"connection closed: {lost.result()!r}")
            # Graceful stop: no new deliveries, finish what is in flight, then close
            # (unacknowledged prefetched messages go back to their queues).
            for _queue, tag in consumers:
                # The channel may be gone; the close below settles it.
                with contextlib.suppress(Exception):
                    await (await channel.get_underlay_channel()).basic_cancel(tag)
            if self._inflight:
                await asyncio.wait(set(self._inflight), timeout=60)
        finally:
            metrics.broker_connected(False)
            if not connection.is_closed:
                await connection.close()

    async def _watch_overdue(self) -> None:
        """Say in the log when a routed document has had no customs answer for too long."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                late = await loop.run_in_executor(
                    self._executor, lambda: self.gw.journal.overdue(self.overdue_after)
                )
            except JournalUnavailable as exc:
                log.warning("overdue check skipped: journal unavailable", error=str(exc))
                late = []
            for item in late:
                if item.message_id not in self._overdue_seen:
                    self._overdue_seen.add(item.message_id)
                    log.warning(
                        "overdue: no customs answer",
                        document=item.message_id,
                        inbound=item.inbound_id,
                        partner=item.partner,
                        document_type=item.document_type,
                        business_reference=item.business_reference,
                        routed_at=item.routed_at,
                        overdue_after_minutes=self.overdue_after.total_seconds() / 60,
                    )
            with contextlib.suppress(Exception):  # metrics are optional (issue #7)
                from gateway.messaging import metrics

                metrics.set_overdue(len(late))
            await asyncio.sleep(self.overdue_check)

    async def _watch_stalls(self, tick: float = 0.25) -> None:
        """Say in the log when the I/O loop could not run for a good part of a heartbeat.

        Heartbeats are sent and answered by this loop; if it cannot run (the decision
        thread holding the GIL in a long C call, a starved machine), RabbitMQ closes the
        connection after two missed heartbeats. The longest stall is a metric too.
        """
        loop = asyncio.get_running_loop()
        warn_after = max(0.5, self.heartbeat / 4)
        while True:
            before = loop.time()
            await asyncio.sleep(tick)
            stalled = loop.time() - before - tick
            metrics.loop_stalled(stalled)
            if stalled > warn_after:
                log.warning(
                    "the I/O loop stalled; heartbeats were late",
                    stalled_seconds=round(stalled, 2),
                    heartbeat_seconds=self.heartbeat,
                )

    def _watch_blocked(self, connection: AbstractConnection) -> None:
        """Pause intake on ``connection.blocked`` (a broker memory or disk alarm).

        aiormq handles the frames privately; we wrap its handlers on this connection
        so new deliveries wait (no decision, no publish) until ``connection.unblocked``.
        """
        assert self._unblocked is not None
        unblocked = self._unblocked
        try:
            raw: Any = connection.transport.connection  # type: ignore[union-attr]
            on_blocked = raw._Connection__handle_connection_blocked
            on_unblocked = raw._Connection__handle_connection_unblocked
        except AttributeError:
            log.warning("cannot watch connection.blocked with this aiormq version")
            return

        async def blocked(frame: Any) -> None:
            unblocked.clear()
            log.warning("broker blocked the connection: intake paused", reason=str(frame.reason))
            await on_blocked(frame)

        async def unblocked_(frame: Any) -> None:
            unblocked.set()
            log.info("broker unblocked the connection: intake resumed")
            await on_unblocked(frame)

        raw._Connection__handle_connection_blocked = blocked
        raw._Connection__handle_connection_unblocked = unblocked_

    # ------------------------------------------------------------------ one message
    def _callback(
        self, channel: AbstractChannel, partner: Partner, queue: str
    ) -> Callable[[AbstractIncomingMessage], Any]:
        async def on_message(message: AbstractIncomingMessage) -> None:
            delivery = _delivery(message)
            await self._handle(
                channel,
                message,
                delivery,
                partner.id,
                queue,
                lambda arrived: self._decide(partner, queue, delivery, arrived),
                lambda exc: self._failure_plan(partner.id, queue, delivery, exc),
                arrive=lambda: self._arrive(partner, queue, delivery),
            )

        return on_message

    def _response_callback(
        self, channel: AbstractChannel, queue: str
    ) -> Callable[[AbstractIncomingMessage], Any]:
        async def on_message(message: AbstractIncomingMessage) -> None:
            delivery = _delivery(message)
            await self._handle(
                channel,
                message,
                delivery,
                "customs",
                queue,
                lambda: self.response_handler.decide(queue, delivery),
                lambda exc: self._failure_plan("customs", queue, delivery, exc),
            )

        return on_message

    async def _handle(
        self,
        channel: AbstractChannel,
        message: AbstractIncomingMessage,
        delivery: Delivery,
        partner: str,
        queue: str,
        decide: Callable[..., Plan],
        on_failure: Callable[[BaseException], Plan],
        arrive: Callable[[], Plan | None] | None = None,
    ) -> None:
        """Decide (in the decision thread), carry out, ack.

        With ``arrive``, the arrival is recorded as the decision thread takes the message,
        in one transaction with the arrivals of the messages taken with it, and ``decide``
        is called with a callable that returns the arrival's early plan (or raises).
        """
        task = asyncio.current_task()
        assert task is not None and self._unblocked is not None
        self._inflight.add(task)
        plan: Plan | None = None
        try:
            if not self._unblocked.is_set():
                await self._unblocked.wait()
            try:
                plan = await self._serial.run(decide, prepare=arrive)
            except Exception as exc:  # never crash the worker on input
                plan = on_failure(exc)
            if delivery.spooled_body is not None and isinstance(message, aio_pika.IncomingMessage):
                message.body = b""  # its other holder; the delivery's is gone (_let_go_of_body)
            await self._carry_out(channel, message, delivery, plan, partner, queue)
        except (aiormq.exceptions.AMQPError, ConnectionError, asyncio.CancelledError) as exc:
            # The connection went away mid-message: the broker redelivers it.
            log.warning("message left unacknowledged (connection lost)", error=repr(exc))
        finally:
            self._inflight.discard(task)
            # Acknowledged, requeued or left to a redelivery (which decides afresh): the
            # spooled documents are not needed any more.
            if plan is not None and plan.spooled is not None:
                plan.spooled.discard()

    async def _carry_out(
        self,
        channel: AbstractChannel,
        message: AbstractIncomingMessage,
        delivery: Delivery,
        plan: Plan,
        partner: str,
        queue: str,
    ) -> None:
        if plan.requeue:
            await message.nack(requeue=True)
            return
        results = await self._publish_all(channel, plan.publishes)
        failures = [(p, r) for p, r in zip(plan.publishes, results, strict=True) if r is not None]
        for _p, r in failures:
            if not isinstance(r, Exception):
                raise r  # CancelledError and friends
        if failures:
            connection_errors = [
                r
                for _, r in failures
                if not isinstance(
                    r, aiormq.exceptions.PublishError | aiormq.exceptions.DeliveryError
                )
            ]
            if connection_errors:
                raise ConnectionError(repr(connection_errors[0]))
            returned = [p for p, r in failures if isinstance(r, aiormq.exceptions.PublishError)]
            if returned and all(p.kind in ("document", "response") for p, _ in failures):
                # Unroutable is permanent: dead-letter the inbound message with the reason.
                sentence = f"no queue is bound to {returned[0].exchange!r} with key {returned[0].routing_key!r}"

                def undeliverable() -> Plan:
                    # Nothing reached customs: what the pipeline recorded as accepted (versions,
                    # the saved answer) is withdrawn, so that a replay is judged afresh.
                    self.gw.journal.withdraw_acceptance(partner, plan.inbound_id)
                    return self._dead_letter_plan(
                        plan.inbound_id,
                        partner,
                        queue,
                        delivery,
                        Rejection("UNROUTABLE", sentence, "route"),
                    )

                plan2 = await self._serial.run(undeliverable)
                await self._carry_out(channel, message, delivery, plan2, partner, queue)
                return
            # A nack (or a return of a dead letter / retry): transient, try again later.
            log.warning(
                "the broker refused a publish; the message is requeued",
                refused=[f"{p.exchange}/{p.routing_key}: {r!r}" for p, r in failures],
            )
            await asyncio.sleep(1.0)
            await message.nack(requeue=True)
            return
        if plan.record or plan.on_confirmed is not None:
            try:
                await self._serial.run(lambda: self._record(plan), group="journal")
            except JournalUnavailable as exc:
                # Everything is published; a redelivery republishes the same ids (dropped
                # by consumers) and records again.
                log.warning("journal unavailable after publishing; requeued", error=str(exc))
                await asyncio.sleep(1.0)
                await message.nack(requeue=True)
                return
        await message.ack()
        self.processed += 1
        log.info("done", message_id=plan.inbound_id, outcome=plan.outcome, detail=plan.detail)

    def _record(self, plan: Plan) -> None:
        with self.gw.journal.unit_of_work():
            if plan.record:
                self.gw.journal.complete(plan.inbound_id, plan.outcome, plan.detail, plan.events)
            if plan.on_confirmed is not None:
                plan.on_confirmed()

    async def _exchange(self, channel: AbstractChannel, name: str) -> AbstractExchange:
        if name == "":
            return channel.default_exchange
        exchange = self._exchanges.get(name)
        if exchange is None:
            exchange = await channel.get_exchange(name, ensure=False)
            self._exchanges[name] = exchange
        return exchange

    async def _publish_all(
        self, channel: AbstractChannel, publishes: list[Publish]
    ) -> list[BaseException | None]:
        """Publish a plan's messages; per message None, or what went wrong (as gather gives)."""
        if sum(len(p.body) for p in publishes) <= SEQUENTIAL_PUBLISH_BYTES:
            return await asyncio.gather(
                *(self._publish(channel, p) for p in publishes), return_exceptions=True
            )
        results: list[BaseException | None] = []
        for p in publishes:
            try:
                await self._publish(channel, p)
                results.append(None)
            except Exception as exc:  # the same verdicts as gather(return_exceptions=True)
                results.append(exc)
        return results

    async def _publish(self, channel: AbstractChannel, p: Publish) -> None:
        exchange = await self._exchange(channel, p.exchange)
        # A spooled document is read back only now, and let go once confirmed (issue #8).
        message = aio_pika.Message(
            content(p.body),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=p.message_id,
            correlation_id=p.correlation_id,
            content_type=p.content_type,
            type=p.type,
            headers=p.headers,
            timestamp=dt.datetime.now(dt.UTC),
        )
        await exchange.publish(message, routing_key=p.routing_key, mandatory=True, timeout=60)

    # ------------------------------------------------------------------ decisions (thread)
    @staticmethod
    @contextlib.contextmanager
    def _about(partner: Partner, d: Delivery) -> Iterator[tuple[str, str]]:
        """(inbound id, correlation id) of ``d``, bound to every log line inside."""
        inbound_id = inbound_id_of(partner.id, d)
        correlation_id = d.correlation_id or inbound_id
        with message_context(
            message_id=inbound_id, partner=partner.id, correlation_id=correlation_id
        ):
            yield inbound_id, correlation_id

    def _arrive(self, partner: Partner, queue: str, d: Delivery) -> Plan | None:
        """Record the arrival (see :meth:`_receive`); run before the decision, in a batch."""
        with self._about(partner, d) as (inbound_id, correlation_id):
            return self._receive(partner, queue, d, inbound_id, correlation_id)

    def _decide(
        self, partner: Partner, queue: str, d: Delivery, arrived: Callable[[], Plan | None]
    ) -> Plan:
        """The plan for ``d``; ``arrived`` gives its recorded arrival (:meth:`_arrive`)."""
        with self._about(partner, d) as (inbound_id, correlation_id):
            plan = self._decide_in_context(partner, queue, d, inbound_id, correlation_id, arrived)
        if 0 < self.trim_min_bytes <= len(d.payload):
            # The pipeline's garbage of a large input is freed now (issue #8): given back,
            # so that publishing its documents does not add to it.
            malloc.trim()
        return plan

    def _decide_in_context(
        self,
        partner: Partner,
        queue: str,
        d: Delivery,
        inbound_id: str,
        correlation_id: str,
        arrived: Callable[[], Plan | None],
    ) -> Plan:
        journal = self.gw.journal
        try:
            early = arrived()
            if early is not None:
                return early
            log.info("received", bytes=len(d.body), queue=queue, redelivered=d.redelivered)
            metrics.received(partner.id)
            started = time.perf_counter()
            pipeline = self.gw.pipeline
            spooled = self.spool.batch()
            try:
                outcome = pipeline.evaluate(
                    d.body, partner, correlation_id, inbound_id, spool=spooled
                )
                # The whole decision is recorded in one transaction: one commit, and a crash
                # leaves either all of it or none (the redelivery then decides afresh). The
                # answer kept for identical resends is saved in it, after the duplicate checks.
                with journal.unit_of_work():
                    plan = self._plan(partner, queue, d, inbound_id, correlation_id, outcome)
                    pipeline.save_answer(outcome)
                    journal.decide(inbound_id, plan.outcome, plan.detail)
            except BaseException:
                spooled.discard()
                raise
            plan.spooled = spooled
            self._let_go_of_body(d, plan)
            metrics.decided(partner.id, plan.outcome, outcome, time.perf_counter() - started)
            log.info(
                "decided",
                outcome=plan.outcome,
                publishes=len(plan.publishes),
                ms=round((time.perf_counter() - started) * 1000, 2),
            )
            return plan
        except JournalUnavailable as exc:
            return self._retry_plan(
                partner.id, queue, d, inbound_id, "JOURNAL_UNAVAILABLE", str(exc), "journal"
            )

    @staticmethod
    def _let_go_of_body(d: Delivery, plan: Plan) -> None:
        """A large inbound body, decided and not among the plan's publishes, waits in the
        plan's spool until the message is settled (a late dead letter reads it back): not in
        memory while the documents made of it are published (issue #8)."""
        if (
            plan.spooled is None
            or len(d.body) < plan.spooled.spool.min_bytes
            or any(p.body is d.body for p in plan.publishes)
        ):
            return
        spooled = plan.spooled.keep([d.body])
        assert isinstance(spooled, SpooledDocument)
        d.spooled_body, d.body = spooled, b""

    def _receive(
        self, partner: Partner, queue: str, d: Delivery, inbound_id: str, correlation_id: str
    ) -> Plan | None:
        """Record the arrival (one transaction); a plan when the message needs no pipeline.

        The worker records the arrivals of the messages the decision thread takes together
        in one transaction (``SerialThread``'s preparations), each before its pipeline runs.
        If that transaction fails, each arrival is recorded again on its own.
        """
        journal = self.gw.journal
        with journal.unit_of_work():
            prior = journal.processed(inbound_id)
            if prior is not None and prior.state == "done":
                # Processed and confirmed before; only the inbound ack was lost (a crash).
                journal.record_event(
                    inbound_id, "duplicate", f"redelivery of a message already {prior.outcome}"
                )
                log.info("redelivery of a processed message: acknowledged, nothing republished")
                return Plan(inbound_id, "redelivery", prior.outcome, record=False)
            if self.fault_marker is not None and self.fault_marker in d.body:
                raise RuntimeError(f"injected fault ({FAULT_ENV})")
            if (
                d.user_id
                and d.user_id in self._partner_users
                and d.user_id != user_for(self.names, partner.id)
            ):
                # RabbitMQ checked user_id against the connection's user: this really is
                # another account writing into this partner's inbound (issue #6).
                return self._dead_letter_plan(
                    inbound_id,
                    partner.id,
                    queue,
                    d,
                    Rejection(
                        "SENDER_MISMATCH",
                        f"the message was published by {self._partner_users[d.user_id]}'s "
                        f"broker user {d.user_id!r} into {partner.id}'s inbound",
                        "identify",
                    ),
                )
            journal.record_message(
                inbound_id, type="inbound", partner=partner.id, correlation_id=correlation_id
            )
            journal.record_event(
                inbound_id,
                "received",
                f"{len(d.body)} bytes on {queue}" + (" (redelivered)" if d.redelivered else ""),
            )
        return None

    def _plan(
        self,
        partner: Partner,
        queue: str,
        d: Delivery,
        inbound_id: str,
        correlation_id: str,
        outcome: Outcome,
    ) -> Plan:
        journal = self.gw.journal
        translation = outcome.translation
        types = ",".join(dict.fromkeys(translation.message_types)) or translation.format
        journal.record_message(
            inbound_id, type=types, partner=partner.id, correlation_id=correlation_id
        )
        report = translation.syntax_report
        events: list[EventRow] = [(inbound_id, st, detail) for st, detail in outcome.events]
        journal.add_references(inbound_id, outcome.references)  # ministry receipts (#5)
        if outcome.rejection is None:
            self._dedup(partner, inbound_id, d, outcome, events)
        alone = _dead_lettered_alone(translation)
        if outcome.rejection is not None and not alone:
            plan = self._dead_letter_plan(inbound_id, partner.id, queue, d, outcome.rejection)
        elif outcome.rejection is not None:
            # Every message refused, each for its own reason: one dead letter each.
            plan = Plan(
                inbound_id, "rejected", f"{outcome.rejection.reason}: {outcome.rejection.sentence}"
            )
            self._message_dead_letters(plan, inbound_id, partner.id, queue, d, translation)
        else:
            plan = Plan(inbound_id, "routed")
            routed_to = []
            for routed in outcome.routed:
                doc = routed.document
                did = doc.header.message_id
                doc_type = doc.header.document_type
                ref = doc.header.business_reference
                journal.record_message(
                    did,
                    type=doc_type,
                    partner=partner.id,
                    correlation_id=correlation_id,
                    parent_id=inbound_id,
                )
                journal.add_references(did, doc.references())
                journal.add_references(inbound_id, doc.references())
                source = doc.header.source
                journal.record_origin(
                    Origin(
                        did,
                        inbound_id,
                        partner.id,
                        _now(),
                        {
                            "document_type": doc_type,
                            "business_reference": ref,
                            "role": partner.role,
                            "format": source.format,
                            "message_type": source.message_type,
                            "syntax_version": source.syntax_version,
                            "interchange_reference": source.interchange_reference,
                            "message_reference": source.message_reference,
                            "interchange_sender": report.sender if report else "",
                            "interchange_sender_qualifier": report.sender_qualifier
                            if report
                            else "",
                            "interchange_recipient": report.recipient if report else "",
                            "syntax_id": report.syntax_id if report else "",
                        },
                    )
                )
                destinations = [
                    routed.destination,
                    *(
                        c
                        for c in routing.copies_for(doc, partner.id, self.copies)
                        if c != routed.destination
                    ),
                ]
                for dest in destinations:
                    plan.publishes.append(
                        Publish(
                            self.names.customs_exchange,
                            dest,
                            routed.signed_xml,
                            did,
                            inbound_id,
                            "application/xml",
                            doc_type,
                            {
                                "x-edigw-partner": partner.id,
                                "x-edigw-business-reference": ref,
                                "x-edigw-inbound-id": inbound_id,
                            },
                            "document",
                        )
                    )
                    target = self.names.customs(dest)
                    events.append((did, "routed", f"signed, to {target}"))
                    events.append((inbound_id, "routed", f"{doc_type} {ref} to {target}"))
                    routed_to.append(target)
            plan.detail = ", ".join(routed_to) or "nothing new to route"
            if alone:
                # Issue #15: the others went on; each refused message has a dead letter of
                # its own, in a copy of the interchange's envelope.
                self._message_dead_letters(plan, inbound_id, partner.id, queue, d, translation)
                plan.detail += f"; {len(translation.rejected_messages)} message(s) rejected"
        plan.events[:0] = events
        # CONTRL, then an APERAK when the content was rejected (issue #4): each its own message.
        for i, (ack_type, ack) in enumerate(outcome.acknowledgements):
            verdict = "rejected" if outcome.rejection else "accepted"
            if ack_type == "CONTRL" and len(outcome.acknowledgements) > 1:
                verdict = "accepted (syntax)"
            plan.publishes.append(
                Publish(
                    self.names.outbound_exchange,
                    partner.id,
                    ack,
                    derived_id(inbound_id, "ack" if i == 0 else f"ack{i}"),
                    inbound_id,
                    "application/xml" if ack[:1] == b"<" else "application/edifact",
                    ack_type,
                    {},
                    "ack",
                )
            )
            plan.events.append((inbound_id, "acknowledged", f"{ack_type} {verdict}"))
        return plan

    def _message_dead_letters(
        self,
        plan: Plan,
        inbound_id: str,
        partner: str,
        queue: str,
        d: Delivery,
        translation: Translation,
    ) -> None:
        """A dead letter per refused message of ``d``: that message alone in its envelope."""
        rejected = translation.rejected_messages
        bodies = envelope.alone(content(d.payload), (r.index for r in rejected))
        for r in rejected:
            letter = self._dead_letter_plan(
                inbound_id,
                partner,
                queue,
                dataclasses.replace(d, body=bodies.get(r.index, b""), spooled_body=None),
                r.rejection,
                message_reference=r.head.reference,
                message_id=derived_id(inbound_id, f"dl{r.index}"),
            )
            plan.publishes.extend(letter.publishes)
            plan.events.extend(letter.events)

    def _dedup(
        self,
        partner: Partner,
        inbound_id: str,
        d: Delivery,
        outcome: Outcome,
        events: list[EventRow],
    ) -> None:
        """Claim the interchange and document keys; drop or reject what was seen before."""
        report = outcome.translation.syntax_report
        keys: dict[str, str] = {}
        icr_key = ""
        # An interchange accepted in part does not claim its control reference (issue #15):
        # its refused messages come back in it, one by one, when an operator replays them
        # or the partner corrects them; each document is still claimed on its own key.
        if (
            report is not None
            and report.control_reference
            and not outcome.translation.rejected_messages
        ):
            icr_key = f"icr:{partner.id}:{report.sender}:{report.control_reference}"
            keys[icr_key] = hashlib.sha256(d.body).hexdigest()
        doc_keys = {}
        for routed in outcome.routed:
            key = document_key(partner.id, routed.document)
            doc_keys[routed.document.header.message_id] = key
            keys[key] = (
                routed.document.header.payload_hash
                or hashlib.sha256(content(routed.signed_xml)).hexdigest()
            )
        conflicts = {c.key: c for c in self.gw.journal.claim(inbound_id, keys)}
        icr = conflicts.get(icr_key) if icr_key else None
        if icr is not None and report is not None:
            sentence = (
                f"interchange {report.control_reference} from {report.sender} was already "
                f"received as message {icr.owner}"
                + ("" if icr.same_content else ", with other content")
            )
            outcome.translation.rejection = Rejection(
                "DUPLICATE_INTERCHANGE",
                sentence,
                "dedup",
                [Problem("DUPLICATE_INTERCHANGE", "segment UNB element 5", sentence)],
            )
            outcome.routed = []
            # CONTRL: interchange rejected, 26 = duplicate detected (service code list 0085).
            for interchange_report in report.reports[:1]:
                interchange_report.errors.append(EdifactError("26", sentence, tag="UNB"))
            outcome.acknowledgement = contrl.encode(report, our_id=self.gw.settings.interchange_id)
            outcome.acknowledgement_type = "CONTRL"
            return
        keep = []
        for routed in outcome.routed:
            c = conflicts.get(doc_keys[routed.document.header.message_id])
            if c is not None and c.same_content:
                doc = routed.document
                events.append(
                    (
                        inbound_id,
                        "duplicate",
                        f"{doc.header.document_type} {doc.header.business_reference} "
                        f"version {doc.header.document_version} was already routed "
                        f"(from message {c.owner}); not routed again",
                    )
                )
                log.info("duplicate document dropped", key=c.key, first=c.owner)
                continue
            if c is not None:
                log.warning(
                    "same business key and version with other content: routed, customs decides",
                    key=c.key,
                    first=c.owner,
                )
            keep.append(routed)
        outcome.routed = keep

    def _dead_letter_plan(
        self,
        inbound_id: str,
        partner: str,
        queue: str,
        d: Delivery,
        rejection: Rejection,
        *,
        message_reference: str = "",
        message_id: str | None = None,
    ) -> Plan:
        headers = broker.dead_letter_headers(
            d.headers,
            queue,
            broker.DeadLetterReason(
                reason=rejection.reason,
                sentence=rejection.sentence,
                stage=rejection.stage,
                partner=partner,
                problems=tuple(p.line() for p in rejection.problems),
            ),
            original_exchange=d.exchange,
            original_routing_key=d.routing_key,
        )
        if message_reference:
            headers["x-edigw-message-reference"] = message_reference[:35]
        dlq = self.names.dead_letter(queue)
        about = f"message {message_reference}: " if message_reference else ""
        log.warning(
            "dead-lettered",
            message_reference=message_reference or None,
            reason=rejection.reason,
            sentence=rejection.sentence,
            stage=rejection.stage,
            queue=dlq,
        )
        return Plan(
            inbound_id,
            "rejected",
            f"{rejection.reason}: {rejection.sentence}",
            [
                Publish(
                    self.names.dead_letter_exchange,
                    queue,
                    d.payload,
                    message_id or d.message_id or inbound_id,
                    d.correlation_id,
                    d.content_type or "application/octet-stream",
                    d.type,
                    headers,
                    "dead-letter",
                )
            ],
            [
                (inbound_id, "rejected", f"{about}{rejection.reason}: {rejection.sentence}"),
                (inbound_id, "dead-lettered", f"{about}to {dlq}"),
            ],
        )

    def _retry_plan(
        self,
        partner: str,
        queue: str,
        d: Delivery,
        inbound_id: str,
        reason: str,
        sentence: str,
        stage: str,
    ) -> Plan:
        """A transient failure: to the next delay queue, or the DLQ when the tiers are used up."""
        attempts = int(d.headers.get(broker.H_ATTEMPTS, 0) or 0) + 1
        if attempts > len(self.retry_delays):
            plan = self._dead_letter_plan(
                inbound_id,
                partner,
                queue,
                d,
                Rejection(
                    reason,
                    f"{sentence} (gave up after {attempts - 1} delayed retries)",
                    stage,
                ),
            )
            plan.record = False  # the journal may be what fails; the headers tell the story
            return plan
        headers = broker.dead_letter_headers(
            d.headers,
            queue,
            broker.DeadLetterReason(reason, sentence, stage, partner),
            original_exchange=d.exchange,
            original_routing_key=d.routing_key,
            attempts=attempts,
        )
        delay = self.retry_delays[attempts - 1]
        log.warning(
            "transient failure: retrying later",
            reason=reason,
            sentence=sentence,
            attempt=attempts,
            delay_ms=delay,
        )
        events: list[EventRow] = []
        # The journal may be the thing that fails; the headers carry the story then.
        with contextlib.suppress(JournalUnavailable):
            self.gw.journal.record_event(
                inbound_id, "retried", f"{reason}: retry {attempts} in {delay} ms"
            )
        return Plan(
            inbound_id,
            "retry",
            f"{reason}: retry {attempts} in {delay} ms",
            [
                Publish(
                    retry_exchange(self.names, attempts),
                    queue,
                    d.payload,
                    d.message_id or inbound_id,
                    d.correlation_id,
                    d.content_type or "application/octet-stream",
                    d.type,
                    headers,
                    "retry",
                )
            ],
            events,
            record=False,
        )

    def _failure_plan(self, partner: str, queue: str, d: Delivery, exc: BaseException) -> Plan:
        """The handler raised: requeue, and dead-letter it on its ``delivery_limit``-th delivery."""
        inbound_id = inbound_id_of(partner, d)
        if isinstance(exc, JournalUnavailable):
            return self._retry_plan(
                partner, queue, d, inbound_id, "JOURNAL_UNAVAILABLE", str(exc), "journal"
            )
        # Quorum queues count earlier deliveries in x-delivery-count.
        count = int(d.headers.get("x-delivery-count", 0) or 0) + 1
        limit = self.gw.settings.delivery_limit
        log.error(
            "handler failed",
            error=f"{type(exc).__name__}: {exc}",
            delivery=count,
            delivery_limit=limit,
            exc_info=exc,
        )
        if count < limit:
            return Plan(inbound_id, "requeue", requeue=True, record=False)
        plan = self._dead_letter_plan(
            inbound_id,
            partner,
            queue,
            d,
            Rejection(
                "INTERNAL_ERROR",
                f"the gateway failed on this message {count} times "
                f"({type(exc).__name__}: {exc}); operators are told",
                "process",
            ),
        )
        # The journal may be what fails; the dead letter must not depend on it.
        plan.record = False
        plan.publishes[0].headers[broker.H_ATTEMPTS] = count
        return plan


def retry_exchange(names: Names, attempt: int) -> str:
    """The exchange of the retry tier for ``attempt`` (1-based); the routing key is the queue.

    >>> retry_exchange(Names(), 1)
    'edigw.retry.1'
    """
    return f"{names.retry_exchange}.{attempt}"


async def _consume(
    channel: AbstractChannel,
    queue: str,
    on_message: Callable[[AbstractIncomingMessage], Awaitable[None]],
) -> str:
    """Consume ``queue`` with ``on_message``: aio-pika's ``Queue.consume`` without its
    wrapper, whose frame holds aiormq's delivered message (hence the body) until the callback
    ends; here the incoming message is the body's only holder, so a large one can be let go
    (issue #8). aiormq's public ``basic_consume``; cancelled with ``basic_cancel``."""
    underlay = await channel.get_underlay_channel()

    async def consumer(delivered: DeliveredMessage) -> None:
        message = aio_pika.IncomingMessage(delivered)
        del delivered
        await on_message(message)

    ok = await underlay.basic_consume(queue=queue, consumer_callback=consumer)
    if ok.consumer_tag is None:
        raise RuntimeError(f"the broker gave no consumer tag for {queue}")
    return ok.consumer_tag


def _dead_lettered_alone(translation: Translation) -> bool:
    """Whether the refused messages of an interchange go to dead letters one by one.

    They do when its envelope was sound and it held more than one message; a lone
    message, or an interchange refused as a whole, is dead-lettered as it came.
    """
    return bool(translation.rejected_messages) and translation.message_count > 1


def _delivery(message: AbstractIncomingMessage) -> Delivery:
    return Delivery(
        body=message.body,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        headers=dict(message.headers or {}),
        exchange=message.exchange or "",
        routing_key=message.routing_key or "",
        redelivered=bool(message.redelivered),
        user_id=message.user_id,
        content_type=message.content_type,
        type=message.type,
    )


__all__ = ["Delivery", "Plan", "Publish", "Worker", "inbound_id_of", "retry_exchange"]
