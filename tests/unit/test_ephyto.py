"""ePhyto / TRACES SPSCertificate: the profile XSD on the real samples, and the adapter."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from adapters.common import MappingError
from adapters.ephyto import RSM, decode, find_certificate
from gateway.domain.lpco import to_xml
from gateway.domain.validation import validate
from tests.corpus import VENDORED_CORPUS

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "ministries"
PROFILE = "profiles/sps-profile.xsd"
# The IPPC sample is MIT and vendored; the TRACES CHED (licence unverified) is read from the corpus.
IPPC_SAMPLE = VENDORED_CORPUS / "xml" / "ephyto" / "samples" / "SPSCertificateContent.xml"


def ched(corpus: Path) -> bytes:
    raw = (corpus / "xml" / "vet-traces" / "samples" / "CHEDA.TEMPLATE.xml").read_bytes()
    return raw.replace(b"{{CHED_ID}}", b"CHEDA.FR.2026.0001234")


def test_profile_accepts_the_real_ippc_sample() -> None:
    root = etree.parse(str(IPPC_SAMPLE)).getroot()
    assert validate(root, schema=PROFILE) == []


def test_profile_accepts_the_real_traces_ched(corpus: Path) -> None:
    cert = find_certificate(etree.fromstring(ched(corpus)))
    assert cert is not None and validate(cert, schema=PROFILE) == []


def test_profile_accepts_our_sample_and_refuses_a_certificate_without_number() -> None:
    data = (SAMPLES / "ephyto-phyto-certificate.xml").read_bytes()
    assert validate(etree.fromstring(data), schema=PROFILE) == []
    broken = etree.fromstring(data)
    number = broken.find(f"{{{RSM}}}SPSExchangedDocument")[1]
    number.getparent().remove(number)
    problems = validate(broken, schema=PROFILE)
    assert problems


def test_real_ippc_sample_decodes() -> None:
    doc = decode(IPPC_SAMPLE.read_bytes())
    assert (doc.number, doc.type_code, doc.status, doc.kind) == (
        "123ABC",
        "SPS-851",
        "issued",
        "certificate",
    )
    assert str(doc.issue_date) == "2016-04-22"
    assert doc.holder is not None and doc.holder.tax_id == "0123456789"
    assert doc.goods[0].hs_code == "06029048" and doc.goods[0].quantity is not None
    assert doc.origin_country == "AR" and doc.destination_country == "EC"
    assert len(doc.attachments) == 6 and all(len(a.sha256) == 64 for a in doc.attachments)
    assert validate(to_xml(doc), schema="lpco-1.xsd") == []


def test_real_traces_ched_decodes(corpus: Path) -> None:
    doc = decode(ched(corpus))
    assert doc.number == "CHEDA.FR.2026.0001234" and doc.type_code == "SPS-636"
    assert doc.issuer.country == "FR"
    assert [g.hs_code for g in doc.goods][1:] == ["0101", "0101", "01062000"]
    assert ("bl", "123") in [(r.kind, r.value) for r in doc.document_references]
    assert validate(to_xml(doc), schema="lpco-1.xsd") == []


def test_our_sample_maps_bl_and_attachment_hash() -> None:
    doc = decode((SAMPLES / "ephyto-phyto-certificate.xml").read_bytes())
    assert [(r.kind, r.value) for r in doc.document_references] == [
        ("bl", "MSCUAR2026031"),
        ("other", "LAB-2026-77"),
    ]
    import hashlib

    assert (
        doc.attachments[0].sha256
        == hashlib.sha256(b"Laboratory report: no pests found.\n").hexdigest()
    )


def test_withdrawn_certificate_is_revoked_and_unknown_status_is_refused() -> None:
    data = (SAMPLES / "ephyto-phyto-certificate.xml").read_bytes()
    assert decode(data.replace(b"<ram:StatusCode>70<", b"<ram:StatusCode>40<")).status == "revoked"
    with pytest.raises(MappingError) as info:
        decode(data.replace(b"<ram:StatusCode>70<", b"<ram:StatusCode>99<"))
    assert info.value.reason == "LPCO_STATUS_UNSUPPORTED"
