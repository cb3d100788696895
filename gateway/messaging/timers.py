"""What ``edigw run`` does on a clock rather than on a delivery: the overdue customs answers
(issue #6) and the calls due for reconciliation after hours: the discharge after the actual
arrival, the loading after the actual departure (issue #17).

Each watch runs on the worker's I/O loop; its journal work goes to the decision thread (the
journal's one connection), one round every so many seconds, and a round that fails (the
journal down, the broker refusing a publish) is logged and tried again the next round.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import functools
from collections.abc import Awaitable, Callable, Sequence

from gateway.logs import get_logger
from gateway.service import call_timer
from gateway.service.calls import CallPolicy
from gateway.service.decision import DecisionService
from gateway.service.plan import Publish
from gateway.storage.journal import Journal, JournalUnavailable

log = get_logger()

PublishAll = Callable[[list[Publish]], Awaitable[Sequence[BaseException | None]]]


async def watch_overdue(
    journal: Journal,
    executor: concurrent.futures.Executor,
    overdue_after: dt.timedelta,
    every: float,
) -> None:
    """Say in the log when a routed document has had no customs answer for too long."""
    loop = asyncio.get_running_loop()
    seen: set[str] = set()
    while True:
        try:
            late = await loop.run_in_executor(executor, lambda: journal.overdue(overdue_after))
        except JournalUnavailable as exc:
            log.warning("overdue check skipped: journal unavailable", error=str(exc))
            late = []
        for item in late:
            if item.message_id not in seen:
                seen.add(item.message_id)
                log.warning(
                    "overdue: no customs answer",
                    document=item.message_id,
                    inbound=item.inbound_id,
                    partner=item.partner,
                    document_type=item.document_type,
                    business_reference=item.business_reference,
                    routed_at=item.routed_at,
                    overdue_after_minutes=overdue_after.total_seconds() / 60,
                )
        with contextlib.suppress(Exception):  # metrics are optional (issue #7)
            from gateway.messaging import metrics

            metrics.set_overdue(len(late))
        await asyncio.sleep(every)


async def watch_due_calls(
    decisions: DecisionService,
    executor: concurrent.futures.Executor,
    publish_all: PublishAll,
    instance: str,
    every: float,
) -> None:
    """Reconcile the calls due after hours (``gateway.service.call_timer``): claim them in the
    journal, publish what each tells, and mark it told once the broker confirmed it all."""
    policy = decisions.calls
    if policy is None:
        return
    while True:
        try:
            await _reconcile_due(decisions, policy, executor, publish_all, instance)
        except Exception as exc:  # the next round tries again
            log.warning("reconciliation round failed", error=f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(every)


async def _reconcile_due(
    decisions: DecisionService,
    policy: CallPolicy,
    executor: concurrent.futures.Executor,
    publish_all: PublishAll,
    instance: str,
) -> None:
    """One round of :func:`watch_due_calls`."""
    loop = asyncio.get_running_loop()
    reporter = decisions.reporter()
    claimed: list[call_timer.Claimed] = []
    for watch in call_timer.WATCHES:  # the discharge after arrival, the loading after departure
        claim = functools.partial(
            call_timer.claim_due,
            reporter,
            policy,
            instance,
            now=dt.datetime.now(dt.UTC),
            watch=watch,
        )
        claimed += await loop.run_in_executor(executor, claim)
    for item in claimed:
        results = await publish_all(item.told.publishes)
        refused = [repr(r) for r in results if r is not None]
        if refused:  # the claim goes stale and is taken over, by this or another instance
            log.warning("reconciliation not told", call=str(item.call), refused=refused)
            continue
        told = functools.partial(call_timer.told, reporter, item, now=dt.datetime.now(dt.UTC))
        await loop.run_in_executor(executor, told)
        log.info(
            "reconciliation told",
            call=str(item.call),
            correlation_id=item.trigger_id,
            business_reference=item.told.report.header.business_reference,
            discrepancies=len(item.told.report.discrepancies),
        )
