"""Ministry messages: verify, decode, keep the LPCO lifecycle, and answer with a signed receipt.

:class:`MinistryDesk` is what the pipeline calls for XML from a ministry partner:

* :meth:`MinistryDesk.translate` verifies the signature against the trust store (only the bytes
  signxml verified go further), picks the adapter by root element and validates the canonical
  Lpco against ``lpco-1.xsd``;
* :meth:`MinistryDesk.finish` checks the signer's authority (``gateway.service.authority``: the declared
  issuer and the LPCO type must be ones the signing partner may issue), applies the lifecycle
  (:class:`LpcoRegistry`, its rows in ``gateway.storage.lpco_records``), turns a duplicate (same signing partner, issuer, number and version,
  same content) into "not routed again, same receipt", and puts the signed :class:`Receipt`
  into the outcome for ``partner.<ministry>.out``.

Lifecycle rules, per signing partner, issuer and number (docs/ministries.md):

=====================  ================================================================
version 1, issued      accepted (anything else for an unknown number: LPCO_UNKNOWN)
same version again     same content: duplicate, same receipt; other content: LPCO_VERSION_CONFLICT
lower version          LPCO_VERSION_STALE
higher version         must be amended, suspended or revoked (LPCO_LIFECYCLE otherwise)
after revoked          nothing more (LPCO_ALREADY_REVOKED)
=====================  ================================================================

>>> r = Receipt(partner="agriculture", inbound_message_id="m1", outcome="accepted")
>>> receipt_from_xml(receipt_to_xml(r)) == r
True
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from lxml import etree

from adapters import ephyto, lpco_national, ubl_origin
from adapters.common import DecodeContext, MappingError
from gateway.domain.lpco import (
    NAMESPACE,
    NSMAP,
    SCHEMA_FILE,
    SCHEMA_VERSION,
    Lpco,
    SignerInfo,
    to_xml,
)
from gateway.domain.validation import validate
from gateway.domain.xmlmap import Vocabulary
from gateway.logs import get_logger
from gateway.security.trust import TrustError, TrustStore, Verified, trust_settings
from gateway.service.authority import refusals

if TYPE_CHECKING:
    from gateway.config import Partner, Settings
    from gateway.security.signing import Signer
    from gateway.service.translation import Outcome, Translation
    from gateway.storage.lpco_records import LpcoRecords

log = get_logger()
NS = f"{{{NAMESPACE}}}"
RECEIPT_TYPE = "LpcoReceipt"

Decoder = Callable[[etree._Element, bytes, DecodeContext], Lpco]
# Root element -> adapter. A TRACES SOAP envelope carries an SPSCertificate in its body.
ADAPTERS: Mapping[str, Decoder] = {
    ephyto.ROOT: ephyto.decode_element,
    f"{{{ephyto.SOAP}}}Envelope": ephyto.decode_element,
    ubl_origin.ROOT: ubl_origin.decode_element,
    lpco_national.ROOT: lpco_national.decode_element,
}


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    sentence: str
    where: str = ""


@dataclass(slots=True)
class Receipt:
    """The gateway's answer to one ministry message."""

    partner: str
    inbound_message_id: str
    outcome: Literal["accepted", "rejected"]
    duplicate: bool = False
    gateway_reference: str | None = None  # the canonical Lpco's message id, when accepted
    issuer: str | None = None
    certificate_number: str | None = None
    version: int | None = None
    status: str | None = None
    reasons: list[Reason] = field(default_factory=list)
    receipt_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    issued_at: dt.datetime = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).replace(microsecond=0)
    )


_add = Vocabulary(NAMESPACE).add


def receipt_to_xml(r: Receipt) -> etree._Element:
    root = etree.Element(NS + RECEIPT_TYPE, nsmap=NSMAP, schemaVersion=SCHEMA_VERSION)
    _add(root, "ReceiptId", r.receipt_id)
    _add(root, "IssuedAt", r.issued_at)
    _add(root, "Partner", r.partner)
    _add(root, "InboundMessageId", r.inbound_message_id[:70])
    _add(root, "Outcome", r.outcome)
    _add(root, "Duplicate", r.duplicate)
    _add(root, "GatewayReference", r.gateway_reference)
    _add(root, "Issuer", r.issuer)
    _add(root, "CertificateNumber", r.certificate_number)
    _add(root, "Version", r.version)
    _add(root, "Status", r.status)
    for reason in r.reasons:
        el = etree.SubElement(root, NS + "Reason", code=reason.code[:70])
        if reason.where:
            el.set("where", reason.where)
        el.text = reason.sentence
    return root


