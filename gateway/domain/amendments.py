"""Amendments: originals, replacements, changes and cancellations of one partner document.

The key of a document is its sender plus its document type and number (the BGM
number of a CUSCAR or PAXLST). The journal keeps every accepted version:

* function ``original`` (BGM 9) creates version 1; a second original with the
  same key and other content is a duplicate and is rejected;
* ``replace`` (5) and ``change`` (4) need an original and become version n + 1,
  pointing at version n (``Header.previous_message_id``);
* ``cancel`` (1) withdraws the document: it is routed as version n + 1 too, and
  anything after it is rejected;
* content already accepted (same payload hash) is a resend: it is not routed
  again and **not** answered with an error, because partners whose resends get
  errors resend again, forever (the AS2 lesson).

:func:`decide` is pure; :func:`apply` reads and writes the journal.

>>> from gateway.domain.model import CargoManifest, Header
>>> doc = CargoManifest(Header.new(sender="apcs", document_type="CargoManifest",
...                     business_reference="M1", function="change"), document_number="M1")
>>> decide([], doc, "inbound-1").problem
('NO_ORIGINAL', 'CargoManifest M1 from apcs changes a document that was never filed: send the original (BGM function 9) first')
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Literal, Protocol

from gateway.domain.model import Document

Action = Literal["route", "resend", "reject"]


@dataclass(frozen=True, slots=True)
class DocumentVersion:
    """One accepted version of a partner document (key: sender + document type and number)."""

    sender: str
    document_key: str
    version: int
    function: str  # original, replace, change, cancel
    message_id: str  # the canonical document routed for this version
    payload_hash: str
    inbound_id: str  # the partner message it came in
    at: str = ""


class VersionStore(Protocol):
    """Where the accepted versions are kept (the journal, ``gateway.storage.journal``)."""

    def document_versions(self, sender: str, document_key: str) -> list[DocumentVersion]: ...

    def add_document_version(self, version: DocumentVersion) -> bool: ...

    def unit_of_work(self) -> AbstractContextManager[None]: ...


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with one document: route it as ``version``, drop it as a resend, or reject."""

    action: Action
    version: int = 1
    previous_message_id: str | None = None
    message_id: str | None = None  # set when a redelivery must reuse the first message id
    problem: tuple[str, str] | None = None  # (code, sentence) when rejected
    note: str = ""
    record: bool = True  # False when the journal already holds this version


def document_key(doc: Document) -> str:
    """Document type and number: ``CargoManifest:MAN-DZALG-2611-001``; a test document's
    (UNB 0035 ``1``) is ``test:CargoManifest:...``, a chain of its own, so that a partner's
    test of a manifest is neither the original nor a resend of the real one."""
    number = getattr(doc, "document_number", None) or doc.header.business_reference
    key = f"{doc.header.document_type}:{number}"
    return f"test:{key}" if doc.header.test else key


def decide(chain: Sequence[DocumentVersion], doc: Document, inbound_id: str) -> Verdict:
    """The verdict for ``doc`` given the accepted versions of its key (oldest first)."""
    h = doc.header
    number = getattr(doc, "document_number", None) or h.business_reference
    name = f"{'test ' if h.test else ''}{h.document_type} {number} from {h.sender}"
    same = next((v for v in chain if v.payload_hash == h.payload_hash), None)
    if same is not None:
        if same.inbound_id == inbound_id:
            # The same partner message again (a redelivery after a crash): route it as before.
            before = next((v for v in chain if v.version == same.version - 1), None)
            return Verdict(
                "route",
                same.version,
                before.message_id if before else None,
                message_id=same.message_id,
                record=False,
            )
        return Verdict(
            "resend",
            same.version,
            note=f"{name} version {same.version} was already accepted (message {same.message_id}); "
            "identical resend not routed again",
        )
    last = chain[-1] if chain else None
    if h.function == "original":
        if last is not None:
            return Verdict(
                "reject",
                problem=(
                    "DUPLICATE",
                    f"{name} was already filed as an original (version {last.version}, message "
                    f"{last.message_id}) with other content: send a replacement (BGM function 5) "
                    "or a change (4)",
                ),
            )
        return Verdict("route", 1)
    if last is None:
        verb = {"replace": "replaces", "change": "changes", "cancel": "cancels"}[h.function]
        return Verdict(
            "reject",
            problem=(
                "NO_ORIGINAL",
                f"{name} {verb} a document that was never filed: send the original "
                "(BGM function 9) first",
            ),
        )
    if last.function == "cancel":
        return Verdict(
            "reject",
            problem=(
                "ALREADY_CANCELLED",
                f"{name} was cancelled in version {last.version} (message {last.message_id}); "
                "file a new document number instead",
            ),
        )
    return Verdict("route", last.version + 1, last.message_id)


