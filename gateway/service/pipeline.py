"""From partner bytes to signed canonical documents and an acknowledgement: no broker here.

:func:`translate` is the pure part (decode + validate), used offline by
``edigw translate``; :class:`InboundPipeline` adds signing, routing and the
partner's acknowledgement, and returns an :class:`Outcome` that the worker
carries out on the broker.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import hashlib
import threading
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol, TypeGuard

from lxml import etree

from adapters import aperak, contrl, cuscar
from adapters.common import DecodeContext, MappingError, Positions
from adapters.edifact import EdifactError, Interchange, Message, Segment, directory, iter_messages
from adapters.edifact.policy import DEFAULT as DEFAULT_READ_POLICY
from adapters.edifact.policy import ReadPolicy
from adapters.edifact.stream import MessageRereader
from adapters.registry import codec_for, sniff_format
from gateway.config import Partner, Route
from gateway.domain import amendments, xmlsafe
from gateway.domain.canonical_xml import to_bytes, to_xml
from gateway.domain.model import CanonicalDocument, CargoManifest
from gateway.domain.rules import Violation, check
from gateway.domain.validation import validate
from gateway.logs import get_logger
from gateway.security import c14n
from gateway.security.signing import Signer
from gateway.service import formats
from gateway.service.routing import route_for
from gateway.storage.journal import Journal, derived_id
from gateway.storage.spool import Signed, SpoolBatch, content

log = get_logger()


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a message was rejected: a code, where in the input, and a sentence."""

    code: str
    where: str
    sentence: str
    # Where in the partner's message, for APERAK (issue #4); unknown when None.
    segment: int | None = None
    tag: str = ""
    message_reference: str = ""

    def line(self) -> str:
        return f"{self.code}\t{self.where}\t{self.sentence}"


@dataclass(slots=True)
class Rejection:
    """Why a message cannot be processed; becomes dead-letter headers and a negative ack."""

    reason: str  # machine-readable, e.g. EDIFACT_SYNTAX
    sentence: str  # for the operator
    stage: str  # decode, map, validate, sign, route
    problems: list[Problem] = field(default_factory=list)
    # Problems found past the caps (adapters.contrl.limits): counted, not listed (issue #14);
    # the last problem says so.
    omitted: int = field(default=0, repr=False)


@dataclass(slots=True)
class ProblemBudget:
    """What is left of one input's problems to keep (shared by its messages' lists)."""

    left: int = contrl.PROBLEMS_PER_INPUT


class CappedProblems(list[Problem]):
    """Problems as they are found, kept up to the caps of ``adapters.contrl.limits`` (so many
    a message, so many in all); the rest only counted in ``omitted`` (issue #14: a hostile
    input breaks a rule a million times, and each kept problem costs memory and time).

    ``budget``: the input's, when several lists (one a message) share it.
    """

    __slots__ = ("budget", "omitted", "per_message")

    def __init__(self, budget: ProblemBudget | None = None) -> None:
        super().__init__()
        self.omitted = 0
        self.per_message: dict[str, int] = {}
        self.budget = budget or ProblemBudget()

    def add(self, problem: Problem) -> None:
        kept = self.per_message.get(problem.message_reference, 0)
        if self.budget.left <= 0 or kept >= contrl.PROBLEMS_PER_MESSAGE:
            self.omitted += 1
            return
        self.per_message[problem.message_reference] = kept + 1
        self.budget.left -= 1
        self.append(problem)

    def listed(self, what: str) -> list[Problem]:
        """The problems kept, and one that says how many more there were ("and N more")."""
        if not self.omitted:
            return list(self)
        return [*self, _more(self.omitted, what)]


def _more(omitted: int, what: str) -> Problem:
    return Problem(
        "TOO_MANY_PROBLEMS",
        "input",
        f"and {omitted} more {what} not listed (at most {contrl.PROBLEMS_PER_MESSAGE} a "
        f"message and {contrl.PROBLEMS_PER_INPUT} an input are)",
    )


@dataclass(frozen=True, slots=True)
class MessageHead:
    """What an APERAK says of a partner's message: its reference, type and document number."""

    reference: str
    type: str
    document_number: str


def _head(message: Message) -> MessageHead:
    bgm = next((s for s in message.segments if s.tag == "BGM"), None)
    return MessageHead(message.reference, message.type, bgm.get(1) if bgm is not None else "")


@dataclass(slots=True)
class RejectedMessage:
    """One message of an interchange rejected on its own (issue #15): the others go on.

    ``syntax``: its errors are syntax or directory errors, answered by its UCM in the
    CONTRL; otherwise the CONTRL acknowledges it and an APERAK names it.
    """

    index: int
    head: MessageHead
    rejection: Rejection
    syntax: bool = False


