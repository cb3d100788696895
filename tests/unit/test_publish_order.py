"""How the worker sends a plan's messages: together when small, one by one when large."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from gateway.messaging.worker import SEQUENTIAL_PUBLISH_BYTES, Publish, Worker


def _publish(body: bytes, key: str) -> Publish:
    return Publish("x", key, body, key, "in", "application/xml", "T", {}, "document")


class _Recorder:
    """Stands in for ``Worker._publish``: notes how many publishes overlap, fails on request."""

    def __init__(self, failing: set[str]) -> None:
        self.failing = failing
        self.in_flight = 0
        self.most_in_flight = 0
        self.started: list[str] = []

    async def __call__(self, _channel: Any, p: Publish) -> None:
        self.started.append(p.routing_key)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.01)  # the confirm's round trip
        self.in_flight -= 1
        if p.routing_key in self.failing:
            raise ConnectionError(p.routing_key)


def _run(
    publishes: list[Publish], failing: frozenset[str] = frozenset()
) -> tuple[list[Any], _Recorder]:
    recorder = _Recorder(set(failing))
    worker = SimpleNamespace(_publish=recorder)
    results = asyncio.run(Worker._publish_all(worker, None, publishes))  # type: ignore[arg-type]
    return results, recorder


def test_small_publishes_overlap() -> None:
    results, recorder = _run([_publish(b"<a/>" * 100, "doc"), _publish(b"UNB", "ack")])
    assert results == [None, None] and recorder.most_in_flight == 2


def test_large_publishes_go_one_at_a_time_in_plan_order() -> None:
    half = b"x" * (SEQUENTIAL_PUBLISH_BYTES // 2 + 1)
    results, recorder = _run(
        [_publish(half, "doc1"), _publish(half, "doc2"), _publish(b"U", "ack")]
    )
    assert results == [None, None, None]
    assert recorder.most_in_flight == 1 and recorder.started == ["doc1", "doc2", "ack"]


def test_a_large_plan_reports_each_failure_in_its_place_as_gather_does() -> None:
    big = b"x" * (SEQUENTIAL_PUBLISH_BYTES + 1)
    publishes = [_publish(big, "doc"), _publish(b"U", "ack")]
    sequential, _ = _run(publishes, failing=frozenset({"doc"}))
    together, _ = _run(
        [_publish(b"small", "doc"), _publish(b"U", "ack")], failing=frozenset({"doc"})
    )
    for results in (sequential, together):
        assert [type(r) for r in results] == [ConnectionError, type(None)]
