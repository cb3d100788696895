"""Partner isolation on the real broker: each partner in a virtual host of its own (issue #14, 8b).

``edigw partners provision`` gives apcs and commerce each a vhost (``<prefix>partner.<id>``)
holding their inbound exchange and queue and their outbound queue, a user allowed there only,
and two shovels to and from the gateway's vhost. With apcs's credentials:

* the gateway's vhost and commerce's refuse the connection itself;
* in its own vhost, commerce's queues and the gateway's do not exist (404), whatever waits in
  them: a passive declare learns nothing, where on RabbitMQ 3.10 it used to give their depth;
* a file sent with ``edigw submit`` and apcs's URL is routed by the gateway, and its CONTRL
  comes back to the outbound queue in apcs's vhost;
* the sender is the vhost: a message reaches the gateway with ``user_id`` = apcs's user whatever
  apcs set, and RabbitMQ refuses any other ``user_id`` (commerce's, the gateway's).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from urllib.parse import quote, urlparse, urlunparse

import pika
import pytest

from gateway.config import load
from gateway.messaging.broker import own_user
from gateway.messaging.partners import (
    deprovision,
    partner_url,
    read_secret,
    user_for,
    vhost_for,
    vhost_of,
)
from gateway.storage.journal import derived_id
from tests.e2e.test_faults_support import (
    cleanup_topologies,  # noqa: F401  (autouse: deletes each test's queues)
    count,
    cuscar,
    delete_topology,
    drain,
    events_of,
    names_of,
    rabbitmqctl,
    wait_until,
    worker_thread,
)

pytestmark = [pytest.mark.broker]
EDIGW = [sys.executable, "-m", "gateway"]


@pytest.fixture(scope="module")
def partner_env(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One gateway environment for the module: provisioning costs seconds per call."""
    return {
        **os.environ,
        "EDIGW_AMQP_URL": amqp_url,
        "EDIGW_NAME_PREFIX": f"p{uuid.uuid4().hex[:8]}.",
        "EDIGW_STATE_DIR": str(tmp_path_factory.mktemp("partners") / "state"),
        "EDIGW_MODE": "development",
    }


def _edigw(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EDIGW, *args], env=env, capture_output=True, text=True, timeout=120)


def _provision(env: dict[str, str], *partners: str) -> subprocess.CompletedProcess[str]:
    only = (a for p in partners for a in ("--partner", p))
    return _edigw(env, "partners", "provision", "--json", *only)


