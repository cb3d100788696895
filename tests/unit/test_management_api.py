"""The management API is asked node by node (issue #20): losing url's node does not blind
the depth poller and the console. A real HTTP server on loopback stands for the node that
answers; the first candidate is a closed port."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from gateway.config import load
from gateway.messaging.management import management_apis, management_queues


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


@pytest.fixture
def answering_node() -> Iterator[tuple[int, list[str]]]:
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(f"{self.path} {self.headers.get('Authorization', '')}")
            body = json.dumps([{"name": "partner.apcs.in", "messages": 7}]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), asked
    finally:
        server.shutdown()
        server.server_close()


def test_the_next_configured_api_answers_when_the_first_is_down(
    answering_node: tuple[int, list[str]],
) -> None:
    port, asked = answering_node
    rows = management_queues(
        ["amqp://edi:s3cret@127.0.0.1:5681/port"],
        "name,messages",
        management_urls=[f"http://127.0.0.1:{_closed_port()}", f"http://127.0.0.1:{port}"],
        timeout=2,
    )
    assert rows == [{"name": "partner.apcs.in", "messages": 7}]
    assert len(asked) == 1
    assert asked[0].startswith("/api/queues/port?columns=name,messages Basic ")


def test_without_configured_apis_each_broker_node_is_asked_on_15672() -> None:
    nodes = ["amqp://edi:p@mq1:5672/port", "amqp://edi:p@mq2:5672/port", "amqp://edi:p@mq3/port"]
    assert [api[0] for api in management_apis(nodes)] == [
        "http://mq1:15672/api",
        "http://mq2:15672/api",
        "http://mq3:15672/api",
    ]
    amqps = management_apis(["amqps://edi:p@mq1:5671/port"])
    assert amqps == [("https://mq1:15672/api", "port", "edi", "p")]


def test_none_answering_raises_the_last_error_for_the_caller_to_fall_back() -> None:
    with pytest.raises(OSError):
        management_queues(
            ["amqp://guest:guest@127.0.0.1:1/%2F"],
            "name",
            management_urls=[f"http://127.0.0.1:{_closed_port()}"],
            timeout=2,
        )


def test_management_urls_is_a_list_setting_and_a_string_splits_on_commas() -> None:
    conf = load(
        {"metrics": {"management_urls": "http://n2:15682, http://n3:15683"}}, env={}
    ).config.metrics
    assert conf.management_urls == ["http://n2:15682", "http://n3:15683"]
