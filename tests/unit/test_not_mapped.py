"""The NotMapped section (issue #16): what no canonical field holds, carried verbatim.

From hand-made files of ``tests/data`` (a CMA CGM Marseille -> Algiers manifest,
``cuscar/not_mapped.edi``, UNOW syntax 4; the Algérie Ferries list
``paxlst/unknown_role_and_parties.edi``): each element no field holds is in the document with
its segment tag and position, the round trip XML -> model -> XML keeps it, the streamed
signed manifest of a large message carries it as the tree does, and ``edigw translate`` says
it on stderr, capped like its other lines.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from adapters import cuscar, paxlst
from adapters.common import MappingError
from adapters.edifact import Segment, parse
from adapters.residue import Residue
from bench.common import valid_cuscar
from gateway.domain.canonical_xml import from_xml, to_bytes, to_xml
from gateway.domain.model import CargoManifest, NotMappedElement
from gateway.domain.validation import validate
from gateway.interfaces.cli import STDERR_LINES, main
from gateway.security import c14n
from tests.unit.test_pipeline_thin import same

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
NOT_MAPPED = DATA / "cuscar" / "not_mapped.edi"
NS = {"c": "urn:port-edi-gateway:customs:1"}


def _rows(entries: list[NotMappedElement]) -> list[tuple[str, str, int, str]]:
    return [(e.tag, e.position, e.repetition, e.value) for e in entries]


@pytest.fixture(scope="module")
def manifest() -> CargoManifest:
    [found] = cuscar.decode(NOT_MAPPED.read_bytes())
    return found


def test_what_no_field_holds_is_carried_with_its_position(manifest: CargoManifest) -> None:
    assert _rows(manifest.not_mapped) == [
        # An agency reference and a general note before the voyage: no field for either.
        ("RFF", "4:0:0", 0, "ABO"),
        ("RFF", "4:0:1", 0, "CMA-AGENCY-ALG-4471"),
        ("FTX", "5:0:0", 0, "AAI"),
        ("FTX", "5:3:0", 0, "ESCALE PREVUE QUAI 12 EPAL"),
        ("GIS", "10:0:0", 0, "23"),
        # The consignee's order acknowledgement (not a bill), a handling code.
        ("RFF", "20:0:0", 0, "AAA"),
        ("RFF", "20:0:1", 0, "CMD-2026-0912"),
        ("HAN", "22:0:0", 0, "HWC"),
        # A handling note in two repetitions of C108 (syntax 4): both carried.
        ("FTX", "24:0:0", 0, "AAI"),
        ("FTX", "24:3:0", 0, "NE PAS GERBER"),
        ("FTX", "24:3:0", 1, "NE PAS RETOURNER"),
        # 12,000 lb is 5,443.108 kg to the gram: the field holds that, the pounds are carried,
        # their unit too (the kg field implies KGM).
        ("MEA", "25:2:0", 0, "LBR"),
        ("MEA", "25:2:1", 0, "12000"),
    ]
    [goods] = manifest.consignments[0].goods_items
    assert goods.gross_mass_kg == Decimal("5443.108")
    assert [e.qualifier for e in manifest.not_mapped[:2]] == ["ABO", "ABO"]


def test_the_fields_that_map_what_was_carried_before(manifest: CargoManifest) -> None:
    """What the generated benchmark manifest and real ones send, now in canonical fields."""
    assert manifest.issue_time == dt.datetime(2026, 12, 7, 6, 0, tzinfo=dt.UTC)  # DTM+137
    assert manifest.place_of_departure == "FRMRS"  # LOC+5 before the first CNI
    cv = manifest.conveyance
    assert (cv.carrier, cv.carrier_code, cv.carrier_scheme, cv.carrier_scheme_agency) == (
        "CMA CGM",
        "CMDU",
        "172",
        "20",
    )
    [reefer] = manifest.equipment
    # EQD+CN: a container, what TransportEquipment implies (typeCode only for another kind).
    assert (reefer.type_code, reefer.status, reefer.size_type) == (None, "3", "45R1")
    [goods] = manifest.consignments[0].goods_items
    assert (goods.marking_instruction, goods.marks) == ("24", ("EL DJAZAIR ALGER",))


def test_the_round_trip_keeps_the_not_mapped_section(manifest: CargoManifest) -> None:
    root = to_xml(manifest)
    assert validate(root) == []
    again = from_xml(to_bytes(root))
    assert again == manifest
    assert to_bytes(to_xml(again)) == to_bytes(root)
    [section] = root.findall("c:NotMapped", NS)
    assert section.getprevious() is not None
    assert etree.QName(section.getprevious()).localname == "Consignment"
    first, *_, repeated, unit, pounds = section
    assert (first.get("segment"), first.get("position"), first.get("qualifier"), first.text) == (
        "RFF",
        "4:0:0",
        "ABO",
        "ABO",
    )
    assert (repeated.get("position"), repeated.get("repetition"), repeated.text) == (
        "24:3:0",
        "1",
        "NE PAS RETOURNER",
    )
    assert (unit.get("position"), unit.text) == ("25:2:0", "LBR")
    assert pounds.get("repetition") is None and pounds.text == "12000"


def test_the_gateway_accepts_the_file_and_carries_the_same(manifest: CargoManifest) -> None:
    once = same(NOT_MAPPED.read_bytes())  # read once and read twice: the same documents
    assert once.rejection is None and once.rejected_messages == []
    [doc] = once.documents
    assert isinstance(doc, CargoManifest)
    assert _rows(doc.not_mapped) == _rows(manifest.not_mapped)


def test_a_travellers_list_carries_what_its_fields_do_not_hold() -> None:
    [plist] = paxlst.decode((DATA / "paxlst" / "unknown_role_and_parties.edi").read_bytes())
    assert _rows(plist.not_mapped) == [
        ("BGM", "2:0:0", 0, "745"),  # passenger list: no field says which list
        # DTM+132 (after the TDT) then DTM+232 (in the arrival's LOC group): the later one
        # is the list's arrival, the qualifier the field implies; the earlier is carried.
        ("DTM", "9:0:0", 0, "132"),
        ("DTM", "9:0:1", 0, "202612070800"),
        ("DTM", "9:0:2", 0, "203"),
        ("EMP", "35:1:1", 0, "110"),  # the rank's code list and agency
        ("EMP", "35:1:2", 0, "111"),
    ]
    assert plist.arrival_time == dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)


def test_a_value_cut_to_its_field_is_carried_whole() -> None:
    long_bill = "CMDU" + "7" * 40  # longer than 1004's an..35 (the directory would refuse it)
    data = (
        b"UNH+1+CUSCAR:D:95B:UN'BGM+85+M-1+9'CNI+1'RFF+BM:" + long_bill.encode() + b"'"
        b"GID+1+1:PK'UNT+6+1'"
    )
    [m] = cuscar.decode(data)
    assert m.consignments[0].transport_document == long_bill[:35]
    assert _rows(m.not_mapped) == [("RFF", "4:0:1", 0, long_bill)]


def test_a_message_carries_no_more_than_its_limit() -> None:
    residue = Residue(first=1, limit=2)
    seg = Segment("GIS", (("1",), ("2",)), 5)
    residue.account(seg, ())
    with pytest.raises(MappingError) as refused:
        residue.account(Segment("GIS", (("3",),), 6), ())
    assert (refused.value.reason, refused.value.segment) == ("TOO_MANY_NOT_MAPPED", 6)


def _with_notes(bills: int) -> bytes:
    """``bills`` generated bills, each goods item with a handling note no field holds (the
    UNT counts made right)."""
    lines = valid_cuscar(bills).decode("ascii").splitlines()
    out: list[str] = []
    for line in lines:
        if line.startswith("FTX+AAA+++"):
            out.append("FTX+AAI+++NOTE'")
        if line.startswith("UNH+"):
            start = len(out)
        if line.startswith("UNT+"):
            line = f"UNT+{len(out) - start + 1}+{line.split('+')[2]}"
        out.append(line)
    return "\n".join(out).encode("ascii") + b"\n"


def test_a_large_manifest_carries_the_same_streamed_and_signed() -> None:
    data = _with_notes(600)  # decoded as it is read again, signed without a tree
    once = same(data)  # read once, read twice: the same documents (NotMapped included)
    [doc] = once.documents
    assert isinstance(doc, CargoManifest) and len(doc.not_mapped) == 2 * 600
    streamed = b"".join(c14n.manifest_c14n(doc))
    assert streamed == etree.tostring(to_xml(doc), method="c14n")
    assert streamed.count(b'qualifier="AAI" segment="FTX">') == 2 * 600


def _translate(tmp_path: Path, data: bytes) -> tuple[int, str, list[str]]:
    path = tmp_path / "in.edi"
    path.write_bytes(data)
    result = CliRunner().invoke(main, ["translate", str(path)])
    return result.exit_code, result.stdout, result.stderr.splitlines()


def test_translate_says_each_element_carried_as_a_warning(tmp_path: Path) -> None:
    code, out, err = _translate(tmp_path, NOT_MAPPED.read_bytes())
    assert code == 0 and "<NotMapped>" in out
    carried = [line.split("\t") for line in err if line.startswith("warning: NOT_MAPPED\t")]
    assert len(carried) == 13
    assert carried[3] == [
        "warning: NOT_MAPPED",
        "message 1 segment 5 FTX element 3 component 0",
        "FTX+AAI element 3 component 0 'ESCALE PREVUE QUAI 12 EPAL': no canonical field holds "
        "it as sent, so the CargoManifest carries it verbatim in its NotMapped section "
        "(position 5:3:0)",
    ]
    assert carried[10][1] == "message 1 segment 24 FTX element 3 component 0 repetition 1"


def test_translate_caps_its_warnings(tmp_path: Path) -> None:
    code, _, err = _translate(tmp_path, _with_notes(600))
    assert code == 0
    assert len(err) == STDERR_LINES + 1
    assert err[-1] == (
        f"warning: TOO_MANY_PROBLEMS\tin.edi\tand {2 * 600 - STDERR_LINES} more warnings not shown"
    )


def test_positions_count_from_the_message_s_unh() -> None:
    """The second message of an interchange counts its segments from its own UNH."""
    head, rest = NOT_MAPPED.read_text(encoding="utf-8").split("UNH+1+", 1)
    body = "UNH+1+" + rest[: rest.index("UNZ+")]
    second = body.replace("UNH+1+", "UNH+2+").replace("UNT+29+1'", "UNT+29+2'")
    data = (head + body + second + "UNZ+2+CMA0007'\n").encode()
    first, other = (m for ic in parse(data) for m in ic.messages)
    assert other.segments[0].number == first.segments[-1].number + 1
    a, b = cuscar.decode(data)
    assert _rows(a.not_mapped) == _rows(b.not_mapped)


def test_a_random_not_mapped_section_round_trips() -> None:
    rng = random.Random(7)
    [m] = cuscar.decode(NOT_MAPPED.read_bytes())
    m.not_mapped = [
        NotMappedElement(
            tag=rng.choice(["FTX", "GIS", "RFF"]),
            segment=rng.randint(1, 9_999),
            element=rng.randint(0, 20),
            component=rng.randint(0, 9),
            value=rng.choice(["A", "é ü", "مؤسسة", "<&>", " x "]),
            repetition=rng.choice([0, 0, 1, 5]),
            qualifier=rng.choice([None, "AAI", "23"]),
        )
        for _ in range(50)
    ]
    root = to_xml(m)
    assert validate(root) == []
    assert from_xml(to_bytes(root)) == m
