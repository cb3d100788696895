"""The gateway's answers under interchange references of their own, and the partner's CONTRLs
of them recorded (issue #16). Both are part of the decision (``gateway.service.decision``),
in its unit of work.

* Every EDIFACT answer (CONTRL, APERAK) gets a control reference (UNB/UNZ 0020) from the
  journal's counter for its partner, keyed by the answer's own message id, which is derived
  from the inbound message: a redelivery decided afresh gets the same reference, and a
  decision that is not committed gives none out. An answer kept from the first time (an
  identical resend) goes out again under a new reference of its own.
* A partner's CONTRL is never answered (ISO 9735-5). What it says is recorded on the message
  whose answer it acknowledges (the journal knows which one carried that reference); one
  that rejects anything of ours is dead-lettered too, with the reason, for an operator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from adapters.contrl import ReceivedContrl
from adapters.edifact import envelope
from gateway.service.plan import Plan
from gateway.service.translation import Outcome, Problem, Rejection
from gateway.storage.journal import EventRow, Journal, derived_id

# The reason of a partner's CONTRL that rejects an interchange of ours.
REJECTED_BY_PARTNER = "REJECTED_BY_PARTNER"


def answer_id(inbound_id: str, index: int) -> str:
    """The message id of the ``index``-th answer to ``inbound_id`` (the same every time)."""
    return derived_id(inbound_id, "ack" if index == 0 else f"ack{index}")


def seal(journal: Journal, partner: str, inbound_id: str, outcome: Outcome) -> None:
    """Write each EDIFACT answer of ``outcome`` under its own interchange reference, in place.

    A ministry's signed receipt (XML) has no interchange and is left as it is.
    """
    for index, (kind, data) in enumerate(outcome.acknowledgements):
        if data[:1] == b"<":
            continue
        reference = journal.interchange_reference(partner, answer_id(inbound_id, index), inbound_id)
        written = outcome.written(index, reference)
        if written is None:  # kept from the first time: the same answer, a new envelope
            written = envelope.with_reference(data, reference)
        outcome.acknowledgements[index] = (kind, written)


def received(
    journal: Journal, partner: str, inbound_id: str, reports: Sequence[ReceivedContrl]
) -> tuple[list[EventRow], Rejection | None]:
    """The journal events of a partner's CONTRLs (in message ``inbound_id``), and the
    rejection to dead-letter it with when one of them rejects something of ours."""
    events: list[EventRow] = []
    refused: list[Problem] = []
    for report in reports:
        sent = journal.sent_interchange(partner, report.interchange) if report.interchange else None
        said = f"{partner}'s CONTRL {report.reference} {report.summary()}"
        if sent is None:
            said += ", an interchange the gateway did not send to it"
        events.append((inbound_id, "received", f"{said}; not answered (ISO 9735-5)"))
        if sent is not None and sent[1]:
            events.append((sent[1], "acknowledged", f"{said} (in message {inbound_id})"))
        if not report.acknowledges:
            refused.append(
                Problem(REJECTED_BY_PARTNER, f"CONTRL {report.reference} UCI", said, tag="UCI")
            )
    if not refused:
        return events, None
    return events, Rejection(
        REJECTED_BY_PARTNER,
        "; ".join(p.sentence for p in refused)
        + ": what the gateway sent was refused, an operator must look at it",
        "acknowledgement",
        refused,
    )


def record(
    plan: Plan,
    journal: Journal,
    partner: str,
    inbound_id: str,
    reports: Sequence[ReceivedContrl],
    events: list[EventRow],
    dead_letter: Callable[[Rejection], Plan],
) -> None:
    """A partner's CONTRLs in ``plan``: their events, a dead letter (``dead_letter`` makes
    it) when one rejects something the gateway sent, and the plan's outcome when the input
    held nothing else: ``recorded``, or ``rejected``."""
    found, refusal = received(journal, partner, inbound_id, reports)
    events.extend(found)
    if refusal is not None:
        letter = dead_letter(refusal)
        plan.publishes.extend(letter.publishes)
        plan.events.extend(letter.events)
    if not any(p.kind == "document" for p in plan.publishes):
        plan.outcome = "recorded" if refusal is None else "rejected"
        plan.detail = (
            f"{refusal.reason}: {refusal.sentence}"
            if refusal is not None
            else "; ".join(r.summary() for r in reports)
        )
