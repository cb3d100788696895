"""The national LPCO format: schema, adapter, and the examples of docs/national-lpco.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from adapters.common import DecodeContext, MappingError
from adapters.lpco_national import decode
from gateway.domain.lpco import to_xml
from gateway.domain.validation import validate

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "ministries"
DOC = ROOT / "docs" / "national-lpco.md"


@pytest.mark.parametrize(
    "name", ["national-import-licence.xml", "national-pharma-authorisation.xml"]
)
def test_samples_are_valid_and_decode(name: str) -> None:
    data = (SAMPLES / name).read_bytes()
    assert validate(etree.fromstring(data), schema="national-lpco-1.xsd") == []
    doc = decode(data, DecodeContext(sender="commerce"))
    assert doc.header.sender == "commerce" and doc.header.business_reference == doc.number
    assert validate(to_xml(doc), schema="lpco-1.xsd") == []


def test_import_licence_mapping() -> None:
    doc = decode((SAMPLES / "national-import-licence.xml").read_bytes())
    assert (doc.kind, doc.type_code, doc.version, doc.status) == (
        "licence",
        "IL-STEEL",
        1,
        "issued",
    )
    assert (
        doc.issuer.id == "MOC-ITD"
        and doc.holder is not None
        and doc.holder.tax_id == "EG-100-200-300"
    )
    assert [g.hs_code for g in doc.goods] == ["721049", "721391"]
    assert doc.quantity_allowed is not None and str(doc.quantity_allowed.value) == "500"
    assert doc.references() == ["IL-2026-000123", "IL-2026-000123/v1", "MEDU1234567"]
    assert doc.attachments[0].sha256.startswith("9f86d0")


def test_pharma_authorisation_keeps_product_and_ingredient() -> None:
    doc = decode((SAMPLES / "national-pharma-authorisation.xml").read_bytes())
    assert doc.kind == "permit"
    assert doc.goods[0].description is not None
    assert doc.goods[0].description.startswith(
        "Amoxicillin 500 mg capsules (amoxicillin trihydrate)"
    )


def test_pharma_line_without_pharma_block_is_refused() -> None:
    data = (SAMPLES / "national-pharma-authorisation.xml").read_bytes()
    data = re.sub(rb"<Pharma>.*</Pharma>", b"", data, flags=re.S)
    with pytest.raises(MappingError) as info:
        decode(data)
    assert info.value.reason == "LPCO_PHARMA_DETAILS_MISSING"


def test_schema_violation_is_reported_with_a_path() -> None:
    data = (
        (SAMPLES / "national-import-licence.xml")
        .read_bytes()
        .replace(b"<HsCode>721049<", b"<HsCode>72.10<")
    )
    with pytest.raises(MappingError) as info:
        decode(data)
    assert info.value.reason == "LPCO_SOURCE_INVALID" and "HsCode" in info.value.where


def test_every_example_in_the_documentation_is_valid() -> None:
    """A ministry developer implements the format from the page: its examples must be right."""
    text = DOC.read_text("utf-8")
    examples = re.findall(r"```xml\n(.*?)```", text, flags=re.S)
    documents = [e for e in examples if "<LpcoDocument" in e]
    assert len(documents) >= 3
    for example in documents:
        root = etree.fromstring(example.encode())
        assert validate(root, schema="national-lpco-1.xsd") == [], example[:200]
        decode(example.encode())


def test_the_documented_xmlsec1_template_signs_what_the_gateway_accepts(tmp_path: Path) -> None:
    """Interoperability: a ministry following the page with xmlsec1 gets through the trust store."""
    import subprocess

    from gateway.security.trust import DevPki, TrustStore

    text = DOC.read_text("utf-8")
    examples = re.findall(r"```xml\n(.*?)```", text, flags=re.S)
    template = next(e for e in examples if e.startswith("<ds:Signature"))
    licence = next(e for e in examples if "<LpcoDocument" in e)
    pki = DevPki.create(tmp_path, ["commerce"])
    # The documented RSA variant: a 2048-bit RSA key issued by the ministry's CA.
    from cryptography.hazmat.primitives.asymmetric import rsa

    key, cert = pki.issue(
        "commerce", "commerce rsa signer", key=rsa.generate_private_key(65537, 2048)
    )
    from cryptography.hazmat.primitives import serialization

    key_path, cert_path = tmp_path / "key.pem", tmp_path / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    unsigned = tmp_path / "unsigned.xml"
    unsigned.write_text(licence.replace("</LpcoDocument>", template + "</LpcoDocument>"))
    signed = tmp_path / "signed.xml"
    subprocess.run(
        [
            "xmlsec1",
            "--sign",
            "--privkey-pem",
            f"{key_path},{cert_path}",
            "--output",
            str(signed),
            str(unsigned),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    verified = TrustStore.load(pki.trust_dir).verify(signed.read_bytes(), "commerce")
    assert decode(verified.signed_data).number == "IL-2026-000123"
