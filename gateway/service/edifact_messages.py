"""EDIFACT read one message at a time, and each message decided on its own (issues #8, #15).

:func:`translate_edifact` reads an interchange through the CONTRL's streaming check, decodes
each clean message with its codec (``adapters.registry.codec_for``), checks its business rules,
writes and signs its canonical XML, and lets it go before the next one is read. A message
that cannot be decoded, breaks a rule or the canonical schema is rejected alone; only what
concerns the interchange as a whole (UNB/UNZ, groups, a fatal syntax error) rejects all.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import TYPE_CHECKING

from lxml import etree

from adapters import contrl
from adapters.common import DecodeContext, MappingError, Positions
from adapters.edifact import EdifactError, Interchange, Message, Segment, iter_messages
from adapters.edifact.policy import ReadPolicy
from adapters.edifact.stream import MessageRereader
from adapters.registry import codec_for
from gateway.domain.model import CanonicalDocument
from gateway.domain.rules import Violation, check
from gateway.logs import get_logger
from gateway.service import formats
from gateway.service.directory_checks import fed_message_check, message_check
from gateway.service.rejections import (
    all_rejected,
    call_refusal,
    envelope_sound,
    interchange_syntax_rejection,
    message_syntax_rejection,
    refused_with_the_input,
)
from gateway.service.translation import (
    CappedProblems,
    MessageHead,
    Problem,
    ProblemBudget,
    RejectedMessage,
    Rejection,
    Translation,
    message_head,
)
from gateway.service.xml_documents import write_canonical

if TYPE_CHECKING:
    # The call registry (and the journal under it) is loaded when a judge is given, in the
    # gateway: `edigw translate` has none (issue #20, point 6); so are the amendments.
    from gateway.domain import amendments
    from gateway.security import c14n
    from gateway.service.calls import CallJudge
    from gateway.storage.spool import SpoolBatch

log = get_logger()


def translate_edifact(
    data: bytes,
    context: DecodeContext,
    severities: Mapping[str, str] | None,
    result: Translation,
    *,
    inbound_id: str | None,
    policy: ReadPolicy,
    sign: Callable[[etree._Element], bytes] | None,
    sign_digest: c14n.SignDigest | None,
    spool: SpoolBatch | None,
    message_types: Collection[str] | None,
    envelope: formats.Envelope | None = None,
    versions: amendments.Preview | None = None,
    calls: CallJudge | None = None,
) -> Translation:
    """An EDIFACT input into ``result``, each message decided on its own
    (:func:`gateway.service.pipeline.translate` says what each parameter does)."""
    directory_validation = policy.directory_validation
    recipients = None if envelope is None else envelope.recipients
    senders = None if envelope is None else envelope.senders
    # One message at a time (issue #8): read, checked for the CONTRL (envelope and directory),
    # decoded, its XML built, validated and handed to ``sign``, and released before the next
    # one is read. Each message is decided on its own (issue #15): one that cannot be decoded,
    # breaks a rule or the canonical schema is rejected alone and the others go on; only what
    # concerns the interchange as a whole (UNB/UNZ, groups, a fatal syntax error) rejects all.
    # A large input is read twice (issue #8): first thin (each message's segments checked as
    # they are read and dropped), then, for each clean message, again as it is decoded.
    thin = len(data) >= policy.thin_min_bytes
    allowed = None if message_types is None else frozenset(message_types)
    # The type is always checked (a type no codec reads is refused in its UCM, issue #16);
    # the directory as the partner's ``directory_validation`` says.
    if thin:
        fed: list[contrl.FedCheckFactory] = [
            functools.partial(
                fed_message_check,
                policy=directory_validation,
                result=result,
                allowed=allowed,
                sender=context.sender,
            )
        ]
        reading = contrl.StreamingAcknowledgement(
            data,
            charset_policy=policy.charset,
            fed_checks=fed,
            partial=True,
            recipients=recipients,
            senders=senders,
        )
    else:
        checks = [message_check(directory_validation, result, allowed, context.sender)]
        reading = contrl.StreamingAcknowledgement(
            data,
            charset_policy=policy.charset,
            message_checks=checks,
            partial=True,
            recipients=recipients,
            senders=senders,
        )
    second = MessageRereader(data, policy)
    heads: list[MessageHead] = []
    rejected: list[RejectedMessage] = []
    unclean: list[tuple[int, MessageHead]] = []  # syntax errors: their UCM says why
    rule_warnings: list[tuple[Problem, Violation]] = []
    rule_budget = ProblemBudget()  # the business-rule problems kept, for the whole input
    for index, (ic, message, clean) in enumerate(reading.messages()):
        head = message_head(message)
        heads.append(head)
        if not clean:
            unclean.append((index, head))
        elif formats.is_contrl(message):
            # A partner's report on one of our interchanges: read and recorded, never
            # decoded into a document, never answered (issue #16).
            result.message_types.append(formats.CONTRL)
            result.received.append(contrl.read_received(message))
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
            if stopped is None and calls is not None:
                # The call registry's refusals before the version preview: a refused
                # document is never signed and files no version (issue #17).
                stopped = call_refusal(
                    calls, result.documents[-1], result.positions[-1], head.reference
                )
            if stopped is None:
                if versions is not None:
                    # Its version header before it is written: signed once (issue #15). No
                    # name holds the document here: a streamed manifest's bills go as they
                    # are signed (issue #8).
                    versions.header(result.documents[-1])
                stopped = write_canonical(result.documents[-1], result, sign, sign_digest, spool)
                if stopped is not None and versions is not None:
                    versions.withdraw(result.documents[-1])
                if stopped is not None and calls is not None:
                    calls.withdraw(result.documents[-1])
            if stopped is not None:
                if result.sources and result.sources[-1] == index:
                    # Decoded, then rejected: its document goes (it was the last one), its
                    # references stay, to find the dead letter by (issue #19).
                    result.refuse_references(result.documents[-1].references())
                    result.documents.pop()
                    result.positions.pop()
                    result.sources.pop()
                result.refuse_references([head.document_number])
                rejected.append(RejectedMessage(index, head, stopped))
        del message  # its segments go before the next message is read
    report = reading.report()
    result.syntax_report = report
    result.message_count = len(heads)
    result.unanswered = _unanswered(heads)
    if envelope is not None and envelope.required and not all(r.enveloped for r in report.reports):
        result.refuse_references(h.document_number for h in heads)
        return _bare(result, report)
    if not envelope_sound(report):
        result.rejection = interchange_syntax_rejection(report)
        # Every interchange of the input goes with it: none may be acknowledged.
        refused_with_the_input(report)
        result.refuse_references(h.document_number for h in heads)
        result.documents, result.positions, result.message_types = [], [], []
        result.elements, result.signed, result.sources = [], [], []
        result.received = []  # (a CONTRL in it is dead-lettered with the rest, not recorded)
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
        result.refuse_references([head.document_number])
        errors = message_reports[index].errors if index < len(message_reports) else []
        rejected.append(
            RejectedMessage(index, head, message_syntax_rejection(head, errors), syntax=True)
        )
    rejected.sort(key=lambda r: r.index)
    result.rejected_messages = rejected
    if not heads:
        result.rejection = Rejection("NO_MESSAGES", "the interchange holds no message", "decode")
    elif not result.documents and rejected:
        result.rejection = all_rejected(rejected)
    return result


def _unanswered(heads: list[MessageHead]) -> str:
    """Why no CONTRL answers an input of these messages ("" when one does)."""
    contrls = [h.reference for h in heads if formats.is_contrl_type(h.type)]
    if not contrls:
        return ""
    return (
        f"the interchange holds a CONTRL (message {contrls[0][:35]!r}), and a CONTRL is never "
        "acknowledged (ISO 9735-5)"
    )


MISSING_UNB = "MISSING_UNB"


def _bare(result: Translation, report: contrl.SyntaxReport) -> Translation:
    """An input with messages outside any UNB, from a partner whose EDIFACT must come in an
    interchange: refused whole, and answered by no CONTRL (there is no one to address it
    to; issue #16). Its messages are not decoded."""
    sentence = (
        "the input holds messages without an interchange header (UNB): a port partner's "
        "messages come in an interchange, and no CONTRL can be addressed without one"
    )
    first = next((m for r in report.reports if not r.enveloped for m in r.messages), None)
    segment = first.first_segment if first is not None else None
    result.rejection = Rejection(
        MISSING_UNB,
        sentence,
        "decode",
        [
            Problem(
                MISSING_UNB,
                f"segment {segment} UNH" if segment else "input",
                sentence,
                segment=segment,
                tag="UNH" if segment else "",
            )
        ],
    )
    result.unanswered = "bare messages (UNH..UNT without UNB) name no one to answer"
    result.documents, result.positions, result.message_types = [], [], []
    result.elements, result.signed, result.sources = [], [], []
    result.received = []
    return result


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
    if codec is None:  # the CONTRL's type check refuses such a message (code 14) before
        raise AssertionError(f"message {message.reference!r} has no codec and was not refused")
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
        from gateway.storage.records import derived_id  # in the gateway, not offline

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
