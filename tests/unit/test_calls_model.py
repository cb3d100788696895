"""The call documents (issue #17): model <-> canonical XML round trips and the XSD."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from lxml import etree

from gateway.domain import calls
from gateway.domain.calls import (
    CallKey,
    CargoSummary,
    ContainerMovement,
    DangerousCargoItem,
    DangerousGoodsNotification,
    TerminalOperationsReport,
    VesselCall,
)
from gateway.domain.canonical_xml import from_xml, to_bytes, to_xml
from gateway.domain.model import Conveyance, Header, NotMappedElement
from gateway.domain.validation import validate

UTC = dt.UTC
KEY = CallKey("9454436", "0MA1RN1MA", "DZALG")


def _header(document_type: str, reference: str) -> Header:
    return Header.new(sender="apcs", document_type=document_type, business_reference=reference)


def full_call() -> VesselCall:
    return VesselCall(
        _header("VesselCall", "CALL-1"),
        call_reference="CALL-1",
        conveyance=Conveyance(
            imo_number="9454436",
            name="CMA CGM TAGE",
            call_sign="9HA2431",
            nationality="MT",
            voyage_number="0MA1RN1MA",
            carrier="CMA CGM",
            mode_of_transport="1",
            carrier_code="CMA",
            carrier_scheme="172",
            carrier_scheme_agency="20",
        ),
        port_of_call="DZALG",
        berth="QUAI 12",
        last_port="FRMRS",
        next_port="ESVLC",
        eta=dt.datetime(2026, 12, 1, 7, tzinfo=UTC),
        ata=dt.datetime(2026, 12, 1, 6, 40, tzinfo=UTC),
        atd=dt.datetime(2026, 12, 2, 18, tzinfo=UTC),
        crew_count=22,
        passenger_count=0,
        cargo=CargoSummary(3, 2, Decimal("46400.000"), "Peintures / دهانات"),
        # What CUSREP sends that no field holds (issue #16): its BGM's name, a DTM+137.
        not_mapped=[
            NotMappedElement("BGM", 2, 0, 3, "FAL1 ARRIVAL", qualifier="ZZZ"),
            NotMappedElement("DTM", 3, 0, 1, "202611300600", qualifier="137"),
        ],
    )


def full_dangerous_goods() -> DangerousGoodsNotification:
    return DangerousGoodsNotification(
        _header("DangerousGoodsNotification", "DG-1"),
        document_number="DG-1",
        call=KEY,
        vessel_name="CMA CGM TAGE",
        items=[
            DangerousCargoItem(
                1,
                "1263",
                "3",
                packing_group="2",
                flashpoint=Decimal("23"),
                flashpoint_unit="CEL",
                ems="F-E,S-E",
                proper_shipping_name="PAINT",
                container="CMAU3000009",
                stowage_position="0120482",
                gross_mass_kg=Decimal("8200.000"),
                marine_pollutant=True,
            ),
            DangerousCargoItem(2, "1203", "3"),
        ],
        not_mapped=[NotMappedElement("FTX", 9, 3, 0, "NE PAS GERBER", qualifier="AAI")],
    )


def full_report() -> TerminalOperationsReport:
    return TerminalOperationsReport(
        _header("TerminalOperationsReport", "DIS-1"),
        document_number="DIS-1",
        call=KEY,
        operation="discharge",
        terminal="DPWD",
        complete=True,
        completed_at=dt.datetime(2026, 12, 2, 3, tzinfo=UTC),
        movements=[
            ContainerMovement(
                "CMAU3000009",
                "discharge",
                time=dt.datetime(2026, 12, 1, 9, 15, tzinfo=UTC),
                size_type="22G1",
                full=True,
                seals=("FR0042117", "DZ-DOUANE-1"),
                gross_mass_kg=Decimal("8200.000"),
                transport_document="CMDUMRS0421",
                stowage_position="0120482",
                place_of_loading="FRMRS",
                place_of_discharge="DZALG",
            ),
            ContainerMovement("TGHU7654320", "discharge", full=False),
        ],
        not_mapped=[NotMappedElement("SEL", 14, 1, 0, "CA", qualifier="FR0042117")],
    )


@pytest.mark.parametrize("make", [full_call, full_dangerous_goods, full_report])
def test_every_call_document_round_trips_and_is_valid(make: object) -> None:
    doc = make()  # type: ignore[operator]
    element = to_xml(doc)
    assert validate(element) == []
    assert from_xml(to_bytes(doc)) == doc
    assert calls.from_xml(to_bytes(doc)) == doc


def test_optional_parts_stay_absent() -> None:
    bare = VesselCall(
        _header("VesselCall", "C2"),
        "C2",
        Conveyance(imo_number="9454436", voyage_number="V1"),
        "DZORN",
    )
    element = to_xml(bare)
    assert validate(element) == []
    names = {etree.QName(e).localname for e in element.iter()}
    assert not names & {"Berth", "CargoSummary", "CrewCount", "ActualArrival"}
    assert calls.from_xml(to_bytes(bare)) == bare


def test_the_key_and_references_name_the_call() -> None:
    call, dgn, report = full_call(), full_dangerous_goods(), full_report()
    assert call.key == dgn.call == report.call == KEY
    assert str(KEY) == "9454436/0MA1RN1MA/DZALG"
    assert call.references() == ["CALL-1", "9454436/0MA1RN1MA", "9454436"]
    assert dgn.references() == ["DG-1", "9454436/0MA1RN1MA", "CMAU3000009"]
    assert report.references() == ["DIS-1", "9454436/0MA1RN1MA", "CMAU3000009", "TGHU7654320"]


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: setattr(d.conveyance, "imo_number", None), "Conveyance"),
        (lambda d: setattr(d, "port_of_call", "Alger"), "PortOfCall"),
        (lambda d: setattr(d, "crew_count", -1), "CrewCount"),
        (lambda d: setattr(d, "last_port", "FR-MRS"), "LastPort"),
    ],
)
def test_the_schema_refuses_a_broken_call(mutate: object, where: str) -> None:
    doc = full_call()
    mutate(doc)  # type: ignore[operator]
    problems = validate(to_xml(doc))
    assert problems and problems[0].reason == "CANONICAL_INVALID"
    assert where in problems[0].path + problems[0].sentence


def test_the_schema_refuses_a_bad_dangerous_goods_entry_and_an_unknown_operation() -> None:
    dgn = full_dangerous_goods()
    dgn.items[0].un_number = "126"
    assert validate(to_xml(dgn))
    dgn.items = []
    assert validate(to_xml(dgn))  # a notification declares something
    report = full_report()
    report.operation = "shift"  # type: ignore[assignment]
    assert validate(to_xml(report))
    report = full_report()
    report.call = CallKey("945443", "V", "DZALG")
    assert validate(to_xml(report))


def test_imo_and_port_of_call_problems() -> None:
    assert calls.imo_problem("9454436") is None
    assert calls.imo_problem("9454437") == "IMO number 9454437 has a wrong check digit"
    assert calls.imo_problem("945443") == "IMO number 945443 is not 7 digits"
    assert calls.imo_problem(None) == "the vessel has no IMO number"
    assert [calls.port_of_call_problem(p) for p in calls.ALGERIAN_PORTS] == [None] * 8
    assert calls.port_of_call_problem("ESVLC") == "ESVLC is not a port of DZ"
    assert calls.port_of_call_problem("XXABC") == "XX is not an ISO 3166 country"
    assert calls.port_of_call_problem(None) == "no port of call"


def test_from_xml_refuses_what_is_not_a_call_document() -> None:
    with pytest.raises(ValueError, match="not a call document"):
        calls.from_xml(b'<CargoManifest xmlns="urn:port-edi-gateway:customs:1"/>')
