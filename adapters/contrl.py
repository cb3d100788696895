"""CONTRL: the UN/EDIFACT syntax and service report (ISO 9735-5).

``acknowledge(data)`` reads interchanges and never raises on bad input: it
returns a :class:`SyntaxReport` saying what was accepted or rejected and why.
``encode(report)`` turns that report into CONTRL bytes in the sender's syntax
version (``CONTRL:D:3:UN`` for syntax 1-3, ``CONTRL:4:1:UN`` for syntax 4).

>>> report = acknowledge(b"UNB+UNOA:3+SND+RCV+240101:1200+42'UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+3+1'UNZ+1+42'")
>>> report.accepted, report.action
(True, '7')
>>> bad = acknowledge(b"UNB+UNOA:3+SND+RCV+240101:1200+42'UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+9+1'UNZ+1+42'")
>>> bad.accepted, bad.action, [(e.code, e.tag) for e in bad.all_errors()]
(False, '4', [('29', 'UNT')])

What is checked here (the envelope; the directory validator checks message
content and can be plugged in with ``message_checks``):

* UNB: syntax identifier and version present and supported, sender, recipient,
  control reference present, date in 6 (YYMMDD) or 8 (CCYYMMDD) digits and a
  real calendar date, time HHMM.
* UNZ present, its count (groups if any, else messages) and reference.
* UNG/UNE: present, count, reference; groups and bare messages not mixed.
* UNH/UNT: message identifier present, UNT count (UNH..UNT inclusive) and
  reference, message references unique in the interchange.

Action codes (0083): ``7`` acknowledged, ``4`` rejected, ``8`` received only
(``encode(..., receipt_only=True)``). By default a report is all-or-nothing: any
error rejects the interchange (UCI ``4``) and names the faulty parts; with
``acknowledge(..., partial=True)`` only the faulty messages are rejected (UCM
``4``) and the interchange is acknowledged (UCI ``7``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from adapters.edifact.stream import ThinMessage, iter_envelope_events
from adapters.edifact.syntax import (
    CHARSETS,
    ERR_CHAR_TYPE,
    ERR_COUNT_MISMATCH,
    ERR_DUPLICATE,
    ERR_GROUPS_AND_MESSAGES_MIXED,
    ERR_INVALID_VALUE,
    ERR_LOWER_LEVEL_EMPTY,
    ERR_MISSING,
    ERR_REF_MISMATCH,
    ERR_SYNTAX_NOT_SUPPORTED,
    ERR_TOO_LONG,
    ERR_TOO_SHORT,
    ERR_UNSPECIFIED,
    CharsetPolicy,
    Delimiters,
    EdifactError,
    Group,
    Interchange,
    Message,
    Segment,
    parse,
    serialize_segment,
)

# Action codes (service code list 0083).
ACTION_ACKNOWLEDGED = (
    "7"  # this level acknowledged, lower levels acknowledged if not explicitly rejected
)
ACTION_REJECTED = "4"  # this level and all lower levels rejected
ACTION_RECEIVED = "8"  # interchange received

MessageCheck = Callable[[Message], Iterable[EdifactError]]


@dataclass(slots=True)
class MessageReport:
    """The verdict on one message (one UCM)."""

    reference: str
    type: str
    version: str
    release: str
    agency: str
    errors: list[EdifactError] = field(default_factory=list)
    association: str = ""
    group_reference: str = ""
    first_segment: int = 0  # input number of the UNH: UCS positions count from it

    @property
    def action(self) -> str:
        return ACTION_REJECTED if self.errors else ACTION_ACKNOWLEDGED


@dataclass(slots=True)
class GroupReport:
    """The verdict on one functional group (one UCF)."""

    reference: str
    sender: str = ""
    sender_qualifier: str = ""
    recipient: str = ""
    recipient_qualifier: str = ""
    errors: list[EdifactError] = field(default_factory=list)

    @property
    def action(self) -> str:
        return ACTION_REJECTED if self.errors else ACTION_ACKNOWLEDGED


@dataclass(slots=True)
class InterchangeReport:
    """The verdict on one interchange (one CONTRL message, one UCI)."""

    sender: str = ""
    sender_qualifier: str = ""
    recipient: str = ""
    recipient_qualifier: str = ""
    control_reference: str = ""
    syntax_id: str = "UNOA"
    syntax_version: int = 3
    errors: list[EdifactError] = field(default_factory=list)
    warnings: list[EdifactError] = field(default_factory=list)
    groups: list[GroupReport] = field(default_factory=list)
    messages: list[MessageReport] = field(default_factory=list)
    partial: bool = False

    @property
    def accepted(self) -> bool:
        return (
            not self.errors
            and not any(g.errors for g in self.groups)
            and not any(m.errors for m in self.messages)
        )

    @property
    def action(self) -> str:
        if self.errors or (not self.partial and not self.accepted):
            return ACTION_REJECTED
        # Partial (issue #15): the interchange is acknowledged while one message at least
        # is; a group in error, or every message rejected, rejects it too.
        if any(g.errors for g in self.groups) or (
            self.messages and all(m.errors for m in self.messages)
        ):
            return ACTION_REJECTED
        return ACTION_ACKNOWLEDGED


@dataclass(slots=True)
class SyntaxReport:
    """What the gateway says about one received file (one or more interchanges).

    The header fields describe the first interchange (the CONTRL is addressed to
    its sender); ``reports`` has one :class:`InterchangeReport` per interchange.
    """

    sender: str = ""
    sender_qualifier: str = ""
    recipient: str = ""
    recipient_qualifier: str = ""
    control_reference: str = ""
    syntax_id: str = "UNOA"
    syntax_version: int = 3
    reports: list[InterchangeReport] = field(default_factory=list)
    interchanges: list[Interchange] = field(default_factory=list)

    @property
    def errors(self) -> list[EdifactError]:
        """Interchange-level errors (UNA/UNB/UNZ, or the input as a whole)."""
        return [e for r in self.reports for e in r.errors]

    @property
    def messages(self) -> list[MessageReport]:
        return [m for r in self.reports for m in r.messages]

    @property
    def groups(self) -> list[GroupReport]:
        return [g for r in self.reports for g in r.groups]

    @property
    def warnings(self) -> list[EdifactError]:
        return [w for r in self.reports for w in r.warnings]

    @property
    def accepted(self) -> bool:
        return all(r.accepted for r in self.reports)

    @property
    def action(self) -> str:
        """The UCI action: ``4`` if any interchange is rejected, else ``7``."""
        return (
            ACTION_REJECTED
            if any(r.action == ACTION_REJECTED for r in self.reports)
            else ACTION_ACKNOWLEDGED
        )

    @classmethod
    def of(cls, reports: list[InterchangeReport], interchanges: list[Interchange]) -> SyntaxReport:
        """The report on a file, addressed to its first interchange that names a sender.

        (A stray empty UNB before the real one must not make the answer go to nobody.)
        """
        first = next((r for r in reports if r.sender), reports[0])
        return cls(
            sender=first.sender,
            sender_qualifier=first.sender_qualifier,
            recipient=first.recipient,
            recipient_qualifier=first.recipient_qualifier,
            control_reference=first.control_reference,
            syntax_id=first.syntax_id,
            syntax_version=first.syntax_version,
            reports=reports,
            interchanges=interchanges,
        )

    def all_errors(self) -> list[EdifactError]:
        return [
            e
            for r in self.reports
            for e in (
                *r.errors,
                *(e for g in r.groups for e in g.errors),
                *(e for m in r.messages for e in m.errors),
            )
        ]


# ---------------------------------------------------------------------------
# Envelope checks
# ---------------------------------------------------------------------------


def _numeric_problem(value: str, lengths: tuple[int, ...]) -> tuple[str, str] | None:
    """(0085 code, why) when ``value`` is not digits of one of ``lengths``."""
    if not value.isdigit() or not value.isascii():
        return ERR_CHAR_TYPE, "is not all digits"
    if len(value) < min(lengths):
        return ERR_TOO_SHORT, f"has {len(value)} digits, at least {min(lengths)} expected"
    if len(value) > max(lengths):
        return ERR_TOO_LONG, f"has {len(value)} digits, at most {max(lengths)} expected"
    if len(value) not in lengths:
        return (
            ERR_INVALID_VALUE,
            f"has {len(value)} digits; {' or '.join(map(str, lengths))} expected",
        )
    return None


def _trailer_errors(
    trailer: Segment, count: int, unit: str, subject: str, reference: str, opener: str
) -> list[EdifactError]:
    """UNT/UNE/UNZ: the control count (element 0) and the reference (element 1)."""
    errors: list[EdifactError] = []
    declared = trailer.get(0)
    if declared != str(count):
        errors.append(
            EdifactError(
                ERR_COUNT_MISMATCH,
                f"{trailer.tag} counts {declared or 'nothing'} {unit} but {subject} has {count}",
                segment=trailer.number,
                tag=trailer.tag,
                element=0,
            )
        )
    if trailer.get(1) != reference:
        errors.append(
            EdifactError(
                ERR_REF_MISMATCH,
                f"{trailer.tag} reference {trailer.get(1)!r} does not match {opener} reference {reference!r}",
                segment=trailer.number,
                tag=trailer.tag,
                element=1,
            )
        )
    return errors


def _is_calendar_date(digits: str) -> bool:
    """Is YYMMDD or CCYYMMDD (all digits) a real date? As ``strptime`` reads it, 15 times cheaper.

    Two-digit years are read like ``%y``: 69-99 in the 1900s, 00-68 in the 2000s
    (it only matters for 29 February).

    >>> _is_calendar_date("240229"), _is_calendar_date("230229"), _is_calendar_date("20241301")
    (True, False, False)
    """
    if len(digits) == 6:
        year = int(digits[:2])
        year += 1900 if year >= 69 else 2000
    else:
        year = int(digits[:4])
    try:
        dt.date(year, int(digits[-4:-2]), int(digits[-2:]))
    except ValueError:
        return False
    return True


def check_unb_datetime(ic: Interchange) -> tuple[list[EdifactError], list[EdifactError]]:
    """Errors and warnings about UNB S004 (date YYMMDD or CCYYMMDD, time HHMM).

    Both date lengths are accepted whatever the syntax version (ISO 9735 says n6
    up to syntax 3 and n8 in syntax 4, but partners mix them); a length that does
    not match the version is a warning only.
    """
    errors: list[EdifactError] = []
    warnings: list[EdifactError] = []
    unb = ic.header
    if unb is None:
        return errors, warnings
    n = unb.number
    date, time = ic.date, ic.time
    if not date:
        errors.append(
            EdifactError(
                ERR_MISSING,
                "UNB has no date of preparation",
                segment=n,
                tag="UNB",
                element=3,
                component=0,
            )
        )
    elif (p := _numeric_problem(date, (6, 8))) is not None:
        errors.append(
            EdifactError(
                p[0], f"UNB date {date!r} {p[1]}", segment=n, tag="UNB", element=3, component=0
            )
        )
    else:
        if not _is_calendar_date(date):
            errors.append(
                EdifactError(
                    ERR_INVALID_VALUE,
                    f"UNB date {date!r} is not a calendar date",
                    segment=n,
                    tag="UNB",
                    element=3,
                    component=0,
                )
            )
        else:
            expected = 8 if ic.syntax_version >= 4 else 6
            if len(date) != expected and ic.syntax_version:
                warnings.append(
                    EdifactError(
                        ERR_INVALID_VALUE,
                        f"UNB date {date!r} has {len(date)} digits; syntax {ic.syntax_version} defines {expected} (accepted)",
                        segment=n,
                        tag="UNB",
                        element=3,
                        component=0,
                    )
                )
    if not time:
        errors.append(
            EdifactError(
                ERR_MISSING,
                "UNB has no time of preparation",
                segment=n,
                tag="UNB",
                element=3,
                component=1,
            )
        )
    elif (p := _numeric_problem(time, (4,))) is not None:
        errors.append(
            EdifactError(
                p[0], f"UNB time {time!r} {p[1]}", segment=n, tag="UNB", element=3, component=1
            )
        )
    elif int(time[:2]) > 24 or int(time[2:]) > 59:
        errors.append(
            EdifactError(
                ERR_INVALID_VALUE,
                f"UNB time {time!r} is not a time of day",
                segment=n,
                tag="UNB",
                element=3,
                component=1,
            )
        )
    return errors, warnings


def check_interchange(ic: Interchange) -> tuple[list[EdifactError], list[EdifactError]]:
    """Interchange-level (UNB/UNZ) errors and warnings. Bare messages have none."""
    unb = ic.header
    if unb is None:
        return [], []
    n = unb.number
    errors: list[EdifactError] = []

    def missing(what: str, element: int, component: int | None = None) -> None:
        errors.append(
            EdifactError(
                ERR_MISSING,
                f"UNB has no {what}",
                segment=n,
                tag="UNB",
                element=element,
                component=component,
            )
        )

    if not ic.syntax_id:
        missing("syntax identifier (S001/0001)", 0, 0)
    elif ic.syntax_id not in CHARSETS:
        errors.append(
            EdifactError(
                ERR_SYNTAX_NOT_SUPPORTED,
                f"syntax identifier {ic.syntax_id!r} is not supported",
                segment=n,
                tag="UNB",
                element=0,
                component=0,
            )
        )
    version = unb.get(0, 1)
    if not version:
        missing("syntax version number (S001/0002)", 0, 1)
    elif version not in ("1", "2", "3", "4"):
        errors.append(
            EdifactError(
                ERR_SYNTAX_NOT_SUPPORTED,
                f"syntax version {version!r} is not supported (1 to 4)",
                segment=n,
                tag="UNB",
                element=0,
                component=1,
            )
        )
    if not ic.sender:
        missing("interchange sender (S002)", 1, 0)
    if not ic.recipient:
        missing("interchange recipient (S003)", 2, 0)
    date_errors, warnings = check_unb_datetime(ic)
    errors += date_errors
    if not ic.control_reference:
        missing("interchange control reference (0020)", 4)

    unz = ic.trailer
    if ic.groups and ic.message_count > sum(g.message_count for g in ic.groups):
        errors.append(
            EdifactError(
                ERR_GROUPS_AND_MESSAGES_MIXED,
                "the interchange mixes functional groups (UNG) and messages outside any group",
                segment=n,
                tag="UNB",
            )
        )
    if ic.message_count == 0 and not ic.groups:
        errors.append(
            EdifactError(
                ERR_LOWER_LEVEL_EMPTY, "the interchange holds no message", segment=n, tag="UNB"
            )
        )
    if unz is None:
        errors.append(
            EdifactError(
                ERR_MISSING,
                f"interchange {ic.control_reference!r} (UNB at segment {n}) has no UNZ",
                segment=n,
                tag="UNZ",
            )
        )
    else:
        expected = len(ic.groups) if ic.groups else ic.message_count
        what = "groups" if ic.groups else "messages"
        errors += _trailer_errors(
            unz, expected, what, "the interchange", ic.control_reference, "UNB"
        )
    return errors, warnings


def check_group(group: Group) -> list[EdifactError]:
    """UNG/UNE errors of one functional group."""
    errors: list[EdifactError] = []
    n = group.header.number
    if not group.reference:
        errors.append(
            EdifactError(
                ERR_MISSING, "UNG has no group reference (0048)", segment=n, tag="UNG", element=4
            )
        )
    if group.message_count == 0:
        errors.append(
            EdifactError(
                ERR_LOWER_LEVEL_EMPTY,
                f"group {group.reference!r} holds no message",
                segment=n,
                tag="UNG",
            )
        )
    une = group.trailer
    if une is None:
        errors.append(
            EdifactError(ERR_MISSING, f"group {group.reference!r} has no UNE", segment=n, tag="UNE")
        )
        return errors
    errors += _trailer_errors(
        une, group.message_count, "messages", f"group {group.reference!r}", group.reference, "UNG"
    )
    return errors


def check_message(msg: Message, count: int | None = None) -> list[EdifactError]:
    """UNH/UNT errors of one message: identifier, segment count, reference.

    ``count``: the message's segments when ``msg`` does not hold them all (a first read).
    """
    errors: list[EdifactError] = []
    unh, unt = msg.segments[0], msg.segments[-1]
    if not msg.reference:
        errors.append(
            EdifactError(
                ERR_MISSING,
                "UNH has no message reference (0062)",
                segment=unh.number,
                tag="UNH",
                element=0,
            )
        )
    for idx, (value, name) in enumerate(
        (
            (msg.type, "message type"),
            (msg.version, "version"),
            (msg.release, "release"),
            (msg.agency, "controlling agency"),
        )
    ):
        if not value:
            errors.append(
                EdifactError(
                    ERR_MISSING,
                    f"UNH of message {msg.reference!r} has no {name} (S009)",
                    segment=unh.number,
                    tag="UNH",
                    element=1,
                    component=idx,
                )
            )
    errors += _trailer_errors(
        unt,
        len(msg.segments) if count is None else count,
        "segments",
        f"message {msg.reference!r}",
        msg.reference,
        "UNH",
    )
    return errors


def _message_report(
    msg: Message, seen: dict[str, int], checks: Iterable[MessageCheck], count: int | None = None
) -> MessageReport:
    """The report on one message; ``seen`` maps the interchange's references to their UNH."""
    report = MessageReport(
        msg.reference,
        msg.type,
        msg.version,
        msg.release,
        msg.agency,
        association=msg.association,
        group_reference=msg.group_reference,
        first_segment=msg.segments[0].number,
    )
    report.errors += check_message(msg, count)
    if msg.reference in seen:
        report.errors.append(
            EdifactError(
                ERR_DUPLICATE,
                f"message reference {msg.reference!r} is used again (first at segment {seen[msg.reference]})",
                segment=msg.segments[0].number,
                tag="UNH",
                element=0,
            )
        )
    else:
        seen[msg.reference] = msg.segments[0].number
    for check in checks:
        report.errors.extend(check(msg))
    return report


