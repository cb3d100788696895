"""A trust domain per partner (issue #14, finding 8b): what ``edigw partners provision`` would
create, and the configurations it refuses, without a broker.

The real broker's side (a partner user refused everywhere but in its vhost, the shovels carrying
its messages and answers) is ``tests/integration/test_partners_isolation.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway.config import ConfigError, load
from gateway.messaging.partners import definitions, partner_url, trust_domains

EDIGW = [sys.executable, "-m", "gateway"]


def _settings(overrides: dict[str, Any] | None = None, **env: str) -> Any:
    return load(overrides, env={"EDIGW_MODE": "development", **env})


def test_each_partner_has_its_own_vhost_and_the_shovels_name_the_sender() -> None:
    domains = {d.partner: d for d in trust_domains(_settings(EDIGW_NAME_PREFIX="t1."))}
    # Every partner that sends (port, ministry, portal, border); customs is the gateway's side.
    assert set(domains) == {
        "apcs",
        "terminal-djendjen",
        "commerce",
        "agriculture",
        "industry",
        "eservices",
        "border",
    }
    apcs = domains["apcs"]
    assert (apcs.vhost, apcs.user) == ("t1.partner.apcs", "t1.apcs")
    assert apcs.permissions == ("^$", r"^t1\.partner\.apcs\.in$", r"^t1\.partner\.apcs\.out$")
    assert [q.name for q in apcs.topology.queues] == ["t1.partner.apcs.in", "t1.partner.apcs.out"]
    assert [e.name for e in apcs.topology.exchanges] == ["t1.partner.apcs.in"]

    inbound = apcs.shovels["t1.partner.apcs.in"]
    assert inbound["src-uri"] == "amqp:///t1.partner.apcs"
    assert inbound["src-queue"] == "t1.partner.apcs.in"
    assert inbound["dest-uri"] == "amqp:///%2F"  # the gateway's vhost (broker.url's)
    # Into the partner's own inbound exchange, never the default exchange (which the worker
    # reads as a retry of the gateway's), under the user of the vhost it came from.
    assert inbound["dest-exchange"] == "t1.partner.apcs.in"
    assert inbound["dest-publish-properties"] == {"user_id": "t1.apcs"}
    outbound = apcs.shovels["t1.partner.apcs.out"]
    assert (outbound["src-uri"], outbound["src-queue"]) == ("amqp:///%2F", "t1.partner.apcs.out")
    assert (outbound["dest-uri"], outbound["dest-queue"]) == (
        "amqp:///t1.partner.apcs",
        "t1.partner.apcs.out",
    )
    # Nothing is lost: acknowledged at the source once the destination confirmed.
    assert {s["ack-mode"] for d in domains.values() for s in d.shovels.values()} == {"on-confirm"}
    assert len({d.vhost for d in domains.values()}) == len(domains)


def test_a_configured_vhost_is_used_and_only_limits_the_output() -> None:
    settings = _settings({"partners": {"commerce": {"vhost": "ministry-of-commerce"}}})
    [commerce] = trust_domains(settings, only=["commerce"])
    assert commerce.vhost == "ministry-of-commerce"
    assert commerce.shovels["partner.commerce.in"]["src-uri"] == "amqp:///ministry-of-commerce"


@pytest.mark.parametrize(
    ("overrides", "key", "reason"),
    [
        (
            {"partners": {"commerce": {"vhost": "partner.apcs"}}},
            "partners.commerce.vhost",
            "'partner.apcs' is already apcs's",
        ),
        (
            {"broker": {"url": "amqp://guest:guest@mq/partner.apcs"}},
            "partners.apcs.vhost",
            "the gateway's own virtual host",
        ),
        (
            {"broker": {"url": "amqp://apcs:pw@mq/customs"}},
            "partners.apcs",
            "is the gateway's own",
        ),
        (
            {"partners": {"apcs": {"amqp_url": "amqp://apcs:pw@mq/%2F"}}},
            "partners.apcs.amqp_url",
            "names the virtual host '/'; the partner's own is 'partner.apcs'",
        ),
    ],
)
def test_a_trust_domain_that_would_not_be_one_is_refused(
    overrides: dict[str, Any], key: str, reason: str
) -> None:
    settings = _settings(overrides)
    with pytest.raises(ConfigError) as refused:
        trust_domains(settings, only=["industry"])  # every partner is checked, whatever only says
    assert refused.value.key == key
    assert reason in refused.value.reason
    assert "pw" not in str(refused.value)


def test_the_definitions_hold_no_user_and_no_password() -> None:
    defs = definitions(trust_domains(_settings(), only=["apcs"]))
    assert "users" not in defs
    assert defs["vhosts"] == [{"name": "partner.apcs"}]
    assert [p["vhost"] for p in defs["permissions"]] == ["partner.apcs"]
    assert {q["vhost"] for q in defs["queues"]} == {"partner.apcs"}
    assert [(b["source"], b["destination"]) for b in defs["bindings"]] == [
        ("partner.apcs.in", "partner.apcs.in")
    ]
    assert {(p["vhost"], p["component"]) for p in defs["parameters"]} == {
        ("partner.apcs", "shovel")
    }
    assert "pass" not in json.dumps(defs).lower()


def test_partner_url_takes_the_partners_vhost() -> None:
    url = partner_url("amqps://edigw:s@mq:5671/customs", "apcs", "p/w", "partner.apcs")
    assert url == "amqps://apcs:p%2Fw@mq:5671/partner.apcs"
    assert partner_url("amqp://edigw:s@mq/%2F", "apcs", "pw") == "amqp://apcs:pw@mq/%2F"


def _edigw(tmp_path: Path, *args: str, config: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EDIGW_MODE": "development", "EDIGW_STATE_DIR": str(tmp_path / "state")}
    env.pop("EDIGW_CONFIG", None)
    if config:
        (tmp_path / "site.toml").write_text(config)
        env["EDIGW_CONFIG"] = str(tmp_path / "site.toml")
    return subprocess.run(
        [*EDIGW, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_provision_dry_run_prints_the_plan_and_touches_nothing(tmp_path: Path) -> None:
    # No broker is asked: the URL points nowhere, and no password file is written.
    proc = _edigw(
        tmp_path,
        *("partners", "provision", "--dry-run", "--partner", "apcs", "--json"),
        config='[broker]\nurl = "amqp://edigw:pw@nowhere.invalid:5672/customs"\n',
    )
    assert proc.returncode == 0, proc.stderr
    [plan] = [json.loads(line) for line in proc.stdout.splitlines()]
    assert (plan["partner"], plan["vhost"], plan["user"]) == ("apcs", "partner.apcs", "apcs")
    assert plan["shovels"]["partner.apcs.in"]["dest-uri"] == "amqp:///customs"
    assert not (tmp_path / "state" / "partners").exists()

    text = _edigw(tmp_path, "partners", "provision", "--dry-run", "--partner", "commerce")
    assert text.returncode == 0
    assert "commerce\tvhost partner.commerce\tuser commerce" in text.stdout
    assert "shovel partner.commerce.in: amqp:///partner.commerce" in text.stdout


def test_provision_refuses_a_shared_vhost_with_exit_2(tmp_path: Path) -> None:
    proc = _edigw(
        tmp_path,
        *("partners", "provision", "--dry-run"),
        config='[partners.industry]\nvhost = "partner.commerce"\n',
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "configuration refused: partners.industry.vhost: 'partner.commerce' is already "
        "commerce's: each partner needs its own"
    )
    assert "Traceback" not in proc.stderr
