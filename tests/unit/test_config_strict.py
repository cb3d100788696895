"""A strict configuration (issue #14): every bad key, type, range and port is refused by name.

Each row is one bad configuration: the dotted key the refusal must name and the reason it must
give. Overrides go through the same merge as a TOML file; environment variables through the
same mapping as at start.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway.config import ConfigError, load

ROOT = Path(__file__).resolve().parents[2]
EDIGW = [sys.executable, "-m", "gateway"]

BAD_FILES: list[tuple[dict[str, Any], str, str]] = [
    # unknown sections and keys: a typo never runs on a default
    ({"trust": {"dirr": "/etc/edigw/trust"}}, "trust.dirr", "unknown key (did you mean 'dir'?)"),
    ({"trusts": {"dir": "/x"}}, "trusts", "unknown section (did you mean 'trust'?)"),
    ({"broker": {"prefech": 3}}, "broker.prefech", "unknown key (did you mean 'prefetch'?)"),
    ({"broker": {"tls": {"ca": "/x"}}}, "broker.tls.ca", "unknown key"),
    ({"partners": {"apcs": {"formatz": []}}}, "partners.apcs.formatz", "did you mean 'formats'?"),
    (
        {"routes": [{"destination": "core", "ofice": "DZALG"}]},
        "routes[0].ofice",
        "did you mean 'office'?",
    ),
    ({"copies": [{"destination": "vet", "partnr": "x"}]}, "copies[0].partnr", "unknown key"),
    ({"metrics": {"prot": 1}}, "metrics.prot", "did you mean 'port'?"),
    # wrong types: never a traceback, never a silent conversion
    (
        {"partners": {"apcs": {"interchange_ids": "APCS"}}},
        "partners.apcs.interchange_ids",
        "must be a list, not 'APCS'",
    ),
    ({"broker": {"prefetch": "32"}}, "broker.prefetch", "must be a whole number, not '32'"),
    ({"broker": {"heartbeat": True}}, "broker.heartbeat", "must be a whole number, not True"),
    ({"broker": {"retry_delays_ms": "1000"}}, "broker.retry_delays_ms", "must be a list"),
    ({"broker": {"retry_delays_ms": [1000, "5s"]}}, "broker.retry_delays_ms[1]", "whole number"),
    ({"broker": {"url": 5672}}, "broker.url", "must be a string, not 5672"),
    ({"gateway": {"state_dir": 5}}, "gateway.state_dir", "must be a string, not 5"),
    ({"gateway": {"malloc_arena_max": 1.5}}, "gateway.malloc_arena_max", "must be a whole number"),
    ({"journal": {"path": ["a"]}}, "journal.path", "must be a string"),
    ({"keys": {"signing_key": False}}, "keys.signing_key", "must be a string, not False"),
    ({"trust": {"dir": 1}}, "trust.dir", "must be a string, not 1"),
    ({"trust": {"crl_files": "ca.crl"}}, "trust.crl_files", "must be a list, not 'ca.crl'"),
    ({"edifact": {"directory_path": 3}}, "edifact.directory_path", "not 3"),
    ({"metrics": {"port": "9464"}}, "metrics.port", "must be a whole number, not '9464'"),
    ({"console": {"port": 8465.0}}, "console.port", "must be a whole number, not 8465.0"),
    ({"responses": {"overdue_after_minutes": "4h"}}, "responses.overdue_after_minutes", "number"),
    ({"partners": {"apcs": {"formats": "edifact"}}}, "partners.apcs.formats", "must be a list"),
    ({"partners": {"apcs": {"rules": ["HS_CODE"]}}}, "partners.apcs.rules", "must be a table"),
    ({"partners": {"apcs": "port"}}, "partners.apcs", "must be a table, not 'port'"),
    ({"routes": {"destination": "core"}}, "routes", "must be a list"),
    ({"copies": [{"destination": 5}]}, "copies[0].destination", "must be a string, not 5"),
    ({"console": {"token": 1234}}, "console.token", "must be a string, not '***'"),
    # values out of range or out of their set
    ({"broker": {"prefetch": 0}}, "broker.prefetch", "must be at least 1, not 0"),
    ({"broker": {"prefetch": 70000}}, "broker.prefetch", "must be at most 65535, not 70000"),
    ({"broker": {"delivery_limit": 101}}, "broker.delivery_limit", "at most 100"),
    ({"broker": {"heartbeat": 601}}, "broker.heartbeat", "must be at most 600, not 601"),
    ({"broker": {"retry_delays_ms": [5]}}, "broker.retry_delays_ms[0]", "must be at least 10"),
    ({"broker": {"name_prefix": "a b"}}, "broker.name_prefix", "must match"),
    ({"metrics": {"port": 65536}}, "metrics.port", "must be at most 65535, not 65536"),
    ({"metrics": {"port": -1}}, "metrics.port", "must be at least 0, not -1"),
    ({"metrics": {"depth_interval": 0}}, "metrics.depth_interval", "must be at least 1"),
    ({"console": {"sample_interval": 0.1}}, "console.sample_interval", "at least 0.2"),
    ({"responses": {"overdue_check_seconds": 0}}, "responses.overdue_check_seconds", "more than"),
    ({"gateway": {"interchange_id": ""}}, "gateway.interchange_id", "must not be empty"),
    ({"gateway": {"interchange_id": "X" * 36}}, "gateway.interchange_id", "at most 35"),
    ({"gateway": {"mode": "prod"}}, "gateway.mode", "must be one of 'production' or 'development'"),
    ({"gateway": {"malloc_mmap_threshold": 1 << 30}}, "gateway.malloc_mmap_threshold", "at most"),
    ({"partners": {"apcs": {"interchange_ids": [""]}}}, "partners.apcs.interchange_ids[0]", ""),
    ({"partners": {"apcs": {"role": "pirate"}}}, "partners.apcs.role", "must be one of 'port'"),
    ({"partners": {"x": {"name": "X"}}}, "partners.x.role", "is required"),
    ({"journal": {"backend": "mongodb"}}, "journal.backend", "'sqlite' or 'postgresql'"),
    ({"routes": [{"destination": "mars"}]}, "routes[0].destination", "not 'mars'"),
    ({"copies": [{"destination": "Vet!"}]}, "copies[0].destination", "must match"),
    # bad broker ports: refused at start instead of a connection loop
    ({"broker": {"url": "amqp://guest:pw@127.0.0.1:99999/"}}, "broker.url", "1 to 65535"),
    ({"broker": {"url": "amqp://127.0.0.1:0/"}}, "broker.url", "the port must be from 1 to 65535"),
    ({"broker": {"url": "amqp://127.0.0.1:amqp/"}}, "broker.url", "the port must be from 1"),
    ({"broker": {"url": "http://127.0.0.1/"}}, "broker.url", "amqp:// or amqps://"),
    # a partner's own URL and virtual host (issue #14, finding 8b)
    ({"partners": {"apcs": {"amqp_url": "http://mq/"}}}, "partners.apcs.amqp_url", "amqp://"),
    ({"partners": {"apcs": {"amqp_url": "amqp://mq:0/"}}}, "partners.apcs.amqp_url", "port"),
    ({"partners": {"apcs": {"vhost": "/"}}}, "partners.apcs.vhost", "must match"),
    ({"partners": {"apcs": {"vhost": ""}}}, "partners.apcs.vhost", "must match"),
    ({"partners": {"apcs": {"vhost": 5}}}, "partners.apcs.vhost", "must be a string, not 5"),
]


@pytest.mark.parametrize(("overrides", "key", "reason"), BAD_FILES)
def test_a_bad_configuration_names_the_key_and_the_reason(
    overrides: dict[str, Any], key: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load(overrides, env={})
    assert refused.value.key == key
    assert reason in refused.value.reason


def test_a_refused_url_never_shows_its_password() -> None:
    with pytest.raises(ConfigError) as refused:
        load({"broker": {"url": "amqp://edigw:s3cret@mq:99999/"}}, env={})
    assert "s3cret" not in str(refused.value) and "edigw:***@mq" in str(refused.value)


BAD_ENVIRONMENTS: list[tuple[dict[str, str], str, str]] = [
    ({"EDIGW_METRICS_PORT": "abc"}, "metrics.port", "whole number, not 'abc' (from EDIGW_METRICS"),
    ({"EDIGW_METRICS_PORT": "70000"}, "metrics.port", "at most 65535, not 70000 (from EDIGW_"),
    ({"EDIGW_MODE": "staging"}, "gateway.mode", "(from EDIGW_MODE)"),
    ({"EDIGW_AMQP_URL": "amqp://h:123456/"}, "broker.url", "(from EDIGW_AMQP_URL)"),
    ({"EDIGW_NAME_PREFIX": "a/b"}, "broker.name_prefix", "must match"),
    ({"EDIGW_JOURNAL_BACKEND": "oracle"}, "journal.backend", "must be one of"),
]


@pytest.mark.parametrize(("env", "key", "reason"), BAD_ENVIRONMENTS)
def test_environment_overrides_are_validated_the_same_way(
    env: dict[str, str], key: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load(env=env)
    assert (refused.value.key, reason in refused.value.reason) == (key, True)


def test_the_settings_are_the_typed_sections_only() -> None:
    settings = load({"metrics": {"port": 9464}}, env={"EDIGW_MODE": "development"})
    assert settings.config.metrics.port == 9464
    # Issue #15: no untyped dict beside them for a consumer to parse on its own.
    assert not hasattr(settings, "raw")
    assert settings.config.partners["apcs"].message_types == [
        "CUSCAR",
        "PAXLST",
        "CUSREP",
        "IFTDGN",
        "COARRI",
    ]
    assert settings.mode == "development"
    assert load(env={}).mode == "production"  # the default outside the demo and the tests
    assert load(env={"EDIGW_METRICS_PORT": "9464"}).config.metrics.port == 9464


def _edigw(tmp_path: Path, config: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "gateway.toml"
    path.write_text(config)
    env = {"PATH": "/usr/bin:/bin", "EDIGW_STATE_DIR": str(tmp_path / "state")}
    return subprocess.run(
        [*EDIGW, "--config", str(path), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ('[trust]\ndirr = "/etc/edigw/trust"\n', "trust.dirr: unknown key (did you mean 'dir'?)"),
        ('[partners.apcs]\ninterchange_ids = "APCS"\n', "partners.apcs.interchange_ids: must be"),
        ('[broker]\nurl = "amqp://127.0.0.1:99999/"\n', "broker.url: the port must be from 1"),
        ("[metrics]\nport = 99999\n", "metrics.port: must be at most 65535, not 99999"),
        ('[broker]\nheartbeat = "30"\n', "broker.heartbeat: must be a whole number, not '30'"),
    ],
)
@pytest.mark.parametrize(
    "command", [["run"], ["translate", "samples/apcs/01-cuscar-msc-algiers.edi"]]
)
def test_run_and_translate_refuse_a_bad_file_with_exit_2_and_no_traceback(
    tmp_path: Path, config: str, expected: str, command: list[str]
) -> None:
    done = _edigw(tmp_path, config, *command)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"configuration refused: {expected}")
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "state").exists()  # refused before anything was made
