"""The CONTRL report model: what the gateway says about a received file, level by level.

A :class:`SyntaxReport` (one file) holds an :class:`InterchangeReport` per interchange (one
CONTRL message, one UCI), each with its :class:`GroupReport` (UCF) and :class:`MessageReport`
(UCM) verdicts. :mod:`adapters.contrl.reader` builds them, :mod:`adapters.contrl.encoder`
writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from adapters.edifact.syntax import EdifactError, Interchange, Message

# Action codes (service code list 0083).
ACTION_ACKNOWLEDGED = (
    "7"  # this level acknowledged, lower levels acknowledged if not explicitly rejected
)
ACTION_REJECTED = "4"  # this level and all lower levels rejected
ACTION_RECEIVED = "8"  # interchange received

MessageCheck = Callable[[Message], Iterable[EdifactError]]


class Findings(list[EdifactError]):
    """What a check found: the errors kept, and ``omitted`` more it counted without keeping
    (a check may stop detailing past :data:`~adapters.contrl.limits.PROBLEMS_PER_MESSAGE`)."""

    __slots__ = ("omitted",)

    def __init__(self, errors: Iterable[EdifactError] = (), omitted: int = 0) -> None:
        super().__init__(errors)
        self.omitted = omitted


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
    # UNH S009 0110 and 0113 (syntax 4: code list directory version, message type
    # sub-function), echoed in a syntax 4 UCM.
    directory_version: str = ""
    sub_function: str = ""
    group_reference: str = ""
    first_segment: int = 0  # input number of the UNH: UCS positions count from it
    omitted: int = 0  # errors found past the caps (adapters.contrl.limits): counted, not kept

    @property
    def rejected(self) -> bool:
        return bool(self.errors) or self.omitted > 0

    @property
    def action(self) -> str:
        return ACTION_REJECTED if self.rejected else ACTION_ACKNOWLEDGED


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
    # UNB S002/S003 after the qualifier (``Interchange.sender_route``): echoed in the UCI,
    # and the sender's is the recipient's routing of every answer (S003 0014 [, 0046]).
    sender_route: tuple[str, ...] = ()
    recipient_route: tuple[str, ...] = ()
    warnings: list[EdifactError] = field(default_factory=list)
    groups: list[GroupReport] = field(default_factory=list)
    messages: list[MessageReport] = field(default_factory=list)
    partial: bool = False
    omitted: int = 0  # its messages' errors past the caps: counted, not kept
    # False for bare messages (UNH..UNT without UNB): no interchange to answer (issue #16).
    enveloped: bool = True
    # UNB 0035 was 1: a test interchange, whose answer is a test interchange too.
    test: bool = False

    @property
    def accepted(self) -> bool:
        return (
            not self.errors
            and not any(g.errors for g in self.groups)
            and not any(m.rejected for m in self.messages)
        )

    @property
    def action(self) -> str:
        if self.errors or (not self.partial and not self.accepted):
            return ACTION_REJECTED
        # Partial (issue #15): the interchange is acknowledged while one message at least
        # is; a group in error, or every message rejected, rejects it too.
        if any(g.errors for g in self.groups) or (
            self.messages and all(m.rejected for m in self.messages)
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
    sender_route: tuple[str, ...] = ()  # the first interchange's (InterchangeReport's)
    recipient_route: tuple[str, ...] = ()
    interchanges: list[Interchange] = field(default_factory=list)

    @property
    def test(self) -> bool:
        """Every interchange read was a test interchange (UNB 0035 1)."""
        return bool(self.reports) and all(r.test for r in self.reports)

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
    def omitted(self) -> int:
        """Errors found past the caps (:mod:`adapters.contrl.limits`): counted, not listed."""
        return sum(r.omitted for r in self.reports)

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
            sender_route=first.sender_route,
            recipient_route=first.recipient_route,
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