def check_envelope(
    ic: Interchange, message_checks: Iterable[MessageCheck] = ()
) -> list[MessageReport]:
    """Per-message reports (UNH/UNT checks, duplicates, plus ``message_checks``)."""
    checks = list(message_checks)
    seen: dict[str, int] = {}
    return [_message_report(msg, seen, checks) for msg in ic.messages]


def _interchange_report(
    ic: Interchange, messages: list[MessageReport], partial: bool
) -> InterchangeReport:
    """The envelope verdict on ``ic`` (UNB/UNZ, groups) around its message reports."""
    errors, warnings = check_interchange(ic)
    report = InterchangeReport(
        sender=ic.sender,
        sender_qualifier=ic.sender_qualifier,
        recipient=ic.recipient,
        recipient_qualifier=ic.recipient_qualifier,
        control_reference=ic.control_reference,
        syntax_id=ic.syntax_id or "UNOA",
        syntax_version=ic.syntax_version if 1 <= ic.syntax_version <= 4 else 3,
        errors=errors,
        warnings=[*ic.warnings, *warnings],
        partial=partial,
    )
    for g in ic.groups:
        report.groups.append(
            GroupReport(
                g.reference,
                g.sender,
                g.sender_qualifier,
                g.recipient,
                g.recipient_qualifier,
                errors=check_group(g),
            )
        )
    report.messages = messages
    return report


