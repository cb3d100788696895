"""The canonical Lpco and the receipt: lossless to and from XML, valid against lpco-1.xsd."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain import canonical_xml
from gateway.domain.lpco import (
    Amount,
    Attachment,
    DocumentReference,
    GoodsLine,
    Holder,
    Issuer,
    Lpco,
    Quantity,
    SignerInfo,
    from_xml,
    to_xml,
)
from gateway.domain.model import Header, Source
from gateway.domain.validation import validate
from gateway.service.receipts import Reason, Receipt, receipt_from_xml, receipt_to_xml


def full_lpco() -> Lpco:
    header = Header.new(
        sender="commerce",
        document_type="Lpco",
        business_reference="IL-2026-1",
        function="replace",
        document_version=2,
        payload_hash="ab" * 32,
        source=Source(format="national-lpco", message_type="IMPORT_LICENCE", syntax_version="1.0"),
    )
    header.previous_message_id = "0b5c2a4e-1111-4c55-9b61-0c1f4f7e2a10"
    return Lpco(
        header=header,
        kind="licence",
        type_code="IL-STEEL",
        issuer=Issuer(name="Ministry of Commerce", id="MOC", country="EG"),
        number="IL-2026-1",
        version=2,
        status="amended",
        issue_date=dt.date(2026, 1, 5),
        expiry_date=dt.date(2026, 12, 31),
        origin_country="TR",
        destination_country="EG",
        holder=Holder(tax_id="EG-1", name="Delta Steel"),
        goods=[
            GoodsLine(
                1,
                "721049",
                "Flat-rolled iron",
                Quantity(Decimal("300.5"), "TNE"),
                Amount(Decimal("245000.00"), "USD"),
            ),
            GoodsLine(2),
        ],
        quantity_allowed=Quantity(Decimal("500"), "TNE"),
        quantity_balance=Quantity(Decimal("199.5"), "TNE"),
        document_references=[
            DocumentReference("bl", "MEDU1"),
            DocumentReference("declaration", "D-9"),
        ],
        attachments=[Attachment("licence.pdf", "9f" * 32, "application/pdf")],
        signer=SignerInfo(
            "commerce",
            "CN=signer",
            "CN=CA",
            "1a2b",
            "cd" * 32,
            dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC),
        ),
    )


def test_full_lpco_round_trips_and_is_valid() -> None:
    doc = full_lpco()
    element = to_xml(doc)
    assert validate(element, schema="lpco-1.xsd") == []
    assert from_xml(element) == doc
    # Through the generic canonical API too (registered by gateway.domain.lpco).
    assert canonical_xml.from_xml(canonical_xml.to_bytes(doc)) == doc


def test_references_and_key() -> None:
    doc = full_lpco()
    assert doc.references() == ["IL-2026-1", "IL-2026-1/v2", "MEDU1", "D-9"]
    # The key starts with the verified signer's partner, then the declared issuer (issue #14).
    assert doc.key == ("commerce", "MOC", "IL-2026-1", 2)
    doc.issuer.id = None
    assert doc.issuer_key == "Ministry of Commerce" == doc.key[1]
    doc.signer = None
    with pytest.raises(ValueError, match="no verified signer"):
        _ = doc.key


def test_schema_refuses_an_unknown_status() -> None:
    element = to_xml(full_lpco())
    element.find("{urn:port-edi-gateway:lpco:1}Status").text = "cancelled"
    problems = validate(element, schema="lpco-1.xsd")
    assert problems and "Status" in problems[0].path


text = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30)


@settings(max_examples=40, deadline=None)
@given(
    number=text,
    version=st.integers(1, 999),
    status=st.sampled_from(["issued", "amended", "suspended", "revoked"]),
    kind=st.sampled_from(["licence", "permit", "certificate", "other"]),
    qty=st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False),
    hs=st.from_regex(r"[0-9]{2,10}", fullmatch=True),
)
def test_round_trip_property(
    number: str, version: int, status: str, kind: str, qty: Decimal, hs: str
) -> None:
    doc = full_lpco()
    doc.number, doc.version, doc.status, doc.kind = number, version, status, kind  # type: ignore[assignment]
    doc.goods[0].quantity = Quantity(qty, "KGM")
    doc.goods[0].hs_code = hs
    element = to_xml(doc)
    assert validate(element, schema="lpco-1.xsd") == []
    assert from_xml(element) == doc


def test_receipt_round_trips_and_is_valid() -> None:
    receipt = Receipt(
        partner="agriculture",
        inbound_message_id="4c1f1f3e-0000-4c55-9b61-0c1f4f7e2a10",
        outcome="rejected",
        issuer="SENASA",
        certificate_number="EPHYTO-1",
        version=1,
        status="issued",
        reasons=[Reason("SIGNATURE_DIGEST_MISMATCH", "changed after signing", "signature")],
    )
    element = receipt_to_xml(receipt)
    assert validate(element, schema="lpco-1.xsd") == []
    assert receipt_from_xml(element) == receipt
