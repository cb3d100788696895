from pathlib import Path

import pytest

from gateway.config import ConfigError, load


def test_defaults_define_the_partners_of_the_design() -> None:
    settings = load(env={})
    assert {"apcs", "commerce", "agriculture", "industry", "customs"} <= set(settings.partners)
    assert settings.partners["apcs"].role == "port"
    assert settings.partners["agriculture"].role == "ministry"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    settings = load(
        env={"EDIGW_AMQP_URL": "amqp://u:p@broker:5673/x", "EDIGW_STATE_DIR": str(tmp_path)}
    )
    assert settings.broker_url == "amqp://u:p@broker:5673/x"
    assert settings.journal_path == str(tmp_path / "journal.sqlite3")


def test_a_config_file_is_merged_over_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "gw.toml"
    path.write_text(
        '[broker]\nprefetch = 7\n[[routes]]\ndestination = "legacy"\noffice = "DZORN"\n'
    )
    settings = load(path=path, env={})
    assert settings.prefetch == 7
    assert settings.routes[0].office == "DZORN"  # a file's routes replace the default list


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"broker": {"url": "http://x"}}, "broker.url"),
        ({"broker": {"prefetch": 0}}, "broker.prefetch"),
        ({"broker": {"prefetch": "many"}}, "broker.prefetch"),
        ({"partners": {"Bad Id": {"role": "port"}}}, "partners.Bad Id"),
        ({"partners": {"x": {"role": "pirate"}}}, "partners.x.role"),
        ({"routes": [{"destination": "mars"}]}, "routes[0].destination"),
        ({"journal": {"backend": "mongodb"}}, "journal.backend"),
    ],
)
def test_a_bad_configuration_is_refused_with_key_and_reason(overrides: dict, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(overrides, env={})
    assert info.value.key == key
    assert info.value.reason


def test_a_missing_config_file_is_named() -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load(env={"EDIGW_CONFIG": "/nonexistent/gw.toml"})
