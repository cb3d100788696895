"""PAXLST -> PassengerVehicleList: the corpus (US CBP ACE) and the ferry profile with vehicles."""

from __future__ import annotations

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
    assert plist.conveyance.imo_number == "9321483"
    assert (plist.port_of_departure, plist.port_of_call) == ("GRPIR", "EGDAM")
    assert [(t.role, t.family_name, t.nationality) for t in plist.travellers] == [
        ("driver", "NASSER", "EG"),
        ("passenger", "NASSER", "EG"),
        ("driver", "PAPADOPOULOS", "GR"),
    ]
    omar, laila, nikos = plist.travellers
    assert omar.vehicle is not None and laila.vehicle is None and nikos.vehicle is not None
    assert (omar.vehicle.registration_number, omar.vehicle.registration_country) == (
        "ABC 1234",
        "EG",
    )
    assert (omar.vehicle.vin, omar.vehicle.make, omar.vehicle.model) == (
        "WVWZZZ1JZXW000001",
        "VOLKSWAGEN",
        "GOLF",
    )
    assert omar.documents[0].expiry_date == dt.date(2030, 1, 1)
    assert (nikos.documents[0].kind, nikos.documents[0].issuing_country) == ("I", "GR")
    assert "IKB 5521" in plist.references() and "A87654321" in plist.references()
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
    assert (error.code, error.segment) == ("INVALID_VIN", 19)


def test_arrival_before_departure_is_a_rule_on_ferry_lists_too() -> None:
    data = SAMPLE.read_bytes().replace(b"DTM+232:202611301000:203", b"DTM+232:202611271000:203")
    result = translate(data)
    assert result.rejection is not None
    assert [(p.code, p.segment) for p in result.rejection.problems] == [
        ("ARRIVAL_AFTER_DEPARTURE", 10)
    ]
