"""Travellers' decisions (issue #18): the TPD lifecycle, currency declarations, retention.

:class:`TravellersService` decides what a traveller's pre-declaration or a border post's
event does, records it in the journal (:class:`gateway.storage.records.TravellersJournal`)
and returns a :class:`Verdict`: accepted (with the TPD's or the declaration's state) or
refused with a reason code and a sentence. It publishes nothing; the desk
(``gateway.service.travellers_desk``) turns verdicts into signed receipts and dead letters.

The TPD lifecycle, one TPD per vehicle (VIN) at a time::

    requested --entry--> open --extension--> extended --exit--> discharged
        |                  \\________________________________/
        |                     past its due date: overdue (computed, not stored)
        +-- a newer request for the same VIN before entry: superseded

Every decision is idempotent per inbound message: a redelivery finds its own traces and
changes nothing. Logs carry the message id and a keyed hash of the traveller's document
number (:meth:`TravellersService.pseudonym`), never a name or a document number.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from gateway.domain.sailing import vessel_key
from gateway.domain.travellers import (
    Assessment,
    BorderEvent,
    CurrencyDeclaration,
    Person,
    VehicleTemporaryAdmission,
)
from gateway.domain.travellers_rules import (
    NoRate,
    NotAdmissible,
    Stay,
    TravellersPolicy,
    admission_due,
    assess_currency,
    extended_due,
)
from gateway.logs import get_logger
from gateway.storage.records import (
    TPD_IN,
    CurrencyRecord,
    Erasure,
    Identity,
    TpdEventRecord,
    TpdRecord,
    TravellersJournal,
)

log = get_logger()

#: Algeria keeps UTC+1 all year: a border event's day and "today" are Algiers days.
ALGIERS = dt.timezone(dt.timedelta(hours=1), "Africa/Algiers")


def today_in_algiers() -> dt.date:
    return dt.datetime.now(ALGIERS).date()


def local_day(moment: dt.datetime) -> dt.date:
    """The Algiers day of a moment (a border event, a submission)."""
    return moment.astimezone(ALGIERS).date()


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a message is refused: a reason code, a sentence, where (a JSON Pointer).

    ``replayable``: the same message may be accepted later, once what it needs has arrived
    (an exit before its entry, an entry before its TPD request); its dead letter says so.
    """

    reason: str
    sentence: str
    where: str = "/"
    replayable: bool = False


@dataclass(slots=True)
class Verdict:
    """What the service decided about one message."""

    reference: str  # the TPD's or the declaration's reference ("" when none was found)
    status: str  # requested, open, extended, discharged, required, not required, refused
    refusal: Refusal | None = None
    duplicate: bool = False  # the same message (or the same event) again: nothing changed
    due_on: dt.date | None = None
    notes: list[str] = field(default_factory=list)
    # Sailings (normalised vessel, date) whose pre-clearance list this changes (a late TPD
    # or declaration): the caller builds and sends them again.
    sailings: list[tuple[str, dt.date]] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.refusal is None


def _refused(
    reference: str, reason: str, sentence: str, *, where: str = "/", replayable: bool = False
) -> Verdict:
    return Verdict(reference, "refused", Refusal(reason, sentence, where, replayable))


def identity(person: Person) -> Identity:
    return Identity(
        person.family_name,
        person.given_names,
        person.birth_date.isoformat(),
        (person.document.number,),
    )


@dataclass(frozen=True, slots=True)
class OverdueVehicle:
    """A vehicle still in after its due date (no name: ``edigw track REF`` has the rest)."""

    reference: str
    vin: str
    registration: str
    registration_country: str
    entered_on: dt.date
    due_on: dt.date
    days_over: int
    extensions: int

    def to_json(self) -> dict[str, object]:
        return {
            "tpd": self.reference,
            "vin": self.vin,
            "registration": self.registration,
            "registration_country": self.registration_country,
            "entered_on": self.entered_on.isoformat(),
            "due_on": self.due_on.isoformat(),
            "days_over": self.days_over,
            "extensions": self.extensions,
        }


