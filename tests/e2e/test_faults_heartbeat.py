"""Fault test: long work must not kill the broker connection (heartbeats keep flowing).

Issue #6: "a 50 MB manifest must not kill the connection". With a 3-second heartbeat
(a tenth of the default), RabbitMQ drops a connection that stays silent for about six
seconds. A 50 MB interchange (110,000 bills of lading in 22 CUSCAR messages) takes the
pipeline about a minute; the
worker decides in a thread while its asyncio loop keeps answering heartbeats, so the
connection survives: no reconnect in the log, every manifest reaches customs once, and
the small message sent behind it is settled too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_faults_support import (
    ROOT,
    cleanup_topologies,  # noqa: F401  (autouse: deletes each test's queues)
    count,
    cuscar,
    declare_topology,
    done_count,
    gateway_process,
    names_of,
    submit,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.broker]


def test_a_manifest_that_takes_seconds_does_not_kill_the_connection(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    big = tmp_path / "big.edi"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gen_cuscar.py"), str(big), "--bills", "110000"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert big.stat().st_size > 50_000_000
    config = tmp_path / "gateway.toml"
    config.write_text("[broker]\nheartbeat = 3\n")
    env = {**gateway_env, "EDIGW_CONFIG": str(config)}
    declare_topology(env)
    log = tmp_path / "gateway.log"
    with gateway_process(env, log):
        submit(env, [("hb-big", big.read_bytes()), ("hb-small", cuscar(80_000))])
        wait_until(lambda: done_count(env) >= 2, 400, "both messages settled")
    text = log.read_bytes()
    assert b"broker connection lost" not in text
    assert b"message left unacknowledged" not in text
    # 22 signed manifests from the big interchange and 1 from the small one, each once.
    manifests = big.read_bytes().count(b"UNH+")
    assert manifests == 22
    assert count(env, names_of(env).customs_core) == manifests + 1
