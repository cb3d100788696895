"""Support for the dead-letter tests (no tests here): real dead letters, made the gateway's way."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pika
from click.testing import CliRunner, Result

from gateway.config import Settings, load
from gateway.interfaces.cli import main
from gateway.messaging import broker
from gateway.messaging.naming import Names
from gateway.messaging.topology import declare, topology_for

ROOT = Path(__file__).resolve().parents[2]
BAD_COUNT = (ROOT / "samples" / "apcs" / "03-cuscar-rejected-bad-count.edi").read_bytes()
# The smallest manifest the gateway accepts: the rejected sample with its segment count fixed.
GOOD = BAD_COUNT.replace(b"UNT+99+1", b"UNT+9+1")


def settings_for(env: Mapping[str, str]) -> Settings:
    return load(env=env)


@contextmanager
def channel_for(settings: Settings) -> Iterator[pika.adapters.blocking_connection.BlockingChannel]:
    connection = broker.connect(settings.broker_url)
    try:
        channel = broker.confirmed_channel(connection)
        declare(channel, topology_for(settings))
        yield channel
    finally:
        if connection.is_open:
            connection.close()


def dead_letter(
    channel: pika.adapters.blocking_connection.BlockingChannel,
    settings: Settings,
    body: bytes,
    *,
    partner: str = "apcs",
    reason: str = "EDIFACT_SYNTAX",
    stage: str = "decode",
    message_id: str | None = None,
) -> str:
    """Dead-letter ``body`` exactly as the worker does (gateway.messaging.broker.dead_letter)."""
    names = Names(settings.name_prefix)
    message_id = message_id or str(uuid.uuid4())
    props = pika.BasicProperties(
        message_id=message_id, correlation_id=message_id, content_type="application/edifact"
    )
    broker.dead_letter(
        channel,
        names,
        names.inbound(partner),
        body,
        props,
        broker.DeadLetterReason(
            reason=reason,
            sentence=f"{reason} in the test",
            stage=stage,
            partner=partner,
            problems=("EDIFACT_29\tsegment 9, UNT\tUNT says 99 segments but message 1 has 8",),
        ),
        original_exchange=names.inbound(partner),
        original_routing_key="",
    )
    return message_id


def depth(channel: pika.adapters.blocking_connection.BlockingChannel, queue: str) -> int:
    return int(channel.queue_declare(queue, passive=True).method.message_count)


def wait_depth(
    channel: pika.adapters.blocking_connection.BlockingChannel,
    queue: str,
    expected: int,
    timeout: float = 20.0,
) -> int:
    deadline = time.monotonic() + timeout
    n = depth(channel, queue)
    while n != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        n = depth(channel, queue)
    return n


def drain(
    channel: pika.adapters.blocking_connection.BlockingChannel, queue: str
) -> list[tuple[pika.BasicProperties, bytes]]:
    """Take every message out of ``queue`` (acknowledged): what a consumer would get."""
    out = []
    while True:
        method, props, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return out
        out.append((props, body))


def cli(env: Mapping[str, str], *args: str, input: str | None = None) -> Result:
    """Run ``edigw ARGS`` in-process with the test's environment."""
    return CliRunner().invoke(main, list(args), env=dict(env), input=input, catch_exceptions=False)


@contextmanager
def gateway_running(env: Mapping[str, str], log_path: Path) -> Iterator[Path]:
    """``edigw run`` (JSON log lines into ``log_path``) until the block ends."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "--log-format", "json", "run"],
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield log_path
        finally:
            proc.terminate()
            proc.wait(timeout=30)
