"""The CONTRL's checks of one EDIFACT message: its type, then its UN/EDIFACT directory.

The type first: one the partner may not send (0085 code 17), then one no codec reads (code
14, issue #16); such a message is not looked into any further. A partner's CONTRL is not
checked at all: nothing of it can go into a CONTRL (ISO 9735-5). A message's directory
errors (under the partner's ``directory_validation``) are syntax errors, answered by its
UCM; its warnings go to ``Translation.warnings``.
"""

from __future__ import annotations

from adapters import contrl, cuscar
from adapters.edifact import EdifactError, Message, directory
from gateway.service import formats
from gateway.service.translation import Problem, Translation


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


def _type_error(
    message: Message, allowed: frozenset[str] | None, sender: str
) -> EdifactError | None:
    """Why ``message`` is refused for its type (not allowed, then not read), or None."""
    return formats.type_refusal(message, allowed, sender) or formats.type_unsupported(message)


def message_check(
    policy: str, result: Translation, allowed: frozenset[str] | None, sender: str
) -> contrl.MessageCheck:
    """The CONTRL's check of one message: its type first, then (for a type the partner may
    send and the gateway reads, unless ``policy`` is "off") the directory; a refused type is
    not looked into any further, a CONTRL not at all."""
    directory_check = _directory_check(policy, result) if policy != "off" else None

    def check(message: Message) -> contrl.Findings:
        if formats.is_contrl(message):
            return contrl.Findings()
        refused = _type_error(message, allowed, sender)
        if refused is not None:
            return contrl.Findings([refused])
        # The directory's findings as they are: their ``omitted`` count is the cap's.
        if directory_check is None:
            return contrl.Findings()
        found = directory_check(message)
        return found if isinstance(found, contrl.Findings) else contrl.Findings(found)

    return check


def fed_message_check(
    head: Message,
    policy: str,
    result: Translation,
    allowed: frozenset[str] | None,
    sender: str,
) -> contrl.FedCheck:
    """:func:`message_check` fed a segment at a time."""
    if formats.is_contrl(head):
        return formats.Refused([])
    refused = _type_error(head, allowed, sender)
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