@dataclass(slots=True)
class Translation:
    """What ``translate`` made of an input: documents, or the rejection and its problems.

    ``elements`` is the validated canonical XML of ``documents``; :meth:`InboundPipeline.process`
    signs them in place and empties the list (the signed bytes are in ``Outcome.routed``).
    An EDIFACT input is read one message at a time and each message's segments are released
    once decoded (``syntax_report.interchanges`` is always empty; ``heads`` keeps what an
    APERAK needs); with ``translate(..., sign=...)`` (the pipeline) each document's XML is
    signed as soon as it is validated and ``signed`` holds the bytes instead of ``elements``.
    """

    documents: list[CanonicalDocument] = field(default_factory=list)
    elements: list[etree._Element] = field(default_factory=list)
    signed: list[Signed] = field(default_factory=list)
    rejection: Rejection | None = None
    syntax_report: contrl.SyntaxReport | None = None
    heads: list[MessageHead] = field(default_factory=list)
    format: str = "unknown"
    message_types: list[str] = field(default_factory=list)
    # Business rules broken at severity "warn": logged and kept, the documents still go.
    # Kept up to the caps (``CappedProblems``), the rest counted (issue #14).
    warnings: CappedProblems = field(default_factory=CappedProblems)
    # Per document: model path -> (segment, tag) in the partner's message (EDIFACT only).
    # Kept after the business rules: the BGM's ("document_number") only.
    positions: list[Positions] = field(default_factory=list)
    # Issue #15: each EDIFACT message is decided on its own. Per document, the index of the
    # message it was made of (in input order); the messages rejected on their own, with the
    # interchange's envelope sound (``rejection`` is then None unless every one was).
    sources: list[int] = field(default_factory=list)
    rejected_messages: list[RejectedMessage] = field(default_factory=list)
    message_count: int = 0


@dataclass(slots=True)
class RoutedDocument:
    document: CanonicalDocument
    signed_xml: Signed  # a large one spooled when the pipeline was given a spool (issue #8)
    destination: str  # "core" or "legacy"


@dataclass(slots=True)
class Outcome:
    """What the worker carries out: documents to route and acknowledgements to send back.

    ``acknowledgements`` is a list of (type, bytes), in sending order: the CONTRL first,
    then an APERAK when the content was rejected. ``acknowledgement`` and
    ``acknowledgement_type`` read and replace the first one (the CONTRL).
    """

    translation: Translation
    routed: list[RoutedDocument] = field(default_factory=list)
    acknowledgements: list[tuple[str, bytes]] = field(default_factory=list)
    # Ministry XML (issue #5): references and (status, detail) events for the inbound message.
    references: list[str] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)
    # (sender, payload hash, inbound id) under which the answer is kept for identical
    # resends, once the message is accepted (:meth:`InboundPipeline.save_answer`).
    answer_key: tuple[str, str, str] | None = None

    @property
    def rejection(self) -> Rejection | None:
        return self.translation.rejection

    @property
    def acknowledgement(self) -> bytes:
        return self.acknowledgements[0][1] if self.acknowledgements else b""

    @acknowledgement.setter
    def acknowledgement(self, data: bytes) -> None:
        # Replacing the acknowledgement replaces the whole answer (e.g. a duplicate interchange).
        self.acknowledgements = [("CONTRL", data)] if data else []

    @property
    def acknowledgement_type(self) -> str:
        return self.acknowledgements[0][0] if self.acknowledgements else ""

    @acknowledgement_type.setter
    def acknowledgement_type(self, kind: str) -> None:
        if self.acknowledgements:
            self.acknowledgements[0] = (kind, self.acknowledgements[0][1])


class XmlDesk(Protocol):
    """Ministry XML (issue #5, ``gateway.service.receipts.MinistryDesk``): verify + decode, then receipts."""

    def translate(
        self,
        data: bytes,
        context: DecodeContext,
        *,
        inbound_id: str | None = None,
        vocabularies: Collection[str] | None = None,
    ) -> Translation: ...

    def finish(self, outcome: Outcome, partner: Partner, inbound_message_id: str) -> None: ...