def receipt_from_xml(root: etree._Element) -> Receipt:
    def text(name: str) -> str | None:
        el = root.find(NS + name)
        return None if el is None else (el.text or "")

    version = text("Version")
    return Receipt(
        partner=text("Partner") or "",
        inbound_message_id=text("InboundMessageId") or "",
        outcome=cast(Any, text("Outcome")),
        duplicate=text("Duplicate") == "true",
        gateway_reference=text("GatewayReference"),
        issuer=text("Issuer"),
        certificate_number=text("CertificateNumber"),
        version=None if version is None else int(version),
        status=text("Status"),
        reasons=[
            Reason(el.get("code", ""), el.text or "", el.get("where", ""))
            for el in root.findall(NS + "Reason")
        ],
        receipt_id=text("ReceiptId") or "",
        issued_at=dt.datetime.fromisoformat(text("IssuedAt") or ""),
    )


# ====================================================================== lifecycle registry


@dataclass(frozen=True, slots=True)
class Decision:
    """What the registry says about a new Lpco: accept, duplicate (with the old receipt), reject."""

    verdict: Literal["accept", "duplicate", "reject"]
    receipt: bytes = b""
    reason: Reason | None = None
    inbound_message_id: str = ""  # of the first receipt, for a duplicate


class LpcoRegistry:
    """Every accepted (partner, issuer, number, version), its content hash and its receipt.

    The partner is the ministry whose signature was verified (``Lpco.key``): duplicates,
    stored receipts and the lifecycle are per signing partner, never shared between ministries
    that declare the same issuer (issue #14).

    The rows are ``records``' (``gateway.storage.lpco_records``): a SQLite file for one
    gateway, the PostgreSQL journal's database for several (issue #20), chosen by the
    composition root.
    """

    def __init__(self, records: LpcoRecords) -> None:
        self._records = records

    def decide(self, doc: Lpco) -> Decision:
        """What to do with ``doc``, judged only against what the same signing partner sent."""
        _partner, _issuer, number, version = doc.key
        same, latest = self._records.lookup(doc.key)
        if same is not None:
            if same[0] == doc.header.payload_hash:
                return Decision("duplicate", same[1], inbound_message_id=same[2])
            return Decision(
                "reject",
                reason=Reason(
                    "LPCO_VERSION_CONFLICT",
                    f"version {version} of {number} was already received with other content; "
                    "send a new version",
                    "Version",
                ),
            )
        if latest is None:
            if doc.status != "issued":
                return Decision(
                    "reject",
                    reason=Reason(
                        "LPCO_UNKNOWN",
                        f"{number} is {doc.status} but the gateway never received it issued",
                        "Status",
                    ),
                )
            return Decision("accept")
        latest_version, latest_status = latest
        if latest_status == "revoked":
            return Decision(
                "reject",
                reason=Reason(
                    "LPCO_ALREADY_REVOKED",
                    f"{number} was revoked in version {latest_version}; nothing can follow",
                    "Status",
                ),
            )
        if version < latest_version:
            return Decision(
                "reject",
                reason=Reason(
                    "LPCO_VERSION_STALE",
                    f"version {version} of {number} is older than version {latest_version}",
                    "Version",
                ),
            )
        if doc.status == "issued":
            return Decision(
                "reject",
                reason=Reason(
                    "LPCO_LIFECYCLE",
                    f"{number} is already issued; a new version must be amended, suspended or revoked",
                    "Status",
                ),
            )
        return Decision("accept")

    def record(self, doc: Lpco, inbound_message_id: str, receipt: bytes) -> bool:
        """Keep ``doc`` and its receipt under its key (the signing partner first); False when
        that version was kept meanwhile (another instance decided it first): nothing changed."""
        return self._records.insert(
            doc.key,
            doc.status,
            doc.header.payload_hash,
            doc.header.message_id,
            inbound_message_id,
            receipt,
        )

    def history(self, number: str) -> list[dict[str, Any]]:
        """Every version of ``number`` (any partner and issuer), oldest first."""
        return self._records.history(number)

    def close(self) -> None:
        self._records.close()


# ====================================================================== the desk


def claimed_references(data: bytes, context: DecodeContext) -> list[str]:
    """The references (certificate number, ...) a ministry document refused for its signature
    claims, so that its dead letter is found by them (``edigw track``, issue #19, point 1).

    Unverified: used to index the refusal, never to decide anything. Read within the same
    bounds as the verification read it (``xmlsafe.parse``); none when it is not one of the
    accepted documents or cannot be read as one.
    """
    from gateway.domain.xmlsafe import parse

    try:
        root = parse(data)
        decoder = ADAPTERS.get(root.tag)
        return [] if decoder is None else decoder(root, data, context).references()
    except Exception:  # hostile input that is refused anyway: nothing to index, never a crash
        return []


