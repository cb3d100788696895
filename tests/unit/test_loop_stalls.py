"""The worker's stall watchdog: a blocked I/O loop (late heartbeats) is logged and measured."""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace

import pytest

from gateway.logs import configure
from gateway.messaging import metrics
from gateway.messaging.worker import Worker


def test_a_blocked_loop_is_reported_with_its_length(capsys: pytest.CaptureFixture[str]) -> None:
    configure("json")

    async def scenario() -> None:
        watcher = asyncio.ensure_future(Worker._watch_stalls(SimpleNamespace(heartbeat=1), 0.05))  # type: ignore[arg-type]
        await asyncio.sleep(0.2)  # a few quiet ticks: nothing to say
        time.sleep(0.9)  # what a GIL-holding C call in the decision thread does to the loop
        await asyncio.sleep(0.2)
        watcher.cancel()

    asyncio.run(scenario())
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    stalls = [
        line for line in lines if line["event"] == "the I/O loop stalled; heartbeats were late"
    ]
    assert len(stalls) == 1
    assert 0.8 <= stalls[0]["stalled_seconds"] < 5 and stalls[0]["heartbeat_seconds"] == 1
    assert metrics.LOOP_STALL._value.get() >= 0.8