def report_interchange(
    ic: Interchange, *, message_checks: Iterable[MessageCheck] = (), partial: bool = False
) -> InterchangeReport:
    """The full verdict on one parsed interchange."""
    return _interchange_report(ic, check_envelope(ic, message_checks), partial)


class ReportBuilder:
    """The syntax report of a file built one message at a time (streaming, issue #8).

    Feed it every message as it is read (:meth:`message`) and every interchange when it
    ends (:meth:`end_interchange`, with ``message_count``, groups and trailer complete, as
    :func:`adapters.edifact.iter_envelope_events` gives them); :meth:`finish` gives the same
    report as :func:`acknowledge` on the whole input. The messages are not kept: only their
    reports, and the interchanges' envelopes (which hold no messages when streamed).
    :func:`acknowledge` is this builder fed from :func:`adapters.edifact.parse`.
    """

    def __init__(
        self, *, message_checks: Iterable[MessageCheck] = (), partial: bool = False
    ) -> None:
        self._checks = list(message_checks)
        self._partial = partial
        self._seen: dict[str, int] = {}  # message references of the open interchange
        self._open: list[MessageReport] = []
        # The envelope checks run at finish: a lexer may still add to an interchange's
        # warnings after its end event (a last segment without terminator).
        self._ended: list[tuple[Interchange, list[MessageReport]]] = []
        self.rejected = False  # some message has errors (the interchange checks come at finish)

    def message(
        self,
        msg: Message,
        count: int | None = None,
        checks: Iterable[MessageCheck] | None = None,
    ) -> MessageReport:
        """Check ``msg`` (UNH/UNT, duplicate reference, the message checks) and record it.

        ``count`` and ``checks``: for a message read thin (:class:`ThinMessage`), its
        segment count and the checks that were fed its segments.
        """
        checks = self._checks if checks is None else checks
        report = _message_report(msg, self._seen, checks, count)
        self._open.append(report)
        self.rejected = self.rejected or bool(report.errors)
        return report

    def end_interchange(self, ic: Interchange) -> None:
        """``ic`` is complete: its messages were all given to :meth:`message`."""
        self._ended.append((ic, self._open))
        self._open, self._seen = [], {}

    @property
    def interchanges(self) -> int:
        return len(self._ended)

    def finish(self, interchanges: list[Interchange] | None = None) -> SyntaxReport:
        """The report; ``interchanges`` (parsed whole) are attached as :func:`acknowledge` does."""
        reports = [_interchange_report(ic, ms, self._partial) for ic, ms in self._ended]
        return SyntaxReport.of(reports, interchanges or [])


