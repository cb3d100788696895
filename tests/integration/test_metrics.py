"""The Prometheus endpoint on the real broker: queue and dead-letter depths, message counters."""

from __future__ import annotations

import socket
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.bootstrap import bootstrap
from gateway.config import load
from gateway.messaging import metrics
from gateway.messaging.broker import Connector
from gateway.messaging.naming import Names
from gateway.service.pipeline import Outcome, Rejection, Translation
from tests.integration.test_dlq_support import BAD_COUNT, channel_for, dead_letter, wait_depth

pytestmark = pytest.mark.broker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_endpoint_serves_depths_counters_and_latency(gateway_env: dict[str, str]) -> None:
    port = _free_port()
    settings = load({"metrics": {"port": port, "depth_interval": 1}}, env=gateway_env)
    names = Names(settings.name_prefix)
    dlq = names.dead_letter(names.inbound("apcs"))
    with channel_for(settings) as ch:
        dead_letter(ch, settings, BAD_COUNT)
        dead_letter(ch, settings, BAD_COUNT)
        assert wait_depth(ch, dlq, 2) == 2
    server = metrics.start(bootstrap(settings))
    assert server is not None and server.port == port
    try:
        metrics.received("apcs")
        metrics.observe(
            "apcs",
            Outcome(
                Translation(
                    rejection=Rejection("EDIFACT_SYNTAX", "bad", "decode"), message_types=["CUSCAR"]
                )
            ),
            0.02,
        )
        metrics.finished("apcs", "routed", type="CUSCAR", seconds=0.01)
        metrics.broker_connected(True)
        deadline = time.monotonic() + 20
        samples = _scrape(port)
        key = ("edigw_dead_letter_messages", (("queue", dlq),))
        while samples.get(key) != 2.0 and time.monotonic() < deadline:
            time.sleep(0.2)
            samples = _scrape(port)
        assert samples[key] == 2.0
        assert samples[("edigw_queue_messages", (("queue", names.inbound("apcs")),))] == 0.0
        assert samples[("edigw_broker_reachable", ())] == 1.0
        assert samples[("edigw_broker_connected", ())] == 1.0
        assert samples[("edigw_messages_received_total", (("partner", "apcs"),))] >= 1
        # Configured partners have series from the start (for "no traffic" alerts).
        assert ("edigw_messages_received_total", (("partner", "commerce"),)) in samples
        rejected = (
            "edigw_messages_rejected_total",
            (("partner", "apcs"), ("reason", "EDIFACT_SYNTAX"), ("type", "CUSCAR")),
        )
        assert samples[rejected] >= 1
        routed = ("edigw_messages_routed_total", (("partner", "apcs"), ("type", "CUSCAR")))
        assert samples[routed] >= 1
        assert samples[("edigw_processing_seconds_count", (("partner", "apcs"),))] >= 2
        assert ("edigw_overdue_responses", ()) in samples
    finally:
        server.stop()


def test_port_zero_means_no_endpoint(gateway_env: dict[str, str]) -> None:
    assert metrics.start(bootstrap(load({"metrics": {"port": 0}}, env=gateway_env))) is None


def test_broker_unreachable_is_a_gauge_not_a_crash() -> None:
    poller = metrics.QueueDepthPoller(Connector("amqp://guest:guest@127.0.0.1:1/%2F"), ["q"], 1)
    assert poller.poll_once() == {}
    assert metrics._value("edigw_broker_reachable") == 0.0


@pytest.mark.e2e
def test_edigw_run_serves_metrics_of_the_messages_it_handles(gateway_env: dict[str, str]) -> None:
    """`edigw run` with EDIGW_METRICS_PORT: a rejected message shows in the counters."""
    import subprocess
    import sys

    from gateway.messaging import broker

    port = _free_port()
    env = {**gateway_env, "EDIGW_METRICS_PORT": str(port)}
    settings = load(env=env)
    names = Names(settings.name_prefix)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--log-format", "json", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        rejected = (
            "edigw_messages_rejected_total",
            (("partner", "apcs"), ("reason", "EDIFACT_SYNTAX"), ("type", "CUSCAR")),
        )
        deadline = time.monotonic() + 40
        samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        while time.monotonic() < deadline:
            try:
                samples = _scrape(port)
            except OSError:
                time.sleep(0.3)
                continue
            if samples.get(("edigw_broker_connected", ())) == 1.0:
                break
            time.sleep(0.3)
        assert samples.get(("edigw_broker_connected", ())) == 1.0
        with channel_for(settings) as ch:
            broker.publish(ch, names.inbound("apcs"), "", BAD_COUNT, message_id="metrics-1")
        while samples.get(rejected, 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.3)
            samples = _scrape(port)
        assert samples.get(rejected) == 1.0, [k for k in samples if "rejected" in k[0]]
        assert samples[("edigw_messages_received_total", (("partner", "apcs"),))] == 1.0
        assert samples[("edigw_processing_seconds_count", (("partner", "apcs"),))] == 1.0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
