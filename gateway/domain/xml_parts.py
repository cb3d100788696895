"""What the canonical documents' XML shares: the namespace, parties, addresses, conveyances.

The pieces that ``canonical_xml`` (manifests, customs answers), ``passenger_list_xml`` and
``calls`` write and read alike, so that a Party or a Conveyance is the same XML in each.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from lxml import etree

from gateway.domain.model import (
    NAMESPACE,
    Address,
    Communication,
    Contact,
    Conveyance,
    DocumentReference,
    Header,
    Party,
)
from gateway.domain.xmlmap import Vocabulary, XmlOut

NS = f"{{{NAMESPACE}}}"
NSMAP: Any = {None: NAMESPACE}  # lxml-stubs do not allow the default-namespace key None

VOCABULARY = Vocabulary(NAMESPACE)
_q = VOCABULARY.q
_find = VOCABULARY.find
_str = VOCABULARY.get
_opt = VOCABULARY.opt
_all = VOCABULARY.get_all
_header = VOCABULARY.header_from_xml


def attrs(**values: str | int | None) -> dict[str, str] | None:
    """The XML attributes of the values that are set (None when none is)."""
    present = {name: str(value) for name, value in values.items() if value is not None}
    return present or None


def address_out(out: XmlOut, address: Address | None) -> None:
    if address is None:
        return
    out.start("Address")
    for line in address.lines:
        out.leaf("Line", line)
    out.leaf("City", address.city)
    out.leaf("Subdivision", address.subdivision)
    out.leaf("PostalCode", address.postal_code)
    out.leaf("Country", address.country)
    out.end()


def identifier_out(out: XmlOut, value: str | None, scheme: str | None, agency: str | None) -> None:
    out.leaf("Identifier", value, attrs(schemeId=scheme, schemeAgencyId=agency))


def party_out(out: XmlOut, p: Party) -> None:
    out.start("Party", attrs(role=p.role, code=p.code))
    identifier_out(out, p.identifier, p.identifier_scheme, p.identifier_scheme_agency)
    out.leaf("TaxId", p.tax_id)
    out.leaf("Name", p.name)
    address_out(out, p.address)
    if p.to_order:
        out.leaf("ToOrder", True)
    for contact in p.contacts:
        out.start("Contact", attrs(function=contact.function))
        out.leaf("Department", contact.department)
        out.leaf("Name", contact.name)
        for com in contact.communications:
            out.leaf("Communication", com.number, attrs(channel=com.channel))
        out.end()
    out.end()


def conveyance_out(out: XmlOut, c: Conveyance) -> None:
    out.start("Conveyance")
    out.leaf("ImoNumber", c.imo_number)
    out.leaf("Name", c.name)
    out.leaf("CallSign", c.call_sign)
    out.leaf("Nationality", c.nationality)
    out.leaf("VoyageNumber", c.voyage_number)
    out.leaf(
        "Carrier",
        c.carrier,
        attrs(
            code=c.carrier_code, schemeId=c.carrier_scheme, schemeAgencyId=c.carrier_scheme_agency
        ),
    )
    out.leaf("ModeOfTransport", c.mode_of_transport)
    out.end()


# ---------------------------------------------------------------- reading back


def parse_datetime(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def parse_date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def parse_bool(value: str) -> bool:
    return value.strip() in {"true", "1"}


def address_from_xml(parent: etree._Element) -> Address | None:
    a = _find(parent, "Address")
    if a is None:
        return None
    return Address(
        lines=_all(a, "Line"),
        city=_str(a, "City"),
        subdivision=_str(a, "Subdivision"),
        postal_code=_str(a, "PostalCode"),
        country=_str(a, "Country"),
    )


def references_from_xml(parent: etree._Element) -> list[DocumentReference]:
    return [
        DocumentReference(qualifier=r.get("qualifier") or "", number=r.text or "")
        for r in parent.findall(_q("Reference"))
    ]


def identifier_from_xml(parent: etree._Element) -> tuple[str | None, str | None, str | None]:
    """The Identifier below ``parent``: value, scheme and scheme agency (all None without one)."""
    ident = _find(parent, "Identifier")
    if ident is None:
        return None, None, None
    return ident.text or "", ident.get("schemeId"), ident.get("schemeAgencyId")


def party_from_xml(el: etree._Element) -> Party:
    identifier, scheme, agency = identifier_from_xml(el)
    return Party(
        role=cast(Any, el.get("role")),
        code=el.get("code"),
        identifier=identifier,
        identifier_scheme=scheme,
        identifier_scheme_agency=agency,
        tax_id=_str(el, "TaxId"),
        name=_str(el, "Name"),
        address=address_from_xml(el),
        to_order=_opt(el, "ToOrder", parse_bool) or False,
        contacts=tuple(
            Contact(
                function=ce.get("function"),
                department=_str(ce, "Department"),
                name=_str(ce, "Name"),
                communications=[
                    Communication(number=co.text or "", channel=co.get("channel"))
                    for co in ce.findall(_q("Communication"))
                ],
            )
            for ce in el.findall(_q("Contact"))
        ),
    )


def conveyance_from_xml(cv: etree._Element) -> Conveyance:
    carrier = _find(cv, "Carrier")
    return Conveyance(
        imo_number=_str(cv, "ImoNumber"),
        name=_str(cv, "Name"),
        call_sign=_str(cv, "CallSign"),
        nationality=_str(cv, "Nationality"),
        voyage_number=_str(cv, "VoyageNumber"),
        carrier=None if carrier is None else carrier.text or "",
        mode_of_transport=_str(cv, "ModeOfTransport"),
        carrier_code=None if carrier is None else carrier.get("code"),
        carrier_scheme=None if carrier is None else carrier.get("schemeId"),
        carrier_scheme_agency=None if carrier is None else carrier.get("schemeAgencyId"),
    )


def required_header(root: etree._Element) -> Header:
    el = _find(root, "Header")
    if el is None:
        raise ValueError(f"{root.tag} has no Header")
    return _header(el)
