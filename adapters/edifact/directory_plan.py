"""Which tables validate a message: its own directory, or the nearest that defines it.

Part of :mod:`adapters.edifact.directory` (which re-exports the public names); the rules are
in ``docs/directory.md`` ("Which directory validates which message").
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from itertools import chain

from adapters.edifact.directory_issues import ERR_VALUE_NOT_SUPPORTED, _Reporter
from adapters.edifact.directory_tables import (
    _missing_note,
    _Table,
    _table,
    available_directories,
    configure_search_path,
    packaged_directories,
)
from adapters.edifact.syntax import Segment

_RELEASE = re.compile(r"(\d\d)([A-Z])$")

# Two-digit release years 00-89 are 2000-2089, 90-99 are the 1990s; the nearest directory
# of one that is not packaged is the packaged one closest in time.
_MODERN_YEARS = range(0, 90)


def set_search_path(folders: Iterable[str | os.PathLike[str]] | None) -> None:
    """Look for generated tables in ``folders`` (in order); None: back to the default.

    The gateway calls this with its ``edifact.directory_path`` setting. Cached tables and
    plans are dropped, so the next message uses the new path.
    """
    if configure_search_path(folders):
        _plan.cache_clear()


@dataclass(frozen=True, slots=True)
class _Source:
    table: _Table
    exact: bool


@dataclass(slots=True)
class _Plan:
    """Which tables validate which aspect of a message, and whether they are its own."""

    directory: str  # as the message (or caller) names it
    structure: _Source | None = None
    segment_sources: Iterable[_Source] = ()
    code_source: _Source | None = None
    service: _Source | None = None  # UNH/UNT definitions
    notes: list[str] = field(default_factory=list)


def _required_table(name: str) -> _Table:
    table = _table(name)
    if table is None:  # the package data is part of the code; a missing file is a bug
        raise RuntimeError(
            f"directory table {name}.json is missing from adapters.edifact.directories "
            "and from the search path"
        )
    return table


@cache  # one plan per (type, directory): the tables it draws on are loaded once, and kept
def _plan(mtype: str, version: str, release: str, override: str | None) -> _Plan:
    v3, v4 = _required_table("service_v3"), _required_table("service_v4")
    directory = override or (f"{version}{release}" if version == "D" else f"{version}:{release}")

    if mtype == "CONTRL":
        # CONTRL is defined by the syntax version: CONTRL:D:3:UN (syntax 3), CONTRL:4:1:UN.
        if override in ("service_v3", "service_v4"):
            table = v3 if override == "service_v3" else v4
            exact = True
        elif version == "4" or release.startswith("4"):
            table, exact = v4, release == "1"
        else:
            table, exact = v3, version in ("D", "3") and release == "3"
        codes = table if table.codes else v3
        return _Plan(
            directory,
            structure=_Source(table, exact),
            segment_sources=[_Source(table, exact)],
            code_source=_Source(codes, exact and codes is table),
            service=_Source(table, exact),
            notes=[] if exact else [table.name],
        )

    plan = _Plan(directory, service=_Source(v4, True))
    wanted = override or f"{version}{release}"
    year = _release_year(wanted)
    if year is None and not (override or version == "D"):
        return plan  # e.g. 1:921, 93:1: an agency version with no UN directory behind it
    own = _table(wanted) if wanted in available_directories() else None
    if own is not None and mtype in own.messages:
        structure = _Source(own, True)
    else:
        chosen = next((t for t in _by_nearness(year) if mtype in t.messages), None)
        if chosen is None:
            return plan
        structure = _Source(chosen, False)
    plan.structure = structure
    # Segments and codes: the structure's own table first, then the nearest tables that have
    # them; only the message's own directory gives errors, a borrowed definition warnings.
    # Tables are loaded as the search reaches them (all fifty cost 22 MB and 0.35 s), and
    # only packaged tables can have code lists (the generated ones come from Bots, which has
    # none), so the code search never loads a generated table.
    own_table = structure.table
    plan.segment_sources = _Sources(
        _Source(t, structure.exact and t is own_table)
        for t in chain((own_table,), _by_nearness(year, skip=own_table.name))
        if t.segments
    )
    packaged = set(packaged_directories())
    coded = next(
        (
            t
            for t in chain((own_table,), _by_nearness(year, skip=own_table.name, only=packaged))
            if t.codes
        ),
        None,
    )
    if coded is not None:
        plan.code_source = _Source(coded, structure.exact and coded is structure.table)
    if not structure.exact:
        plan.notes.append(structure.table.name)
    return plan


def _release_year(name: str) -> float | None:
    """A directory name's place in time: ``D03B`` is 2003.25, ``D95B`` 1995.25, ``S93A`` 1993.

    >>> _release_year("D03B"), _release_year("D95B"), _release_year("1921")
    (2003.25, 1995.25, None)
    """
    match = _RELEASE.search(name)
    if match is None:
        return None
    year = int(match.group(1))
    year += 2000 if year in _MODERN_YEARS else 1900
    return year + (ord(match.group(2)) - ord("A")) / 4  # releases A, B (C, D) within a year


def _by_nearness(
    year: float | None, skip: str = "", only: set[str] | None = None
) -> Iterator[_Table]:
    """The available UN directory tables, nearest in time to ``year`` first (ties: the older).

    Without a year (a caller's override that names no release) D.95B, the most complete
    table, comes first. Each table is loaded only when the iteration reaches it; ``skip``
    leaves one out, ``only`` keeps those named.
    """

    def distance(name: str) -> tuple[float, float]:
        own = _release_year(name) or 0.0
        if year is None:
            return (0.0 if name == "D95B" else 1.0, own)
        return (abs(own - year), own)

    names = [
        name
        for name in available_directories()
        if _release_year(name) is not None and name != skip and (only is None or name in only)
    ]
    for name in sorted(names, key=distance):
        yield _required_table(name)


class _Sources:
    """An iterable of sources that draws on ``pending`` only as far as a search goes.

    What has been drawn is kept, so a second search walks the same sources again. Plans are
    cached and shared, so two threads may search one at once: drawing is locked (a generator
    advanced by two threads at once raises ``ValueError``).
    """

    def __init__(self, pending: Iterable[_Source]) -> None:
        self._drawn: list[_Source] = []
        self._pending = iter(pending)
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[_Source]:
        i = 0
        while True:
            if i == len(self._drawn):
                with self._lock:
                    if i == len(self._drawn):  # not drawn by another thread meanwhile
                        nxt = next(self._pending, None)
                        if nxt is None:
                            return
                        self._drawn.append(nxt)
            yield self._drawn[i]
            i += 1


def _report_plan(plan: _Plan, mtype: str, head: Segment, report: _Reporter) -> None:
    """The UNH note (14) when no table, or only the nearest one, validates the message."""
    if plan.structure is None:
        # Point at what is not supported: the message type (0065) or its directory (0054).
        known = any(mtype in t.messages for t in map(_required_table, available_directories()))
        report.add(
            False,
            ERR_VALUE_NOT_SUPPORTED,
            head,
            f"no definition of {mtype or 'an unnamed message'} for directory {plan.directory!r} "
            f"(tables: {', '.join(available_directories())}); only UNH/UNT were checked"
            f"{_missing_note(plan.directory)}",
            element=2,
            component=3 if known else 1,
        )
    elif plan.notes:
        report.add(
            False,
            ERR_VALUE_NOT_SUPPORTED,
            head,
            f"nearest directory: {plan.directory or 'no directory'} is not available, "
            f"validated against {plan.notes[0]} (findings are warnings)"
            f"{_missing_note(plan.directory)}",
            element=2,
            component=3,
        )
