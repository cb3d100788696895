"""What the directory validation reports: 0085 codes, :class:`DirectoryIssue`, the reporter.

Part of :mod:`adapters.edifact.directory` (which re-exports the public names); see there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from adapters.edifact.syntax import EdifactError, Message, Segment

# Service code list 0085 (ISO 9735) codes produced here.
ERR_INVALID_VALUE: Final = "12"  # value not in the code list
ERR_MISSING: Final = "13"  # mandatory segment/group/element/component missing
ERR_VALUE_NOT_SUPPORTED: Final = "14"  # value (here: message type/directory) not supported
ERR_NOT_SUPPORTED_HERE: Final = "15"  # segment unexpected / out of order in this position
ERR_TOO_MANY_CONSTITUENTS: Final = "16"  # too many data elements / components
ERR_TOO_MANY_REPETITIONS: Final = "35"  # segment repeated more often than allowed
ERR_TOO_MANY_GROUPS: Final = "36"  # segment group repeated more often than allowed
ERR_INVALID_CHAR_TYPE: Final = "37"  # letters in an n element, digits in an a element
ERR_TOO_LONG: Final = "39"
ERR_TOO_SHORT: Final = "40"

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class DirectoryIssue:
    """One finding of :func:`validate_message`.

    ``code`` is a service code list 0085 syntax error code. ``segment_number`` is the
    1-based position of the segment in the input (as :attr:`Segment.number`); ``element``
    is the 1-based position of the data element after the tag (LOC's C517 is 2) and
    ``component`` the 1-based component within it (CONTRL's 0098 counts the tag as 1, so
    it is ``element + 1``; :func:`to_edifact_error` converts to EdifactError's 0-based
    positions, whose ``s011()`` does that).

    >>> DirectoryIssue("error", "13", "1", 2, "BGM", None, None, "BGM missing").code
    '13'
    """

    severity: Severity
    code: str
    message_reference: str
    segment_number: int
    tag: str
    element: int | None
    component: int | None
    sentence: str


def to_edifact_error(issue: DirectoryIssue) -> EdifactError:
    """The issue as an :class:`EdifactError` (reason ``EDIFACT_DIRECTORY``).

    EdifactError counts element and component from 0 like :meth:`Segment.get`, while a
    DirectoryIssue counts from 1 like the directories do; the conversion happens here, and
    ``EdifactError.s011()`` then gives the CONTRL (0098, 0104) numbering.

    >>> err = to_edifact_error(DirectoryIssue("error", "39", "1", 7, "LOC", 2, 1, "too long"))
    >>> (err.code, err.segment, err.tag, err.reason, err.element, err.component, err.s011())
    ('39', 7, 'LOC', 'EDIFACT_DIRECTORY', 1, 0, (3, 1))
    """
    return EdifactError(
        issue.code,
        issue.sentence,
        segment=issue.segment_number,
        tag=issue.tag,
        reason="EDIFACT_DIRECTORY",
        element=None if issue.element is None else issue.element - 1,
        component=None if issue.component is None else issue.component - 1,
    )


def association_of(message: Message) -> str:
    """The association whose code lists ``message`` follows, or "" for the UN's: UNH S009
    0057 (an association assigned code, "SMDG20", "ITG14") or a controlling agency (0051)
    other than UN (issue #16).

    >>> from adapters.edifact import parse
    >>> association_of(parse(b"UNH+1+COARRI:D:95B:UN:ITG14'UNT+2+1'")[0].messages[0])
    'ITG14'
    >>> association_of(parse(b"UNH+1+CUSCAR:D:95B:UN'UNT+2+1'")[0].messages[0])
    ''
    """
    if message.association:
        return message.association
    return message.agency if message.agency not in ("", "UN") else ""


class _Reporter:
    """Collects issues with the message's reference and the severity rules applied."""

    def __init__(self, message: Message, mtype: str, limit: int | None = None) -> None:
        self.issues: list[DirectoryIssue] = []
        self.reference = message.reference
        # Its codes are an association's, not the UN lists': a code the UN list lacks is
        # reported as not checked (a warning), never as an error (issue #16).
        self.association = association_of(message)
        self.prefix = f"{mtype} {message.reference}" if mtype else f"message {message.reference}"
        # Past ``limit`` issues, findings are counted by severity, not written (issue #14).
        self.limit = limit
        self.omitted = {"error": 0, "warning": 0}

    def add(
        self,
        exact: bool,
        code: str,
        segment: Segment,
        detail: str,
        *,
        tag: str | None = None,
        element: int | None = None,
        component: int | None = None,
    ) -> None:
        severity: Severity = "error" if exact else "warning"
        if self.limit is not None and len(self.issues) >= self.limit:
            self.omitted[severity] += 1
            return
        sentence = f"{self.prefix} segment {segment.number} ({segment.tag}): {detail}"
        self.issues.append(
            DirectoryIssue(
                severity,
                code,
                self.reference,
                segment.number,
                tag or segment.tag,
                element,
                component,
                sentence,
            )
        )
