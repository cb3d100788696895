"""Partner isolation: one RabbitMQ user per partner, allowed its own inbound and outbound only.

``edigw partners provision`` creates (or keeps) for every port and ministry partner:

==============  ===========================================================
user            ``<name prefix><partner id>`` (e.g. ``apcs``)
password        generated, written to ``<state_dir>/partners/<user>.secret``
                (mode 0600, git-ignored state; never printed, never committed)
configure       nothing (``^$``): a partner declares no exchange or queue
write           only its inbound exchange ``partner.<id>.in``
read            only its outbound queue ``partner.<id>.out``
==============  ===========================================================

The gateway identifies the sender by the AMQP ``user_id`` property, which RabbitMQ
checks against the connection's user (a partner cannot pass as another); the queue
a message arrives on says the same, since only that partner can write there.

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
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlparse, urlunparse

from gateway.config import Settings
from gateway.messaging.naming import Names


class ProvisionError(RuntimeError):
    """rabbitmqctl refused or is missing."""


@dataclass(frozen=True, slots=True)
class Provisioned:
    partner: str
    user: str
    secret_file: Path
    created: bool  # False: the user existed and kept its password


def user_for(names: Names, partner: str) -> str:
    """The RabbitMQ user of a partner: the name prefix plus the partner id."""
    return f"{names.prefix}{partner}"


def permissions(inbound_exchange: str, outbound_queue: str) -> tuple[str, str, str]:
    """(configure, write, read) regular expressions for one partner."""
    return ("^$", f"^{re.escape(inbound_exchange)}$", f"^{re.escape(outbound_queue)}$")


def vhost_of(url: str) -> str:
    path = urlparse(url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def partner_url(broker_url: str, user: str, password: str) -> str:
    """The broker URL with the partner's credentials instead of the gateway's."""
    parsed = urlparse(broker_url)
    host = parsed.hostname or "127.0.0.1"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    if parsed.port:
        netloc += f":{parsed.port}"
    return urlunparse(parsed._replace(netloc=netloc))


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


def provision(
    settings: Settings, *, only: list[str] | None = None, rotate: bool = False
) -> list[Provisioned]:
    """Create or update each partner's user and permissions, in one ``import_definitions``.

    Idempotent: a partner whose secret file exists keeps its password unless ``rotate``.
    One rabbitmqctl call for every partner (each call starts an Erlang VM: seconds).
    """
    names = Names(settings.name_prefix)
    vhost = vhost_of(settings.broker_url)
    users: list[dict[str, str]] = []
    grants: list[dict[str, str]] = []
    out = []
    for partner in settings.partners_with_role("port", "ministry"):
        if only and partner.id not in only:
            continue
        user = user_for(names, partner.id)
        path = secret_path(settings, user)
        password = None if rotate else read_secret(settings, user)
        created = password is None
        if password is None:
            password = secrets.token_urlsafe(24)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(password + "\n")
        # No tags: a partner user cannot use the management UI or API.
        users.append(
            {
                "name": user,
                "password_hash": password_hash(password),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": "",
            }
        )
        conf, write, read = permissions(names.inbound(partner.id), names.outbound(partner.id))
        grants.append(
            {"user": user, "vhost": vhost, "configure": conf, "write": write, "read": read}
        )
        out.append(Provisioned(partner.id, user, path, created))
    if not users:
        return out
    definitions = {"users": users, "permissions": grants}
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "partners.json"
        fd = os.open(file, os.O_WRONLY | os.O_CREAT, 0o600)  # holds password hashes
        with os.fdopen(fd, "w") as fh:
            json.dump(definitions, fh)
        os.chmod(tmp, 0o755)  # the broker's CLI may run as another user
        os.chmod(file, 0o644)
        proc = _run("import_definitions", str(file))
    if proc.returncode != 0:
        raise ProvisionError(f"rabbitmqctl import_definitions failed: {proc.stderr.strip()}")
    return out


def existing_users() -> set[str]:
    proc = _run("list_users", "--no-table-headers")
    if proc.returncode != 0:
        raise ProvisionError(f"rabbitmqctl list_users failed: {proc.stderr.strip()}")
    return {line.split("\t")[0] for line in proc.stdout.splitlines() if line.strip()}


def deprovision(settings: Settings, *, only: list[str] | None = None) -> list[str]:
    """Delete the partners' users (and their secret files); returns the users deleted."""
    names = Names(settings.name_prefix)
    gone = []
    for partner in settings.partners_with_role("port", "ministry"):
        if only and partner.id not in only:
            continue
        user = user_for(names, partner.id)
        if _run("delete_user", user).returncode == 0:
            gone.append(user)
        secret_path(settings, user).unlink(missing_ok=True)
    return gone
