"""Publishing throughput of the gateway's worker against a raw aio-pika baseline (issue #6).

Same broker, same run, same queue type (quorum, persistent messages, publisher confirms):

1. **baseline**: raw aio-pika, one confirmed channel, ``--window`` publishes in flight;
   and a **raw relay**: raw aio-pika doing the worker's broker work (consume, two
   confirmed publishes, ack) with the same prefetch: the most any client could get;
2. **gateway worker**: the real ``Worker`` consuming ``--count`` messages from a partner
   inbound queue and, for each, publishing a document and an acknowledgement with
   confirms, then acking the inbound message — with the pipeline replaced by a
   constant plan so that only the broker side (consume, decide hop, publish, confirm,
   ack) is measured. It publishes 2 messages per inbound message; msgs/s counts both;
3. **pika blocking**: ``BlockingConnection`` waiting for each confirm (the old design).

Prints msgs/s for each and the ratio worker / baseline. Usage::

    .venv/bin/python bench/bench_publish.py --count 5000
    EDIGW_AMQP_URL=amqp://guest:guest@host/vhost .venv/bin/python bench/bench_publish.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import pika

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.bootstrap import bootstrap
from gateway.config import load
from gateway.messaging import broker
from gateway.messaging.topology import declare, topology_for
from gateway.messaging.worker import Delivery, Plan, Publish, Worker

BODY = b"x" * 1024


async def baseline(url: str, queue: str, count: int, window: int) -> float:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(queue, durable=True, arguments={"x-queue-type": "quorum"})
        gate = asyncio.Semaphore(window)

        async def one(i: int) -> None:
            async with gate:
                await channel.default_exchange.publish(
                    aio_pika.Message(
                        BODY,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        message_id=f"b{i}",
                    ),
                    routing_key=queue,
                    mandatory=True,
                )

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        elapsed = time.perf_counter() - started
        await channel.queue_delete(queue)
    return count / elapsed


async def raw_relay(url: str, tag: str, count: int, window: int, prefetch: int) -> float:
    """Raw aio-pika doing the worker's broker work: consume, 2 confirmed publishes, ack."""
    inbound, out1, out2 = (f"bench.{tag}.{n}" for n in ("in", "out1", "out2"))
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queues = [
            await channel.declare_queue(q, durable=True, arguments={"x-queue-type": "quorum"})
            for q in (inbound, out1, out2)
        ]
        gate = asyncio.Semaphore(window)

        async def load(i: int) -> None:
            async with gate:
                await channel.default_exchange.publish(
                    aio_pika.Message(BODY, delivery_mode=2, message_id=f"r{i}"), routing_key=inbound
                )

        await asyncio.gather(*(load(i) for i in range(count)))
        await channel.set_qos(prefetch_count=prefetch)
        done = asyncio.Event()
        handled = 0

        async def relay(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal handled
            await asyncio.gather(
                *(
                    channel.default_exchange.publish(
                        aio_pika.Message(
                            message.body, delivery_mode=2, message_id=f"{q}{message.message_id}"
                        ),
                        routing_key=q,
                    )
                    for q in (out1, out2)
                )
            )
            await message.ack()
            handled += 1
            if handled == count:
                done.set()

        started = time.perf_counter()
        await queues[0].consume(relay)
        await done.wait()
        elapsed = time.perf_counter() - started
        for q in queues:
            await q.delete(if_unused=False, if_empty=False)
    return 2 * count / elapsed


def blocking(url: str, queue: str, count: int) -> float:
    connection = broker.connect(url)
    try:
        channel = broker.confirmed_channel(connection)
        channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
        started = time.perf_counter()
        for i in range(count):
            broker.publish(channel, "", queue, BODY, message_id=f"p{i}")
        elapsed = time.perf_counter() - started
        channel.queue_delete(queue)
    finally:
        connection.close()
    return count / elapsed


async def preload(url: str, exchange: str, count: int, window: int) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        target = await channel.get_exchange(exchange, ensure=False)
        gate = asyncio.Semaphore(window)

        async def one(i: int) -> None:
            async with gate:
                await target.publish(
                    aio_pika.Message(BODY, delivery_mode=2, message_id=f"in-{i}"), routing_key=""
                )

        await asyncio.gather(*(one(i) for i in range(count)))


def worker_rate(url: str, count: int, window: int, prefetch: int) -> float:
    state = tempfile.mkdtemp(prefix="edigw-bench-")
    env = {
        "EDIGW_AMQP_URL": url,
        "EDIGW_NAME_PREFIX": f"bench{uuid.uuid4().hex[:6]}.",
        "EDIGW_STATE_DIR": state,
        "EDIGW_MODE": "development",  # generated keys and anchors (issue #14)
    }
    settings = load({"broker": {"prefetch": prefetch}}, env=env)
    gw = bootstrap(settings)
    names = gw.names
    connection = broker.connect(url)
    channel = connection.channel()
    declare(channel, topology_for(settings, names))
    asyncio.run(preload(url, names.inbound("apcs"), count, window))

    worker = Worker(gw)

    def constant_plan(_partner: Any, _queue: str, d: Delivery) -> Plan:
        mid = d.message_id or "?"
        return Plan(
            mid,
            "routed",
            publishes=[
                Publish(names.customs_exchange, "core", d.body, f"doc-{mid}", mid, "x"),
                Publish(names.outbound_exchange, "apcs", b"ack", f"ack-{mid}", mid, "x"),
            ],
            record=False,
        )

    worker._decide = constant_plan  # type: ignore[method-assign]
    thread = threading.Thread(target=worker.run, daemon=True)
    started = time.perf_counter()
    thread.start()
    try:
        while True:
            ok = channel.queue_declare(names.outbound("apcs"), passive=True)
            if ok.method.message_count >= count:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        worker.request_stop()
        thread.join(timeout=30)
        for q in topology_for(settings, names).queues:
            channel.queue_delete(q.name)
        for ex in topology_for(settings, names).exchanges:
            channel.exchange_delete(ex.name)
        connection.close()
        gw.journal.close()
    return 2 * count / elapsed  # two confirmed publishes per inbound message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--prefetch", type=int, default=128)
    args = parser.parse_args()
    url = os.environ.get("EDIGW_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    tag = uuid.uuid4().hex[:6]
    pika_logger = __import__("logging").getLogger("pika")
    pika_logger.setLevel("WARNING")

    base = asyncio.run(baseline(url, f"bench.{tag}.baseline", args.count, args.window))
    relay = asyncio.run(raw_relay(url, tag, args.count // 2, args.window, args.prefetch))
    gateway = worker_rate(url, args.count // 2, args.window, args.prefetch)
    old = blocking(url, f"bench.{tag}.blocking", min(args.count, 2000))
    print(f"broker                      {url.split('@')[-1]}")
    print(f"raw aio-pika (window {args.window:>4})    {base:8.0f} msgs/s")
    print(f"raw aio-pika relay           {relay:8.0f} msgs/s  (consume, 2 publishes, ack)")
    print(
        f"gateway worker (prefetch {args.prefetch:>3}) {gateway:8.0f} msgs/s  (consume, 2 publishes, ack)"
    )
    print(f"pika blocking per message   {old:8.0f} msgs/s")
    print(f"ratio worker / baseline     {gateway / base:8.2f}")
    print(f"ratio worker / raw relay    {gateway / relay:8.2f}")


if __name__ == "__main__":
    _ = pika  # the blocking comparison goes through gateway.messaging.broker (pika)
    main()
