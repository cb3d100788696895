"""What the journal records and returns, and the interface every journal implements.

:class:`Journal` is the protocol; ``gateway.storage.journal`` has the SQLite implementation
and ``gateway.storage.journal_pg`` the PostgreSQL one. :func:`derived_id` makes the ids of
what one inbound message gives, the same on every redelivery.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.domain.amendments import DocumentVersion as DocumentVersion

STATUSES = (
    "received",
    "rejected",
    "routed",
    "acknowledged",
    "answered",
    "dead-lettered",
    "replayed",
    "duplicate",
    "retried",
    "overdue",
)


class JournalUnavailable(RuntimeError):
    """The journal's store cannot be reached or written right now: a transient failure.

    The worker answers it by retrying the message later (delay queues), never by
    dropping or rejecting it.
    """


@dataclass(frozen=True, slots=True)
class Event:
    status: str
    at: str
    detail: str


@dataclass(slots=True)
class MessageHistory:
    message_id: str
    type: str
    partner: str
    correlation_id: str
    parent_id: str | None
    events: list[Event] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "message_id": self.message_id,
            "type": self.type,
            "partner": self.partner,
            "correlation_id": self.correlation_id,
            "parent_id": self.parent_id,
            "events": [{"status": e.status, "at": e.at, "detail": e.detail} for e in self.events],
        }


@dataclass(frozen=True, slots=True)
class Processed:
    """How far the gateway got with one inbound message."""

    message_id: str
    state: str  # "decided" or "done"
    outcome: str  # "routed", "rejected", "duplicate" ...
    detail: str
    at: str


@dataclass(frozen=True, slots=True)
class Conflict:
    """A dedup key already claimed by another message.

    ``same_content`` is False when the fingerprints differ: the same business key
    and version with other content (a partner error, not a redelivery).
    """

    key: str
    owner: str
    same_content: bool


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a routed canonical document came from: what a response needs to go back."""

    message_id: str  # the canonical document
    inbound_id: str  # the partner's message
    partner: str
    routed_at: str
    facts: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Overdue:
    message_id: str
    inbound_id: str
    partner: str
    document_type: str
    business_reference: str
    routed_at: str


# One event as the worker records it on completion: (message id, status, detail).
EventRow = tuple[str, str, str]


class Journal(Protocol):
    def record_message(
        self,
        message_id: str,
        *,
        type: str,
        partner: str,
        correlation_id: str,
        parent_id: str | None = None,
    ) -> None: ...

    def add_references(self, message_id: str, references: Iterable[str]) -> None: ...

    def record_event(self, message_id: str, status: str, detail: str = "") -> None: ...

    def track(self, reference: str) -> list[MessageHistory]: ...

    # --- idempotency (issue #6)
    def processed(self, message_id: str) -> Processed | None: ...

    def claim(self, owner: str, keys: Mapping[str, str]) -> list[Conflict]: ...

    def holder(self, key: str) -> tuple[str, str] | None:
        """(owner, fingerprint) of a claimed dedup key, or None; claims nothing."""
        ...

    def decide(self, message_id: str, outcome: str, detail: str = "") -> None: ...

    def complete(
        self, message_id: str, outcome: str, detail: str, events: Sequence[EventRow] = ()
    ) -> None: ...

    # --- customs responses (issue #6)
    def record_origin(self, origin: Origin) -> None: ...

    def origin(self, message_id: str) -> Origin | None: ...

    def mark_answered(self, message_id: str, detail: str) -> bool: ...

    def overdue(self, older_than: dt.timedelta, *, limit: int = 1000) -> list[Overdue]: ...

    # --- amendments (issue #4): the versions of one partner document, and answers to resends
    def document_versions(self, sender: str, document_key: str) -> list[DocumentVersion]: ...

    def add_document_version(self, version: DocumentVersion) -> bool: ...

    def save_acknowledgements(
        self, sender: str, payload_hash: str, inbound_id: str, acks: Sequence[tuple[str, bytes]]
    ) -> None: ...

    def saved_acknowledgements(
        self, sender: str, payload_hash: str
    ) -> tuple[str, list[tuple[str, bytes]]] | None: ...

    def withdraw_acceptance(self, sender: str, inbound_id: str) -> int: ...

    # --- the gateway's own interchange references (issue #16)
    def interchange_reference(self, partner: str, owner: str, about: str = "") -> str:
        """UNB 0020 of what ``owner`` sends to ``partner``: the same for the same owner,
        else the partner's next (``gateway.storage.sent_interchanges``)."""
        ...

    def sent_interchange(self, partner: str, reference: str) -> tuple[str, str] | None: ...

    def unit_of_work(self) -> AbstractContextManager[None]: ...

    def checkpoint_in_background(self, every: float = 1.0) -> None: ...

    def close(self) -> None: ...


_ID_NAMESPACE = uuid.UUID("5d1c3f0e-7a43-4f0b-9a8e-6c2f1b0d9e11")


def derived_id(inbound_id: str, part: str | int) -> str:
    """A message id derived from the inbound message id, the same on every redelivery.

    Documents and acknowledgements made from one inbound message get these ids, so a
    re-run after a crash publishes the same ids and consumers can drop the copies.

    >>> derived_id("m1", 0) == derived_id("m1", 0) != derived_id("m1", 1)
    True
    """
    return str(uuid.uuid5(_ID_NAMESPACE, f"{inbound_id}/{part}"))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown journal status {status!r}")
