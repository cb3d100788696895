"""The alert rules (config/alerts.yml) hold at three instances: ``promtool test rules``.

promtool comes with Debian's ``prometheus`` package (scripts/setup.sh installs it). The
scenarios are in tests/alerts/alerts_test.yml: one growing dead-letter queue polled by three
instances raises one alert; a partner whose messages all went to one instance is no "no
traffic" alert on the other two.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "config" / "alerts.yml"
RULE_TESTS = ROOT / "tests" / "alerts" / "alerts_test.yml"
# Alerts about one instance on purpose; every other rule aggregates across instances.
PER_INSTANCE = {"EdigwBrokerDisconnected", "EdigwDown"}


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: run scripts/setup.sh (apt package prometheus)"
    return subprocess.run(
        [promtool, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_rules_are_valid() -> None:
    checked = _promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


def test_the_rules_pass_their_three_instance_scenarios() -> None:
    tested = _promtool("test", "rules", str(RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_shared_alert_aggregates_and_the_job_name_is_edigw() -> None:
    # (alert, expression) pairs, read from the text (no YAML library among our dependencies).
    found = re.findall(
        r"- alert: (\w+)\n(?:[ ]*#[^\n]*\n)*[ ]*expr: \|?(.*?)\n[ ]*(?:for|labels):",
        RULES.read_text(),
        re.S,
    )
    rules = [{"alert": alert, "expr": expr} for alert, expr in found]
    assert len(rules) == RULES.read_text().count("- alert:")
    shared = [r for r in rules if r["alert"] not in PER_INSTANCE]
    assert shared
    for rule in shared:
        expr = " ".join(rule["expr"].split())
        assert "instance" not in expr, rule["alert"]
        assert re.search(r"\b(max|sum)\b( by \([a-z, ]*\))? ?\(", expr), rule["alert"]
    down = next(r for r in rules if r["alert"] == "EdigwDown")
    assert 'job="edigw"' in down["expr"]
    tested = {
        line.split(":", 1)[1].strip()
        for line in RULE_TESTS.read_text().splitlines()
        if "alertname:" in line
    }
    assert tested >= {
        "EdigwDeadLetterQueueGrowing",
        "EdigwDeadLettersNotHandled",
        "EdigwNoTrafficFromPartner",
        "EdigwRejectionRateHigh",
    }
