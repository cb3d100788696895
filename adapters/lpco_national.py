"""The national LPCO format (``xsd/national-lpco-1.xsd``, docs/national-lpco.md) to a canonical Lpco.

Import licences, pharmaceutical import authorisations and other documents that have no
international standard. Pure: bytes in, :class:`gateway.domain.lpco.Lpco` out, or a
:class:`adapters.common.MappingError`.

>>> from pathlib import Path
>>> samples = Path(__file__).resolve().parents[1] / "samples" / "ministries"
>>> doc = decode((samples / "national-import-licence.xml").read_bytes())
>>> doc.kind, doc.number, doc.status
('licence', 'IL-2026-000123', 'issued')
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from lxml import etree

from adapters.common import DecodeContext, MappingError, parse_xml, text_of, whole
from gateway.domain.lpco import (
    Amount,
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

NAMESPACE = "urn:port-edi-gateway:national-lpco:1"
ROOT = f"{{{NAMESPACE}}}LpcoDocument"
SCHEMA = "national-lpco-1.xsd"
N = f"{{{NAMESPACE}}}"

_KINDS = {
    "IMPORT_LICENCE": "licence",
    "EXPORT_LICENCE": "licence",
    "PHARMA_IMPORT_AUTHORISATION": "permit",
    "PERMIT": "permit",
    "CERTIFICATE": "certificate",
    "OTHER": "other",
}
_REFERENCES = {"BL": "bl", "DECLARATION": "declaration", "PREVIOUS": "previous", "OTHER": "other"}


def _t(el: etree._Element, path: str) -> str | None:
    found = el.find(path.replace("n:", N))
    if found is None:
        return None
    return text_of(found).strip() or None


def _req(el: etree._Element, path: str) -> str:
    value = _t(el, path)
    if value is None:
        raise MappingError("LPCO_FIELD_MISSING", f"{path.replace('n:', '')} is required", path)
    return value


def _qty(el: etree._Element | None) -> Quantity | None:
    if el is None:
        return None
    return Quantity(_dec(text_of(el)), el.get("unit", ""))


def _dec(text: str) -> Decimal:
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        raise MappingError("LPCO_FIELD_INVALID", f"{text[:20]!r} is not a number") from None


def _int(text: str, path: str) -> int:
    # xs:positiveInteger has no upper bound; int() refuses more than 4300 digits (ValueError).
    value = whole(text)
    if value is None:
        raise MappingError(
            "LPCO_FIELD_INVALID", f"{text[:20]!r} is not a whole number of 1 to 9 digits", path
        )
    return value


def _date(text: str, path: str) -> dt.date:
    # xs:date also allows years of five digits and more, negative years and a time zone,
    # which Python's date cannot hold (found by fuzzing: "20026-07-30" raised ValueError).
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise MappingError(
            "LPCO_FIELD_INVALID", f"{text[:20]!r} is not a date the gateway can use", path
        ) from None


def decode(data: bytes, context: DecodeContext | None = None) -> Lpco:
    """Decode one national LPCO document (its signature, if any, is not checked here)."""
    return decode_element(parse_xml(data), data, context or DecodeContext())


def decode_element(root: etree._Element, data: bytes, context: DecodeContext) -> Lpco:
    if root.tag != ROOT:
        raise MappingError(
            "LPCO_UNSUPPORTED_DOCUMENT", f"{root.tag} is not a national LpcoDocument", "document"
        )
    problems = validate(root, schema=SCHEMA)
    if problems:
        raise MappingError(
            "LPCO_SOURCE_INVALID",
            f"the document breaks {SCHEMA}: {problems[0].sentence}",
            problems[0].path,
        )
    kind_code = _req(root, "n:DocumentKind")
    status = _req(root, "n:Status").lower()
    number = _req(root, "n:Number")
    version = _int(_req(root, "n:Version"), "Version")
    lines = []
    for line in root.findall(N + "Line"):
        description = _req(line, "n:Description")
        pharma = line.find(N + "Pharma")
        if kind_code == "PHARMA_IMPORT_AUTHORISATION":
            if pharma is None:
                raise MappingError(
                    "LPCO_PHARMA_DETAILS_MISSING",
                    f"line {_t(line, 'n:LineNumber')} of a pharmaceutical authorisation has no Pharma block",
                    f"Line[{_t(line, 'n:LineNumber')}]",
                )
            ingredients = ", ".join(
                text_of(i).strip() for i in pharma.findall(N + "ActiveIngredient")
            )
            description = f"{_req(pharma, 'n:ProductName')} ({ingredients}): {description}"[:512]
        value_el = line.find(N + "Value")
        lines.append(
            GoodsLine(
                sequence=_int(_req(line, "n:LineNumber"), "Line/LineNumber"),
                hs_code=_t(line, "n:HsCode"),
                description=description,
                quantity=_qty(line.find(N + "Quantity")),
                value=None
                if value_el is None
                else Amount(_dec(text_of(value_el)), value_el.get("currency", "")),
            )
        )
    authority = root.find(N + "IssuingAuthority")
    holder = root.find(N + "Holder")
    assert authority is not None and holder is not None  # the schema requires both
    return Lpco(
        header=new_header(
            sender=context.sender,
            correlation_id=context.correlation_id,
            number=number,
            version=version,
            status=status,
            data=data,
            source=Source(format="national-lpco", message_type=kind_code, syntax_version="1.0"),
        ),
        kind=_KINDS[kind_code],  # type: ignore[arg-type]
        type_code=_req(root, "n:TypeCode"),
        issuer=Issuer(
            name=_req(authority, "n:Name"),
            id=_t(authority, "n:Code"),
            country=_t(authority, "n:Country"),
        ),
        number=number,
        version=version,
        status=status,  # type: ignore[arg-type]
        issue_date=_date(_req(root, "n:IssueDate"), "IssueDate"),
        expiry_date=None
        if _t(root, "n:ExpiryDate") is None
        else _date(_req(root, "n:ExpiryDate"), "ExpiryDate"),
        origin_country=_t(root, "n:OriginCountry"),
        destination_country=_t(root, "n:DestinationCountry"),
        holder=Holder(tax_id=_t(holder, "n:TaxId"), name=_t(holder, "n:Name")),
        goods=lines,
        quantity_allowed=_qty(root.find(N + "QuantityAllowed")),
        quantity_balance=_qty(root.find(N + "QuantityBalance")),
        document_references=[
            DocumentReference(_REFERENCES[r.get("type", "OTHER")], text_of(r).strip())  # type: ignore[arg-type]
            for r in root.findall(N + "Reference")
        ],
        attachments=[
            Attachment(
                name=_req(a, "n:FileName"),
                sha256=_req(a, "n:Sha256"),
                media_type=_t(a, "n:MediaType"),
            )
            for a in root.findall(N + "Attachment")
        ],
    )
