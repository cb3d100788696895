"""TLS towards the broker (``[broker.tls]``), against a real TLS listener with client certificates.

The listener is a private RabbitMQ node (tests/integration/tls_broker.py) that requires a
client certificate signed by its CA (``verify_peer``, ``fail_if_no_peer_cert``):

* the gateway's own clients (``edigw topology``, ``submit``, ``run``) work over amqps with
  the CA, client certificate and key from a configuration file;
* a client without a certificate, with a certificate of another CA, or not trusting the
  broker's CA is refused, and the CLI says so in a sentence with exit 3;
* a partner logs in by its certificate's CN (EXTERNAL) and still cannot pass as another
  partner through ``user_id``.

The first tests need no broker: what the gateway builds from the configuration.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import pika
import pytest

from gateway.bootstrap import bootstrap
from gateway.config import ConfigError, load
from gateway.config_schema import BrokerSection
from gateway.messaging import broker
from gateway.messaging.naming import Names
from gateway.messaging.partners import permissions, user_for
from tests.conftest import delete_topology
from tests.e2e.test_faults_support import gateway_process, wait_until
from tests.helpers import ROOT, SAMPLES
from tests.integration.test_dlq_support import drain
from tests.integration.tls_broker import (
    CertificateAuthority,
    Credential,
    TlsBroker,
    tls_broker,  # noqa: F401  (the session's private TLS node)
)

GATEWAY_CN = "edigw-gateway"
SAMPLE = SAMPLES / "01-cuscar-msc-algiers.edi"


def _edigw(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _write_config(
    path: Path, url: str, ca_file: Path, client: Credential | None, server_name: str = ""
) -> Path:
    lines = ["[broker]", f'url = "{url}"', "", "[broker.tls]", f'ca_file = "{ca_file}"']
    if client is not None:
        lines += [f'cert_file = "{client.cert_file}"', f'key_file = "{client.key_file}"']
    if server_name:
        lines.append(f'server_name = "{server_name}"')
    path.write_text("\n".join(lines) + "\n")
    return path


def _env(config: Path, state: Path) -> dict[str, str]:
    """The test's environment: the configuration file decides the broker, nothing inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDIGW_")}
    env["EDIGW_CONFIG"] = str(config)
    env["EDIGW_NAME_PREFIX"] = f"tls{uuid.uuid4().hex[:8]}."
    env["EDIGW_STATE_DIR"] = str(state)
    env["EDIGW_MODE"] = "development"  # generated signing key and anchors (issue #14)
    return env


def _connect(env: dict[str, str]) -> pika.BlockingConnection:
    return bootstrap(load(env=env)).broker.blocking()