class MinistryDesk:
    """Signature check, adapter dispatch, lifecycle and signed receipts for ministry XML."""

    def __init__(
        self,
        trust: TrustStore,
        registry: LpcoRegistry,
        signer: Signer,
        ministries: set[str],
    ) -> None:
        self.trust = trust
        self.registry = registry
        self.signer = signer
        self.ministries = ministries

    # ------------------------------------------------------------------ translate
    def translate(
        self,
        data: bytes,
        context: DecodeContext,
        *,
        inbound_id: str | None = None,
        vocabularies: Collection[str] | None = None,
    ) -> Translation:
        """Verify, decode and validate; with ``inbound_id`` the Lpco gets its derived id first
        (``derived_id``), so that the validated XML is the one signed (no second build).
        ``vocabularies``: those the ministry may send (issue #14; None: any), checked on the
        root of the verified document, the one the adapter would read, before it reads it."""
        from gateway.service import formats
        from gateway.service.translation import Problem, Rejection, Translation
        from gateway.storage.journal import derived_id

        result = Translation(format="xml")

        def reject(reason: str, sentence: str, stage: str, where: str = "document") -> Translation:
            result.rejection = Rejection(
                reason, sentence, stage, [Problem(reason, where, sentence)]
            )
            result.documents, result.elements = [], []
            return result

        if context.sender not in self.ministries:
            return reject(
                "UNSUPPORTED_FORMAT",
                "XML documents are accepted from ministry partners only",
                "decode",
            )
        try:
            verified = self.trust.verify(data, context.sender)
        except TrustError as exc:
            log.warning("signature refused", reason=exc.reason, sentence=exc.sentence)
            result.refuse_references(claimed_references(data, context))
            return reject(exc.reason, exc.sentence, "verify", "signature")
        root = verified.root
        result.message_types = [etree.QName(root).localname]
        decoder = ADAPTERS.get(root.tag)
        if decoder is None:
            return reject(
                "LPCO_UNSUPPORTED_DOCUMENT",
                f"{etree.QName(root).localname} documents are not accepted (SPSCertificate, "
                "CertificateOfOrigin or the national LpcoDocument are)",
                "map",
            )
        vocabulary = formats.vocabulary_of(root.tag)
        if vocabularies is not None and vocabulary not in vocabularies:
            allowed = ", ".join(vocabularies) or "none"
            return reject(
                "VOCABULARY_NOT_ALLOWED",
                f"{etree.QName(root).localname} ({vocabulary}) is not a vocabulary "
                f"{context.sender} may send (allowed: {allowed})",
                "format",
            )
        try:
            doc = decoder(root, verified.signed_data, context)
        except MappingError as exc:
            return reject(exc.reason, exc.sentence, "map", exc.where or "document")
        doc.signer = _signer_info(verified)
        if inbound_id is not None:
            doc.header.message_id = derived_id(inbound_id, 0)
        element = to_xml(doc)
        problems = validate(element, schema=SCHEMA_FILE)
        if problems:
            result.refuse_references(doc.references())  # its dead letter found by them (#19)
            reason = "CANONICAL_INVALID"
            result.rejection = Rejection(
                reason,
                f"the Lpco made from this document breaks the canonical schema ({problems[0].sentence})",
                "validate",
                [Problem(reason, p.path, p.sentence) for p in problems],
            )
            return result
        result.documents.append(cast(Any, doc))
        result.elements.append(element)
        return result

    # ------------------------------------------------------------------ finish
    def finish(
        self, outcome: Outcome, partner: Partner, inbound_message_id: str, *, again: bool = True
    ) -> None:
        """Authority, lifecycle, duplicates and the signed receipt, written into ``outcome``.
        ``again``: whether a version kept meanwhile by another instance may be decided once
        more (see below)."""
        from gateway.service.translation import Problem, Rejection

        translation = outcome.translation
        doc = cast(Lpco, translation.documents[0]) if translation.documents else None
        receipt = Receipt(
            partner=partner.id, inbound_message_id=inbound_message_id, outcome="accepted"
        )
        if doc is not None:
            receipt.issuer = doc.issuer_key
            receipt.certificate_number = doc.number
            receipt.version = doc.version
            receipt.status = doc.status
            outcome.references = doc.references()
        if translation.rejection is None and doc is not None:
            self._check_authority(outcome, doc, partner)
        if translation.rejection is None and doc is not None:
            decision = self.registry.decide(doc)
            if (
                decision.verdict == "duplicate"
                and decision.inbound_message_id == inbound_message_id
            ):
                # A redelivery of the very message we answered (crash before the broker confirmed):
                # route again, with the same ids, and send the same receipt.
                self._set_receipt(outcome, decision.receipt)
                return
            if decision.verdict == "duplicate":
                outcome.routed = []
                outcome.events.append(
                    (
                        "duplicate",
                        f"{doc.number} v{doc.version} already received: same receipt, not routed again",
                    )
                )
                self._set_receipt(outcome, decision.receipt)
                return
            if decision.verdict == "reject" and decision.reason is not None:
                r = decision.reason
                translation.rejection = Rejection(
                    r.code, r.sentence, "lifecycle", [Problem(r.code, r.where, r.sentence)]
                )
                outcome.routed = []
        if translation.rejection is not None:
            rejection = translation.rejection
            receipt.outcome = "rejected"
            receipt.reasons = [Reason(p.code, p.sentence, p.where) for p in rejection.problems] or [
                Reason(rejection.reason, rejection.sentence)
            ]
            self._set_receipt(outcome, self._sign(receipt))
            return
        assert doc is not None
        receipt.gateway_reference = doc.header.message_id
        signed = self._sign(receipt)
        # Recorded before the worker publishes: a crash in between makes the redelivery a
        # "duplicate" that is answered but not routed (see docs/ministries.md, limits).
        if not self.registry.record(doc, inbound_message_id, signed):
            if not again:  # the registry refuses what it just said it lacks: a bug of ours
                raise RuntimeError(f"LPCO registry refused {doc.key} twice")
            # Another instance kept this version between our decision and now (a shared
            # registry): decide again, against what it kept, so the document is answered as
            # the duplicate or conflict it now is, never routed twice.
            self.finish(outcome, partner, inbound_message_id, again=False)
            return
        self._set_receipt(outcome, signed)

    @staticmethod
    def _check_authority(outcome: Outcome, doc: Lpco, partner: Partner) -> None:
        """Refuse ``doc`` (nothing routed, nothing recorded) unless its verified signer may
        issue it: before the registry is asked, so that a document outside the signer's
        authority never meets, and is never answered for, another ministry's (issue #14)."""
        from gateway.service.translation import Rejection

        refused = refusals(doc, partner)
        if not refused:
            return
        first = refused[0]
        log.warning(
            "ministry document outside the signer's authority",
            partner=partner.id,
            reason=first.code,
            reasons=[r.code for r in refused],
            number=doc.number[:70],
            version=doc.version,
        )
        outcome.translation.rejection = Rejection(first.code, first.sentence, "authority", refused)
        outcome.routed = []

    def _sign(self, receipt: Receipt) -> bytes:
        element = receipt_to_xml(receipt)
        problems = validate(element, schema=SCHEMA_FILE)
        if problems:  # a bug of ours: refuse to send an invalid receipt
            raise ValueError(f"receipt breaks {SCHEMA_FILE}: {problems[0].sentence}")
        signed = self.signer.sign(element, in_place=True)  # the element is ours, made just now
        return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")

    @staticmethod
    def _set_receipt(outcome: Outcome, receipt: bytes) -> None:
        outcome.acknowledgement = receipt
        outcome.acknowledgement_type = RECEIPT_TYPE


