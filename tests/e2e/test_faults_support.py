"""Helpers of the fault tests (issue #6): many distinct CUSCARs, a gateway process, queue reads.

No tests here; the fault tests import these.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pika
import pytest

from gateway.config import load
from gateway.messaging import broker
from gateway.messaging.naming import Names
from gateway.messaging.topology import declare, topology_for
from tests.conftest import delete_topology

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = (ROOT / "samples" / "apcs" / "01-cuscar-msc-algiers.edi").read_bytes()
EDIGW = [sys.executable, "-m", "gateway", "--log-format", "json"]
T = TypeVar("T")


def cuscar(n: int, marker: str = "") -> bytes:
    """The sample CUSCAR with its own interchange reference and manifest number."""
    ref = f"F{n:09d}"
    data = SAMPLE.replace(b"AP000001", ref.encode()).replace(
        b"MAN-DZALG-2611-001", f"MAN-FAULT-{n:06d}".encode()
    )
    if marker:
        data = data.replace(b"PORTABLE COMPUTERS", marker.encode())
    return data


def connect(env: dict[str, str]) -> pika.BlockingConnection:
    """The test's own connection to the gateway's broker: ``EDIGW_AMQP_URL``'s node, then
    those of ``EDIGW_AMQP_HOSTS`` when set (the cluster's, tests/cluster/)."""
    hosts = [h for h in env.get("EDIGW_AMQP_HOSTS", "").split(",") if h]
    return broker.connect(env["EDIGW_AMQP_URL"], attempts=5, hosts=hosts)


def names_of(env: dict[str, str]) -> Names:
    return Names(env["EDIGW_NAME_PREFIX"])


_DECLARED: list[dict[str, str]] = []


def declare_topology(env: dict[str, str], *, cleanup: bool = True) -> None:
    """Declare the gateway's topology for ``env``; deleted after the test unless told not to."""
    settings = load(env=env)
    connection = broker.connect(settings.broker_url, attempts=5)
    try:
        declare(connection.channel(), topology_for(settings))
    finally:
        connection.close()
    if cleanup:
        _DECLARED.append(env)


@pytest.fixture(autouse=True)
def cleanup_topologies() -> Iterator[None]:
    """Autouse in every module that imports it: delete the topologies its test declared."""
    yield
    while _DECLARED:
        delete_topology(_DECLARED.pop())


def submit(env: dict[str, str], messages: list[tuple[str, bytes]], partner: str = "apcs") -> None:
    """Publish (message id, body) pairs to the partner's inbound exchange, confirmed."""
    names = names_of(env)
    connection = connect(env)
    try:
        channel = broker.confirmed_channel(connection)
        for message_id, body in messages:
            broker.publish(
                channel,
                names.inbound(partner),
                "",
                body,
                message_id=message_id,
                content_type="application/edifact",
            )
    finally:
        connection.close()


def count(env: dict[str, str], queue: str) -> int:
    """Ready messages in ``queue``."""
    connection = connect(env)
    try:
        ok = connection.channel().queue_declare(queue, passive=True)
        return int(ok.method.message_count)
    finally:
        connection.close()


def delete_queue(env: dict[str, str], queue: str) -> None:
    """Delete ``queue`` (as an operator might by mistake: publishes to it come back)."""
    connection = connect(env)
    try:
        connection.channel().queue_delete(queue)
    finally:
        connection.close()


def drain(env: dict[str, str], queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
    """Take every message out of ``queue``."""
    out = []
    connection = connect(env)
    try:
        channel = connection.channel()
        while True:
            method, props, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                break
            out.append((props, body))
    finally:
        connection.close()
    return out


def wait_until(check: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except Exception as exc:  # the broker may be restarting
            last = exc
        else:
            if result:
                return result
            last = result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


@contextmanager
def gateway_process(
    env: dict[str, str], log_path: Path, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``edigw run`` as a child process; stopped (SIGTERM, then SIGKILL) on exit."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [*EDIGW, "run"], env={**env, **(extra_env or {})}, stdout=log, stderr=log
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def kill9(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)


def done_count(env: dict[str, str]) -> int:
    """Inbound messages the journal records as done (published and confirmed)."""
    settings = load(env=env)
    import sqlite3

    if not Path(settings.journal_path).exists():
        return 0
    db = sqlite3.connect(settings.journal_path, timeout=10)
    try:
        (n,) = db.execute("SELECT COUNT(*) FROM processed WHERE state = 'done'").fetchone()
        return int(n)
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


@contextmanager
def site_journal_env(
    env: dict[str, str], tmp_path: Path, config: str = ""
) -> Iterator[tuple[dict[str, str], str, str]]:
    """``env`` on a PostgreSQL journal of its own (a role and schema, upgraded), with the
    site's signing key and ministries' anchors from files, as `edigw run` wants them with a
    shared journal (issue #20); ``config``: more TOML for the gateway. Yields (env, role, DSN)."""
    from gateway.bootstrap import bootstrap
    from gateway.security.signing import ensure_dev_keys
    from gateway.security.trust import DevPki

    key, cert = tmp_path / "site" / "key.pem", tmp_path / "site" / "cert.pem"
    trust = tmp_path / "trust"
    ensure_dev_keys(key, cert)
    config_file = tmp_path / "gateway.toml"
    config_file.write_text(f'{config}[trust]\ndir = "{trust}"\n')
    with pg_schema() as (role, dsn):
        made = {
            **env,
            "EDIGW_CONFIG": str(config_file),
            "EDIGW_JOURNAL_BACKEND": "postgresql",
            "EDIGW_JOURNAL_PATH": dsn,
            "EDIGW_SIGNING_KEY": str(key),
            "EDIGW_SIGNING_CERT": str(cert),
        }
        settings = load(env=made)
        ministries = [p.id for p in settings.partners.values() if p.role == "ministry"]
        DevPki.ensure(settings.state_dir, ministries, trust)
        with bootstrap(settings) as app:
            app.upgrade_journal()
        yield made, role, dsn


PG_ADMIN = os.environ.get("EDIGW_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")


def psql(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def pg_schema() -> Iterator[tuple[str, str]]:
    """A role and a schema of its own in the test database; yields (role, DSN); dropped after."""
    import uuid

    role = f"edigw_t_{uuid.uuid4().hex[:10]}"
    psql(f"CREATE ROLE {role} LOGIN")
    psql(f"CREATE SCHEMA {role} AUTHORIZATION {role}")
    dsn = f"postgresql://{role}@127.0.0.1:5432/test?options=-csearch_path%3D{role}"
    try:
        yield role, dsn
    finally:
        psql(f"ALTER ROLE {role} LOGIN")
        psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'")
        psql(f"DROP SCHEMA {role} CASCADE")
        psql(f"DROP ROLE {role}")


def pg_cut(role: str) -> None:
    """Make the journal database unavailable to ``role``: no login, sessions ended."""
    psql(f"ALTER ROLE {role} NOLOGIN")
    psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'")


def pg_restore(role: str) -> None:
    psql(f"ALTER ROLE {role} LOGIN")


def done_count_pg(dsn: str) -> int:
    import psycopg

    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            row = conn.execute("SELECT COUNT(*) FROM processed WHERE state = 'done'").fetchone()
            return int(row[0]) if row else 0
    except psycopg.Error:
        return 0


@contextmanager
def worker_thread(env: dict[str, str]) -> Iterator[Any]:
    """The gateway's worker in a thread of the test process (faster than a process)."""
    import threading

    from gateway.bootstrap import bootstrap
    from gateway.messaging.worker import Worker

    worker = Worker(bootstrap(load(env=env)))
    thread = threading.Thread(target=worker.run, name="edigw-worker", daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.request_stop()
        thread.join(timeout=30)
        worker.gw.journal.close()


def events_of(env: dict[str, str], message_id: str) -> list[str]:
    """The journal statuses of one message, in order."""
    from gateway.storage.backends import open_journal

    settings = load(env=env)
    journal = open_journal(settings.journal_backend, settings.journal_path)
    try:
        return [
            e.status
            for h in journal.track(message_id)
            if h.message_id == message_id
            for e in h.events
        ]
    finally:
        journal.close()
