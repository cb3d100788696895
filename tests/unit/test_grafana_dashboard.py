"""The Grafana dashboard shipped in deploy/grafana/edigw.json (issue #19, point 4): it parses,
and every expression of every panel names only metrics the gateway exports
(gateway/messaging/metrics*.py, as registered in prometheus_client's registry)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import gateway.messaging.metrics_travellers  # noqa: F401  (registers its metrics)
from gateway.messaging.metrics import REGISTRY, OperatorActionsCollector

ROOT = Path(__file__).resolve().parents[2]
# PromQL's own words: functions, aggregations and keywords, never metric names.
PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "by", "without", "rate", "increase", "time",
    "histogram_quantile", "clamp_min", "le", "on", "ignoring", "group_left", "offset",
}  # fmt: skip


def _exprs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [e for v in node.values() for e in _exprs(v)]
    if isinstance(node, list):
        return [e for v in node for e in _exprs(v)]
    return []


def _exported() -> set[str]:
    suffixes = {
        "counter": ["_total"],
        "histogram": ["_bucket", "_count", "_sum"],
        "info": ["_info"],
    }
    # The operator-action counters are registered when /metrics is served (read from the trail).
    families = [*REGISTRY.collect(), *OperatorActionsCollector(dict).collect()]
    return {m.name + s for m in families for s in suffixes.get(m.type, [""])}


def test_every_dashboard_expression_names_exported_metrics_only() -> None:
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "edigw.json").read_text())
    exprs = _exprs(dashboard["panels"])
    assert len(exprs) >= 10
    exported = _exported()
    for expr in exprs:
        # Drop label matchers and legends ({...}), strings, durations ([5m]) and numbers.
        bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", " ", expr)
        bare = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", bare)  # label lists
        bare = re.sub(r"(?<![\w.])\d+(\.\d+)?(e[-+]?\d+)?", " ", bare)  # numbers: 60, 1e-9
        names = {w for w in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", bare)} - PROMQL_WORDS
        assert names, expr
        assert names <= exported, f"{expr}: {sorted(names - exported)} not exported"
    # The dashboard shows the depths, the dead letters and the operator actions at least.
    used = " ".join(exprs)
    for metric in ("edigw_dead_letter_messages", "edigw_queue_messages",
                   "edigw_operator_actions_total", "edigw_messages_received_total"):  # fmt: skip
        assert metric in used


def test_the_dashboard_aggregates_across_instances_and_uses_the_job() -> None:
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "edigw.json").read_text())
    for expr in _exprs(dashboard["panels"]):
        assert 'job="$job"' in expr, expr
    assert {v["name"] for v in dashboard["templating"]["list"]} == {"datasource", "job"}
