"""Reading an input into its CONTRL report: whole (:func:`acknowledge`) or message by message
(:class:`ReportBuilder`, :class:`StreamingAcknowledgement`). Never raises on bad input.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Protocol

from adapters.contrl import limits
from adapters.contrl.envelope import (
    check_group,
    check_interchange,
    check_message,
    check_recipient,
    check_sender,
)
from adapters.contrl.report import (
    Findings,
    GroupReport,
    InterchangeReport,
    MessageCheck,
    MessageReport,
    SyntaxReport,
)
from adapters.edifact.stream import ThinMessage, iter_envelope_events
from adapters.edifact.syntax import (
    CHARSETS,
    ERR_DUPLICATE,
    ERR_UNSPECIFIED,
    CharsetPolicy,
    EdifactError,
    Interchange,
    Message,
    Segment,
    parse,
)


class _Budget:
    """What is left of one input's findings to keep (:mod:`adapters.contrl.limits`): at most
    ``PROBLEMS_PER_MESSAGE`` a message and ``PROBLEMS_PER_INPUT`` in all; the rest counted."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = limits.PROBLEMS_PER_INPUT

    def keep(self, report: MessageReport, errors: Iterable[EdifactError]) -> None:
        for error in errors:
            if self.left > 0 and len(report.errors) < limits.PROBLEMS_PER_MESSAGE:
                report.errors.append(error)
                self.left -= 1
            else:
                report.omitted += 1
        # A check that stopped detailing past the cap says how many more it found.
        report.omitted += getattr(errors, "omitted", 0)


def _message_report(
    msg: Message,
    seen: dict[str, int],
    checks: Iterable[MessageCheck],
    count: int | None = None,
    budget: _Budget | None = None,
    syntax_version: int = 3,
) -> MessageReport:
    """The report on one message; ``seen`` maps the interchange's references to their UNH;
    ``syntax_version``: its interchange's."""
    budget = budget or _Budget()
    report = MessageReport(
        msg.reference,
        msg.type,
        msg.version,
        msg.release,
        msg.agency,
        association=msg.association,
        directory_version=msg.segments[0].get(1, 5),
        sub_function=msg.segments[0].get(1, 6),
        group_reference=msg.group_reference,
        first_segment=msg.segments[0].number,
    )
    budget.keep(report, check_message(msg, count, syntax_version))
    if msg.reference in seen:
        duplicate = EdifactError(
            ERR_DUPLICATE,
            f"message reference {msg.reference!r} is used again (first at segment {seen[msg.reference]})",
            segment=msg.segments[0].number,
            tag="UNH",
            element=0,
        )
        budget.keep(report, [duplicate])
    else:
        seen[msg.reference] = msg.segments[0].number
    for check in checks:
        budget.keep(report, check(msg))
    return report


def check_envelope(
    ic: Interchange, message_checks: Iterable[MessageCheck] = ()
) -> list[MessageReport]:
    """Per-message reports (UNH/UNT checks, duplicates, plus ``message_checks``)."""
    checks = list(message_checks)
    seen: dict[str, int] = {}
    budget = _Budget()
    return [
        _message_report(msg, seen, checks, budget=budget, syntax_version=ic.syntax_version)
        for msg in ic.messages
    ]