class FedCheck(Protocol):
    """A message check fed the message's segments one by one (a first read, issue #8)."""

    def feed(self, segment: Segment) -> None: ...

    def finish(self) -> list[EdifactError]: ...


# Given the message with its first segments (``stream.ThinMessage``), the check to feed.
FedCheckFactory = Callable[[Message], FedCheck]


class _Fed:
    """The fed checks of one message; what they raise waits for the report (as a
    :data:`MessageCheck`'s would: a later fatal syntax error still wins over it)."""

    __slots__ = ("checks", "error", "factories")

    def __init__(self, factories: Sequence[FedCheckFactory]) -> None:
        self.factories = factories
        self.checks: list[FedCheck] = []
        self.error: Exception | None = None

    def begin(self, head: Message) -> Callable[[Segment], None]:
        try:
            self.checks = [factory(head) for factory in self.factories]
        except Exception as exc:
            self.error = exc
        return self.feed

    def feed(self, segment: Segment) -> None:
        if self.error is None:
            try:
                for check in self.checks:
                    check.feed(segment)
            except Exception as exc:
                self.error = exc

    def finish(self, _message: Message) -> list[EdifactError]:
        if self.error is not None:
            raise self.error
        return [error for check in self.checks for error in check.finish()]


class StreamingAcknowledgement:
    """:func:`acknowledge` message by message, for interchanges too big to hold parsed.

    :meth:`messages` reads ``data`` with :func:`adapters.edifact.iter_envelope_events` and
    yields ``(interchange, message, clean)`` for each message once it has been checked;
    ``clean`` says that no message so far (this one included) has a syntax error and no
    check failed, i.e. that decoding it can still be of use. :meth:`report` (after the
    messages, or reading the rest) is the same report as :func:`acknowledge` gives, the
    messages released one by one: a fatal syntax error anywhere still rejects everything.

    >>> s = StreamingAcknowledgement(b"UNB+UNOA:3+A+B+240101:1200+1'UNH+1+X:D:96A:UN'UNT+2+1'UNZ+2+1'")
    >>> [(m.reference, clean) for _, m, clean in s.messages()], s.report().accepted
    ([('1', True)], False)
    """

    def __init__(
        self,
        data: bytes,
        *,
        charset_policy: CharsetPolicy = CharsetPolicy.ACCEPT,
        message_checks: Iterable[MessageCheck] = (),
        partial: bool = False,
        fed_checks: Sequence[FedCheckFactory] | None = None,
    ) -> None:
        self._data = data
        self._policy = charset_policy
        self._checks = list(message_checks)
        # Thin: messages are not held; their segments go through ``fed_checks`` as read.
        self._fed = fed_checks
        self.thin: ThinMessage | None = None  # the last message read thin
        self._partial = partial
        self._builder = ReportBuilder(message_checks=self._checks, partial=partial)
        self._report: SyntaxReport | None = None
        self._events: Iterator[tuple[Interchange, Message, bool]] | None = None

    def messages(self) -> Iterator[tuple[Interchange, Message, bool]]:
        if self._events is None:
            self._events = self._read()
        return self._events

    def _read(self) -> Iterator[tuple[Interchange, Message, bool]]:
        builder = self._builder
        # acknowledge parses everything before it checks anything: a check that raises
        # loses to a fatal syntax error found later, so it is kept until the end.
        check_failure: Exception | None = None
        fed = self._fed
        checks: list[_Fed] = []

        def thin(message: Message) -> ThinMessage:
            assert fed is not None
            checks[:] = [_Fed(fed)]
            self.thin = ThinMessage(message, checks[0].begin)
            return self.thin

        body = None if fed is None else thin
        try:
            for ic, msg in iter_envelope_events(self._data, charset_policy=self._policy, body=body):
                if msg is None:
                    builder.end_interchange(ic)
                    continue
                count = None
                if self.thin is not None:
                    msg, count = self.thin.finish(), self.thin.count
                faulty = True
                if check_failure is None:
                    try:
                        if count is None:
                            faulty = bool(builder.message(msg).errors)
                        else:
                            faulty = bool(builder.message(msg, count, [checks[0].finish]).errors)
                    except Exception as exc:
                        check_failure = exc
                # Partial (issue #15): each message is judged on its own errors; otherwise
                # one message's errors reject every later one too.
                clean = not faulty if self._partial else not builder.rejected
                yield ic, msg, check_failure is None and clean
                del msg  # the next message is read without this one alive
        except Exception as exc:
            self._report = failure_report(self._data, exc)
            return
        if check_failure is not None:
            self._report = failure_report(self._data, check_failure)
        elif builder.interchanges == 0:
            # No interchange at all (empty input): the engine's own error for it.
            self._report = acknowledge(self._data, charset_policy=self._policy)
        else:
            self._report = builder.finish()

    def report(self) -> SyntaxReport:
        """The report on the whole input (reads what :meth:`messages` has not read yet)."""
        for _ in self.messages():
            pass
        assert self._report is not None
        return self._report


