"""Issue #20, point 1: the client lists every node of the cluster and tries them in order.

``[broker] hosts`` names the other nodes; the connection parameters are one set per node, in
order, each with ``url``'s login, virtual host, heartbeat and TLS. Failing over on a lost
connection is proved on a real broker (tests/integration/test_broker_failover.py) and on the
real cluster (tests/cluster/).
"""

from __future__ import annotations

import pytest

from gateway.bootstrap import bootstrap
from gateway.config import ConfigError, load
from gateway.messaging.broker import Connector, connection_parameters, node_urls
from gateway.tls import Tls

URL = "amqp://edigw:s3cret@rabbit-a:5681/customs"


def test_the_other_nodes_follow_url_with_its_login_and_vhost() -> None:
    assert node_urls(URL, ["rabbit-b:5682", "rabbit-c"]) == (
        URL,
        "amqp://edigw:s3cret@rabbit-b:5682/customs",
        "amqp://edigw:s3cret@rabbit-c/customs",
    )


def test_a_node_named_twice_is_tried_once() -> None:
    assert node_urls(URL, ["RABBIT-A:5681", "rabbit-b:5682", "rabbit-b:5682"]) == (
        URL,
        "amqp://edigw:s3cret@rabbit-b:5682/customs",
    )


def test_without_hosts_there_is_one_node() -> None:
    assert node_urls(URL) == (URL,)
    assert len(connection_parameters(URL)) == 1


def test_one_parameter_set_per_node_in_order_with_the_same_login() -> None:
    params = connection_parameters(URL, hosts=["rabbit-b:5682", "rabbit-c:5683"], heartbeat=7)
    assert [(p.host, p.port) for p in params] == [
        ("rabbit-a", 5681),
        ("rabbit-b", 5682),
        ("rabbit-c", 5683),
    ]
    assert {(p.credentials.username, p.credentials.password) for p in params} == {
        ("edigw", "s3cret")
    }
    assert {p.virtual_host for p in params} == {"customs"}
    assert {p.heartbeat for p in params} == {7}
    assert {p.blocked_connection_timeout for p in params} == {300}


def test_each_node_is_checked_under_tls_by_its_own_name_unless_one_is_set() -> None:
    tls_url = URL.replace("amqp://", "amqps://")
    own = connection_parameters(tls_url, hosts=["rabbit-b:5682"], tls=Tls())
    assert [p.ssl_options.server_hostname for p in own] == ["rabbit-a", "rabbit-b"]
    named = connection_parameters(tls_url, hosts=["rabbit-b:5682"], tls=Tls(server_name="mq"))
    assert [p.ssl_options.server_hostname for p in named] == ["mq", "mq"]


def test_the_composition_root_hands_the_hosts_to_the_connector() -> None:
    settings = load({"broker": {"url": URL, "hosts": ["rabbit-b:5682", "rabbit-c:5683"]}}, env={})
    connector = bootstrap(settings).broker
    assert isinstance(connector, Connector)
    assert connector.nodes == node_urls(URL, ["rabbit-b:5682", "rabbit-c:5683"])
    assert connector.user == "edigw"


def test_the_single_url_still_works_alone() -> None:
    settings = load({"broker": {"url": URL}}, env={})
    assert bootstrap(settings).broker.nodes == (URL,)


def test_hosts_from_the_environment_are_joined_by_commas() -> None:
    settings = load(env={"EDIGW_AMQP_URL": URL, "EDIGW_AMQP_HOSTS": "rabbit-b:5682, rabbit-c"})
    assert settings.config.broker.hosts == ["rabbit-b:5682", "rabbit-c"]


@pytest.mark.parametrize(
    ("hosts", "reason"),
    [
        (["rabbit-b:99999"], "the port must be from 1 to 65535"),
        (["guest:pw@rabbit-b:5682"], "no user, no path"),
        (["rabbit-b:5682/customs"], "no user, no path"),
        ([""], "host or host:port"),
    ],
)
def test_a_bad_node_address_is_refused_with_its_key(hosts: list[str], reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load({"broker": {"url": URL, "hosts": hosts}}, env={})
    assert "broker.hosts" in str(caught.value)
    assert reason in str(caught.value)
