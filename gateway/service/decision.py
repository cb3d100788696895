"""The decision about one partner message: what arrives, what is decided, what is planned.

:class:`DecisionService` takes an arrival (the bytes, the partner, the ids: a
:class:`~gateway.service.plan.Delivery`) and the journal's unit of work, and returns a
:class:`~gateway.service.plan.Plan`: the documents with their routes, the answers, the dead
letters and the journal records. Every duplicate check lives here, in the decision's
transaction: the redelivery of a processed message, a reused interchange reference, a
document already routed (business key + version), an identical resend. The worker
(``gateway.messaging.worker``) is transport only: it consumes, hands the arrival over,
publishes the plan with confirms and acks.

Each message of an interchange is decided on its own (issue #15): the accepted ones are
routed, a refused one is dead-lettered alone in a copy of its envelope.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence

from adapters import contrl
from adapters.edifact import envelope
from gateway.config import Partner, Settings
from gateway.logs import bind_reference, get_logger
from gateway.service import (
    answers,
    call_report,
    call_step,
    formats,
    letters,
    rejections,
    routing,
)
from gateway.service.calls import CallPolicy
from gateway.service.pipeline import InboundPipeline, contrl_writer
from gateway.service.plan import (
    Addresses,
    Delivery,
    Plan,
    Publish,
    document_key,
    file_letter,
    identify,
    inbound_id_of,
    now,
)
from gateway.service.translation import Outcome, Rejection, Translation
from gateway.storage.journal import EventRow, Journal, JournalUnavailable, Origin, derived_id
from gateway.storage.spool import Spool, SpooledDocument, content

log = get_logger()

# Test-only fault injection: a message whose body holds these bytes makes the handler
# raise every time (the poison-message fault test). Never set in production.
FAULT_ENV = "EDIGW_TEST_FAIL_MARKER"


class DecisionService:
    """Decides partner messages against the journal; returns plans, publishes nothing."""

    def __init__(
        self,
        *,
        settings: Settings,
        names: Addresses,
        journal: Journal,
        pipeline: InboundPipeline,
        spool: Spool,
        origins: Mapping[str, tuple[str, str]],
        partner_users: Mapping[str, str],
        copies: Sequence[routing.CopyRule] = (),
        retry_delays: Sequence[int] = (),
        fault_marker: bytes | None = None,
        calls: CallPolicy | None = None,
    ) -> None:
        """``origins``: the exchange and routing key that feed each consumed queue (a dead
        letter's origin, never a header); ``partner_users``: broker user -> partner id, so a
        message another partner's user wrote is refused (issue #6)."""
        self.settings = settings
        self.names = names
        self.journal = journal
        self.pipeline = pipeline
        self.spool = spool
        self._origins = dict(origins)
        self._partner_users = dict(partner_users)
        self.copies = tuple(copies)
        self.retry_delays = tuple(retry_delays)
        self.fault_marker = fault_marker
        # The routed call documents are filed in the call registry (issue #17).
        self.calls = calls

    def reporter(self) -> call_report.Reporter:
        """What telling a reconciled call needs, from this service's journal, signer, names
        and routes (``gateway.service.call_report``)."""
        p, partners = self.pipeline, self.settings.partners
        return call_report.Reporter(
            self.journal,
            p.signer,
            self.names,
            p.routes,
            p.interchange_id,
            lambda origin: formats.answering_as(partners, p.interchange_id, origin),
        )

    def decide(
        self,
        partner: Partner,
        queue: str,
        d: Delivery,
        inbound_id: str,
        correlation_id: str,
        arrived: Callable[[], Plan | None],
    ) -> Plan:
        """The plan for ``d``; ``arrived`` gives its recorded arrival (:meth:`receive`), a
        plan of its own when the message needs no pipeline (a redelivery, a refused sender).
        A journal that is down gives a retry plan, never an exception."""
        journal = self.journal
        try:
            early = arrived()
            if early is not None:
                return early
            inbound_id = d.inbound_id or inbound_id  # its own when its message id was taken
            log.info("received", bytes=len(d.body), queue=queue, redelivered=d.redelivered)
            started = time.perf_counter()
            pipeline = self.pipeline
            spooled = self.spool.batch()
            try:
                outcome = self._reused_reference(partner, d, inbound_id) or pipeline.evaluate(
                    d.body, partner, correlation_id, inbound_id, spool=spooled
                )
                reference = next(iter(outcome.business_references()), None)
                bind_reference(reference)  # the lines from here on carry it (issue #19)
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
            self.let_go_of_body(d, plan)
            plan.decision, plan.seconds = outcome, time.perf_counter() - started
            plan.business_reference = reference
            log.info(
                "decided",
                outcome=plan.outcome,
                publishes=len(plan.publishes),
                ms=round((time.perf_counter() - started) * 1000, 2),
            )
            return plan
        except JournalUnavailable as exc:
            return self.retry_plan(
                partner.id, queue, d, inbound_id, "JOURNAL_UNAVAILABLE", str(exc), "journal"
            )

    def _reused_reference(self, partner: Partner, d: Delivery, inbound_id: str) -> Outcome | None:
        """An interchange whose UNB reference another message holds with other content is
        refused before it is decoded, validated and signed (issue #15); the claim itself
        is made in the decision's transaction (:meth:`_dedup`), which also catches a
        reference claimed in between. An identical resend is the pipeline's to answer."""
        head = envelope.head_of(d.body) if d.body[:1] != b"<" else None
        if head is None:
            return None
        sender, reference = head
        held = self.journal.holder(rejections.interchange_key(partner.id, sender, reference))
        if held is None or held[0] == inbound_id or held[1] == d.digest():
            return None
        sentence = rejections.reused_interchange_sentence(
            reference, sender, held[0], same_content=False
        )
        report = contrl.failure_report(d.body, rejections.duplicate_interchange_error(sentence))
        translation = Translation(
            format="edifact",
            rejection=rejections.duplicate_interchange(sentence),
            syntax_report=report,
        )
        if formats.is_contrl_type(envelope.first_message_type(d.body)):
            # A partner's CONTRL is never answered, not even to refuse it (ISO 9735-5).
            translation.unanswered = "the interchange holds a CONTRL (ISO 9735-5)"
        outcome = Outcome(translation)
        write = contrl_writer(translation, partner, self.pipeline.interchange_id)
        if write is not None:
            outcome.answer("CONTRL", write)
        log.info("reused interchange reference: refused before decoding", first=held[0])
        return outcome

    @staticmethod
    def let_go_of_body(d: Delivery, plan: Plan) -> None:
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

    def receive(
        self, partner: Partner, queue: str, d: Delivery, inbound_id: str, correlation_id: str
    ) -> Plan | None:
        """Record the arrival (one transaction); a plan when the message needs no pipeline.

        The worker records the arrivals of the messages the decision thread takes together
        in one transaction (``SerialThread``'s preparations), each before its pipeline runs.
        If that transaction fails, each arrival is recorded again on its own.
        """
        journal = self.journal
        with journal.unit_of_work():
            inbound_id = identify(journal, partner.id, d, inbound_id)  # docs/security.md
            if d.inbound_id is not None:
                log.warning("message id taken: decided under its own id", inbound_id=inbound_id)
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
            if d.user_id and self._partner_users.get(d.user_id, partner.id) != partner.id:
                # RabbitMQ checked user_id against the connection's user: this really is
                # another account writing into this partner's inbound (issue #6).
                return self.dead_letter_plan(
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
                inbound_id,
                type="inbound",
                partner=partner.id,
                correlation_id=correlation_id,
                parent_id=letters.replay_of(d.headers),  # a replay, beside its original (#19)
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
        journal = self.journal
        translation = outcome.translation
        types = ",".join(dict.fromkeys(translation.message_types)) or translation.format
        journal.record_message(
            inbound_id, type=types, partner=partner.id, correlation_id=correlation_id
        )
        report = translation.syntax_report
        events: list[EventRow] = [(inbound_id, st, detail) for st, detail in outcome.events]
        # Ministry receipts (#5); what was refused, to find its dead letter by (#19).
        journal.add_references(inbound_id, [*outcome.references, *translation.refused_references])
        if outcome.rejection is None:
            self._dedup(partner, inbound_id, d, outcome, events)
        filed = call_step.Filed()
        if outcome.rejection is None and self.calls is not None:
            filed = call_step.file_routed(journal, self.calls, outcome.routed, inbound_id)
            events += filed.events
        alone = translation.dead_lettered_alone()
        if outcome.rejection is not None and not alone:
            about = next(iter(outcome.business_references()), "")  # dlq list shows it (#19)
            plan = self.dead_letter_plan(inbound_id, partner.id, queue, d, outcome.rejection, about)
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
                        now(),
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
                            # Where its answers go within the partner (S003 0014 [, 0046]).
                            "interchange_sender_route": list(report.sender_route) if report else [],
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
                                **filed.headers.get(did, {}),
                            },
                            "document",
                        )
                    )
                    target = self.names.customs(dest)
                    events.append((did, "routed", f"signed, to {target}"))
                    events.append((inbound_id, "routed", f"{doc_type} {ref} to {target}"))
                    routed_to.append(target)
            if filed.reconciled or filed.rechecked:  # to customs, each sender's part (#17)
                told = filed.told(self.reporter(), inbound_id)
                plan.publishes += told[0]
                events += told[1]
            plan.detail = ", ".join(routed_to) or "nothing new to route"
            if alone:
                # Issue #15: the others went on; each refused message has a dead letter of
                # its own, in a copy of the interchange's envelope.
                self._message_dead_letters(plan, inbound_id, partner.id, queue, d, translation)
                plan.detail += f"; {len(translation.rejected_messages)} message(s) rejected"
            if translation.received:
                answers.record(
                    plan,
                    self.journal,
                    partner.id,
                    inbound_id,
                    translation.received,
                    events,
                    lambda refusal: self.dead_letter_plan(
                        inbound_id, partner.id, queue, d, refusal
                    ),
                )
            elif translation.unanswered and not routed_to:
                plan.outcome = "duplicate"
                plan.detail = "an identical resend of what was recorded before; not answered"
        plan.events[:0] = events
        # CONTRL, then an APERAK when the content was rejected (issue #4): each its own
        # message, each its own interchange reference (issue #16).
        answers.seal(self.journal, partner.id, inbound_id, outcome)
        for i, (ack_type, ack) in enumerate(outcome.acknowledgements):
            verdict = "rejected" if outcome.rejection else "accepted"
            if ack_type == "CONTRL" and len(outcome.acknowledgements) > 1:
                verdict = "accepted (syntax)"
            plan.publishes.append(
                Publish(
                    self.names.outbound_exchange,
                    partner.id,
                    ack,
                    answers.answer_id(inbound_id, i),
                    d.message_id or inbound_id,  # the partner's own id, even when taken
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
            letter = self.dead_letter_plan(
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
            # Filed under the interchange, so that its replay joins the story (issue #19).
            file_letter(self.journal, letter.publishes[0], inbound_id, partner, r.head)

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
            icr_key = rejections.interchange_key(
                partner.id, report.sender, report.control_reference
            )
            keys[icr_key] = d.digest()
        doc_keys = {}
        for routed in outcome.routed:
            key = document_key(partner.id, routed.document)
            doc_keys[routed.document.header.message_id] = key
            keys[key] = (
                routed.document.header.payload_hash
                or hashlib.sha256(content(routed.signed_xml)).hexdigest()
            )
        conflicts = {c.key: c for c in self.journal.claim(inbound_id, keys)}
        icr = conflicts.get(icr_key) if icr_key else None
        if icr is not None and icr.same_content and outcome.translation.unanswered:
            # An identical resend of what no CONTRL answers (a partner's CONTRL): recorded
            # the first time; nothing to answer, nothing to refuse (issue #16).
            events.append((inbound_id, "duplicate", f"identical resend of message {icr.owner}"))
            outcome.translation.received, outcome.routed = [], []
            return
        if icr is not None and report is not None:
            sentence = rejections.reused_interchange_sentence(
                report.control_reference, report.sender, icr.owner, same_content=icr.same_content
            )
            outcome.translation.rejection = rejections.duplicate_interchange(sentence)
            outcome.routed = []
            for interchange_report in report.reports[:1]:
                interchange_report.errors.append(rejections.duplicate_interchange_error(sentence))
            outcome.acknowledgement = b""  # the answer is the refusal alone
            write = contrl_writer(outcome.translation, partner, self.pipeline.interchange_id)
            if write is not None:
                outcome.answer("CONTRL", write)
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

    def _origin(self, queue: str) -> tuple[str, str]:
        """Where the messages of ``queue`` are published: exchange and routing key."""
        return self._origins.get(queue, ("", queue))

    def dead_letter_plan(
        self,
        inbound_id: str,
        partner: str,
        queue: str,
        d: Delivery,
        rejection: Rejection,
        business_reference: str = "",  # what it is about, when read (else tools read a BGM)
        *,
        message_reference: str = "",
        message_id: str | None = None,
    ) -> Plan:
        exchange, routing_key = self._origin(queue)
        headers = letters.dead_letter_headers(
            d.headers,
            queue,
            letters.DeadLetterReason(
                reason=rejection.reason,
                sentence=rejection.sentence,
                stage=rejection.stage,
                partner=partner,
                problems=tuple(p.line() for p in rejection.problems),
                business_reference=business_reference,
            ),
            original_exchange=exchange,
            original_routing_key=routing_key,
        )
        if message_reference:
            headers["x-edigw-message-reference"] = message_reference[:35]
        if rejection.replayable is not None:
            headers[letters.H_REPLAYABLE] = "true" if rejection.replayable else "false"
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
            business_reference=business_reference or None,
        )

    def retry_plan(
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
        attempts = letters.header_count(d.headers.get(letters.H_ATTEMPTS)) + 1
        if attempts > len(self.retry_delays):
            plan = self.dead_letter_plan(
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
        exchange, routing_key = self._origin(queue)
        headers = letters.dead_letter_headers(
            d.headers,
            queue,
            letters.DeadLetterReason(reason, sentence, stage, partner),
            original_exchange=exchange,
            original_routing_key=routing_key,
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
            self.journal.record_event(
                inbound_id, "retried", f"{reason}: retry {attempts} in {delay} ms"
            )
        return Plan(
            inbound_id,
            "retry",
            f"{reason}: retry {attempts} in {delay} ms",
            [
                Publish(
                    f"{self.names.retry_exchange}.{attempts}",
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

    def failure_plan(self, partner: str, queue: str, d: Delivery, exc: BaseException) -> Plan:
        """The handler raised: requeue, and dead-letter it on its ``delivery_limit``-th delivery."""
        inbound_id = inbound_id_of(partner, d)
        if isinstance(exc, JournalUnavailable):
            return self.retry_plan(
                partner, queue, d, inbound_id, "JOURNAL_UNAVAILABLE", str(exc), "journal"
            )
        # Quorum queues count earlier deliveries in x-delivery-count (the broker overwrites a
        # publisher's); read as a count whatever it holds.
        count = letters.header_count(d.headers.get("x-delivery-count")) + 1
        limit = self.settings.delivery_limit
        log.error(
            "handler failed",
            error=f"{type(exc).__name__}: {exc}",
            delivery=count,
            delivery_limit=limit,
            exc_info=exc,
        )
        if count < limit:
            return Plan(inbound_id, "requeue", requeue=True, record=False)
        plan = self.dead_letter_plan(
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
        plan.publishes[0].headers[letters.H_ATTEMPTS] = count
        return plan
