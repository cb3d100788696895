"""Minimal inputs found by the fuzz campaign (docs/fuzzing.md), each once a crash or a hang.

The guarantee they pin: partner input gives a result or the gateway's own error
(EdifactError, MappingError, UnsafeXmlError, TrustError, a Rejection with a reason and
a sentence), never another exception and never a loop.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from lxml import etree

from adapters import aperak, contrl, cusres
from adapters.common import MappingError
from adapters.edifact import EdifactError, iter_interchange_segments, parse
from gateway.security.trust import DS, DevPki, TrustError, TrustStore
from gateway.service.pipeline import translate

# ---------------------------------------------------------------------------- EDIFACT lexer


@pytest.mark.parametrize(
    "data",
    [
        b"U\nNA'UNA",  # found: layout inside a UNA made the lexer re-sniff the same bytes forever
        b"UNB+UNOA:3+A+B+240101:1200+1'UNZ+0+1'U\r\nNA'UNA",  # the same after an interchange
    ],
)
def test_una_broken_by_layout_is_an_error_not_a_loop(data: bytes) -> None:
    with pytest.raises(EdifactError) as info:
        parse(data)
    assert info.value.tag == "UNA"
    with pytest.raises(EdifactError):
        list(iter_interchange_segments(data, chunk_size=3))


def test_una_broken_by_layout_is_a_syntax_rejection_with_a_contrl() -> None:
    result = translate(b"U\nNA'UNA")
    assert result.rejection is not None and result.rejection.reason == "EDIFACT_SYNTAX"
    assert "UNA" in result.rejection.sentence
    report = contrl.acknowledge(b"U\nNA'UNA")
    assert not report.accepted
    assert contrl.encode(report, now=dt.datetime(2026, 1, 1)).startswith(b"UNB+UNOA:")


def test_a_proper_second_una_still_switches_separators() -> None:
    data = (
        b"UNA:+.? 'UNB+UNOA:3+A+B+240101:1200+1'UNZ+0+1'\n"
        b"UNA|*.? 'UNB*UNOA|3*A*B*240101|1200*2'UNZ*0*2'"
    )
    assert [ic.control_reference for ic in parse(data)] == ["1", "2"]


# ---------------------------------------------------------------------------- response decoders


@pytest.mark.parametrize("data", [b"UNB", b"UNB+UNOA:3+A+B+240101:1200+1'UNZ+0+1'"])
def test_cusres_without_a_cusres_message_is_a_mapping_error(data: bytes) -> None:
    # found: StopIteration (a bare next()) escaped from cusres.decode
    with pytest.raises(MappingError) as info:
        cusres.decode(data)
    assert info.value.reason == "NO_MESSAGES"


@pytest.mark.parametrize("data", [b"UNB", b"UNB+UNOA:3+A+B+240101:1200+1'UNZ+0+1'"])
def test_aperak_without_an_aperak_message_is_a_mapping_error(data: bytes) -> None:
    # found: IndexError from decode_all(data)[0]
    assert aperak.decode_all(data) == []
    with pytest.raises(MappingError) as info:
        aperak.decode(data)
    assert info.value.reason == "NO_MESSAGES"


# ---------------------------------------------------------------------------- signatures


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return DevPki.create(tmp_path_factory.mktemp("pki"), ["commerce"])


@pytest.fixture(scope="module")
def signed(pki: DevPki) -> bytes:
    return pki.sign("commerce", etree.fromstring(b'<C xmlns="urn:example"><N>1</N></C>'))


def _reason(pki: DevPki, data: bytes) -> str:
    with pytest.raises(TrustError) as info:
        TrustStore.load(pki.trust_dir).verify(data, "commerce")
    assert info.value.sentence
    return info.value.reason


def test_signature_value_that_is_not_base64_is_refused(pki: DevPki, signed: bytes) -> None:
    # found: lxml DocumentInvalid from signxml's schema check escaped verify()
    root = etree.fromstring(signed)
    value = root.find(f".//{{{DS}}}SignatureValue")
    assert value is not None and value.text
    value.text = value.text.strip()[:-4] + "QQ==QQ=="
    assert _reason(pki, etree.tostring(root)) == "SIGNATURE_INVALID"


def test_certificate_with_an_unreadable_issuer_is_refused(pki: DevPki, signed: bytes) -> None:
    # found: cryptography reads the issuer lazily; its ValueError escaped the chain check
    root = etree.fromstring(signed)
    el = root.find(f".//{{{DS}}}X509Certificate")
    assert el is not None and el.text
    der = base64.b64decode("".join(el.text.split()))
    issuer = x509.load_der_x509_certificate(der).issuer.public_bytes()
    # The first attribute value of the issuer: its string tag becomes NULL.
    at = der.find(b"\x06\x03\x55\x04", der.find(issuer)) + 5
    el.text = base64.b64encode(der[:at] + b"\x05" + der[at + 1 :]).decode()
    assert _reason(pki, etree.tostring(root)) == "CERTIFICATE_MALFORMED"


def test_long_segment_in_tiny_pieces_reads_the_same() -> None:
    # found: a long segment fed in small chunks was cut again at every chunk (quadratic time);
    # now chunks without a terminator are only appended, and tiny pieces are joined first.
    long = b"A" * 20_000
    data = b"UNB+UNOA:3+A+B+240101:1200+1'UNH+1+X:D:96A:UN'FTX+" + long + b"?'x'UNT+3+1'UNZ+1+1'"
    whole = [(s.tag, s.elements) for s in iter_interchange_segments(data)]
    assert whole[2] == ("FTX", ((long.decode() + "'x",),))
    for pieces in ([data[i : i + 1] for i in range(len(data))], [data[:60], data[60:]]):
        assert [(s.tag, s.elements) for s in iter_interchange_segments(pieces)] == whole
    for size in (7, 1000):
        assert [
            (s.tag, s.elements) for s in iter_interchange_segments(data, chunk_size=size)
        ] == whole


def test_tiny_pieces_of_a_network_body_are_joined() -> None:
    from adapters.edifact.stream import _read_chunks

    chunks = list(_read_chunks([b"x"] * 10_000, 1 << 16))
    assert [len(c) for c in chunks] == [4096, 4096, 1808]
    assert list(_read_chunks([b"y" * 5000, b"z"], 1 << 16)) == [b"y" * 5000, b"z"]


def test_contrl_for_a_blank_sender_is_addressed_to_unknown() -> None:
    # found: b"UNB++ '" gave a CONTRL whose recipient was a space, which our own parser
    # (and partners') read as no recipient at all.
    out = contrl.encode(contrl.acknowledge(b"UNB++ 'U"), now=dt.datetime(2026, 1, 1))
    assert out.startswith(b"UNB+UNOA:3+CUSTOMS+UNKNOWN+")
    assert contrl.acknowledge(out).accepted


# ---------------------------------------------------------------------------- ministry XML


def test_non_ascii_attribute_name_is_a_schema_problem_not_a_crash() -> None:
    # found: lxml serialises such a name as a character reference (ASCII output), which is not
    # XML, and the schema explainer (xmlschema) raised XMLResourceParseError out of decode().
    from adapters import ephyto

    sample = Path(__file__).resolve().parents[2] / "samples/ministries/ephyto-phyto-certificate.xml"
    data = sample.read_bytes().replace(b'unitCode="', 'unitCod\u0663e="'.encode(), 1)
    with pytest.raises(MappingError) as info:
        ephyto.decode(data)
    assert info.value.reason == "LPCO_SOURCE_INVALID"
    assert "unitCod\u0663e" in info.value.sentence


def test_date_with_a_huge_year_is_a_schema_problem_not_a_crash() -> None:
    # found: the schema explainer (xmlschema/elementpath) raised OverflowError on the year
    from adapters import lpco_national

    sample = Path(__file__).resolve().parents[2] / "samples/ministries/national-import-licence.xml"
    data = sample.read_bytes().replace(b"<IssueDate>", b"<IssueDate>" + b"9" * 40, 1)
    with pytest.raises(MappingError) as info:
        lpco_national.decode(data)
    assert info.value.reason == "LPCO_SOURCE_INVALID"


# ---------------------------------------------------------------------------- EDIFACT to XML


def test_control_character_in_a_value_is_refused_before_the_xml() -> None:
    # found: a BEL in a CUSCAR value (accepted with a charset warning) reached lxml, whose
    # ValueError escaped translate(); now the adapters refuse it with a MappingError.
    data = (  # the minimised input
        b"UNB+UNOC:3+Z+C+261129:0800+R0001'UNH+1+CUSCAR:D:B:N'BGM++9'TDT+++++:::\x07'LOC'DT3'"
        b"D03'EQD++MSCU1234566'MEA'CNI'L39'LO9'GID'PIA'FPS'MEA'SGP+MSCU1234566'C00'CN0'"
        b"UNT+19+1'UNZ+1+R0001"
    )
    result = translate(data)
    assert result.rejection is not None
    assert result.rejection.reason == "INVALID_CHARACTER"
    assert result.rejection.problems[0].segment == 4
    assert "U+0007" in result.rejection.sentence


def test_paxlst_refuses_control_characters_too() -> None:
    from adapters import paxlst

    data = (
        b"UNB+UNOA:4+A+B+20240101:1200+1'UNH+1+PAXLST:D:02B:UN:IATA'BGM+250+X\x1f'UNT+3+1'UNZ+1+1'"
    )
    with pytest.raises(MappingError) as info:
        paxlst.decode(data)
    assert info.value.reason == "INVALID_CHARACTER"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"<IssueDate>2026-01-05<", b"<IssueDate>20026-07-31<"),  # found: a 5-digit xs:date year
        (b"<Version>1<", b"<Version>" + b"1" * 5000 + b"<"),  # int() refuses 4301+ digits
        (b"<LineNumber>1<", b"<LineNumber>" + b"1" * 5000 + b"<"),
    ],
)
def test_national_lpco_values_python_cannot_hold_are_invalid_fields(old: bytes, new: bytes) -> None:
    from adapters import lpco_national

    sample = Path(__file__).resolve().parents[2] / "samples/ministries/national-import-licence.xml"
    data = sample.read_bytes()
    assert old in data
    with pytest.raises(MappingError) as info:
        lpco_national.decode(data.replace(old, new, 1))
    assert info.value.reason == "LPCO_FIELD_INVALID"


def test_ubl_and_ephyto_numbers_of_thousands_of_digits_are_invalid_fields() -> None:
    from adapters import ephyto, ubl_origin

    root = Path(__file__).resolve().parents[2] / "samples/ministries"
    ubl = (root / "ubl-certificate-of-origin.xml").read_bytes()
    ubl = ubl.replace(b"<cbc:VersionID>1<", b"<cbc:VersionID>" + b"1" * 5000 + b"<", 1)
    sps = (root / "ephyto-phyto-certificate.xml").read_bytes()
    sps = sps.replace(b"<ram:SequenceNumeric>1<", b"<ram:SequenceNumeric>" + b"1" * 5000 + b"<", 1)
    for decode, data in ((ubl_origin.decode, ubl), (ephyto.decode, sps)):
        with pytest.raises(MappingError) as info:
            decode(data)
        assert info.value.reason == "LPCO_FIELD_INVALID"


def test_syntax_version_of_thousands_of_digits_is_not_a_crash() -> None:
    # found in the campaign's review of int() calls: UNB S001 version with 5000 digits
    data = b"UNB+UNOA:" + b"1" * 5000 + b"+A+B+240101:1200+1'UNH+1+X:D:96A:UN'UNT+2+1'UNZ+1+1'"
    assert parse(data)[0].syntax_version == 0
    report = contrl.acknowledge(data)
    assert all("internal error" not in e.sentence for e in report.all_errors())
    assert translate(data).rejection is not None


def test_ubl_goods_item_id_of_thousands_of_digits_counts_by_position() -> None:
    from adapters import ubl_origin

    sample = (
        Path(__file__).resolve().parents[2] / "samples/ministries/ubl-certificate-of-origin.xml"
    )
    data = sample.read_bytes().replace(
        b"<cbc:ID>1</cbc:ID>", b"<cbc:ID>" + b"7" * 5000 + b"</cbc:ID>", 1
    )
    assert ubl_origin.decode(data).goods[0].sequence == 1
