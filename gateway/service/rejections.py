"""Rejections and the answers that carry them: whole interchanges, single messages, APERAKs.

How the syntax errors the CONTRL reports become a :class:`Rejection` (an interchange's, or
one message's), what an APERAK answers (the messages refused for their content), and the
APERAK itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from adapters import contrl
from adapters.common import Positions
from adapters.edifact import EdifactError
from adapters.edifact.syntax import ERR_UNSPECIFIED
from adapters.registry import is_acknowledgement
from gateway.logs import get_logger
from gateway.service import formats
from gateway.service.translation import (
    MessageHead,
    Problem,
    RejectedMessage,
    Rejection,
    Translation,
    message_head,
    more_problems,
)

if TYPE_CHECKING:
    # The call registry loads with a journal only (issue #20, point 6: not for translate).
    from gateway.domain.model import Document
    from gateway.service.calls import CallJudge

log = get_logger()


def content_rejection(translation: Translation) -> Rejection | None:
    """What an APERAK answers: the messages refused for their content (not their syntax).

    The messages the CONTRL rejects (syntax, directory) are not repeated in it; an
    interchange refused as a whole for its content (no message to name) is answered too,
    unless it is one no CONTRL answers (``Translation.unanswered``) either.
    """
    # Acknowledgements are never acknowledged (ISO 9735-5): no APERAK names a CONTRL, an
    # APERAK or a CUSRES, whatever refused it.
    content = [
        r
        for r in translation.rejected_messages
        if not r.syntax and not is_acknowledgement(r.head.type)
    ]
    if content:
        return all_rejected(content)
    report = translation.syntax_report
    if (
        translation.rejection is not None
        and not translation.rejected_messages
        and not translation.unanswered
        and report is not None
        and envelope_sound(report)
    ):
        return translation.rejection
    return None


def document_rejection(
    code: str, sentence: str, stage: str, found: tuple[int, str] | None, message_reference: str
) -> Rejection:
    """The rejection of one decoded document for what the journal says of it (a version,
    a call), pointing at its BGM (``found``: its segment, when known)."""
    problem = Problem(
        code,
        f"segment {found[0]} BGM" if found else "BGM",
        sentence,
        segment=found[0] if found else None,
        tag="BGM",
        message_reference=message_reference,
    )
    return Rejection(code, sentence, stage, [problem])


def envelope_sound(report: contrl.SyntaxReport) -> bool:
    """No error above the messages (UNA/UNB/UNZ, groups, the input as a whole)."""
    return not report.errors and not any(g.errors for g in report.groups)


def refused_with_the_input(report: contrl.SyntaxReport) -> None:
    """An input whose envelope is broken is refused whole, every interchange in it: those
    whose own envelope is sound get an error too (0085 ``18``, on their UNB), so that no UCI
    of the CONTRL says acknowledged (``7``) for messages that were not routed.

    >>> ok = contrl.InterchangeReport(control_reference="A1", partial=True)
    >>> bad = contrl.InterchangeReport(control_reference="A2", partial=True,
    ...     errors=[EdifactError("29", "UNZ counts 2 messages but the interchange has 1")])
    >>> report = contrl.SyntaxReport.of([ok, bad], [])
    >>> ok.action, refused_with_the_input(report), ok.action, ok.errors[0].code
    ('7', None, '4', '18')
    """
    broken = [r for r in report.reports if r.errors or any(g.errors for g in r.groups)]
    if not broken:
        return
    named = ", ".join(repr(r.control_reference) for r in broken[:3])
    if len(broken) > 3:
        named += f" and {len(broken) - 3} more"
    for r in report.reports:
        if r in broken:
            continue
        r.errors.append(
            EdifactError(
                ERR_UNSPECIFIED,
                f"interchange {r.control_reference!r} is refused with the input it came in, "
                f"whose interchange {named} breaks the envelope rules (UNB/UNZ, UNG/UNE)",
                tag="UNB",
            )
        )


# A message refused for its type: one its partner may not send (issue #14), one the gateway
# does not read (issue #16). Not read any further; its reason is the refusal's.
_TYPE_REFUSALS = frozenset({formats.MESSAGE_TYPE_NOT_ALLOWED, formats.UNSUPPORTED_MESSAGE_TYPE})


def message_syntax_rejection(head: MessageHead, errors: Sequence[EdifactError]) -> Rejection:
    """The rejection of one message whose UCM rejects it (syntax or directory errors, or a
    type its partner may not send or the gateway does not read: not read any further, no
    replay mends it)."""
    refused = next((e for e in errors if e.reason in _TYPE_REFUSALS), None)
    if refused is not None:
        problem = _located(refused.reason, refused, head.reference)
        return Rejection(refused.reason, refused.sentence, "format", [problem])
    return syntax_rejection(
        errors,
        syntax_subject=f"message {head.reference}",
        directory_subject=f"message {head.reference}",
        message_reference=head.reference,
    )


def all_rejected(rejected: Sequence[RejectedMessage]) -> Rejection:
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
        problems = [*problems[: contrl.PROBLEMS_PER_INPUT], more_problems(omitted, "problems")]
    return Rejection(
        reasons[0] if len(reasons) == 1 else "MESSAGES_REJECTED",
        f"all {len(rejected)} messages were rejected, the first ({rejected[0].head.reference}) "
        f"for {first.reason}: {first.sentence}",
        first.stage,
        problems,
        omitted,
    )


def interchange_syntax_rejection(report: contrl.SyntaxReport) -> Rejection:
    """The rejection of an interchange whose CONTRL rejects it (envelope or directory)."""
    return syntax_rejection(
        report.all_errors(),
        syntax_subject="the interchange",
        directory_subject="the message",
        summaries_last=True,
        omitted=report.omitted,
    )


def syntax_rejection(
    errors: Sequence[EdifactError],
    *,
    syntax_subject: str,
    directory_subject: str,
    message_reference: str | None = None,
    summaries_last: bool = False,
    omitted: int = 0,
) -> Rejection:
    """The rejection that syntax or directory ``errors`` make: EDIFACT_DIRECTORY when every
    error is a directory one, else EDIFACT_SYNTAX, worded with the subject that broke them.

    ``message_reference``: the errors are one message's, and its problems carry their
    positions (segment, tag, the message) for the APERAK; an interchange's do not.
    ``summaries_last``: the summaries of what was left out (``adapters.contrl.limits``,
    an interchange's) go after the errors found, and do not count for the verdict.
    ``omitted``: the errors counted past the caps.
    """
    found = list(errors)
    if summaries_last:
        found = [e for e in errors if e.reason != contrl.REASON_TOO_MANY]
        errors = found + [e for e in errors if e.reason == contrl.REASON_TOO_MANY]
    if message_reference is None:
        problems = [Problem(f"EDIFACT_{e.code}", e.where, e.sentence) for e in errors]
    else:
        problems = [_located(f"EDIFACT_{e.code}", e, message_reference) for e in errors]
    if not problems:
        problems = [Problem("EDIFACT_SYNTAX", "message", "the message breaks EDIFACT syntax rules")]
    structural = bool(found) and all(e.reason == "EDIFACT_DIRECTORY" for e in found)
    first = problems[0].sentence
    return Rejection(
        "EDIFACT_DIRECTORY" if structural else "EDIFACT_SYNTAX",
        (
            f"{directory_subject} does not follow its UN/EDIFACT directory ({first})"
            if structural
            else f"{syntax_subject} breaks EDIFACT syntax rules ({first})"
        ),
        "decode",
        problems,
        omitted,
    )


def _located(code: str, error: EdifactError, message_reference: str) -> Problem:
    """``error`` as a problem that says where it is, in which message (for the APERAK)."""
    return Problem(
        code,
        error.where,
        error.sentence,
        segment=error.segment,
        tag=error.tag,
        message_reference=message_reference,
    )


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


def aperak_for(
    report: contrl.SyntaxReport,
    rejection: Rejection,
    heads: Sequence[MessageHead] | None = None,
    reference: str = "1",
    *,
    our_id: str,
    our_qualifier: str = "",
) -> bytes:
    """The APERAK for a content rejection, in the sender's syntax version.

    One APERAK message per partner message with problems (problems that belong to no
    message go with the first), each pointing at its message (RFF+ACW) and document.
    ``heads`` are the messages (``Translation.heads``); read from the report's
    interchanges when not given. ``reference``: this APERAK's own interchange control
    reference (issue #16: never the partner's; the decision gives each its own).
    """
    from adapters import aperak  # with the first APERAK, not with every translation (issue #20)

    if heads is None:
        heads = [message_head(m) for ic in report.interchanges for m in ic.messages]
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
        # Where the message starts in the input: the problems' segment numbers count from
        # the start of the interchange, the APERAK's from the message's UNH (= 1), as a UCS.
        unh = next((m.first_segment for m in report.messages if m.reference == reference), 0)
        original = aperak.Original(
            sender=report.sender,
            sender_qualifier=report.sender_qualifier,
            recipient=report.recipient,
            recipient_qualifier=report.recipient_qualifier,
            sender_route=report.sender_route,
            control_reference=report.control_reference,
            syntax_id=report.syntax_id,
            syntax_version=report.syntax_version,
            message_reference=reference,
            message_type=head.type if head else "",
            document_number=head.document_number if head else "",
            first_segment=unh,
            test=report.test,
        )
        answers.append((original, errors))
    return aperak.encode_many(
        answers, our_id=our_id, our_qualifier=our_qualifier, reference=reference
    )


def call_refusal(
    judge: CallJudge, doc: Document, positions: Positions, message_reference: str
) -> Rejection | None:
    """The rejection of ``doc`` when the call registry refuses it (stage ``call``), else None."""
    filing = judge.judge(doc)
    if filing is None or filing.problem is None:
        return None
    code, sentence = filing.problem
    return document_rejection(
        code, sentence, "call", positions.get("document_number"), message_reference
    )


# Interchanges whose control reference another message holds (the decision's dedup).


def interchange_key(partner: str, sender: str, reference: str) -> str:
    """The dedup key of an interchange: its partner, UNB sender and control reference."""
    return f"icr:{partner}:{sender}:{reference}"


def reused_interchange_sentence(
    reference: str, sender: str, owner: str, *, same_content: bool
) -> str:
    """What a partner is told of an interchange reference it used before (ISO 9735: 0020
    unique per sender)."""
    return f"interchange {reference} from {sender} was already received as message {owner}" + (
        "" if same_content else ", with other content"
    )


def duplicate_interchange(sentence: str) -> Rejection:
    """The rejection of an interchange whose control reference another message holds."""
    return Rejection(
        "DUPLICATE_INTERCHANGE",
        sentence,
        "dedup",
        [Problem("DUPLICATE_INTERCHANGE", "segment UNB element 5", sentence)],
    )


def duplicate_interchange_error(sentence: str) -> EdifactError:
    """The CONTRL's interchange-level error for it: 26, duplicate detected (code list 0085)."""
    return EdifactError("26", sentence, tag="UNB")
