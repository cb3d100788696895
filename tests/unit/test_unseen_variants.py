"""Message content as real implementations send it, unlike our samples (tests/data/unseen/variants).

Each file is read by the real pipeline (``translate``: syntax, directory, codec, business rules,
canonical schema) and, for EDIFACT, held to the lossless property (``tests/lossless.check``):
every data element mapped or carried verbatim. Then what each file showed is asserted: the
values a codec used to get wrong (a birth year a century late, a dangerous goods' mass taken
for its container's, goods placed by SGP in no container, an expiry date behind a processing
instruction lost, a dotted HS code dropped).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from adapters import coarri, ephyto, iftdgn, lpco_national, paxlst, ubl_origin
from adapters.common import DecodeContext
from adapters.edifact import parse
from gateway.domain.calls import DangerousGoodsNotification, TerminalOperationsReport
from gateway.domain.model import PassengerVehicleList
from gateway.security.trust import DevPki, TrustStore
from gateway.service.call_dangerous import check_dangerous
from gateway.service.pipeline import translate
from gateway.storage.call_records import DeclaredEquipment, NotifiedDangerous
from tests.lossless import check, messages_of

VARIANTS = Path(__file__).resolve().parents[1] / "data" / "unseen" / "variants"
EDIFACT = sorted(VARIANTS.glob("*.edi"))
REFUSED = {"paxlst-api-flight-no-bgm-number.edi": "MISSING_DOCUMENT_NUMBER"}


def _read(name: str) -> bytes:
    return (VARIANTS / name).read_bytes()


@pytest.mark.parametrize("path", EDIFACT, ids=lambda p: p.name)
def test_each_edifact_variant_is_decided_by_the_pipeline(path: Path) -> None:
    result = translate(path.read_bytes(), DecodeContext(sender="apcs"))
    refused = REFUSED.get(path.name)
    if refused is None:
        assert result.rejection is None, result.rejection
        assert result.documents
    else:
        assert result.rejection is not None and not result.documents
        assert [p.code for p in result.rejection.problems] == [refused]


@pytest.mark.parametrize("path", EDIFACT, ids=lambda p: p.name)
def test_each_accepted_edifact_variant_is_lossless(path: Path) -> None:
    for interchange, message, codec in messages_of(path.read_bytes()):
        verdict = check(message, interchange, codec)
        assert verdict.accepted == (path.name not in REFUSED)
        assert verdict.problems == []


# ---------------------------------------------------------------- PAXLST


def _list(name: str) -> PassengerVehicleList:
    (plist,) = paxlst.decode(_read(name))
    return plist


def test_api_dates_without_a_format_are_yymmdd_and_a_birth_is_before_the_list() -> None:
    """WCO/IATA/ICAO API: ``DTM+329:570121`` with no 2379 is 21 January 1957."""
    plist = _list("paxlst-api-flight-d05b.edi")
    doe, mohammed = plist.travellers
    assert doe.birth_date == dt.date(1957, 1, 21)
    assert [(d.number, d.expiry_date) for d in doe.documents] == [
        ("MB140241", dt.date(2008, 10, 21)),
        ("VS1234567", dt.date(2027, 3, 1)),
    ]
    assert mohammed.birth_date == dt.date(2001, 12, 31) and mohammed.given_names is None
    carried = {(e.tag, e.value) for e in plist.not_mapped}
    assert ("DTM", "570121") not in carried  # mapped, no longer only carried
    assert ("NAT", "USA") in carried  # ISO alpha-3: no canonical field holds it, carried


def test_a_two_digit_year_of_birth_is_not_in_the_future() -> None:
    """``DTM+329:570121:101`` read as EDIFACT reads 2-digit years gave 2057-01-21."""
    plist = _list("paxlst-birth-date-format-101.edi")
    assert plist.travellers[0].birth_date == dt.date(1957, 1, 21)
    assert plist.travellers[0].documents[0].expiry_date == dt.date(2030, 10, 21)
    # The century turns on the day the interchange was prepared (UNB 0017: 2026-12-06).
    late = _read("paxlst-birth-date-format-101.edi").replace(
        b"DTM+329:570121:101", b"DTM+329:261207:101"
    )
    (plist,) = paxlst.decode(late)
    assert plist.travellers[0].birth_date == dt.date(1926, 12, 7)
    same_day = late.replace(b"DTM+329:261207:101", b"DTM+329:261206:101")
    (plist,) = paxlst.decode(same_day)
    assert plist.travellers[0].birth_date == dt.date(2026, 12, 6)


def test_a_crew_list_in_utf8_keeps_its_names_and_documents() -> None:
    plist = _list("paxlst-crew-list-unow-arabic.edi")
    assert [(t.role, t.family_name, t.given_names) for t in plist.travellers] == [
        ("crew", "بن علي", "محمد أمين"),
        ("crew", "Ñúñez Íñiguez", "José-María"),
        ("crew", "ZIANI", None),
    ]
    captain = plist.travellers[0]
    assert [(d.kind, d.number, d.issuing_country) for d in captain.documents] == [
        ("P", "A11223344", "DZ"),
        ("ZZZ", "SB-998877", "DZ"),
    ]
    assert plist.arrival_time == dt.datetime(
        2026, 12, 6, 10, tzinfo=dt.timezone(dt.timedelta(hours=1))
    )
    assert plist.crew_total == 3


# ---------------------------------------------------------------- COARRI


def test_a_dangerous_goods_mass_and_an_on_carriage_place_are_not_the_containers() -> None:
    """D00B SG9 DGS-FTX-MEA and SG12 TDT-LOC-DTM come after the container's own segments."""
    (report,) = coarri.decode(_read("coarri-smdg-d00b-dgs-oncarriage.edi"))
    assert isinstance(report, TerminalOperationsReport)
    full, empty = report.movements
    assert (full.gross_mass_kg, full.place_of_discharge) == (Decimal("24500.500"), "DZALG")
    assert full.seals == ("FR0042117", "CU998877")
    # Its only MEA is its UN 1719's, its only LOC+11 its on-carriage's: neither is the container's.
    assert (empty.container, empty.full) == ("CMAU3000014", False)
    assert (empty.gross_mass_kg, empty.place_of_discharge, empty.time) == (None, None, None)
    carried = {(e.tag, e.value) for e in report.not_mapped}
    assert {("MEA", "1200"), ("LOC", "DZBJA"), ("DTM", "202612010940+0100")} <= carried


