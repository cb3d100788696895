"""Which customs system gets a canonical document (migration routing).

>>> from gateway.config import Route
>>> from gateway.model import Header, CargoManifest
>>> doc = CargoManifest(Header.new(sender="apcs", document_type="CargoManifest", business_reference="M"),
...                     document_number="M", port_of_call="EGALY")
>>> route_for(doc, "apcs", [Route("legacy", office="EGALY"), Route("core")])
'legacy'
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.config import Route
from gateway.model import CanonicalDocument


def office_of(doc: CanonicalDocument) -> str | None:
    """The customs office or port (UN/LOCODE) a document is handled at."""
    return doc.customs_office or doc.port_of_call


def route_for(doc: CanonicalDocument, partner: str, routes: Sequence[Route]) -> str:
    """The destination ("core" or "legacy") of the first matching route."""
    office = office_of(doc)
    for route in routes:
        if route.matches(doc.header.document_type, partner, office):
            return route.destination
        if (
            route.office != "*"
            and doc.port_of_call
            and route.matches(doc.header.document_type, partner, doc.port_of_call)
        ):
            return route.destination
    raise LookupError(f"no route for {doc.header.document_type} from {partner} at {office}")
