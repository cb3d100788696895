"""What the pipeline makes of an input: problems, rejections, translations and outcomes.

The types every step of ``gateway.service.pipeline`` hands on: a :class:`Translation` (the
documents decoded from an input, or why not), and the :class:`Outcome` the worker carries
out (the signed documents with their routes, and the partner's answers).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Protocol

from lxml import etree

from adapters import contrl
from adapters.common import DecodeContext, Positions
from adapters.edifact import Message
from gateway.config import Partner
from gateway.domain.model import CanonicalDocument

if TYPE_CHECKING:
    # Annotations only: the spool (shutil, uuid) is the signing gateway's (issue #20, point 6).
    from gateway.storage.spool import Signed


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
    # A travellers' refusal (issue #18) says whether the same message may be accepted later
    # (an exit before its entry); its dead letter carries it. None: not said.
    replayable: bool | None = field(default=None, repr=False)


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
        return [*self, more_problems(self.omitted, what)]


def more_problems(omitted: int, what: str) -> Problem:
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


def message_head(message: Message) -> MessageHead:
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


# A hostile interchange of a thousand refused manifests must not make the journal's index
# of one message unbounded: so many references of refused messages are kept (issue #19).
REFUSED_REFERENCES: Final = 2000


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
    # Issue #16: the partner's CONTRLs read from the input (recorded, never answered), and
    # why no CONTRL answers the input ("" when one does): it holds a CONTRL (ISO 9735-5), or
    # messages outside any UNB (no one to address).
    received: list[contrl.ReceivedContrl] = field(default_factory=list)
    unanswered: str = ""
    # Issue #19: the business references of what was refused (document numbers, bills,
    # containers, MRNs of the documents decoded before they were refused; a message's BGM
    # document number otherwise), so that a dead letter is found by them (``edigw track``).
    refused_references: list[str] = field(default_factory=list)

    def dead_lettered_alone(self) -> bool:
        """Whether the refused messages of an interchange go to dead letters one by one.

        They do when its envelope was sound and it held more than one message; a lone
        message, or an interchange refused as a whole, is dead-lettered as it came.
        """
        return bool(self.rejected_messages) and self.message_count > 1

    def refuse_references(self, references: Iterable[str]) -> None:
        """Keep ``references`` of a refused message, up to :data:`REFUSED_REFERENCES`."""
        room = REFUSED_REFERENCES - len(self.refused_references)
        if room > 0:
            # A partner's text, cut to what an EDIFACT reference may hold (an..70 at most).
            self.refused_references.extend(r[:70] for r in list(references)[:room] if r)


@dataclass(slots=True)
class RoutedDocument:
    document: CanonicalDocument
    signed_xml: Signed  # a large one spooled when the pipeline was given a spool (issue #8)
    destination: str  # "core" or "legacy"


# An answer written under a given interchange control reference (UNB/UNZ 0020).
Write = Callable[[str], bytes]
# The reference an answer carries until the decision gives it its own (issue #16): the one
# the encoders default to, for tools and tests.
PROVISIONAL_REFERENCE: Final = "1"


@dataclass(slots=True)
class Outcome:
    """What the worker carries out: documents to route and acknowledgements to send back.

    ``acknowledgements`` is a list of (type, bytes), in sending order: the CONTRL first,
    then an APERAK when the content was rejected. ``acknowledgement`` and
    ``acknowledgement_type`` read and replace the first one (the CONTRL).

    Each EDIFACT answer is written under :data:`PROVISIONAL_REFERENCE` first; ``writers``
    keep, per answer (its index), how to write it again under the interchange reference the
    journal gives it (:meth:`written`, in the decision's unit of work, issue #16).
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
    writers: dict[int, Write] = field(default_factory=dict)

    def answer(self, kind: str, write: Write) -> None:
        """Add an answer of type ``kind`` (CONTRL, APERAK), written by ``write``."""
        self.writers[len(self.acknowledgements)] = write
        self.acknowledgements.append((kind, write(PROVISIONAL_REFERENCE)))

    def written(self, index: int, reference: str) -> bytes | None:
        """Answer ``index`` written under ``reference``, or None when it has no writer
        (an answer kept from the first time: its envelope is renamed instead)."""
        write = self.writers.get(index)
        return None if write is None else write(reference)

    @property
    def rejection(self) -> Rejection | None:
        return self.translation.rejection

    def business_references(self) -> list[str]:
        """What the message is about, for the journal's index and the log lines: the routed
        documents' references, then those of what was refused (issue #19)."""
        refs = [r for routed in self.routed for r in routed.document.references()]
        return list(dict.fromkeys([*self.references, *refs, *self.translation.refused_references]))

    @property
    def acknowledgement(self) -> bytes:
        return self.acknowledgements[0][1] if self.acknowledgements else b""

    @acknowledgement.setter
    def acknowledgement(self, data: bytes) -> None:
        # Replacing the acknowledgement replaces the whole answer (e.g. a duplicate interchange).
        self.acknowledgements = [("CONTRL", data)] if data else []
        self.writers = {}

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