# ---------------------------------------------------------------- IFTDGN


def test_goods_placed_by_sgp_are_in_their_containers() -> None:
    """D.96A: the equipment is listed first (SG5), each DGS's container is its SGP."""
    (dgn,) = iftdgn.decode(_read("iftdgn-d96a-sgp-placement.edi"))
    assert isinstance(dgn, DangerousGoodsNotification)
    assert [(i.un_number, i.hazard_class, i.packing_group, i.container) for i in dgn.items] == [
        ("1263", "3", "2", "CMAU3000009"),
        ("1719", "8", "3", "CMAU3000009"),
        ("1075", "2.1", None, "CMAU3000014"),
    ]
    assert dgn.items[2].flashpoint == Decimal("-104")
    carried = {(e.tag, e.value) for e in dgn.not_mapped}
    assert ("SGP", "40") in carried  # the package count: no field of the item holds it
    # The manifest declaring the same goods in the same containers: nothing to report (the
    # items in no container were DG_NOT_NOTIFIED for both containers, DG_NOT_DECLARED for "").
    declared = [
        DeclaredEquipment(
            "apcs", "MAN-1", 0, "CMAU3000009", "CMDUMRS0421", un_numbers=("1263", "1719")
        ),
        DeclaredEquipment("apcs", "MAN-1", 1, "CMAU3000014", "CMDUMRS0422", un_numbers=("1075",)),
    ]
    notified = [
        NotifiedDangerous(
            "apcs",
            dgn.document_number,
            i.sequence,
            i.un_number,
            i.hazard_class,
            container=i.container or "",
        )
        for i in dgn.items
    ]
    assert check_dangerous(notified, declared) == []


