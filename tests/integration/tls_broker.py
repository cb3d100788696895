"""A private RabbitMQ node with a TLS listener that demands client certificates (tests only).

The main test broker (rabbit@localhost, 5672) has no TLS listener and must not be
reconfigured or restarted: other test suites share it. So the TLS tests start a node of
their own from the installed rabbitmq-server, with its own node name, ports, cookie,
data, logs, plugins file and configuration, all under one temporary directory:

* one listener, AMQPS on 127.0.0.1 (no plain AMQP: a client either does TLS or nothing);
* ``ssl_options.verify = verify_peer`` and ``fail_if_no_peer_cert = true``, a CA, server
  certificate and key generated here (``cryptography``);
* ``rabbitmq_auth_mechanism_ssl`` for EXTERNAL, with ``ssl_cert_login_from = common_name``
  (a partner logs in as its certificate's CN), next to PLAIN for the gateway's own user;
* no management plugin, so nothing tries to bind 15672 a second time.

The node runs as the current user with HOME in the temporary directory, so its Erlang
cookie is its own as well; it registers with the machine's epmd under its own name.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import resource
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.security.trust import make_ca

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
BOOT_TIMEOUT_S = 60


@dataclass(frozen=True, slots=True)
class Credential:
    """A certificate and its private key (PEM files)."""

    cert_file: Path
    key_file: Path


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """A test CA that issues server and client certificates into ``directory``."""

    name: str
    directory: Path
    cert_file: Path
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls, directory: Path, name: str) -> CertificateAuthority:
        key, cert = make_ca(name, days=1)
        cert_file = directory / f"{name.replace(' ', '-')}.pem"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(name, directory, cert_file, key)

    def issue(self, common_name: str, *, server: bool = False) -> Credential:
        """A leaf certificate for ``common_name``: a client's, or the server's (SAN localhost)."""
        key = ec.generate_private_key(ec.SECP256R1())
        issuer_cert = x509.load_pem_x509_certificate(self.cert_file.read_bytes())
        builder = (
            _builder(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]),
                issuer_cert.subject,
                key.public_key(),
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        cert = builder.sign(self.key, hashes.SHA256())
        stem = self.directory / f"{common_name}-{secrets.token_hex(3)}"
        cert_file, key_file = stem.with_suffix(".crt.pem"), stem.with_suffix(".key.pem")
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_file.chmod(0o600)
        return Credential(cert_file, key_file)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )


@dataclass(frozen=True, slots=True)
class TlsBroker:
    """A running private node: its name, AMQPS port, CA, and a way to run rabbitmqctl on it."""

    node: str
    amqps_port: int
    ca: CertificateAuthority
    base: Path
    env: dict[str, str]

    def url(self, user: str = "guest", password: str = "guest", vhost: str = "/") -> str:
        """An ``amqps://`` URL of this node (host 127.0.0.1: the server certificate names it)."""
        credentials = f"{quote(user, safe='')}:{quote(password, safe='')}@" if user else ""
        return f"amqps://{credentials}127.0.0.1:{self.amqps_port}/{quote(vhost, safe='')}"

    def ctl(self, *args: str) -> str:
        """``rabbitmqctl -n <this node> ARGS``; raises with the tool's own words when it fails."""
        proc = subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-q", "-n", self.node, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout


def _free_port(low: int, high: int) -> int:
    """A port in [low, high) that nothing listens on now.

    The Erlang distribution port must stay below 55536: the CLI tools listen on
    RABBITMQ_DIST_PORT + 10000 .. + 10010.
    """
    for _ in range(200):
        port = low + secrets.randbelow(high - low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}..{high}")