def _locate(path: str, positions: Positions) -> tuple[int, str] | None:
    """The segment of the nearest enclosing model path (``a[0].b[1].c`` -> ``a[0].b[1]`` ...)."""
    while path:
        if path in positions:
            return positions[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


def _rule_problem(v: Violation, positions: Positions, message_reference: str) -> Problem:
    found = _locate(v.path, positions)
    where = f"segment {found[0]} {found[1]} ({v.path})" if found else v.path
    return Problem(
        v.code,
        where,
        v.sentence,
        segment=found[0] if found else None,
        tag=found[1] if found else "",
        message_reference=message_reference,
    )


def _directory_type(message: Message) -> str | None:
    # A CUSCAR with an empty UNH type (a real-world defect) is checked as a CUSCAR.
    return "CUSCAR" if cuscar.is_cuscar(message) else None


def _directory_check(policy: str, result: Translation) -> contrl.MessageCheck:
    """The directory validator as a CONTRL message check; warnings go to ``result.warnings``."""

    def check(message: Message) -> contrl.Findings:
        validator = directory.MessageValidator(
            message, message_type=_directory_type(message), limit=contrl.PROBLEMS_PER_MESSAGE
        )
        return _directory_errors(validator.whole(message.segments), validator, policy, result)

    return check


class _FedDirectoryCheck:
    """:func:`_directory_check` fed a segment at a time (``directory.MessageValidator``)."""

    def __init__(self, head: Message, policy: str, result: Translation) -> None:
        self.validator = directory.MessageValidator(
            head, message_type=_directory_type(head), limit=contrl.PROBLEMS_PER_MESSAGE
        )
        self.feed = self.validator.feed
        self.policy = policy
        self.result = result

    def finish(self) -> contrl.Findings:
        return _directory_errors(self.validator.finish(), self.validator, self.policy, self.result)


def _message_check(
    policy: str, result: Translation, allowed: frozenset[str] | None, sender: str
) -> contrl.MessageCheck:
    """The CONTRL's check of one message: its type first, then (for an allowed type, unless
    ``policy`` is "off") the directory; a refused type is not looked into any further."""
    directory_check = _directory_check(policy, result) if policy != "off" else None

    def check(message: Message) -> contrl.Findings:
        refused = formats.type_refusal(message, allowed, sender)
        if refused is not None:
            return contrl.Findings([refused])
        # The directory's findings as they are: their ``omitted`` count is the cap's.
        if directory_check is None:
            return contrl.Findings()
        found = directory_check(message)
        return found if isinstance(found, contrl.Findings) else contrl.Findings(found)

    return check


def _fed_message_check(
    head: Message,
    policy: str,
    result: Translation,
    allowed: frozenset[str] | None,
    sender: str,
) -> contrl.FedCheck:
    """:func:`_message_check` fed a segment at a time."""
    refused = formats.type_refusal(head, allowed, sender)
    if refused is not None:
        return formats.Refused([refused])
    if policy == "off":
        return formats.Refused([])  # an allowed type, and no directory validation
    return _FedDirectoryCheck(head, policy, result)


def _directory_errors(
    issues: list[directory.DirectoryIssue],
    validator: directory.MessageValidator,
    policy: str,
    result: Translation,
) -> contrl.Findings:
    """The errors of a directory check under ``policy``; warnings go to ``result.warnings``.

    The validator kept the first ``PROBLEMS_PER_MESSAGE`` issues and counted the rest
    (``validator.omitted``, read once it is finished): the errors among those are the
    findings' ``omitted``, the others are counted with the warnings.
    """
    rejecting = policy == "reject"
    errors = contrl.Findings(omitted=validator.omitted["error"] if rejecting else 0)
    result.warnings.omitted += validator.omitted["warning"]
    if not rejecting:
        result.warnings.omitted += validator.omitted["error"]
    for issue in issues:
        if issue.severity == "error" and rejecting:
            errors.append(directory.to_edifact_error(issue))
        else:
            result.warnings.add(
                Problem(
                    f"EDIFACT_{issue.code}",
                    f"segment {issue.segment_number} {issue.tag}",
                    issue.sentence,
                    segment=issue.segment_number,
                    tag=issue.tag,
                    message_reference=issue.message_reference,
                )
            )
    return errors


def _translate_xml_offline(data: bytes, context: DecodeContext, result: Translation) -> Translation:
    """Ministry XML without a trust store (``edigw translate``): decoded, signature NOT checked.

    The gateway itself always goes through the ministry desk, which verifies the
    signature first and decodes only the verified bytes; this path is for people
    looking at a document offline, and says so in a warning.
    """
    from gateway.domain import lpco
    from gateway.service.receipts import ADAPTERS

    def reject(reason: str, sentence: str, stage: str) -> Translation:
        result.rejection = Rejection(
            reason, sentence, stage, [Problem(reason, "document", sentence)]
        )
        return result

    try:
        root = xmlsafe.parse(data)
    except xmlsafe.UnsafeXmlError as exc:
        return reject(exc.reason, exc.sentence, "decode")
    decoder = ADAPTERS.get(root.tag)
    if decoder is None:
        return reject(
            "UNSUPPORTED_DOCUMENT",
            f"{etree.QName(root).localname} is not a document the gateway translates "
            "(SPSCertificate, CertificateOfOrigin, the national LpcoDocument, or EDIFACT)",
            "map",
        )
    try:
        doc = decoder(root, data, context)
    except MappingError as exc:
        return reject(exc.reason, exc.sentence, "map")
    element = to_xml(doc)
    problems = validate(element, schema=lpco.SCHEMA_FILE)
    if problems:
        return reject("CANONICAL_INVALID", problems[0].sentence, "validate")
    result.message_types = [etree.QName(root).localname]
    result.documents.append(doc)  # type: ignore[arg-type]
    result.elements.append(element)
    result.warnings.add(
        Problem(
            "SIGNATURE_NOT_CHECKED",
            "signature",
            "offline translation: the signature was not verified (`edigw verify` checks it)",
        )
    )
    return result


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
    of another type is refused before it is decoded, in the CONTRL (issue #14).
    """
    context = context or DecodeContext()
    policy = policy or READ_POLICY
    directory_validation = policy.directory_validation
    fmt = fmt or sniff_format(data)
    result = Translation(format=fmt)
    if fmt == "xml" and xml_desk is not None:
        # Signature first, then the adapter (#5); the derived id before the XML is built.
        return xml_desk.translate(data, context, inbound_id=inbound_id, vocabularies=vocabularies)
    if fmt == "xml":
        return _translate_xml_offline(data, context, result)
    # One message at a time (issue #8): read, checked for the CONTRL (envelope and directory),
    # decoded, its XML built, validated and handed to ``sign``, and released before the next
    # one is read. Each message is decided on its own (issue #15): one that cannot be decoded,
    # breaks a rule or the canonical schema is rejected alone and the others go on; only what
    # concerns the interchange as a whole (UNB/UNZ, groups, a fatal syntax error) rejects all.
    # A large input is read twice (issue #8): first thin (each message's segments checked as
    # they are read and dropped), then, for each clean message, again as it is decoded.
    thin = len(data) >= policy.thin_min_bytes
    checking = directory_validation != "off" or message_types is not None
    allowed = None if message_types is None else frozenset(message_types)
    if thin:
        fed: list[contrl.FedCheckFactory] = []
        if checking:
            fed.append(
                functools.partial(
                    _fed_message_check,
                    policy=directory_validation,
                    result=result,
                    allowed=allowed,
                    sender=context.sender,
                )
            )
        reading = contrl.StreamingAcknowledgement(
            data, charset_policy=policy.charset, fed_checks=fed, partial=True
        )
    else:
        checks = (
            [_message_check(directory_validation, result, allowed, context.sender)]
            if checking
            else []
        )
        reading = contrl.StreamingAcknowledgement(
            data, charset_policy=policy.charset, message_checks=checks, partial=True
        )
    second = MessageRereader(data, policy)
    heads: list[MessageHead] = []
    rejected: list[RejectedMessage] = []
    unclean: list[tuple[int, MessageHead]] = []  # syntax errors: their UCM says why
    rule_warnings: list[tuple[Problem, Violation]] = []
    rule_budget = ProblemBudget()  # the business-rule problems kept, for the whole input
    for index, (ic, message, clean) in enumerate(reading.messages()):
        head = _head(message)
        heads.append(head)
        if not clean:
            unclean.append((index, head))
        else:
            count: int | None = None
            stream: Iterator[Segment] | None = None
            if thin:
                assert reading.thin is not None
                count = reading.thin.count
                codec = codec_for(message)
                if (
                    count < policy.unrecorded_min_segments
                    or codec is None
                    or codec.decode_stream is None
                ):
                    # Held whole as the one-read path holds it, and decoded the same way.
                    segments = list(second.segments(index))
                    message = dataclasses.replace(message, segments=segments)
                    count = None
                else:
                    stream = second.segments(index)
            rule_problems = CappedProblems(rule_budget)
            stopped = _decode(
                message,
                ic,
                context,
                severities,
                inbound_id,
                result,
                rule_problems,
                rule_warnings,
                functools.partial(_reread, data, index, policy),
                index=index,
                count=count,
                stream=stream,
                unrecorded_min_segments=policy.unrecorded_min_segments,
            )
            # Checked, decoded and its head taken: nothing reads its segments again, so
            # they go now, before the XML is written (the reader still holds the
            # message object until the next one is read).
            message.segments.clear()
            if stopped is None and rule_problems:
                first = rule_problems[0]
                stopped = Rejection(
                    "BUSINESS_RULES",
                    f"{len(rule_problems) + rule_problems.omitted} business rule(s) broken, "
                    f"first {first.code}: {first.sentence}",
                    "rules",
                    rule_problems.listed("broken business rules"),
                    rule_problems.omitted,
                )
            if stopped is None:
                stopped = _canonical(result.documents[-1], result, sign, sign_digest, spool)
            if stopped is not None:
                if result.sources and result.sources[-1] == index:
                    # Decoded, then rejected: its document goes (it was the last one).
                    result.documents.pop()
                    result.positions.pop()
                    result.sources.pop()
                rejected.append(RejectedMessage(index, head, stopped))
        del message  # its segments go before the next message is read
    report = reading.report()
    result.syntax_report = report
    result.message_count = len(heads)
    if not _envelope_sound(report):
        result.rejection = _syntax_rejection(report)
        result.documents, result.positions, result.message_types = [], [], []
        result.elements, result.signed, result.sources = [], [], []
        return result
    result.heads = heads
    # Logged once the syntax is known to be fine, as before the messages were streamed.
    for problem, v in rule_warnings:
        result.warnings.add(problem)
        log.warning(
            "business rule broken (warn)", rule=v.code, where=problem.where, sentence=v.sentence
        )
    if result.warnings.omitted:
        log.warning("more warnings than are kept", omitted=result.warnings.omitted)
    message_reports = report.messages
    for index, head in unclean:
        errors = message_reports[index].errors if index < len(message_reports) else []
        rejected.append(
            RejectedMessage(index, head, _message_syntax_rejection(head, errors), syntax=True)
        )
    rejected.sort(key=lambda r: r.index)
    result.rejected_messages = rejected
    if not heads:
        result.rejection = Rejection("NO_MESSAGES", "the interchange holds no message", "decode")
    elif not result.documents:
        result.rejection = _all_rejected(rejected)
    return result


def content_rejection(translation: Translation) -> Rejection | None:
    """What an APERAK answers: the messages refused for their content (not their syntax).

    The messages the CONTRL rejects (syntax, directory) are not repeated in it; an
    interchange refused as a whole for its content (no message to name) is answered too.
    """
    content = [r for r in translation.rejected_messages if not r.syntax]
    if content:
        return _all_rejected(content)
    report = translation.syntax_report
    if (
        translation.rejection is not None
        and not translation.rejected_messages
        and report is not None
        and _envelope_sound(report)
    ):
        return translation.rejection
    return None


def _envelope_sound(report: contrl.SyntaxReport) -> bool:
    """No error above the messages (UNA/UNB/UNZ, groups, the input as a whole)."""
    return not report.errors and not any(g.errors for g in report.groups)


def _message_syntax_rejection(head: MessageHead, errors: Sequence[EdifactError]) -> Rejection:
    """The rejection of one message whose UCM rejects it (syntax or directory errors, or a
    type its partner may not send, issue #14: not read any further, no replay mends it)."""
    refused = next((e for e in errors if e.reason == formats.MESSAGE_TYPE_NOT_ALLOWED), None)
    if refused is not None:
        problem = Problem(
            refused.reason,
            refused.where,
            refused.sentence,
            segment=refused.segment,
            tag=refused.tag,
            message_reference=head.reference,
        )
        return Rejection(refused.reason, refused.sentence, "format", [problem])
    problems = [
        Problem(
            f"EDIFACT_{e.code}",
            e.where,
            e.sentence,
            segment=e.segment,
            tag=e.tag or "",
            message_reference=head.reference,
        )
        for e in errors
    ] or [Problem("EDIFACT_SYNTAX", "message", "the message breaks EDIFACT syntax rules")]
    structural = bool(errors) and all(e.reason == "EDIFACT_DIRECTORY" for e in errors)
    first = problems[0].sentence
    return Rejection(
        "EDIFACT_DIRECTORY" if structural else "EDIFACT_SYNTAX",
        (
            f"message {head.reference} does not follow its UN/EDIFACT directory ({first})"
            if structural
            else f"message {head.reference} breaks EDIFACT syntax rules ({first})"
        ),
        "decode",
        problems,
    )


def _all_rejected(rejected: Sequence[RejectedMessage]) -> Rejection:
    """Every message was rejected: the interchange's rejection, all their problems in it."""
    if len(rejected) == 1:
        return rejected[0].rejection
    first = rejected[0].rejection
    reasons = list(dict.fromkeys(r.rejection.reason for r in rejected))
    problems = [p for r in rejected for p in r.rejection.problems[: contrl.PROBLEMS_PER_INPUT]]
    # Each message's problems are capped; all of them together are too (issue #14).
    omitted = sum(r.rejection.omitted for r in rejected)
    if len(problems) > contrl.PROBLEMS_PER_INPUT:
        omitted += len(problems) - contrl.PROBLEMS_PER_INPUT
        problems = [*problems[: contrl.PROBLEMS_PER_INPUT], _more(omitted, "problems")]
    return Rejection(
        reasons[0] if len(reasons) == 1 else "MESSAGES_REJECTED",
        f"all {len(rejected)} messages were rejected, the first ({rejected[0].head.reference}) "
        f"for {first.reason}: {first.sentence}",
        first.stage,
        problems,
        omitted,
    )


def _syntax_rejection(report: contrl.SyntaxReport) -> Rejection:
    """The rejection of an interchange whose CONTRL rejects it (envelope or directory)."""
    errors = report.all_errors()
    # The summaries of what was left out (adapters.contrl.limits) come last.
    found = [e for e in errors if e.reason != contrl.REASON_TOO_MANY]
    errors = found + [e for e in errors if e.reason == contrl.REASON_TOO_MANY]
    problems = [Problem(f"EDIFACT_{e.code}", e.where, e.sentence) for e in errors]
    structural = bool(found) and all(e.reason == "EDIFACT_DIRECTORY" for e in found)
    return Rejection(
        "EDIFACT_DIRECTORY" if structural else "EDIFACT_SYNTAX",
        (
            f"the message does not follow its UN/EDIFACT directory ({problems[0].sentence})"
            if structural
            else f"the interchange breaks EDIFACT syntax rules ({problems[0].sentence})"
        ),
        "decode",
        problems,
        report.omitted,
    )


def _decode(
    message: Message,
    ic: Interchange,
    context: DecodeContext,
    severities: Mapping[str, str] | None,
    inbound_id: str | None,
    result: Translation,
    rule_problems: CappedProblems,
    rule_warnings: list[tuple[Problem, Violation]],
    reread: Callable[[], tuple[Message, Interchange]],
    *,
    index: int,
    count: int | None = None,
    stream: Iterator[Segment] | None = None,
    unrecorded_min_segments: int,
) -> Rejection | None:
    """Decode one message into ``result.documents`` and check its business rules.

    Returns the rejection when the message cannot be decoded at all (that message is
    then refused with it; the others are decided on their own). ``index`` is the message's
    place in the input: its document's id is derived from it, so that a redelivery gives
    the same ids whichever messages are rejected. ``reread`` reads the message
    again from the input (a large CUSCAR's segments are released as it is decoded).
    ``count`` and ``stream``: a large CUSCAR read thin (``message`` holds what the first
    read kept, ``count`` its segments), decoded from ``stream`` as it is read again.
    A message of ``unrecorded_min_segments`` or more is decoded without positions when its
    codec can (``decode_stream``).
    """
    result.message_types.append(message.type or "?")
    codec = codec_for(message)
    if codec is None:
        return Rejection(
            "UNSUPPORTED_MESSAGE_TYPE",
            f"message {message.reference} is a {message.type or 'message without type'}, "
            "which the gateway does not accept from port partners",
            "map",
            [
                Problem(
                    "UNSUPPORTED_MESSAGE_TYPE",
                    f"segment {message.segments[0].number} UNH",
                    f"{message.type or '(empty)'} is not a supported message type",
                    segment=message.segments[0].number,
                    tag="UNH",
                    message_reference=message.reference,
                )
            ],
        )
    # A large CUSCAR is decoded without positions (~30,000 paths at 5,000 bills, 5 MB) and
    # its segments are let go as they are read (27 MB at 5,000 bills): only a broken rule or
    # an adapter error reads positions, and then the message is read and decoded again for
    # them (the same content gives the same positions) (issue #8).
    size = len(message.segments) if count is None else count
    decode_stream = codec.decode_stream
    recorded = decode_stream is None or size < unrecorded_min_segments
    positions: Positions = {} if recorded else _Unrecorded()
    # The one position kept after the rules: the CUSCAR adapter's, its first BGM.
    bgm = None if recorded else next((s for s in message.segments if s.tag == "BGM"), None)
    try:
        try:
            if decode_stream is None or recorded:
                doc: CanonicalDocument = codec.decode(message, ic, context, positions)
            else:  # from ``stream``, or the message's segments let go as they are read
                doc = decode_stream(message, ic, context, positions, stream=stream)
        except MappingError:
            if recorded:
                raise
            codec.decode(*reread(), context, {})  # raises it again, with its segment
            raise AssertionError("a decoder gave two answers for one message") from None
    except MappingError as exc:
        return Rejection(
            exc.reason,
            exc.sentence,
            "map",
            [
                Problem(
                    exc.reason,
                    exc.where or "message",
                    exc.sentence,
                    segment=exc.segment,
                    message_reference=message.reference,
                )
            ],
        )
    except EdifactError as exc:  # an adapter that reads deeper may still find syntax errors
        return Rejection(
            "EDIFACT_SYNTAX",
            exc.sentence,
            "map",
            [
                Problem(
                    f"EDIFACT_{exc.code}",
                    exc.where,
                    exc.sentence,
                    segment=exc.segment,
                    message_reference=message.reference,
                )
            ],
        )
    if inbound_id is not None:
        doc.header.message_id = derived_id(inbound_id, index)
    result.documents.append(doc)
    result.sources.append(index)
    violations = check(doc, severities)
    if violations and not recorded:
        positions = {}
        codec.decode(*reread(), context, positions)  # the same document, its positions
    elif bgm is not None:
        positions = {"document_number": (bgm.number, bgm.tag)}
    for v in violations:
        problem = _rule_problem(v, positions, message.reference)
        if v.severity == "warn":
            if len(rule_warnings) < contrl.PROBLEMS_PER_INPUT:
                rule_warnings.append((problem, v))
            else:
                result.warnings.omitted += 1
        else:
            rule_problems.add(problem)
    # After the rules only the BGM position is read (amendment problems, issue #4); a
    # 5,000-bill message has ~10^5 positions, not to be kept for every message (issue #8).
    result.positions.append({k: positions[k] for k in ("document_number",) if k in positions})
    return None


# How EDIFACT is read when translate() is given no policy: its thresholds (an input read
# twice, a message decoded without positions) and modes. Tests and the benchmark replace it.
READ_POLICY: ReadPolicy = DEFAULT_READ_POLICY


def _reread(data: bytes, index: int, policy: ReadPolicy) -> tuple[Message, Interchange]:
    """Message ``index`` of ``data`` (counted as ``StreamingAcknowledgement`` yields them)."""
    for i, (ic, message) in enumerate(iter_messages(data, policy=policy)):
        if i == index:
            return message, ic
    raise AssertionError(f"message {index} is not in the input any more")


class _Unrecorded(dict[str, tuple[int, str]]):
    """Positions that are not kept: what a decoder records is dropped."""

    def __setitem__(self, key: str, value: tuple[int, str]) -> None:
        pass

    def setdefault(self, key: str, default: tuple[int, str]) -> tuple[int, str]:
        return default


# A manifest of this many bills or more is written and signed without a tree (issue #8): at
# 5,000 bills the tree is ~37 MB. Smaller ones keep the tree path (lxml's own serialisation,
# the bytes partners have seen so far); the two give the same document (c14n-equal).
STREAM_MIN_CONSIGNMENTS = 500


def _streams(doc: CanonicalDocument) -> TypeGuard[CargoManifest]:
    return isinstance(doc, CargoManifest) and len(doc.consignments) >= STREAM_MIN_CONSIGNMENTS


def _canonical(
    doc: CanonicalDocument,
    result: Translation,
    sign: Callable[[etree._Element], bytes] | None,
    sign_digest: c14n.SignDigest | None = None,
    spool: SpoolBatch | None = None,
) -> Rejection | None:
    """The validated canonical XML of ``doc``: signed into ``result.signed`` when ``sign``
    is given (the tree then goes at once; a large document to ``spool`` when given), else
    kept in ``result.elements``.

    A large manifest with ``sign`` and ``sign_digest`` is streamed (``gateway.security.c14n``); when
    the streamed check refuses it, or a value cannot be XML, the tree path below decides
    and words the rejection, as it always has.
    """
    if sign is not None and sign_digest is not None and _streams(doc):
        try:
            parts = c14n.signed_parts(doc, sign_digest)
        except ValueError:
            parts = None  # to_xml raises it again below, and the message is refused
        if parts is not None:
            # Its bills are in the signed bytes: the model keeps the rest, and the bills go
            # before the bytes are joined (issue #8).
            result.documents[-1] = c14n.SignedManifest.of(doc)
            del doc
            result.signed.append(c14n.joined(parts) if spool is None else spool.keep(parts))
            return None
    try:
        element = to_xml(doc)
    except (ValueError, TypeError) as exc:
        # A value XML cannot carry (a control character, say) that an adapter let
        # through: the message is refused like any other canonical-schema failure.
        sentence = f"the {doc.header.document_type} cannot be written as XML: {exc}"
        return Rejection(
            "CANONICAL_INVALID",
            sentence,
            "validate",
            [Problem("CANONICAL_INVALID", "/", sentence)],
        )
    schema_problems = validate(element)
    if schema_problems:
        return Rejection(
            "CANONICAL_INVALID",
            f"the {doc.header.document_type} made from this message breaks the canonical schema "
            f"({schema_problems[0].sentence})",
            "validate",
            [Problem("CANONICAL_INVALID", p.path, p.sentence) for p in schema_problems],
        )
    if sign is None:
        result.elements.append(element)
    elif spool is None:
        result.signed.append(sign(element))
    else:
        result.signed.append(spool.keep([sign(element)]))
    return None


def _amended_fields(doc: CanonicalDocument) -> tuple[str, int, str | None]:
    """The header fields ``amendments.apply`` sets (see :meth:`InboundPipeline._amend`)."""
    h = doc.header
    return (h.message_id, h.document_version, h.previous_message_id)


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


def refused_translation(data: bytes, decision: formats.FormatDecision) -> Translation:
    """The translation of a message refused by :func:`gateway.service.formats.decide`: nothing
    decoded; for a partner answered by CONTRL, a report rejecting the interchange (0085
    code 17, no agreement), addressed from whatever UNB the bytes hold."""
    refusal = decision.refusal
    assert refusal is not None
    log.warning("format refused", reason=refusal.reason, looks_like=decision.kind)
    result = Translation(format=decision.kind)
    result.rejection = Rejection(
        refusal.reason,
        refusal.sentence,
        "format",
        [Problem(refusal.reason, "message", refusal.sentence)],
    )
    if decision.answer == "contrl":
        result.syntax_report = contrl.failure_report(
            data, EdifactError("17", refusal.sentence, reason=refusal.reason)
        )
    return result


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
        context = DecodeContext(sender=partner.id, correlation_id=correlation_id)
        # The partner's configuration decides the format and the answer; the content only
        # chooses among what it may send (issue #14).
        decision = formats.decide(data, partner)
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
        if decision.format is None:
            translation = refused_translation(data, decision)
        else:
            translation = translate(
                data,
                context,
                dict(partner.rules),
                self.xml_desk,
                inbound_id=inbound_id,
                policy=READ_POLICY.replace(directory_validation=partner.directory_validation),
                sign=self._sign,
                sign_digest=self.signer.signature_for_digest,
                spool=spool,
                fmt=decision.format,
                message_types=partner.message_types,
                vocabularies=partner.vocabularies,
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
            if self.journal is not None and edifact:
                self._amend(translation, outcome, partner, this_message, spool)
                if not translation.documents and translation.rejected_messages:
                    translation.rejection = _all_rejected(translation.rejected_messages)
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
        if self.xml_desk is not None and decision.answer == "receipt":
            # A ministry is answered with a signed receipt, whatever its bytes were.
            self.xml_desk.finish(outcome, partner, inbound_id or correlation_id)
        report = translation.syntax_report
        if report is not None:
            # CONTRL speaks of syntax only: each message acknowledged (UCM 7) unless its
            # syntax or directory errors reject it (UCM 4); the interchange (UCI) is
            # rejected only for an envelope error (issue #15).
            outcome.acknowledgements.append(
                ("CONTRL", contrl.encode(report, our_id=self.interchange_id))
            )
            content = content_rejection(translation)
            if content is not None:
                # Messages whose content was refused: the APERAK names each, with every
                # problem and its position.
                outcome.acknowledgements.append(
                    ("APERAK", self.aperak(report, content, translation.heads))
                )
        if edifact:
            outcome.answer_key = (partner.id, data_hash, this_message)
        return outcome

    def _sign(self, element: etree._Element) -> bytes:
        """``element`` signed in place and written (the tree is the caller's to let go)."""
        return to_bytes(self.signer.sign(element, in_place=True))

    def _sign_again(
        self, doc: CanonicalDocument, signed: Signed, spool: SpoolBatch | None = None
    ) -> Signed:
        """``doc``, whose header changed since it was validated and signed, signed again:
        a streamed manifest by splicing its new Header into the signed bytes (a spooled
        one read back, and spooled again in a new file)."""
        if isinstance(doc, c14n.SignedManifest):
            again = c14n.resign_header(
                content(signed), doc.header, self.signer.signature_for_digest
            )
        else:
            again = self._sign(to_xml(doc))
        if spool is None:
            return again
        spool.drop(signed)
        return spool.keep([again])

    def _amend(
        self,
        translation: Translation,
        outcome: Outcome,
        partner: Partner,
        inbound_id: str,
        spool: SpoolBatch | None = None,
    ) -> None:
        """Versions, duplicates and resends of the documents against the journal (issue #4)."""
        assert self.journal is not None
        docs = translation.documents
        # What amendments.apply may change in a header; the XML is rebuilt only where it did.
        before = [_amended_fields(doc) for doc in docs]
        verdicts = amendments.apply(self.journal, partner.id, docs, inbound_id)
        keep, signed, sources, positions = [], [], [], []
        for i, (doc, xml, verdict, was) in enumerate(
            zip(docs, translation.signed, verdicts, before, strict=True)
        ):
            index = translation.sources[i] if translation.sources else i
            if verdict.problem is not None:
                # This document alone is refused (issue #15); the others are decided on.
                code, sentence = verdict.problem
                found = (
                    translation.positions[i].get("document_number")
                    if translation.positions
                    else None
                )
                problem = Problem(
                    code,
                    f"segment {found[0]} BGM" if found else "BGM",
                    sentence,
                    segment=found[0] if found else None,
                    tag="BGM",
                    message_reference=doc.header.source.message_reference,
                )
                head = (
                    translation.heads[index]
                    if index < len(translation.heads)
                    else MessageHead(doc.header.source.message_reference, "", "")
                )
                translation.rejected_messages.append(
                    RejectedMessage(index, head, Rejection(code, sentence, "amend", [problem]))
                )
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
            # Versions and previous-message links changed the header: rebuild that XML
            # and sign it again; an unchanged one (a first version) keeps the document
            # signed as it was validated (issue #8).
            signed.append(xml if _amended_fields(doc) == was else self._sign_again(doc, xml, spool))
        translation.rejected_messages.sort(key=lambda r: r.index)
        translation.documents = keep
        translation.signed = signed
        translation.sources = sources
        translation.positions = positions

    def aperak(
        self,
        report: contrl.SyntaxReport,
        rejection: Rejection,
        heads: Sequence[MessageHead] | None = None,
    ) -> bytes:
        """The APERAK for a content rejection, in the sender's syntax version.

        One APERAK message per partner message with problems (problems that belong to no
        message go with the first), each pointing at its message (RFF+ACW) and document.
        ``heads`` are the messages (``Translation.heads``); read from the report's
        interchanges when not given.
        """
        if heads is None:
            heads = [_head(m) for ic in report.interchanges for m in ic.messages]
        default = heads[0].reference if heads else ""
        problems = rejection.problems or [Problem(rejection.reason, "message", rejection.sentence)]
        by_message: dict[str, list[aperak.ApplicationError]] = {}
        for p in problems:
            by_message.setdefault(p.message_reference or default, []).append(
                aperak.ApplicationError(p.code, p.sentence, p.segment, p.tag)
            )
        answers = []
        for reference, errors in by_message.items():
            head = next((m for m in heads if m.reference == reference), None)
            original = aperak.Original(
                sender=report.sender,
                sender_qualifier=report.sender_qualifier,
                recipient=report.recipient,
                recipient_qualifier=report.recipient_qualifier,
                control_reference=report.control_reference,
                syntax_id=report.syntax_id,
                syntax_version=report.syntax_version,
                message_reference=reference,
                message_type=head.type if head else "",
                document_number=head.document_number if head else "",
            )
            answers.append((original, errors))
        return aperak.encode_many(
            answers, our_id=self.interchange_id, reference=report.control_reference or "1"
        )
