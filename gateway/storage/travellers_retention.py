"""The sailings' passenger lists in the journal, and the erasure of travellers' data (issue #18).

:class:`TravellersStore` completes :class:`gateway.storage.travellers_store.TravellerTables`
(TPDs, border events, currency declarations) with the passenger lists of each sailing (the
latest PAXLST per vessel and document number: an amendment replaces it) and with
:meth:`TravellersStore.erase_travellers`, which removes what retention no longer allows.
``SqlJournal`` derives from it, so both backends have all of it.

>>> from gateway.storage.journal import SqliteJournal
>>> j = SqliteJournal(":memory:")
>>> day = dt.date(2026, 7, 14)
>>> j.passenger_lists("TARIQ IBN ZIYAD", day)
[]
>>> [j.next_list_version("TARIQ IBN ZIYAD", day, owner) for owner in ("m1", "m1", "m2")]
[1, 1, 2]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gateway.storage.records import Erasure, PassengerRecord, SailingRecord, _now
from gateway.storage.travellers_store import (
    TravellerTables,
    _chunks,
    _documents,
    _iso,
    _passenger,
    _passenger_json,
    _sailing,
)

_SAILING_COLUMNS = (
    "vessel, list_number, vessel_name, departure_date, arrival_date, port_of_departure, "
    "port_of_entry, vessel_imo, message_id, inbound_id, version"
)


class TravellersStore(TravellerTables):
    """Every travellers' record of the journal (``SqlJournal`` provides the transactions)."""

    # ------------------------------------------------------------ passenger lists
    def save_passenger_list(
        self, sailing: SailingRecord, passengers: Sequence[PassengerRecord]
    ) -> int:
        self._travellers_tables()
        keep_from = sailing.arrival_date or sailing.departure_date
        with self._tx(immediate=True) as cur:
            row = self._exec(
                cur,
                "SELECT version, inbound_id FROM sailings WHERE vessel = ? AND list_number = ?",
                (sailing.vessel, sailing.list_number),
            ).fetchone()
            if row is not None and row[1] == sailing.inbound_id:
                return int(row[0])  # a redelivery: the same list again
            version = 1 if row is None else int(row[0]) + 1
            self._exec(
                cur,
                "DELETE FROM sailing_passengers WHERE vessel = ? AND list_number = ?",
                (sailing.vessel, sailing.list_number),
            )
            self._exec(
                cur,
                "INSERT INTO sailings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(vessel, list_number) DO UPDATE SET "
                "vessel_name = excluded.vessel_name, departure_date = excluded.departure_date, "
                "arrival_date = excluded.arrival_date, "
                "port_of_departure = excluded.port_of_departure, "
                "port_of_entry = excluded.port_of_entry, vessel_imo = excluded.vessel_imo, "
                "message_id = excluded.message_id, inbound_id = excluded.inbound_id, "
                "version = excluded.version, keep_from = excluded.keep_from, "
                "updated_at = excluded.updated_at",
                (
                    sailing.vessel,
                    sailing.list_number,
                    sailing.vessel_name,
                    _iso(sailing.departure_date),
                    _iso(sailing.arrival_date),
                    sailing.port_of_departure,
                    sailing.port_of_entry,
                    sailing.vessel_imo,
                    sailing.message_id,
                    sailing.inbound_id,
                    version,
                    _iso(keep_from),
                    _now(),
                ),
            )
            # Rows made as they are written: a 1,500-traveller list's rows all at once were
            # 3x its PAXLST in memory (issue #18).
            cur.executemany(
                self._q("INSERT INTO sailing_passengers VALUES (?, ?, ?, ?, ?)"),
                (
                    (
                        sailing.vessel,
                        sailing.list_number,
                        p.sequence,
                        _documents([p.person]),
                        _passenger_json(p),
                    )
                    for p in passengers
                ),
            )
        return version

    def cancel_passenger_list(self, vessel: str, list_number: str) -> bool:
        self._travellers_tables()
        with self._tx(immediate=True) as cur:
            self._exec(
                cur,
                "DELETE FROM sailing_passengers WHERE vessel = ? AND list_number = ?",
                (vessel, list_number),
            )
            removed = self._exec(
                cur,
                "DELETE FROM sailings WHERE vessel = ? AND list_number = ?",
                (vessel, list_number),
            ).rowcount
        return bool(removed)

    def passenger_lists(
        self, vessel: str, day: dt.date, *, held: str | None = None
    ) -> list[tuple[SailingRecord, list[PassengerRecord]]]:
        sailings = self._records(
            f"SELECT {_SAILING_COLUMNS} FROM sailings WHERE vessel = ? AND (departure_date = ? "
            "OR (departure_date IS NULL AND arrival_date = ?)) ORDER BY list_number",
            (vessel, day.isoformat(), day.isoformat()),
            _sailing,
        )
        out: list[tuple[SailingRecord, list[PassengerRecord]]] = []
        for s in sailings:
            if s.list_number == held:
                out.append((s, []))
                continue
            passengers = self._records(
                "SELECT sequence, passenger FROM sailing_passengers "
                "WHERE vessel = ? AND list_number = ? ORDER BY sequence",
                (s.vessel, s.list_number),
                lambda row: _passenger(int(row[0]), json.loads(row[1])),
            )
            out.append((s, passengers))
        return out

    def sailings(self, *, since: dt.date | None = None, limit: int = 200) -> list[SailingRecord]:
        """The passenger lists kept, latest sailing first (several lists of one sailing in
        a row); ``since``: sailings on or after that day. Read-only: no passenger is read."""
        day = "COALESCE(departure_date, arrival_date)"
        return self._records(
            f"SELECT {_SAILING_COLUMNS} FROM sailings WHERE {day} >= ? "
            f"ORDER BY {day} DESC, vessel, list_number LIMIT ?",
            ((since or dt.date.min).isoformat(), limit),
            _sailing,
        )

    def next_list_version(self, vessel: str, day: dt.date, owner: str) -> int:
        self._travellers_tables()
        key = (vessel, day.isoformat())
        with self._tx(immediate=True) as cur:
            row = self._exec(
                cur,
                "SELECT version, owner FROM sailing_list_versions "
                "WHERE vessel = ? AND sailing_date = ?",
                key,
            ).fetchone()
            if row is not None and row[1] == owner:
                return int(row[0])
            version = 1 if row is None else int(row[0]) + 1
            self._exec(
                cur,
                "INSERT INTO sailing_list_versions VALUES (?, ?, ?, ?) "
                "ON CONFLICT(vessel, sailing_date) DO UPDATE "
                "SET version = excluded.version, owner = excluded.owner",
                (*key, version, owner),
            )
        return version

    # ------------------------------------------------------------ retention
    def erase_travellers(
        self, cutoff: dt.date, *, document: str | None = None, dry_run: bool = False
    ) -> Erasure:
        self._travellers_tables()
        limit = cutoff.isoformat()
        # Past retention: a discharged TPD from its exit; one never used (requested or
        # superseded) from its sailing's date. A TPD whose vehicle is in is always kept.
        tpd_where = (
            "((state = 'discharged' AND exited_on < ?) OR "
            "(state IN ('requested', 'superseded') AND sailing_date < ?))"
        )
        tpd_args: list[Any] = [limit, limit]
        cd_where, cd_args = "keep_from < ?", [limit]
        list_where, list_args = "keep_from < ?", [limit]
        if document is not None:
            like = f"%|{document}|%"
            tpd_where += " AND documents LIKE ?"
            tpd_args.append(like)
            cd_where += " AND document = ?"
            cd_args.append(document)
        with self._tx(immediate=True) as cur:
            tpds = [
                (r[0], r[1], r[2])
                for r in self._exec(
                    cur,
                    f"SELECT reference, message_id, inbound_id FROM tpds WHERE {tpd_where}",
                    tpd_args,
                ).fetchall()
            ]
            declarations = [
                (r[0], r[1], r[2])
                for r in self._exec(
                    cur,
                    "SELECT reference, message_id, inbound_id FROM currency_declarations "
                    f"WHERE {cd_where}",
                    cd_args,
                ).fetchall()
            ]
            if document is None:
                listed = self._exec(
                    cur,
                    "SELECT vessel, list_number, message_id, inbound_id FROM sailings "
                    f"WHERE {list_where}",
                    list_args,
                ).fetchall()
                lists = [(r[0], r[1]) for r in listed]
                list_messages = [m for r in listed for m in (r[2], r[3])]
                passengers = sum(
                    int(
                        self._exec(
                            cur,
                            "SELECT COUNT(*) FROM sailing_passengers "
                            "WHERE vessel = ? AND list_number = ?",
                            key,
                        ).fetchone()[0]
                    )
                    for key in lists
                )
            else:
                lists, list_messages = [], []
                passengers = int(
                    self._exec(
                        cur,
                        "SELECT COUNT(*) FROM sailing_passengers WHERE documents LIKE ? AND "
                        "EXISTS (SELECT 1 FROM sailings s WHERE s.vessel = "
                        "sailing_passengers.vessel AND s.list_number = "
                        f"sailing_passengers.list_number AND s.{list_where})",
                        [f"%|{document}|%", *list_args],
                    ).fetchone()[0]
                )
            # `edigw track` found these documents (and the partner messages they came in) by
            # their holders' document numbers and plates: those references go with them.
            messages = {m for _, doc, inbound in tpds + declarations for m in (doc, inbound)}
            messages.update(list_messages)
            events = 0
            for chunk in _chunks([ref for ref, _, _ in tpds]):
                marks = ",".join("?" * len(chunk))
                events += int(
                    self._exec(
                        cur,
                        f"SELECT COUNT(*) FROM tpd_events WHERE reference IN ({marks})",
                        chunk,
                    ).fetchone()[0]
                )
            references = 0
            for chunk in _chunks(messages):
                marks = ",".join("?" * len(chunk))
                references += int(
                    self._exec(
                        cur, f"SELECT COUNT(*) FROM refs WHERE message_id IN ({marks})", chunk
                    ).fetchone()[0]
                )
            erasure = Erasure(
                tpds=len(tpds),
                tpd_events=events,
                currency_declarations=len(declarations),
                passenger_lists=len(lists),
                passengers=passengers,
                references=references,
            )
            if dry_run:
                return erasure
            for ref, _, _ in tpds:
                self._exec(cur, "DELETE FROM tpd_events WHERE reference = ?", (ref,))
                self._exec(cur, "DELETE FROM tpds WHERE reference = ?", (ref,))
            for ref, _, _ in declarations:
                self._exec(cur, "DELETE FROM currency_declarations WHERE reference = ?", (ref,))
            for chunk in _chunks(messages):
                marks = ",".join("?" * len(chunk))
                self._exec(cur, f"DELETE FROM refs WHERE message_id IN ({marks})", chunk)
            for key in lists:
                self._exec(
                    cur, "DELETE FROM sailing_passengers WHERE vessel = ? AND list_number = ?", key
                )
                self._exec(cur, "DELETE FROM sailings WHERE vessel = ? AND list_number = ?", key)
            if document is not None and passengers:
                self._exec(
                    cur,
                    "DELETE FROM sailing_passengers WHERE documents LIKE ? AND EXISTS (SELECT 1 "
                    "FROM sailings s WHERE s.vessel = sailing_passengers.vessel AND "
                    f"s.list_number = sailing_passengers.list_number AND s.{list_where})",
                    [f"%|{document}|%", *list_args],
                )
        return erasure


def pseudonym_key(path: Path) -> bytes:
    """The secret that keys the travellers' log pseudonyms; made (mode 600) on first use.

    Every instance that shares a journal should share this file, so one traveller has one
    pseudonym in every instance's logs.
    """
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it in between: use theirs
        return path.read_bytes()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def travellers_of(journal: object) -> TravellersStore:
    """The travellers' records of a journal opened by ``open_journal`` (both backends
    keep them; any other object is a mistake of the caller)."""
    if not isinstance(journal, TravellersStore):
        raise TypeError(f"{type(journal).__name__} keeps no travellers' records")
    return journal
