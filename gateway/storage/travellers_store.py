"""The travellers' records in the journal (issue #18): TPDs, border events, currency
declarations (and the tables of the sailings' passenger lists).

:class:`TravellerTables` is part of both journals (``SqlJournal`` derives from it, through
``gateway.storage.travellers_retention.TravellersStore``): the same portable SQL on SQLite
and PostgreSQL, the tables created on first use, every call inside the open unit of work
when there is one. Personal data (names, birth dates, document numbers) is kept in these
tables only, and ``TravellersStore.erase_travellers`` removes it once the retention period is
over.

>>> from gateway.storage.journal import SqliteJournal
>>> j = SqliteJournal(":memory:")
>>> j.tpd("TPD-1") is None, j.count_overdue_tpds(dt.date(2026, 1, 1))
(True, 0)
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from gateway.domain.sailing import plate_key
from gateway.storage.records import (
    CurrencyRecord,
    Identity,
    JournalUnavailable,
    PassengerRecord,
    SailingRecord,
    TpdEventRecord,
    TpdRecord,
    _now,
)

_TABLES = (
    """CREATE TABLE IF NOT EXISTS tpds (
    reference TEXT PRIMARY KEY,
    vin TEXT NOT NULL,
    registration TEXT NOT NULL,
    registration_country TEXT NOT NULL,
    plate TEXT NOT NULL,
    state TEXT NOT NULL,
    residence_status TEXT NOT NULL,
    holder_document TEXT NOT NULL,
    documents TEXT NOT NULL,
    people TEXT NOT NULL,
    vessel TEXT NOT NULL,
    sailing_date TEXT NOT NULL,
    port_of_entry TEXT NOT NULL,
    message_id TEXT NOT NULL,
    inbound_id TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    entered_on TEXT,
    due_on TEXT,
    extensions INTEGER NOT NULL,
    exited_on TEXT,
    updated_at TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS tpds_vin ON tpds(vin)",
    "CREATE INDEX IF NOT EXISTS tpds_plate ON tpds(registration_country, plate)",
    "CREATE INDEX IF NOT EXISTS tpds_holder ON tpds(holder_document, state)",
    "CREATE INDEX IF NOT EXISTS tpds_due ON tpds(state, due_on)",
    "CREATE INDEX IF NOT EXISTS tpds_sailing ON tpds(vessel, sailing_date)",
    """CREATE TABLE IF NOT EXISTS tpd_events (
    inbound_id TEXT PRIMARY KEY,
    reference TEXT NOT NULL,
    event TEXT NOT NULL,
    place TEXT NOT NULL,
    post TEXT,
    happened_at TEXT NOT NULL,
    officer TEXT NOT NULL,
    outcome TEXT NOT NULL,
    at TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS tpd_events_reference ON tpd_events(reference)",
    """CREATE TABLE IF NOT EXISTS currency_declarations (
    reference TEXT PRIMARY KEY,
    direction TEXT NOT NULL,
    document TEXT NOT NULL,
    declarant TEXT NOT NULL,
    residence_status TEXT NOT NULL,
    amounts TEXT NOT NULL,
    total_eur TEXT NOT NULL,
    threshold_eur TEXT NOT NULL,
    required INTEGER NOT NULL,
    exceeds_entry INTEGER NOT NULL,
    rates_from TEXT NOT NULL,
    message_id TEXT NOT NULL,
    inbound_id TEXT NOT NULL,
    submitted_on TEXT NOT NULL,
    keep_from TEXT NOT NULL,
    vessel TEXT NOT NULL,
    sailing_date TEXT,
    entry_reference TEXT
)""",
    "CREATE INDEX IF NOT EXISTS currency_document ON currency_declarations(document, direction)",
    "CREATE INDEX IF NOT EXISTS currency_sailing ON currency_declarations(vessel, sailing_date)",
    """CREATE TABLE IF NOT EXISTS sailings (
    vessel TEXT NOT NULL,
    list_number TEXT NOT NULL,
    vessel_name TEXT NOT NULL,
    departure_date TEXT,
    arrival_date TEXT,
    port_of_departure TEXT,
    port_of_entry TEXT,
    vessel_imo TEXT,
    message_id TEXT NOT NULL,
    inbound_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    keep_from TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (vessel, list_number)
)""",
    "CREATE INDEX IF NOT EXISTS sailings_departure ON sailings(vessel, departure_date)",
    "CREATE INDEX IF NOT EXISTS sailings_arrival ON sailings(vessel, arrival_date)",
    """CREATE TABLE IF NOT EXISTS sailing_passengers (
    vessel TEXT NOT NULL,
    list_number TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    documents TEXT NOT NULL,
    passenger TEXT NOT NULL,
    PRIMARY KEY (vessel, list_number, sequence)
)""",
    """CREATE TABLE IF NOT EXISTS sailing_list_versions (
    vessel TEXT NOT NULL,
    sailing_date TEXT NOT NULL,
    version INTEGER NOT NULL,
    owner TEXT NOT NULL,
    PRIMARY KEY (vessel, sailing_date)
)""",
)
# Placeholders per IN (...) query: far below SQLite's and PostgreSQL's limits.
_CHUNK = 400
T = TypeVar("T")
_TPD_COLUMNS = (
    "reference, vin, registration, registration_country, state, residence_status, people, "
    "vessel, sailing_date, port_of_entry, message_id, inbound_id, submitted_at, entered_on, "
    "due_on, extensions, exited_on"
)
_CURRENCY_COLUMNS = (
    "reference, direction, declarant, residence_status, amounts, total_eur, threshold_eur, "
    "required, exceeds_entry, rates_from, message_id, inbound_id, submitted_on, keep_from, "
    "vessel, sailing_date, entry_reference"
)


@functools.lru_cache(maxsize=4096)
def _day(text: str | None) -> dt.date | None:
    # Cached: a sailing's thousand rows share a handful of dates (one object, not 1,000).
    return None if not text else dt.date.fromisoformat(text)


def _date(text: str) -> dt.date:
    day = _day(text)
    assert day is not None, "a required date column"
    return day


# The values _shared holds: a bounded table of its own, emptied when full. sys.intern's
# grows with every distinct value for the life of the process (birth dates: ~36,000), and a
# resize of it, 1.9 MB at once, fell inside one sailing's list (issue #18).
_SHARED: dict[str, str] = {}
_SHARED_MAX = 4096


def _shared(text: str | None) -> Any:
    """One object for a value many rows repeat (a country, a state, a vessel, a date)."""
    if text is None:
        return None
    found = _SHARED.get(text)
    if found is None:
        if len(_SHARED) >= _SHARED_MAX:
            _SHARED.clear()
        found = _SHARED[text] = text
    return found


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _person_json(p: Identity) -> dict[str, Any]:
    return {"f": p.family_name, "g": p.given_names, "b": p.birth_date, "d": list(p.documents)}


def _person(value: dict[str, Any], names: dict[str, str] | None = None) -> Identity:
    """``names``: one read's table of the names it met (a sailing's rows repeat families and
    first names), each held once; a table per read, so that no name outlives it."""
    family, given = value["f"], value["g"]
    if names is not None:
        family, given = names.setdefault(family, family), names.setdefault(given, given)
    return Identity(family, given, _shared(value["b"]), tuple(value["d"]))


def _documents(people: Sequence[Identity]) -> str:
    # "|A|B|": a traveller is found by any of their documents with LIKE '%|A|%'.
    return "|" + "|".join(d for p in people for d in p.documents) + "|"


def _chunks(values: Collection[Any]) -> Iterator[list[Any]]:
    """``values`` by ``_CHUNK`` (one query's parameters; a dict's keys: its values once each,
    in a third of the room a set of them takes)."""
    items = list(values)
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _tpd(row: Sequence[Any], names: dict[str, str] | None = None) -> TpdRecord:
    people = [_person(p, names) for p in json.loads(row[6])]
    return TpdRecord(
        reference=row[0],
        vin=row[1],
        registration=row[2],
        registration_country=_shared(row[3]),
        state=_shared(row[4]),
        residence_status=_shared(row[5]),
        holder=people[0],
        co_travellers=tuple(people[1:]),
        vessel=_shared(row[7]),
        sailing_date=dt.date.fromisoformat(row[8]),
        port_of_entry=_shared(row[9]),
        message_id=row[10],
        inbound_id=row[11],
        submitted_at=row[12],
        entered_on=_day(row[13]),
        due_on=_day(row[14]),
        extensions=int(row[15]),
        exited_on=_day(row[16]),
    )


def _currency(row: Sequence[Any], names: dict[str, str] | None = None) -> CurrencyRecord:
    return CurrencyRecord(
        reference=row[0],
        direction=_shared(row[1]),
        declarant=_person(json.loads(row[2]), names),
        residence_status=_shared(row[3]),
        amounts=tuple((_shared(c), a) for c, a in json.loads(row[4])),
        total_eur=row[5],
        threshold_eur=_shared(row[6]),
        required=bool(row[7]),
        exceeds_entry=bool(row[8]),
        rates_from=_date(row[9]),
        message_id=row[10],
        inbound_id=row[11],
        submitted_on=_date(row[12]),
        keep_from=_date(row[13]),
        vessel=_shared(row[14]),
        sailing_date=_day(row[15]),
        entry_reference=row[16],
    )


def _sailing(row: Sequence[Any]) -> SailingRecord:
    return SailingRecord(
        vessel=row[0],
        list_number=row[1],
        vessel_name=row[2],
        departure_date=_day(row[3]),
        arrival_date=_day(row[4]),
        port_of_departure=row[5],
        port_of_entry=row[6],
        vessel_imo=row[7],
        message_id=row[8],
        inbound_id=row[9],
        version=int(row[10]),
    )


def _passenger(sequence: int, value: dict[str, Any]) -> PassengerRecord:
    return PassengerRecord(
        sequence=sequence,
        role=_shared(value["r"]),
        person=_person(value["p"]),
        vin=value.get("vin"),
        registration=value.get("reg"),
        registration_country=_shared(value.get("rc")),
        make=_shared(value.get("mk")),
        model=_shared(value.get("md")),
    )


def _passenger_json(p: PassengerRecord) -> str:
    value: dict[str, Any] = {"r": p.role, "p": _person_json(p.person)}
    for key, item in (
        ("vin", p.vin),
        ("reg", p.registration),
        ("rc", p.registration_country),
        ("mk", p.make),
        ("md", p.model),
    ):
        if item is not None:
            value[key] = item
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class TravellerTables:
    """TPDs, border events and currency declarations; ``SqlJournal`` provides the transactions."""

    def _tx(self, immediate: bool = False) -> AbstractContextManager[Any]:  # pragma: no cover
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Any]:  # pragma: no cover
        raise NotImplementedError

    def _exec(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> Any:  # pragma: no cover
        raise NotImplementedError

    def _q(self, sql: str) -> str:  # pragma: no cover - SqlJournal's
        return sql

    def unit_of_work(self) -> AbstractContextManager[None]:  # pragma: no cover - SqlJournal's
        raise NotImplementedError

    def _ensure_tables(self, ready: str, statements: Sequence[str]) -> None:
        """Run ``statements`` (CREATE ... IF NOT EXISTS) once per journal object; ``ready``
        names the flag that remembers it (a journal may predate the tables)."""
        if getattr(self, ready, False):
            return
        for attempt in (1, 2):
            try:
                with self._tx(immediate=True) as cur:
                    for statement in statements:
                        self._exec(cur, statement)
                break
            except JournalUnavailable:
                raise
            except Exception:  # two instances creating the same table at once: try again
                if attempt == 2:
                    raise
        setattr(self, ready, True)

    def _travellers_tables(self) -> None:
        self._ensure_tables("_travellers_ready", _TABLES)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._records(sql, params, tuple)

    def _records(
        self, sql: str, params: Sequence[Any], convert: Callable[[Sequence[Any]], T]
    ) -> list[T]:
        """``convert`` of each row, row by row: a sailing's rows are never all held twice,
        as rows and as records."""
        self._travellers_tables()
        with self._read() as cur:
            return [convert(row) for row in self._exec(cur, sql, params)]

    # ------------------------------------------------------------ TPDs
    def tpd(self, reference: str) -> TpdRecord | None:
        found = self._records(
            f"SELECT {_TPD_COLUMNS} FROM tpds WHERE reference = ?", (reference,), _tpd
        )
        return found[0] if found else None

    def tpds_for_vin(self, vin: str) -> list[TpdRecord]:
        rows = self._rows(
            f"SELECT {_TPD_COLUMNS} FROM tpds WHERE vin = ? ORDER BY submitted_at DESC, reference",
            (vin,),
        )
        return [_tpd(r) for r in rows]

    def tpds_for_vehicles(
        self, vins: Collection[str], plates: Collection[tuple[str, str]]
    ) -> list[TpdRecord]:
        found: dict[str, TpdRecord] = {}
        names: dict[str, str] = {}
        convert = functools.partial(_tpd, names=names)
        keys = {(country, plate_key(plate)) for country, plate in plates}
        for column, values in (("vin", set(vins)), ("plate", {p for _, p in keys})):
            for chunk in _chunks(values):
                marks = ",".join("?" * len(chunk))
                for record in self._records(
                    f"SELECT {_TPD_COLUMNS} FROM tpds WHERE {column} IN ({marks}) "
                    "AND state <> 'superseded'",
                    chunk,
                    convert,
                ):
                    plate = plate_key(record.registration)
                    by_plate = {(record.registration_country, plate), ("", plate)} & keys
                    if column == "vin" or by_plate:
                        found.setdefault(record.reference, record)
        return sorted(found.values(), key=lambda r: (r.submitted_at, r.reference), reverse=True)

    def open_tpds_of_holders(self, documents: Collection[str]) -> list[TpdRecord]:
        out: list[TpdRecord] = []
        names: dict[str, str] = {}
        for chunk in _chunks(dict.fromkeys(documents)):
            marks = ",".join("?" * len(chunk))
            rows = self._rows(
                f"SELECT {_TPD_COLUMNS} FROM tpds WHERE holder_document IN ({marks}) "
                "AND state IN ('open', 'extended')",
                chunk,
            )
            out.extend(_tpd(r, names) for r in rows)
        return out

    def save_tpd(self, record: TpdRecord) -> None:
        self._travellers_tables()
        people = [record.holder, *record.co_travellers]
        values = (
            record.reference,
            record.vin,
            record.registration,
            record.registration_country,
            plate_key(record.registration),
            record.state,
            record.residence_status,
            record.holder.documents[0] if record.holder.documents else "",
            _documents(people),
            json.dumps([_person_json(p) for p in people], ensure_ascii=False),
            record.vessel,
            record.sailing_date.isoformat(),
            record.port_of_entry,
            record.message_id,
            record.inbound_id,
            record.submitted_at,
            _iso(record.entered_on),
            _iso(record.due_on),
            record.extensions,
            _iso(record.exited_on),
            _now(),
        )
        columns = (
            "reference, vin, registration, registration_country, plate, state, "
            "residence_status, holder_document, documents, people, vessel, sailing_date, "
            "port_of_entry, message_id, inbound_id, submitted_at, entered_on, due_on, "
            "extensions, exited_on, updated_at"
        )
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns.split(", ") if c != "reference")
        with self._tx(immediate=True) as cur:
            self._exec(
                cur,
                f"INSERT INTO tpds ({columns}) VALUES ({','.join('?' * len(values))}) "
                f"ON CONFLICT(reference) DO UPDATE SET {updates}",
                values,
            )

    def tpd_event(self, inbound_id: str) -> TpdEventRecord | None:
        rows = self._rows(
            "SELECT inbound_id, reference, event, place, happened_at, officer, outcome, post "
            "FROM tpd_events WHERE inbound_id = ?",
            (inbound_id,),
        )
        return TpdEventRecord(*rows[0]) if rows else None

    def add_tpd_event(self, record: TpdEventRecord) -> None:
        self._travellers_tables()
        with self._tx() as cur:
            self._exec(
                cur,
                "INSERT INTO tpd_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    record.inbound_id,
                    record.reference,
                    record.event,
                    record.place,
                    record.post,
                    record.happened_at,
                    record.officer,
                    record.outcome,
                    _now(),
                ),
            )

    def overdue_tpds(self, today: dt.date, *, limit: int = 10_000) -> list[TpdRecord]:
        rows = self._rows(
            f"SELECT {_TPD_COLUMNS} FROM tpds WHERE state IN ('open', 'extended') "
            "AND due_on < ? ORDER BY due_on, reference LIMIT ?",
            (today.isoformat(), limit),
        )
        return [_tpd(r) for r in rows]

    def count_overdue_tpds(self, today: dt.date) -> int:
        rows = self._rows(
            "SELECT COUNT(*) FROM tpds WHERE state IN ('open', 'extended') AND due_on < ?",
            (today.isoformat(),),
        )
        return int(rows[0][0])

    # ------------------------------------------------------------ currency
    def currency_declaration(self, reference: str) -> CurrencyRecord | None:
        rows = self._rows(
            f"SELECT {_CURRENCY_COLUMNS} FROM currency_declarations WHERE reference = ?",
            (reference,),
        )
        return _currency(rows[0]) if rows else None

    def latest_entry_declaration(self, document: str) -> CurrencyRecord | None:
        rows = self._rows(
            f"SELECT {_CURRENCY_COLUMNS} FROM currency_declarations "
            "WHERE document = ? AND direction = 'entry' ORDER BY submitted_on DESC LIMIT 1",
            (document,),
        )
        return _currency(rows[0]) if rows else None

    def declarations_for(
        self,
        documents: Collection[str],
        vessel: str,
        days: Collection[dt.date],
        *,
        direction: str = "entry",
    ) -> list[CurrencyRecord]:
        found: dict[str, CurrencyRecord] = {}
        names: dict[str, str] = {}
        for chunk in _chunks(dict.fromkeys(documents)):
            marks = ",".join("?" * len(chunk))
            for row in self._rows(
                f"SELECT {_CURRENCY_COLUMNS} FROM currency_declarations "
                f"WHERE document IN ({marks}) AND direction = ?",
                [*chunk, direction],
            ):
                if row[0] not in found:  # a declaration both queries find: made once
                    found[row[0]] = _currency(row, names)
        for day in set(days):
            for row in self._rows(
                f"SELECT {_CURRENCY_COLUMNS} FROM currency_declarations "
                "WHERE vessel = ? AND sailing_date = ? AND direction = ?",
                (vessel, day.isoformat(), direction),
            ):
                if row[0] not in found:  # a declaration both queries find: made once
                    found[row[0]] = _currency(row, names)
        return list(found.values())

    def save_currency_declaration(self, record: CurrencyRecord) -> None:
        self._travellers_tables()
        with self._tx(immediate=True) as cur:
            self._exec(
                cur,
                f"INSERT INTO currency_declarations ({_CURRENCY_COLUMNS}, document) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(reference) DO NOTHING",
                (
                    record.reference,
                    record.direction,
                    json.dumps(_person_json(record.declarant), ensure_ascii=False),
                    record.residence_status,
                    json.dumps([list(a) for a in record.amounts]),
                    record.total_eur,
                    record.threshold_eur,
                    int(record.required),
                    int(record.exceeds_entry),
                    record.rates_from.isoformat(),
                    record.message_id,
                    record.inbound_id,
                    record.submitted_on.isoformat(),
                    record.keep_from.isoformat(),
                    record.vessel,
                    _iso(record.sailing_date),
                    record.entry_reference,
                    record.declarant.documents[0] if record.declarant.documents else "",
                ),
            )