def _config(base: Path, amqps_port: int, ca: Path, server: Credential) -> str:
    return "\n".join(
        [
            "listeners.tcp = none",
            f"listeners.ssl.default = 127.0.0.1:{amqps_port}",
            f"ssl_options.cacertfile = {ca}",
            f"ssl_options.certfile = {server.cert_file}",
            f"ssl_options.keyfile = {server.key_file}",
            "ssl_options.verify = verify_peer",
            "ssl_options.fail_if_no_peer_cert = true",
            # EXTERNAL for partners (login = certificate CN), PLAIN for the gateway's user.
            "auth_mechanisms.1 = PLAIN",
            "auth_mechanisms.2 = EXTERNAL",
            "ssl_cert_login_from = common_name",
            "log.console = false",
            f"log.file = {base / 'log' / 'node.log'}",
            "log.file.level = info",
            "",
        ]
    )


def start_tls_broker(base: Path) -> TlsBroker:
    """Generate certificates and configuration under ``base``, start the node, wait for it."""
    certs = base / "certs"
    for sub in ("certs", "mnesia", "log", "home"):
        (base / sub).mkdir(parents=True)
    ca = CertificateAuthority.create(certs, "edigw tls test CA")
    server = ca.issue("localhost", server=True)
    amqps_port = _free_port(20000, 30000)
    dist_port = _free_port(30000, 45000)
    node = f"edigw-tls-{secrets.token_hex(4)}@localhost"
    (base / "rabbitmq.conf").write_text(_config(base, amqps_port, ca.cert_file, server))
    (base / "enabled_plugins").write_text("[rabbitmq_auth_mechanism_ssl].\n")
    (base / "advanced.config").write_text("[].\n")
    (base / "rabbitmq-env.conf").write_text("# the private node reads nothing from /etc\n")
    cookie = base / "home" / ".erlang.cookie"
    cookie.write_text(secrets.token_hex(20))
    cookie.chmod(0o400)
    # No RABBITMQ_NODE_PORT: the listeners come from rabbitmq.conf, and there is only the
    # TLS one. Nothing of the caller's environment leaks in (a RABBITMQ_* of the main node).
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(base / "home"),
        "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
        "RABBITMQ_NODENAME": node,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_DIST_PORT": str(dist_port),
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
        "RABBITMQ_PID_FILE": str(base / "node.pid"),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
    }
    tls_broker = TlsBroker(node, amqps_port, ca, base, env)
    with (base / "log" / "startup.out").open("wb") as out:
        subprocess.Popen(
            [str(RABBITMQ_BIN / "rabbitmq-server")],
            env=env,
            cwd=base,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_raise_open_files_limit,
            start_new_session=True,
        )
    try:
        # `wait` polls until the node has written its pid file and booted the broker;
        # await_startup alone fails at once while the node is not registered with epmd.
        tls_broker.ctl("wait", env["RABBITMQ_PID_FILE"], "--timeout", str(BOOT_TIMEOUT_S))
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        log = _tail(base / "log" / "node.log") or _tail(base / "log" / "startup.out")
        stop_tls_broker(tls_broker)
        raise RuntimeError(f"the private TLS node did not start: {exc}\n{log}") from exc
    return tls_broker


def _raise_open_files_limit() -> None:
    # Quorum queues reserve file handles; a soft limit of 1024 runs out (scripts/setup.sh).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))


def _tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def stop_tls_broker(tls_broker: TlsBroker) -> None:
    """Stop the node (and wait until it is gone); the caller removes its directory."""
    with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
        tls_broker.ctl("stop", str(tls_broker.env["RABBITMQ_PID_FILE"]))
        return
    # rabbitmqctl could not reach it (it never finished booting): end it by its pid.
    pid_file = Path(tls_broker.env["RABBITMQ_PID_FILE"])
    with contextlib.suppress(OSError, ValueError):
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 15)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.2)
        os.kill(pid, 9)


@pytest.fixture(scope="session")
def tls_broker() -> Iterator[TlsBroker]:
    """The private TLS node for the session: started once, stopped and removed at the end."""
    base = Path(tempfile.mkdtemp(prefix="edigw-tls-node-"))
    try:
        node = start_tls_broker(base)
        try:
            yield node
        finally:
            stop_tls_broker(node)
    finally:
        shutil.rmtree(base, ignore_errors=True)