def _interchange_report(
    ic: Interchange,
    messages: list[MessageReport],
    partial: bool,
    recipients: Collection[str] | None = None,
    senders: Collection[str] | None = None,
) -> InterchangeReport:
    """The envelope verdict on ``ic`` (UNB/UNZ, groups) around its message reports;
    ``recipients``: the reader's own identities, the UNB recipients it takes (None: any);
    ``senders``: the UNB senders it takes from whoever it reads for (None: any)."""
    errors, warnings = check_interchange(ic)
    if senders is not None:
        errors += check_sender(ic, senders)
    if recipients is not None:
        errors += check_recipient(ic, recipients)
    report = InterchangeReport(
        sender=ic.sender,
        sender_qualifier=ic.sender_qualifier,
        recipient=ic.recipient,
        recipient_qualifier=ic.recipient_qualifier,
        sender_route=ic.sender_route,
        recipient_route=ic.recipient_route,
        control_reference=ic.control_reference,
        syntax_id=ic.syntax_id or "UNOA",
        syntax_version=ic.syntax_version if 1 <= ic.syntax_version <= 4 else 3,
        errors=errors,
        warnings=[*ic.warnings, *warnings],
        partial=partial,
        enveloped=ic.header is not None,
        test=ic.test_indicator == "1",
    )
    report.omitted = sum(m.omitted for m in messages)
    if report.omitted:
        listed = sum(len(m.errors) for m in messages)
        report.errors.append(
            EdifactError(
                ERR_UNSPECIFIED,
                f"{listed + report.omitted} errors in the messages, {report.omitted} more than "
                f"are listed (at most {limits.PROBLEMS_PER_MESSAGE} a message, "
                f"{limits.PROBLEMS_PER_INPUT} in all): the interchange is rejected as a whole",
                reason=limits.REASON_TOO_MANY,
            )
        )
    if len(messages) + len(ic.groups) > limits.LISTED_PER_CONTRL:
        report.errors.append(
            EdifactError(
                ERR_UNSPECIFIED,
                f"the interchange holds {len(messages)} messages in {len(ic.groups)} groups, "
                f"more than one CONTRL message can answer ({limits.LISTED_PER_CONTRL})",
                segment=ic.header.number if ic.header is not None else None,
                tag="UNB" if ic.header is not None else "",
                reason=limits.REASON_TOO_MANY,
            )
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
        self,
        *,
        message_checks: Iterable[MessageCheck] = (),
        partial: bool = False,
        recipients: Collection[str] | None = None,
        senders: Collection[str] | None = None,
    ) -> None:
        self._checks = list(message_checks)
        self._partial = partial
        self._recipients = recipients  # the identities the UNB recipient must be one of
        self._senders = senders  # the ids the UNB sender must be one of (None: any)
        self._seen: dict[str, int] = {}  # message references of the open interchange
        self._open: list[MessageReport] = []
        self._budget = _Budget()  # the findings kept with their detail, for the whole input
        # The envelope checks run at finish: a lexer may still add to an interchange's
        # warnings after its end event (a last segment without terminator).
        self._ended: list[tuple[Interchange, list[MessageReport]]] = []
        self.rejected = False  # some message has errors (the interchange checks come at finish)

    def message(
        self,
        msg: Message,
        count: int | None = None,
        checks: Iterable[MessageCheck] | None = None,
        syntax_version: int = 3,
    ) -> MessageReport:
        """Check ``msg`` (UNH/UNT, duplicate reference, the message checks) and record it.

        ``count`` and ``checks``: for a message read thin (:class:`ThinMessage`), its
        segment count and the checks that were fed its segments; ``syntax_version``: its
        interchange's (UNB S001 0002).
        """
        checks = self._checks if checks is None else checks
        report = _message_report(msg, self._seen, checks, count, self._budget, syntax_version)
        self._open.append(report)
        self.rejected = self.rejected or report.rejected
        return report

    def end_interchange(self, ic: Interchange) -> None:
        """``ic`` is complete: its messages were all given to :meth:`message`.

        Raises :class:`EdifactError` past ``limits.INTERCHANGES_PER_INPUT`` (one CONTRL
        message each): the readers answer it as an input they cannot read.
        """
        if len(self._ended) >= limits.INTERCHANGES_PER_INPUT:
            raise EdifactError(
                ERR_UNSPECIFIED,
                f"the input holds more than {limits.INTERCHANGES_PER_INPUT} interchanges",
                segment=ic.header.number if ic.header is not None else None,
                tag="UNB" if ic.header is not None else "",
                reason=limits.REASON_TOO_MANY,
            )
        self._ended.append((ic, self._open))
        self._open, self._seen = [], {}

    @property
    def interchanges(self) -> int:
        return len(self._ended)

    def finish(self, interchanges: list[Interchange] | None = None) -> SyntaxReport:
        """The report; ``interchanges`` (parsed whole) are attached as :func:`acknowledge` does."""
        reports = [
            _interchange_report(ic, ms, self._partial, self._recipients, self._senders)
            for ic, ms in self._ended
        ]
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

    def finish(self, _message: Message) -> Findings:
        if self.error is not None:
            raise self.error
        found = Findings()
        for check in self.checks:
            errors = check.finish()
            found += errors
            found.omitted += getattr(errors, "omitted", 0)  # (a check that counted past a cap)
        return found


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
        recipients: Collection[str] | None = None,
        senders: Collection[str] | None = None,
    ) -> None:
        self._data = data
        self._policy = charset_policy
        self._checks = list(message_checks)
        # Thin: messages are not held; their segments go through ``fed_checks`` as read.
        self._fed = fed_checks
        self.thin: ThinMessage | None = None  # the last message read thin
        self._partial = partial
        self._recipients = recipients
        self._senders = senders
        self._builder = ReportBuilder(
            message_checks=self._checks, partial=partial, recipients=recipients, senders=senders
        )
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
                            faulty = builder.message(msg, syntax_version=ic.syntax_version).rejected
                        else:
                            faulty = builder.message(
                                msg, count, [checks[0].finish], ic.syntax_version
                            ).rejected
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
            self._report = acknowledge(
                self._data,
                charset_policy=self._policy,
                recipients=self._recipients,
                senders=self._senders,
            )
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
    recipients: Collection[str] | None = None,
    senders: Collection[str] | None = None,
) -> SyntaxReport:
    """Parse and check ``data``; the result says accepted or rejected. Never raises.

    ``message_checks`` are called with every message (e.g. the directory
    validator) and their errors are reported in the message's UCM/UCS/UCD.
    ``recipients``: the reader's identities; a UNB addressed to another is rejected (UCI
    error 7); ``senders``: the UNB senders taken (None: any; another is UCI error 23). For
    inputs too big to parse whole, feed a :class:`ReportBuilder` from the
    streaming API instead (same report).
    """
    try:
        interchanges = parse(data, charset_policy=charset_policy)
        builder = ReportBuilder(
            message_checks=message_checks, partial=partial, recipients=recipients, senders=senders
        )
        for ic in interchanges:
            for msg in ic.messages:
                builder.message(msg, syntax_version=ic.syntax_version)
            builder.end_interchange(ic)
        return builder.finish(interchanges)
    except Exception as exc:
        return failure_report(data, exc)


