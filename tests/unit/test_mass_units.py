"""A mass's unit (MEA C174 / CNT C270 6411) is mapped only when the field implies it (issue #16).

The canonical mass fields are in kilograms: they imply UN/ECE Recommendation 20's ``KGM``
(6411, an..3 to D.02B, an..8 from D.03A). A mass sent in another unit the codecs convert
(``TNE``, ``LBR``, CBP's ``K`` and ``L`` ...) is converted into the field and its unit carried
verbatim beside it in ``NotMapped``, so that the document still says which was sent: ``0 K``
and ``0 L`` are both 0 kg, and were the same document (hypothesis found them,
``test_lossless.py``). A unit the codecs do not know converts nothing: the mass is carried whole.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters import cuscar
from adapters.call_segments import gross_mass
from adapters.edifact import Segment
from adapters.residue import Residue
from gateway.domain.model import CargoManifest, NotMappedElement
from tests.lossless import check, messages_of

HEAD = (
    "UNB+UNOC:3+APCS:ZZZ+DOUANE:ZZZ+261207:0600+MEA1'UNH+1+CUSCAR:D:95B:UN'"
    "BGM+85+MAN-DZORN-2612-0007+9'TDT+20+ORN12+1+++++9454436:146:11:TASSILI II'"
    "LOC+60+DZORN:139:6'DTM+132:20261208:102'CNI+1+BL-DZORN-77'GID+1+40:CT'"
)


def _cuscar(*segments: str) -> bytes:
    body = "".join(f"{s}'" for s in segments)
    count = 8 + len(segments)  # UNH to GID: 7, and UNT
    return f"{HEAD}{body}UNT+{count}+1'UNZ+1+MEA1'".encode()


def _manifest(data: bytes) -> CargoManifest:
    [manifest] = cuscar.decode(data)
    return manifest


def _carried(manifest: CargoManifest, tag: str) -> list[tuple[str, str]]:
    return [(e.position, e.value) for e in manifest.not_mapped if e.tag == tag]


def _lossless(data: bytes) -> list[str]:
    [(ic, message, codec)] = list(messages_of(data))
    verdict = check(message, ic, codec)
    assert verdict.accepted
    return verdict.problems


@pytest.mark.parametrize("unit", ["K", "L", "TNE", "LBR", "GRM", "KG", "TON", "kgm"])
def test_a_zero_mass_in_a_unit_other_than_kgm_carries_its_unit(unit: str) -> None:
    """``MEA+AAE+G+K:0`` (the falsifying example): the field holds 0 kg, the K is carried."""
    data = _cuscar(f"MEA+AAE+G+{unit}:0")
    manifest = _manifest(data)
    [goods] = manifest.consignments[0].goods_items
    assert goods.gross_mass_kg == Decimal("0.000")
    assert _carried(manifest, "MEA") == [("8:2:0", unit)]
    assert _lossless(data) == []


def test_kilograms_and_pounds_of_nothing_are_two_documents() -> None:
    kilograms = _manifest(_cuscar("MEA+AAE+G+K:0"))
    pounds = _manifest(_cuscar("MEA+AAE+G+L:0"))
    assert kilograms.consignments == pounds.consignments
    assert kilograms.not_mapped != pounds.not_mapped


def test_a_converted_mass_carries_its_unit_and_kgm_is_implied() -> None:
    data = _cuscar("MEA+AAE+G+TNE:2,5", "GID+2+3:PK", "MEA+AAE+G+KGM:12", "GID+3+1:PK")
    manifest = _manifest(data)
    assert [g.gross_mass_kg for g in manifest.consignments[0].goods_items] == [
        Decimal("2500.000"),
        Decimal("12.000"),
        None,
    ]
    assert _carried(manifest, "MEA") == [("8:2:0", "TNE")]  # KGM: what the field implies


def test_pounds_rounded_to_grams_carry_both_the_unit_and_the_value() -> None:
    manifest = _manifest(_cuscar("MEA+AAE+G+LBR:12000"))
    assert manifest.consignments[0].goods_items[0].gross_mass_kg == Decimal("5443.108")
    assert _carried(manifest, "MEA") == [("8:2:0", "LBR"), ("8:2:1", "12000")]


@pytest.mark.parametrize("unit", ["KGMS", "KILOGRAM", "K1", "MTQ"])
def test_a_unit_not_converted_is_carried_whole_not_read_as_kilograms(unit: str) -> None:
    """6411 is a code of up to 8 characters: one the codecs do not know converts nothing."""
    data = _cuscar(f"MEA+AAE+G+{unit}:750")
    manifest = _manifest(data)
    assert manifest.consignments[0].goods_items[0].gross_mass_kg is None
    assert ("8:2:0", unit) in _carried(manifest, "MEA")
    assert ("8:2:1", "750") in _carried(manifest, "MEA")
    assert _lossless(data) == []


def test_the_volume_field_implies_cubic_metres() -> None:
    manifest = _manifest(_cuscar("MEA+AAE+AAW+MTQ:0"))
    assert manifest.consignments[0].goods_items[0].volume_m3 == Decimal(0)
    assert _carried(manifest, "MEA") == []


@pytest.mark.parametrize(("unit", "carried"), [("K", [("9:0:2", "K")]), ("KGM", []), ("", [])])
def test_a_control_total_mass_carries_a_unit_other_than_kgm(
    unit: str, carried: list[tuple[str, str]]
) -> None:
    """``CNT+7:0:K`` (the falsifying example): C270's 6411 is the unit of the total mass."""
    data = _cuscar("MEA+AAE+G+KGM:0", f"CNT+7:0:{unit}".rstrip(":"))
    manifest = _manifest(data)
    totals = manifest.consignments[0].control_totals or manifest.control_totals
    assert totals is not None and totals.gross_mass_kg == Decimal("0.000")
    assert _carried(manifest, "CNT") == carried
    assert _lossless(data) == []