def failure_report(data: bytes, exc: Exception) -> SyntaxReport:
    """The report on an input that could not be read: ``exc`` at interchange level.

    An :class:`EdifactError` (the engine's, with its position) as it is; anything else is
    an internal error, still answered (bad input never crashes the gateway).
    """
    if not isinstance(exc, EdifactError):
        exc = EdifactError(
            ERR_UNSPECIFIED, f"internal error while reading the interchange: {exc!r}"
        )
    return _failed(data, exc)


def acknowledge(
    data: bytes,
    *,
    charset_policy: CharsetPolicy = CharsetPolicy.ACCEPT,
    message_checks: Iterable[MessageCheck] = (),
    partial: bool = False,
) -> SyntaxReport:
    """Parse and check ``data``; the result says accepted or rejected. Never raises.

    ``message_checks`` are called with every message (e.g. the directory
    validator) and their errors are reported in the message's UCM/UCS/UCD.
    For inputs too big to parse whole, feed a :class:`ReportBuilder` from the
    streaming API instead (same report).
    """
    try:
        interchanges = parse(data, charset_policy=charset_policy)
        builder = ReportBuilder(message_checks=message_checks, partial=partial)
        for ic in interchanges:
            for msg in ic.messages:
                builder.message(msg)
            builder.end_interchange(ic)
        return builder.finish(interchanges)
    except Exception as exc:
        return failure_report(data, exc)


