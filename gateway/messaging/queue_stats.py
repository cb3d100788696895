"""Per-queue figures for the console (issue #19): messages ready and unacknowledged, and rates.

The RabbitMQ management API says everything (ready, unacknowledged, publish and
acknowledgement rates, averaged by the broker over its last sampling period); when it cannot
be reached, AMQP's passive declare tells the ready count only (``counted_unacked`` False,
rates unknown). Which queues exist is asked over AMQP first, so an unreachable broker raises.

>>> rows = [{"name": "q", "messages": 5, "messages_ready": 3, "messages_unacknowledged": 2,
...          "message_stats": {"publish_details": {"rate": 1.5}, "ack_details": {"rate": 0.5}}}]
>>> stats_from_rows(rows, {"q": 3})["q"]
QueueStats(name='q', messages=5, ready=3, unacked=2, in_rate=1.5, out_rate=0.5, counted_unacked=True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from gateway.logs import get_logger
from gateway.messaging.broker import Connector
from gateway.messaging.management import management_queues
from gateway.messaging.metrics import _amqp_ready

log = get_logger()


@dataclass(frozen=True, slots=True)
class QueueStats:
    name: str
    messages: int  # ready + unacknowledged
    ready: int
    unacked: int
    in_rate: float | None  # messages published to the queue per second
    out_rate: float | None  # messages acknowledged (or taken without ack) per second
    counted_unacked: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _rate(stats: Any, *keys: str) -> float | None:
    if not isinstance(stats, Mapping):
        return None
    total, seen = 0.0, False
    for key in keys:
        details = stats.get(key)
        if isinstance(details, Mapping) and isinstance(details.get("rate"), int | float):
            total += float(details["rate"])
            seen = True
    return round(total, 3) if seen else None


def _count(row: Mapping[str, Any], key: str) -> int:
    value = row.get(key)
    return int(value) if isinstance(value, int) and value >= 0 else 0


def stats_from_rows(rows: Sequence[Any], ready_by_amqp: Mapping[str, int]) -> dict[str, QueueStats]:
    """The management API's rows for the queues AMQP found (a queue the API does not list
    yet keeps its AMQP ready count)."""
    found: dict[str, QueueStats] = {}
    for row in rows:
        if not isinstance(row, Mapping) or row.get("name") not in ready_by_amqp:
            continue
        name = str(row["name"])
        stats = row.get("message_stats")
        found[name] = QueueStats(
            name=name,
            messages=_count(row, "messages"),
            ready=_count(row, "messages_ready"),
            unacked=_count(row, "messages_unacknowledged"),
            in_rate=_rate(stats, "publish_details") or 0.0,
            out_rate=_rate(stats, "ack_details", "deliver_no_ack_details") or 0.0,
            counted_unacked=True,
        )
    for name, ready in ready_by_amqp.items():
        found.setdefault(name, QueueStats(name, ready, ready, 0, None, None, False))
    return found


def queue_stats(
    broker: Connector,
    queues: list[str],
    *,
    management_url: str = "",
    management_urls: Sequence[str] = (),
    timeout: float = 5.0,
) -> dict[str, QueueStats]:
    """Figures of every existing queue among ``queues``, from the first management API of
    the cluster that answers (``gateway.messaging.management``)."""
    ready = _amqp_ready(broker, queues)
    try:
        rows = management_queues(
            broker.nodes,
            "name,messages,messages_ready,messages_unacknowledged,message_stats",
            management_urls=[management_url, *management_urls],
            timeout=timeout,
        )
    except Exception as exc:  # no management plugin, refused, timeout: ready counts only
        log.warning("console: queue figures without the management API", error=repr(exc)[:300])
        rows = []
    return stats_from_rows(rows if isinstance(rows, list) else [], ready)
