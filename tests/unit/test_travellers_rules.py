"""Travellers' pure rules (issue #18): VIN check digits, TPD durations, currency thresholds, and
the configuration they are read from."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gateway.config import load
from gateway.config_schema import GatewayConfig, problem
from gateway.domain.travellers_rules import (
    ISO_4217,
    RESIDENCE_STATUSES,
    AdmissionTerms,
    NoRate,
    NotAdmissible,
    RateTable,
    Stay,
    TravellersPolicy,
    add_months,
    admission_due,
    assess_currency,
    extended_due,
    is_overdue,
    vin_check_digit,
    vin_problem,
)

D = dt.date


# ---------------------------------------------------------------- VIN


@pytest.mark.parametrize(
    "vin",
    [
        "1M8GDM9AXKP042788",  # the check digit X (remainder 10)
        "11111111111111111",  # ISO 3779's own example: every weight times 1, check digit 1
        "1HGCM82633A004352",  # North American (Honda), check digit 3
        "VF1RFB00X56123456",  # a Renault: Europe has no check digit, X here is just a letter
        "WVWZZZ1JZXW000001",  # a Volkswagen: Z fillers, no check digit
    ],
)
def test_a_possible_vin_passes(vin: str) -> None:
    assert vin_problem(vin) is None


def test_the_check_digit_is_computed_as_iso_3779_and_49_cfr_565_say() -> None:
    assert vin_check_digit("1M8GDM9AXKP042788") == "X"
    assert vin_check_digit("1HGCM82633A004352") == "3"
    assert vin_check_digit("11111111111111111") == "1"


@pytest.mark.parametrize(
    ("vin", "words"),
    [
        ("1M8GDM9A1KP042788", "check digit (position 9) is 1, the VIN needs X"),
        ("1HGCM82683A004352", "check digit (position 9) is 8, the VIN needs 3"),
        ("VF1RFB00X5612345", "17 characters, this one 16"),
        ("VF1RFB00X561234567", "17 characters, this one 18"),
        ("VF1RFB00I56123456", "not 'I'"),
        ("VF1RFB00O5612345Q", "not 'O', 'Q'"),
        ("vf1rfb00x56123456", "capital letters"),
    ],
)
def test_an_impossible_vin_says_why(vin: str, words: str) -> None:
    found = vin_problem(vin)
    assert found is not None and words in found


def test_currency_codes_are_iso_4217() -> None:
    assert {"EUR", "DZD", "USD", "GBP", "TND", "MAD"} <= ISO_4217
    assert "EUU" not in ISO_4217 and "FRF" not in ISO_4217  # withdrawn in 2002


# ---------------------------------------------------------------- durations

TERMS = TravellersPolicy().terms


def test_add_months_keeps_the_end_of_month() -> None:
    assert add_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert add_months(D(2026, 8, 31), 6) == D(2027, 2, 28)
    assert add_months(D(2026, 3, 15), -12) == D(2025, 3, 15)


def test_a_foreigner_has_three_months_extendable_once_to_six() -> None:
    entry = D(2026, 7, 15)
    assert admission_due("foreign_national", entry, TERMS) == D(2026, 10, 15)
    assert extended_due("foreign_national", entry, 0, TERMS) == D(2027, 1, 15)
    with pytest.raises(NotAdmissible) as exc:
        extended_due("foreign_national", entry, 1, TERMS)
    assert exc.value.reason == "TPD_NO_EXTENSION"


def test_a_non_resident_national_has_six_months_on_a_first_stay() -> None:
    assert admission_due("non_resident_national", D(2026, 7, 15), TERMS) == D(2027, 1, 15)
    with pytest.raises(NotAdmissible) as exc:
        extended_due("non_resident_national", D(2026, 7, 15), 0, TERMS)
    assert exc.value.reason == "TPD_NO_EXTENSION"


def test_six_months_within_any_twelve_counts_the_earlier_stays() -> None:
    entry = D(2026, 7, 1)
    # Two months in the country earlier this year: four are left in the window.
    spring = [Stay(D(2026, 2, 1), D(2026, 4, 2))]  # 60 days
    due = admission_due("non_resident_national", entry, TERMS, spring)
    allowed = (add_months(entry, 6) - entry).days
    assert (due - entry).days == allowed - 60
    # A stay more than twelve months ago does not count.
    old = [Stay(D(2024, 1, 1), D(2024, 6, 30))]
    assert admission_due("non_resident_national", entry, TERMS, old) == add_months(entry, 6)


def test_a_window_that_slides_past_an_old_stay_gives_the_days_back() -> None:
    # Left on 1 September 2025 after 5 months; back on 1 March 2026. The window ending on a
    # day d covers the old stay's days after d - 12 months, and those fall out as d advances:
    # the due date is later than 1 month after entry.
    previous = [Stay(D(2025, 4, 1), D(2025, 9, 1))]
    entry = D(2026, 3, 1)
    due = admission_due("non_resident_national", entry, TERMS, previous)
    assert add_months(entry, 1) < due <= add_months(entry, 6)
    # Every window ending while the vehicle is in holds at most the allowance.
    allowed = (add_months(entry, 6) - entry).days
    day = entry
    while day <= due:
        start = add_months(day, -12)
        old = max(0, (min(D(2025, 9, 1), day) - max(D(2025, 4, 1), start)).days)
        assert old + (day - max(entry, start)).days <= allowed
        day += dt.timedelta(days=1)
    # ...and one day more would break a window.
    start = add_months(due + dt.timedelta(days=1), -12)
    old = max(0, (D(2025, 9, 1) - max(D(2025, 4, 1), start)).days)
    assert old + (due + dt.timedelta(days=1) - entry).days > allowed


def test_an_allowance_used_up_or_a_resident_gets_no_tpd() -> None:
    used = [Stay(D(2025, 12, 20), D(2026, 7, 1))]  # 193 days: more than six months
    with pytest.raises(NotAdmissible) as exc:
        admission_due("non_resident_national", D(2026, 7, 2), TERMS, used)
    assert exc.value.reason == "TPD_ALLOWANCE_USED"
    with pytest.raises(NotAdmissible) as exc:
        admission_due("resident", D(2026, 7, 2), TERMS)
    assert exc.value.reason == "TPD_NOT_ELIGIBLE"


def test_overdue_starts_the_day_after_the_due_date() -> None:
    due = D(2026, 10, 15)
    assert not is_overdue(due, D(2026, 10, 15))
    assert is_overdue(due, D(2026, 10, 16))


def test_durations_come_from_the_configuration() -> None:
    policy = TravellersPolicy.from_mapping(
        {"durations": {"foreign_national": {"months": 1, "extension_months": 2, "extensions": 2}}}
    )
    assert policy.terms["foreign_national"] == AdmissionTerms(1, 0, 2, 2)
    assert admission_due("foreign_national", D(2026, 7, 15), policy.terms) == D(2026, 8, 15)
    assert extended_due("foreign_national", D(2026, 7, 15), 1, policy.terms) == D(2026, 12, 15)
    # What the configuration does not name keeps the press's defaults.
    assert policy.terms["non_resident_national"] == AdmissionTerms(6, 12)


# ---------------------------------------------------------------- currency

RATES = (
    RateTable(D(2026, 1, 1), {"DZD": Decimal("150"), "USD": Decimal("1.25")}),
    RateTable(D(2026, 7, 1), {"DZD": Decimal("160"), "USD": Decimal("1.00")}),
)
POLICY = TravellersPolicy(rates=RATES)


@pytest.mark.parametrize(
    ("status", "amounts", "required"),
    [
        ("resident", [("EUR", Decimal("1000.00"))], False),  # "above 1,000": 1,000 is not
        ("resident", [("EUR", Decimal("1000.01"))], True),
        ("non_resident_national", [("EUR", Decimal("600")), ("USD", Decimal("500"))], True),
        ("foreign_national", [("EUR", Decimal("3000")), ("USD", Decimal("2000"))], False),
        ("foreign_national", [("EUR", Decimal("3000")), ("USD", Decimal("2000.01"))], True),
    ],
)
def test_the_currency_threshold_both_ways(
    status: str, amounts: list[tuple[str, Decimal]], required: bool
) -> None:
    verdict = assess_currency(amounts, status, "entry", D(2026, 7, 14), POLICY)
    assert verdict.required is required
    assert verdict.threshold_eur == (Decimal(5000) if status == "foreign_national" else 1000)
    assert verdict.rates_from == D(2026, 7, 1)


def test_the_rate_table_of_the_declarations_date_is_used() -> None:
    amounts = [("DZD", Decimal("240000"))]
    january = assess_currency(amounts, "resident", "entry", D(2026, 3, 1), POLICY)
    july = assess_currency(amounts, "resident", "entry", D(2026, 7, 1), POLICY)
    assert (january.total_eur, january.rates_from) == (Decimal("1600.00"), D(2026, 1, 1))
    assert (july.total_eur, july.rates_from) == (Decimal("1500.00"), D(2026, 7, 1))
    with pytest.raises(NoRate):
        assess_currency(amounts, "resident", "entry", D(2025, 12, 31), POLICY)
    with pytest.raises(NoRate):
        assess_currency([("GBP", Decimal(1))], "resident", "entry", D(2026, 7, 1), POLICY)


def test_an_exit_above_what_was_declared_on_entry_is_flagged() -> None:
    entered = [("EUR", Decimal("3000"))]
    day = D(2026, 8, 30)
    more = assess_currency(
        [("EUR", Decimal("3000.01"))], "foreign_national", "exit", day, POLICY, entered
    )
    same = assess_currency(
        [("USD", Decimal("3000"))], "foreign_national", "exit", day, POLICY, entered
    )
    nothing = assess_currency([("EUR", Decimal("10"))], "foreign_national", "exit", day, POLICY)
    assert more.exceeds_entry and not more.required
    assert not same.exceeds_entry
    assert not nothing.exceeds_entry  # no entry declaration: nothing to compare with


# ---------------------------------------------------------------- configuration


def test_the_default_configuration_holds_the_press_figures() -> None:
    settings = load({}, env={})
    policy = TravellersPolicy.from_mapping(settings.config.travellers.model_dump())
    assert policy.terms["non_resident_national"] == AdmissionTerms(6, 12)
    assert policy.terms["foreign_national"] == AdmissionTerms(3, 0, 3, 1)
    assert "resident" not in policy.terms
    for direction in ("entry", "exit"):
        assert policy.thresholds_eur[("resident", direction)] == 1000
        assert policy.thresholds_eur[("non_resident_national", direction)] == 1000
        assert policy.thresholds_eur[("foreign_national", direction)] == 5000
    assert policy.rates and policy.rates[0].units_per_euro["DZD"] > 0
    assert set(policy.rates[0].units_per_euro) <= ISO_4217
    # The portal and the border posts are configured by default (config/gateway.toml).
    assert settings.partners["eservices"].role == "portal"
    assert settings.partners["eservices"].formats == ("json",)
    assert settings.partners["border"].role == "border"
    assert set(settings.config.travellers.durations) <= set(RESIDENCE_STATUSES)


@pytest.mark.parametrize(
    ("raw", "key", "words"),
    [
        (
            {"travellers": {"durations": {"tourist": {"months": 3}}}},
            "travellers.durations.tourist",
            "",
        ),
        (
            {"travellers": {"durations": {"foreign_national": {"months": 0}}}},
            "travellers.durations.foreign_national.months",
            "at least 1",
        ),
        (
            {"travellers": {"thresholds_eur": {"resident": {"entry": -1, "exit": 1}}}},
            "travellers.thresholds_eur.resident.entry",
            "at least 0",
        ),
        (
            {"travellers": {"thresholds_eur": {"resident": {"entry": "1000", "exit": 1}}}},
            "travellers.thresholds_eur.resident.entry",
            "must be a number",
        ),
        (
            {"travellers": {"rates": [{"valid_from": "2026-01-01", "units_per_euro": {}}]}},
            "travellers.rates[0].valid_from",
            "must be a date",
        ),
        (
            {
                "travellers": {
                    "rates": [{"valid_from": D(2026, 1, 1), "units_per_euro": {"DZD": 0}}]
                }
            },
            "travellers.rates[0].units_per_euro.DZD",
            "more than 0",
        ),
        (
            {"travellers": {"retention_dayz": 30}},
            "travellers.retention_dayz",
            "did you mean 'retention_days'",
        ),
        (
            {"partners": {"x": {"role": "portal", "formats": ["yaml"]}}},
            "partners.x.formats[0]",
            "must be one of",
        ),
    ],
)
def test_the_travellers_configuration_is_checked(
    raw: dict[str, object], key: str, words: str
) -> None:
    found = problem(GatewayConfig, raw)
    assert found is not None
    assert found[0].startswith(key) and words in found[1]