class TravellersService:
    """Decides TPD requests, border events and currency declarations against the journal."""

    def __init__(
        self,
        journal: TravellersJournal,
        policy: TravellersPolicy,
        *,
        pseudonym_key: bytes,
        today: Callable[[], dt.date] = today_in_algiers,
    ) -> None:
        self.journal = journal
        self.policy = policy
        self._key = pseudonym_key
        self.today = today

    def pseudonym(self, document_number: str) -> str:
        """A traveller's name in the logs: a keyed hash of their document number.

        Keyed (HMAC), because a passport number has too few digits for a plain hash to hide
        it; the same traveller has the same pseudonym in every line, so a search still works.
        """
        digest = hmac.new(self._key, document_number.encode("utf-8"), hashlib.sha256)
        return "h:" + digest.hexdigest()[:16]

    # ------------------------------------------------------------ TPD requests
    def request_tpd(self, doc: VehicleTemporaryAdmission, inbound_id: str) -> Verdict:
        """Record a TPD request (state ``requested``), or refuse it with a reason."""
        return self._logged(
            "tpd request", doc.header.message_id, doc.traveller, self._request(doc, inbound_id)
        )

    def _logged(self, what: str, document: str, person: Person, verdict: Verdict) -> Verdict:
        """Log a decision: the document's id and the person's pseudonym, never their name."""
        log.info(
            f"{what} decided",
            document=document,
            holder=self.pseudonym(person.document.number),
            status=verdict.status,
            reason=verdict.refusal.reason if verdict.refusal else None,
        )
        return verdict

    def _request(self, doc: VehicleTemporaryAdmission, inbound_id: str) -> Verdict:
        ref, vin = doc.reference, doc.vehicle.vin
        status = doc.traveller.residence_status or ""
        if status not in self.policy.terms:
            return _refused(
                ref,
                "TPD_NOT_ELIGIBLE",
                f"a {status or 'traveller without residence status'} cannot have a TPD",
                where="/traveller/residenceStatus",
            )
        existing = self.journal.tpd(ref)
        if existing is not None and existing.inbound_id == inbound_id:
            return Verdict(ref, existing.state, duplicate=True, due_on=existing.due_on)
        if existing is not None and existing.state != "requested":
            return _refused(
                ref,
                "TPD_ALREADY_USED",
                f"TPD {ref} is {existing.state} already: a request cannot change it",
                where="/reference",
            )
        others = [t for t in self.journal.tpds_for_vin(vin) if t.reference != ref]
        opened = next((t for t in others if t.state in TPD_IN), None)
        if opened is not None:
            return _refused(
                ref,
                "TPD_ALREADY_OPEN",
                f"vehicle {vin} is under TPD {opened.reference}, open since "
                f"{opened.entered_on}: one open TPD per vehicle",
                where="/vehicle/vin",
            )
        stays = [
            Stay(t.entered_on, t.exited_on)
            for t in others
            if t.state == "discharged" and t.entered_on and t.exited_on
        ]
        try:
            admission_due(status, doc.sailing.date, self.policy.terms, stays)
        except NotAdmissible as exc:
            return _refused(ref, exc.reason, exc.sentence, where="/vehicle/vin")
        verdict = Verdict(ref, "requested")
        for earlier in (t for t in others if t.state == "requested"):
            earlier.state = "superseded"
            self.journal.save_tpd(earlier)
            verdict.notes.append(f"replaces TPD request {earlier.reference}")
            verdict.sailings.append((earlier.vessel, earlier.sailing_date))
        record = TpdRecord(
            reference=ref,
            vin=vin,
            registration=doc.vehicle.registration,
            registration_country=doc.vehicle.registration_country,
            state="requested",
            residence_status=status,
            holder=identity(doc.traveller),
            co_travellers=tuple(identity(p) for p in doc.co_travellers),
            vessel=vessel_key(doc.sailing.vessel),
            sailing_date=doc.sailing.date,
            port_of_entry=doc.sailing.port_of_entry,
            message_id=doc.header.message_id,
            inbound_id=inbound_id,
            submitted_at=doc.submitted_at.isoformat(),
        )
        self.journal.save_tpd(record)
        verdict.sailings.append((record.vessel, record.sailing_date))
        verdict.sailings = self._listed(verdict.sailings)
        return verdict

    def _listed(self, sailings: list[tuple[str, dt.date]]) -> list[tuple[str, dt.date]]:
        """The sailings among ``sailings`` that have a passenger list (hence a list to redo)."""
        return [s for s in dict.fromkeys(sailings) if self.journal.passenger_lists(*s)]

    # ------------------------------------------------------------ border events
    def border_event(self, event: BorderEvent, inbound_id: str) -> Verdict:
        """Apply an entry, an extension or an exit to the vehicle's TPD, or refuse it."""
        seen = self.journal.tpd_event(inbound_id)
        if seen is not None:
            record = self.journal.tpd(seen.reference)
            state = record.state if record else seen.outcome
            return Verdict(seen.reference, state, duplicate=True)
        found = self._tpd_of(event)
        if isinstance(found, Verdict):
            verdict = found
        else:
            verdict = {
                "entry": self._entry,
                "extension": self._extension,
                "exit": self._exit,
            }[event.event](found, event)
            if verdict.accepted:
                self.journal.add_tpd_event(
                    TpdEventRecord(
                        inbound_id,
                        found.reference,
                        event.event,
                        event.place,
                        event.time.isoformat(),
                        event.officer,
                        "duplicate" if verdict.duplicate else verdict.status,
                        event.post,
                    )
                )
        log.info(
            "border event decided",
            kind=event.event,
            tpd=verdict.reference or None,
            status=verdict.status,
            reason=verdict.refusal.reason if verdict.refusal else None,
        )
        return verdict

    def _tpd_of(self, event: BorderEvent) -> TpdRecord | Verdict:
        """The TPD an event is about, or the refusal when there is none (or two disagree)."""
        if event.tpd is not None:
            record = self.journal.tpd(event.tpd)
            if record is None:
                return _refused(
                    event.tpd,
                    "TPD_UNKNOWN",
                    f"no TPD {event.tpd} is known (replay once its request has arrived)",
                    where="/tpd",
                    replayable=True,
                )
            if event.vin is not None and event.vin != record.vin:
                return _refused(
                    event.tpd,
                    "TPD_VIN_MISMATCH",
                    f"TPD {event.tpd} is for vehicle {record.vin}, not {event.vin}",
                    where="/vin",
                )
            return record
        vin = event.vin or ""
        candidates = [t for t in self.journal.tpds_for_vin(vin) if t.state != "superseded"]
        inside = next((t for t in candidates if t.state in TPD_IN), None)
        if inside is not None:
            return inside
        if event.event == "entry":
            waiting = next((t for t in candidates if t.state == "requested"), None)
            if waiting is not None:
                return waiting
            return _refused(
                "",
                "TPD_UNKNOWN",
                f"no TPD request for vehicle {vin} (replay once it has arrived)",
                where="/vin",
                replayable=True,
            )
        day = local_day(event.time)
        left = next((t for t in candidates if t.exited_on == day), None)
        if left is not None and event.event == "exit":
            return left  # the same exit recorded twice: _exit says "duplicate"
        return self._not_entered("", vin, event)

    @staticmethod
    def _not_entered(reference: str, vin: str, event: BorderEvent) -> Verdict:
        return _refused(
            reference,
            "TPD_NOT_ENTERED",
            f"vehicle {vin} has no open TPD: its entry was never recorded "
            f"(replay this {event.event} once the entry has arrived)",
            where="/vin" if event.tpd is None else "/tpd",
            replayable=True,
        )

    def _stays(self, record: TpdRecord) -> list[Stay]:
        return [
            Stay(t.entered_on, t.exited_on)
            for t in self.journal.tpds_for_vin(record.vin)
            if t.reference != record.reference
            and t.state == "discharged"
            and t.entered_on
            and t.exited_on
        ]

    def _entry(self, record: TpdRecord, event: BorderEvent) -> Verdict:
        day, ref = local_day(event.time), record.reference
        if record.state in TPD_IN:
            if record.entered_on == day:
                return Verdict(ref, record.state, duplicate=True, due_on=record.due_on)
            return _refused(
                ref,
                "TPD_ALREADY_OPEN",
                f"TPD {ref} is open since {record.entered_on}: the vehicle entered already",
            )
        if record.state != "requested":
            return _refused(ref, "TPD_CLOSED", f"TPD {ref} is {record.state}: it cannot open")
        inside = [t for t in self.journal.tpds_for_vin(record.vin) if t.state in TPD_IN]
        if inside:
            return _refused(
                ref,
                "TPD_ALREADY_OPEN",
                f"vehicle {record.vin} is under TPD {inside[0].reference} already",
                where="/vin",
            )
        try:
            due = admission_due(
                record.residence_status, day, self.policy.terms, self._stays(record)
            )
        except NotAdmissible as exc:
            return _refused(ref, exc.reason, exc.sentence)
        record.state, record.entered_on, record.due_on = "open", day, due
        self.journal.save_tpd(record)
        return Verdict(ref, "open", due_on=due)

    def _extension(self, record: TpdRecord, event: BorderEvent) -> Verdict:
        ref = record.reference
        if record.state not in TPD_IN or record.entered_on is None or record.due_on is None:
            return self._not_entered(ref, record.vin, event)
        wanted = event.extended_until
        assert wanted is not None  # the schema requires it for an extension
        if record.state == "extended" and wanted == record.due_on:
            return Verdict(ref, record.state, duplicate=True, due_on=record.due_on)
        try:
            longest = extended_due(
                record.residence_status, record.entered_on, record.extensions, self.policy.terms
            )
        except NotAdmissible as exc:
            return _refused(ref, exc.reason, exc.sentence, where="/extendedUntil")
        if wanted > longest:
            return _refused(
                ref,
                "TPD_EXTENSION_TOO_LONG",
                f"TPD {ref} may be extended to {longest} at most, not {wanted}",
                where="/extendedUntil",
            )
        if wanted <= record.due_on:
            return _refused(
                ref,
                "TPD_EXTENSION_NOT_LATER",
                f"TPD {ref} is due on {record.due_on} already; {wanted} is no extension",
                where="/extendedUntil",
            )
        record.state, record.due_on = "extended", wanted
        record.extensions += 1
        self.journal.save_tpd(record)
        return Verdict(ref, "extended", due_on=wanted)

    def _exit(self, record: TpdRecord, event: BorderEvent) -> Verdict:
        day, ref = local_day(event.time), record.reference
        if record.state == "discharged" and record.exited_on == day:
            return Verdict(ref, "discharged", duplicate=True, due_on=record.due_on)
        if record.state not in TPD_IN:
            return self._not_entered(ref, record.vin, event)
        record.state, record.exited_on = "discharged", day
        self.journal.save_tpd(record)
        verdict = Verdict(ref, "discharged", due_on=record.due_on)
        if record.due_on is not None and day > record.due_on:
            verdict.notes.append(f"left {(day - record.due_on).days} day(s) after its due date")
        return verdict

    # ------------------------------------------------------------ overdue vehicles
    def overdue(self, today: dt.date | None = None, *, limit: int = 10_000) -> list[OverdueVehicle]:
        """Vehicles still in after their due date, the longest overdue first."""
        day = today or self.today()
        return [
            OverdueVehicle(
                t.reference,
                t.vin,
                t.registration,
                t.registration_country,
                t.entered_on or t.sailing_date,
                t.due_on,
                (day - t.due_on).days,
                t.extensions,
            )
            for t in self.journal.overdue_tpds(day, limit=limit)
            if t.due_on is not None
        ]

    # ------------------------------------------------------------ currency declarations
    def declare_currency(self, doc: CurrencyDeclaration, inbound_id: str) -> Verdict:
        """Assess a declaration (``doc.assessment`` is set) and record it, or refuse it."""
        verdict = self._declare(doc, inbound_id)
        return self._logged("currency declaration", doc.header.message_id, doc.declarant, verdict)

    def _declare(self, doc: CurrencyDeclaration, inbound_id: str) -> Verdict:
        ref = doc.reference
        existing = self.journal.currency_declaration(ref)
        if existing is not None:
            if existing.inbound_id != inbound_id:
                return _refused(
                    ref,
                    "DECLARATION_ALREADY_FILED",
                    f"currency declaration {ref} was filed already (message "
                    f"{existing.inbound_id}); a new one needs a new reference",
                    where="/reference",
                )
            doc.assessment = _assessment(existing)
            return Verdict(ref, _required(existing.required), duplicate=True)
        status = doc.declarant.residence_status or ""
        entry, notes = self._entry_declaration(doc)
        day = local_day(doc.submitted_at)
        try:
            verdict = assess_currency(
                [(a.currency, a.amount) for a in doc.amounts],
                status,
                doc.direction,
                day,
                self.policy,
                None if entry is None else [(c, Decimal(a)) for c, a in entry.amounts],
            )
        except NoRate as exc:
            # The configuration lacks a rate: replayable once an operator has added it.
            return _refused(
                ref, "CURRENCY_RATE_MISSING", str(exc), where="/amounts", replayable=True
            )
        doc.assessment = Assessment(
            verdict.total_eur,
            verdict.threshold_eur,
            verdict.required,
            verdict.rates_from,
            verdict.exceeds_entry,
        )
        sailing = doc.itinerary.sailing if doc.itinerary else None
        record = CurrencyRecord(
            reference=ref,
            direction=doc.direction,
            declarant=identity(doc.declarant),
            residence_status=status,
            amounts=tuple((a.currency, format(a.amount, "f")) for a in doc.amounts),
            total_eur=format(verdict.total_eur, "f"),
            threshold_eur=format(verdict.threshold_eur, "f"),
            required=verdict.required,
            exceeds_entry=verdict.exceeds_entry,
            rates_from=verdict.rates_from,
            message_id=doc.header.message_id,
            inbound_id=inbound_id,
            submitted_on=day,
            keep_from=max(day, sailing.date) if sailing else day,
            vessel=vessel_key(sailing.vessel) if sailing else "",
            sailing_date=sailing.date if sailing else None,
            entry_reference=entry.reference if entry else doc.entry_declaration_reference,
        )
        self.journal.save_currency_declaration(record)
        result = Verdict(ref, _required(verdict.required), notes=notes)
        if verdict.exceeds_entry:
            result.notes.append(
                f"EXCEEDS_ENTRY: EUR {verdict.total_eur} out, above the entry declaration "
                f"{record.entry_reference}: for the officer"
            )
        if sailing is not None and doc.direction == "entry":
            result.sailings = self._listed([(record.vessel, sailing.date)])
        return result

    def _entry_declaration(
        self, doc: CurrencyDeclaration
    ) -> tuple[CurrencyRecord | None, list[str]]:
        """On an exit: the declaration made on entry (named, else the declarant's latest)."""
        if doc.direction != "exit":
            return None, []
        named = doc.entry_declaration_reference
        if named:
            entry = self.journal.currency_declaration(named)
            if entry is None or entry.direction != "entry":
                return None, [f"entry declaration {named} is not known: nothing to compare"]
            return entry, []
        return self.journal.latest_entry_declaration(doc.declarant.document.number), []

    # ------------------------------------------------------------ retention
    def retention_cutoff(self, today: dt.date | None = None) -> dt.date:
        """What was last used before this day is past retention (``retention_days``)."""
        return (today or self.today()) - dt.timedelta(days=self.policy.retention_days)

    def forget(
        self, *, document: str | None = None, dry_run: bool = False, today: dt.date | None = None
    ) -> Erasure:
        """Erase the travellers' data past retention (``[travellers] retention_days``)."""
        cutoff = self.retention_cutoff(today)
        erased = self.journal.erase_travellers(cutoff, document=document, dry_run=dry_run)
        log.info(
            "travellers' data past retention" + (" (dry run)" if dry_run else " erased"),
            before=cutoff.isoformat(),
            holder=None if document is None else self.pseudonym(document),
            tpds=erased.tpds,
            declarations=erased.currency_declarations,
            passenger_lists=erased.passenger_lists,
            passengers=erased.passengers,
        )
        return erased


def _required(required: bool) -> str:
    return "required" if required else "not required"


def _assessment(record: CurrencyRecord) -> Assessment:
    return Assessment(
        Decimal(record.total_eur),
        Decimal(record.threshold_eur),
        record.required,
        record.rates_from,
        record.exceeds_entry,
    )
