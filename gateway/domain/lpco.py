"""The canonical LPCO: licences, permits, certificates and other documents ministries issue.

Customs checks declarations against them (quantity allowed, balance left, holder). Adapters
(``adapters.ephyto``, ``adapters.ubl_origin``, ``adapters.lpco_national``) build an :class:`Lpco`
from what a ministry sends; :func:`to_xml` and :func:`from_xml` map it to ``xsd/lpco-1.xsd``
without losing anything. ``gateway.domain.model.Header`` is the header, as for every canonical document.

>>> import datetime as dt
>>> from gateway.domain.model import Header
>>> doc = Lpco(Header.new(sender="commerce", document_type="Lpco", business_reference="IL-1"),
...            kind="licence", type_code="IMPLIC", issuer=Issuer(name="Ministry of Commerce"),
...            number="IL-1", version=1, status="issued", issue_date=dt.date(2026, 1, 5))
>>> from_xml(to_xml(doc)) == doc
True
>>> doc.references()
['IL-1', 'IL-1/v1']
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, cast

from lxml import etree

from gateway.domain.model import Header, Source
from gateway.domain.xmlmap import Vocabulary
from gateway.domain.xmlsafe import parse

NAMESPACE = "urn:port-edi-gateway:lpco:1"
SCHEMA_VERSION = "1.0"
SCHEMA_FILE = "lpco-1.xsd"
NS = f"{{{NAMESPACE}}}"
NSMAP: Any = {None: NAMESPACE}

LpcoKind = Literal["licence", "permit", "certificate", "other"]
LpcoStatus = Literal["issued", "amended", "suspended", "revoked"]
ReferenceKind = Literal["bl", "declaration", "previous", "other"]
KINDS: tuple[str, ...] = ("licence", "permit", "certificate", "other")
STATUSES: tuple[str, ...] = ("issued", "amended", "suspended", "revoked")


@dataclass(slots=True)
class Issuer:
    """The issuing authority."""

    name: str
    id: str | None = None
    country: str | None = None


@dataclass(slots=True)
class Holder:
    """Who the document was issued to: for customs, the importer."""

    tax_id: str | None = None
    name: str | None = None


@dataclass(slots=True)
class Quantity:
    value: Decimal
    unit: str  # UN/ECE Recommendation 20 code where the source has one (KGM, NAR, ...)


@dataclass(slots=True)
class Amount:
    value: Decimal
    currency: str


@dataclass(slots=True)
class GoodsLine:
    sequence: int
    hs_code: str | None = None
    description: str | None = None
    quantity: Quantity | None = None
    value: Amount | None = None


@dataclass(slots=True)
class DocumentReference:
    kind: ReferenceKind
    value: str


@dataclass(slots=True)
class Attachment:
    """An attached file, kept by its hash: customs can prove which file the ministry meant."""

    name: str
    sha256: str
    media_type: str | None = None


@dataclass(slots=True)
class SignerInfo:
    """The ministry certificate whose signature the gateway verified on the original."""

    partner: str
    subject: str
    issuer: str
    serial_number: str
    certificate_sha256: str
    verified_at: dt.datetime


@dataclass(slots=True)
class Lpco:
    """A licence, permit, certificate or other document issued by a ministry."""

    header: Header
    kind: LpcoKind
    type_code: str
    issuer: Issuer
    number: str
    version: int
    status: LpcoStatus
    issue_date: dt.date
    expiry_date: dt.date | None = None
    origin_country: str | None = None
    destination_country: str | None = None
    holder: Holder | None = None
    goods: list[GoodsLine] = field(default_factory=list)
    quantity_allowed: Quantity | None = None
    quantity_balance: Quantity | None = None
    document_references: list[DocumentReference] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    signer: SignerInfo | None = None

    DOCUMENT_TYPE = "Lpco"

    def references(self) -> list[str]:
        """Business references an operator may search for: number, number/version, BLs, ..."""
        refs = [self.number, f"{self.number}/v{self.version}"]
        refs.extend(r.value for r in self.document_references)
        return list(dict.fromkeys(refs))

    @property
    def issuer_key(self) -> str:
        """The issuer as the document declares it: its id, else its name (issue #14)."""
        return self.issuer.id or self.issuer.name

    @property
    def key(self) -> tuple[str, str, str, int]:
        """What makes a duplicate: the verified signer's partner, then issuer, number and version.

        The issuer is only what the document says; the partner is who signed it, as the trust
        store found (``signer``). Scoping by the partner means one ministry can never meet,
        amend, revoke or be answered for another's document (issue #14). An Lpco no signature
        was verified for has no key: it can never reach the registry.
        """
        if self.signer is None:
            raise ValueError(f"{self.number} has no verified signer, so no registry key")
        return (self.signer.partner, self.issuer_key, self.number, self.version)


FUNCTION_FOR_STATUS: dict[str, Any] = {
    "issued": "original",
    "amended": "replace",
    "suspended": "change",
    "revoked": "cancel",
}


def new_header(
    *,
    sender: str,
    correlation_id: str | None,
    number: str,
    version: int,
    status: str,
    data: bytes,
    source: Source,
) -> Header:
    """The header adapters give an Lpco: business reference = number, hash of the partner bytes."""
    try:  # the canonical header wants a UUID; a partner's own ids may be anything
        correlation = str(uuid.UUID(correlation_id)) if correlation_id else None
    except ValueError:
        correlation = None
    return Header.new(
        sender=sender,
        document_type=Lpco.DOCUMENT_TYPE,
        business_reference=number[:70],
        correlation_id=correlation,
        function=FUNCTION_FOR_STATUS.get(status, "original"),
        document_version=max(version, 1),
        payload_hash=hashlib.sha256(data).hexdigest(),
        source=source,
    )


# ---------------------------------------------------------------- writing


_VOCABULARY = Vocabulary(NAMESPACE)
_q = _VOCABULARY.q
_add = _VOCABULARY.add


def header_to_xml(parent: etree._Element, h: Header) -> None:
    """The Header in this namespace, same shape as customs-1.xsd's."""
    _VOCABULARY.header_to_xml(parent, h)


def _quantity(parent: etree._Element, name: str, q: Quantity | None) -> None:
    if q is not None:
        _add(parent, name, q.value, unit=q.unit)


def to_xml(doc: Lpco) -> etree._Element:
    """The canonical XML element for ``doc`` (unsigned)."""
    root = etree.Element(_q("Lpco"), nsmap=NSMAP, schemaVersion=SCHEMA_VERSION)
    header_to_xml(root, doc.header)
    _add(root, "Kind", doc.kind)
    _add(root, "TypeCode", doc.type_code)
    iss = etree.SubElement(root, _q("Issuer"))
    _add(iss, "Id", doc.issuer.id)
    _add(iss, "Name", doc.issuer.name)
    _add(iss, "Country", doc.issuer.country)
    _add(root, "Number", doc.number)
    _add(root, "Version", doc.version)
    _add(root, "Status", doc.status)
    _add(root, "IssueDate", doc.issue_date)
    _add(root, "ExpiryDate", doc.expiry_date)
    _add(root, "OriginCountry", doc.origin_country)
    _add(root, "DestinationCountry", doc.destination_country)
    if doc.holder is not None:
        h = etree.SubElement(root, _q("Holder"))
        _add(h, "TaxId", doc.holder.tax_id)
        _add(h, "Name", doc.holder.name)
    for g in doc.goods:
        ge = etree.SubElement(root, _q("GoodsLine"))
        _add(ge, "Sequence", g.sequence)
        _add(ge, "HsCode", g.hs_code)
        _add(ge, "Description", g.description)
        _quantity(ge, "Quantity", g.quantity)
        if g.value is not None:
            _add(ge, "Value", g.value.value, currency=g.value.currency)
    _quantity(root, "QuantityAllowed", doc.quantity_allowed)
    _quantity(root, "QuantityBalance", doc.quantity_balance)
    for r in doc.document_references:
        _add(root, "Reference", r.value, kind=r.kind)
    for a in doc.attachments:
        ae = etree.SubElement(root, _q("Attachment"))
        _add(ae, "Name", a.name)
        _add(ae, "MediaType", a.media_type)
        _add(ae, "Sha256", a.sha256)
    if doc.signer is not None:
        s = etree.SubElement(root, _q("Signer"))
        _add(s, "Partner", doc.signer.partner)
        _add(s, "Subject", doc.signer.subject)
        _add(s, "Issuer", doc.signer.issuer)
        _add(s, "SerialNumber", doc.signer.serial_number)
        _add(s, "CertificateSha256", doc.signer.certificate_sha256)
        _add(s, "VerifiedAt", doc.signer.verified_at)
    return root


# ---------------------------------------------------------------- reading


_str = _VOCABULARY.get
_req = _VOCABULARY.req
_opt = _VOCABULARY.opt


def _qty(el: etree._Element, name: str) -> Quantity | None:
    child = el.find(_q(name))
    if child is None:
        return None
    return Quantity(Decimal(child.text or "0"), child.get("unit", ""))


def header_from_xml(el: etree._Element) -> Header:
    return _VOCABULARY.header_from_xml(el)


def from_xml(source: bytes | etree._Element) -> Lpco:
    """Read a canonical Lpco back (a signature, if present, is ignored here)."""
    root = parse(source) if isinstance(source, bytes) else source
    if root.tag != _q("Lpco"):
        raise ValueError(f"{root.tag} is not a canonical Lpco")
    header_el = root.find(_q("Header"))
    iss = root.find(_q("Issuer"))
    if header_el is None or iss is None:
        raise ValueError("Lpco needs Header and Issuer")
    holder = None
    he = root.find(_q("Holder"))
    if he is not None:
        holder = Holder(tax_id=_str(he, "TaxId"), name=_str(he, "Name"))
    goods = []
    for ge in root.findall(_q("GoodsLine")):
        ve = ge.find(_q("Value"))
        goods.append(
            GoodsLine(
                sequence=int(_req(ge, "Sequence")),
                hs_code=_str(ge, "HsCode"),
                description=_str(ge, "Description"),
                quantity=_qty(ge, "Quantity"),
                value=None
                if ve is None
                else Amount(Decimal(ve.text or "0"), ve.get("currency", "")),
            )
        )
    signer = None
    se = root.find(_q("Signer"))
    if se is not None:
        signer = SignerInfo(
            partner=_req(se, "Partner"),
            subject=_req(se, "Subject"),
            issuer=_req(se, "Issuer"),
            serial_number=_req(se, "SerialNumber"),
            certificate_sha256=_req(se, "CertificateSha256"),
            verified_at=dt.datetime.fromisoformat(_req(se, "VerifiedAt")),
        )
    return Lpco(
        header=header_from_xml(header_el),
        kind=cast(Any, _req(root, "Kind")),
        type_code=_req(root, "TypeCode"),
        issuer=Issuer(name=_req(iss, "Name"), id=_str(iss, "Id"), country=_str(iss, "Country")),
        number=_req(root, "Number"),
        version=int(_req(root, "Version")),
        status=cast(Any, _req(root, "Status")),
        issue_date=dt.date.fromisoformat(_req(root, "IssueDate")),
        expiry_date=_opt(root, "ExpiryDate", dt.date.fromisoformat),
        origin_country=_str(root, "OriginCountry"),
        destination_country=_str(root, "DestinationCountry"),
        holder=holder,
        goods=goods,
        quantity_allowed=_qty(root, "QuantityAllowed"),
        quantity_balance=_qty(root, "QuantityBalance"),
        document_references=[
            DocumentReference(cast(Any, r.get("kind", "other")), r.text or "")
            for r in root.findall(_q("Reference"))
        ],
        attachments=[
            Attachment(
                name=_req(a, "Name"), sha256=_req(a, "Sha256"), media_type=_str(a, "MediaType")
            )
            for a in root.findall(_q("Attachment"))
        ],
        signer=signer,
    )


def _register() -> None:
    """Plug Lpco into ``gateway.domain.canonical_xml.to_xml``/``from_xml`` (done once, at import)."""
    from gateway.domain import canonical_xml

    register = getattr(canonical_xml, "register", None)
    if register is not None:
        register(Lpco, "Lpco", to_xml, from_xml, NAMESPACE)
    else:  # a canonical_xml without register(): the two tables are all there is to it
        canonical_xml._SERIALIZERS[Lpco] = to_xml
        cast(dict[str, Any], canonical_xml._READERS)[_q("Lpco")] = from_xml


_register()
