"""End-to-end throughput of the gateway against the raw broker, in the same run.

    .venv/bin/python bench/bench_e2e.py [--messages 500]

Gateway: N one-BL CUSCAR interchanges are published to partner.apcs.in; one
``edigw run`` process decodes, validates, signs and publishes each with a
confirm to customs.core, and sends a CONTRL back; the clock stops when the Nth
signed manifest has been consumed from customs.core.

Baseline: raw pika publishing N payloads of the same size as the signed
manifests, with publisher confirms, to a quorum queue on the same broker, then
consuming them. Both print msgs/s; the ratio is what to compare across machines.
Everything is declared under a unique name prefix and deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pika

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.config import load  # noqa: E402
from gateway.naming import Names  # noqa: E402
from gateway.topology import declare, topology_for  # noqa: E402

SAMPLE = ROOT / "samples" / "apcs" / "01-cuscar-msc-alexandria.edi"


def _consume(channel: pika.adapters.blocking_connection.BlockingChannel, queue: str, n: int, timeout: float) -> int:
    got = 0
    deadline = time.monotonic() + timeout
    for method, _props, _body in channel.consume(queue, inactivity_timeout=1.0):
        if method is not None:
            channel.basic_ack(method.delivery_tag, multiple=False)
            got += 1
            if got >= n:
                break
        if time.monotonic() > deadline:
            break
    channel.cancel()
    return got


def baseline(url: str, prefix: str, payload: bytes, n: int) -> float:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    queue = f"{prefix}baseline"
    channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    channel.confirm_delivery()
    channel.basic_qos(prefetch_count=32)
    props = pika.BasicProperties(delivery_mode=2, content_type="application/xml")
    started = time.perf_counter()
    for _ in range(n):
        channel.basic_publish("", queue, payload, props, mandatory=True)
    got = _consume(channel, queue, n, 120)
    elapsed = time.perf_counter() - started
    channel.queue_delete(queue)
    connection.close()
    assert got == n, f"baseline consumed {got} of {n}"
    return n / elapsed


def gateway_run(url: str, prefix: str, n: int) -> tuple[float, int]:
    state = tempfile.mkdtemp(prefix="edigw-bench-")
    env = {**os.environ, "EDIGW_AMQP_URL": url, "EDIGW_NAME_PREFIX": prefix, "EDIGW_STATE_DIR": state}
    settings = load(env=env)
    names = Names(prefix)
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    declare(channel, topology_for(settings, names))
    channel.confirm_delivery()
    channel.basic_qos(prefetch_count=64)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--log-format", "json", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(Path(state) / "gateway.log", "wb"),  # noqa: SIM115
    )
    try:
        # Warm up (keys generated, schema compiled, connection open) before the clock starts.
        data = SAMPLE.read_bytes()
        channel.basic_publish(names.inbound("apcs"), "", data, pika.BasicProperties(delivery_mode=2, message_id=str(uuid.uuid4())))
        assert _consume(channel, names.customs_core, 1, 60) == 1, "gateway did not answer the warm-up"
        size = 0
        started = time.perf_counter()
        for _ in range(n):
            channel.basic_publish(
                names.inbound("apcs"), "", data,
                pika.BasicProperties(delivery_mode=2, message_id=str(uuid.uuid4())), mandatory=True,
            )
        got = _consume(channel, names.customs_core, n, 300)
        elapsed = time.perf_counter() - started
        assert got == n, f"gateway delivered {got} of {n}"
        method, _p, body = None, None, b""
        channel.basic_publish(names.inbound("apcs"), "", data, pika.BasicProperties(delivery_mode=2))
        for method, _p, body in channel.consume(names.customs_core, inactivity_timeout=30):
            if method is not None:
                channel.basic_ack(method.delivery_tag)
                size = len(body)
                break
        channel.cancel()
        return n / elapsed, size
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        for q in topology_for(settings, names).queues:
            channel.queue_delete(q.name)
        for ex in topology_for(settings, names).exchanges:
            channel.exchange_delete(ex.name)
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--url", default=os.environ.get("EDIGW_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"))
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "e2e.json")
    args = parser.parse_args()
    prefix = f"bench-{uuid.uuid4().hex[:6]}."
    gw_rate, signed_size = gateway_run(args.url, prefix, args.messages)
    base_rate = baseline(args.url, prefix, b"x" * signed_size, args.messages)
    ratio = gw_rate / base_rate
    print(f"{'run':<46} {'msgs/s':>9}")
    print(f"{'raw pika, confirms, quorum queue, ' + str(signed_size) + ' B':<46} {base_rate:>9.0f}")
    print(f"{'gateway end to end (1 worker)':<46} {gw_rate:>9.0f}")
    print(f"ratio gateway / raw broker: {ratio:.2f}  ({args.messages} messages)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"messages": args.messages, "payload_bytes": signed_size,
                                     "baseline_msgs_per_s": base_rate, "gateway_msgs_per_s": gw_rate,
                                     "ratio": ratio}, indent=2))


if __name__ == "__main__":
    main()
