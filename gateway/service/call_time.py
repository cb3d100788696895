"""Time as the call registry keeps it (issue #17): ISO 8601 in UTC, so that text order is time
order; a naive moment is taken as UTC (as the adapters read EDIFACT times).

>>> import datetime as dt
>>> iso(dt.datetime(2026, 12, 1, 7, 0)), within("2026-12-01T07:00:00+00:00", None, dt.timedelta(1))
('2026-12-01T07:00:00+00:00', True)
"""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def aware(moment: dt.datetime) -> dt.datetime:
    """A moment in UTC (a naive one is taken as UTC, as the adapters read EDIFACT times)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def iso(moment: dt.datetime | None) -> str | None:
    """The registry's form of a moment: ISO 8601 in UTC, so that text order is time order."""
    return None if moment is None else aware(moment).isoformat()


registry_time = iso  # for the modules that query the registry by time (call_timer)


def parse(text: str | None) -> dt.datetime | None:
    return None if not text else aware(dt.datetime.fromisoformat(text))


def within(
    manifest_eta: str | dt.datetime | None, call_eta: str | dt.datetime | None, window: dt.timedelta
) -> bool:
    """Whether two expected arrivals are at most ``window`` apart (either unknown: yes)."""
    a = manifest_eta if isinstance(manifest_eta, dt.datetime) else parse(manifest_eta)
    b = call_eta if isinstance(call_eta, dt.datetime) else parse(call_eta)
    if a is None or b is None:
        return True
    return abs(aware(a) - aware(b)) <= window


__all__ = ["aware", "iso", "parse", "registry_time", "utcnow", "within"]
