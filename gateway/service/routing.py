"""Which customs system gets a canonical document (migration routing).

>>> from gateway.config import Route
>>> from gateway.domain.model import Header, CargoManifest
>>> doc = CargoManifest(Header.new(sender="apcs", document_type="CargoManifest", business_reference="M"),
...                     document_number="M", port_of_call="EGALY")
>>> route_for(doc, "apcs", [Route("legacy", office="EGALY"), Route("core")])
'legacy'
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.config import CopyRule as CopyRule
from gateway.config import Route
from gateway.domain.model import Document


def office_of(doc: Document) -> str | None:
    """The customs office or port (UN/LOCODE) a document is handled at."""
    # Not every document type has both (a customs response has neither).
    office: str | None = getattr(doc, "customs_office", None) or getattr(doc, "port_of_call", None)
    return office


def route_for(doc: Document, partner: str, routes: Sequence[Route]) -> str:
    """The destination ("core" or "legacy") of the first matching route."""
    office = office_of(doc)
    for route in routes:
        if route.matches(doc.header.document_type, partner, office):
            return route.destination
        if (
            route.office != "*"
            and getattr(doc, "port_of_call", None)
            and route.matches(doc.header.document_type, partner, getattr(doc, "port_of_call", None))
        ):
            return route.destination
    raise LookupError(f"no route for {doc.header.document_type} from {partner} at {office}")


# ------------------------------------------------------------------ copy rules (issue #6)
# The ``[[copies]]`` rules are read by the configuration (``Settings.copies``, CopyRule).


def copies_for(doc: Document, partner: str, rules: Sequence[CopyRule]) -> list[str]:
    """Every copy destination whose rule matches (by office, or else by port of call)."""
    office = office_of(doc)
    port = getattr(doc, "port_of_call", None)
    out: list[str] = []
    for rule in rules:
        if rule.matches(doc.header.document_type, partner, office) or (
            rule.office != "*" and port and rule.matches(doc.header.document_type, partner, port)
        ):
            out.append(rule.destination)
    return list(dict.fromkeys(out))


def describe(routes: Sequence[Route], copies: Sequence[CopyRule] = ()) -> list[str]:
    """One line per rule, for logs and ``edigw routes``."""

    def line(kind: str, r: Route | CopyRule) -> str:
        return (
            f"{kind} type={r.document_type} partner={r.partner} office={r.office} "
            f"-> {r.destination}"
        )

    return [line("route", r) for r in routes] + [line("copy", c) for c in copies]


def changes(
    old: Sequence[Route],
    new: Sequence[Route],
    old_copies: Sequence[CopyRule] = (),
    new_copies: Sequence[CopyRule] = (),
) -> list[str]:
    """What a reload changes, as sentences ("+ route ...", "- route ...")."""
    before, after = describe(old, old_copies), describe(new, new_copies)
    return [f"- {x}" for x in before if x not in after] + [
        f"+ {x}" for x in after if x not in before
    ]
