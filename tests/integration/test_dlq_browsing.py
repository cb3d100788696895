"""Dead-letter queues that browsing cannot harm (issue #19, item 3), on the real broker.

RabbitMQ 3.10 counts every return of a browsed message in ``x-delivery-count``; the DLQs are
declared without a delivery limit, so the count can grow past the default limit of newer
versions (20) without the broker ever dropping a message. And a depth reading counts the
messages a browse holds unacknowledged.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from urllib.parse import quote

import pytest

from gateway.bootstrap import bootstrap
from gateway.interfaces.console import Backend
from gateway.interfaces.operators.store import DeadLetterStore
from gateway.messaging import management, metrics
from gateway.messaging.broker import Connector
from gateway.messaging.naming import Names
from gateway.messaging.topology import topology_for
from tests.integration.test_dlq_support import (
    BAD_COUNT,
    channel_for,
    cli,
    dead_letter,
    depth,
    drain,
    settings_for,
    wait_depth,
)

pytestmark = pytest.mark.broker

BROWSES = 50


def _unacknowledged(broker_url: str, queue: str) -> int:
    """What the management API says about ``queue``'s unacknowledged messages."""
    base, vhost, user, password = management.management_api(broker_url)
    request = urllib.request.Request(
        f"{base}/queues/{quote(vhost, safe='')}/{quote(queue, safe='')}",
        headers={
            "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        },
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        return int(json.loads(answer.read()).get("messages_unacknowledged") or 0)


def test_dead_letter_queues_are_declared_without_a_delivery_limit(
    gateway_env: dict[str, str],
) -> None:
    settings = settings_for(gateway_env)
    dlqs = [q for q in topology_for(settings).queues if q.name.endswith(".dlq")]
    assert dlqs
    for q in dlqs:
        assert q.arguments.get("x-queue-type") == "quorum"
        # No limit at all: on 3.x, -1 would drop a message at its first return.
        assert "x-delivery-limit" not in q.arguments, q


def test_browsing_a_dlq_50_times_loses_nothing_and_every_message_replays(
    gateway_env: dict[str, str],
) -> None:
    env = {**gateway_env, "EDIGW_OPERATOR": "alice"}
    settings = settings_for(env)
    names = Names(settings.name_prefix)
    inbound = names.inbound("apcs")
    dlq = names.dead_letter(inbound)
    with channel_for(settings) as ch:
        sent = {dead_letter(ch, settings, BAD_COUNT) for _ in range(3)}
        assert wait_depth(ch, dlq, 3) == 3

        store = DeadLetterStore.open(bootstrap(settings))
        try:
            for _ in range(BROWSES):
                seen = store.browse()
                assert {d.message_id for d in seen} == sent
        finally:
            store.close()
        # Every browse returned each message once: the broker counted each return...
        store = DeadLetterStore.open(bootstrap(settings))
        try:
            counts = [int(d.headers.get("x-delivery-count") or 0) for d in store.browse()]
        finally:
            store.close()
        assert len(counts) == 3
        assert min(counts) >= BROWSES > 20  # past the default limit of RabbitMQ >= 4.0
        # ... and dropped none of them.
        assert wait_depth(ch, dlq, 3) == 3

        replayed = cli(env, "dlq", "replay", "--all")
        assert replayed.exit_code == 0, replayed.output
        assert wait_depth(ch, dlq, 0) == 0
        assert wait_depth(ch, inbound, 3) == 3
        back = drain(ch, inbound)
        assert {(p.headers or {}).get("x-edigw-replay-of") for p, _b in back} == sent
        assert all(body == BAD_COUNT for _p, body in back)


def test_depth_counts_the_messages_a_browse_holds(gateway_env: dict[str, str]) -> None:
    settings = settings_for(gateway_env)
    names = Names(settings.name_prefix)
    dlq = names.dead_letter(names.inbound("apcs"))
    with channel_for(settings) as ch:
        for _ in range(2):
            dead_letter(ch, settings, BAD_COUNT)
        assert wait_depth(ch, dlq, 2) == 2
        store = DeadLetterStore.open(bootstrap(settings))
        try:
            with store.holding() as (_channel, held):
                assert len(held) == 2
                # AMQP sees nothing ready: the old, ready-only reading said 0 here.
                assert depth(ch, dlq) == 0
                # The management API publishes statistics every few seconds: wait until it
                # has seen the browse, so the readings below are not stale ones.
                deadline = time.monotonic() + 30
                while _unacknowledged(settings.broker_url, dlq) != 2:
                    assert time.monotonic() < deadline, "management API never saw the browse"
                    time.sleep(0.5)

                depths, counts_unacked = metrics.queue_depths(Connector(settings.broker_url), [dlq])
                assert counts_unacked
                assert depths == {dlq: 2}

                poller = metrics.QueueDepthPoller(Connector(settings.broker_url), [dlq], 60)
                assert poller.poll_once() == {dlq: 2}
                assert metrics._value("edigw_dead_letter_messages", queue=dlq) == 2
                assert metrics._value("edigw_queue_depth_counts_unacked") == 1

                console_figures = Backend(bootstrap(settings)).queue_stats()[dlq]
                assert (console_figures.messages, console_figures.unacked) == (2, 2)
        finally:
            store.close()
        assert wait_depth(ch, dlq, 2) == 2


def test_without_the_management_api_the_depth_says_it_is_ready_only(
    gateway_env: dict[str, str],
) -> None:
    settings = settings_for(gateway_env)
    names = Names(settings.name_prefix)
    dlq = names.dead_letter(names.inbound("apcs"))
    with channel_for(settings) as ch:
        dead_letter(ch, settings, BAD_COUNT)
        assert wait_depth(ch, dlq, 1) == 1
    # Port 9 (discard): nothing answers there.
    depths, counts_unacked = metrics.queue_depths(
        Connector(settings.broker_url), [dlq], management_url="http://127.0.0.1:9", timeout=2
    )
    assert not counts_unacked
    assert depths == {dlq: 1}
