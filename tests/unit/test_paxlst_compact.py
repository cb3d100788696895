"""The decoded passenger list in little memory (issue #18): what a thousand travellers repeat
is held once, and no traveller holds an empty list or room for more; the journal's rows
read for a sailing's list share their repeated values too.

The budget is bench_sailing's (docs/travellers.md, "Scale and speed"); these tests pin the
data structure it relies on, and that nothing of it shows in the canonical XML.
"""

from __future__ import annotations

import json
import sys

from adapters import paxlst
from adapters.edifact import Segment
from adapters.residue import NOTHING, Residue
from gateway.domain.canonical_xml import from_xml, to_bytes
from gateway.domain.model import DocumentReference, Employment, Traveller
from gateway.storage import travellers_store
from tests.travellers_data import paxlst_bytes

FAMILIES = ("BENALI", "HADDAD", "بن علي")


def ferry(count: int) -> bytes:
    return paxlst_bytes(
        [
            {
                "family": FAMILIES[n % 3],
                "given": "AMEL",
                "birth": "1985-03-02",
                "passport": f"30{n:07d}",
                "vehicle": {"vin": f"VF1RFB000{n:08d}", "plate": f"GK-{n:03d}-LM", "country": "FR"},
            }
            for n in range(count)
        ]
    )


def test_repeated_names_countries_places_and_dates_are_one_object_each() -> None:
    (plist,) = paxlst.decode(ferry(9))
    a, b = plist.travellers[0], plist.travellers[3]
    assert a.family_name == b.family_name == "BENALI" and a.family_name is b.family_name
    assert plist.travellers[2].family_name is plist.travellers[5].family_name  # بن علي
    assert a.given_names is b.given_names and a.nationality is b.nationality
    assert a.birth_date == b.birth_date and a.birth_date is b.birth_date
    assert a.documents[0].kind is b.documents[0].kind
    assert a.vehicle is not None and b.vehicle is not None
    assert a.vehicle.registration_country is b.vehicle.registration_country
    # A traveller's own values are their own.
    assert a.documents[0].number != b.documents[0].number
    assert a.vehicle.vin != b.vehicle.vin
    codes = [(e.segment, e.value) for e in plist.not_mapped if e.tag == "DOC"]
    assert codes and all(value in ("110", "111") for _, value in codes)


def test_a_traveller_without_employment_or_references_holds_no_list() -> None:
    (plist,) = paxlst.decode(ferry(4))
    for t in plist.travellers:
        assert t.employment == () and t.references == ()
        assert t.employment is () and t.references is ()  # noqa: F632 (the one empty tuple)
        assert len(t.documents) == 1
        assert sys.getsizeof(t.documents) == sys.getsizeof([t.documents[0]])  # no spare room
    assert Traveller(1, "passenger", "X").employment == ()


def test_employment_and_references_are_tuples_in_the_order_sent() -> None:
    data = ferry(2).replace(
        b"NAT+2+DZ'",
        b"NAT+2+DZ'EMP+1+CR2:110:111+:::MATELOT'EMP+1+CR1:110:111+:::CAPITAINE'",
        1,
    )
    (plist,) = paxlst.decode(data)
    first, second = plist.travellers
    assert isinstance(first.employment, tuple)
    assert [e.category for e in first.employment] == ["CR2", "CR1"]
    assert all(isinstance(e, Employment) for e in first.employment)
    assert second.employment == ()
    assert from_xml(to_bytes(plist)) == plist  # the XML reads back the same tuples


def test_references_read_back_from_xml_are_tuples_too() -> None:
    (plist,) = paxlst.decode(ferry(1))
    plist.travellers[0].references = (DocumentReference("AVF", "RES-2026-0001"),)
    back = from_xml(to_bytes(plist))
    assert back == plist
    assert back.travellers[0].references == (DocumentReference("AVF", "RES-2026-0001"),)


def test_carried_values_are_put_in_message_order_and_carried_once() -> None:
    """Residue.finish sorts and de-duplicates without a tuple per element: the same answer
    as sorting by (segment, element, repetition, component) and dropping equal neighbours."""
    residue = Residue(first=1)
    late = Segment("RFF", (("ZVM", "V" * 40),), 9)
    residue.account(Segment("DOC", (("P", "110", "111"), ("1234",)), 4), (1, 1))
    residue.account(Segment("FTX", (("AAI",), ("",), ("",), ("A", "B")), 12), NOTHING)
    residue.keep(late, 0, 1)  # carried after segment 12, sits before it
    residue.keep(late, 0, 1)  # the same value twice: carried once
    residue.account(Segment("DOC", (("P", "110", "111"), ("5678",)), 4), (1, 1))  # same again
    got = [(e.tag, e.position, e.repetition, e.value) for e in residue.finish()]
    assert got == [
        ("DOC", "4:0:1", 0, "110"),
        ("DOC", "4:0:2", 0, "111"),
        ("RFF", "9:0:1", 0, "V" * 40),
        ("FTX", "12:0:0", 0, "AAI"),
        ("FTX", "12:3:0", 0, "A"),
        ("FTX", "12:3:1", 0, "B"),
    ]


def test_the_journals_table_of_repeated_values_stays_bounded() -> None:
    travellers_store._SHARED.clear()
    values = [f"19{n:06d}" for n in range(travellers_store._SHARED_MAX + 10)]
    for v in values:
        assert travellers_store._shared("".join(v)) == v
    assert len(travellers_store._SHARED) <= travellers_store._SHARED_MAX
    a, b = "".join(["D", "Z"]), "".join(["D", "Z"])
    assert travellers_store._shared(a) is travellers_store._shared(b)
    assert travellers_store._shared(None) is None


def test_a_reads_names_are_one_object_each_and_only_for_that_read() -> None:
    names: dict[str, str] = {}
    row = {"f": "HADDAD", "g": "NADIA", "b": "1979-09-12", "d": ["305118822"]}
    first = travellers_store._person(json.loads(json.dumps(row)), names)
    second = travellers_store._person(json.loads(json.dumps(row)), names)
    assert first == second
    assert first.family_name is second.family_name and first.given_names is second.given_names
    other = travellers_store._person(json.loads(json.dumps(row)))  # no table: its own strings
    assert other == first and other.family_name is not first.family_name
