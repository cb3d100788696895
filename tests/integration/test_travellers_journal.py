"""The travellers' records (issue #18) on both journal backends: SQLite and PostgreSQL.

The same calls on each: TPDs found by VIN and by plate, overdue counted against a day, a
passenger list replaced by its amendment, list versions per inbound message, erasure.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.storage.backends import open_journal
from gateway.storage.journal import Journal
from gateway.storage.records import (
    CurrencyRecord,
    Identity,
    PassengerRecord,
    SailingRecord,
    TpdRecord,
    TravellersJournal,
)
from gateway.storage.travellers_retention import TravellersStore
from tests.e2e.test_faults_support import pg_schema

DAY = dt.date(2026, 7, 14)
KARIM = Identity("Benaïssa", "Karim", "1984-03-21", ("197845612",))


@pytest.fixture(params=["sqlite", "postgresql"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Journal]:
    if request.param == "sqlite":
        j = open_journal("sqlite", str(tmp_path / "journal.sqlite3"))
        yield j
        j.close()
        return
    with pg_schema() as (_role, dsn):
        j = open_journal("postgresql", dsn)
        yield j
        j.close()


def travellers(journal: Journal) -> TravellersJournal:
    """Both journals keep the travellers' records (``SqlJournal`` derives from the store)."""
    assert isinstance(journal, TravellersStore)
    return journal


