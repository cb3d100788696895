"""Partner isolation: a virtual host per partner, its trust domain (issue #6; issue #14, 8b).

``edigw partners provision`` creates (or keeps) for every port and ministry partner:

==============  ===========================================================
vhost           ``<name prefix>partner.<id>`` (``[partners.<id>] vhost``
                names another), holding only the partner's inbound exchange
                and queue and its outbound queue (``topology.partner_side``)
user            ``<name prefix><partner id>`` (e.g. ``apcs``), no tags
password        generated, written to ``<state_dir>/partners/<user>.secret``
                (mode 0600, git-ignored state; never printed, never committed)
permissions     in its own vhost only: configure nothing (``^$``), write its
                inbound exchange, read its outbound queue; none anywhere else
                (a permission elsewhere, e.g. on the gateway's vhost from an
                earlier provisioning, is removed)
shovels         two, defined in the partner's vhost (``ack-mode: on-confirm``):
                its inbound queue -> the gateway's ``partner.<id>.in``
                exchange, with ``user_id`` set to the partner's user; the
                gateway's ``partner.<id>.out`` queue -> its outbound queue
==============  ===========================================================

Why a vhost and not permissions: RabbitMQ before 4.2.6 does not check permissions for a
passive ``queue.declare``/``exchange.declare``, so a user with any access to the gateway's vhost
learns every queue's existence and depth there. A partner user has no access to the gateway's
vhost nor to another partner's: the connection itself is refused.

Why shovels and not a connection of the worker per partner vhost: the worker stays as it is
(one connection, the gateway's vhost, its confirms and acks), and a shovel in ``on-confirm``
mode acknowledges a message in one vhost only once the other confirmed it: a crash gives a
redelivery, never a loss. The sender is the vhost a message came from: the inbound shovel
overwrites ``user_id`` with the partner's user (``dest-publish-properties``), whatever the
partner set, and publishes to that partner's inbound exchange in the gateway's vhost, so the
worker's ``exchange`` and ``user_id`` of a partner's message both name that partner.

>>> permissions("partner.apcs.in", "partner.apcs.out")
('^$', '^partner\\\\.apcs\\\\.in$', '^partner\\\\.apcs\\\\.out$')
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse, urlunparse

from gateway.config import INBOUND_ROLES, Partner, Settings
from gateway.config_errors import ConfigError
from gateway.messaging import broker
from gateway.messaging.naming import Names
from gateway.messaging.topology import Topology, declare, partner_side, topology_for


class ProvisionError(RuntimeError):
    """rabbitmqctl refused or is missing."""


@dataclass(frozen=True, slots=True)
class TrustDomain:
    """One partner's trust domain on the broker: what provisioning creates for it."""

    partner: str
    user: str
    vhost: str
    permissions: tuple[str, str, str]  # configure, write, read; in ``vhost`` only
    topology: Topology  # the exchanges and queues in ``vhost``
    shovels: Mapping[str, Mapping[str, Any]]  # name (in ``vhost``) -> shovel definition


@dataclass(frozen=True, slots=True)
class Provisioned:
    partner: str
    user: str
    vhost: str
    secret_file: Path
    created: bool  # False: the user existed and kept its password
    url: str  # the partner's broker URL, without its password
    revoked: tuple[str, ...] = ()  # vhosts where the user's permissions were removed


def user_for(names: Names, partner: str) -> str:
    """The RabbitMQ user of a partner: the name prefix plus the partner id."""
    return f"{names.prefix}{partner}"


def vhost_for(names: Names, partner: Partner) -> str:
    """The partner's own virtual host: as configured, else ``Names.partner_vhost``."""
    return partner.vhost or names.partner_vhost(partner.id)


def permissions(inbound_exchange: str, outbound_queue: str) -> tuple[str, str, str]:
    """(configure, write, read) regular expressions for one partner."""
    return ("^$", f"^{re.escape(inbound_exchange)}$", f"^{re.escape(outbound_queue)}$")


