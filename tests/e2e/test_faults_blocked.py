"""Fault test: a broker resource alarm (``connection.blocked``) pauses intake, then resumes.

The memory alarm is raised for real (``set_vm_memory_high_watermark absolute 1``) and
the previous watermark restored in a ``finally``, after a few seconds. What is asserted:
the gateway logs that it paused intake when RabbitMQ blocked its connection and that it
resumed after the alarm cleared, the process stays up without a reconnect, and every
message is settled.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.test_faults_support import (
    cleanup_topologies,  # noqa: F401  (autouse: deletes each test's queues)
    cuscar,
    declare_topology,
    done_count,
    gateway_process,
    rabbitmqctl,
    submit,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.broker]


def _watermark() -> str:
    out = subprocess.run(
        ["rabbitmqctl", "-q", "eval", "vm_memory_monitor:get_vm_memory_high_watermark()."],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    return out


def _restore(watermark: str) -> None:
    if watermark.startswith("{absolute,"):
        rabbitmqctl("set_vm_memory_high_watermark", "absolute", watermark[10:-1].strip())
    else:
        rabbitmqctl("set_vm_memory_high_watermark", watermark)


def test_memory_alarm_pauses_intake_and_the_gateway_resumes(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    declare_topology(gateway_env)
    messages = [(f"blk-{i}", cuscar(90_000 + i)) for i in range(20)]
    submit(gateway_env, messages)  # before the alarm: a blocked publisher would wait
    log = tmp_path / "gateway.log"
    watermark = _watermark()
    restored = False
    # The alarm goes up before the gateway starts: RabbitMQ blocks a connection when it
    # publishes, so the gateway must still have work to publish while the alarm is on
    # (raised after start, a fast machine could finish all 20 messages first).
    rabbitmqctl("set_vm_memory_high_watermark", "absolute", "1")
    try:
        with gateway_process(gateway_env, log) as gateway:
            wait_until(lambda: b"intake paused" in log.read_bytes(), 60, "intake paused")
            time.sleep(1)
            _restore(watermark)
            restored = True
            wait_until(lambda: b"intake resumed" in log.read_bytes(), 60, "intake resumed")
            wait_until(lambda: done_count(gateway_env) >= len(messages), 60, "all messages done")
            assert gateway.poll() is None
    finally:
        if not restored:
            _restore(watermark)
    assert b"broker connection lost" not in log.read_bytes()