def test_a_second_placement_of_one_dgs_is_carried() -> None:
    data = _read("iftdgn-d96a-sgp-placement.edi").replace(
        b"SGP+CMAU3000014+20'", b"SGP+CMAU3000014+10'SGP+CMAU3000022+10'"
    )
    data = data.replace(b"UNT+26+1'", b"UNT+27+1'")
    (dgn,) = iftdgn.decode(data)
    assert dgn.items[2].container == "CMAU3000014"
    assert ("SGP", "CMAU3000022") in {(e.tag, e.value) for e in dgn.not_mapped}


# ---------------------------------------------------------------- ministry XML


def test_a_processing_instruction_in_a_signed_value_does_not_hide_it(tmp_path: Path) -> None:
    """Canonicalisation keeps a PI and the schema ignores it: ``.text`` stopped at it, and the
    signed licence's expiry date was lost (a licence valid for ever)."""
    pki = DevPki.create(tmp_path, ["commerce"])
    store = TrustStore.load(pki.trust_dir)
    signed = pki.sign(
        "commerce", etree.fromstring(_read("national-lpco-processing-instructions.xml"))
    )
    verified = store.verify(signed, "commerce")
    assert b"<?ministry-registry checked?>2026-12-31" in verified.signed_data
    doc = lpco_national.decode_element(verified.root, verified.signed_data, DecodeContext())
    assert doc.expiry_date == dt.date(2026, 12, 31)
    assert [g.hs_code for g in doc.goods] == ["721049", "721391"]
    assert doc.holder is not None and doc.holder.name == "دلتا للصلب ش.م.م"


def test_an_ephyto_in_the_default_namespace_with_two_items_and_a_dotted_hs_code() -> None:
    doc = ephyto.decode(_read("ephyto-default-namespace-two-items.xml"))
    assert [(g.sequence, g.hs_code, g.description) for g in doc.goods] == [
        (1, "06029048", "Live plants, rooted, for planting"),
        (2, "06029048", "نخيل التمر، شتلات للغرس"),
    ]
    assert doc.goods[1].quantity is not None and doc.goods[1].quantity.value == Decimal("350.5")


def test_digits_of_other_scripts_are_no_hs_code() -> None:
    data = _read("ephyto-default-namespace-two-items.xml").replace(
        b"0602.90.48", "٠٦٠٢٩٠٤٨".encode()
    )
    doc = ephyto.decode(data)
    assert [g.hs_code for g in doc.goods] == ["06029048", None]


def test_a_ubl_hs_code_with_a_processing_instruction_or_other_digits() -> None:
    sample = Path(__file__).resolve().parents[2] / "samples" / "ministries"
    data = (sample / "ubl-certificate-of-origin.xml").read_bytes()
    assert b'listID="HS">520942<' in data
    doc = ubl_origin.decode(data.replace(b'listID="HS">520942<', b'listID="HS"><?v 2022?>5209.42<'))
    assert [g.hs_code for g in doc.goods] == ["520942"]
    doc = ubl_origin.decode(data.replace(b'listID="HS">520942<', 'listID="HS">٥٢٠٩٤٢<'.encode()))
    assert [g.hs_code for g in doc.goods] == [None]


def test_every_variant_file_is_listed_in_the_readme() -> None:
    readme = (VARIANTS / "README.md").read_text()
    for path in VARIANTS.iterdir():
        if path.name != "README.md":
            assert f"`{path.name}`" in readme
    assert parse(_read("paxlst-api-flight-d05b.edi"))[0].messages