def _failed(data: bytes, exc: EdifactError) -> SyntaxReport:
    header = InterchangeReport(errors=[exc])
    _fill_header_from_bytes(header, data)
    return SyntaxReport.of([header], [])


def _fill_header_from_bytes(report: InterchangeReport, data: bytes) -> None:
    """Best effort: read the first real UNB of an input that failed to parse, to address the CONTRL."""
    text = bytes(data[:4096]).decode("latin-1")
    start = text.find("UNB")
    if start < 0:
        return
    sep = text[start + 3 : start + 4] or "+"
    comp = ":"
    una = text.find("UNA")
    if 0 <= una < start and len(text) >= una + 9:
        comp, sep = text[una + 3], text[una + 4]
    end = text.find(text[una + 8] if 0 <= una < start and len(text) >= una + 9 else "'", start)
    raw = text[start : end if end > 0 else len(text)]
    parts = [p.split(comp) for p in raw.split(sep)] if sep else [[raw]]

    def value(i: int, j: int, limit: int) -> str:
        if i < len(parts) and j < len(parts[i]):
            # Stripped as the parser strips: a blank sender would be echoed as an empty recipient.
            return "".join(ch for ch in parts[i][j] if ch.isprintable()).strip()[:limit]
        return ""

    report.syntax_id = value(1, 0, 4) if value(1, 0, 4) in CHARSETS else "UNOA"
    version = value(1, 1, 1)
    report.syntax_version = int(version) if version in ("1", "2", "3", "4") else 3
    report.sender, report.sender_qualifier = value(2, 0, 35), value(2, 1, 4)
    report.recipient, report.recipient_qualifier = value(3, 0, 35), value(3, 1, 4)
    report.control_reference = value(5, 0, 14)


