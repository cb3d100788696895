"""Throughput of the two gateway instances of ``scripts/cluster.sh`` on the three-node cluster.

Needs ``bash scripts/cluster.sh up`` first (two ``edigw run``, the PostgreSQL journal, quorum
queues with three replicas). Publishes ``--count`` distinct 1-BL CUSCARs to
``partner.apcs.in`` with confirms, as fast as the broker takes them, and times until the last
signed manifest is on ``customs.core``; then prints messages per second and the CPU each
part spent per message (the two gateways, the three RabbitMQ nodes), and empties the queues
it filled. Usage::

    bash scripts/cluster.sh up
    .venv/bin/python bench/bench_cluster.py --count 3000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import cpu_seconds, machine, now_utc, small_cuscar  # noqa: E402
from gateway.config import load  # noqa: E402
from gateway.messaging import broker  # noqa: E402
from gateway.messaging.naming import Names  # noqa: E402

CLUSTER = ROOT / "var" / "cluster"


def _pids() -> dict[str, int]:
    files = {"gateways": ["gw1.pid", "gw2.pid"]}
    files["rabbitmq nodes"] = [f"node{n}/rabbitmq.pid" for n in (1, 2, 3)]
    out = {}
    for part, names in files.items():
        for name in names:
            path = CLUSTER / name
            if not path.exists():
                raise SystemExit(f"{path} is missing: run `bash scripts/cluster.sh up` first")
            out[f"{part}/{name}"] = int(path.read_text().split()[0])
    return out


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for key, pid in pids.items():
        part = key.split("/")[0]
        totals[part] = totals.get(part, 0.0) + cpu_seconds(pid)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    args = parser.parse_args()
    settings = load(path=CLUSTER / "gateway.toml")
    names = Names(settings.name_prefix)
    pids = _pids()
    hosts = settings.config.broker.hosts
    connection = broker.connect(settings.broker_url, hosts=hosts, attempts=3)
    channel = broker.confirmed_channel(connection)
    core = names.customs_core

    def on_core() -> int:
        return int(channel.queue_declare(core, passive=True).method.message_count)

    # Distinct references on every run (the shared journal answers a resend from itself, it
    # does not route it again): each run goes on where the last one stopped.
    counter = CLUSTER / "bench.next"
    first = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(first + args.count))
    bodies = [small_cuscar(first + i) for i in range(args.count)]
    before, cpu_before = on_core(), _cpu(pids)
    start = time.monotonic()
    for i, body in enumerate(bodies):
        broker.publish(
            channel,
            names.inbound("apcs"),
            "",
            body,
            message_id=f"bench-cluster-{first + i}",
            content_type="application/edifact",
        )
    published = time.monotonic() - start
    deadline = start + 600
    while on_core() < before + args.count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {on_core() - before} of {args.count} arrived in 600 s")
        time.sleep(0.2)
    elapsed = time.monotonic() - start
    cpu_after = _cpu(pids)
    channel.queue_purge(core)
    channel.queue_purge(names.outbound("apcs"))
    connection.close()

    print(f"# cluster throughput, {now_utc()}, {machine()}")
    print(f"messages: {args.count} 1-BL CUSCAR, 2 gateway instances, 3 RabbitMQ nodes")
    print(f"published in {published:.1f} s; all on {core} after {elapsed:.1f} s")
    print(f"throughput: {args.count / elapsed:.0f} msg/s")
    for part, total in cpu_after.items():
        spent = total - cpu_before[part]
        print(f"CPU {part}: {spent:.1f} s, {1000 * spent / args.count:.2f} ms per message")


if __name__ == "__main__":
    main()
