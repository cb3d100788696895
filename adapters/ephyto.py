"""UN/CEFACT SPSCertificate (IPPC ePhyto, EU TRACES CHED) to a canonical Lpco.

Reads the parts the project profile ``xsd/profiles/sps-profile.xsd`` checks: the exchanged
document (number, type, status, issue date, issuer), the consignor/consignee, export and import
countries, trade line items (HS/CN code, description, net weight or package count), referenced
documents (bills of lading, attachments by SHA-256) . A TRACES SOAP response is unwrapped.

Status codes (UN/CEFACT 4405 as used by ePhyto and TRACES): 70 issued, 39 approved and 1 new
become ``issued``; 40 withdrawn becomes ``revoked``; anything else is refused rather than guessed.

>>> from pathlib import Path
>>> samples = Path(__file__).resolve().parents[1] / "samples" / "ministries"
>>> doc = decode((samples / "ephyto-phyto-certificate.xml").read_bytes())
>>> doc.kind, doc.type_code, doc.number, doc.goods[0].hs_code
('certificate', 'SPS-851', 'EPHYTO-AR-2026-000123', '06029048')
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from decimal import Decimal, InvalidOperation

from lxml import etree

from adapters.common import DecodeContext, MappingError, parse_xml, text_of, whole
from gateway.domain.lpco import (
    Attachment,
    DocumentReference,
    GoodsLine,
    Holder,
    Issuer,
    Lpco,
    Quantity,
    new_header,
)
from gateway.domain.model import Source
from gateway.domain.validation import validate

RSM = "urn:un:unece:uncefact:data:standard:SPSCertificate:17"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:21"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:21"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
ROOT = f"{{{RSM}}}SPSCertificate"
SCHEMA = "profiles/sps-profile.xsd"
NS = {"rsm": RSM, "ram": RAM, "udt": UDT}

STATUSES = {"70": "issued", "39": "issued", "1": "issued", "40": "revoked"}
# Relationship codes (UN/CEFACT 1153) that name a transport document.
_TRANSPORT_DOCUMENTS = {"BM", "AWB", "BH", "AAS", "MB"}


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    value = " ".join(text_of(el).split())
    return value or None


def _first(el: etree._Element, path: str) -> str | None:
    for found in el.findall(path, NS):
        value = _text(found)
        if value:
            return value
    return None


def _decimal(text: str | None) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return dt.date.fromisoformat(text.strip()[:10])
        except ValueError:
            return None


def find_certificate(root: etree._Element) -> etree._Element | None:
    """The SPSCertificate: the root itself, or inside a SOAP body (TRACES responses)."""
    if root.tag == ROOT:
        return root
    if root.tag == f"{{{SOAP}}}Envelope":
        return root.find(f".//{ROOT}")
    return None


def decode(data: bytes, context: DecodeContext | None = None) -> Lpco:
    """Decode one SPSCertificate (bare or in a SOAP envelope); its signature is not checked here."""
    return decode_element(parse_xml(data), data, context or DecodeContext())


def decode_element(root: etree._Element, data: bytes, context: DecodeContext) -> Lpco:
    cert = find_certificate(root)
    if cert is None:
        raise MappingError(
            "LPCO_UNSUPPORTED_DOCUMENT", f"{root.tag} holds no SPSCertificate", "document"
        )
    problems = validate(cert, schema=SCHEMA)
    if problems:
        raise MappingError(
            "LPCO_SOURCE_INVALID",
            f"the SPSCertificate breaks the gateway's SPS profile: {problems[0].sentence}",
            problems[0].path,
        )
    doc = cert.find("rsm:SPSExchangedDocument", NS)
    consignment = cert.find("rsm:SPSConsignment", NS)
    assert doc is not None and consignment is not None  # the profile requires both
    number = _first(doc, "ram:ID")
    if number is None:
        raise MappingError(
            "LPCO_FIELD_MISSING", "the certificate has no number (ID)", "SPSExchangedDocument/ID"
        )
    type_code = _first(doc, "ram:TypeCode") or "?"
    status_code = _first(doc, "ram:StatusCode") or "70"
    status = STATUSES.get(status_code)
    if status is None:
        raise MappingError(
            "LPCO_STATUS_UNSUPPORTED",
            f"status code {status_code} is not one the gateway maps (70, 39, 1, 40)",
            "SPSExchangedDocument/StatusCode",
        )
    issued_text = _first(doc, "ram:IssueDateTime/udt:DateTimeString") or _first(
        doc, "ram:IssueDateTime/udt:DateTime"
    )
    issue_date = _date(issued_text)
    if issue_date is None:
        raise MappingError(
            "LPCO_FIELD_INVALID",
            "the certificate's issue date/time cannot be read",
            "SPSExchangedDocument/IssueDateTime",
        )
    issuer_el = doc.find("ram:IssuerSPSParty", NS)
    assert issuer_el is not None
    issuer = Issuer(
        name=(_first(issuer_el, "ram:Name") or "unknown issuer")[:512],
        id=_first(issuer_el, "ram:ID"),
        country=_first(issuer_el, "ram:SpecifiedSPSAddress/ram:CountryID"),
    )
    consignee = consignment.find("ram:ConsigneeSPSParty", NS)
    holder = None
    if consignee is not None:
        tax_id = None
        for type_code_el in consignee.findall("ram:TypeCode", NS):
            if type_code_el.get("listName") == "NationalRegistrationNumber":
                tax_id = _text(type_code_el)
        holder = Holder(
            tax_id=(tax_id or _first(consignee, "ram:ID") or None),
            name=_first(consignee, "ram:Name"),
        )
        if holder.tax_id:
            holder.tax_id = holder.tax_id[:35]
    goods = []
    for item in consignment.findall(
        "ram:IncludedSPSConsignmentItem/ram:IncludedSPSTradeLineItem", NS
    ):
        goods.append(_line(item))
    references: list[DocumentReference] = []
    attachments: list[Attachment] = []
    for ref in doc.findall("ram:ReferenceSPSReferencedDocument", NS):
        ref_id = _first(ref, "ram:ID")
        relation = _first(ref, "ram:RelationshipTypeCode") or ""
        if ref_id and ref_id != number:
            kind = "bl" if relation in _TRANSPORT_DOCUMENTS else "other"
            references.append(DocumentReference(kind, ref_id[:70]))  # type: ignore[arg-type]
        for obj in ref.findall("ram:AttachmentBinaryObject", NS):
            content = "".join(text_of(obj).split())
            if not content:
                continue  # a link (uri=...) and no content: nothing to hash
            try:
                raw = base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError):
                # Real certificates carry broken base64 (the IPPC sample does): hash what was
                # sent rather than refuse the certificate over an unreadable annex.
                raw = content.encode("ascii", "replace")
            attachments.append(
                Attachment(
                    name=(obj.get("filename") or ref_id or "attachment")[:512],
                    sha256=hashlib.sha256(raw).hexdigest(),
                    media_type=obj.get("mimeCode"),
                )
            )
    return Lpco(
        header=new_header(
            sender=context.sender,
            correlation_id=context.correlation_id,
            number=number,
            version=1,
            status=status,
            data=data,
            source=Source(
                format="sps-certificate", message_type=f"SPSCertificate:{type_code}", directory="17"
            ),
        ),
        kind="certificate",
        type_code=f"SPS-{type_code}",
        issuer=issuer,
        number=number[:70],
        version=1,
        status=status,  # type: ignore[arg-type]
        issue_date=issue_date,
        origin_country=_country(consignment, "ram:ExportSPSCountry/ram:ID"),
        destination_country=_country(consignment, "ram:ImportSPSCountry/ram:ID"),
        holder=holder,
        goods=goods,
        document_references=references,
        attachments=attachments,
    )


def _country(el: etree._Element, path: str) -> str | None:
    value = _first(el, path)
    return value if value and len(value) == 2 and value.isalpha() and value.isupper() else None


def _line(item: etree._Element) -> GoodsLine:
    hs_code = None
    for cls in item.findall("ram:ApplicableSPSClassification", NS):
        system = (_first(cls, "ram:SystemID") or _first(cls, "ram:SystemName") or "").upper()
        # An HS code as often written, "0602.90.48" or "0602 90 48", is 06029048 (as UBL's).
        code = "".join((_first(cls, "ram:ClassCode") or "").replace(".", " ").split())
        if (
            code.isascii()
            and code.isdigit()
            and (system in ("HS", "CN") or system.startswith("CN "))
        ):
            hs_code = code[:10] if len(code) >= 2 else None
            break
    description = (
        _first(item, "ram:Description")
        or _first(item, "ram:CommonName")
        or _first(item, "ram:ScientificName")
    )
    quantity = None
    for tag in ("ram:NetWeightMeasure", "ram:GrossWeightMeasure"):
        el = item.find(tag, NS)
        value = _decimal(_text(el))
        if el is not None and value is not None and value > 0:
            quantity = Quantity(value, el.get("unitCode") or "KGM")
            break
    if quantity is None:
        pkg = item.find("ram:PhysicalSPSPackage", NS)
        if pkg is not None:
            value = _decimal(_first(pkg, "ram:ItemQuantity"))
            if value is not None:
                quantity = Quantity(value, _first(pkg, "ram:TypeCode") or "NAR")
    sequence_text = _first(item, "ram:SequenceNumeric") or "0"
    sequence = whole(sequence_text)  # int() raised on 4301 digits, which the schema allows
    if sequence is None:
        raise MappingError(
            "LPCO_FIELD_INVALID",
            f"SequenceNumeric {sequence_text[:20]!r} is not a whole number of 1 to 9 digits",
            "SPSTradeLineItem/SequenceNumeric",
        )
    return GoodsLine(
        sequence=sequence,
        hs_code=hs_code,
        description=description[:512] if description else None,
        quantity=quantity,
    )
