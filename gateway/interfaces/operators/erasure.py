"""Travellers' data in the broker's copies, erased with the journal's (issue #18, privacy).

``edigw travellers forget`` erases what the journal keeps of travellers past retention; a
refused pre-declaration or border event is also kept whole, as a dead letter, in the
dead-letter queue of the partner that sent it (``partner.<id>.in.dlq`` of the partners of
role ``portal`` and ``border``). :func:`forget_dead_letters` removes those past retention
(their last failure before the cutoff) and, for one traveller, only those that name their
document number. What was removed is audited as a tombstone: where it was, its ids, its
reason and when it failed, never its body (``edigw dlq purge`` keeps a body in the trail;
that would keep the person's data the erasure is for).

>>> dl = DeadLetter.from_amqp("partner.eservices.in.dlq", {"headers": {}}, b"{}")
>>> tombstone(dl)["queue"]
'partner.eservices.in.dlq'
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.bootstrap import App
from gateway.interfaces.operators.deadletters import DeadLetter, Selector
from gateway.interfaces.operators.store import DeadLetterStore

TRAVELLERS_ROLES = ("portal", "border")  # the partners whose messages are travellers' data


def travellers_store(app: App) -> DeadLetterStore:
    """The dead-letter queues of the travellers' partners, on a connection of their own."""
    queues = [
        app.names.dead_letter(app.names.inbound(p.id))
        for p in app.settings.partners_with_role(*TRAVELLERS_ROLES)
    ]
    return DeadLetterStore(app.broker.blocking(attempts=2), queues, app.broker.user)


def _failed_before(letter: DeadLetter, cutoff: dt.datetime) -> bool:
    """Whether the letter last failed before ``cutoff`` (a time it does not say: not known
    to be past retention, so kept)."""
    try:
        when = dt.datetime.fromisoformat(letter.last_failure)
    except ValueError:
        return False
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)) < cutoff


def tombstone(letter: DeadLetter) -> dict[str, Any]:
    """What the audit trail keeps of a removed letter: where and why, not what it said."""
    return {
        "id": letter.id,
        "message_id": letter.message_id,
        "queue": letter.queue,
        "partner": letter.partner,
        "reason": letter.reason,
        "last_failure": letter.last_failure,
    }


def forget_dead_letters(
    store: DeadLetterStore, cutoff: dt.date, *, document: str | None, dry_run: bool
) -> list[DeadLetter]:
    """The travellers' dead letters past retention (with ``document``: those that name it
    in their body or headers) removed, or with ``dry_run`` only found. The caller audits."""
    before = dt.datetime.combine(cutoff, dt.time(), tzinfo=dt.UTC)
    chosen = [
        letter
        for letter in store.browse()
        if _failed_before(letter, before) and (document is None or letter.contains(document))
    ]
    if dry_run or not chosen:
        return chosen
    return store.purge(Selector(ids=tuple(letter.id for letter in chosen)))