# ---------------------------------------------------------------------------
# Encoding the CONTRL
# ---------------------------------------------------------------------------

# Syntax identifiers a CONTRL may be written in; others fall back to UNOA (the
# CONTRL only echoes identifiers and codes).
_OUTPUT_SETS = {"UNOA", "UNOB", "UNOC", "UNOD", "UNOE", "UNOF", "UNOW", "UNOY"}


def _error_fields(err: EdifactError, *, with_tag: bool = True) -> list[list[str]]:
    """0085 [, 0013/0135 tag [, S011]] as trailing elements of UCI/UCF/UCM."""
    fields = [[err.code]]
    pos = err.s011()
    if with_tag and (err.tag or pos):
        fields.append([err.tag])
        if pos:
            fields.append([str(pos[0])] + ([str(pos[1])] if pos[1] is not None else []))
    return fields


def _segment_errors(msg: MessageReport, d: Delimiters) -> tuple[list[str], EdifactError | None]:
    """UCS/UCD groups for body errors, and the first UNH/UNT error for the UCM itself."""
    out: list[str] = []
    envelope_error: EdifactError | None = None
    for err in msg.errors:
        if err.tag in ("UNH", "UNT") or err.segment is None or err.segment < msg.first_segment:
            envelope_error = envelope_error or err
            continue
        position = str(err.segment - msg.first_segment + 1)  # UNH is 1 (ISO 9735-5, 0096)
        pos = err.s011()
        if pos is None:
            out.append(serialize_segment("UCS", [[position], [err.code]], d))
        else:
            out.append(serialize_segment("UCS", [[position]], d))
            comp = [str(pos[1])] if pos[1] is not None else []
            out.append(serialize_segment("UCD", [[err.code], [str(pos[0]), *comp]], d))
    if envelope_error is None and msg.errors and not out:
        envelope_error = msg.errors[0]
    return out, envelope_error


