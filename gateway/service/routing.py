"""Which customs system gets a canonical document (migration routing).

>>> from gateway.config import Route
>>> from gateway.domain.model import Header, CargoManifest
>>> doc = CargoManifest(Header.new(sender="apcs", document_type="CargoManifest", business_reference="M"),
...                     document_number="M", port_of_call="EGALY")
>>> route_for(doc, "apcs", [Route("legacy", office="EGALY"), Route("core")])
'legacy'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.config import Route
from gateway.domain.model import CanonicalDocument


def office_of(doc: CanonicalDocument) -> str | None:
    """The customs office or port (UN/LOCODE) a document is handled at."""
    # Not every document type has both (a customs response has neither).
    office: str | None = getattr(doc, "customs_office", None) or getattr(doc, "port_of_call", None)
    return office


def route_for(doc: CanonicalDocument, partner: str, routes: Sequence[Route]) -> str:
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
_DESTINATION = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True, slots=True)
class CopyRule:
    """Send a copy of matching documents to a second authority as well (every match applies).

    >>> CopyRule("veterinary", document_type="CargoManifest").matches("CargoManifest", "apcs", None)
    True
    """

    destination: str
    document_type: str = "*"
    partner: str = "*"
    office: str = "*"

    def matches(self, document_type: str, partner: str, office: str | None) -> bool:
        return Route(self.destination, self.document_type, self.partner, self.office).matches(
            document_type, partner, office
        )


def copies_from(raw: Mapping[str, Any]) -> tuple[CopyRule, ...]:
    """The ``[[copies]]`` tables of a raw configuration; ValueError names the bad key.

    >>> copies_from({"copies": [{"destination": "veterinary", "document_type": "Vet"}]})
    (CopyRule(destination='veterinary', document_type='Vet', partner='*', office='*'),)
    """
    rules = []
    for i, r in enumerate(raw.get("copies", []) or []):
        dest = r.get("destination") if isinstance(r, Mapping) else None
        if not isinstance(dest, str) or not _DESTINATION.match(dest):
            raise ValueError(
                f"copies[{i}].destination: must be 1-32 lower-case letters, digits, '_' or '-'"
            )
        rules.append(
            CopyRule(
                destination=dest,
                document_type=str(r.get("document_type", "*")),
                partner=str(r.get("partner", "*")),
                office=str(r.get("office", "*")),
            )
        )
    return tuple(rules)


def copies_for(doc: CanonicalDocument, partner: str, rules: Sequence[CopyRule]) -> list[str]:
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
