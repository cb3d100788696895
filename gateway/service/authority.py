"""Who may issue what: a ministry's authority comes from the partner that signed, never from
what the document says about itself (issue #14, docs/ministries.md "Authority").

A ministry document declares its issuer (an id, else a name) and its LPCO type code. Both are
the sender's words. What the gateway knows is who signed: the partner whose trust anchor
verified the signature (``Lpco.signer``, set by ``gateway.service.receipts.MinistryDesk.translate``).
The configuration binds each ministry partner to the issuer identifiers it may issue for
(``[partners.<id>] issuers``) and the LPCO type codes it may send (``lpco_types``, fnmatch
patterns). :func:`refusals` compares the two; an empty list allows nothing (fails closed).

>>> import datetime as dt
>>> from gateway.config import Partner
>>> from gateway.domain.lpco import Issuer, Lpco, SignerInfo
>>> from gateway.domain.model import Header
>>> agriculture = Partner(id="agriculture", name="Agriculture", role="ministry",
...                       formats=("xml",), issuers=("MADR-DSV",), lpco_types=("SPS-*",))
>>> signed_by = SignerInfo("agriculture", "CN=a", "CN=a CA", "1", "00", dt.datetime(2026, 1, 1))
>>> revocation = Lpco(Header.new(sender="agriculture", document_type="Lpco",
...                              business_reference="IL-1"),
...                   kind="licence", type_code="IL-STEEL", issuer=Issuer("Commerce", "MOC-ITD"),
...                   number="IL-1", version=2, status="revoked",
...                   issue_date=dt.date(2026, 1, 5), signer=signed_by)
>>> [r.code for r in refusals(revocation, agriculture)]
['ISSUER_NOT_SIGNER', 'LPCO_TYPE_NOT_ALLOWED']
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.config import Partner
    from gateway.domain.lpco import Lpco
    from gateway.service.translation import Problem

ISSUER_NOT_SIGNER = "ISSUER_NOT_SIGNER"
LPCO_TYPE_NOT_ALLOWED = "LPCO_TYPE_NOT_ALLOWED"
SIGNER_NOT_PARTNER = "SIGNER_NOT_PARTNER"
# How much of a partner's value a sentence quotes: receipts, logs and dead-letter headers stay
# short whatever the document declares.
SHOWN = 70


def _shown(value: str) -> str:
    return repr(value if len(value) <= SHOWN else value[:SHOWN] + "...")


def refusals(doc: Lpco, sender: Partner) -> list[Problem]:
    """Why ``sender`` may not send ``doc``; empty when it may.

    ``doc.signer`` is the verified signer. It must be the sender itself (the trust store checks
    the signature against the sender's anchor only; a mismatch here is refused all the same),
    and the sender's configuration must allow the declared issuer and the type code. Each
    problem's ``where`` is the Lpco element at fault (``Issuer``, ``TypeCode``, ``Signer``).
    """
    from gateway.service.translation import Problem

    signer = doc.signer
    if signer is None or signer.partner != sender.id:
        return [
            Problem(
                SIGNER_NOT_PARTNER,
                "Signer",
                f"the document was not verified as signed by {sender.id}",
            )
        ]
    found: list[Problem] = []
    if doc.issuer_key not in sender.issuers:
        found.append(
            Problem(
                ISSUER_NOT_SIGNER,
                "Issuer",
                f"the document declares issuer {_shown(doc.issuer_key)}, which {sender.id} "
                "may not issue for (its signature is the authority, not the declared issuer)",
            )
        )
    if not any(fnmatchcase(doc.type_code, pattern) for pattern in sender.lpco_types):
        found.append(
            Problem(
                LPCO_TYPE_NOT_ALLOWED,
                "TypeCode",
                f"{sender.id} may not send LPCO type {_shown(doc.type_code)}",
            )
        )
    return found
