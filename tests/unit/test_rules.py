"""Business rules, each triggered from an EDIFACT file (tests/data/cuscar/, paxlst/), and their severities."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, load
from gateway.domain.rules import RULE_CODES, container_number_ok, imo_number_ok, locode_problem
from gateway.service.pipeline import translate

DATA = Path(__file__).resolve().parent.parent / "data" / "cuscar"

# rule -> (fixture, segment the problem must point at, words the sentence must hold)
CASES = {
    "CONTAINER_CHECK_DIGIT": ("container_check_digit.edi", 8, "check digit should be 6"),
    "IMO_CHECK_DIGIT": ("imo_check_digit.edi", 4, "IMO number 9703292"),
    "LOCODE": ("locode.edi", 14, "XX is not an ISO 3166 country"),
    "HS_CODE": ("hs_code.edi", 20, "HS code 8471"),
    "MASS_TOTALS": ("mass_totals.edi", 8, "the equipment says 5000.000 kg"),
    "CONTROL_TOTALS": ("control_totals.edi", 10, "CNT says 12 packages"),
    "BL_UNIQUE": ("bl_unique.edi", 21, "bill BL0001 appears in consignments 1 and 2"),
    "EQUIPMENT_DECLARED": ("equipment_declared.edi", 19, "TGHU7654320, which no EQD declares"),
    "ARRIVAL_AFTER_DEPARTURE": ("arrival_after_departure.edi", 6, "is not after departure"),
    # A passenger list (Algérie Ferries, Alicante -> Oran): CNT+42 says 3, two are listed.
    "PASSENGER_COUNT": (
        "../paxlst/passenger_count_mismatch.edi",
        27,
        "CNT+42 declares 3 passengers, the list has 2 travellers",
    ),
}


def test_every_rule_has_a_fixture() -> None:
    assert set(CASES) == set(RULE_CODES)


def test_the_valid_fixture_breaks_no_rule() -> None:
    result = translate((DATA / "valid.edi").read_bytes())
    assert result.rejection is None and result.warnings == []
    assert len(result.documents) == 1


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_rejects_by_default_and_points_at_the_segment(rule: str) -> None:
    fixture, segment, words = CASES[rule]
    result = translate((DATA / fixture).read_bytes())
    assert result.rejection is not None
    assert result.rejection.reason == "BUSINESS_RULES"
    assert [p.code for p in result.rejection.problems] == [rule]
    problem = result.rejection.problems[0]
    assert problem.segment == segment
    assert words in problem.sentence
    assert result.documents == []


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_at_warn_routes_and_keeps_the_warning(rule: str) -> None:
    fixture, segment, _words = CASES[rule]
    result = translate((DATA / fixture).read_bytes(), severities={rule: "warn"})
    assert result.rejection is None
    # The ferry profile's own codes (DOC P, RFF ABZ, CNT 42) are directory warnings, not rules.
    rules_broken = [w for w in result.warnings if not w.code.startswith("EDIFACT_")]
    assert [(w.code, w.segment) for w in rules_broken] == [(rule, segment)]
    assert len(result.documents) == 1 and len(result.elements) == 1


def test_rule_off_is_not_run() -> None:
    result = translate((DATA / "hs_code.edi").read_bytes(), severities={"HS_CODE": "off"})
    assert result.rejection is None and result.warnings == []


def test_partner_severities_come_from_the_configuration() -> None:
    settings = load({"partners": {"apcs": {"rules": {"CONTAINER_CHECK_DIGIT": "warn"}}}}, env={})
    assert dict(settings.partners["apcs"].rules) == {"CONTAINER_CHECK_DIGIT": "warn"}
    with pytest.raises(ConfigError, match=r"partners\.apcs\.rules\.NO_SUCH_RULE"):
        load({"partners": {"apcs": {"rules": {"NO_SUCH_RULE": "warn"}}}}, env={})
    with pytest.raises(ConfigError, match="must be one of reject, warn, off"):
        load({"partners": {"apcs": {"rules": {"HS_CODE": "maybe"}}}}, env={})


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        ("MSCU1234566", True),
        ("TGHU7654320", True),
        ("CSQU3054383", True),
        ("CSQU3054384", False),
        ("EQ123456", False),
        ("MSCX1234566", False),
        ("", False),
    ],
)
def test_iso_6346(number: str, ok: bool) -> None:
    assert container_number_ok(number) is ok


@pytest.mark.parametrize(
    ("number", "ok"), [("9074729", True), ("9703291", True), ("9703292", False), ("970329", False)]
)
def test_imo_check_digit(number: str, ok: bool) -> None:
    assert imo_number_ok(number) is ok


def test_locode_form_and_country() -> None:
    assert locode_problem("EGALY") is None
    assert locode_problem("EG1LY") is not None  # digits 0 and 1 are not used in LOCODEs
    assert locode_problem("QQABC") == "QQ is not an ISO 3166 country"


def test_the_configuration_knows_exactly_the_domains_rules() -> None:
    """The configuration lists the rule codes it accepts without importing the domain."""
    from gateway import config_schema
    from gateway.domain import rules

    assert config_schema.RULE_CODES == rules.RULE_CODES
    assert config_schema.SEVERITIES == rules.SEVERITIES
