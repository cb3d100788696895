"""TLS towards the broker: the ``[broker.tls]`` settings and the client context made of them.

Kept apart from the broker layer so that the configuration can refuse a TLS setting that
cannot work (files that do not load, TLS with an ``amqp://`` URL) at start, without
importing any logic module (docs/architecture.md).
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.config_errors import ConfigError

if TYPE_CHECKING:
    # Annotations only: a cached configuration loads no schema (gateway.config, issue #20).
    from gateway.config_schema import BrokerSection


@dataclass(frozen=True, slots=True)
class Tls:
    """TLS towards the broker (``[broker.tls]``): CA bundle and optional client certificate.

    ``server_name`` is the name the broker's certificate must carry when it is not the
    URL's host (a broker reached by IP address or through a tunnel).
    """

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    server_name: str = ""


def tls_from(broker: BrokerSection) -> Tls | None:
    """The ``[broker.tls]`` table of the ``[broker]`` section, or None when TLS is not configured.

    >>> from gateway.config_schema import BrokerSection
    >>> tls_from(BrokerSection.model_validate({"tls": {"ca_file": "/etc/ca.pem"}})).ca_file
    '/etc/ca.pem'
    >>> tls_from(BrokerSection()) is None
    True
    """
    table = broker.tls
    if table is None or not (table.ca_file or table.cert_file or table.key_file):
        return None
    return Tls(
        ca_file=table.ca_file,
        cert_file=table.cert_file,
        key_file=table.key_file,
        server_name=table.server_name,
    )


def check_tls(broker: BrokerSection) -> None:
    """Refuse at start a ``[broker.tls]`` that cannot work, naming the key and the reason.

    TLS settings with a plain ``amqp://`` URL would be silently unused (pika and aio-pika
    follow the URL's scheme), so that is refused too.

    >>> from gateway.config_schema import BrokerSection
    >>> check_tls(BrokerSection.model_validate({"url": "amqp://h/", "tls": {"ca_file": "/ca.pem"}}))
    Traceback (most recent call last):
    gateway.config_errors.ConfigError: broker.tls: is set, so broker.url must be an amqps:// URL
    """
    tls = tls_from(broker)
    if tls is None:
        return
    if not broker.url.startswith("amqps://"):
        raise ConfigError("broker.tls", "is set, so broker.url must be an amqps:// URL")
    ssl_context(tls)


class _NamedContext(ssl.SSLContext):
    """A client context that checks the broker's certificate against ``server_name``.

    aio-pika cannot be given a server hostname, so the name is pinned in the context
    itself, which both pika and asyncio wrap their sockets with.
    """

    server_name: str = ""

    def wrap_socket(
        self,
        sock: socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLSocket:
        return super().wrap_socket(
            sock,
            server_side,
            do_handshake_on_connect,
            suppress_ragged_eofs,
            self.server_name or server_hostname,
            session,
        )

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        return super().wrap_bio(
            incoming, outgoing, server_side, self.server_name or server_hostname, session
        )


def ssl_context(tls: Tls | None) -> ssl.SSLContext | None:
    """A verifying client context (CA, client certificate) for amqps:// URLs.

    A file that is missing or cannot be loaded is a ConfigError naming its key.
    """
    if tls is None:
        return None
    # What ssl.create_default_context() builds: TLS client, CERT_REQUIRED, hostname check.
    context = _NamedContext(ssl.PROTOCOL_TLS_CLIENT)
    context.server_name = tls.server_name
    try:
        if tls.ca_file:
            context.load_verify_locations(cafile=tls.ca_file)
        else:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            "broker.tls.ca_file", f"cannot load {tls.ca_file}: {reason_of(exc)}"
        ) from None
    if tls.key_file and not tls.cert_file:
        raise ConfigError("broker.tls.cert_file", "is needed when key_file is set")
    if tls.cert_file:
        try:
            context.load_cert_chain(tls.cert_file, tls.key_file or None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                "broker.tls.cert_file",
                f"cannot load {tls.cert_file} with key {tls.key_file or '(in the same file)'}: "
                f"{reason_of(exc)}",
            ) from None
    return context


def reason_of(exc: BaseException) -> str:
    """The readable part of an OSError or ssl.SSLError (without the C source location)."""
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return str(exc.verify_message)
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).replace("_", " ").lower()
    if isinstance(exc, OSError) and exc.strerror:
        return str(exc.strerror)
    return str(exc) or type(exc).__name__