@pytest.mark.parametrize(("unit", "carried"), [("L", ["L"]), ("KGM", []), ("TNE", ["TNE"])])
def test_the_call_codecs_carry_the_unit_of_a_converted_mass(unit: str, carried: list[str]) -> None:
    """CUSREP, IFTDGN and COARRI read their gross masses with ``gross_mass``."""
    residue = Residue(first=1)
    seg = Segment("MEA", (("AAE",), ("G",), (unit, "0")), 7)
    mass, shape = gross_mass(seg, ".", residue)
    assert (mass, shape) == (Decimal("0.000"), (1, 1, 2))
    entries: list[NotMappedElement] = residue.finish()
    assert [(e.position, e.value) for e in entries] == [("7:2:0", u) for u in carried]


def test_an_iftdgn_mass_of_nothing_in_cbp_kilograms_is_lossless() -> None:
    data = (
        b"UNB+UNOC:3+APCS:ZZZ+CUSTOMS:ZZZ+261130:0615+AP000007'UNH+1+IFTDGN:D:95B:UN'"
        b"BGM+ZZZ:::FAL7 DANGEROUS GOODS+DG-DZSKI-2612-0042+9'"
        b"TDT+20+0MA1RN1MA+1++CMA:172:20:CMA CGM+++9454436:146:11:CMA CGM TAGE:MT'"
        b"LOC+60+DZSKI:139:6'DGS+IMD+3+1263+023:CEL+2+F-E,S-E'FTX+AAD+++PEINTURE'"
        b"MEA+AAE+G+K:0'UNT+9+1'UNZ+1+AP000007'"
    )
    [(ic, message, codec)] = list(messages_of(data))
    assert message.type == "IFTDGN"
    doc = codec.decode(message, ic, None, {})
    assert [(e.position, e.value) for e in doc.not_mapped if e.tag == "MEA"] == [("7:2:0", "K")]
    assert check(message, ic, codec).problems == []
