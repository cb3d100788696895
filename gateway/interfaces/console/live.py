"""What an open console page refreshes itself with, and the history its charts read.

A sampler thread reads every gateway queue's figures (:mod:`gateway.messaging.queue_stats`)
every ``[console] sample_interval`` seconds, keeps the latest reading for ``/live.json``
and writes the chart series to the journal (``console_samples``), so the charts survive a
restart and every console instance sharing the journal draws the same history. Samples older
than ``[console] history_days`` are pruned once an hour.

>>> from gateway.messaging.queue_stats import QueueStats
>>> stats = {"partner.apcs.in": QueueStats("partner.apcs.in", 3, 2, 1, 0.5, 0.5, True),
...          "partner.apcs.in.dlq": QueueStats("partner.apcs.in.dlq", 2, 0, 2, 0, 0, True)}
>>> series_values(stats)
{'inbound': 3.0, 'customs': 0.0, 'dead': 2.0, 'received': 30.0}
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.logs import get_logger
from gateway.messaging.queue_stats import QueueStats

log = get_logger()


def is_partner_inbound(queue: str) -> bool:
    return ".partner." in f".{queue}" and queue.endswith(".in")


def is_customs(queue: str) -> bool:
    return ".customs." in f".{queue}" and not queue.endswith(".dlq")


def is_dead_letters(queue: str) -> bool:
    return queue.endswith(".dlq")


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    title: str
    unit: str
    color: str
    value: Callable[[Mapping[str, QueueStats]], float]


def _messages(select: Callable[[str], bool]) -> Callable[[Mapping[str, QueueStats]], float]:
    return lambda stats: float(sum(s.messages for q, s in stats.items() if select(q)))


def _received_per_minute(stats: Mapping[str, QueueStats]) -> float:
    return round(60 * sum(s.in_rate or 0.0 for q, s in stats.items() if is_partner_inbound(q)), 3)


SERIES: dict[str, Series] = {
    s.key: s
    for s in (
        Series("inbound", "Waiting in partner inbound queues", "messages", "#1f6feb",
               _messages(is_partner_inbound)),
        Series("customs", "Waiting for customs", "messages", "#2da44e", _messages(is_customs)),
        Series("dead", "Dead letters", "messages", "#cf222e", _messages(is_dead_letters)),
        Series("received", "Received from partners", "per minute", "#8250df",
               _received_per_minute),
    )
}  # fmt: skip


def series_values(stats: Mapping[str, QueueStats]) -> dict[str, float]:
    return {key: s.value(stats) for key, s in SERIES.items()}


class SampleStore(Protocol):
    def add_samples(self, at: int, values: Mapping[str, float]) -> None: ...

    def prune_samples(self, before: int) -> int: ...


@dataclass(slots=True)
class LiveState:
    """The latest reading (thread-safe): when, every queue's figures, or why there is none."""

    at: float = 0.0
    stats: dict[str, QueueStats] = field(default_factory=dict)
    error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, at: float, stats: dict[str, QueueStats] | None, error: str = "") -> None:
        with self.lock:
            self.at = at
            if stats is not None:
                self.stats = stats
            self.error = error

    def snapshot(self) -> tuple[float, dict[str, QueueStats], str]:
        with self.lock:
            return self.at, dict(self.stats), self.error

    def payload(self) -> dict[str, Any]:
        """The JSON an open page refreshes itself with."""
        at, stats, error = self.snapshot()
        return {
            "sampled_at": at,
            "broker_error": error,
            "totals": series_values(stats),
            "counted_unacked": all(s.counted_unacked for s in stats.values()),
            "queues": [stats[q].to_json() for q in sorted(stats)],
        }


class StatsSampler(threading.Thread):
    """Reads the queues every ``interval`` seconds; keeps the reading and its history."""

    def __init__(
        self,
        poll: Callable[[], dict[str, QueueStats]],
        state: LiveState,
        store: SampleStore | None,
        interval: float,
        *,
        keep_days: int = 8,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name="edigw-console-sampler", daemon=True)
        self.poll = poll
        self.state = state
        self.store = store
        self.interval = interval
        self.keep_seconds = keep_days * 86400
        self.clock = clock
        self.stopping = threading.Event()
        self._pruned_at = 0.0

    def sample_once(self) -> None:
        now = self.clock()
        try:
            stats = self.poll()
        except Exception as exc:  # the broker may be away; the console stays up and says so
            log.warning("console could not read the queues", error=repr(exc)[:300])
            self.state.update(now, None, error=f"the broker cannot be reached: {exc!r}"[:500])
            return
        self.state.update(now, stats)
        if self.store is None:
            return
        try:
            self.store.add_samples(int(now), series_values(stats))
            if now - self._pruned_at >= 3600:
                self.store.prune_samples(int(now) - self.keep_seconds)
                self._pruned_at = now
        except Exception as exc:  # the chart misses a point; the live figures are still right
            log.warning("console could not keep a chart sample", error=repr(exc)[:300])

    def run(self) -> None:
        while not self.stopping.is_set():
            self.sample_once()
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
