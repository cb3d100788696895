"""Issue #20, point 1: the client goes to the next node of ``broker.hosts`` when its node is lost.

The machine's RabbitMQ is shared and no test may stop it, so the gateway's first node here is
a TCP relay of this test's own in front of it. Closing the relay does to the gateway what a
stopped node does: its connection is cut and the node refuses the next attempt. The gateway
must carry on through the next node of the list (the broker itself) and lose nothing. The
same failover on a real three-node cluster, with nodes really stopped, is tests/cluster/.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from gateway.messaging.broker import BrokerUnreachable, Connector
from gateway.storage.journal import derived_id
from tests.e2e.test_faults_support import (
    cleanup_topologies,  # noqa: F401  (autouse: deletes each test's queues)
    count,
    cuscar,
    declare_topology,
    done_count,
    drain,
    gateway_process,
    names_of,
    submit,
    wait_until,
)

pytestmark = [pytest.mark.broker, pytest.mark.e2e]
N = 600


class Relay:
    """A TCP relay on a free loopback port to ``target`` (host, port): a stand-in broker node."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = int(self.server.getsockname()[1])
        self.sockets: list[socket.socket] = []
        self.closed = threading.Event()
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            self.accepted += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """The node goes away: no more listener, every connection through it cut."""
        self.closed.set()
        self.server.close()
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def _on_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    login = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{login}@127.0.0.1:{port}"))


def _refused_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.create_server(("127.0.0.1", 0)) as s:
        return int(s.getsockname()[1])


@pytest.fixture
def relay(amqp_url: str) -> Iterator[Relay]:
    parts = urlsplit(amqp_url)
    first = Relay((parts.hostname or "127.0.0.1", parts.port or 5672))
    try:
        yield first
    finally:
        first.close()


def test_a_connection_goes_to_the_next_node_when_the_first_refuses(amqp_url: str) -> None:
    real = urlsplit(amqp_url).netloc.rpartition("@")[2]
    connector = Connector(_on_port(amqp_url, _refused_port()), hosts=(real,))
    connection = connector.blocking()
    try:
        assert connection.is_open
        assert connection.channel().is_open
    finally:
        connection.close()


def test_with_every_node_down_the_sentence_names_them_all(amqp_url: str) -> None:
    ports = [_refused_port(), _refused_port()]
    connector = Connector(_on_port(amqp_url, ports[0]), hosts=(f"127.0.0.1:{ports[1]}",))
    with pytest.raises(BrokerUnreachable) as caught:
        connector.blocking()
    assert f"any of 127.0.0.1:{ports[0]}, 127.0.0.1:{ports[1]}" in str(caught.value)


def test_edigw_run_fails_over_to_the_next_node_and_loses_nothing(
    gateway_env: dict[str, str], amqp_url: str, relay: Relay, tmp_path: Path
) -> None:
    real = urlsplit(amqp_url).netloc.rpartition("@")[2]
    # The gateway's first node is the relay; the broker itself is its second.
    env = {
        **gateway_env,
        "EDIGW_AMQP_URL": _on_port(amqp_url, relay.port),
        "EDIGW_AMQP_HOSTS": real,
    }
    direct = {**gateway_env}  # the test's own publishes and reads go straight to the broker
    names = names_of(env)
    declare_topology(direct)
    messages = [(f"failover-{i:05d}", cuscar(50_000 + i)) for i in range(N)]
    submit(direct, messages)
    log = tmp_path / "gateway.log"

    with gateway_process(env, log):
        wait_until(lambda: count(direct, names.customs_core) >= 60, 60, "60 routed")
        assert relay.accepted >= 1, "the gateway did not start on the first node"
        relay.close()
        routed_at_the_cut = count(direct, names.customs_core)
        wait_until(lambda: done_count(env) >= N, 120, "every message done after the failover")
        docs = drain(direct, names.customs_core)

    assert routed_at_the_cut < N, "the gateway finished before its node was lost"
    text = log.read_text()
    assert "broker connection lost, reconnecting" in text
    assert f'"node": "127.0.0.1:{relay.port}", "number": 1' in text
    assert f'"node": "{real}", "number": 2' in text
    # Nothing lost, no downstream effect twice: one document id per inbound message.
    inbound = {mid for mid, _ in messages}
    assert {p.correlation_id for p, _ in docs} == inbound
    assert set(Counter(p.message_id for p, _ in docs)) == {derived_id(m, 0) for m in inbound}
    assert count(direct, names.dead_letter(names.inbound("apcs"))) == 0
