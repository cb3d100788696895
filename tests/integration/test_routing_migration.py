"""Migration routing with a real ``edigw run``: office cut-over without restart, copy rules.

The office DZALG starts on the legacy system; the configuration is edited and
``edigw routes reload`` signals the running gateway (SIGHUP); the next manifest for
DZALG goes to the new core, and the gateway logs what changed. A copy rule sends every
DZALG manifest to a second authority's queue as well, before and after.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.messaging import broker
from gateway.storage.journal import derived_id
from tests.e2e.test_faults_support import (
    cleanup_topologies,  # noqa: F401  (autouse: deletes each test's queues)
    count,
    cuscar,
    declare_topology,
    delete_queue,
    done_count,
    drain,
    gateway_process,
    names_of,
    submit,
    wait_until,
    worker_thread,
)

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

COPY = """
[[copies]]
document_type = "CargoManifest"
office = "DZALG"
destination = "veterinary"
"""
LEGACY = (
    """
[[routes]]
office = "DZALG"
destination = "legacy"

[[routes]]
destination = "core"
"""
    + COPY
)
CORE = (
    """
[[routes]]
destination = "core"
"""
    + COPY
)


def test_office_cut_over_takes_effect_without_restart_and_copies_follow(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(LEGACY)
    env = {**gateway_env, "EDIGW_CONFIG": str(config)}
    names = names_of(env)
    declare_topology(env)
    log = tmp_path / "gateway.log"
    with gateway_process(env, log) as gateway:
        submit(env, [("mig-1", cuscar(60_000))])
        wait_until(lambda: done_count(env) >= 1, 20, "first manifest done")
        assert [p.message_id for p, _ in drain(env, names.customs_legacy)] == [
            derived_id("mig-1", 0)
        ]
        assert count(env, names.customs_core) == 0

        config.write_text(CORE)  # DZALG moves to the new system
        reload = subprocess.run(
            [sys.executable, "-m", "gateway", "routes", "reload"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert reload.returncode == 0, reload.stderr
        assert str(gateway.pid) in reload.stdout
        wait_until(lambda: b"routes reloaded" in log.read_bytes(), 20, "the reload logged")
        assert b"- route type=* partner=* office=DZALG -> legacy" in log.read_bytes()

        submit(env, [("mig-2", cuscar(60_001))])
        wait_until(lambda: done_count(env) >= 2, 20, "second manifest done")
        assert [p.message_id for p, _ in drain(env, names.customs_core)] == [derived_id("mig-2", 0)]
        assert count(env, names.customs_legacy) == 0
        vet = drain(env, names.customs("veterinary"))
        assert sorted(p.message_id for p, _ in vet) == sorted(
            [derived_id("mig-1", 0), derived_id("mig-2", 0)]
        )
        assert gateway.poll() is None  # the same process all along


def test_reload_refuses_a_bad_configuration(gateway_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[[routes]]\ndestination = "nowhere"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "gateway", "routes", "reload"],
        env={**gateway_env, "EDIGW_CONFIG": str(config)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "routes[0].destination" in proc.stderr


def test_a_destination_without_queue_dead_letters_the_message_as_unroutable(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(LEGACY)
    env = {**gateway_env, "EDIGW_CONFIG": str(config)}
    names = names_of(env)
    declare_topology(env)
    with worker_thread(env):
        wait_until(lambda: _consuming(env), 20, "the worker consuming")
        # Someone deleted the legacy queue: the broker returns the document (mandatory).
        delete_queue(env, names.customs_legacy)
        submit(env, [("unroutable-1", cuscar(60_100))])
        dlq = names.dead_letter(names.inbound("apcs"))
        [(props, _)] = wait_until(lambda: drain(env, dlq), 20, "the message dead-lettered")
    h = props.headers
    assert props.message_id == "unroutable-1"
    assert h["x-edigw-reason"] == "UNROUTABLE"
    assert names.customs_exchange in h["x-edigw-sentence"]
    assert h["x-edigw-partner"] == "apcs"
    assert h["x-edigw-original-queue"] == names.inbound("apcs")
    assert h["x-edigw-original-exchange"] == names.inbound("apcs")


def _consuming(env: dict[str, str]) -> bool:
    connection = broker.connect(env["EDIGW_AMQP_URL"], attempts=5)
    try:
        ok = connection.channel().queue_declare(names_of(env).inbound("apcs"), passive=True)
        return int(ok.method.consumer_count) > 0
    finally:
        connection.close()
