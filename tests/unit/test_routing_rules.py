"""Routing rules (pure logic): first matching route by type, partner and office; copy rules."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, Route, load
from gateway.domain.model import CargoManifest, Header
from gateway.service.routing import CopyRule, changes, copies_for, route_for


def _manifest(port: str | None = "DZORN", office: str | None = None) -> CargoManifest:
    return CargoManifest(
        Header.new(sender="apcs", document_type="CargoManifest", business_reference="M"),
        document_number="M",
        port_of_call=port,
        customs_office=office,
    )


def test_first_matching_route_wins_by_office_then_default() -> None:
    routes = [Route("legacy", office="DZORN"), Route("core")]
    assert route_for(_manifest("DZORN"), "apcs", routes) == "legacy"
    assert route_for(_manifest("DZAAE"), "apcs", routes) == "core"


def test_customs_office_takes_precedence_but_port_still_matches() -> None:
    routes = [Route("legacy", office="DZORN"), Route("core")]
    assert route_for(_manifest("DZORN", office="DZORN01"), "apcs", routes) == "legacy"


def test_partner_and_type_narrow_a_route() -> None:
    routes = [
        Route("legacy", partner="other"),
        Route("legacy", document_type="PassengerVehicleList"),
        Route("core"),
    ]
    assert route_for(_manifest(), "apcs", routes) == "core"


def test_no_route_is_an_error() -> None:
    with pytest.raises(LookupError):
        route_for(_manifest(), "apcs", [Route("core", office="XXXXX")])


def test_every_matching_copy_rule_applies_once() -> None:
    rules = load(
        {
            "copies": [
                {"destination": "veterinary", "document_type": "CargoManifest"},
                {"destination": "health", "office": "DZORN"},
                {"destination": "veterinary"},
                {"destination": "phyto", "office": "DZAAE"},
            ]
        },
        env={},
    ).copies
    assert copies_for(_manifest("DZORN"), "apcs", rules) == ["veterinary", "health"]


def test_bad_copy_destination_is_refused_with_its_key() -> None:
    with pytest.raises(ConfigError, match=r"copies\[0\]\.destination"):
        load({"copies": [{"destination": "Bad Name"}]}, env={})


def test_changes_say_what_a_reload_does() -> None:
    before = [Route("legacy", office="DZORN"), Route("core")]
    after = [Route("core")]
    assert changes(before, after, (), (CopyRule("veterinary"),)) == [
        "- route type=* partner=* office=DZORN -> legacy",
        "+ copy type=* partner=* office=* -> veterinary",
    ]