@lru_cache(maxsize=256)
def _certificate_fields(cert: x509.Certificate) -> tuple[str, str, str, str]:
    """Subject, issuer, serial and SHA-256 of a signing certificate, worked out once per
    certificate (the trust store hands out the same object for the same certificate)."""
    return (
        cert.subject.rfc4514_string()[:512] or "(empty subject)",
        cert.issuer.rfc4514_string()[:512] or "(empty issuer)",
        format(cert.serial_number, "x")[:70],
        cert.fingerprint(hashes.SHA256()).hex(),
    )


def _signer_info(verified: Verified) -> SignerInfo:
    subject, issuer, serial, sha256 = _certificate_fields(verified.certificate)
    return SignerInfo(
        partner=verified.partner,
        subject=subject,
        issuer=issuer,
        serial_number=serial,
        certificate_sha256=sha256,
        verified_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
    )


def build_desk(
    settings: Settings, signer: Signer, trust: TrustStore, records: LpcoRecords
) -> MinistryDesk:
    """The ministry desk the configuration calls for, with ``trust`` and the LPCO registry's
    ``records`` (used by ``gateway.bootstrap``, which opens them)."""
    ministries = {p.id for p in settings.partners.values() if p.role == "ministry"}
    # An issuer bound to two ministries is refused with the configuration (config_schema); one
    # bound to none may send nothing, which is allowed but worth saying (issue #14, fails closed).
    for partner in sorted(ministries):
        p = settings.partners[partner]
        if not p.issuers or not p.lpco_types:
            log.warning(
                "ministry may issue nothing: set [partners.<id>] issuers and lpco_types",
                partner=partner,
                issuers=len(p.issuers),
                lpco_types=len(p.lpco_types),
            )
    ts = trust_settings(settings)
    if ts.development:
        log.warning(
            "development trust anchors in use: set [trust] dir for production",
            trust_dir=str(ts.directory),
        )
    return MinistryDesk(
        trust,
        LpcoRegistry(records),
        signer,
        ministries,
    )
