"""The decoded passenger list in little memory (issue #18): what a thousand travellers repeat
is held once, and no traveller holds an empty list or room for more.

The budget is bench_sailing's (docs/travellers.md, "Scale and speed"); these tests pin the
data structure it relies on, and that nothing of it shows in the canonical XML.
"""

from __future__ import annotations

import sys

from adapters import paxlst
from gateway.domain.canonical_xml import from_xml, to_bytes
from gateway.domain.model import DocumentReference, Employment, Traveller
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
