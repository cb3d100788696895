"""CUSCAR fidelity (issue #16): what used to be lost or changed on the way is carried as sent.

Each defect has a test on a hand-made file of ``tests/data/cuscar/`` (CMA CGM Marseille ->
Algerian ports, French and Arabic party names):

* ``consolidation.edi`` (D95B, UNOW): a CNI with the master bill and two ``RFF+BH`` house
  groups (places of receipt, delivery, destination, original loading, transhipment; marks;
  packages per container; dangerous goods; a "to order" consignee; contacts; per-unit
  masses; an ``RFF+AAA``), a CNI that is itself a house bill, a reefer with seals, tare and
  temperature, ETA and actual arrival, the IMO number coded the standard way;
* ``verified_gross_mass.edi`` (D16A): a reefer's VGM, tare and set temperature;
* ``imo_standard_check_digit.edi``: an IMO number coded ``:146:11`` with a wrong check digit;
* ``unknown_function.edi`` (D99A): BGM message function ``VSA``.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from adapters import cuscar
from adapters.common import MappingError
from gateway.domain.canonical_xml import from_xml, to_bytes, to_xml
from gateway.domain.model import CargoManifest, Communication, Contact, DangerousGoods, Seal
from gateway.domain.validation import validate
from gateway.service.pipeline import translate
from tests.corpus import edifact_file

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "cuscar"
UTC = dt.UTC


def _manifest(name: str) -> CargoManifest:
    [manifest] = cuscar.decode((DATA / name).read_bytes())
    return manifest


@pytest.fixture(scope="module")
def consolidation() -> CargoManifest:
    return _manifest("consolidation.edi")


def test_the_whole_gateway_accepts_the_consolidation() -> None:
    result = translate((DATA / "consolidation.edi").read_bytes())
    assert result.rejection is None and result.warnings == []
    assert len(result.documents) == 1


def test_a_consolidation_keeps_its_first_house_its_link_and_its_goods(
    consolidation: CargoManifest,
) -> None:
    rows = [
        (
            c.transport_document,
            c.transport_document_kind,
            c.master_reference,
            c.master_sequence_number,
            c.house_sequence_number,
            c.consolidated,
            [g.description for g in c.goods_items],
        )
        for c in consolidation.consignments
    ]
    assert rows == [
        # The master: no goods of its own, its houses follow it.
        ("CMDUMRS0012345", "master", None, 1, None, True, []),
        # The first house (lost before, its goods filed under the master).
        ("MRSALG0001", "house", "CMDUMRS0012345", 1, 1, False, ["PIECES DETACHEES AUTOMOBILES"]),
        ("MRSALG0002", "house", "CMDUMRS0012345", 1, 2, False, ["ETHANOL SOLUTION"]),
        # CNI 2 carries a house bill itself (RFF+BH repeats it): a house, not a master.
        ("MRSALG0003", "house", None, 2, 1, False, ["MACHINES A COUDRE"]),
    ]


def test_the_hierarchy_is_in_the_canonical_xml(consolidation: CargoManifest) -> None:
    root = to_xml(consolidation)
    assert validate(root) == []
    assert from_xml(to_bytes(root)) == consolidation
    ns = {"c": "urn:port-edi-gateway:customs:1"}
    houses = root.findall("c:Consignment[c:HouseSequenceNumber]", ns)
    assert [(h.findtext("c:TransportDocument", namespaces=ns)) for h in houses] == [
        "MRSALG0001",
        "MRSALG0002",
        "MRSALG0003",
    ]
    [master] = root.findall("c:Consignment[c:Consolidated='true']", ns)
    assert master.findtext("c:MasterSequenceNumber", namespaces=ns) == "1"


def test_rff_aaa_is_an_order_acknowledgement_not_a_master_bill(
    consolidation: CargoManifest,
) -> None:
    first_house = consolidation.consignments[1]
    assert first_house.master_reference == "CMDUMRS0012345"
    assert "CMD-2026-0457" not in consolidation.references()
    # The MSC manifest's RFF+AAA:MSCUDB592345 used to become its first bill's master.
    [msc] = cuscar.decode(edifact_file("CUSCAR_indice_1.edi").read_bytes())
    assert msc.consignments[0].master_reference is None


def test_places_of_receipt_delivery_destination_original_loading_and_transhipment(
    consolidation: CargoManifest,
) -> None:
    first, second = consolidation.consignments[1:3]
    assert (first.place_of_receipt, first.place_of_loading, first.place_of_discharge) == (
        "FRLYS",
        "FRMRS",
        "DZALG",
    )
    assert first.place_of_delivery == "DZALG"
    assert second.place_of_original_loading == "ITGOA"
    assert second.places_of_transhipment == ("ESVLC",)
    assert second.place_of_destination == "DZBJA"


def test_dangerous_goods_are_read_from_the_undg_number_not_the_flashpoint(
    consolidation: CargoManifest,
) -> None:
    [ethanol] = consolidation.consignments[2].goods_items
    assert ethanol.dangerous_goods == (
        DangerousGoods(
            un_number="1170",
            hazard_class="3",
            packing_group="2",
            flashpoint=Decimal("13"),
            flashpoint_unit="CEL",
            ems="F-ES-D",
            regulation="IMD",
        ),
    )


def _table_segments() -> dict[str, dict[str, list[object]]]:
    """Segment layouts of every directory table: packaged, then generated (Bots)."""
    tables: dict[str, dict[str, list[object]]] = {}
    folders = {
        "packaged": ROOT / "adapters" / "edifact" / "directories",
        "generated": ROOT / "var" / "directories",
    }
    for kind, folder in folders.items():
        for path in sorted(folder.glob("D*.json")):
            segments = json.loads(path.read_text(encoding="utf-8")).get("segments", {})
            tables[f"{kind}/{path.stem}"] = segments
    return tables


# The element positions the adapter reads: (segment, element index, id, component ids).
POSITIONS = [
    ("DGS", 0, "8273", None),
    ("DGS", 1, "C205", ["8351"]),
    ("DGS", 2, "C234", ["7124"]),
    ("DGS", 3, "C223", ["7106", "6411"]),
    ("DGS", 4, "8339", None),
    ("DGS", 5, "8364", None),
    ("TDT", 7, "C222", ["8213", "1131", "3055", "8212", "8453"]),
    ("NAD", 1, "C082", ["3039", "1131", "3055"]),
    ("SEL", 0, "9308", None),
    ("SEL", 1, "C215", ["9303", "1131", "3055", "9302"]),
    ("TMP", 1, "C239", ["6246", "6411"]),
    ("SGP", 0, "C237", ["8260"]),
    ("SGP", 1, "7224", None),
    ("PCI", 1, "C210", ["7102"]),
    ("MEA", 1, "C502", ["6313"]),
    ("MEA", 2, "C174", ["6411", "6314"]),
    ("CTA", 1, "C056", ["3413", "3412"]),
]


@pytest.mark.parametrize(("tag", "index", "element", "components"), POSITIONS)
def test_the_positions_read_are_those_of_every_directory_table(
    tag: str, index: int, element: str, components: list[str] | None
) -> None:
    """D.95B to D.17B (packaged and generated tables) agree on every position read; tables
    whose segment has upstream defects leave it out (``omitted_segments``)."""
    checked = []
    for name, segments in _table_segments().items():
        layout = segments.get(tag)
        if not isinstance(layout, list):
            continue
        entry = layout[index]
        assert isinstance(entry, list) and entry[0] == element, (name, tag, entry)
        if components is not None:
            ids = [c[0] for c in entry[2]]
            assert ids[: len(components)] == components, (name, tag, ids)
        checked.append(name)
    assert {"packaged/D95B", "generated/D96A", "generated/D16A"} <= set(checked)


def test_marks_and_packages_per_container(consolidation: CargoManifest) -> None:
    [parts] = consolidation.consignments[1].goods_items
    assert parts.marks == ("AL AMAL ALGER", "CT 1-120")
    assert parts.equipment_references == ["CMAU1234564"]
    assert parts.packages_per_equipment == (120,)
    [machines] = consolidation.consignments[3].goods_items
    assert (machines.equipment_references, machines.packages_per_equipment) == (
        ["TGHU8765436"],
        (10,),
    )


def test_seal_issuer_tare_and_reefer_temperature(consolidation: CargoManifest) -> None:
    reefer, dry = consolidation.equipment
    assert reefer.seals == [Seal("FR4471923", issuer="CA"), Seal("DZ0088123", issuer="CU")]
    assert (reefer.tare_mass_kg, reefer.temperature, reefer.temperature_unit) == (
        Decimal("4800.000"),
        Decimal("-18"),
        "CEL",
    )
    assert dry.seals == [Seal("FR4471950", issuer="SH")]
    assert (dry.tare_mass_kg, dry.temperature) == (Decimal("2200.000"), None)


def test_verified_gross_mass() -> None:
    result = translate((DATA / "verified_gross_mass.edi").read_bytes())
    assert result.rejection is None
    [manifest] = result.documents
    assert isinstance(manifest, CargoManifest)
    [reefer] = manifest.equipment
    assert (reefer.verified_gross_mass_kg, reefer.tare_mass_kg) == (
        Decimal("27350.000"),
        Decimal("4750.000"),
    )
    assert (reefer.temperature, reefer.temperature_unit) == (Decimal("2.5"), "CEL")
    # The gross mass of the goods stays the goods'; the VGM is not read as it.
    assert manifest.consignments[0].gross_mass_kg == Decimal("22600.000")


def test_party_identifier_scheme_contacts_and_to_order(consolidation: CargoManifest) -> None:
    [carrier] = consolidation.parties
    assert (carrier.identifier, carrier.identifier_scheme, carrier.identifier_scheme_agency) == (
        "CMDU",
        "172",
        "20",
    )
    shipper, consignee = consolidation.consignments[1].parties
    assert (shipper.identifier_scheme, shipper.to_order) == (None, False)
    assert consignee.name == "مؤسسة الأمل للاستيراد"
    assert (consignee.identifier, consignee.identifier_scheme) == ("000016001234567", "167")
    assert consignee.contacts == (
        Contact(
            function="IC",
            name="MOHAMED BENALI",
            communications=[
                Communication("00213550123456", "TE"),
                Communication("import@alamal.dz", "EM"),
            ],
        ),
    )
    to_order = consolidation.consignments[2].parties[1]
    assert (to_order.role, to_order.name, to_order.to_order) == (
        "consignee",
        "TO ORDER OF BEA ALGER",  # the name stays as sent
        True,
    )


def test_eta_and_actual_arrival_are_apart(consolidation: CargoManifest) -> None:
    assert consolidation.arrival_time == dt.datetime(2026, 12, 5, 14, 0, tzinfo=UTC)
    assert consolidation.actual_arrival_time == dt.datetime(2026, 12, 5, 17, 30, tzinfo=UTC)


def test_an_imo_number_coded_the_standard_way_is_an_imo_number(
    consolidation: CargoManifest,
) -> None:
    assert (consolidation.conveyance.imo_number, consolidation.conveyance.call_sign) == (
        "9703291",
        None,
    )
    # ... so the IMO check applies to it.
    result = translate((DATA / "imo_standard_check_digit.edi").read_bytes())
    assert result.rejection is not None
    assert [p.code for p in result.rejection.problems] == ["IMO_CHECK_DIGIT"]


def test_per_unit_masses_are_not_read_as_totals(consolidation: CargoManifest) -> None:
    [parts] = consolidation.consignments[1].goods_items
    assert (parts.gross_mass_kg, parts.unit_gross_mass_kg) == (
        Decimal("2400.000"),
        Decimal("20.000"),
    )
    [ethanol] = consolidation.consignments[2].goods_items
    assert (ethanol.net_mass_kg, ethanol.unit_net_mass_kg) == (None, Decimal("190.000"))


def test_an_unknown_message_function_is_refused_not_made_an_original() -> None:
    data = (DATA / "unknown_function.edi").read_bytes()
    with pytest.raises(MappingError) as refused:
        cuscar.decode(data)
    assert refused.value.reason == "UNKNOWN_MESSAGE_FUNCTION"
    assert "'VSA'" in refused.value.sentence and refused.value.segment == 3
    result = translate(data)
    assert result.rejection is not None
    assert result.rejection.reason == "UNKNOWN_MESSAGE_FUNCTION"
    assert result.documents == []


@pytest.mark.parametrize(
    ("code", "function"),
    [("", "original"), ("9", "original"), ("22", "original"), ("5", "replace"), ("2", "change")],
)
def test_known_message_functions(code: str, function: str) -> None:
    data = (DATA / "unknown_function.edi").read_bytes().replace(b"+VSA'", f"+{code}'".encode())
    assert cuscar.decode(data)[0].header.function == function


def test_packages_per_container_stay_with_their_container() -> None:
    """SGP 7224 by position: a container without a count keeps None, not its neighbour's."""
    data = (
        (DATA / "consolidation.edi")
        .read_bytes()
        .replace(b"SGP+CMAU1234564+120'", b"SGP+TGHU8765436'\nSGP+CMAU1234564+120'")
        .replace(b"UNT+63+1'", b"UNT+64+1'")  # one segment more
    )
    result = translate(data)
    assert result.rejection is None
    [manifest] = result.documents
    assert isinstance(manifest, CargoManifest)
    [parts] = manifest.consignments[1].goods_items
    assert parts.equipment_references == ["TGHU8765436", "CMAU1234564"]
    assert parts.packages_per_equipment == (None, 120)
    assert from_xml(to_bytes(to_xml(manifest))) == manifest
