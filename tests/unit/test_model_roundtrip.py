"""The canonical model maps to the XSD and back without losing anything (issue #4).

Hypothesis builds documents of every type with the optional parts present or
absent; each one must be schema-valid and come back equal from its XML.
"""

from __future__ import annotations

import datetime as dt
import string
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.domain.canonical_xml import from_xml, to_bytes, to_xml
from gateway.domain.model import (
    Acknowledgement,
    Address,
    CargoManifest,
    Consignment,
    ControlTotals,
    Conveyance,
    CustomsResponse,
    Document,
    GoodsItem,
    Header,
    Party,
    PassengerVehicleList,
    Pointer,
    ResponseError,
    Source,
    TransportEquipment,
    TravelDocument,
    Traveller,
    Vehicle,
)
from gateway.domain.validation import validate

text35 = st.text(
    alphabet=string.ascii_uppercase + string.digits + " -/.,'&éÅ",
    min_size=1,
    max_size=35,
).filter(lambda s: s.strip() == s and s != "")
country = st.sampled_from(["EG", "IT", "ES", "GR", "US", "TR"])
locode = st.sampled_from(["EGALY", "EGDAM", "ITGOA", "GRPIR", "ESVLC", "TRMER"])
mass = st.decimals(min_value=0, max_value=10**9, places=3).map(
    lambda d: d.quantize(Decimal("0.001"))
)
when = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 1, 1), timezones=st.just(dt.UTC)
).map(lambda d: d.replace(microsecond=0))
day = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2040, 1, 1))


def opt(strategy: st.SearchStrategy) -> st.SearchStrategy:  # type: ignore[type-arg]
    return st.none() | strategy


@st.composite
def headers(draw: st.DrawFn, document_type: str) -> Header:
    h = Header.new(
        sender=draw(st.sampled_from(["apcs", "customs", "commerce"])),
        document_type=document_type,
        business_reference=draw(text35),
        function=draw(st.sampled_from(["original", "replace", "change", "cancel"])),
        document_version=draw(st.integers(1, 99)),
        test=draw(st.booleans()),
        payload_hash=draw(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)),
        source=Source(
            format="EDIFACT",
            message_type=draw(st.sampled_from(["", "CUSCAR", "PAXLST"])),
            directory=draw(st.sampled_from(["", "D95B", "D03B"])),
            syntax_version=draw(st.sampled_from(["", "3", "4"])),
            interchange_reference=draw(st.sampled_from(["", "AP1"])),
            message_reference=draw(st.sampled_from(["", "1"])),
        ),
        created_at=draw(when),
    )
    if draw(st.booleans()):
        h.previous_message_id = Header.new(
            sender="x", document_type="x", business_reference="x"
        ).message_id
    return h


parties = st.builds(
    Party,
    role=st.sampled_from(["shipper", "consignee", "notify", "carrier", "agent", "other"]),
    code=opt(st.sampled_from(["CZ", "CN", "N1"])),
    identifier=opt(text35),
    tax_id=opt(text35),
    name=opt(text35),
    address=opt(
        st.builds(
            Address,
            lines=st.lists(text35, max_size=3),
            city=opt(text35),
            postal_code=opt(text35),
            country=opt(country),
        )
    ),
)
equipment = st.builds(
    TransportEquipment,
    identifier=text35,
    size_type=opt(st.sampled_from(["22G1", "45G1"])),
    seals=st.lists(text35, max_size=2),
    fullness=opt(st.sampled_from(["full", "empty", "unknown"])),
    gross_mass_kg=opt(mass),
)
totals = st.builds(
    ControlTotals,
    consignments=opt(st.integers(0, 999)),
    packages=opt(st.integers(0, 99999)),
    gross_mass_kg=opt(mass),
    equipment=opt(st.integers(0, 999)),
)
goods = st.builds(
    GoodsItem,
    sequence=st.integers(1, 999),
    hs_code=opt(st.from_regex(r"\A[0-9]{6,10}\Z")),
    description=opt(text35),
    package_count=opt(st.integers(0, 10**6)),
    package_type=opt(st.sampled_from(["CT", "BG", "PK"])),
    gross_mass_kg=opt(mass),
    net_mass_kg=opt(mass),
    volume_m3=opt(st.decimals(min_value=0, max_value=10**6, places=3)),
    dangerous_goods_un_numbers=st.lists(st.from_regex(r"\A[0-9]{4}\Z"), max_size=2),
    equipment_references=st.lists(text35, max_size=2),
)
conveyances = st.builds(
    Conveyance,
    imo_number=opt(st.from_regex(r"\A[0-9]{7}\Z")),
    name=opt(text35),
    call_sign=opt(text35),
    nationality=opt(country),
    voyage_number=opt(text35),
    carrier=opt(text35),
    mode_of_transport=opt(st.sampled_from(["1", "3"])),
)


