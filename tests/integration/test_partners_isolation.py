"""Partner isolation on the real broker: provisioned users can do their own job and nothing else.

``edigw partners provision`` creates one user per partner. With apcs's credentials:
publishing into apcs's inbound works; publishing into commerce's inbound, reading
commerce's outbound, declaring anything, or passing as commerce (``user_id``) is refused
by RabbitMQ. The gateway routes apcs's message and takes the sender from ``user_id``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pika
import pytest

from gateway.config import load
from gateway.messaging.partners import deprovision, partner_url, read_secret, user_for, vhost_of
from gateway.storage.journal import derived_id
from tests.e2e.test_faults_support import (
    cleanup_topologies,  # noqa: F401  (autouse: deletes each test's queues)
    cuscar,
    declare_topology,
    delete_topology,
    drain,
    events_of,
    names_of,
    rabbitmqctl,
    wait_until,
    worker_thread,
)

pytestmark = [pytest.mark.broker]


@pytest.fixture(scope="module")
def partner_env(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One gateway environment for the module: provisioning users costs seconds per call."""
    return {
        **os.environ,
        "EDIGW_AMQP_URL": amqp_url,
        "EDIGW_NAME_PREFIX": f"p{uuid.uuid4().hex[:8]}.",
        "EDIGW_STATE_DIR": str(tmp_path_factory.mktemp("partners") / "state"),
    }


@pytest.fixture(scope="module")
def provisioned(partner_env: dict[str, str]) -> Iterator[dict[str, str]]:
    declare_topology(partner_env, cleanup=False)
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "gateway", "partners", "provision"),
            *("--partner", "apcs", "--partner", "commerce"),
        ],
        env=partner_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    settings = load(env=partner_env)
    try:
        assert proc.returncode == 0, proc.stderr
        urls = {}
        for pid in ("apcs", "commerce"):
            user = user_for(names_of(partner_env), pid)
            assert user in proc.stdout
            secret = read_secret(settings, user)
            assert secret and secret not in proc.stdout  # never printed
            urls[pid] = partner_url(partner_env["EDIGW_AMQP_URL"], user, secret)
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


def test_partner_credentials_cannot_cross_into_another_partner(
    partner_env: dict[str, str], provisioned: dict[str, str]
) -> None:
    names = names_of(partner_env)
    apcs_url = provisioned["apcs"]
    apcs_user = user_for(names, "apcs")
    commerce_user = user_for(names, "commerce")

    # Its own inbound: accepted and confirmed.
    _publish(apcs_url, names.inbound("apcs"), apcs_user, cuscar(70_000), "iso-1")

    # Another partner's inbound: ACCESS_REFUSED.
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
        _publish(apcs_url, names.inbound("commerce"), apcs_user, b"x", "iso-2")
    assert refused.value.reply_code == 403

    # Another partner's outbound: ACCESS_REFUSED.
    connection, channel = _channel(apcs_url)
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
            channel.basic_get(names.outbound("commerce"), auto_ack=True)
        assert refused.value.reply_code == 403
    finally:
        if connection.is_open:
            connection.close()

    # Configure nothing: not even a queue of its own.
    connection, channel = _channel(apcs_url)
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
            channel.queue_declare(f"{names.prefix}apcs-private")
        assert refused.value.reply_code == 403
    finally:
        if connection.is_open:
            connection.close()

    # Passing as another sender: RabbitMQ checks user_id against the login.
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
        _publish(apcs_url, names.inbound("apcs"), commerce_user, b"x", "iso-3")
    assert refused.value.reply_code == 406

    # Its own outbound: readable.
    connection, channel = _channel(apcs_url)
    try:
        method, _, _ = channel.basic_get(names.outbound("apcs"), auto_ack=False)
        assert method is None  # empty, but allowed
    finally:
        connection.close()


def test_gateway_takes_the_sender_from_user_id(
    partner_env: dict[str, str], provisioned: dict[str, str]
) -> None:
    names = names_of(partner_env)
    settings = load(env=partner_env)
    commerce_user = user_for(names, "commerce")
    # A misconfiguration lets commerce write into apcs's inbound too: the broker allows
    # the publish, but user_id (checked by RabbitMQ) still says it is commerce.
    write = f"^({re.escape(names.inbound('commerce'))}|{re.escape(names.inbound('apcs'))})$"
    rabbitmqctl(
        "set_permissions", "-p", vhost_of(settings.broker_url), commerce_user, "^$", write, "^$"
    )
    with worker_thread(partner_env):
        _publish(
            provisioned["apcs"],
            names.inbound("apcs"),
            user_for(names, "apcs"),
            cuscar(70_100),
            "uid-1",
        )
        _publish(
            provisioned["commerce"], names.inbound("apcs"), commerce_user, cuscar(70_101), "uid-2"
        )
        dlq = names.dead_letter(names.inbound("apcs"))
        [(props, _)] = wait_until(lambda: drain(partner_env, dlq), 20, "uid-2 refused")
        wait_until(lambda: "routed" in events_of(partner_env, "uid-1"), 20, "uid-1 routed")
        docs = drain(partner_env, names.customs_core)
    routed = {p.message_id for p, _ in docs}
    assert derived_id("uid-1", 0) in routed
    assert derived_id("uid-2", 0) not in routed
    assert props.message_id == "uid-2"
    assert props.headers["x-edigw-reason"] == "SENDER_MISMATCH"
    assert commerce_user in props.headers["x-edigw-sentence"]


def test_what_a_partner_learns_of_another_by_passive_declares(
    partner_env: dict[str, str], provisioned: dict[str, str]
) -> None:
    """Issue #14, finding 8b, as it stands on RabbitMQ 3.10 (docs/security.md): a
    passive declare is not checked against permissions, so apcs learns that commerce's queue
    and exchange exist and how many messages wait there; names that do not exist give 404,
    so the partner list can be enumerated. Not fixed here: this test pins what is exposed."""
    names = names_of(partner_env)
    inbound = names.inbound("commerce")
    for i in range(2):
        _publish(partner_env["EDIGW_AMQP_URL"], inbound, None, b"x", f"peek-{i}")
    connection, channel = _channel(provisioned["apcs"])
    try:
        ok = channel.queue_declare(inbound, passive=True)
        assert ok.method.message_count == 2  # another partner's depth
        channel.exchange_declare(inbound, passive=True)  # and its exchange
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as missing:
            channel.queue_declare(names.inbound("nobody"), passive=True)
        assert missing.value.reply_code == 404
    finally:
        if connection.is_open:
            connection.close()
        drain(partner_env, inbound)
    # Reading or writing it is still refused (permissions hold for everything but declares).
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
        _publish(provisioned["apcs"], inbound, user_for(names, "apcs"), b"x", "peek-3")
    assert refused.value.reply_code == 403
