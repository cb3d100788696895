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

>>> import datetime as dt
>>> trigger_of(CallKey("9454436", "0MA1RN1MA", "DZALG"))
'reconcile-after-hours:9454436/0MA1RN1MA/DZALG'
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gateway.domain.calls import CallKey
from gateway.logs import get_logger
from gateway.service.call_checks import reconcile
from gateway.service.call_report import Reporter, Told, plan_report
from gateway.service.calls import CallPolicy, registry_time

log = get_logger()


def _time(moment: dt.datetime) -> str:
    return registry_time(moment) or ""


#: A claim not done after this long is taken over (its instance stopped in between).
STALE_AFTER = dt.timedelta(minutes=10)
#: At most this many calls are reconciled per round: bounded work for one tick.
LIMIT = 20


@dataclass(slots=True)
class Claimed:
    """A call this instance claimed and reconciled: what to publish, then :func:`told`."""

    call: CallKey
    trigger_id: str
    told: Told


def trigger_of(key: CallKey) -> str:
    """The id a call's after-hours reconciliation is known by (its messages derive from it)."""
    return f"reconcile-after-hours:{key}"


def claim_due(
    reporter: Reporter,
    policy: CallPolicy,
    instance: str,
    *,
    now: dt.datetime,
    limit: int = LIMIT,
    stale_after: dt.timedelta = STALE_AFTER,
) -> list[Claimed]:
    """Claim and reconcile the calls due at ``now``: the ones this instance got, each planned
    in its own unit of work (a claim lost to another instance plans nothing)."""
    journal = reporter.journal
    at = _time(now)
    out: list[Claimed] = []
    for key in journal.calls_due(_time(now - policy.reconcile_after), limit):
        trigger = trigger_of(key)
        with journal.unit_of_work():
            if not journal.claim_reconciliation(
                key, trigger, instance, at, _time(now - stale_after)
            ):
                continue
            call = journal.call(key)
            journal.record_message(
                trigger,
                type="CallReconciliation",
                partner=call.sender if call is not None else reporter.sender_id,
                correlation_id=trigger,
            )
            journal.add_references(trigger, [str(key), f"{key.imo_number}/{key.voyage_number}"])
            reconciliation = reconcile(journal, policy.weight_tolerance_percent, key)
            told = plan_report(reporter, reconciliation, "after_hours", trigger, now=now)
            journal.record_event(
                trigger,
                "flagged",
                f"{reconciliation.summary()}: {policy.reconcile_after} after the actual arrival, "
                f"no discharge reported complete (claimed by {instance})",
            )
        log.info("call due for reconciliation claimed", call=str(key), instance=instance)
        out.append(Claimed(key, trigger, told))
    return out


def told(reporter: Reporter, claimed: Claimed, *, now: dt.datetime) -> None:
    """``claimed``'s publishes are confirmed: its events recorded, its claim done."""
    journal = reporter.journal
    with journal.unit_of_work():
        for message_id, status, detail in claimed.told.events:
            journal.record_event(message_id, status, detail)
        journal.reconciliation_told(claimed.call, _time(now))


__all__ = ["LIMIT", "STALE_AFTER", "Claimed", "claim_due", "told", "trigger_of"]