def _failed(data: bytes, exc: EdifactError) -> SyntaxReport:
    header = InterchangeReport(errors=[exc])
    _fill_header_from_bytes(header, data)
    return SyntaxReport.of([header], [])


def _trimmed(parts: tuple[str, ...]) -> tuple[str, ...]:
    while parts and not parts[-1]:
        parts = parts[:-1]
    return parts


def _fill_header_from_bytes(report: InterchangeReport, data: bytes) -> None:
    """Best effort: read the first real UNB of an input that failed to parse, to address the CONTRL."""
    text = bytes(data[:4096]).decode("latin-1")
    start = text.find("UNB")
    if start < 0:
        return
    sep = text[start + 3 : start + 4] or "+"
    comp, terminator = ":", "'"
    una = text.find("UNA")
    if 0 <= una < start and len(text) >= una + 9:
        comp, sep, terminator = text[una + 3], text[una + 4], text[una + 8]
        if len({comp, sep, terminator}) < 3:
            # The UNA gives one character two roles: no reading of the UNB is better than
            # another, and a guess would address the answer to a piece of it (issue #14).
            return
    end = text.find(terminator, start)
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
    report.sender_route = _trimmed((value(2, 2, 35), value(2, 3, 35)))
    report.recipient_route = _trimmed((value(3, 2, 35), value(3, 3, 35)))
    report.control_reference = value(5, 0, 14)