def _take(env: dict[str, str], queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
    """Every message now in ``queue``, taken out (over the gateway's TLS connection)."""
    connection = _connect(env)
    try:
        return drain(connection.channel(), queue)
    finally:
        connection.close()


@pytest.fixture(scope="module")
def gateway_cert(tls_broker: TlsBroker) -> Credential:  # noqa: F811
    return tls_broker.ca.issue(GATEWAY_CN)


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    """A CA the broker does not know (and that did not sign the broker's certificate)."""
    return CertificateAuthority.create(tmp_path_factory.mktemp("other-ca"), "other CA")


@pytest.fixture
def tls_env(
    tls_broker: TlsBroker,  # noqa: F811
    gateway_cert: Credential,
    tmp_path: Path,
) -> Iterator[dict[str, str]]:
    """A gateway configured for the TLS node: amqps URL, CA, client certificate and key."""
    config = _write_config(
        tmp_path / "gateway.toml", tls_broker.url(), tls_broker.ca.cert_file, gateway_cert
    )
    env = _env(config, tmp_path / "state")
    yield env
    delete_topology(env)


# --- what the gateway builds from [broker.tls] (no broker) ---------------------------------


def test_tls_settings_build_a_verifying_context_with_client_certificate(tmp_path: Path) -> None:
    ca = CertificateAuthority.create(tmp_path, "edigw test CA")
    client = ca.issue("apcs")
    section = BrokerSection.model_validate(
        {
            "tls": {
                "ca_file": str(ca.cert_file),
                "cert_file": str(client.cert_file),
                "key_file": str(client.key_file),
            }
        }
    )
    context = broker.ssl_context(broker.tls_from(section))
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    [trusted] = context.get_ca_certs()
    assert (("commonName", "edigw test CA"),) in trusted["subject"]
    assert broker.tls_from(BrokerSection()) is None


def test_a_client_certificate_that_does_not_match_its_key_is_refused(tmp_path: Path) -> None:
    ca = CertificateAuthority.create(tmp_path, "edigw test CA")
    one, other = ca.issue("apcs"), ca.issue("apcs")
    tls = broker.Tls(cert_file=str(one.cert_file), key_file=str(other.key_file))
    with pytest.raises(ConfigError) as refused:
        broker.ssl_context(tls)
    assert refused.value.key == "broker.tls.cert_file"
    assert "key values mismatch" in refused.value.reason


def test_bad_tls_settings_are_refused_at_start_with_the_key(tmp_path: Path) -> None:
    ca = CertificateAuthority.create(tmp_path, "edigw test CA")
    missing = tmp_path / "no-such-ca.pem"
    plain = _write_config(
        tmp_path / "plain.toml", "amqp://guest:guest@127.0.0.1/", ca.cert_file, None
    )
    no_ca = _write_config(tmp_path / "no-ca.toml", "amqps://guest:guest@127.0.0.1/", missing, None)
    for config, expected in [
        (plain, "broker.tls: is set, so broker.url must be an amqps:// URL"),
        (no_ca, f"broker.tls.ca_file: cannot load {missing}: No such file or directory"),
    ]:
        proc = _edigw(_env(config, tmp_path / "state"), "topology", "--dry-run")
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip() == f"configuration refused: {expected}"


# What pika says when the broker ends the TLS connection under TLS 1.3: its alert, or
# only an EOF when the alert is lost (a race on the broker's side of the close).
PIKA_ALERT = "StreamLostError: (\"Stream connection lost: SSLError(1, '[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required (_ssl.c:2580)')\",)"
PIKA_EOF = "StreamLostError: (\"Stream connection lost: SSLEOFError(8, 'EOF occurred in violation of protocol (_ssl.c:2427)')\",)"


@pytest.mark.parametrize(
    ("said", "client_cert", "expected"),
    [
        (PIKA_ALERT, False, "it requires a client certificate"),
        (PIKA_EOF, False, "it requires a client certificate"),
        (PIKA_EOF, True, "refused our client certificate (it closed the TLS connection)"),
    ],
)
def test_a_tls_refusal_is_named_whether_pika_saw_the_alert_or_only_an_eof(
    said: str, client_cert: bool, expected: str
) -> None:
    lost = pika.exceptions.IncompatibleProtocolError(said)
    sentence = broker.connection_failure("mq:5671", lost, client_cert=client_cert)
    assert sentence.startswith("the broker at mq:5671 refused ") and expected in sentence


# --- the real TLS listener --------------------------------------------------------------


@pytest.mark.broker
def test_gateway_clients_work_over_amqps_with_a_client_certificate(
    tls_broker: TlsBroker,  # noqa: F811
    tls_env: dict[str, str],
    tmp_path: Path,
) -> None:
    names = Names(tls_env["EDIGW_NAME_PREFIX"])
    declared = _edigw(tls_env, "topology")
    assert declared.returncode == 0, declared.stderr
    assert names.inbound("apcs") in declared.stdout

    submitted = _edigw(tls_env, "submit", "--partner", "apcs", str(SAMPLE))
    assert submitted.returncode == 0, submitted.stderr
    message_id = submitted.stdout.split("\t")[0]

    with gateway_process(tls_env, tmp_path / "run.log") as run:
        [(ack_props, ack)] = wait_until(
            lambda: _take(tls_env, names.outbound("apcs")), 60, "the CONTRL over amqps"
        )
        # Every connection of the gateway is TLS, authenticated by our client certificate.
        connections = tls_broker.ctl(
            "list_connections", "--no-table-headers", "ssl", "peer_cert_subject", "user"
        )
        assert run.poll() is None
    assert ack_props.correlation_id == message_id
    assert ack.startswith(b"UNB+UNOC:3+CUSTOMS+APCS:ZZZ") and b"UNH+" in ack and b"CONTRL" in ack
    [(props, body)] = wait_until(lambda: _take(tls_env, names.customs_core), 30, "the manifest")
    assert props.correlation_id == message_id
    assert b"<DocumentNumber>MAN-DZALG-2611-001</DocumentNumber>" in body
    rows = [line.split("\t") for line in connections.splitlines() if line.strip()]
    assert rows, "the worker has no connection to the TLS node"
    assert all(r == ["true", f"CN={GATEWAY_CN}", "guest"] for r in rows), rows


REFUSALS = {
    # case: (trusted CA is the broker's, client certificate's CA, command, what stderr says)
    "no client certificate": (True, None, "topology", "requires a client certificate"),
    "broker's CA not trusted": (False, "broker", "submit", "its certificate is not trusted"),
    "client certificate of another CA": (
        True,
        "other",
        "topology",
        "refused our client certificate",
    ),
}


@pytest.mark.broker
@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_client_the_tls_listener_refuses_gets_exit_3_and_a_sentence(
    case: str,
    tls_broker: TlsBroker,  # noqa: F811
    gateway_cert: Credential,
    other_ca: CertificateAuthority,
    tmp_path: Path,
) -> None:
    trusts_broker, client_ca, command, expected = REFUSALS[case]
    ca_file = tls_broker.ca.cert_file if trusts_broker else other_ca.cert_file
    client = {None: None, "broker": gateway_cert, "other": other_ca.issue(GATEWAY_CN)}[client_ca]
    config = _write_config(tmp_path / "gateway.toml", tls_broker.url(), ca_file, client)
    env = _env(config, tmp_path / "state")
    args = ["submit", "--partner", "apcs", str(SAMPLE)] if command == "submit" else ["topology"]
    proc = _edigw(env, *args)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("broker unreachable: ") and expected in line, line
    assert f"127.0.0.1:{tls_broker.amqps_port}" in line
    assert proc.stdout == ""


@pytest.mark.broker
def test_server_name_is_the_name_checked_by_pika_and_aio_pika(
    tls_broker: TlsBroker,  # noqa: F811
    gateway_cert: Credential,
    tmp_path: Path,
) -> None:
    """The broker's certificate names localhost and 127.0.0.1; another server_name fails."""
    wrong = "not-the-broker.example"
    config = _write_config(
        tmp_path / "gateway.toml", tls_broker.url(), tls_broker.ca.cert_file, gateway_cert, wrong
    )
    proc = _edigw(_env(config, tmp_path / "state"), "topology")
    assert proc.returncode == 3, proc.stderr
    assert "its certificate is not trusted (Hostname mismatch" in proc.stderr

    def tls(server_name: str) -> broker.Tls:
        return broker.Tls(
            str(tls_broker.ca.cert_file),
            str(gateway_cert.cert_file),
            str(gateway_cert.key_file),
            server_name,
        )

    async def worker_style_connect(server_name: str) -> None:
        # What gateway/messaging/worker.py does: aio-pika with broker.ssl_context().
        connection = await aio_pika.connect(
            tls_broker.url(), ssl_context=broker.ssl_context(tls(server_name)), timeout=15
        )
        await connection.close()

    asyncio.run(worker_style_connect("localhost"))
    with pytest.raises(Exception, match="Hostname mismatch"):
        asyncio.run(worker_style_connect(wrong))


@pytest.mark.broker
def test_a_partner_logs_in_by_its_certificate_cn_and_cannot_pass_as_another(
    tls_broker: TlsBroker,  # noqa: F811
    tls_env: dict[str, str],
    tmp_path: Path,
) -> None:
    names = Names(tls_env["EDIGW_NAME_PREFIX"])
    assert _edigw(tls_env, "topology").returncode == 0
    apcs, commerce = user_for(names, "apcs"), user_for(names, "commerce")
    # Users without a password: they can log in by certificate (EXTERNAL) only.
    definitions = {
        "users": [
            {
                "name": u,
                "password_hash": "",
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": "",
            }
            for u in (apcs, commerce)
        ],
        "permissions": [
            dict(
                zip(
                    ("configure", "write", "read"),
                    permissions(names.inbound(p), names.outbound(p)),
                    strict=True,
                )
            )
            | {"user": user_for(names, p), "vhost": "/"}
            for p in ("apcs", "commerce")
        ],
    }
    file = tmp_path / "partners.json"
    file.write_text(json.dumps(definitions))
    tls_broker.ctl("import_definitions", str(file))
    try:
        connection = _partner_connection(tls_broker, tls_broker.ca.issue(apcs))
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            props = pika.BasicProperties(delivery_mode=2, message_id="tls-1", user_id=apcs)
            channel.basic_publish(
                names.inbound("apcs"), "", SAMPLE.read_bytes(), props, mandatory=True
            )

            with pytest.raises(pika.exceptions.ChannelClosedByBroker) as impersonation:
                as_commerce = pika.BasicProperties(delivery_mode=2, user_id=commerce)
                channel.basic_publish(names.inbound("apcs"), "", b"x", as_commerce)
            assert impersonation.value.reply_code == 406
            assert f"authenticated user was '{apcs}'" in impersonation.value.reply_text

            channel = connection.channel()
            channel.confirm_delivery()
            with pytest.raises(pika.exceptions.ChannelClosedByBroker) as crossing:
                own = pika.BasicProperties(delivery_mode=2, user_id=apcs)
                channel.basic_publish(names.inbound("commerce"), "", b"x", own)
            assert crossing.value.reply_code == 403
        finally:
            if connection.is_open:
                connection.close()

        # The broker took the message as apcs's: user_id checked against the certificate's CN.
        [(got, body)] = _take(tls_env, names.inbound("apcs"))
        assert (got.user_id, got.message_id, body) == (apcs, "tls-1", SAMPLE.read_bytes())

        # A certificate of the right CA whose CN is no user does not log in.
        with pytest.raises(pika.exceptions.AMQPConnectionError):
            _partner_connection(tls_broker, tls_broker.ca.issue(f"{names.prefix}nobody"))
    finally:
        for user in (apcs, commerce):
            tls_broker.ctl("delete_user", user)


def _partner_connection(tls_broker: TlsBroker, cert: Credential) -> pika.BlockingConnection:  # noqa: F811
    """A partner's connection: no user name or password, EXTERNAL login by certificate."""
    context = broker.ssl_context(
        broker.Tls(str(tls_broker.ca.cert_file), str(cert.cert_file), str(cert.key_file))
    )
    params = pika.URLParameters(tls_broker.url(user=""))
    params.credentials = pika.credentials.ExternalCredentials()
    params.ssl_options = pika.SSLOptions(context, "127.0.0.1")
    return pika.BlockingConnection(params)
