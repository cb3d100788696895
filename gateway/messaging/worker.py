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
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator
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

from gateway.config import INBOUND_ROLES, ConfigError, Partner, load
from gateway.logs import bind_reference, get_logger, message_context
from gateway.messaging import broker, malloc, metrics, timers
from gateway.messaging.components import Gateway
from gateway.messaging.health import Readiness
from gateway.messaging.partners import user_for
from gateway.messaging.serial import SerialThread
from gateway.messaging.topology import declare
from gateway.service import routing
from gateway.service.decision import FAULT_ENV, DecisionService
from gateway.service.plan import Delivery, Plan, Publish, inbound_id_of
from gateway.service.responses import ResponseHandler, overdue_after
from gateway.service.translation import Rejection
from gateway.storage.journal import JournalUnavailable
from gateway.storage.spool import Spool, content

log = get_logger()

# Publishes of a plan go out together (their confirms overlap) unless their bodies add up to
# more than this: then one after the other, each confirmed before the next is framed. aiormq
# holds a body twice while it frames it, so a vessel's manifests (5 MB each at 5,000 bills)
# sent at once were the gateway's memory peak; a 1-BL CUSCAR's two publishes stay pipelined.
SEQUENTIAL_PUBLISH_BYTES = 1 << 20


class Worker:
    def __init__(self, gateway: Gateway, metrics_port: int | None = None) -> None:
        self.gw = gateway
        # /readyz (gateway.messaging.health): connected and consuming, as the loop knows it.
        self.readiness = Readiness()
        self.metrics_port = metrics_port  # edigw run --metrics-port, over [metrics] port
        self.stopping = False
        self.processed = 0
        self.names = gateway.names
        settings = gateway.settings
        self.heartbeat = settings.config.broker.heartbeat
        self.overdue_after = overdue_after(settings.config.responses)
        self.overdue_check = settings.config.responses.overdue_check_seconds
        # Broker users of the partners (issue #6): a message whose user_id is another
        # partner's user is refused. Gateway and operator accounts are trusted: broker
        # permissions decide who may write into an inbound at all.
        partner_users = {
            user_for(self.names, p.id): p.id for p in settings.partners_with_role(*INBOUND_ROLES)
        }
        # Headers are a partner's data, never instructions (issue #14): only messages of the
        # gateway's side keep theirs (see _take_in); a dead letter's origin is the exchange
        # and key that feed the queue it was consumed from, as configured, never a header.
        self.own_user = gateway.broker.user
        origins = {q.name: q.bindings[0] for q in self.gw.topology.queues if q.bindings}
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
        # Every decision is the service's; the worker carries its plans out.
        self.decisions = DecisionService(
            settings=settings,
            names=self.names,
            journal=self.gw.journal,
            pipeline=self.gw.pipeline,
            spool=self.spool,
            origins=origins,
            partner_users=partner_users,
            copies=settings.copies,
            retry_delays=tuple(settings.config.broker.retry_delays_ms),
            fault_marker=os.environ.get(FAULT_ENV, "").encode() or None,
            calls=self.gw.pipeline.calls,
        )
        self.response_handler = ResponseHandler(self.decisions)
        self.trim_min_bytes = settings.config.gateway.malloc_trim_min_bytes

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
        except ConfigError as exc:
            log.error("routes reload refused; the old rules stay", error=str(exc))
            return False
        copies = new.copies
        changed = routing.changes(
            self.gw.pipeline.routes, new.routes, self.decisions.copies, copies
        )
        # Assignments of whole tuples: the decision thread sees the old or the new rules.
        self.gw.pipeline.routes = new.routes
        self.decisions.copies = copies
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
        # None when the port is 0.
        metrics_server = metrics.start(self.gw, self.readiness, self.metrics_port)
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
        connection = self.gw.broker.blocking()
        try:
            declare(connection.channel(), self.gw.topology)
        finally:
            connection.close()

    async def _serve(self) -> None:
        assert self._stop is not None and self._unblocked is not None
        settings = self.gw.settings
        await asyncio.to_thread(self._declare)
        connection = await self.gw.broker.asynchronous(
            heartbeat=self.heartbeat, name=f"edigw run {os.getpid()}", timeout=15
        )
        lost: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def on_close(_sender: Any, exc: BaseException | None = None) -> None:
            if not lost.done():
                lost.set_result(exc)

        connection.close_callbacks.add(on_close)
        metrics.broker_connected(True)
        self.readiness.connected(True)
        self._watch_blocked(connection)
        self._unblocked.set()
        self._exchanges = {}
        try:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            channel.close_callbacks.add(on_close)
            await channel.set_qos(prefetch_count=settings.prefetch)
            consumers = []
            for partner in settings.partners_with_role(*INBOUND_ROLES):
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
                retry_delays_ms=list(self.decisions.retry_delays),
            )
            self.readiness.consuming(True)
            stop_task: asyncio.Future[Any] = asyncio.ensure_future(self._stop.wait())
            watches = [
                asyncio.ensure_future(self._watch_stalls()),
                asyncio.ensure_future(
                    timers.watch_overdue(
                        self.gw.journal, self._executor, self.overdue_after, self.overdue_check
                    )
                ),
                asyncio.ensure_future(
                    timers.watch_due_calls(
                        self.decisions,
                        self._executor,
                        lambda publishes: self._publish_all(channel, publishes),
                        f"{socket.gethostname()}:{os.getpid()}",
                        settings.config.calls.reconcile_check_seconds,
                    )
                ),
            ]
            try:
                await asyncio.wait({stop_task, lost}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop_task.cancel()
                for watch in watches:
                    watch.cancel()
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
            self.readiness.connected(False)
            if not connection.is_closed:
                await connection.close()

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
            delivery = self._take_in(message)
            await self._handle(
                channel,
                message,
                delivery,
                partner.id,
                queue,
                lambda arrived: self._decide(partner, queue, delivery, arrived),
                lambda exc: self.decisions.failure_plan(partner.id, queue, delivery, exc),
                arrive=lambda: self._arrive(partner, queue, delivery),
            )

        return on_message

    def _response_callback(
        self, channel: AbstractChannel, queue: str
    ) -> Callable[[AbstractIncomingMessage], Any]:
        async def on_message(message: AbstractIncomingMessage) -> None:
            delivery = self._take_in(message)
            await self._handle(
                channel,
                message,
                delivery,
                "customs",
                queue,
                lambda: self.response_handler.decide(queue, delivery),
                lambda exc: self.decisions.failure_plan("customs", queue, delivery, exc),
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
        # Every line of the message's story, the carrying out's too, says which message,
        # whose, and (once decided) about what (issue #19). The task's own context.
        inbound_id = inbound_id_of(partner, delivery)
        with message_context(
            message_id=inbound_id,
            partner=partner,
            correlation_id=delivery.correlation_id or delivery.message_id or inbound_id,
            business_reference=None,
        ):
            try:
                if not self._unblocked.is_set():
                    await self._unblocked.wait()
                try:
                    plan = await self._serial.run(decide, prepare=arrive)
                except Exception as exc:  # never crash the worker on input
                    try:
                        plan = on_failure(exc)
                    except Exception as failed:
                        # Never leave a message unsettled (it would hold a prefetch slot for
                        # good): the broker dead-letters it, x-death says from where.
                        log.error(
                            "the failure plan failed: rejected to the broker", exc_info=failed
                        )
                        plan = Plan(
                            delivery.message_id or "", "rejected", reject=True, record=False
                        )
                if delivery.spooled_body is not None and isinstance(
                    message, aio_pika.IncomingMessage
                ):
                    # Its other holder; the delivery's is gone (DecisionService.let_go_of_body).
                    message.body = b""
                bind_reference(plan.business_reference)
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
        if plan.reject:
            await message.reject(requeue=False)
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
                    return self.decisions.dead_letter_plan(
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
        correlation_id = d.correlation_id or d.message_id or inbound_id
        with message_context(
            message_id=inbound_id,
            partner=partner.id,
            correlation_id=correlation_id,
            business_reference=None,  # bound by the decision once it is known (issue #19)
        ):
            yield inbound_id, correlation_id

    def _arrive(self, partner: Partner, queue: str, d: Delivery) -> Plan | None:
        """Record the arrival (``DecisionService.receive``); run before the decision, in a batch."""
        with self._about(partner, d) as (inbound_id, correlation_id):
            return self.decisions.receive(partner, queue, d, inbound_id, correlation_id)

    def _decide(
        self, partner: Partner, queue: str, d: Delivery, arrived: Callable[[], Plan | None]
    ) -> Plan:
        """The plan for ``d``; ``arrived`` gives its recorded arrival (:meth:`_arrive`)."""
        with self._about(partner, d) as (inbound_id, correlation_id):
            plan = self.decisions.decide(partner, queue, d, inbound_id, correlation_id, arrived)
        if plan.decision is not None:
            metrics.received(partner.id)
            metrics.decided(partner.id, plan.outcome, plan.decision, plan.seconds)
        if 0 < self.trim_min_bytes <= len(d.payload):
            # The pipeline's garbage of a large input is freed now (issue #8): given back,
            # so that publishing its documents does not add to it.
            malloc.trim()
        return plan

    def _take_in(self, message: AbstractIncomingMessage) -> Delivery:
        """The delivery, its headers as the gateway may read them: a partner's quarantined."""
        delivery = _delivery(message)
        if not broker.from_gateway(
            delivery.user_id,
            delivery.exchange,
            delivery.headers,
            own_user=self.own_user,
            retry_exchange=self.names.retry_exchange,
        ):
            delivery.headers = broker.quarantine(delivery.headers)
        return delivery


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


__all__ = ["Delivery", "Plan", "Publish", "Worker", "inbound_id_of"]
