"""A raw relay: the gateway's broker path with no processing at all, as a second baseline.

For each message consumed from ``--in`` it publishes one message of ``--doc-bytes`` to
``--core`` and one of ``--ack-bytes`` to ``--out`` (persistent, ``mandatory``, confirms
pipelined), and acknowledges the inbound message once both are confirmed: what
``edigw run`` does with a small message, minus decoding, validating, signing and the
journal. Run as its own process, like the gateway, so the CPU layout of the machine is
the same::

    python bench/relay.py --url amqp://guest:guest@127.0.0.1:5672/%2F \\
        --in p.relay.in --core p.relay.core --out p.relay.out --doc-bytes 3759 --ack-bytes 400

It stops on SIGTERM. ``bench/run.py`` starts and stops it; the queues are its own.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import aio_pika
from aio_pika.abc import AbstractIncomingMessage


async def relay(
    url: str, inbound: str, core: str, out: str, doc: bytes, ack: bytes, prefetch: int
) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await channel.set_qos(prefetch_count=prefetch)
        queue = await channel.get_queue(inbound, ensure=False)
        exchange = channel.default_exchange

        async def on_message(message: AbstractIncomingMessage) -> None:
            await asyncio.gather(
                *(
                    exchange.publish(
                        aio_pika.Message(
                            body,
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                            message_id=f"{message.message_id}-{key}",
                            correlation_id=message.correlation_id,
                        ),
                        routing_key=key,
                        mandatory=True,
                    )
                    for key, body in ((core, doc), (out, ack))
                )
            )
            await message.ack()

        await queue.consume(on_message)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        print("relaying", flush=True)
        await stop.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    ap.add_argument("--url", required=True)
    ap.add_argument("--in", dest="inbound", required=True)
    ap.add_argument("--core", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--doc-bytes", type=int, required=True)
    ap.add_argument("--ack-bytes", type=int, required=True)
    ap.add_argument("--prefetch", type=int, default=32)
    a = ap.parse_args()
    doc = b"<" + b"d" * max(0, a.doc_bytes - 1)
    ack = b"U" + b"a" * max(0, a.ack_bytes - 1)
    asyncio.run(relay(a.url, a.inbound, a.core, a.out, doc, ack, a.prefetch))


if __name__ == "__main__":
    main()
