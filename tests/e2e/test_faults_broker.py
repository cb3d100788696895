"""Fault tests: the broker stops and starts mid-run; a poison message among good ones.

The broker restart uses ``rabbitmqctl stop_app`` / ``start_app`` on the machine's own
RabbitMQ (restored in a ``finally``). What is asserted: nothing is lost (every inbound
message's document reaches ``customs.core``, copies dropped by ``message_id``), the
gateway process reconnects by itself (the same process, never restarted by the test).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pika
import pytest

from gateway.messaging import broker
from gateway.storage.journal import derived_id
from tests.e2e.test_faults_support import (
    cleanup_topologies,  # noqa: F401  (autouse: deletes each test's queues)
    count,
    cuscar,
    declare_topology,
    done_count,
    drain,
    gateway_process,
    names_of,
    rabbitmqctl,
    submit,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.broker]


def _handle_limit() -> int:
    out = subprocess.run(
        ["rabbitmqctl", "-q", "eval", "file_handle_cache:get_limit()."],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(out.stdout.strip())


def _set_handle_limit(limit: int) -> None:
    rabbitmqctl("eval", f"file_handle_cache:set_limit({int(limit)}).")


def _broker_up(url: str) -> bool:
    try:
        broker.connect(url).close()
        return True
    except pika.exceptions.AMQPError:
        return False


def test_broker_stop_and_start_mid_run_loses_nothing_and_gateway_recovers(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    # Enough work that the broker goes down mid-run even for a fast gateway (~300 msg/s).
    n = 1500
    names = names_of(gateway_env)
    declare_topology(gateway_env)
    messages = [(f"bounce-{i:05d}", cuscar(10_000 + i)) for i in range(n)]
    submit(gateway_env, messages)
    log = tmp_path / "gateway.log"
    limit = _handle_limit()  # before the clock matters: rabbitmqctl takes a second
    with gateway_process(gateway_env, log) as gateway:
        wait_until(lambda: done_count(gateway_env) >= 50, 30, "50 messages done")
        try:
            rabbitmqctl("stop_app")
            done_when_stopped = done_count(gateway_env)
            time.sleep(2)
        finally:
            rabbitmqctl("start_app")
            # start_app resets a file-handle limit raised at runtime: leave it as found.
            _set_handle_limit(limit)
        wait_until(lambda: _broker_up(gateway_env["EDIGW_AMQP_URL"]), 30, "broker back")
        assert done_when_stopped < n, "the run ended before the broker stopped"
        wait_until(lambda: done_count(gateway_env) >= n, 55, "every message done after recovery")
        assert gateway.poll() is None, "the gateway process died instead of reconnecting"
        docs = drain(gateway_env, names.customs_core)
    assert {p.message_id for p, _ in docs} == {derived_id(mid, 0) for mid, _ in messages}
    assert count(gateway_env, names.dead_letter(names.inbound("apcs"))) == 0
    assert b"broker connection lost, reconnecting" in log.read_bytes()


def test_poison_message_is_dead_lettered_after_the_delivery_limit_and_others_flow(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    names = names_of(gateway_env)
    declare_topology(gateway_env)
    good = [(f"good-{i:03d}", cuscar(20_000 + i)) for i in range(30)]
    poison = ("poison-1", cuscar(29_999, marker="POISON-PILL-6"))
    submit(gateway_env, [*good[:15], poison, *good[15:]])
    with gateway_process(
        gateway_env, tmp_path / "gateway.log", {"EDIGW_TEST_FAIL_MARKER": "POISON-PILL-6"}
    ):
        dlq = names.dead_letter(names.inbound("apcs"))
        wait_until(lambda: count(gateway_env, dlq) >= 1, 40, "the poison message dead-lettered")
        wait_until(lambda: done_count(gateway_env) >= len(good), 40, "the good messages done")
        [(props, body)] = drain(gateway_env, dlq)
        docs = drain(gateway_env, names.customs_core)
    assert {p.message_id for p, _ in docs} == {derived_id(mid, 0) for mid, _ in good}
    assert props.message_id == "poison-1"
    assert body == poison[1]
    headers = props.headers
    assert headers[broker.H_REASON] == "INTERNAL_ERROR"
    assert "5 times" in headers[broker.H_SENTENCE]
    assert headers[broker.H_STAGE] == "process"
    assert headers[broker.H_PARTNER] == "apcs"
    assert headers[broker.H_ORIGINAL_EXCHANGE] == names.inbound("apcs")
    assert headers[broker.H_ORIGINAL_QUEUE] == names.inbound("apcs")
    assert headers[broker.H_ATTEMPTS] == 5  # the configured delivery limit
    assert headers[broker.H_FIRST_FAILURE]
