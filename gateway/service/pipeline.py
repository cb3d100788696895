"""From partner bytes to signed canonical documents and an acknowledgement: no broker here.

:func:`translate` is the pure part (decode + validate), used offline by
``edigw translate``; :class:`InboundPipeline` adds signing, routing and the
partner's acknowledgement, and returns an :class:`Outcome` that the worker
carries out on the broker.

The steps live in their own modules: the types handed on (``translation``), EDIFACT read a
message at a time (``edifact_messages``, with the CONTRL's ``directory_checks``), canonical XML
written and signed (``xml_documents``), rejections and APERAKs (``rejections``), signing and
amendments (``signing_step``). Their public names are importable from here too.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import threading
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from lxml import etree

from adapters import contrl
from adapters.common import DecodeContext
from adapters.edifact.policy import DEFAULT as DEFAULT_READ_POLICY
from adapters.edifact.policy import ReadPolicy
from adapters.registry import sniff_format
from gateway.config import Partner, Route
from gateway.domain.canonical_xml import to_xml
from gateway.domain.model import CanonicalDocument
from gateway.logs import get_logger
from gateway.service import formats
from gateway.service.edifact_messages import translate_edifact
from gateway.service.rejections import (
    all_rejected,
    aperak_for,
    content_rejection,
    refused_translation,
)
from gateway.service.routing import route_for
from gateway.service.translation import (
    PROVISIONAL_REFERENCE,
    CappedProblems,
    MessageHead,
    Outcome,
    Problem,
    ProblemBudget,
    RejectedMessage,
    Rejection,
    RoutedDocument,
    Translation,
    Write,
    XmlDesk,
)
from gateway.service.xml_documents import translate_xml_offline

if TYPE_CHECKING:
    # Annotations only: signxml and cryptography load when a key is, the journal, the call
    # registry and the travellers' desk when InboundPipeline processes a message (issue #20,
    # point 6: `edigw translate` needs none of them).
    from gateway.domain import amendments
    from gateway.security import c14n
    from gateway.security.signing import Signer
    from gateway.service.calls import CallJudge, CallPolicy
    from gateway.service.travellers_desk import TravellersDesk
    from gateway.storage.records import Journal
    from gateway.storage.spool import Signed, SpoolBatch

__all__ = [
    "PROVISIONAL_REFERENCE",
    "READ_POLICY",
    "CappedProblems",
    "InboundPipeline",
    "MessageHead",
    "Outcome",
    "Problem",
    "ProblemBudget",
    "RejectedMessage",
    "Rejection",
    "RoutedDocument",
    "Translation",
    "XmlDesk",
    "content_rejection",
    "contrl_of",
    "contrl_writer",
    "cyclic_gc_paused",
    "read_from",
    "refused_translation",
    "sniff_format",
    "translate",
]

log = get_logger()

# How EDIFACT is read when translate() is given no policy: its thresholds (an input read
# twice, a message decoded without positions) and modes. Tests and the benchmark replace it.
READ_POLICY: ReadPolicy = DEFAULT_READ_POLICY


def translate(
    data: bytes,
    context: DecodeContext | None = None,
    severities: Mapping[str, str] | None = None,
    xml_desk: XmlDesk | None = None,
    *,
    inbound_id: str | None = None,
    policy: ReadPolicy | None = None,
    sign: Callable[[etree._Element], bytes] | None = None,
    sign_digest: c14n.SignDigest | None = None,
    spool: SpoolBatch | None = None,
    fmt: str | None = None,
    message_types: Collection[str] | None = None,
    vocabularies: Collection[str] | None = None,
    envelope: formats.Envelope | None = None,
    versions: amendments.Preview | None = None,
    calls: CallJudge | None = None,
) -> Translation:
    """Decode ``data`` with the adapter its content calls for and validate the result.

    Business rules run with ``severities`` (a partner's ``rules`` table; defaults otherwise).
    With ``inbound_id``, EDIFACT documents get their ids derived from it (``derived_id``)
    before the XML is built, so that the validated XML is the one signed (no second build).
    ``policy`` (:class:`ReadPolicy`, :data:`READ_POLICY` when None) says how EDIFACT is read;
    its ``directory_validation`` ("reject", "warn", "off") what UN/EDIFACT directory findings
    do: rejected ones are syntax errors, answered by the CONTRL like the envelope's.
    ``sign`` (EDIFACT only) is given each document's validated XML at once, and what it
    returns goes to ``Translation.signed``: no tree outlives its message (issue #8).
    With ``sign_digest`` too (:meth:`Signer.signature_for_digest`), a manifest of at least
    ``STREAM_MIN_CONSIGNMENTS`` bills is written, validated, digested and signed without a
    tree (``gateway.security.c14n``); the same document, c14n-equal. With ``spool`` too, a signed
    document of ``spool.SPOOL_MIN_BYTES`` or more goes to a spool file as it is signed.
    An input of ``policy.thin_min_bytes`` or more is read twice (issue #8): thin first (each
    message's segments checked as they are read, not kept), then each clean message again,
    a large CUSCAR decoded as it is read (``MessageRereader``); the same answers as one read.
    ``fmt`` is the format the partner's configuration chose (``gateway.service.formats.decide``;
    guessed from the content when None, offline). ``message_types`` (EDIFACT, UNH 0065) and
    ``vocabularies`` (XML) are what the partner may send; None: anything (offline). A message
    of another type is refused before it is decoded, in the CONTRL (issue #14). ``envelope``
    (:func:`gateway.service.formats.envelope_for`): the gateway ids the UNB must be addressed
    to, and whether a UNB is required (issue #16); None: any, offline.
    ``versions`` (EDIFACT) gives each document its version header before it is written, so
    it is signed once (issue #15); the pipeline files the versions after (``amend``).
    ``calls`` (EDIFACT) refuses, before its version is previewed, a document the call
    registry refuses (issue #17, ``gateway.service.call_step``).
    """
    context = context or DecodeContext()
    policy = policy or READ_POLICY
    fmt = fmt or sniff_format(data)
    result = Translation(format=fmt)
    if fmt == "xml" and xml_desk is not None:
        # Signature first, then the adapter (#5); the derived id before the XML is built.
        return xml_desk.translate(data, context, inbound_id=inbound_id, vocabularies=vocabularies)
    if fmt == "xml":
        return translate_xml_offline(data, context, result)
    return translate_edifact(
        data,
        context,
        severities,
        result,
        inbound_id=inbound_id,
        policy=policy,
        sign=sign,
        sign_digest=sign_digest,
        spool=spool,
        message_types=message_types,
        envelope=envelope,
        versions=versions,
        calls=calls,
    )


def read_from(
    data: bytes,
    partner: Partner,
    interchange_id: str,
    context: DecodeContext,
    *,
    xml_desk: XmlDesk | None = None,
    inbound_id: str | None = None,
    sign: Callable[[etree._Element], bytes] | None = None,
    sign_digest: c14n.SignDigest | None = None,
    spool: SpoolBatch | None = None,
    versions: amendments.Preview | None = None,
    calls: CallJudge | None = None,
    decision: formats.FormatDecision | None = None,
) -> tuple[formats.FormatDecision, Translation]:
    """``data`` from ``partner`` read as the running gateway reads it: the format its
    configuration decides, its rules, directory validation, message types, vocabularies and
    envelope (``interchange_id``: the gateway's id when the partner names none of its own).

    The one reading ``edigw contrl`` and :class:`InboundPipeline` share (issue #16): the
    CONTRL a partner gets is the CONTRL the command prints. Signing, spooling, the
    documents' versions and the call judge (the other parameters) change no CONTRL.
    """
    # ``decision``: the one the caller already made of these bytes for this partner.
    decision = decision or formats.decide(data, partner)
    if decision.format is None:
        return decision, refused_translation(data, decision)
    return decision, translate(
        data,
        context,
        dict(partner.rules),
        xml_desk,
        inbound_id=inbound_id,
        policy=READ_POLICY.replace(directory_validation=partner.directory_validation),
        sign=sign,
        sign_digest=sign_digest,
        spool=spool,
        fmt=decision.format,
        message_types=partner.message_types,
        vocabularies=partner.vocabularies,
        envelope=formats.envelope_for(partner, interchange_id),
        versions=versions,
        calls=calls,
    )


def contrl_writer(translation: Translation, partner: Partner, interchange_id: str) -> Write | None:
    """How the CONTRL answering ``translation`` is written (under a given interchange
    reference), or None when no CONTRL answers it (``Translation.unanswered``, or no
    syntax report: XML). From the gateway id the partner addressed, with our qualifier,
    to the partner's id with its own (issue #16)."""
    report = translation.syntax_report
    if report is None or translation.unanswered:
        return None
    our_id = formats.answering_id(partner, interchange_id, report.recipient)

    def write(reference: str) -> bytes:
        return contrl.encode(
            report, our_id=our_id, our_qualifier=partner.gateway_qualifier, reference=reference
        )

    return write


def contrl_of(
    data: bytes, partner: Partner, interchange_id: str
) -> tuple[Translation, Write | None]:
    """What ``edigw contrl`` prints: ``data`` read as the running gateway reads it from
    ``partner`` (:func:`read_from`), and how the CONTRL answering it is written
    (:func:`contrl_writer`, None when no CONTRL answers it). The gateway's pipeline calls
    the same two functions; only the interchange reference differs."""
    _, translation = read_from(data, partner, interchange_id, DecodeContext(sender=partner.id))
    return translation, contrl_writer(translation, partner, interchange_id)


_gc_lock = threading.Lock()
_gc_pausers = 0  # pipelines running now, in any thread
_gc_restore = False  # whether the collector was on when the first of them started


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a message is processed, as it was after.

    Decoding allocates objects by the hundred thousand (segments, the model, the XML) and
    keeps them all until the message is done; the collector then runs full passes over an
    ever larger heap that find nothing to free (what the pipeline builds has no cycles and
    is freed by reference counting). Measured on the 10,000-bill manifest: 37 % of the
    pipeline's CPU (issue #8). Counted, so that pipelines running in several threads at
    once switch it back on only when the last one is done; it stays off if it was off.
    """
    global _gc_pausers, _gc_restore
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_restore = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_restore:
                gc.enable()


class InboundPipeline:
    """Decode, validate, sign, route and acknowledge one partner message."""

    def __init__(
        self,
        signer: Signer,
        routes: Sequence[Route],
        interchange_id: str,
        xml_desk: XmlDesk | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.signer = signer
        self.routes = routes
        self.interchange_id = interchange_id
        self.xml_desk = xml_desk
        # With a journal: amendments (versions, duplicates) and identical resends (issue #4).
        self.journal = journal
        # With a journal too (the composition root sets them): the call registry refuses
        # documents before they are signed (issue #17), and the travellers' desk decides
        # the portal's and the border posts' messages and the sailings' lists (issue #18).
        self.calls: CallPolicy | None = None
        self.travellers: TravellersDesk | None = None

    def process(
        self,
        data: bytes,
        partner: Partner,
        correlation_id: str,
        inbound_id: str | None = None,
        *,
        spool: SpoolBatch | None = None,
    ) -> Outcome:
        """Decode, validate, sign, route and acknowledge ``data``, as one :class:`Outcome`.

        With ``spool``, a large signed document is kept in a spool file, not in memory
        (``RoutedDocument.signed_xml`` is then a ``SpooledDocument``; the caller discards
        the batch once the documents are published).

        The answer of an accepted interchange is kept for identical resends
        (:meth:`save_answer`). The worker calls :meth:`evaluate` instead and saves the answer
        in its decision's transaction, after its own duplicate checks.
        """
        outcome = self.evaluate(data, partner, correlation_id, inbound_id, spool=spool)
        self.save_answer(outcome)
        return outcome

    def evaluate(
        self,
        data: bytes,
        partner: Partner,
        correlation_id: str,
        inbound_id: str | None = None,
        *,
        spool: SpoolBatch | None = None,
    ) -> Outcome:
        """:meth:`process` without keeping the answer: the caller calls :meth:`save_answer`."""
        with cyclic_gc_paused():
            return self._process(data, partner, correlation_id, inbound_id, spool)

    def save_answer(self, outcome: Outcome) -> None:
        """Keep the answer to an accepted interchange, to send it again for an identical resend.

        Only accepted ones: a rejected interchange is simply judged again, so that an
        operator's replay after a fix (a route, a severity) is not answered from the past;
        and an interchange the worker rejects after the pipeline (a reused control
        reference) must not be answered "accepted" when it is sent again.
        """
        if (
            self.journal is not None
            and outcome.answer_key is not None
            and outcome.acknowledgements
            and outcome.rejection is None
        ):
            sender, payload_hash, inbound_id = outcome.answer_key
            self.journal.save_acknowledgements(
                sender, payload_hash, inbound_id, outcome.acknowledgements
            )

    def _process(
        self,
        data: bytes,
        partner: Partner,
        correlation_id: str,
        inbound_id: str | None,
        spool: SpoolBatch | None = None,
    ) -> Outcome:
        from gateway.service.calls import CallJudge
        from gateway.service.signing_step import amend
        from gateway.service.travellers_step import (
            TRAVELLER_ROLES,
            sailing_lists,
            travellers_outcome,
        )
        from gateway.storage.records import derived_id

        context = DecodeContext(sender=partner.id, correlation_id=correlation_id)
        # The partner's configuration decides the format and the answer; the content only
        # chooses among what it may send (issue #14).
        decision = formats.decide(data, partner)
        if partner.role in TRAVELLER_ROLES:
            if self.travellers is None:
                raise RuntimeError(f"no travellers' desk for {partner.role} partner {partner.id}")
            return travellers_outcome(
                self.travellers,
                data,
                partner,
                inbound_id or correlation_id,
                correlation_id,
                decision,
                self.routes,
            )
        edifact = decision.format == "edifact"
        data_hash = hashlib.sha256(data).hexdigest()
        this_message = inbound_id or correlation_id
        if self.journal is not None and edifact:
            saved = self.journal.saved_acknowledgements(partner.id, data_hash)
            if saved is not None and saved[0] != this_message:
                # An identical resend: the same answer again, nothing routed, no error (an error
                # makes partners resend in a loop).
                log.info("identical resend: acknowledgements sent again", first=saved[0])
                outcome = Outcome(Translation(format="edifact"), acknowledgements=saved[1])
                outcome.events.append(
                    (
                        "duplicate",
                        f"identical resend of message {saved[0]}: same answer, not routed",
                    )
                )
                return outcome
        # APCS's XML call documents (issue #17): a port's XML, read and answered in XML.
        port_xml = decision.format == "xml" and decision.answer == "contrl"
        judge = (
            CallJudge(self.journal, self.calls)
            if self.journal is not None and self.calls is not None and (edifact or port_xml)
            else None
        )
        if port_xml:
            from gateway.service.port_xml import translate_port_xml

            translation = translate_port_xml(
                data,
                context,
                sign=self._sign,
                inbound_id=inbound_id,
                severities=dict(partner.rules),
                vocabularies=partner.vocabularies,
                calls=judge,
            )
        else:
            decision, translation = self._read(
                data, partner, context, inbound_id, spool, decision, judge
            )
        outcome = Outcome(translation)
        if translation.rejection is None:
            sources = translation.sources or range(len(translation.documents))
            if inbound_id is not None and any(
                doc.header.message_id != derived_id(inbound_id, i)
                for i, doc in zip(sources, translation.documents, strict=True)
            ):
                # Ids derived from the inbound message: a redelivery makes the same ids (#6).
                # EDIFACT has them already (translate); XML from the ministry desk does not.
                for i, doc in enumerate(translation.documents):
                    doc.header.message_id = derived_id(inbound_id, i)
                translation.elements = [to_xml(doc) for doc in translation.documents]
            if self.journal is not None and (edifact or port_xml):
                amend(self.journal, self.signer, translation, outcome, partner, this_message, spool)
                if not translation.documents and translation.rejected_messages:
                    translation.rejection = all_rejected(translation.rejected_messages)
            # EDIFACT documents were signed as they were validated (translate(sign=...));
            # the others here, in place, one at a time, each tree let go once written
            # (issue #8: no copy of a manifest, and never two signed trees alive at once).
            pending: deque[tuple[CanonicalDocument, Signed | etree._Element]] = deque(
                zip(translation.documents, translation.signed or translation.elements, strict=True)
            )
            translation.signed, translation.elements = [], []
            while pending:
                doc, xml = pending.popleft()
                signed = self._sign(xml) if isinstance(xml, etree._Element) else xml
                del xml
                outcome.routed.append(
                    RoutedDocument(doc, signed, route_for(doc, partner.id, self.routes))
                )
            if self.travellers is not None and edifact and outcome.routed:
                # A ferry line's passenger list: its sailing's pre-clearance list (issue #18).
                outcome.routed += sailing_lists(
                    self.travellers, outcome.routed, this_message, partner.id, self.routes
                )
        if self.xml_desk is not None and decision.answer == "receipt":
            # A ministry is answered with a signed receipt, whatever its bytes were.
            self.xml_desk.finish(outcome, partner, inbound_id or correlation_id)
        report = translation.syntax_report
        write_contrl = contrl_writer(translation, partner, self.interchange_id)
        if report is not None and write_contrl is not None:
            # CONTRL speaks of syntax only: each message acknowledged (UCM 7) unless its
            # syntax or directory errors reject it (UCM 4); the interchange (UCI) is
            # rejected only for an envelope error (issue #15).
            outcome.answer("CONTRL", write_contrl)
        content = content_rejection(translation)
        if report is not None and content is not None:
            # Messages whose content was refused: the APERAK names each, with every problem
            # and its position (never an acknowledgement: content_rejection leaves them out).
            outcome.answer(
                "APERAK",
                functools.partial(
                    aperak_for,
                    report,
                    content,
                    translation.heads,
                    our_id=formats.answering_id(partner, self.interchange_id, report.recipient),
                    our_qualifier=partner.gateway_qualifier,
                ),
            )
        if edifact:
            outcome.answer_key = (partner.id, data_hash, this_message)
        if port_xml:
            from gateway.service.port_xml import ANSWER_TYPE as PORT_ANSWER_TYPE
            from gateway.service.port_xml import acknowledgement

            signed = acknowledgement(
                translation,
                this_message,
                sender=self.interchange_id,
                partner=partner.id,
                sign=self._sign,
            )
            outcome.acknowledgements = [(PORT_ANSWER_TYPE, signed)]
        return outcome

    def _read(
        self,
        data: bytes,
        partner: Partner,
        context: DecodeContext,
        inbound_id: str | None,
        spool: SpoolBatch | None,
        decision: formats.FormatDecision,
        judge: CallJudge | None,
    ) -> tuple[formats.FormatDecision, Translation]:
        """``data`` read as ``edigw contrl`` reads it (:func:`read_from`), signed, its
        versions previewed and its call documents judged (EDIFACT)."""
        from gateway.domain import amendments  # on first use (issue #20, point 6)

        edifact = decision.format == "edifact"
        this_message = inbound_id or context.correlation_id or ""
        return read_from(
            data,
            partner,
            self.interchange_id,
            context,
            xml_desk=self.xml_desk,
            inbound_id=inbound_id,
            sign=self._sign,
            sign_digest=self.signer.signature_for_digest,
            spool=spool,
            versions=(
                amendments.Preview(self.journal, partner.id, this_message)
                if self.journal is not None and edifact
                else None
            ),
            calls=judge,
            decision=decision,
        )

    def _sign(self, element: etree._Element) -> bytes:
        """``element`` signed in place and written (the tree is the caller's to let go)."""
        from gateway.service.signing_step import sign_element

        return sign_element(self.signer, element)

    def aperak(
        self,
        report: contrl.SyntaxReport,
        rejection: Rejection,
        heads: Sequence[MessageHead] | None = None,
    ) -> bytes:
        """The APERAK for a content rejection (:func:`gateway.service.rejections.aperak_for`)."""
        return aperak_for(report, rejection, heads, our_id=self.interchange_id)
