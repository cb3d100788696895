"""What the journal records and returns, and the interface every journal implements.

:class:`Journal` is the protocol; ``gateway.storage.journal`` has the SQLite implementation
and ``gateway.storage.journal_pg`` the PostgreSQL one. :func:`derived_id` makes the ids of
what one inbound message gives, the same on every redelivery.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.domain.amendments import DocumentVersion as DocumentVersion
from gateway.storage.call_records import CallRegistry

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
    # Issue #17: a document marked for customs (a manifest for an unknown call, a correction
    # after arrival, a discharge discrepancy), and a manifest linked to its call.
    "flagged",
    "linked",
    # Issue #17: customs registered a manifest under an MRN.
    "registered",
    # Issue #18: what the travellers' desk decided (a TPD's new state, a declaration's
    # assessment), by reference, never by name.
    "decided",
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

    @property
    def relation(self) -> str:
        """What it is to its parent: ``replay of`` (an operator's replay, whose id the
        operators' tools derive from the original's), ``part of`` (a document made of an
        interchange, a dead letter of one of its messages), or "" (no parent)."""
        if not self.parent_id:
            return ""
        return "replay of" if self.message_id.startswith(f"{self.parent_id}~replay") else "part of"

    def to_json(self) -> dict[str, object]:
        return {
            "message_id": self.message_id,
            "type": self.type,
            "partner": self.partner,
            "correlation_id": self.correlation_id,
            "parent_id": self.parent_id,
            "relation": self.relation,
            "events": [{"status": e.status, "at": e.at, "detail": e.detail} for e in self.events],
        }


# `edigw track` (issue #19): so many messages matched by a reference prefix, and so many
# messages in the stories told of them, at most.
TRACK_LIMIT = 20
FAMILY_LIMIT = 500


class Tracked(list[MessageHistory]):
    """What ``Journal.track`` found; ``more``: more messages matched than were asked for."""

    def __init__(self, histories: Iterable[MessageHistory] = (), *, more: bool = False) -> None:
        super().__init__(histories)
        self.more = more


def like_prefix(reference: str) -> str:
    """A LIKE pattern (escape ``\\``) for what starts with ``reference``, in lower case.

    >>> like_prefix("MAN_1%")
    'man\\\\_1\\\\%%'
    """
    escaped = reference.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


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


@dataclass(frozen=True, slots=True)
class PartnerActivity:
    """What the operators' console shows of one partner (``Journal.partner_activity``)."""

    partner: str
    last_message_at: str  # "" when it never sent one
    messages: int  # inbound messages since the time asked about
    rejections: int  # rejected ones since then


# One event as the worker records it on completion: (message id, status, detail).
EventRow = tuple[str, str, str]


class Journal(CallRegistry, Protocol):
    """Everything a journal keeps: message history, idempotency, customs answers, versions
    of partner documents and (issue #17) the call registry (``call_records.CallRegistry``)."""

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

    def track(self, reference: str, *, limit: int = TRACK_LIMIT) -> Tracked: ...

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

    # --- the operators' console
    def partner_activity(self, since: str) -> list[PartnerActivity]: ...

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

    def ping(self) -> None:
        """One trivial read; JournalUnavailable when the journal cannot answer."""
        ...

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


# --- travellers (issue #18): TPDs, currency declarations, the sailings' passenger lists

#: A TPD's stored states. "overdue" is not stored: an open or extended TPD whose due date
#: has passed is overdue (computed against the day asked about, so never stale).
TPD_STATES = ("requested", "open", "extended", "discharged", "superseded")
TPD_IN = ("open", "extended")  # the vehicle is in the country


@dataclass(frozen=True, slots=True)
class Identity:
    """What matching needs of a person: names, birth date, identity document numbers."""

    family_name: str
    given_names: str = ""
    birth_date: str = ""  # ISO date, "" when unknown
    documents: tuple[str, ...] = ()


@dataclass(slots=True)
class TpdRecord:
    """One TPD as the journal keeps it (its people's names are personal data)."""

    reference: str
    vin: str
    registration: str
    registration_country: str
    state: str
    residence_status: str
    holder: Identity
    vessel: str  # the sailing's vessel, normalised (gateway.domain.sailing.vessel_key)
    sailing_date: dt.date
    port_of_entry: str
    message_id: str  # the canonical VehicleTemporaryAdmission
    inbound_id: str
    submitted_at: str
    co_travellers: tuple[Identity, ...] = ()
    entered_on: dt.date | None = None
    due_on: dt.date | None = None
    extensions: int = 0
    exited_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class TpdEventRecord:
    """A border post's event applied to a TPD, once per inbound message."""

    inbound_id: str
    reference: str
    event: str  # entry, exit, extension
    place: str
    happened_at: str  # ISO date-time with its zone, as the post sent it
    officer: str
    outcome: str  # what the event did: "opened", "discharged", "extended", "duplicate"
    post: str | None = None