def vhost_of(url: str) -> str:
    path = urlparse(url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def partner_url(
    broker_url: str, user: str, password: str | None = None, vhost: str | None = None
) -> str:
    """The broker URL with the partner's credentials (and vhost) instead of the gateway's.

    >>> partner_url("amqp://edigw:s@mq:5672/%2F", "apcs", vhost="partner.apcs")
    'amqp://apcs@mq:5672/partner.apcs'
    """
    parsed = urlparse(broker_url)
    host = parsed.hostname or "127.0.0.1"
    netloc = quote(user, safe="")
    if password is not None:
        netloc += f":{quote(password, safe='')}"
    netloc += f"@{host}"
    if parsed.port:
        netloc += f":{parsed.port}"
    path = parsed.path if vhost is None else "/" + quote(vhost, safe="")
    return urlunparse(parsed._replace(netloc=netloc, path=path))


def direct_uri(vhost: str) -> str:
    """A shovel's URI for a vhost of the node it runs on (a direct connection: no network, no
    password; RabbitMQ lets it set ``user_id``).

    >>> direct_uri("/"), direct_uri("partner.apcs")
    ('amqp:///%2F', 'amqp:///partner.apcs')
    """
    return "amqp:///" + quote(vhost, safe="")


def shovels(
    names: Names,
    partner: str,
    *,
    user: str,
    vhost: str,
    core_vhost: str,
    core: Topology,
    prefetch: int,
) -> dict[str, dict[str, Any]]:
    """The two shovels of a partner's trust domain, named after the queue each empties."""
    inbound, outbound = names.inbound(partner), names.outbound(partner)
    side = {q.name: q.arguments for q in partner_side(names, partner).queues}
    core_args = {q.name: q.arguments for q in core.queues}
    common = {
        # Acknowledged at the source only once the destination confirmed: nothing is lost.
        "ack-mode": "on-confirm",
        # Bounded: a shovel holds at most this many messages (50 MB manifests among them).
        "src-prefetch-count": prefetch,
    }
    return {
        inbound: {
            **common,
            "src-uri": direct_uri(vhost),
            "src-queue": inbound,
            "src-queue-args": side[inbound],
            "dest-uri": direct_uri(core_vhost),
            # The partner's own inbound exchange in the gateway's vhost, never the default
            # exchange: the worker tells the gateway's retries by that exchange.
            "dest-exchange": inbound,
            "dest-exchange-key": "",
            # The sender is the vhost the message came from, whatever user_id it carried.
            "dest-publish-properties": {"user_id": user},
        },
        outbound: {
            **common,
            "src-uri": direct_uri(core_vhost),
            "src-queue": outbound,
            "src-queue-args": core_args.get(outbound, {"x-queue-type": "quorum"}),
            "dest-uri": direct_uri(vhost),
            "dest-queue": outbound,
            "dest-queue-args": side[outbound],
        },
    }


def trust_domains(settings: Settings, *, only: Iterable[str] | None = None) -> list[TrustDomain]:
    """Every port and ministry partner's trust domain (``only``: these partners).

    Refused with ConfigError (exit 2): two partners in one vhost, a partner in the gateway's
    vhost, a partner user that is the gateway's own, a partner ``amqp_url`` naming another
    vhost than the partner's. All partners are checked, whatever ``only`` says.
    """
    names = Names(settings.name_prefix)
    core_vhost = vhost_of(settings.broker_url)
    gateway_user = broker.own_user(settings.broker_url)
    core = topology_for(settings, names)
    wanted = set(only) if only else None
    seen: dict[str, str] = {}
    out = []
    for partner in settings.partners_with_role(*INBOUND_ROLES):
        vhost, user = vhost_for(names, partner), user_for(names, partner.id)
        key = f"partners.{partner.id}"
        if vhost == core_vhost:
            raise ConfigError(
                f"{key}.vhost", f"{vhost!r} is the gateway's own virtual host (broker.url)"
            )
        if vhost in seen:
            raise ConfigError(
                f"{key}.vhost", f"{vhost!r} is already {seen[vhost]}'s: each partner needs its own"
            )
        seen[vhost] = partner.id
        if user == gateway_user:
            raise ConfigError(
                key, f"its broker user {user!r} is the gateway's own (broker.url): rename one"
            )
        if partner.amqp_url and vhost_of(partner.amqp_url) != vhost:
            raise ConfigError(
                f"{key}.amqp_url",
                f"names the virtual host {vhost_of(partner.amqp_url)!r}; "
                f"the partner's own is {vhost!r}",
            )
        if wanted is not None and partner.id not in wanted:
            continue
        out.append(
            TrustDomain(
                partner=partner.id,
                user=user,
                vhost=vhost,
                permissions=permissions(names.inbound(partner.id), names.outbound(partner.id)),
                topology=partner_side(names, partner.id),
                shovels=shovels(
                    names,
                    partner.id,
                    user=user,
                    vhost=vhost,
                    core_vhost=core_vhost,
                    core=core,
                    prefetch=settings.prefetch,
                ),
            )
        )
    return out


def definitions(domains: Iterable[TrustDomain]) -> dict[str, list[dict[str, Any]]]:
    """The RabbitMQ definitions of ``domains``, users left out (they carry password hashes)."""
    out: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("vhosts", "permissions", "exchanges", "queues", "bindings", "parameters")
    }
    for d in domains:
        out["vhosts"].append({"name": d.vhost})
        configure, write, read = d.permissions
        out["permissions"].append(
            {"user": d.user, "vhost": d.vhost, "configure": configure, "write": write, "read": read}
        )
        for ex in d.topology.exchanges:
            out["exchanges"].append(
                {
                    **{"name": ex.name, "vhost": d.vhost, "type": ex.type},
                    **{"durable": True, "auto_delete": False, "internal": False, "arguments": {}},
                }
            )
        for q in d.topology.queues:
            out["queues"].append(
                {
                    **{"name": q.name, "vhost": d.vhost, "durable": True},
                    **{"auto_delete": False, "arguments": dict(q.arguments)},
                }
            )
            for exchange, key in q.bindings:
                out["bindings"].append(
                    {
                        **{"source": exchange, "vhost": d.vhost, "destination": q.name},
                        **{"destination_type": "queue", "routing_key": key, "arguments": {}},
                    }
                )
        for name, value in d.shovels.items():
            out["parameters"].append(
                {"vhost": d.vhost, "component": "shovel", "name": name, "value": dict(value)}
            )
    return out


