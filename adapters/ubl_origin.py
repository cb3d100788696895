"""OASIS UBL 2.3 CertificateOfOrigin to a canonical Lpco.

What is read: ``cbc:ID`` (number), ``cbc:VersionID`` (version, default 1), ``cbc:IssueDate``,
the application's ``IssuerParty`` and ``IssuingCountry`` (issuing authority), the importer
(holder: ``PartyTaxScheme``/``PartyLegalEntity`` company id and name), the shipment's goods items
(``ItemClassificationCode`` as HS code, description, net weight or quantity, value), the
consignment's ``CarrierAssignedID`` (bill of lading) and the ``IssuerEndorsement/ApprovalStatus``
(approved, suspended, revoked/cancelled).

The ministry's XML-DSig signature is enveloped as the root's last child (not inside
``ext:UBLExtensions``); the gateway removes it when verifying, so what this adapter reads is plain
UBL again (see docs/ministries.md).

>>> from pathlib import Path
>>> samples = Path(__file__).resolve().parents[1] / "samples" / "ministries"
>>> doc = decode((samples / "ubl-certificate-of-origin.xml").read_bytes())
>>> doc.number, doc.type_code, doc.goods[0].hs_code, doc.holder.tax_id
('COO-EG-2026-004711', 'COO-NON-PREFERENTIAL', '520942', 'EG-222-333-444')
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from decimal import Decimal, InvalidOperation

from lxml import etree

from adapters.common import DecodeContext, MappingError, parse_xml, text_of
from gateway.domain.lpco import (
    Amount,
    Attachment,
    DocumentReference,
    GoodsLine,
    Holder,
    Issuer,
    Lpco,
    LpcoStatus,
    Quantity,
    new_header,
)
from gateway.domain.model import Source

NAMESPACE = "urn:oasis:names:specification:ubl:schema:xsd:CertificateOfOrigin-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
ROOT = f"{{{NAMESPACE}}}CertificateOfOrigin"
NS = {"coo": NAMESPACE, "cac": CAC, "cbc": CBC}

_APPROVAL = {
    "approved": "issued",
    "issued": "issued",
    "suspended": "suspended",
    "revoked": "revoked",
    "cancelled": "revoked",
    "canceled": "revoked",
}


def _first(el: etree._Element, path: str) -> str | None:
    for found in el.findall(path, NS):
        value = " ".join(text_of(found).split())
        if value:
            return value
    return None


def _decimal(text: str | None, where: str) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise MappingError("LPCO_FIELD_INVALID", f"{text[:20]!r} is not a number", where) from None


def decode(data: bytes, context: DecodeContext | None = None) -> Lpco:
    """Decode one UBL CertificateOfOrigin (its signature, if any, is not checked here)."""
    return decode_element(parse_xml(data), data, context or DecodeContext())


def decode_element(root: etree._Element, data: bytes, context: DecodeContext) -> Lpco:
    if root.tag != ROOT:
        raise MappingError(
            "LPCO_UNSUPPORTED_DOCUMENT", f"{root.tag} is not a UBL CertificateOfOrigin", "document"
        )
    number = _first(root, "cbc:ID")
    if number is None:
        raise MappingError("LPCO_FIELD_MISSING", "the certificate has no cbc:ID", "cbc:ID")
    issue_text = _first(root, "cbc:IssueDate")
    try:
        issue_date = dt.date.fromisoformat((issue_text or "")[:10])
    except ValueError:
        raise MappingError(
            "LPCO_FIELD_MISSING", "the certificate has no valid cbc:IssueDate", "cbc:IssueDate"
        ) from None
    version_text = _first(root, "cbc:VersionID") or "1"
    if not version_text.isdecimal() or len(version_text) > 9 or int(version_text) < 1:
        raise MappingError(
            "LPCO_FIELD_INVALID",
            f"cbc:VersionID {version_text[:10]!r} is not a positive whole number",
            "cbc:VersionID",
        )
    version = int(version_text)
    app = root.find("cac:CertificateOfOriginApplication", NS)
    if app is None:
        raise MappingError(
            "LPCO_FIELD_MISSING",
            "the certificate has no CertificateOfOriginApplication",
            "cac:CertificateOfOriginApplication",
        )
    approval = (_first(root, "cac:IssuerEndorsement/cbc:ApprovalStatus") or "approved").lower()
    status = _APPROVAL.get(approval)
    if status is None:
        raise MappingError(
            "LPCO_STATUS_UNSUPPORTED",
            f"approval status {approval[:20]!r} is not one of {sorted(_APPROVAL)}",
            "cac:IssuerEndorsement/cbc:ApprovalStatus",
        )
    if status == "issued" and version > 1:
        status = "amended"
    issuer_name = _first(app, "cac:IssuerParty/cac:PartyName/cbc:Name")
    if issuer_name is None:
        raise MappingError(
            "LPCO_FIELD_MISSING", "the application names no issuer", "cac:IssuerParty/cac:PartyName"
        )
    importer = root.find("cac:ImporterParty", NS)
    if importer is None:
        importer = app.find("cac:ImporterParty", NS)
    holder = None
    if importer is not None:
        holder = Holder(
            tax_id=_first(importer, "cac:PartyTaxScheme/cbc:CompanyID")
            or _first(importer, "cac:PartyLegalEntity/cbc:CompanyID"),
            name=_first(importer, "cac:PartyName/cbc:Name")
            or _first(importer, "cac:PartyLegalEntity/cbc:RegistrationName"),
        )
    goods = []
    for index, item in enumerate(app.findall("cac:Shipment/cac:GoodsItem", NS), 1):
        goods.append(_line(item, index))
    references = [
        DocumentReference("bl", bl[:70])
        for bl in (
            _first(c, "cbc:CarrierAssignedID")
            for c in app.findall("cac:Shipment/cac:Consignment", NS)
        )
        if bl
    ]
    attachments = []
    for ref in app.findall("cac:SupportingDocumentReference", NS):
        ref_id = _first(ref, "cbc:ID")
        if ref_id:
            references.append(DocumentReference("other", ref_id[:70]))
        obj = ref.find("cac:Attachment/cbc:EmbeddedDocumentBinaryObject", NS)
        if obj is not None and text_of(obj).strip():
            try:
                raw = base64.b64decode("".join(text_of(obj).split()), validate=True)
            except (binascii.Error, ValueError):
                raise MappingError(
                    "LPCO_ATTACHMENT_INVALID",
                    f"the attachment of {ref_id} is not base64",
                    "cac:SupportingDocumentReference/cac:Attachment",
                ) from None
            attachments.append(
                Attachment(
                    name=(obj.get("filename") or ref_id or "attachment")[:512],
                    sha256=hashlib.sha256(raw).hexdigest(),
                    media_type=obj.get("mimeCode"),
                )
            )
    certificate_type = _first(app, "cbc:CertificateType") or "ORIGIN"
    typed_status: LpcoStatus = status  # type: ignore[assignment]
    return Lpco(
        header=new_header(
            sender=context.sender,
            correlation_id=context.correlation_id,
            number=number,
            version=version,
            status=status,
            data=data,
            source=Source(
                format="ubl",
                message_type="CertificateOfOrigin",
                syntax_version=_first(root, "cbc:UBLVersionID") or "2.3",
            ),
        ),
        kind="certificate",
        type_code=f"COO-{certificate_type}"[:35],
        issuer=Issuer(
            name=issuer_name[:512],
            id=_first(app, "cac:IssuerParty/cac:PartyIdentification/cbc:ID"),
            country=_first(app, "cac:IssuingCountry/cbc:IdentificationCode"),
        ),
        number=number[:70],
        version=version,
        status=typed_status,
        issue_date=issue_date,
        origin_country=_first(app, "cac:IssuingCountry/cbc:IdentificationCode"),
        holder=holder,
        goods=goods,
        document_references=references,
        attachments=attachments,
    )


def _line(item: etree._Element, index: int) -> GoodsLine:
    where = f"cac:GoodsItem[{index}]"
    hs_code = None
    for code in item.findall("cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode", NS):
        text = text_of(code).strip().replace(".", "")
        if (
            text.isascii()
            and text.isdigit()
            and code.get("listID", "HS").upper() in ("HS", "CN", "HTS")
        ):
            hs_code = text[:10]
            break
    quantity = None
    for tag in ("cbc:NetWeightMeasure", "cbc:GrossWeightMeasure", "cbc:Quantity"):
        el = item.find(tag, NS)
        if el is not None and text_of(el).strip():
            number = _decimal(text_of(el).strip(), where)
            assert number is not None
            quantity = Quantity(number, el.get("unitCode") or "NAR")
            break
    value_el = item.find("cbc:ValueAmount", NS)
    value: Amount | None = None
    if value_el is not None and text_of(value_el).strip():
        amount = _decimal(text_of(value_el).strip(), where)
        assert amount is not None
        value = Amount(amount, value_el.get("currencyID", ""))
    seq_text = _first(item, "cbc:SequenceNumberID") or _first(item, "cbc:ID") or ""
    return GoodsLine(
        sequence=int(seq_text) if seq_text.isdecimal() and len(seq_text) < 10 else index,
        hs_code=hs_code,
        description=(
            _first(item, "cac:Item/cbc:Description") or _first(item, "cbc:Description") or None
        ),
        quantity=quantity,
        value=value,
    )
