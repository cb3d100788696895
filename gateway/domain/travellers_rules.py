"""Travellers' pure rules (issue #18): VINs, currency codes, TPD durations, currency thresholds.

Nothing here reads the configuration: :class:`TravellersPolicy` is built from the plain
``[travellers]`` table (:meth:`TravellersPolicy.from_mapping`), whose keys and ranges
``gateway.config_schema`` checks; the defaults are the ones the press reports.

>>> vin_problem("VF1RFB00X56123456")  # a European VIN: no check digit required
>>> vin_problem("1M8GDM9AXKP042788")  # a North American VIN with its check digit
>>> vin_problem("1M8GDM9A1KP042788")
'the check digit (position 9) is 1, the VIN needs X'
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

ResidenceStatus = Literal["resident", "non_resident_national", "foreign_national"]
RESIDENCE_STATUSES: tuple[str, ...] = ("resident", "non_resident_national", "foreign_national")
Direction = Literal["entry", "exit"]
DIRECTIONS: tuple[str, ...] = ("entry", "exit")

# ---------------------------------------------------------------- VIN (ISO 3779)

VIN_LENGTH = 17
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
# World manufacturer identifiers of North America (49 CFR 565): first character 1-5. Their
# VINs must carry a check digit in position 9; elsewhere (Europe, Japan...) it is optional.
_CHECK_DIGIT_REGIONS = frozenset("12345")


def vin_check_digit(vin: str) -> str:
    """The check digit (``0``-``9`` or ``X``) of a 17-character VIN."""
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def vin_problem(vin: str) -> str | None:
    """Why ``vin`` cannot be a vehicle's identification number, or None when it can.

    ISO 3779: 17 characters, digits and capital letters but I, O and Q. The check digit
    (position 9) is verified for North American VINs, where it is mandatory.
    """
    if len(vin) != VIN_LENGTH:
        return f"a VIN has {VIN_LENGTH} characters, this one {len(vin)}"
    bad = sorted({c for c in vin if c not in _VIN_VALUES})
    if bad:
        shown = ", ".join(repr(c) for c in bad[:5])
        return f"a VIN holds digits and capital letters but I, O and Q, not {shown}"
    if vin[0] in _CHECK_DIGIT_REGIONS:
        expected = vin_check_digit(vin)
        if vin[8] != expected:
            return f"the check digit (position 9) is {vin[8]}, the VIN needs {expected}"
    return None


# ---------------------------------------------------------------- ISO 4217

#: Active alphabetic codes of ISO 4217 (list one, 2024), with the precious metals (XAU...).
_ISO_4217_TABLE = """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD
    BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD
    EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR
    ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD
    MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR
    PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL
    THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF
    XAG XAU XCD XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG ZWL"""
ISO_4217: frozenset[str] = frozenset(_ISO_4217_TABLE.split())


# ---------------------------------------------------------------- TPD durations


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus calendar months (31 January + 1 month = the last day of February)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class AdmissionTerms:
    """How long a vehicle of one residence status may stay.

    ``months`` at a time; with ``within_months`` (0: no window), at most ``months`` in any
    window of that length; ``extensions`` extensions of ``extension_months`` each.
    """

    months: int
    within_months: int = 0
    extension_months: int = 0
    extensions: int = 0


@dataclass(frozen=True, slots=True)
class Stay:
    """A past stay of the same vehicle: days from ``entry`` up to, not including, ``exit``."""

    entry: dt.date
    exit: dt.date


class NotAdmissible(ValueError):
    """A TPD that the rules do not allow; ``reason`` is machine-readable."""

    def __init__(self, reason: str, sentence: str) -> None:
        super().__init__(sentence)
        self.reason = reason
        self.sentence = sentence


def _days_in(stays: Iterable[Stay], start: dt.date, end: dt.date) -> int:
    """Days of ``stays`` within [start, end)."""
    return sum(max(0, (min(s.exit, end) - max(s.entry, start)).days) for s in stays)


def admission_due(
    status: str, entry: dt.date, terms: Mapping[str, AdmissionTerms], previous: Sequence[Stay] = ()
) -> dt.date:
    """The date a vehicle entering on ``entry`` must have left by (NotAdmissible when none).

    With a window ("6 months within any 12"), every window that ends while the vehicle is in
    counts the days of ``previous`` stays too: the due date is the last one for which no
    window holds more days than ``months`` allow.
    """
    rule = terms.get(status)
    if rule is None or rule.months <= 0:
        raise NotAdmissible("TPD_NOT_ELIGIBLE", f"a {status} traveller cannot have a TPD")
    due = add_months(entry, rule.months)
    if not rule.within_months:
        return due
    allowed = (due - entry).days
    last_ok = entry
    day = entry + dt.timedelta(days=1)
    while day <= due:
        # Windows ending before ``day`` were checked already: extending the stay by a day
        # adds that day only to the window that ends with it.
        start = add_months(day, -rule.within_months)
        used = _days_in(previous, start, day) + (day - max(entry, start)).days
        if used > allowed:
            break
        last_ok = day
        day += dt.timedelta(days=1)
    if last_ok == entry:
        raise NotAdmissible(
            "TPD_ALLOWANCE_USED",
            f"the vehicle has used its {rule.months} months within {rule.within_months}",
        )
    return last_ok


def extended_due(
    status: str, entry: dt.date, extensions_granted: int, terms: Mapping[str, AdmissionTerms]
) -> dt.date:
    """The new due date after one more extension (NotAdmissible when none is left)."""
    rule = terms.get(status)
    if rule is None or rule.extensions <= extensions_granted or rule.extension_months <= 0:
        raise NotAdmissible(
            "TPD_NO_EXTENSION", f"a {status} traveller's TPD cannot be extended again"
        )
    return add_months(entry, rule.months + rule.extension_months * (extensions_granted + 1))


def is_overdue(due: dt.date, today: dt.date) -> bool:
    """A vehicle still in after its due date (the due date itself is still allowed)."""
    return today > due


# ---------------------------------------------------------------- currency


@dataclass(frozen=True, slots=True)
class RateTable:
    """Units of each currency for one euro, valid from ``valid_from`` until the next table."""

    valid_from: dt.date
    units_per_euro: Mapping[str, Decimal]


@dataclass(frozen=True, slots=True)
class CurrencyAssessment:
    """What the rules say about one declaration."""

    total_eur: Decimal
    threshold_eur: Decimal
    required: bool  # above the threshold; below, the declaration is "not required"
    rates_from: dt.date
    exceeds_entry: bool = False  # an exit above what was declared on entry


class NoRate(ValueError):
    """No exchange rate for a currency on a date: the configuration lacks it."""


def rates_on(tables: Sequence[RateTable], day: dt.date) -> RateTable:
    """The table in force on ``day``: the latest whose ``valid_from`` is not after it."""
    valid = [t for t in tables if t.valid_from <= day]
    if not valid:
        raise NoRate(f"no exchange-rate table is valid on {day.isoformat()}")
    return max(valid, key=lambda t: t.valid_from)


def euro_equivalent(
    amounts: Iterable[tuple[str, Decimal]], tables: Sequence[RateTable], day: dt.date
) -> tuple[Decimal, dt.date]:
    """The sum of ``(currency, amount)`` in euro on ``day``, and the date of the table used."""
    table = rates_on(tables, day)
    total = Decimal(0)
    for currency, amount in amounts:
        if currency == "EUR":
            total += amount
            continue
        rate = table.units_per_euro.get(currency)
        if rate is None or rate <= 0:
            raise NoRate(f"no {currency} rate in the table of {table.valid_from.isoformat()}")
        total += amount / rate
    return total.quantize(Decimal("0.01")), table.valid_from


def assess_currency(
    amounts: Iterable[tuple[str, Decimal]],
    status: str,
    direction: str,
    day: dt.date,
    policy: TravellersPolicy,
    declared_on_entry: Iterable[tuple[str, Decimal]] | None = None,
) -> CurrencyAssessment:
    """Above the threshold of ``status`` and ``direction``: required; else "not required".

    On an exit, ``declared_on_entry`` (the amounts of the entry declaration, if any) is
    converted with the same table: an exit above it is flagged for the officer.
    """
    threshold = policy.thresholds_eur.get((status, direction))
    if threshold is None:
        raise NoRate(f"no currency threshold for {status} on {direction}")
    total, table_date = euro_equivalent(amounts, policy.rates, day)
    exceeds = False
    if direction == "exit" and declared_on_entry is not None:
        entered, _ = euro_equivalent(declared_on_entry, policy.rates, day)
        exceeds = total > entered
    return CurrencyAssessment(total, threshold, total > threshold, table_date, exceeds)


# ---------------------------------------------------------------- the policy


DEFAULT_TERMS: Mapping[str, AdmissionTerms] = {
    "non_resident_national": AdmissionTerms(months=6, within_months=12),
    "foreign_national": AdmissionTerms(months=3, extension_months=3, extensions=1),
}
DEFAULT_THRESHOLDS: Mapping[str, Decimal] = {
    "resident": Decimal(1000),
    "non_resident_national": Decimal(1000),
    "foreign_national": Decimal(5000),
}


@dataclass(frozen=True, slots=True)
class TravellersPolicy:
    """The configurable part of the travellers' rules."""

    terms: Mapping[str, AdmissionTerms] = field(default_factory=lambda: dict(DEFAULT_TERMS))
    thresholds_eur: Mapping[tuple[str, str], Decimal] = field(
        default_factory=lambda: {
            (s, d): v for s, v in DEFAULT_THRESHOLDS.items() for d in DIRECTIONS
        }
    )
    rates: Sequence[RateTable] = ()
    retention_days: int = 365

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any]) -> TravellersPolicy:
        """From the ``[travellers]`` table as ``gateway.config_schema`` validated it.

        >>> p = TravellersPolicy.from_mapping({"thresholds_eur": {"foreign_national":
        ...     {"entry": 5000, "exit": 5000}}, "rates": [{"valid_from": dt.date(2026, 1, 1),
        ...     "units_per_euro": {"DZD": 150.5}}]})
        >>> p.thresholds_eur[("foreign_national", "exit")], p.rates[0].units_per_euro["DZD"]
        (Decimal('5000'), Decimal('150.5'))
        """
        default = cls()
        terms = dict(default.terms)
        for status, t in section.get("durations", {}).items():
            terms[status] = AdmissionTerms(
                months=int(t.get("months", 0)),
                within_months=int(t.get("within_months", 0)),
                extension_months=int(t.get("extension_months", 0)),
                extensions=int(t.get("extensions", 0)),
            )
        thresholds = dict(default.thresholds_eur)
        for status, by_direction in section.get("thresholds_eur", {}).items():
            for direction, value in by_direction.items():
                thresholds[(status, direction)] = _decimal(value)
        rates = tuple(
            RateTable(
                valid_from=r["valid_from"],
                units_per_euro={c: _decimal(v) for c, v in r["units_per_euro"].items()},
            )
            for r in section.get("rates", [])
        )
        return cls(
            terms=terms,
            thresholds_eur=thresholds,
            rates=rates,
            retention_days=int(section.get("retention_days", default.retention_days)),
        )


def _decimal(value: object) -> Decimal:
    # A float from TOML by its shortest text (150.5, never 150.49999999999999...).
    return Decimal(str(value))
