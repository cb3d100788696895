"""PAXLST -> PassengerVehicleList: the corpus (US CBP ACE) and the ferry profile with vehicles."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from adapters import aperak, paxlst
from gateway.config import load
from gateway.domain.canonical_xml import from_xml, to_bytes
from gateway.domain.model import PassengerVehicleList
from gateway.security.signing import Signer, ensure_dev_keys
from gateway.service.pipeline import InboundPipeline, translate
from tests.corpus import edifact_file, needs_corpus

DATA = Path(__file__).resolve().parent.parent / "data" / "paxlst"
SAMPLE = (
    Path(__file__).resolve().parent.parent.parent
    / "samples"
    / "apcs"
    / "04-paxlst-ferry-vehicles.edi"
)


@pytest.mark.parametrize(
    ("name", "document_kind"),
    [
        pytest.param("PAXLST_edifabric_1.edi", "5K", marks=needs_corpus),
        ("PAXLST_smooks_1.edi", "5"),
    ],
)
def test_corpus_files_translate(name: str, document_kind: str) -> None:
    result = translate(edifact_file(name).read_bytes())
    assert result.rejection is None
    (plist,) = result.documents
    assert isinstance(plist, PassengerVehicleList)
    assert plist.document_number == "LOCKKH04103101"
    assert plist.header.function == "change"  # BGM 1225 = 4
    assert plist.arrival_time == dt.datetime(2004, 12, 30, tzinfo=dt.UTC)
    (t,) = plist.travellers
    assert (t.role, t.family_name, t.given_names, t.gender) == ("driver", "AOMAD", "CHRIS", "M")
    assert (t.birth_date, t.nationality) == (dt.date(1935, 9, 19), "US")
    # LOC+91+VA:163 is the state of Virginia (list 163), not the Vatican: only US:162 counts.
    assert [(d.kind, d.number, d.issuing_country) for d in t.documents] == [
        (document_kind, "P100971204141", "US"),
        ("39", "15504141", "US"),
    ]


def test_negative_corpus_file_is_rejected_for_its_syntax() -> None:
    # PAXLST_smooks_2 repeats an RFF and so miscounts its segments (UNT 16, 17 present).
    result = translate(edifact_file("PAXLST_smooks_2.edi").read_bytes())
    assert result.rejection is not None and result.rejection.reason == "EDIFACT_SYNTAX"
    assert "EDIFACT_29" in {p.code for p in result.rejection.problems}


def test_ferry_sample_travellers_and_vehicles() -> None:
    (plist,) = paxlst.decode(SAMPLE.read_bytes())
    assert plist.conveyance.imo_number == "9285237"
    assert (plist.port_of_departure, plist.port_of_call) == ("FRMRS", "DZALG")
    assert [(t.role, t.family_name, t.nationality) for t in plist.travellers] == [
        ("driver", "BENALI", "DZ"),
        ("passenger", "BENALI", "DZ"),
        ("driver", "MARTIN", "FR"),
    ]
    karim, amel, luc = plist.travellers
    assert karim.vehicle is not None and amel.vehicle is None and luc.vehicle is not None
    assert (karim.vehicle.registration_number, karim.vehicle.registration_country) == (
        "01234-116-16",
        "DZ",
    )
    assert (karim.vehicle.vin, karim.vehicle.make, karim.vehicle.model) == (
        "WVWZZZ1JZXW000001",
        "VOLKSWAGEN",
        "GOLF",
    )
    assert karim.documents[0].expiry_date == dt.date(2030, 1, 1)
    assert (luc.documents[0].kind, luc.documents[0].issuing_country) == ("I", "FR")
    assert "GK-421-LM" in plist.references() and "A87654321" in plist.references()
    assert from_xml(to_bytes(plist)) == plist


def test_sample_is_a_copy_of_the_test_fixture() -> None:
    assert SAMPLE.read_bytes() == (DATA / "ferry_vehicles.edi").read_bytes()


def test_pipeline_routes_the_ferry_list_and_rejects_a_bad_vin_with_aperak(tmp_path: Path) -> None:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    ensure_dev_keys(key, cert)
    settings = load(env={})
    pipeline = InboundPipeline(Signer.from_files(key, cert), settings.routes, "CUSTOMS")
    outcome = pipeline.process(SAMPLE.read_bytes(), settings.partners["apcs"], "c1")
    assert outcome.rejection is None
    assert [r.document.header.document_type for r in outcome.routed] == ["PassengerVehicleList"]
    assert b"<PassengerVehicleList" in outcome.routed[0].signed_xml

    bad = pipeline.process((DATA / "bad_vin.edi").read_bytes(), settings.partners["apcs"], "c2")
    assert bad.rejection is not None and bad.rejection.reason == "INVALID_VIN"
    kinds = [kind for kind, _ in bad.acknowledgements]
    assert kinds == ["CONTRL", "APERAK"]
    (error,) = aperak.decode(bad.acknowledgements[1][1]).errors
    assert (error.code, error.segment) == ("INVALID_VIN", 18)  # within the message, UNH = 1


def test_arrival_before_departure_is_a_rule_on_ferry_lists_too() -> None:
    data = SAMPLE.read_bytes().replace(b"DTM+232:202611301000:203", b"DTM+232:202611271000:203")
    result = translate(data)
    assert result.rejection is not None
    assert [(p.code, p.segment) for p in result.rejection.problems] == [
        ("ARRIVAL_AFTER_DEPARTURE", 10)
    ]


# ---------------------------------------------------------------- issue #16: every party role,
# CNT+42, identifiers, addresses, EMP and header references (hand-made Algérie Ferries lists)


def test_an_unknown_role_is_a_traveller_of_its_own_not_merged_into_the_one_before() -> None:
    # Marseille -> Algiers; the second traveller's NAD+ZZZ (mutually defined) used to vanish
    # and her passport, birth date and gender overwrote or joined Karim Benali's.
    result = translate((DATA / "unknown_role_and_parties.edi").read_bytes())
    assert result.rejection is None
    (plist,) = result.documents
    assert isinstance(plist, PassengerVehicleList)
    assert [(t.sequence, t.role, t.role_code, t.family_name) for t in plist.travellers] == [
        (1, "passenger", "FL", "BENALI"),
        (2, "other", "ZZZ", "بن علي"),
        (3, "crew", "FM", "MEZIANE"),
    ]
    karim, yasmine, rachid = plist.travellers
    assert [d.number for d in karim.documents] == ["198765432"]
    assert (karim.gender, karim.birth_date) == ("M", dt.date(1985, 3, 14))
    assert karim.vehicle is not None and karim.vehicle.registration_number == "GH-123-JK"
    assert (yasmine.given_names, yasmine.gender, yasmine.birth_date) == (
        "ياسمين",
        "F",
        dt.date(2012, 9, 5),
    )
    assert [(d.number, d.expiry_date) for d in yasmine.documents] == [
        ("201234567", dt.date(2029, 9, 5))
    ]
    assert yasmine.vehicle is None and rachid.vehicle is None
    # The IMO number coded the standard way (8213 list 146, agency 11) is an IMO number.
    assert (plist.conveyance.imo_number, plist.conveyance.call_sign) == ("9287039", None)
    xml = to_bytes(plist)
    assert b'<Traveller role="other" code="ZZZ">' in xml
    assert from_xml(xml) == plist


def test_identifiers_addresses_employment_and_references_are_carried() -> None:
    (plist,) = paxlst.decode((DATA / "unknown_role_and_parties.edi").read_bytes())
    assert [(r.qualifier, r.number) for r in plist.document_references] == [("TN", "AF2612060001")]
    (ship_agent,) = plist.parties
    assert (ship_agent.code, ship_agent.identifier, ship_agent.identifier_scheme) == (
        "MS",
        "ENTMV",
        "160",
    )
    assert ship_agent.name == "ALGÉRIE FERRIES ENTMV"
    assert ship_agent.address is not None and ship_agent.address.lines == ["1 QUAI D'AJACCIO"]
    (desk,) = ship_agent.contacts
    assert (desk.function, desk.name) == ("IC", "SAMIA HADJ-AHMED")
    assert [(c.channel, c.number) for c in desk.communications] == [
        ("TE", "00213 21 42 46 50"),
        ("EM", "passages@algerieferries.dz"),
    ]
    karim, _, rachid = plist.travellers
    assert (karim.identifier, karim.identifier_scheme, karim.identifier_scheme_agency) == (
        "AF-PAX-00418",
        "ZZZ",
        "ZZZ",
    )
    assert karim.address is not None
    assert (karim.address.lines, karim.address.city, karim.address.postal_code) == (
        ["12 RUE DE LA RÉPUBLIQUE"],
        "MARSEILLE",
        "13002",
    )
    assert karim.address.country == "FR"
    (rank,) = rachid.employment
    assert (rank.qualifier, rank.category, rank.occupation_text) == ("1", "CR2", "CHEF MÉCANICIEN")
    assert plist.passenger_total == 3


def test_cbp_corpus_identifier_state_and_employment_are_carried(corpus: Path) -> None:
    (plist,) = paxlst.decode((corpus / "edifact" / "PAXLST_smooks_1.edi").read_bytes())
    assert [(r.qualifier, r.number) for r in plist.document_references] == [("RF", "03")]
    (t,) = plist.travellers
    assert (t.identifier, t.identifier_scheme) == ("0000041153", "109")
    assert t.address is not None
    # VA:163 is the state of Virginia: a subdivision, never read as a country (the Vatican).
    assert (t.address.city, t.address.subdivision, t.address.country) == ("RESTON", "VA", None)
    assert [(e.qualifier, e.qualification, e.applicability) for e in t.employment] == [
        ("4", "1", "7")
    ]


def test_cnt_42_is_kept_and_a_matching_count_passes() -> None:
    # Alicante -> Oran: CNT+42 says 3, two travellers are listed (the rejection itself is in
    # tests/unit/test_rules.py with the other rules).
    data = (DATA / "passenger_count_mismatch.edi").read_bytes()
    warned = translate(data, severities={"PASSENGER_COUNT": "warn"})
    (plist,) = warned.documents
    assert isinstance(plist, PassengerVehicleList)
    assert (plist.passenger_total, len(plist.travellers)) == (3, 2)
    assert b"<PassengerTotal>3</PassengerTotal>" in to_bytes(plist)
    assert from_xml(to_bytes(plist)) == plist
    fixed = translate(data.replace(b"CNT+42:3'", b"CNT+42:2'"))
    assert fixed.rejection is None
    assert [w.code for w in fixed.warnings if not w.code.startswith("EDIFACT_")] == []


def test_a_wrong_passenger_count_gets_an_aperak_with_its_own_code(tmp_path: Path) -> None:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    ensure_dev_keys(key, cert)
    settings = load(env={})
    pipeline = InboundPipeline(Signer.from_files(key, cert), settings.routes, "CUSTOMS")
    data = (DATA / "passenger_count_mismatch.edi").read_bytes()
    # The list is addressed to DZDOUANE: one of the gateway's ids for this partner (issue #16).
    apcs = dataclasses.replace(settings.partners["apcs"], gateway_ids=("CUSTOMS", "DZDOUANE"))
    outcome = pipeline.process(data, apcs, "c3")
    assert outcome.rejection is not None and outcome.routed == []
    kinds = [kind for kind, _ in outcome.acknowledgements]
    assert kinds == ["CONTRL", "APERAK"]
    answer = outcome.acknowledgements[1][1]
    assert b"ERC+GW110" in answer
    (error,) = aperak.decode(answer).errors
    assert (error.code, error.segment) == ("PASSENGER_COUNT", 26)  # within the message, UNH = 1
