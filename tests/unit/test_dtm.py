"""adapters.dtm reads EDIFACT dates as datetime.strptime does (issue #20, point 6): the same
datetime, or a ValueError where strptime raises one, for every format of adapters.common."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from adapters.common import _DTM_FORMATS, parse_dtm
from adapters.dtm import strptime

FORMATS = sorted({pattern for pattern, _ in _DTM_FORMATS.values()})
# What a partner may send in a DTM, and what a hostile one may: digits, signs, colons, the
# zone letters, spaces, dots, letters.
ALPHABET = "0123456789" * 6 + "+-:Zz .T"


def _both(value: str, fmt: str) -> tuple[object, object]:
    try:
        expected: object = dt.datetime.strptime(value, fmt)
    except ValueError:
        expected = ValueError
    try:
        got: object = strptime(value, fmt)
    except ValueError:
        got = ValueError
    return expected, got


def _near_valid(rng: random.Random, fmt: str) -> str:
    """A date in ``fmt`` with one or two characters changed, dropped or added."""
    when = dt.datetime(rng.randint(1900, 2099), rng.randint(1, 12), rng.randint(1, 28),
                       rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
                       tzinfo=dt.timezone(dt.timedelta(minutes=rng.randint(-900, 900))))  # fmt: skip
    text = list(when.strftime(fmt))
    for _ in range(rng.randint(0, 2)):
        i = rng.randrange(len(text) + 1)
        action = rng.random()
        if action < 0.5 and i < len(text):
            text[i] = rng.choice(ALPHABET)
        elif action < 0.75 and i < len(text):
            del text[i]
        else:
            text.insert(i, rng.choice(ALPHABET))
    return "".join(text)


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_same_reading_as_strptime(fmt: str) -> None:
    rng = random.Random(f"DZALG-{fmt}")
    values = [_near_valid(rng, fmt) for _ in range(4000)]
    length = len(dt.datetime(2024, 1, 1, tzinfo=dt.UTC).strftime(fmt))
    values += ["".join(rng.choice(ALPHABET) for _ in range(length)) for _ in range(4000)]
    values += ["241311", "240132", "2401011260", "240101 1", "20240229", "20230229",
               "202401011200Z", "202401011200+2400", "202401011200-23:59", "2024010112005",
               "202401011261", "20240101126060"]  # fmt: skip
    accepted = 0
    for value in values:
        expected, got = _both(value, fmt)
        assert got == expected, value
        if isinstance(got, dt.datetime):
            assert got.tzinfo == expected.tzinfo and got.utcoffset() == expected.utcoffset()  # type: ignore[attr-defined]
            accepted += 1
    assert accepted > 1000  # the comparison saw many dates read, not only refusals


def test_parse_dtm_reads_the_formats_of_2379() -> None:
    assert parse_dtm("202612071430+0100", "205") == dt.datetime(
        2026, 12, 7, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))
    )
    assert parse_dtm("261207", "101") == dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    assert parse_dtm("261331", "101") is None
    assert parse_dtm("20261207", "999") is None


def test_only_numeric_formats_are_taken() -> None:
    with pytest.raises(ValueError, match="numeric"):
        strptime("Dec 2026", "%b %Y")
