"""Fault test: long work must not kill the broker connection (heartbeats keep flowing).

With a 1-second heartbeat, RabbitMQ drops a connection that stays silent for about two
seconds. A ~5 MB manifest (10,000 bills of lading) takes the pipeline several seconds;
the worker decides in a thread while its asyncio loop keeps answering heartbeats, so the
connection survives: no reconnect in the log, and both messages are settled.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_faults_support import (
    ROOT,
    cleanup_topologies,  # noqa: F401  (autouse: deletes each test's queues)
    cuscar,
    declare_topology,
    done_count,
    gateway_process,
    submit,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.broker]


def test_a_manifest_that_takes_seconds_does_not_kill_the_connection(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    big = tmp_path / "big.edi"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gen_cuscar.py"), str(big), "--bills", "10000"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    config = tmp_path / "gateway.toml"
    config.write_text("[broker]\nheartbeat = 1\n")
    env = {**gateway_env, "EDIGW_CONFIG": str(config)}
    declare_topology(env)
    log = tmp_path / "gateway.log"
    with gateway_process(env, log):
        submit(env, [("hb-big", big.read_bytes()), ("hb-small", cuscar(80_000))])
        wait_until(lambda: done_count(env) >= 2, 55, "both messages settled")
    text = log.read_bytes()
    assert b"broker connection lost" not in text
    assert b"message left unacknowledged" not in text
