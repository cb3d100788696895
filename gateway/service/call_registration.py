"""Registration numbers (issue #17): the MRN customs registers a manifest under, recorded on the
manifest's registry record and as a reference of its messages (``edigw track MRN``).
``gateway.service.calls`` re-exports both functions (``calls.record_registration``).
"""

from __future__ import annotations

import datetime as dt

from gateway.domain.model import CargoManifest, CustomsResponse
from gateway.service.call_time import iso, utcnow
from gateway.storage.call_records import ManifestRecord
from gateway.storage.records import Journal, Origin


def register_mrn(
    journal: Journal,
    sender: str,
    document_number: str,
    mrn: str,
    *,
    now: dt.datetime | None = None,
) -> ManifestRecord | None:
    """Record the MRN customs registered a manifest under; the manifest's record, or None
    when the registry does not hold that manifest (the MRN is still a reference to track)."""
    if not journal.register_mrn(sender, document_number, mrn, iso(now or utcnow()) or ""):
        return None
    return journal.call_manifest(sender, document_number)


def record_registration(
    journal: Journal, response: CustomsResponse, origin: Origin
) -> tuple[str, str] | None:
    """The MRN of a customs answer to a routed manifest, recorded (issue #17).

    Customs answers a CargoManifest it accepted with the MRN it registered it under
    (``CustomsResponse.registration_number``). The MRN becomes a reference of the manifest's
    messages (``edigw track MRN``) and is kept on its registry record. Returns the journal
    event for the manifest, (``registered``, detail), or None when there is no MRN to record
    (no number, a rejection, not a manifest).
    """
    mrn = response.registration_number
    if (
        not mrn
        or response.decision == "rejected"
        or origin.facts.get("document_type") != CargoManifest.DOCUMENT_TYPE
    ):
        return None
    journal.add_references(origin.message_id, [mrn])
    journal.add_references(origin.inbound_id, [mrn])
    number = str(origin.facts.get("business_reference") or "")
    record = register_mrn(journal, origin.partner, number, mrn)
    where = (
        f"; manifest {number} of call {record.key}"
        if record is not None and record.linked_at
        else f"; manifest {number}"
    )
    return "registered", f"MRN {mrn}{where}"


__all__ = ["record_registration", "register_mrn"]
