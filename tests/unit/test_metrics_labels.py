"""Metrics that hold at three instances (issue #19, item 6): bounded labels, build_info,
documents per destination, operator-action counters read from the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from gateway.config import load
from gateway.messaging import management, metrics
from gateway.storage.audit import AuditTrail


@pytest.fixture(autouse=True)
def _configured_partners() -> Iterator[None]:
    metrics.know_partners(["lbl-apcs", "lbl-commerce"], ["IFTMIN"])
    yield
    metrics.know_partners(None)


@dataclass
class _Translation:  # the pipeline's Translation, read duck-typed by the hooks
    message_types: list[str]
    format: str = "edifact"


@dataclass
class _Routed:
    destination: str


@dataclass
class _Outcome:
    translation: _Translation
    routed: list[_Routed] = field(default_factory=list)
    rejection: object = None


def _v(name: str, **labels: str) -> float:
    return metrics._value(name, **labels) or 0.0


def test_a_type_from_partner_content_becomes_other() -> None:
    hostile = "CUSCAR\x1b[2J" + "X" * 200
    before = _v("edigw_messages_routed_total", partner="lbl-apcs", type="other")
    metrics.decided("lbl-apcs", "routed", _Outcome(_Translation([hostile])), 0.01)
    assert _v("edigw_messages_routed_total", partner="lbl-apcs", type="other") == before + 1
    assert hostile not in generate_latest(metrics.REGISTRY).decode()


def test_known_types_mixed_interchanges_and_configured_types_keep_bounded_names() -> None:
    assert metrics.type_label(["CUSCAR"]) == "CUSCAR"
    assert metrics.type_label(["PAXLST", "CUSCAR"]) == "mixed"
    assert metrics.type_label(["IFTMIN"]) == "IFTMIN"  # configured for a partner
    assert metrics.type_label(["LpcoDocument"]) == "LpcoDocument"
    assert metrics.type_label(["NotARealRoot"]) == "other"


def test_a_partner_not_in_the_configuration_becomes_other() -> None:
    before = _v("edigw_messages_received_total", partner="other")
    metrics.received("lbl-not-configured")
    assert _v("edigw_messages_received_total", partner="other") == before + 1
    assert metrics._value("edigw_messages_received_total", partner="lbl-not-configured") is None
    metrics.received("lbl-commerce")
    assert _v("edigw_messages_received_total", partner="lbl-commerce") >= 1


def test_routed_documents_are_counted_per_destination() -> None:
    outcome = _Outcome(
        _Translation(["CUSCAR"]), [_Routed("core"), _Routed("legacy"), _Routed("core")]
    )
    metrics.decided("lbl-apcs", "routed", outcome, 0.02)
    assert _v("edigw_documents_routed_total", partner="lbl-apcs", destination="core") == 2
    assert _v("edigw_documents_routed_total", partner="lbl-apcs", destination="legacy") == 1
    metrics.decided("lbl-commerce", "routed", _Outcome(_Translation([]), [_Routed("mars")]), 0)
    assert _v("edigw_documents_routed_total", partner="lbl-commerce", destination="other") == 1
    # A rejected message routes nothing.
    metrics.decided("lbl-commerce", "rejected", _Outcome(_Translation([]), []), 0)
    assert _v("edigw_documents_routed_total", partner="lbl-commerce", destination="core") == 0


def test_build_info_says_which_version_runs() -> None:
    text = generate_latest(metrics.REGISTRY).decode()
    line = next(x for x in text.splitlines() if x.startswith("edigw_build_info{"))
    assert 'version="0.1.0"' in line and 'python="3.' in line
    assert line.endswith(" 1.0")


def test_operator_actions_are_counted_from_the_audit_trail(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path / "audit.sqlite3")
    try:
        metrics.set_operator_actions_source(trail.counts_by_action)
        assert _v("edigw_operator_actions_total", action="replay") == 0
        assert _v("edigw_operator_actions_total", action="purge") == 0
        # Written by another process (an `edigw dlq` command): the next scrape sees it.
        other = AuditTrail(tmp_path / "audit.sqlite3")
        other.record("alice", "replay", message_ids=["m1"])
        other.record("alice", "replay", message_ids=["m2"])
        other.record("bob", "purge", message_ids=["m3"])
        other.close()
        assert _v("edigw_operator_actions_total", action="replay") == 2
        assert _v("edigw_operator_actions_total", action="purge") == 1
        assert _v("edigw_operator_actions_total", action="edit") == 0
    finally:
        metrics.set_operator_actions_source(None)
        trail.close()
    assert metrics._value("edigw_operator_actions_total", action="replay") is None


def test_management_url_is_a_metrics_setting() -> None:
    conf = load({"metrics": {"management_url": "https://mq:15671"}}, env={}).config.metrics
    assert conf.management_url == "https://mq:15671"
    base, vhost, user, _password = management.management_api(
        "amqp://edi:secret@mq:5672/port", conf.management_url
    )
    assert (base, vhost, user) == ("https://mq:15671/api", "port", "edi")
