"""UBL 2.3 CertificateOfOrigin: our instances are valid UBL, and the adapter maps them."""

from __future__ import annotations

from pathlib import Path

import pytest
import xmlschema

from adapters.common import MappingError
from adapters.ubl_origin import decode
from gateway.domain.lpco import to_xml
from gateway.domain.validation import validate

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = [
    ROOT / "samples" / "ministries" / "ubl-certificate-of-origin.xml",
    ROOT / "tests" / "data" / "lpco" / "ubl-origin-amended.xml",
    ROOT / "tests" / "data" / "lpco" / "ubl-origin-revoked.xml",
]


@pytest.fixture(scope="module")
def ubl_schema(corpus: Path) -> xmlschema.XMLSchema:
    # As SOURCES.tsv says: the CCTS, xmldsig and XAdES modules are given by location.
    eco = (corpus / "xml" / "eco" / "ubl-2.3").resolve()
    oasis = eco / "common-oasis"
    return xmlschema.XMLSchema(
        str(eco / "maindoc" / "UBL-CertificateOfOrigin-2.3.xsd"),
        locations={
            "urn:un:unece:uncefact:data:specification:CoreComponentTypeSchemaModule:2": str(
                oasis / "BDNDR-CCTS_CCT_SchemaModule-1.1.xsd"
            ),
            "http://www.w3.org/2000/09/xmldsig#": str(oasis / "UBL-xmldsig-core-schema-2.3.xsd"),
            "http://uri.etsi.org/01903/v1.3.2#": str(oasis / "UBL-XAdES01903v132-201601-2.3.xsd"),
            "http://uri.etsi.org/01903/v1.4.1#": str(oasis / "UBL-XAdES01903v141-201601-2.3.xsd"),
        },
    )


@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: p.name)
def test_instances_are_valid_ubl(ubl_schema: xmlschema.XMLSchema, path: Path) -> None:
    errors = list(ubl_schema.iter_errors(str(path)))
    assert errors == [], [e.reason for e in errors[:3]]


def test_certificate_maps_to_lpco() -> None:
    doc = decode(INSTANCES[0].read_bytes())
    assert (doc.kind, doc.number, doc.version, doc.status) == (
        "certificate",
        "COO-EG-2026-004711",
        1,
        "issued",
    )
    assert doc.issuer.name == "Istanbul Chamber of Commerce" and doc.issuer.country == "TR"
    assert doc.holder is not None and doc.holder.tax_id == "EG-222-333-444"
    line = doc.goods[0]
    assert (
        line.hs_code == "520942" and line.value is not None and str(line.value.value) == "84000.00"
    )
    assert [(r.kind, r.value) for r in doc.document_references] == [("bl", "MSCUIS2026044")]
    assert validate(to_xml(doc), schema="lpco-1.xsd") == []


def test_amended_and_revoked_versions() -> None:
    amended = decode(INSTANCES[1].read_bytes())
    assert (amended.version, amended.status) == (2, "amended")
    revoked = decode(INSTANCES[2].read_bytes())
    assert (revoked.version, revoked.status) == (3, "revoked")
    assert revoked.header.function == "cancel"


def test_missing_issuer_is_refused() -> None:
    data = INSTANCES[0].read_bytes().replace(b"<cac:IssuerParty>", b"<cac:IssuerPartyX>", 1)
    with pytest.raises(MappingError):
        decode(data)