@dataclass(slots=True)
class CurrencyRecord:
    """A currency declaration and its assessment (amounts as decimal strings)."""

    reference: str
    direction: str
    declarant: Identity
    residence_status: str
    amounts: tuple[tuple[str, str], ...]  # (currency, amount)
    total_eur: str
    threshold_eur: str
    required: bool
    exceeds_entry: bool
    rates_from: dt.date
    message_id: str
    inbound_id: str
    submitted_on: dt.date
    keep_from: dt.date  # retention counts from here: the sailing's date, else the submission's
    vessel: str = ""
    sailing_date: dt.date | None = None
    entry_reference: str | None = None


@dataclass(frozen=True, slots=True)
class SailingRecord:
    """One passenger list (PAXLST) of a sailing, as last received (an amendment replaces it)."""

    vessel: str  # normalised
    list_number: str  # the PAXLST's document number (BGM 1004)
    vessel_name: str  # as sent
    departure_date: dt.date | None
    arrival_date: dt.date | None
    port_of_departure: str | None
    port_of_entry: str | None
    vessel_imo: str | None
    message_id: str
    inbound_id: str
    version: int = 1

    @property
    def sailing_date(self) -> dt.date:
        """The date a sailing is known by: its departure, else its arrival."""
        day = self.departure_date or self.arrival_date
        assert day is not None, "a stored sailing has a date"
        return day


@dataclass(frozen=True, slots=True)
class PassengerRecord:
    """One traveller of a passenger list, with the vehicle they bring (if any)."""

    sequence: int
    role: str
    person: Identity
    vin: str | None = None
    registration: str | None = None
    registration_country: str | None = None
    make: str | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Erasure:
    """What ``erase_travellers`` removed (or would remove), per kind of record."""

    tpds: int = 0
    tpd_events: int = 0
    currency_declarations: int = 0
    passenger_lists: int = 0
    passengers: int = 0
    references: int = 0

    @property
    def total(self) -> int:
        return (
            self.tpds
            + self.tpd_events
            + self.currency_declarations
            + self.passenger_lists
            + self.passengers
        )


class TravellersJournal(Protocol):
    """The travellers' records (``gateway.storage.travellers_store``; both backends)."""

    def tpd(self, reference: str) -> TpdRecord | None: ...

    def tpds_for_vin(self, vin: str) -> list[TpdRecord]:
        """Every TPD of the vehicle, newest request first."""
        ...

    def tpds_for_vehicles(
        self, vins: Collection[str], plates: Collection[tuple[str, str]]
    ) -> list[TpdRecord]:
        """The TPDs (not superseded) of these VINs or (country, plate key) pairs."""
        ...

    def open_tpds_of_holders(self, documents: Collection[str]) -> list[TpdRecord]: ...

    def save_tpd(self, record: TpdRecord) -> None: ...

    def tpd_event(self, inbound_id: str) -> TpdEventRecord | None: ...

    def add_tpd_event(self, record: TpdEventRecord) -> None: ...

    def overdue_tpds(self, today: dt.date, *, limit: int = 10_000) -> list[TpdRecord]: ...

    def count_overdue_tpds(self, today: dt.date) -> int: ...

    def currency_declaration(self, reference: str) -> CurrencyRecord | None: ...

    def latest_entry_declaration(self, document: str) -> CurrencyRecord | None: ...

    def declarations_for(
        self,
        documents: Collection[str],
        vessel: str,
        days: Collection[dt.date],
        *,
        direction: str = "entry",
    ) -> list[CurrencyRecord]:
        """Declarations of ``direction`` (entry or exit) of these document numbers, or filed
        for that sailing."""
        ...

    def save_currency_declaration(self, record: CurrencyRecord) -> None: ...

    def save_passenger_list(
        self, sailing: SailingRecord, passengers: Sequence[PassengerRecord]
    ) -> int:
        """Keep (or replace) one passenger list; returns its version."""
        ...

    def cancel_passenger_list(self, vessel: str, list_number: str) -> bool: ...

    def passenger_lists(
        self, vessel: str, day: dt.date, *, held: str | None = None
    ) -> list[tuple[SailingRecord, list[PassengerRecord]]]:
        """The lists of the sailing that departed (or arrived) on ``day``; the passengers of
        list ``held`` (a document number) are not read: the caller holds them."""
        ...

    def sailings(self, *, since: dt.date | None = None, limit: int = 200) -> list[SailingRecord]:
        """The passenger lists kept, latest sailing first (the console's list of sailings)."""
        ...

    def next_list_version(self, vessel: str, day: dt.date, owner: str) -> int:
        """The version of the sailing's list that ``owner`` (an inbound message) makes: the
        next one, or the same again when ``owner`` made the last one (a redelivery)."""
        ...

    def unit_of_work(self) -> AbstractContextManager[None]: ...

    def erase_travellers(
        self, cutoff: dt.date, *, document: str | None = None, dry_run: bool = False
    ) -> Erasure:
        """Erase what retention no longer allows: TPDs discharged (or never used) and
        declarations and passenger lists whose date is before ``cutoff``; with ``document``,
        only that traveller's."""
        ...