@st.composite
def manifests(draw: st.DrawFn) -> CargoManifest:
    return CargoManifest(
        header=draw(headers("CargoManifest")),
        document_number=draw(text35),
        conveyance=draw(conveyances),
        port_of_call=draw(opt(locode)),
        customs_office=draw(opt(text35)),
        arrival_time=draw(opt(when)),
        departure_time=draw(opt(when)),
        parties=draw(st.lists(parties, max_size=2)),
        equipment=draw(st.lists(equipment, max_size=2)),
        consignments=draw(
            st.lists(
                st.builds(
                    Consignment,
                    sequence=st.integers(1, 999),
                    transport_document=text35,
                    transport_document_kind=st.sampled_from(["master", "house"]),
                    master_reference=opt(text35),
                    place_of_loading=opt(locode),
                    place_of_discharge=opt(locode),
                    parties=st.lists(parties, max_size=2),
                    goods_items=st.lists(goods, max_size=2),
                    equipment=st.lists(equipment, max_size=2),
                    gross_mass_kg=opt(mass),
                    control_totals=opt(totals),
                ),
                max_size=3,
            )
        ),
        control_totals=draw(opt(totals)),
    )


@st.composite
def passenger_lists(draw: st.DrawFn) -> PassengerVehicleList:
    travellers = st.builds(
        Traveller,
        sequence=st.integers(1, 999),
        role=st.sampled_from(["passenger", "crew", "driver", "other"]),
        family_name=text35,
        given_names=opt(text35),
        gender=opt(st.sampled_from(["M", "F", "X"])),
        birth_date=opt(day),
        birth_place=opt(text35),
        nationality=opt(country),
        documents=st.lists(
            st.builds(
                TravelDocument,
                kind=st.sampled_from(["P", "I", "39"]),
                number=text35,
                issuing_country=opt(country),
                expiry_date=opt(day),
            ),
            max_size=2,
        ),
        place_of_embarkation=opt(locode),
        place_of_disembarkation=opt(locode),
        vehicle=opt(
            st.builds(
                Vehicle,
                registration_number=opt(text35),
                registration_country=opt(country),
                vin=opt(st.from_regex(r"\A[A-HJ-NPR-Z0-9]{17}\Z")),
                make=opt(text35),
                model=opt(text35),
            )
        ),
    )
    return PassengerVehicleList(
        header=draw(headers("PassengerVehicleList")),
        document_number=draw(text35),
        conveyance=draw(conveyances),
        port_of_departure=draw(opt(locode)),
        port_of_call=draw(opt(locode)),
        departure_time=draw(opt(when)),
        arrival_time=draw(opt(when)),
        travellers=draw(st.lists(travellers, max_size=3)),
    )


errors = st.lists(
    st.builds(
        ResponseError,
        code=text35,
        description=text35,
        pointer=opt(
            st.builds(
                Pointer,
                location=text35,
                segment=opt(st.integers(1, 9999)),
                tag=opt(st.sampled_from(["MEA", "EQD", "CNI"])),
                element=opt(st.integers(0, 20)),
                component=opt(st.integers(0, 9)),
            )
        ),
    ),
    max_size=3,
)


@st.composite
def responses(draw: st.DrawFn) -> CustomsResponse:
    return CustomsResponse(
        header=draw(headers("CustomsResponse")),
        registration_number=draw(opt(text35)),
        decision=draw(st.sampled_from(["accepted", "rejected", "released", "held"])),
        original_message_id=draw(text35),
        original_reference=draw(text35),
        channel=draw(opt(st.sampled_from(["green", "orange", "red"]))),
        errors=draw(errors),
        issued_at=draw(opt(when)),
    )


@st.composite
def acknowledgements(draw: st.DrawFn) -> Acknowledgement:
    return Acknowledgement(
        header=draw(headers("Acknowledgement")),
        acknowledged_message_id=draw(text35),
        status=draw(st.sampled_from(["received", "accepted", "rejected"])),
        acknowledgement_type=draw(st.sampled_from(["CONTRL", "APERAK"])),
        errors=draw(errors),
    )


any_document = manifests() | passenger_lists() | responses() | acknowledgements()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_document)
def test_every_document_is_schema_valid_and_round_trips(doc: Document) -> None:
    element = to_xml(doc)
    assert validate(element) == []
    assert from_xml(to_bytes(element)) == doc


def test_documents_share_the_document_protocol() -> None:
    header = Header.new(
        sender="apcs", document_type="PassengerVehicleList", business_reference="P1"
    )
    plist = PassengerVehicleList(
        header,
        "P1",
        travellers=[
            Traveller(
                1,
                "driver",
                "NASSER",
                documents=[TravelDocument("P", "A1234567")],
                vehicle=Vehicle(registration_number="ABC 123", vin="WVWZZZ1JZXW000001"),
            )
        ],
    )
    assert isinstance(plist, Document)
    assert plist.references() == ["P1", "A1234567", "ABC 123", "WVWZZZ1JZXW000001"]


def test_a_vin_with_the_letter_o_breaks_the_schema() -> None:
    header = Header.new(
        sender="apcs", document_type="PassengerVehicleList", business_reference="P1"
    )
    plist = PassengerVehicleList(
        header, "P1", travellers=[Traveller(1, "driver", "X", vehicle=Vehicle(vin="O" * 17))]
    )
    problems = validate(to_xml(plist))
    assert problems and "Vin" in problems[0].path