def _contrl_message(
    r: InterchangeReport,
    ref: str,
    d: Delimiters,
    *,
    receipt_only: bool,
    clean: Callable[[str], str],
) -> list[str]:
    v4 = r.syntax_version >= 4
    segs = [
        serialize_segment(
            "UNH", [[ref], ["CONTRL", "4", "1", "UN"] if v4 else ["CONTRL", "D", "3", "UN"]], d
        )
    ]
    uci: list[list[str]] = [
        [clean(r.control_reference) or "0"],
        [clean(r.sender) or "UNKNOWN", clean(r.sender_qualifier)],
        [clean(r.recipient) or "UNKNOWN", clean(r.recipient_qualifier)],
        [ACTION_RECEIVED if receipt_only else r.action],
    ]
    if r.errors and not receipt_only:
        uci += _error_fields(r.errors[0])
    segs.append(serialize_segment("UCI", uci, d))
    if receipt_only:
        return [*segs, serialize_segment("UNT", [[str(len(segs) + 1)], [ref]], d)]
    rejected = r.action == ACTION_REJECTED

    def ucm_block(m: MessageReport) -> list[str]:
        if rejected and not m.errors and r.errors:
            return []  # the UCI already rejects everything; nothing to add
        body, env_err = _segment_errors(m, d)
        ucm: list[list[str]] = [
            [clean(m.reference)],
            [clean(m.type), clean(m.version), clean(m.release), clean(m.agency)]
            + ([clean(m.association)] if m.association else []),
            [m.action if not rejected or m.errors else ACTION_REJECTED],
        ]
        if env_err is not None:
            ucm += _error_fields(env_err)
        return [serialize_segment("UCM", ucm, d), *body]

    for m in r.messages:
        if not m.group_reference or not r.groups:
            segs += ucm_block(m)
    for g in r.groups:
        ucf: list[list[str]] = [
            [clean(g.reference) or "0"],
            [clean(g.sender) or "UNKNOWN", clean(g.sender_qualifier)],
            [clean(g.recipient) or "UNKNOWN", clean(g.recipient_qualifier)],
            [g.action if not rejected or g.errors else ACTION_REJECTED],
        ]
        if g.errors:
            ucf += _error_fields(g.errors[0])
        segs.append(serialize_segment("UCF", ucf, d))
        for m in r.messages:
            if m.group_reference == g.reference:
                segs += ucm_block(m)
    segs.append(serialize_segment("UNT", [[str(len(segs) + 1)], [ref]], d))
    return segs


def encode(
    report: SyntaxReport,
    *,
    our_id: str = "CUSTOMS",
    reference: str = "1",
    now: dt.datetime | None = None,
    receipt_only: bool = False,
    newline: str = "\n",
) -> bytes:
    """The CONTRL interchange answering ``report``, from ``our_id`` to the original sender.

    One CONTRL message per received interchange (message references
    ``reference``, ``reference-2`` ...). With ``receipt_only`` the UCI says
    ``8`` (received) and no message is listed.

    >>> out = encode(acknowledge(b"UNB+UNOA:4+SND+RCV+20240101:1200+42'UNH+1+X:D:96A:UN'UNT+2+1'UNZ+1+42'"),
    ...              now=dt.datetime(2024, 1, 2, 3, 4), newline="")
    >>> out.decode()
    "UNB+UNOA:4+CUSTOMS+SND+20240102:0304+1'UNH+1+CONTRL:4:1:UN'UCI+42+SND+RCV+7'UCM+1+X:D:96A:UN+7'UNT+4+1'UNZ+1+1'"
    """
    now = now or dt.datetime.now(dt.UTC)
    d = Delimiters()
    version = report.syntax_version if 1 <= report.syntax_version <= 4 else 3
    syntax_id = report.syntax_id if report.syntax_id in _OUTPUT_SETS else "UNOA"
    codec = CHARSETS[syntax_id]

    def clean(value: str) -> str:
        # Echoed values must fit the output set; '?' would read as a release character.
        return value.encode(codec, "replace").decode(codec)

    reports = report.reports or [InterchangeReport()]
    segs = [
        serialize_segment(
            "UNB",
            [
                [syntax_id, str(version)],
                [clean(our_id)],
                [clean(report.sender) or "UNKNOWN", clean(report.sender_qualifier)],
                [now.strftime("%Y%m%d" if version >= 4 else "%y%m%d"), now.strftime("%H%M")],
                [clean(reference)],
            ],
            d,
        )
    ]
    for i, r in enumerate(reports):
        ref = reference if i == 0 else f"{reference}-{i + 1}"
        if r.syntax_version != version:
            # All CONTRL messages of one interchange share the UNB's syntax version.
            r = dataclasses.replace(r, syntax_version=version)
        segs += _contrl_message(r, ref[:14], d, receipt_only=receipt_only, clean=clean)
    segs.append(serialize_segment("UNZ", [[str(len(reports))], [clean(reference)]], d))
    return newline.join(segs).encode(codec, "replace") + newline.encode()
