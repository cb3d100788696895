"""A sailing's pre-clearance list (issue #18): PAXLST vehicles matched to their TPDs.

An in-memory journal; the PAXLSTs are decoded by ``adapters/paxlst.py`` (the ferry profile).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from gateway.config import load
from gateway.domain import canonical_xml
from gateway.domain.sailing import SailingClearanceList, from_xml, to_xml, vessel_key
from gateway.domain.validation import validate
from gateway.service import sailing
from gateway.service.travellers import TravellersService
from gateway.service.travellers_desk import travellers_policy
from gateway.storage.journal import SqliteJournal
from tests.travellers_data import (
    SAILING,
    VESSEL,
    border,
    currency,
    karim,
    passenger_list,
    tpd,
    vin,
)

KEY = vessel_key(VESSEL)


@pytest.fixture
def journal() -> Iterator[SqliteJournal]:
    j = SqliteJournal(":memory:")
    yield j
    j.close()


@pytest.fixture
def service(journal: SqliteJournal) -> TravellersService:
    policy = travellers_policy(load(env={}))
    return TravellersService(journal, policy, pseudonym_key=b"k", today=lambda: SAILING)


def traveller(n: int, *, family: str, passport: str, **vehicle: str) -> dict[str, Any]:
    t: dict[str, Any] = {
        "family": family,
        "given": "A",
        "birth": "1980-01-01",
        "passport": passport,
    }
    if vehicle:
        t["vehicle"] = vehicle
    return t


def groups(built: SailingClearanceList | None) -> list[tuple[int, str, list[str]]]:
    assert built is not None
    return [(v.traveller_sequence, v.group, [f.code for f in v.findings]) for v in built.vehicles]


def test_vehicles_are_ready_to_see_or_missing_exceptions_first(
    service: TravellersService, journal: SqliteJournal
) -> None:
    service.request_tpd(tpd("TPD-1"), "t1")  # Karim's Renault, as on the list
    service.request_tpd(tpd("TPD-2", vehicle_vin=vin(2), plate="AA-111-AA", passport="P2"), "t2")
    service.request_tpd(tpd("TPD-3", vehicle_vin=vin(3), passport="P9", family="Other"), "t3")
    service.request_tpd(tpd("TPD-4", vehicle_vin=vin(4), plate="CC 444", passport="P4"), "t4")
    plist = passenger_list(
        [
            karim(),  # 1: ready
            traveller(
                2, family="Benaïssa", passport="P2", vin=vin(2), plate="ZZ-999-ZZ", country="FR"
            ),
            traveller(
                3, family="Haddad", passport="P3", vin=vin(3), plate="GH-123-JK", country="FR"
            ),
            traveller(
                4, family="Benaïssa", passport="P4", vin=vin(44), plate="CC-444", country="FR"
            ),
            traveller(5, family="Nobody", passport="P5", vin=vin(5), plate="X-5", country="BE"),
            traveller(6, family="Home", passport="P6", plate="12345-116-16", country="DZ"),
            {"family": "WALKER", "passport": "P7"},  # on foot: no vehicle, not listed
        ]
    )
    built = sailing.passenger_list_arrived(journal, plist, "pax-1")
    assert groups(built) == [
        (2, "to_see", ["PLATE_MISMATCH"]),
        (3, "to_see", ["HOLDER_MISMATCH"]),
        (4, "to_see", ["VIN_MISMATCH"]),  # found by its plate, the VIN differs
        (5, "missing", ["NO_TPD"]),
        (1, "ready", []),
        (6, "ready", ["NO_TPD_NEEDED"]),
    ]
    assert built is not None
    assert built.counts() == {"to_see": 3, "missing": 1, "ready": 2}
    assert (built.traveller_count, built.header.document_version) == (7, 1)
    ready = built.vehicles[4]
    assert (ready.tpd_reference, ready.tpd_state, ready.document_number) == (
        "TPD-1",
        "requested",
        "197845612",
    )


def test_a_vehicle_under_an_open_tpd_is_to_see(
    service: TravellersService, journal: SqliteJournal
) -> None:
    service.request_tpd(tpd("TPD-1", day=dt.date(2026, 6, 1)), "t1")
    service.border_event(border("entry", tpd_ref="TPD-1", time="2026-06-02T08:00:00+01:00"), "e1")
    built = sailing.passenger_list_arrived(journal, passenger_list([karim()]), "pax-1")
    [(_, group, codes)] = groups(built)
    assert (group, codes) == ("to_see", ["OPEN_TPD_ELSEWHERE"])
    assert built is not None and built.vehicles[0].tpd_state == "open"


def test_each_traveller_is_matched_to_their_currency_declaration(
    service: TravellersService, journal: SqliteJournal
) -> None:
    service.declare_currency(currency("CD-1", amounts=[("EUR", "3500")]), "c1")
    jane = currency("CD-2", passport="P2", family="Doe", given="Jane Mary", birth="1990-02-02")
    service.declare_currency(jane, "c2")
    # Same family name and birth date, another first name: not hers.
    john = currency("CD-4", passport="P4", family="Doe", given="John", birth="1990-02-02")
    service.declare_currency(john, "c4")
    service.declare_currency(currency("CD-3", passport="P3", family="Absent"), "c3")
    plist = passenger_list(
        [
            karim(),
            # No document on the list: matched by name, first given name and birth date.
            {"family": "DOE", "given": "JANE", "birth": "1990-02-02"},
            {"family": "NOBODY", "passport": "P9"},
        ]
    )
    built = sailing.passenger_list_arrived(journal, plist, "pax-1")
    assert built is not None
    assert [(d.traveller_sequence, d.reference, d.required) for d in built.declarations] == [
        (1, "CD-1", True),
        (2, "CD-2", False),
    ]
    assert built.declarations[0].total_eur == Decimal("3500.00")
    # CD-3 and CD-4: filed for this sailing, nobody on board declared them.
    assert built.unmatched_declarations == 2


def test_an_amendment_replaces_the_list_and_a_cancellation_removes_it(
    service: TravellersService, journal: SqliteJournal
) -> None:
    first = sailing.passenger_list_arrived(
        journal,
        passenger_list([karim(), traveller(2, family="X", passport="P2", vin=vin(2))]),
        "pax-1",
    )
    assert first is not None and len(first.vehicles) == 2
    amended = sailing.passenger_list_arrived(
        journal, passenger_list([karim()], function="5"), "pax-2"
    )
    assert amended is not None and len(amended.vehicles) == 1
    assert (amended.header.function, amended.header.document_version) == ("replace", 2)
    assert amended.header.business_reference == first.header.business_reference
    cancelled = sailing.passenger_list_arrived(
        journal, passenger_list([karim()], function="1"), "pax-3"
    )
    assert cancelled is None and journal.passenger_lists(KEY, SAILING) == []


def test_a_late_tpd_updates_the_list(service: TravellersService, journal: SqliteJournal) -> None:
    before = sailing.passenger_list_arrived(journal, passenger_list([karim()]), "pax-1")
    assert groups(before) == [(1, "missing", ["NO_TPD"])]
    verdict = service.request_tpd(tpd("TPD-1"), "t-late")
    assert verdict.sailings == [(KEY, SAILING)]
    [after] = sailing.lists_for(journal, verdict.sailings, "t-late")
    assert groups(after) == [(1, "ready", [])]
    assert after.header.document_version == 2 and after.header.function == "replace"
    # Another sailing's TPD names no listed sailing: nothing to send again.
    other = service.request_tpd(
        tpd("TPD-9", vehicle_vin=vin(9), passport="P9", vessel="Elyros"), "t9"
    )
    assert other.sailings == []


def test_a_redelivered_list_is_the_same_list(journal: SqliteJournal) -> None:
    plist = passenger_list([karim()])
    one = sailing.passenger_list_arrived(journal, plist, "pax-1")
    two = sailing.passenger_list_arrived(journal, plist, "pax-1")
    assert one is not None and two is not None
    assert (one.header.message_id, one.header.document_version) == (
        two.header.message_id,
        two.header.document_version,
    )


def test_a_list_without_a_vessel_or_date_makes_no_sailing(journal: SqliteJournal) -> None:
    plist = passenger_list([karim()])
    plist.departure_time = plist.arrival_time = None
    assert sailing.passenger_list_arrived(journal, plist, "pax-1") is None


def test_the_list_maps_to_its_xsd_and_back(
    service: TravellersService, journal: SqliteJournal
) -> None:
    service.request_tpd(tpd("TPD-1"), "t1")
    service.declare_currency(currency("CD-1"), "c1")
    built = sailing.passenger_list_arrived(
        journal,
        passenger_list(
            [karim(), traveller(2, family="Zed", passport="P2", vin=vin(2), plate="Q 1")]
        ),
        "pax-1",
    )
    assert built is not None
    element = to_xml(built)
    assert validate(element, schema="travellers-1.xsd") == []
    assert from_xml(canonical_xml.to_bytes(element)) == built
    assert canonical_xml.from_xml(element) == built  # registered with the canonical documents


def test_a_departure_matches_each_vehicle_to_the_tpd_it_is_under(
    service: TravellersService, journal: SqliteJournal
) -> None:
    """A ferry leaving Algiers: each vehicle ready to be discharged under its open TPD, to see
    when none is open or its holder or plate differ; the exit currency declarations, an exit
    above its entry flagged."""
    leaves = dt.date(2026, 8, 20)
    service.request_tpd(tpd("TPD-1"), "t1")  # Karim's Renault
    service.request_tpd(tpd("TPD-2", vehicle_vin=vin(2), plate="BB-222-BB", passport="P2"), "t2")
    service.request_tpd(tpd("TPD-3", vehicle_vin=vin(3), passport="P3", family="Owner"), "t3")
    service.request_tpd(tpd("TPD-4", vehicle_vin=vin(4), passport="P4"), "t4")  # never entered
    for n, ref in enumerate(("TPD-1", "TPD-2", "TPD-3"), start=1):
        service.border_event(border("entry", tpd_ref=ref), f"e{n}")
    service.declare_currency(currency("CD-IN", amounts=[("EUR", "1500")]), "c1")
    service.declare_currency(
        currency("CD-OUT", direction="exit", amounts=[("EUR", "2500")], entry_reference="CD-IN"),
        "c2",
    )
    plist = passenger_list(
        [
            karim(),  # 1: under TPD-1, open: ready
            traveller(2, family="Benaïssa", passport="P2", vin=vin(2), plate="ZZ-1", country="FR"),
            traveller(3, family="Driver", passport="P5", vin=vin(3), plate="GH-123-JK"),
            traveller(4, family="Benaïssa", passport="P4", vin=vin(4), plate="D-4", country="FR"),
            traveller(5, family="Home", passport="P6", vin=vin(6), plate="123-16", country="DZ"),
        ],
        number="PAX-OUT",
        departure=leaves,
        ports=("DZALG", "FRMRS"),
    )
    built = sailing.passenger_list_arrived(journal, plist, "pax-out")
    assert built is not None and built.direction == "departure"
    assert groups(built) == [
        (2, "to_see", ["PLATE_MISMATCH"]),
        (3, "to_see", ["HOLDER_MISMATCH"]),
        (4, "to_see", ["NO_OPEN_TPD"]),  # requested, never entered: nothing to discharge
        (1, "ready", []),
        (5, "ready", ["NO_TPD_NEEDED"]),
    ]
    assert [(v.tpd_reference, v.tpd_state) for v in built.vehicles if v.group == "ready"] == [
        ("TPD-1", "open"),
        (None, None),
    ]
    # The exit declaration, not the entry one; above what was declared on entry.
    assert [(d.traveller_sequence, d.reference, d.exceeds_entry) for d in built.declarations] == [
        (1, "CD-OUT", True)
    ]
    element = to_xml(built)
    assert validate(element, schema="travellers-1.xsd") == []
    assert from_xml(canonical_xml.to_bytes(element)).direction == "departure"


def test_a_departure_past_its_due_date_is_noted_not_held(
    service: TravellersService, journal: SqliteJournal
) -> None:
    service.request_tpd(tpd("TPD-1", status="foreign_national"), "t1")
    service.border_event(border("entry", tpd_ref="TPD-1"), "e1")  # 15 July: due 15 October
    plist = passenger_list(
        [karim()], departure=dt.date(2026, 10, 20), ports=("DZORN", "ESALC"), number="PAX-LATE"
    )
    built = sailing.passenger_list_arrived(journal, plist, "pax-late")
    assert groups(built) == [(1, "ready", ["LEAVES_LATE"])]
    assert built is not None and "5 day(s)" in built.vehicles[0].findings[0].sentence


def test_an_arrival_says_so_and_ignores_exit_declarations(
    service: TravellersService, journal: SqliteJournal
) -> None:
    service.declare_currency(currency("CD-OUT", direction="exit"), "c1")
    built = sailing.passenger_list_arrived(journal, passenger_list([karim()]), "pax-1")
    assert built is not None and built.direction == "arrival" and built.declarations == []


def test_a_vehicle_that_entered_under_this_sailings_tpd_stays_ready(
    service: TravellersService, journal: SqliteJournal
) -> None:
    """The list seen after the border post's entry: the TPD pre-declared for this sailing is
    open now, which is the vehicle entering, not an earlier stay it never ended."""
    service.request_tpd(tpd("TPD-1"), "t1")
    sailing.passenger_list_arrived(journal, passenger_list([karim()]), "pax-1")
    service.border_event(border("entry", tpd_ref="TPD-1"), "e1")
    built = sailing.build_list(journal, KEY, SAILING, owner=None)
    assert groups(built) == [(1, "ready", [])]
    assert built is not None and built.vehicles[0].tpd_state == "open"


def test_a_mismatched_holder_is_found_on_board_by_document_or_name(
    service: TravellersService, journal: SqliteJournal
) -> None:
    """The TPD's holder looked for among the sailing's travellers (the list's documents, held
    as a dict's keys since issue #18's memory work; else family name and birth date)."""
    service.request_tpd(tpd("TPD-A", vehicle_vin=vin(2), passport="P7", family="Walker"), "a")
    service.request_tpd(tpd("TPD-B", vehicle_vin=vin(3), passport="P9", family="Other"), "b")
    plist = passenger_list(
        [
            traveller(1, family="Haddad", passport="P1", vin=vin(2), plate="GH-1", country="FR"),
            traveller(2, family="Saïdi", passport="P2", vin=vin(3), plate="GH-2", country="FR"),
            {"family": "WALKER", "passport": "P7"},  # TPD-A's holder travels on foot
        ]
    )
    built = sailing.passenger_list_arrived(journal, plist, "pax-holders")
    assert built is not None
    sentences = {
        v.traveller_sequence: [f.sentence for f in v.findings if f.code == "HOLDER_MISMATCH"]
        for v in built.vehicles
    }
    assert sentences[1] == [
        "the TPD's holder travels on this sailing; the vehicle is listed with another traveller"
    ]
    assert sentences[2] == [
        "the TPD's holder is not on the list; the vehicle is listed with another traveller"
    ]