def _ctl() -> str:
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    if not Path(ctl).exists():
        raise ProvisionError("rabbitmqctl is not installed on this machine")
    return ctl


def _run(*args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [_ctl(), "-q", *args],
        capture_output=True,
        text=True,
        timeout=120,
        input=input_text,
    )
    return proc


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's internal hash (rabbit_password_hashing_sha256): base64(salt + sha256(salt + pw)).

    >>> password_hash("secret", b"\x01\x02\x03\x04")
    'AQIDBDB9kM21iEUzN1lZ+6VReCsdNqS0sERdAQTcY6Xs3PMz'
    """
    salt = salt if salt is not None else secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def secret_path(settings: Settings, user: str) -> Path:
    return settings.state_dir / "partners" / f"{user}.secret"


def read_secret(settings: Settings, user: str) -> str | None:
    path = secret_path(settings, user)
    return path.read_text().strip() if path.exists() else None


def _password(settings: Settings, user: str, rotate: bool) -> tuple[str, bool]:
    """The user's password (kept unless ``rotate``), and whether it is new."""
    password = None if rotate else read_secret(settings, user)
    if password is not None:
        return password, False
    password = secrets.token_urlsafe(24)
    path = secret_path(settings, user)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    return password, True


def _declare_gateway_side(settings: Settings, connector: broker.Connector) -> None:
    """The gateway's own topology first, so that each shovel finds its ends when it starts:
    RabbitMQ 3.10's shovel keeps a message it could not publish (a missing exchange)
    unacknowledged until it is restarted."""
    connection = connector.blocking()
    try:
        declare(connection.channel(), topology_for(settings))
    finally:
        connection.close()