def record(reference: str, vin: str, **kw: object) -> TpdRecord:
    base = TpdRecord(
        reference=reference,
        vin=vin,
        registration="GH-123-JK",
        registration_country="FR",
        state="requested",
        residence_status="non_resident_national",
        holder=KARIM,
        vessel="TARIQ IBN ZIYAD",
        sailing_date=DAY,
        port_of_entry="DZALG",
        message_id=f"doc-{reference}",
        inbound_id=f"in-{reference}",
        submitted_at="2026-07-10T21:14:03+02:00",
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_tpds_are_found_by_vin_by_plate_and_overdue(journal: Journal) -> None:
    j = travellers(journal)
    j.save_tpd(record("TPD-1", "VF1RFB00000000001"))
    j.save_tpd(
        record(
            "TPD-2",
            "VF1RFB00000000002",
            registration="AB 123 CD",
            state="open",
            entered_on=DAY,
            due_on=dt.date(2026, 10, 1),
        )
    )
    found = j.tpd("TPD-1")
    assert found is not None and found.holder == KARIM and found.sailing_date == DAY
    by_plate = j.tpds_for_vehicles([], [("FR", "AB-123-CD")])
    assert [t.reference for t in by_plate] == ["TPD-2"]
    by_vin = j.tpds_for_vehicles(["VF1RFB00000000001"], [])
    assert [t.reference for t in by_vin] == ["TPD-1"]
    assert [t.reference for t in j.open_tpds_of_holders(["197845612"])] == ["TPD-2"]
    assert j.count_overdue_tpds(dt.date(2026, 10, 1)) == 0
    assert j.count_overdue_tpds(dt.date(2026, 10, 2)) == 1
    assert [t.reference for t in j.overdue_tpds(dt.date(2026, 10, 2))] == ["TPD-2"]


def test_a_passenger_list_amendment_replaces_the_list(journal: Journal) -> None:
    j = travellers(journal)
    sailing = SailingRecord(
        "TARIQ IBN ZIYAD", "PAX-1", "TARIQ IBN ZIYAD", DAY, DAY + dt.timedelta(days=1),
        "FRMRS", "DZALG", "9287039", "doc-1", "in-1",
    )  # fmt: skip
    first = [PassengerRecord(i, "passenger", Identity(f"P{i}")) for i in range(1, 4)]
    assert j.save_passenger_list(sailing, first) == 1
    assert j.save_passenger_list(sailing, first) == 1  # a redelivery: the same version
    amended = dataclasses.replace(sailing, inbound_id="in-2", message_id="doc-2")
    assert j.save_passenger_list(amended, first[:2]) == 2
    [(kept, passengers)] = j.passenger_lists("TARIQ IBN ZIYAD", DAY)
    assert (kept.version, kept.message_id, len(passengers)) == (2, "doc-2", 2)
    assert j.passenger_lists("TARIQ IBN ZIYAD", DAY + dt.timedelta(days=1)) == []
    assert [j.next_list_version("TARIQ IBN ZIYAD", DAY, o) for o in ("a", "a", "b")] == [1, 1, 2]
    assert j.cancel_passenger_list("TARIQ IBN ZIYAD", "PAX-1")
    assert j.passenger_lists("TARIQ IBN ZIYAD", DAY) == []


def test_the_sailings_are_listed_latest_first(journal: Journal) -> None:
    """What the console's list of sailings reads: every passenger list, latest sailing
    first (one dated by its arrival alone too), from a day on, up to a limit."""
    j = travellers(journal)
    assert j.sailings() == []
    later = DAY + dt.timedelta(days=2)
    for vessel, number, departure, arrival in (
        ("TARIQ IBN ZIYAD", "PAX-1", DAY, None),
        ("TARIQ IBN ZIYAD", "PAX-2", DAY, None),
        ("EL DJAZAIR II", "PAX-7", None, later),
        ("TASSILI II", "PAX-3", DAY - dt.timedelta(days=1), DAY),
    ):
        sailing = SailingRecord(
            vessel, number, vessel, departure, arrival, "FRMRS", "DZALG", None,
            f"doc-{number}", f"in-{number}",
        )  # fmt: skip
        j.save_passenger_list(sailing, [])
    listed = [(s.vessel, s.list_number, s.sailing_date) for s in j.sailings()]
    assert listed == [
        ("EL DJAZAIR II", "PAX-7", later),
        ("TARIQ IBN ZIYAD", "PAX-1", DAY),
        ("TARIQ IBN ZIYAD", "PAX-2", DAY),
        ("TASSILI II", "PAX-3", DAY - dt.timedelta(days=1)),
    ]
    assert [s.list_number for s in j.sailings(since=DAY)] == ["PAX-7", "PAX-1", "PAX-2"]
    assert [s.list_number for s in j.sailings(limit=1)] == ["PAX-7"]


def test_erasure_removes_what_is_past_retention(journal: Journal) -> None:
    j = travellers(journal)
    j.save_tpd(
        record(
            "TPD-OLD",
            "VF1RFB00000000001",
            state="discharged",
            entered_on=dt.date(2025, 1, 10),
            exited_on=dt.date(2025, 3, 1),
        )
    )
    j.save_tpd(record("TPD-NEW", "VF1RFB00000000002"))
    j.save_currency_declaration(
        CurrencyRecord(
            "CD-OLD", "entry", KARIM, "resident", (("EUR", "10"),), "10.00", "1000", False,
            False, dt.date(2025, 1, 1), "doc-cd", "in-cd", dt.date(2025, 1, 5), dt.date(2025, 1, 9),
        )
    )  # fmt: skip
    journal.add_references("doc-TPD-OLD", ["197845612"])
    cutoff = dt.date(2026, 1, 1)
    preview = j.erase_travellers(cutoff, dry_run=True)
    assert (preview.tpds, preview.currency_declarations, preview.references) == (1, 1, 1)
    assert j.erase_travellers(cutoff) == preview
    assert j.tpd("TPD-OLD") is None and j.tpd("TPD-NEW") is not None
    assert j.currency_declaration("CD-OLD") is None
    assert journal.track("197845612") == []


def test_erasing_one_traveller_takes_them_off_old_passenger_lists_only(journal: Journal) -> None:
    j = travellers(journal)
    old = SailingRecord(
        "TARIQ IBN ZIYAD", "PAX-OLD", "TARIQ IBN ZIYAD", dt.date(2025, 1, 1), None,
        "FRMRS", "DZALG", None, "doc-old", "in-old",
    )  # fmt: skip
    recent = dataclasses.replace(old, list_number="PAX-NEW", departure_date=DAY)
    others = Identity("Haddad", "Amel", "1990-01-02", ("P2",))
    for sailing in (old, recent):
        j.save_passenger_list(
            sailing,
            [PassengerRecord(1, "driver", KARIM), PassengerRecord(2, "passenger", others)],
        )
    erased = j.erase_travellers(dt.date(2026, 1, 1), document="197845612")
    assert (erased.passengers, erased.passenger_lists) == (1, 0)
    [(_, left_old)] = j.passenger_lists("TARIQ IBN ZIYAD", dt.date(2025, 1, 1))
    assert [p.person.family_name for p in left_old] == ["Haddad"]
    [(_, left_new)] = j.passenger_lists("TARIQ IBN ZIYAD", DAY)
    assert len(left_new) == 2  # within retention: kept
