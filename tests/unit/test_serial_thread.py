"""SerialThread: the worker's decision thread, handed work in batches (issue #8)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from gateway.messaging.serial import SerialThread
from gateway.storage.journal import SqliteJournal


def _gather(serial: SerialThread, calls: list[Callable[[], Any]], **kw: Any) -> list[Any]:
    async def main() -> list[Any]:
        return list(
            await asyncio.gather(*(serial.run(c, **kw) for c in calls), return_exceptions=True)
        )

    try:
        return asyncio.run(main())
    finally:
        serial.shutdown()


def test_calls_run_in_order_in_one_thread_and_errors_reach_their_caller() -> None:
    seen: list[tuple[int, int]] = []

    def call(i: int) -> int:
        seen.append((i, threading.get_ident()))
        if i == 3:
            raise ValueError("three")
        return i * 10

    serial = SerialThread("t")
    results = _gather(serial, [lambda i=i: call(i) for i in range(8)])
    assert [i for i, _ in seen] == list(range(8))
    assert len({t for _, t in seen}) == 1 and seen[0][1] != threading.get_ident()
    assert results[:3] == [0, 10, 20] and results[4:] == [40, 50, 60, 70]
    assert isinstance(results[3], ValueError)


def test_work_queued_together_is_handed_over_in_fewer_batches_than_calls() -> None:
    gate = threading.Event()
    serial = SerialThread("t")

    async def main() -> list[int]:
        first = serial.run(gate.wait)  # holds the thread while the others queue up
        rest = [serial.run(lambda i=i: i) for i in range(20)]
        await asyncio.sleep(0.05)
        gate.set()
        await first
        return list(await asyncio.gather(*rest))

    try:
        assert asyncio.run(main()) == list(range(20))
    finally:
        serial.shutdown()
    assert serial.batches == 2


def _arrival(journal: SqliteJournal, i: int) -> None:
    journal.record_message(f"m{i}", type="inbound", partner="apcs", correlation_id=f"m{i}")
    journal.record_event(f"m{i}", "received")


def _counting_journal() -> tuple[SqliteJournal, list[int]]:
    """An in-memory journal and the list its commits are counted in."""
    journal = SqliteJournal(":memory:")
    commits: list[int] = []
    real = journal._transaction

    @contextmanager
    def counting(immediate: bool = False) -> Iterator[Any]:
        with real(immediate) as cur:
            yield cur
        commits.append(1)

    journal._transaction = counting  # type: ignore[method-assign]
    return journal, commits


def _journal_group(journal: SqliteJournal) -> dict[str, Callable[[], Any]]:
    return {"record": journal.unit_of_work}


def test_a_group_shares_one_transaction_and_a_failure_stays_with_its_own_call() -> None:
    journal, commits = _counting_journal()
    gate = threading.Event()

    def record(i: int) -> int:
        _arrival(journal, i)
        if i == 2:
            raise RuntimeError("boom")
        return i

    serial = SerialThread("t", groups=_journal_group(journal))

    async def main() -> list[Any]:
        first = serial.run(gate.wait)
        calls = [serial.run(lambda i=i: record(i), group="record") for i in range(5)]
        await asyncio.sleep(0.05)
        gate.set()
        await first
        return list(await asyncio.gather(*calls, return_exceptions=True))

    try:
        results = asyncio.run(main())
    finally:
        serial.shutdown()
    assert results[:2] == [0, 1] and results[3:] == [3, 4]
    assert isinstance(results[2], RuntimeError)
    # The shared transaction was rolled back, then each call ran in its own: four commits.
    assert len(commits) == 4
    # Everyone's event but the failing call's is recorded, once each.
    recorded = {h.message_id for i in range(5) for h in journal.track(f"m{i}")}
    assert recorded == {"m0", "m1", "m3", "m4"}
    assert all(len(journal.track(f"m{i}")[0].events) == 1 for i in (0, 1, 3, 4))


def test_a_group_without_failures_commits_once() -> None:
    journal, commits = _counting_journal()
    gate = threading.Event()
    serial = SerialThread("t", groups=_journal_group(journal))

    async def main() -> None:
        first = serial.run(gate.wait)
        calls = [serial.run(lambda i=i: _arrival(journal, i), group="record") for i in range(6)]
        await asyncio.sleep(0.05)
        gate.set()
        await first
        await asyncio.gather(*calls)

    try:
        asyncio.run(main())
    finally:
        serial.shutdown()
    assert len(commits) == 1
    assert all(journal.track(f"m{i}") for i in range(6))


def test_preparations_of_a_batch_run_first_and_hand_their_result_or_error_on() -> None:
    order: list[str] = []
    gate = threading.Event()
    serial = SerialThread("t")

    def prepare(i: int) -> int:
        order.append(f"prepare {i}")
        if i == 1:
            raise LookupError("no arrival")
        return i

    def decide(i: int, prepared: Callable[[], int]) -> str:
        order.append(f"decide {i}")
        try:
            return f"decided {prepared()}"
        except LookupError as exc:
            return f"failed {exc}"

    async def main() -> list[str]:
        first = serial.run(gate.wait)
        calls = [
            serial.run(lambda p, i=i: decide(i, p), prepare=lambda i=i: prepare(i))
            for i in range(3)
        ]
        await asyncio.sleep(0.05)
        gate.set()
        await first
        return list(await asyncio.gather(*calls))

    try:
        results = asyncio.run(main())
    finally:
        serial.shutdown()
    assert results == ["decided 0", "failed no arrival", "decided 2"]
    assert order == ["prepare 0", "prepare 1", "prepare 2", "decide 0", "decide 1", "decide 2"]


@pytest.mark.parametrize("flush_after", [0.0, 10.0])
def test_results_are_flushed_during_a_long_batch_when_asked(flush_after: float) -> None:
    gate = threading.Event()
    release = threading.Event()
    serial = SerialThread("t", flush_after=flush_after)

    async def main() -> bool:
        first = serial.run(gate.wait)
        early = serial.run(lambda: 1)
        serial.run(lambda: release.wait(5))  # the batch goes on until released
        await asyncio.sleep(0.02)
        gate.set()
        await first
        try:
            await asyncio.wait_for(asyncio.shield(early), 0.5)
            return True
        except TimeoutError:
            return False
        finally:
            release.set()

    try:
        got_early = asyncio.run(main())
    finally:
        release.set()
        serial.shutdown()
    # With no flush interval each result goes back as soon as it is ready; with a long
    # one the results wait for the end of the batch.
    assert got_early is (flush_after == 0.0)
