"""EDIFACT dates and times (data element 2379's formats) read as ``datetime.strptime`` reads
them, without loading ``_strptime`` (issue #20, point 6).

The first ``strptime`` of a process imports ``_strptime`` with ``locale`` and ``calendar``,
builds the locale's month and day names and compiles its pattern: a few milliseconds of
every ``edigw translate``. The formats EDIFACT uses are numeric only, so the same patterns
(those of CPython's ``_strptime.TimeRE``, case-insensitive), the same first match, the same
"unconverted data" refusal and the same arithmetic give the same answer and the same
refusals (``tests/unit/test_dtm.py`` compares the two over many strings).

>>> strptime("1701290000", "%y%m%d%H%M")
datetime.datetime(2017, 1, 29, 0, 0)
>>> strptime("202412311200+0100", "%Y%m%d%H%M%z").utcoffset()
datetime.timedelta(seconds=3600)
>>> strptime("241311", "%y%m%d")
Traceback (most recent call last):
...
ValueError: unconverted data remains: 1
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache

# _strptime.TimeRE's patterns of the numeric directives (CPython 3.11 to 3.13).
_DIRECTIVES = {
    "d": r"(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])",
    "H": r"(?P<H>2[0-3]|[0-1]\d|\d)",
    "m": r"(?P<m>1[0-2]|0[1-9]|[1-9])",
    "M": r"(?P<M>[0-5]\d|\d)",
    "S": r"(?P<S>6[0-1]|[0-5]\d|\d)",
    "y": r"(?P<y>\d\d)",
    "Y": r"(?P<Y>\d\d\d\d)",
    "z": r"(?P<z>[+-]\d\d:?[0-5]\d(:?[0-5]\d(\.\d{1,6})?)?|(?-i:Z))",
}


@cache
def _pattern(fmt: str) -> re.Pattern[str]:
    """``fmt``, made only of ``%`` and the directives above, as _strptime compiles it."""
    parts = fmt.split("%")
    if parts[0] or any(len(p) != 1 or p not in _DIRECTIVES for p in parts[1:]):
        raise ValueError(f"not a numeric EDIFACT format: {fmt!r}")
    return re.compile("".join(_DIRECTIVES[p] for p in parts[1:]), re.IGNORECASE)


def strptime(value: str, fmt: str) -> dt.datetime:
    """``datetime.datetime.strptime(value, fmt)`` for ``fmt`` of the numeric directives
    %Y %y %m %d %H %M %S %z; ValueError where it raises ValueError."""
    found = _pattern(fmt).match(value)
    if found is None:
        raise ValueError(f"time data {value!r} does not match format {fmt!r}")
    if len(value) != found.end():
        raise ValueError(f"unconverted data remains: {value[found.end() :]}")
    parts = found.groupdict()
    if parts.get("Y") is not None:
        year = int(parts["Y"])
    elif parts.get("y") is not None:
        year = int(parts["y"])
        year += 2000 if year <= 68 else 1900
    else:
        year = 1900
    args = (
        year,
        int(parts.get("m") or 1),
        int(parts.get("d") or 1),
        int(parts.get("H") or 0),
        int(parts.get("M") or 0),
        int(parts.get("S") or 0),
    )
    z = parts.get("z")
    if z is None:
        return dt.datetime(*args)
    return dt.datetime(*args, tzinfo=_zone(z))


def _zone(z: str) -> dt.timezone:
    """_strptime's reading of a %z offset."""
    if z == "Z":
        return dt.timezone(dt.timedelta(0))
    if z[3] == ":":
        z = z[:3] + z[4:]
        if len(z) > 5:
            if z[5] != ":":
                raise ValueError(f"Inconsistent use of : in {z}")
            z = z[:5] + z[6:]
    seconds = int(z[1:3]) * 3600 + int(z[3:5]) * 60 + int(z[5:7] or 0)
    remainder = z[8:]
    fraction = int(remainder + "0" * (6 - len(remainder)))
    if z.startswith("-"):
        seconds, fraction = -seconds, -fraction
    return dt.timezone(dt.timedelta(seconds=seconds, microseconds=fraction))
