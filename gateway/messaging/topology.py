"""The broker topology as code: every exchange, queue and binding the gateway needs.

Declaring is idempotent, so ``edigw topology`` and ``edigw run`` both do it.

>>> from gateway.config import load
>>> topo = topology_for(load(env={}))
>>> "partner.apcs.in" in [q.name for q in topo.queues]
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.config import Settings
from gateway.messaging.naming import Names


@dataclass(frozen=True, slots=True)
class ExchangeSpec:
    name: str
    type: str
    purpose: str


@dataclass(frozen=True, slots=True)
class QueueSpec:
    name: str
    purpose: str
    arguments: dict[str, Any] = field(default_factory=dict)
    bindings: tuple[tuple[str, str], ...] = ()  # (exchange, routing key)


@dataclass(slots=True)
class Topology:
    exchanges: list[ExchangeSpec] = field(default_factory=list)
    queues: list[QueueSpec] = field(default_factory=list)


def _quorum(
    dead_letter_exchange: str | None, routing_key: str, delivery_limit: int | None
) -> dict[str, Any]:
    args: dict[str, Any] = {"x-queue-type": "quorum"}
    if dead_letter_exchange:
        args["x-dead-letter-exchange"] = dead_letter_exchange
        args["x-dead-letter-routing-key"] = routing_key
        # At-least-once dead-lettering: the broker keeps a message until the DLQ confirms it.
        args["x-dead-letter-strategy"] = "at-least-once"
        args["x-overflow"] = "reject-publish"
    if delivery_limit:
        args["x-delivery-limit"] = delivery_limit
    return args


def topology_for(settings: Settings, names: Names | None = None) -> Topology:
    names = names or Names(settings.name_prefix)
    topo = Topology()
    dlx = names.dead_letter_exchange
    topo.exchanges += [
        ExchangeSpec(
            names.customs_exchange, "direct", "canonical messages to customs, key = destination"
        ),
        ExchangeSpec(
            names.outbound_exchange, "direct", "acknowledgements and responses, key = partner id"
        ),
        ExchangeSpec(dlx, "direct", "dead letters, key = the queue they came from"),
    ]

    def work_queue(name: str, purpose: str, bindings: tuple[tuple[str, str], ...]) -> None:
        topo.queues.append(
            QueueSpec(name, purpose, _quorum(dlx, name, settings.delivery_limit), bindings)
        )
        topo.queues.append(
            QueueSpec(
                names.dead_letter(name),
                f"dead letters of {name}",
                {"x-queue-type": "quorum"},
                ((dlx, name),),
            )
        )

    for partner in settings.partners.values():
        if partner.role == "customs":
            continue
        inbound = names.inbound(partner.id)
        # Each partner publishes to its own exchange, so that broker permissions can allow
        # writing there and nowhere else (issue #6).
        topo.exchanges.append(ExchangeSpec(inbound, "fanout", f"what {partner.id} sends"))
        work_queue(inbound, f"what {partner.id} sends", ((inbound, ""),))
        topo.queues.append(
            QueueSpec(
                names.outbound(partner.id),
                f"acknowledgements and responses for {partner.id}",
                {"x-queue-type": "quorum"},
                ((names.outbound_exchange, partner.id),),
            )
        )
    topo.queues.append(
        QueueSpec(
            names.customs_core,
            "canonical messages for the new customs system",
            {"x-queue-type": "quorum"},
            ((names.customs_exchange, "core"),),
        )
    )
    topo.queues.append(
        QueueSpec(
            names.customs_legacy,
            "canonical messages for offices still on the old system",
            {"x-queue-type": "quorum"},
            ((names.customs_exchange, "legacy"),),
        )
    )
    work_queue(
        names.customs_responses, "what customs answers", ((names.customs_exchange, "responses"),)
    )
    # Retry tiers (issue #6), shared by every work queue: a message published to the tier's
    # exchange with its work queue's name as routing key waits out the queue's TTL, then
    # is dead-lettered (at least once) through the default exchange under that same key,
    # i.e. straight back to its work queue. One queue per tier, not per work queue:
    # quorum queues are costly on the broker.
    for tier, delay in enumerate(settings.config.broker.retry_delays_ms, 1):
        retry = f"{names.retry_exchange}.{tier}"
        topo.exchanges.append(
            ExchangeSpec(retry, "fanout", f"retry tier {tier}, key = the work queue")
        )
        topo.queues.append(
            QueueSpec(
                retry,
                f"retry tier {tier}: back to the work queue after {delay} ms",
                {
                    "x-queue-type": "quorum",
                    "x-message-ttl": delay,
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                },
                ((retry, ""),),
            )
        )
    # Copy rules (issue #6): each copy destination is a customs-side queue of its own.
    for dest in dict.fromkeys(c.destination for c in settings.copies):
        if dest in ("core", "legacy"):
            continue
        topo.queues.append(
            QueueSpec(
                names.customs(dest),
                f"copies for the {dest} authority",
                {"x-queue-type": "quorum"},
                ((names.customs_exchange, dest),),
            )
        )
    return topo


def partner_side(names: Names, partner: str) -> Topology:
    """What a partner's own virtual host holds (issue #14, finding 8b), and nothing else.

    The partner publishes to its inbound exchange and reads its outbound queue, under the same
    names as in the gateway's vhost; shovels (``gateway.messaging.partners``) carry the inbound
    queue to the gateway's ``partner.<id>.in`` exchange and the gateway's ``partner.<id>.out``
    queue to the outbound queue here. No dead-letter queue: nothing is decided in this vhost.

    >>> [q.name for q in partner_side(Names(), "apcs").queues]
    ['partner.apcs.in', 'partner.apcs.out']
    """
    inbound, outbound = names.inbound(partner), names.outbound(partner)
    quorum = {"x-queue-type": "quorum"}
    return Topology(
        exchanges=[ExchangeSpec(inbound, "fanout", f"what {partner} sends")],
        queues=[
            QueueSpec(inbound, f"what {partner} sends, until shovelled", quorum, ((inbound, ""),)),
            QueueSpec(outbound, f"acknowledgements and responses for {partner}", quorum),
        ],
    )


def declare(channel: Any, topology: Topology) -> None:
    """Declare everything on a pika channel (idempotent)."""
    for ex in topology.exchanges:
        channel.exchange_declare(exchange=ex.name, exchange_type=ex.type, durable=True)
    for q in topology.queues:
        channel.queue_declare(queue=q.name, durable=True, arguments=q.arguments)
        for exchange, key in q.bindings:
            channel.queue_bind(queue=q.name, exchange=exchange, routing_key=key)


def table(topology: Topology) -> str:
    """A plain-text table of the topology, for people."""
    rows = [("kind", "name", "type / arguments", "purpose")]
    for ex in topology.exchanges:
        rows.append(("exchange", ex.name, ex.type, ex.purpose))
    for q in topology.queues:
        args = ", ".join(f"{k.removeprefix('x-')}={v}" for k, v in q.arguments.items())
        rows.append(("queue", q.name, args, q.purpose))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [
        f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip()
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 7)
    return "\n".join(lines)


def topology_lines(topology: Topology) -> list[dict[str, Any]]:
    """The topology as objects, one per exchange and queue (``edigw topology --json``)."""
    lines: list[dict[str, Any]] = [
        {"kind": "exchange", "name": ex.name, "type": ex.type, "purpose": ex.purpose}
        for ex in topology.exchanges
    ]
    lines.extend(
        {
            "kind": "queue",
            "name": q.name,
            "arguments": q.arguments,
            "bindings": [{"exchange": e, "routing_key": k} for e, k in q.bindings],
            "purpose": q.purpose,
        }
        for q in topology.queues
    )
    return lines
