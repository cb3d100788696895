"""Reconcile after hours (issue #17): a call whose discharge no terminal reported complete is
reconciled ``reconcile_after_hours`` after its actual arrival.

``edigw run`` asks :func:`claim_due` every ``[calls] reconcile_check_seconds``
(``gateway.messaging.timers``). For each call due (active, arrived at least
``reconcile_after_hours`` ago, no complete discharge report, not told yet; at most ``limit``
a round, oldest first), the instance that **claims** it in the journal
(``call_reconciliations``: one row per call, an ``INSERT ... ON CONFLICT`` only one
transaction wins, on SQLite and PostgreSQL alike) reconciles it
(``call_checks.reconcile``) and plans what :func:`gateway.service.call_report.plan_report`
tells: the ``ManifestDiscrepancyReport`` (basis ``after_hours``) to customs, an APERAK to each
manifest's sender. Once those publishes are confirmed, :func:`told` marks the claim done. A
claim not done within ``stale_after`` (the instance died in between) is taken over by the
next round of any instance, under the same trigger id: the same message ids again, so a copy
that did get out is dropped by its consumer.

A terminal that reports the discharge complete later reconciles the call again (``final``):
customs gets that report too.

The **loading** (issue #17, point 5) is watched the same way (:data:`LOADING`): a call with an
outward manifest linked or a loading report filed, whose loading no terminal reported
complete, is reconciled against its outward manifests ``reconcile_loading_after_hours`` after
its actual departure (basis ``after_departure``, trigger
``reconcile-after-departure:<IMO>/<voyage>/<port>``), claimed in
``call_loading_reconciliations`` by one instance.

>>> import datetime as dt
>>> trigger_of(CallKey("9454436", "0MA1RN1MA", "DZALG"))
'reconcile-after-hours:9454436/0MA1RN1MA/DZALG'
>>> trigger_of(CallKey("9454436", "0MA1RN1MA", "DZALG"), LOADING)
'reconcile-after-departure:9454436/0MA1RN1MA/DZALG'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from gateway.domain.calls import CallKey, ReconciliationBasis
from gateway.logs import get_logger
from gateway.service.call_checks import Reconciliation, reconcile, reconcile_loading
from gateway.service.call_report import Reporter, Told, plan_report
from gateway.service.calls import CallPolicy, registry_time
from gateway.storage.records import Journal

log = get_logger()


def _time(moment: dt.datetime) -> str:
    return registry_time(moment) or ""


#: A claim not done after this long is taken over (its instance stopped in between).
STALE_AFTER = dt.timedelta(minutes=10)
#: At most this many calls are reconciled per round: bounded work for one tick.
LIMIT = 20


@dataclass(frozen=True, slots=True)
class Watch:
    """One reconciliation on a clock: the discharge after arrival, the loading after departure."""

    trigger: str  # the prefix of its trigger ids
    basis: ReconciliationBasis
    since: str  # what the hours are counted from, for the journal's sentence
    after: Callable[[CallPolicy], dt.timedelta]
    due: Callable[[Journal, str, int], list[CallKey]]
    claim: Callable[[Journal, CallKey, str, str, str, str], bool]
    done: Callable[[Journal, CallKey, str], None]
    check: Callable[[Journal, CallPolicy, CallKey], Reconciliation]


DISCHARGE = Watch(
    "reconcile-after-hours",
    "after_hours",
    "the actual arrival, no discharge reported complete",
    lambda policy: policy.reconcile_after,
    lambda journal, before, limit: journal.calls_due(before, limit),
    lambda journal, *claim: journal.claim_reconciliation(*claim),
    lambda journal, key, at: journal.reconciliation_told(key, at),
    lambda journal, policy, key: reconcile(journal, policy.weight_tolerance_percent, key),
)
LOADING = Watch(
    "reconcile-after-departure",
    "after_departure",
    "the actual departure, no loading reported complete",
    lambda policy: policy.reconcile_loading_after,
    lambda journal, before, limit: journal.calls_due_loading(before, limit),
    lambda journal, *claim: journal.claim_loading_reconciliation(*claim),
    lambda journal, key, at: journal.loading_reconciliation_told(key, at),
    lambda journal, policy, key: reconcile_loading(journal, policy.weight_tolerance_percent, key),
)
#: What ``edigw run`` watches, in this order each round.
WATCHES = (DISCHARGE, LOADING)


@dataclass(slots=True)
class Claimed:
    """A call this instance claimed and reconciled: what to publish, then :func:`told`."""

    call: CallKey
    trigger_id: str
    told: Told
    watch: Watch = DISCHARGE


def trigger_of(key: CallKey, watch: Watch = DISCHARGE) -> str:
    """The id a call's reconciliation on a clock is known by (its messages derive from it)."""
    return f"{watch.trigger}:{key}"


def claim_due(
    reporter: Reporter,
    policy: CallPolicy,
    instance: str,
    *,
    now: dt.datetime,
    limit: int = LIMIT,
    stale_after: dt.timedelta = STALE_AFTER,
    watch: Watch = DISCHARGE,
) -> list[Claimed]:
    """Claim and reconcile the calls due at ``now``: the ones this instance got, each planned
    in its own unit of work (a claim lost to another instance plans nothing)."""
    journal = reporter.journal
    at = _time(now)
    out: list[Claimed] = []
    for key in watch.due(journal, _time(now - watch.after(policy)), limit):
        trigger = trigger_of(key, watch)
        with journal.unit_of_work():
            if not watch.claim(journal, key, trigger, instance, at, _time(now - stale_after)):
                continue
            call = journal.call(key)
            journal.record_message(
                trigger,
                type="CallReconciliation",
                partner=call.sender if call is not None else reporter.sender_id,
                correlation_id=trigger,
            )
            journal.add_references(trigger, [str(key), f"{key.imo_number}/{key.voyage_number}"])
            reconciliation = watch.check(journal, policy, key)
            told = plan_report(reporter, reconciliation, watch.basis, trigger, now=now)
            journal.record_event(
                trigger,
                "flagged",
                f"{reconciliation.summary()}: {watch.after(policy)} after {watch.since} "
                f"(claimed by {instance})",
            )
        log.info(
            "call due for reconciliation claimed",
            call=str(key),
            instance=instance,
            correlation_id=trigger,
            business_reference=told.report.header.business_reference,
        )
        out.append(Claimed(key, trigger, told, watch))
    return out


def told(reporter: Reporter, claimed: Claimed, *, now: dt.datetime) -> None:
    """``claimed``'s publishes are confirmed: its events recorded, its claim done."""
    journal = reporter.journal
    with journal.unit_of_work():
        for message_id, status, detail in claimed.told.events:
            journal.record_event(message_id, status, detail)
        claimed.watch.done(journal, claimed.call, _time(now))


__all__ = [
    "DISCHARGE",
    "LIMIT",
    "LOADING",
    "STALE_AFTER",
    "WATCHES",
    "Claimed",
    "Watch",
    "claim_due",
    "told",
    "trigger_of",
]
