"""The gateway's worker: consume partner messages, carry out the pipeline's outcome, ack.

Ordering makes the guarantee: every publish (canonical documents, dead letter,
acknowledgement) is confirmed by the broker before the inbound message is
acknowledged. A crash in between means a redelivery, never a loss.
"""

from __future__ import annotations

import functools
import signal
import time
import uuid
from types import FrameType
from typing import Any

from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError

from gateway import broker
from gateway.bootstrap import Gateway
from gateway.config import Partner
from gateway.logs import get_logger, message_context
from gateway.pipeline import Outcome, Problem, Rejection, Translation
from gateway.topology import declare

log = get_logger()


class Worker:
    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.stopping = False
        self.processed = 0

    # ------------------------------------------------------------------ lifecycle
    def request_stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        # Only set a flag: a signal handler may interrupt a log write or pika's I/O, and
        # doing more here (logging included) could re-enter them.
        self.stopping = True

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)

    def run(self) -> None:
        """Serve until asked to stop; reconnect with backoff when the broker goes away."""
        backoff = 1.0
        while not self.stopping:
            try:
                self._serve()
                backoff = 1.0
            except AMQPError as exc:
                if self.stopping:
                    break
                log.warning(
                    "broker connection lost, reconnecting", error=repr(exc), retry_in=backoff
                )
                time.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
        log.info("stopped", processed=self.processed)

    def _serve(self) -> None:
        settings = self.gw.settings
        connection = broker.connect(settings.broker_url)
        try:
            channel = broker.confirmed_channel(connection)
            declare(channel, self.gw.topology)
            channel.basic_qos(prefetch_count=settings.prefetch)
            queues = []
            for partner in settings.partners_with_role("port", "ministry"):
                queue = self.gw.names.inbound(partner.id)
                channel.basic_consume(queue, functools.partial(self._on_message, partner, queue))
                queues.append(queue)
            log.info("consuming", queues=queues, prefetch=settings.prefetch)
            while not self.stopping:
                connection.process_data_events(time_limit=0.5)
            log.info("stopping: in-flight messages are finished, unprocessed ones go back to the queue")
        finally:
            if connection.is_open:
                # Closing the channel returns prefetched, unprocessed messages to their queues.
                connection.close()

    # ------------------------------------------------------------------ one message
    def _on_message(
        self,
        partner: Partner,
        queue: str,
        channel: BlockingChannel,
        method: Any,
        props: Any,
        body: bytes,
    ) -> None:
        message_id = props.message_id or str(uuid.uuid4())
        correlation_id = props.correlation_id or message_id
        with message_context(
            message_id=message_id, partner=partner.id, correlation_id=correlation_id
        ):
            started = time.perf_counter()
            journal = self.gw.journal
            journal.record_message(
                message_id, type="inbound", partner=partner.id, correlation_id=correlation_id
            )
            journal.record_event(message_id, "received", f"{len(body)} bytes on {queue}")
            log.info("received", bytes=len(body), queue=queue, redelivered=method.redelivered)
            try:
                outcome = self.gw.pipeline.process(body, partner, correlation_id)
            except Exception as exc:  # a bug must not kill the worker nor lose the message
                log.exception("pipeline failed")
                outcome = Outcome(
                    Translation(
                        rejection=Rejection(
                            "INTERNAL_ERROR",
                            f"the gateway failed on this message ({type(exc).__name__}); operators are told",
                            "process",
                        )
                    )
                )
            self._route(
                channel, partner, message_id, correlation_id, outcome, queue, body, props, method
            )
            if outcome.acknowledgement:
                broker.publish(
                    channel,
                    self.gw.names.outbound_exchange,
                    partner.id,
                    outcome.acknowledgement,
                    message_id=str(uuid.uuid4()),
                    correlation_id=message_id,
                    content_type="application/edifact",
                    type=outcome.acknowledgement_type,
                )
                verdict = "rejected" if outcome.rejection else "accepted"
                journal.record_event(
                    message_id, "acknowledged", f"{outcome.acknowledgement_type} {verdict}"
                )
            channel.basic_ack(method.delivery_tag)
            self.processed += 1
            log.info(
                "done",
                outcome="rejected" if outcome.rejection else "routed",
                ms=round((time.perf_counter() - started) * 1000, 2),
            )

    def _route(
        self,
        channel: BlockingChannel,
        partner: Partner,
        message_id: str,
        correlation_id: str,
        outcome: Outcome,
        queue: str,
        body: bytes,
        props: Any,
        method: Any,
    ) -> None:
        journal = self.gw.journal
        types = (
            ",".join(dict.fromkeys(outcome.translation.message_types)) or outcome.translation.format
        )
        journal.record_message(
            message_id, type=types, partner=partner.id, correlation_id=correlation_id
        )
        if outcome.rejection is None:
            try:
                for routed in outcome.routed:
                    doc = routed.document
                    broker.publish(
                        channel,
                        self.gw.names.customs_exchange,
                        routed.destination,
                        routed.signed_xml,
                        message_id=doc.header.message_id,
                        correlation_id=message_id,
                        content_type="application/xml",
                        type=doc.header.document_type,
                        headers={
                            "x-edigw-partner": partner.id,
                            "x-edigw-business-reference": doc.header.business_reference,
                        },
                    )
                    journal.record_message(
                        doc.header.message_id,
                        type=doc.header.document_type,
                        partner=partner.id,
                        correlation_id=correlation_id,
                        parent_id=message_id,
                    )
                    journal.add_references(doc.header.message_id, doc.references())
                    journal.add_references(message_id, doc.references())
                    queue_name = self.gw.names.customs(routed.destination)
                    journal.record_event(
                        doc.header.message_id, "routed", f"signed, to {queue_name}"
                    )
                    journal.record_event(
                        message_id,
                        "routed",
                        f"{doc.header.document_type} {doc.header.business_reference} to {queue_name}",
                    )
                    log.info("routed", document=doc.header.message_id, destination=queue_name)
                return
            except broker.PublishError as exc:
                outcome.translation.rejection = Rejection("UNROUTABLE", str(exc), "route")
                outcome.routed = []
        rejection = outcome.rejection
        assert rejection is not None
        broker.dead_letter(
            channel,
            self.gw.names,
            queue,
            body,
            props,
            broker.DeadLetterReason(
                reason=rejection.reason,
                sentence=rejection.sentence,
                stage=rejection.stage,
                partner=partner.id,
                problems=tuple(p.line() for p in rejection.problems),
            ),
            original_exchange=method.exchange,
            original_routing_key=method.routing_key,
        )
        journal.record_event(message_id, "rejected", f"{rejection.reason}: {rejection.sentence}")
        journal.record_event(message_id, "dead-lettered", f"to {self.gw.names.dead_letter(queue)}")
        log.warning(
            "dead-lettered",
            reason=rejection.reason,
            sentence=rejection.sentence,
            stage=rejection.stage,
        )


__all__ = ["Problem", "Worker"]