def _import(definitions: Mapping[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "partners.json"
        fd = os.open(file, os.O_WRONLY | os.O_CREAT, 0o600)  # holds password hashes
        with os.fdopen(fd, "w") as fh:
            json.dump(definitions, fh)
        os.chmod(tmp, 0o755)  # the broker's CLI may run as another user
        os.chmod(file, 0o644)
        proc = _run("import_definitions", str(file))
    if proc.returncode != 0:
        hint = ""
        if "shovel" in proc.stderr.lower():
            hint = " (is the rabbitmq_shovel plugin enabled? scripts/setup.sh enables it)"
        raise ProvisionError(f"rabbitmqctl import_definitions failed: {proc.stderr.strip()}{hint}")


def _revoke_elsewhere(domains: Iterable[TrustDomain]) -> dict[str, tuple[str, ...]]:
    """Remove each domain's user's permissions on every vhost but its own (one listing of
    all permissions): what an earlier provisioning granted on the gateway's vhost goes."""
    own = {d.user: d.vhost for d in domains}
    proc = _run("export_definitions", "-", "--format", "json")
    if proc.returncode != 0:
        raise ProvisionError(f"rabbitmqctl export_definitions failed: {proc.stderr.strip()}")
    revoked: dict[str, list[str]] = {}
    for grant in json.loads(proc.stdout).get("permissions", []):
        user, vhost = grant.get("user"), grant.get("vhost")
        if user in own and vhost != own[user]:
            done = _run("clear_permissions", "-p", vhost, user)
            if done.returncode != 0:
                raise ProvisionError(
                    f"rabbitmqctl clear_permissions -p {vhost} {user} failed: {done.stderr.strip()}"
                )
            revoked.setdefault(user, []).append(vhost)
    return {user: tuple(vhosts) for user, vhosts in revoked.items()}


def provision(
    settings: Settings,
    connector: broker.Connector,
    *,
    only: list[str] | None = None,
    rotate: bool = False,
) -> list[Provisioned]:
    """Create or update each partner's trust domain: vhost, topology, user, permissions, shovels.

    Idempotent: a partner whose secret file exists keeps its password unless ``rotate``;
    existing vhosts, queues (and the messages in them) and shovels stay. The gateway's own
    topology is declared first (over AMQP, as ``edigw topology``), then everything of the
    partners goes in one ``import_definitions`` (each rabbitmqctl call starts an Erlang VM:
    seconds), then permissions outside each partner's vhost are removed.
    """
    domains = trust_domains(settings, only=only)
    if not domains:
        return []
    _declare_gateway_side(settings, connector)
    users = []
    fresh: dict[str, bool] = {}
    for d in domains:
        password, fresh[d.user] = _password(settings, d.user, rotate)
        # No tags: a partner user cannot use the management UI or API.
        users.append(
            {
                "name": d.user,
                "password_hash": password_hash(password),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": "",
            }
        )
    _import({"users": users, **definitions(domains)})
    revoked = _revoke_elsewhere(domains)
    return [
        Provisioned(
            partner=d.partner,
            user=d.user,
            vhost=d.vhost,
            secret_file=secret_path(settings, d.user),
            created=fresh[d.user],
            url=partner_url(settings.broker_url, d.user, vhost=d.vhost),
            revoked=revoked.get(d.user, ()),
        )
        for d in domains
    ]


def existing_users() -> set[str]:
    proc = _run("list_users", "--no-table-headers")
    if proc.returncode != 0:
        raise ProvisionError(f"rabbitmqctl list_users failed: {proc.stderr.strip()}")
    return {line.split("\t")[0] for line in proc.stdout.splitlines() if line.strip()}


def deprovision(settings: Settings, *, only: list[str] | None = None) -> list[str]:
    """Delete the partners' vhosts (their queues, messages and shovels with them), users and
    secret files; returns the users deleted. For tests and for a partner that leaves."""
    names = Names(settings.name_prefix)
    gone = []
    for partner in settings.partners_with_role(*INBOUND_ROLES):
        if only and partner.id not in only:
            continue
        _run("delete_vhost", vhost_for(names, partner))
        user = user_for(names, partner.id)
        if _run("delete_user", user).returncode == 0:
            gone.append(user)
        secret_path(settings, user).unlink(missing_ok=True)
    return gone