def apply(
    journal: VersionStore, sender: str, docs: Sequence[Document], inbound_id: str
) -> list[Verdict]:
    """Decide the documents of one inbound message, in order, each on its own (issue #15).

    Each routed document's version is filed before the next document is decided, so an
    original followed by its replacement (or cancellation) in the same interchange applies
    to it; a rejected document records nothing and does not stop the others. The documents'
    headers get their version and previous message id.
    """
    # One transaction for the reads and the writes: the versions read are still the last
    # ones when the next is filed (SQLite takes its write lock at the start; on PostgreSQL a
    # version filed in between is still caught by the insert), and one commit instead of two.
    with journal.unit_of_work():
        return [_apply_one(journal, sender, doc, inbound_id) for doc in docs]


class Preview:
    """The versions one inbound message would file, decided before its documents are
    written and signed, so each is signed once with its final header (issue #15).

    Reads go to the journal; what this message would file is kept here only, so an
    original followed by its replacement in the same interchange previews as :func:`apply`
    will file them. :func:`apply` still decides and files in the decision's transaction; it
    finds the same header unless another worker filed a version in between, and then the
    caller signs again.
    """

    def __init__(self, journal: VersionStore, sender: str, inbound_id: str) -> None:
        self._journal = journal
        self._sender = sender
        self._inbound_id = inbound_id
        self._pending: dict[str, list[DocumentVersion]] = {}

    def document_versions(self, sender: str, document_key: str) -> list[DocumentVersion]:
        filed = self._journal.document_versions(sender, document_key)
        return filed + self._pending.get(document_key, [])

    def add_document_version(self, version: DocumentVersion) -> bool:
        self._pending.setdefault(version.document_key, []).append(version)
        return True

    def unit_of_work(self) -> AbstractContextManager[None]:
        return nullcontext()

    def header(self, doc: Document) -> None:
        """``doc``'s header set as :func:`apply` will set it (nothing when it will be refused)."""
        _apply_one(self, self._sender, doc, self._inbound_id)

    def withdraw(self, doc: Document) -> None:
        """``doc`` was refused after :meth:`header` (its schema, say): it files nothing."""
        pending = self._pending.get(document_key(doc), [])
        if pending and pending[-1].message_id == doc.header.message_id:
            pending.pop()


def _apply_one(journal: VersionStore, sender: str, doc: Document, inbound_id: str) -> Verdict:
    verdict = decide(journal.document_versions(sender, document_key(doc)), doc, inbound_id)
    if verdict.action != "route":
        return verdict
    doc.header.document_version = verdict.version
    doc.header.previous_message_id = verdict.previous_message_id
    if verdict.message_id is not None:
        doc.header.message_id = verdict.message_id
    if not verdict.record:
        return verdict
    added = journal.add_document_version(
        DocumentVersion(
            sender=sender,
            document_key=document_key(doc),
            version=verdict.version,
            function=doc.header.function,
            message_id=doc.header.message_id,
            payload_hash=doc.header.payload_hash,
            inbound_id=inbound_id,
        )
    )
    if added:
        return verdict
    # Another worker filed this version a moment ago.
    return Verdict(
        "reject",
        problem=(
            "DUPLICATE",
            f"{document_key(doc)} version {verdict.version} from {sender} was filed "
            "by another message at the same time; send it again",
        ),
    )