@pytest.fixture(scope="module")
def provisioned(partner_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """apcs's and commerce's URLs (user, password, own vhost); everything deleted at the end."""
    proc = _provision(partner_env, "apcs", "commerce")
    settings = load(env=partner_env)
    try:
        assert proc.returncode == 0, proc.stderr
        lines = {json.loads(line)["partner"]: json.loads(line) for line in proc.stdout.splitlines()}
        urls = {}
        for pid in ("apcs", "commerce"):
            user = user_for(names_of(partner_env), pid)
            assert lines[pid]["user"] == user and lines[pid]["state"] == "created"
            assert lines[pid]["vhost"] == f"{partner_env['EDIGW_NAME_PREFIX']}partner.{pid}"
            secret = read_secret(settings, user)
            assert secret and secret not in proc.stdout  # never printed
            urls[pid] = partner_url(settings.broker_url, user, secret, lines[pid]["vhost"])
            assert lines[pid]["url"] == partner_url(
                settings.broker_url, user, None, lines[pid]["vhost"]
            )
        yield urls
    finally:
        deprovision(settings, only=["apcs", "commerce"])
        delete_topology(partner_env)


def _channel(
    url: str,
) -> tuple[pika.BlockingConnection, pika.adapters.blocking_connection.BlockingChannel]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.confirm_delivery()
    return connection, channel


def _publish(url: str, exchange: str, user_id: str | None, body: bytes, message_id: str) -> None:
    connection, channel = _channel(url)
    try:
        channel.basic_publish(
            exchange,
            "",
            body,
            pika.BasicProperties(delivery_mode=2, message_id=message_id, user_id=user_id),
            mandatory=True,
        )
    finally:
        if connection.is_open:
            connection.close()


def _in_vhost(url: str, vhost: str) -> str:
    """``url`` (credentials and all) for another vhost."""
    return urlunparse(urlparse(url)._replace(path="/" + quote(vhost, safe="")))


def _refused_connection(url: str) -> str:
    with pytest.raises(pika.exceptions.AMQPConnectionError) as refused:
        pika.BlockingConnection(pika.URLParameters(url))
    return repr(refused.value)


def _closed_channel(url: str, act: str, *args: object) -> int:
    """The reply code of the channel error ``act`` (a channel method) gets with ``url``."""
    connection, channel = _channel(url)
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as closed:
            getattr(channel, act)(*args)
        return int(closed.value.reply_code)
    finally:
        if connection.is_open:
            connection.close()


def test_a_partner_user_reaches_nothing_but_its_own_vhost(
    partner_env: dict[str, str], provisioned: dict[str, str]
) -> None:
    names = names_of(partner_env)
    settings = load(env=partner_env)
    apcs_url = provisioned["apcs"]
    core_vhost = vhost_of(settings.broker_url)
    commerce_vhost = vhost_for(names, settings.partners["commerce"])

    # The gateway's vhost and commerce's: the connection itself is refused (530 NOT_ALLOWED).
    for vhost in (core_vhost, commerce_vhost):
        refused = _refused_connection(_in_vhost(apcs_url, vhost))
        assert "530" in refused and "NOT_ALLOWED" in refused and vhost in refused, refused

    # Something waits in commerce's inbound (in the gateway's vhost; no worker runs) and in
    # the gateway's customs queue: apcs's passive declares find neither, nor their exchanges.
    inbound = names.inbound("commerce")
    for i in range(2):
        _publish(settings.broker_url, inbound, None, b"x", f"peek-{i}")
    try:
        for queue in (inbound, names.outbound("commerce"), names.customs_core):
            assert _closed_channel(apcs_url, "queue_declare", queue, True) == 404
        assert _closed_channel(apcs_url, "exchange_declare", inbound, "fanout", True) == 404
        assert _closed_channel(apcs_url, "queue_declare", names.inbound("nobody"), True) == 404
    finally:
        assert len(drain(partner_env, inbound)) == 2  # they were there all along

    # Configure nothing, read nothing but its outbound, write nothing but its inbound.
    assert _closed_channel(apcs_url, "queue_declare", f"{names.prefix}apcs-private") == 403
    assert _closed_channel(apcs_url, "basic_get", names.inbound("apcs")) == 403
    connection, channel = _channel(apcs_url)
    try:
        method, _, _ = channel.basic_get(names.outbound("apcs"), auto_ack=False)
        assert method is None  # empty, but allowed
    finally:
        connection.close()


def test_the_sender_is_the_vhost_whatever_user_id_says(
    partner_env: dict[str, str], provisioned: dict[str, str]
) -> None:
    names = names_of(partner_env)
    settings = load(env=partner_env)
    apcs_url, apcs_user = provisioned["apcs"], user_for(names, "apcs")

    # Another partner's user_id, or the gateway's own (whose messages keep their headers):
    # RabbitMQ refuses them in apcs's vhost as it did in the gateway's.
    for forged in (user_for(names, "commerce"), own_user(settings.broker_url)):
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
            _publish(apcs_url, names.inbound("apcs"), forged, b"x", "forged")
        assert refused.value.reply_code == 406

    # With no user_id, or its own: the shovel delivers both into apcs's inbound exchange in the
    # gateway's vhost, under apcs's user (no worker runs: the messages wait there).
    _publish(apcs_url, names.inbound("apcs"), None, b"none", "sender-1")
    _publish(apcs_url, names.inbound("apcs"), apcs_user, b"own", "sender-2")
    got: list[tuple[pika.BasicProperties, bytes]] = []

    def arrived() -> bool:
        got.extend(drain(partner_env, names.inbound("apcs")))
        return len(got) == 2

    wait_until(arrived, 30, "apcs's two messages shovelled into the gateway's vhost")
    assert sorted((p.message_id, p.user_id, b) for p, b in got) == [
        ("sender-1", apcs_user, b"none"),
        ("sender-2", apcs_user, b"own"),
    ]


def test_a_file_submitted_with_the_partners_url_is_answered_in_its_vhost(
    partner_env: dict[str, str],
    provisioned: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    names = names_of(partner_env)
    folder = tmp_path_factory.mktemp("submit")
    (folder / "site.toml").write_text(f'[partners.apcs]\namqp_url = "{provisioned["apcs"]}"\n')
    (folder / "manifest.edi").write_bytes(cuscar(80_001))
    env = {**partner_env, "EDIGW_CONFIG": str(folder / "site.toml")}
    with worker_thread(partner_env):
        submitted = _edigw(env, "submit", "--partner", "apcs", str(folder / "manifest.edi"))
        assert submitted.returncode == 0, submitted.stderr
        message_id = submitted.stdout.split("\t")[0]

        # The CONTRL, read by apcs in its own vhost.
        connection, channel = _channel(provisioned["apcs"])
        try:

            def answer() -> tuple[pika.BasicProperties, bytes] | None:
                while True:  # answers to other tests' messages may wait before ours
                    method, props, body = channel.basic_get(names.outbound("apcs"), auto_ack=True)
                    if method is None:
                        return None
                    if props.correlation_id == message_id:
                        return props, body

            props, body = wait_until(answer, 30, "apcs's CONTRL in its vhost")
        finally:
            connection.close()
        wait_until(lambda: "routed" in events_of(partner_env, message_id), 20, "routed")
    assert props.correlation_id == message_id
    assert body.startswith(b"UNA") or body.startswith(b"UNB")
    assert b"UCI+" in body and b"CONTRL" in body
    routed = {p.message_id for p, _ in drain(partner_env, names.customs_core)}
    assert derived_id(message_id, 0) in routed

    # A partner URL that names another vhost than the partner's is refused before connecting.
    wrong = _in_vhost(provisioned["apcs"], "/")
    (folder / "site.toml").write_text(f'[partners.apcs]\namqp_url = "{wrong}"\n')
    refused = _edigw(env, "submit", "--partner", "apcs", str(folder / "manifest.edi"))
    assert refused.returncode == 2
    assert "partners.apcs.amqp_url: names the virtual host '/'" in refused.stderr


def test_the_worker_still_refuses_another_partners_user_id(
    partner_env: dict[str, str], provisioned: dict[str, str]
) -> None:
    """Defence in depth: should an operator let commerce's user into the gateway's vhost and
    apcs's inbound there, its messages are still dead-lettered with SENDER_MISMATCH."""
    names = names_of(partner_env)
    settings = load(env=partner_env)
    commerce_user = user_for(names, "commerce")
    core_vhost = vhost_of(settings.broker_url)
    write = f"^{re.escape(names.inbound('apcs'))}$"
    rabbitmqctl("set_permissions", "-p", core_vhost, commerce_user, "^$", write, "^$")
    try:
        commerce_in_core = _in_vhost(provisioned["commerce"], core_vhost)
        with worker_thread(partner_env):
            _publish(provisioned["apcs"], names.inbound("apcs"), None, cuscar(70_100), "uid-1")
            _publish(
                commerce_in_core, names.inbound("apcs"), commerce_user, cuscar(70_101), "uid-2"
            )
            dlq = names.dead_letter(names.inbound("apcs"))
            [(props, _)] = wait_until(lambda: drain(partner_env, dlq), 30, "uid-2 refused")
            wait_until(lambda: "routed" in events_of(partner_env, "uid-1"), 30, "uid-1 routed")
            docs = drain(partner_env, names.customs_core)
    finally:
        rabbitmqctl("clear_permissions", "-p", core_vhost, commerce_user)
    routed = {p.message_id for p, _ in docs}
    assert derived_id("uid-1", 0) in routed
    assert derived_id("uid-2", 0) not in routed
    assert props.message_id == "uid-2"
    assert props.headers["x-edigw-reason"] == "SENDER_MISMATCH"
    assert commerce_user in props.headers["x-edigw-sentence"]


def test_a_message_another_partners_user_wrote_is_never_replayed(
    partner_env: dict[str, str], provisioned: dict[str, str]
) -> None:
    """The SENDER_MISMATCH dead letter stays in apcs's DLQ: a replay would publish it under
    the gateway's user, which the worker trusts, and so pass commerce's message off as apcs's
    (routed to customs as apcs's manifest). ``--dry-run`` says it will not go, a replay (plain
    or ``--all``) leaves it, exit 1 with the reason; nothing reaches customs."""
    names = names_of(partner_env)
    settings = load(env=partner_env)
    commerce_user = user_for(names, "commerce")
    core_vhost = vhost_of(settings.broker_url)
    dlq = names.dead_letter(names.inbound("apcs"))
    write = f"^{re.escape(names.inbound('apcs'))}$"
    rabbitmqctl("set_permissions", "-p", core_vhost, commerce_user, "^$", write, "^$")
    try:
        commerce_in_core = _in_vhost(provisioned["commerce"], core_vhost)
        with worker_thread(partner_env):
            _publish(
                commerce_in_core, names.inbound("apcs"), commerce_user, cuscar(70_201), "uid-3"
            )
            wait_until(lambda: count(partner_env, dlq) >= 1, 30, "uid-3 refused")
            dry = _edigw(partner_env, "dlq", "replay", "--all", "--dry-run")
            replay = _edigw(partner_env, "dlq", "replay", "--all", "--wait", "0")
            letters = drain(partner_env, dlq)
            docs = drain(partner_env, names.customs_core)
    finally:
        rabbitmqctl("clear_permissions", "-p", core_vhost, commerce_user)
    assert dry.returncode == 0 and "rejected: SENDER_MISMATCH" in dry.stdout, dry.stderr
    assert "1 of 1 will be rejected again" in dry.stderr
    assert replay.returncode == 1, replay.stderr
    assert "NOT replayed" in replay.stderr and "never replayed" in replay.stderr
    [(props, _)] = letters  # still there, as it was
    assert props.message_id == "uid-3" and props.headers["x-edigw-reason"] == "SENDER_MISMATCH"
    assert "x-edigw-replays" not in props.headers
    assert docs == []


def test_provisioning_again_keeps_passwords_and_removes_older_grants(
    partner_env: dict[str, str], provisioned: dict[str, str]
) -> None:
    """An earlier provisioning gave partner users permissions on the gateway's vhost: the
    next one removes them. Provisioning twice changes nothing else (same password, same vhost,
    the messages waiting there stay)."""
    names = names_of(partner_env)
    settings = load(env=partner_env)
    apcs_user, core_vhost = user_for(names, "apcs"), vhost_of(settings.broker_url)
    rabbitmqctl("set_permissions", "-p", core_vhost, apcs_user, "^$", ".*", ".*")
    _publish(provisioned["apcs"], names.inbound("apcs"), None, b"waits", "kept-1")
    proc = _provision(partner_env, "apcs")
    assert proc.returncode == 0, proc.stderr
    [line] = [json.loads(x) for x in proc.stdout.splitlines()]
    assert (line["state"], line["revoked_from"]) == ("updated", [core_vhost])
    assert "530" in _refused_connection(_in_vhost(provisioned["apcs"], core_vhost))
    # The same password still opens apcs's vhost; the message went on to the gateway's.
    _publish(provisioned["apcs"], names.inbound("apcs"), None, b"again", "kept-2")
    got: list[tuple[pika.BasicProperties, bytes]] = []

    def arrived() -> bool:
        got.extend(drain(partner_env, names.inbound("apcs")))
        return len(got) >= 2

    wait_until(arrived, 30, "both messages in the gateway's vhost")
    assert {p.message_id for p, _ in got} == {"kept-1", "kept-2"}
