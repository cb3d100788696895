"""The pipeline's signing and amendment step: documents signed in place, then versions,
duplicates and resends filed against the journal (issue #4).

The version header was set before each document was written (``amendments.Preview``), so it
is signed once; only a version another worker filed in between changes a header here, and
that document is signed again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from gateway.config import Partner
from gateway.domain import amendments
from gateway.domain.canonical_xml import to_bytes, to_xml
from gateway.domain.model import CanonicalDocument
from gateway.logs import get_logger
from gateway.security import c14n
from gateway.service.rejections import document_rejection
from gateway.service.translation import (
    MessageHead,
    Outcome,
    RejectedMessage,
    Translation,
)
from gateway.service.xml_documents import spool_min_bytes
from gateway.storage.spool import Signed, SpoolBatch, content

if TYPE_CHECKING:
    # Annotations only: signxml and cryptography load when a key is, the journal's modules
    # when it is opened (issue #20, point 6).
    from gateway.security.signing import Signer
    from gateway.storage.records import Journal

log = get_logger()


def sign_element(signer: Signer, element: etree._Element) -> bytes:
    """``element`` signed in place and written (the tree is the caller's to let go)."""
    return to_bytes(signer.sign(element, in_place=True))


def sign_again(
    signer: Signer, doc: CanonicalDocument, signed: Signed, spool: SpoolBatch | None = None
) -> Signed:
    """``doc``, whose header changed since it was validated and signed, signed again:
    a streamed manifest by splicing its new Header into the signed bytes (a spooled
    one read back, and spooled again in a new file)."""
    if isinstance(doc, c14n.SignedManifest):
        again = c14n.resign_header(content(signed), doc.header, signer.signature_for_digest)
    else:
        again = sign_element(signer, to_xml(doc))
    if spool is None:
        return again
    spool.drop(signed)
    return spool.keep([again], spool_min_bytes(doc))


def amend(
    journal: Journal,
    signer: Signer,
    translation: Translation,
    outcome: Outcome,
    partner: Partner,
    inbound_id: str,
    spool: SpoolBatch | None = None,
) -> None:
    """Versions, duplicates and resends of the documents against the journal (issue #4)."""
    docs = translation.documents
    # What amendments.apply may change in a header; the XML is rebuilt only where it did.
    before = [amended_fields(doc) for doc in docs]
    verdicts = amendments.apply(journal, partner.id, docs, inbound_id)
    keep, signed, sources, positions = [], [], [], []
    for i, (doc, xml, verdict, was) in enumerate(
        zip(docs, translation.signed, verdicts, before, strict=True)
    ):
        index = translation.sources[i] if translation.sources else i
        if verdict.problem is not None:
            # This document alone is refused (issue #15); the others are decided on.
            code, sentence = verdict.problem
            found = (
                translation.positions[i].get("document_number") if translation.positions else None
            )
            head = (
                translation.heads[index]
                if index < len(translation.heads)
                else MessageHead(doc.header.source.message_reference, "", "")
            )
            rejection = document_rejection(
                code, sentence, "amend", found, doc.header.source.message_reference
            )
            translation.rejected_messages.append(RejectedMessage(index, head, rejection))
            translation.refuse_references(doc.references())
            if spool is not None:
                spool.drop(xml)
            continue
        if verdict.action == "resend":
            outcome.events.append(("duplicate", verdict.note))
            log.info("resend of an accepted document: not routed again", note=verdict.note)
            continue
        keep.append(doc)
        sources.append(index)
        if translation.positions:
            positions.append(translation.positions[i])
        # The preview set this header before signing (issue #15); it differs here only when
        # another worker filed a version in between: that XML is rebuilt and signed again.
        signed.append(xml if amended_fields(doc) == was else sign_again(signer, doc, xml, spool))
    translation.rejected_messages.sort(key=lambda r: r.index)
    translation.documents = keep
    translation.signed = signed
    translation.sources = sources
    translation.positions = positions


def amended_fields(doc: CanonicalDocument) -> tuple[str, int, str | None]:
    """The header fields ``amendments.apply`` sets (see :func:`amend`)."""
    h = doc.header
    return (h.message_id, h.document_version, h.previous_message_id)
