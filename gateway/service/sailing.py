"""A sailing's pre-clearance list (issue #18): every vehicle on the ferry matched to its TPD.

When a ferry line's passenger list (a canonical ``PassengerVehicleList`` from PAXLST) arrives,
:func:`passenger_list_arrived` keeps its travellers in the journal (an amendment, BGM 5,
replaces the list of the same document number; a cancellation, BGM 1, removes it) and builds
the sailing's :class:`~gateway.domain.sailing.SailingClearanceList`. A TPD or a currency
declaration that arrives later for a listed sailing makes it be built again
(:func:`lists_for`, with the sailings a :class:`~gateway.service.travellers.Verdict` names).

Each vehicle is matched to a TPD by its VIN, else by its plate and country:

* **ready**: a pre-declared TPD (state ``requested``) whose holder is the traveller the
  vehicle is listed with, same plate, same VIN; a vehicle registered in Algeria needs none;
* **to see**: a TPD was found but its holder, plate or VIN differ from the list, or the
  vehicle (or the traveller) is under an open TPD already (it never left);
* **missing**: no TPD.

A **departure** (a ferry leaving an Algerian port for a foreign one,
:func:`~gateway.domain.sailing.direction_of`) is the other way round: each vehicle is matched
to the TPD it is under (``open`` or ``extended``), to be discharged as it leaves. It is
**ready** when that TPD's holder, plate and VIN agree, **to see** when no TPD is open for it
or they differ; each traveller is matched to their **exit** currency declaration, with the
flag of an exit above what was declared on entry.

Every traveller is matched to the currency declaration they filed for entry (by document
number, else by name, first given name and birth date). Everything is read in a few
queries, whatever the number of travellers: the list of a 1,500-traveller sailing is one
pass over it (``bench/bench_sailing.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from gateway.domain.model import Header, PassengerVehicleList, Source
from gateway.domain.sailing import (
    GROUPS,
    HOME_COUNTRY,
    Finding,
    ListedDeclaration,
    ListedVehicle,
    SailingClearanceList,
    direction_of,
    list_reference,
    name_key,
    plate_key,
    vessel_key,
)
from gateway.logs import get_logger
from gateway.storage.records import (
    TPD_IN,
    CurrencyRecord,
    Identity,
    PassengerRecord,
    SailingRecord,
    TpdRecord,
    TravellersJournal,
    derived_id,
)

log = get_logger()
SENDER = "edigw"  # the gateway itself builds the list
# The travellers' document numbers (``in`` is all that is asked of them).
Documents = Mapping[str, None]
# A finding that puts a vehicle "to see"; any other is a note on a ready vehicle.
TO_SEE = frozenset(
    {"HOLDER_MISMATCH", "PLATE_MISMATCH", "VIN_MISMATCH", "OPEN_TPD_ELSEWHERE", "NO_OPEN_TPD"}
)


# ---------------------------------------------------------------- the passenger list


def sailing_of(plist: PassengerVehicleList, inbound_id: str) -> SailingRecord | None:
    """The sailing a passenger list is for, or None when it names no vessel or no date."""
    conveyance = plist.conveyance
    name = conveyance.name or conveyance.call_sign or conveyance.imo_number
    departure = plist.departure_time.date() if plist.departure_time else None
    arrival = plist.arrival_time.date() if plist.arrival_time else None
    if not name or not vessel_key(name) or (departure is None and arrival is None):
        return None
    return SailingRecord(
        vessel=vessel_key(name),
        list_number=plist.document_number,
        vessel_name=name,
        departure_date=departure,
        arrival_date=arrival,
        port_of_departure=plist.port_of_departure,
        port_of_entry=plist.port_of_call,
        vessel_imo=conveyance.imo_number,
        message_id=plist.header.message_id,
        inbound_id=inbound_id,
    )


def passengers_of(plist: PassengerVehicleList) -> list[PassengerRecord]:
    """The travellers of a list as the journal keeps them (what matching needs, no more)."""
    out = []
    for t in plist.travellers:
        v = t.vehicle
        out.append(
            PassengerRecord(
                sequence=t.sequence,
                role=t.role,
                person=Identity(
                    t.family_name,
                    t.given_names or "",
                    t.birth_date.isoformat() if t.birth_date else "",
                    tuple(d.number for d in t.documents),
                ),
                vin=v.vin if v else None,
                registration=v.registration_number if v else None,
                registration_country=v.registration_country if v else None,
                make=v.make if v else None,
                model=v.model if v else None,
            )
        )
    return out


def passenger_list_arrived(
    journal: TravellersJournal, plist: PassengerVehicleList, inbound_id: str
) -> SailingClearanceList | None:
    """Keep a PAXLST's travellers and build its sailing's list to send to customs.

    None when the list names no vessel or date (it is routed as ever, but no sailing can be
    told from it), or when a cancellation leaves the sailing without any list.
    """
    sailing = sailing_of(plist, inbound_id)
    if sailing is None:
        log.warning(
            "passenger list without vessel or date: no pre-clearance list",
            document=plist.header.message_id,
        )
        return None
    if plist.header.function == "cancel":
        journal.cancel_passenger_list(sailing.vessel, sailing.list_number)
        return build_list(journal, sailing.vessel, sailing.sailing_date, owner=inbound_id)
    passengers = passengers_of(plist)
    journal.save_passenger_list(sailing, passengers)
    # The list's own passengers as they are, not read back: they share the passenger
    # list's strings, a copy from the journal would not (3x the PAXLST, issue #18).
    return build_list(
        journal,
        sailing.vessel,
        sailing.sailing_date,
        owner=inbound_id,
        held=(sailing.list_number, passengers),
    )


def lists_for(
    journal: TravellersJournal, sailings: Iterable[tuple[str, dt.date]], owner: str
) -> list[SailingClearanceList]:
    """The lists to send again for these sailings (a late TPD or declaration, the inbound
    message ``owner``, changed them)."""
    out = []
    for vessel, day in dict.fromkeys(sailings):
        built = build_list(journal, vessel, day, owner=owner)
        if built is not None:
            out.append(built)
    return out


# ---------------------------------------------------------------- matching


def _same_person(a: Identity, b: Identity) -> bool:
    """A document number in common; else the same family name, first given name and birth
    date. A dual national may show the ferry line one passport and the portal another."""
    if set(a.documents) & set(b.documents):
        return True
    if name_key(a.family_name) != name_key(b.family_name):
        return False
    given_a, given_b = name_key(a.given_names).split(), name_key(b.given_names).split()
    if given_a and given_b and given_a[0] != given_b[0]:
        return False
    return not (a.birth_date and b.birth_date and a.birth_date != b.birth_date)


class _Index:
    """The TPDs and travellers of one sailing, looked up by VIN, plate, document, name."""

    def __init__(
        self,
        passengers: Sequence[PassengerRecord],
        documents: Documents,
        tpds: Sequence[TpdRecord],
        open_of_holders: Sequence[TpdRecord],
    ) -> None:
        self.passengers, self.documents = passengers, documents
        by_vin: dict[str, list[TpdRecord]] = defaultdict(list)
        by_plate: dict[str, list[TpdRecord]] = defaultdict(list)
        for t in {t.reference: t for t in tpds}.values():
            by_vin[t.vin].append(t)
            by_plate[plate_key(t.registration)].append(t)
        # Tuples: a VIN or plate has one TPD, held without a list's room for more.
        self.by_vin = {k: tuple(v) for k, v in by_vin.items()}
        self.by_plate = {k: tuple(v) for k, v in by_plate.items()}
        del by_vin, by_plate
        self.open_by_holder: dict[str, list[TpdRecord]] = defaultdict(list)
        for t in open_of_holders:
            for d in t.holder.documents:
                self.open_by_holder[d].append(t)

    def on_board(self, person: Identity) -> bool:
        """Whether ``person`` travels on the sailing (asked only of a mismatched holder:
        a scan, rather than an index of every traveller's name kept for the rare case)."""
        if any(d in self.documents for d in person.documents):
            return True
        key = (name_key(person.family_name), person.birth_date)
        return any(
            (name_key(p.person.family_name), p.person.birth_date) == key for p in self.passengers
        )

    def by_plate_of(self, p: PassengerRecord) -> list[TpdRecord]:
        if not p.registration:
            return []
        return [
            t
            for t in self.by_plate.get(plate_key(p.registration), ())
            if not p.registration_country or t.registration_country == p.registration_country
        ]


def _pick(candidates: Sequence[TpdRecord]) -> TpdRecord | None:
    """The TPD a vehicle is matched to: its pre-declaration, else the one it is under."""
    for wanted in ("requested", "open", "extended"):
        found = next((t for t in candidates if t.state == wanted), None)
        if found is not None:
            return found
    return None


def _text(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else None


def _listed(p: PassengerRecord) -> ListedVehicle:
    """A vehicle of the list as the passenger list gives it, not matched yet (``missing``)."""
    return ListedVehicle(
        group="missing",
        traveller_sequence=p.sequence,
        family_name=p.person.family_name[:70],
        given_names=_text(p.person.given_names, 70),
        document_number=_text(p.person.documents[0] if p.person.documents else None, 35),
        vin=_text(p.vin, 35),
        registration=_text(p.registration, 35),
        registration_country=p.registration_country,
        make=_text(p.make, 35),
        model=_text(p.model, 35),
    )


def _without_tpd(p: PassengerRecord, listed: ListedVehicle, code: str, sentence: str) -> None:
    """No TPD for the vehicle: no identifier to look for one, registered at home (none
    needed), or ``code`` (the direction's finding)."""
    if not p.vin and not p.registration:
        listed.findings.append(
            Finding("NO_VEHICLE_IDENTIFIER", "the list gives neither VIN nor plate")
        )
    elif p.registration_country == HOME_COUNTRY:
        listed.group = "ready"
        listed.findings.append(Finding("NO_TPD_NEEDED", "registered in Algeria: no TPD needed"))
    else:
        listed.group = "missing" if code == "NO_TPD" else "to_see"
        listed.findings.append(Finding(code, sentence))


def _differences(p: PassengerRecord, tpd: TpdRecord, found_by: str, index: _Index) -> list[Finding]:
    """What the list says that the TPD does not: its holder, another TPD of the traveller
    still open, the plate or the VIN (the one of the two it was not found by)."""
    findings = []
    if not _same_person(p.person, tpd.holder):
        where = "travels on this sailing" if index.on_board(tpd.holder) else "is not on the list"
        findings.append(
            Finding(
                "HOLDER_MISMATCH",
                f"the TPD's holder {where}; the vehicle is listed with another traveller",
            )
        )
    for other in (t for d in p.person.documents for t in index.open_by_holder.get(d, [])):
        if other.vin != tpd.vin:
            findings.append(
                Finding(
                    "OPEN_TPD_ELSEWHERE",
                    f"the traveller holds TPD {other.reference} for another vehicle, still open",
                )
            )
            break
    if (
        found_by == "vin"
        and p.registration
        and plate_key(p.registration) != plate_key(tpd.registration)
    ):
        findings.append(Finding("PLATE_MISMATCH", "the plate on the list is not the TPD's plate"))
    if (
        found_by == "vin"
        and p.registration_country
        and (p.registration_country != tpd.registration_country)
    ):
        findings.append(
            Finding("PLATE_MISMATCH", "the registration country on the list is not the TPD's")
        )
    if found_by == "plate" and p.vin and p.vin != tpd.vin:
        findings.append(Finding("VIN_MISMATCH", "the VIN on the list is not the TPD's VIN"))
    return findings


def _for_sailing(tpd: TpdRecord, vessel: str, days: Sequence[dt.date]) -> bool:
    return tpd.vessel == vessel and tpd.sailing_date in days


def _grouped(listed: ListedVehicle) -> ListedVehicle:
    listed.group = "to_see" if any(f.code in TO_SEE for f in listed.findings) else "ready"
    return listed


def match_vehicle(
    p: PassengerRecord, index: _Index, vessel: str, days: Sequence[dt.date]
) -> ListedVehicle:
    """One vehicle of an arriving sailing, in its group, with what was found about it."""
    listed = _listed(p)
    by_vin = [t for t in index.by_vin.get(p.vin or "", ()) if t.state != "discharged"]
    tpd = _pick(by_vin)
    found_by = "vin"
    if tpd is None:
        tpd, found_by = _pick([t for t in index.by_plate_of(p) if t.state != "discharged"]), "plate"
    if tpd is None:
        _without_tpd(p, listed, "NO_TPD", "no TPD pre-declared for this VIN or plate")
        return listed
    listed.tpd_reference, listed.tpd_state = tpd.reference[:35], tpd.state
    findings = listed.findings
    # Open under the TPD pre-declared for this very sailing: it entered as it docked (the
    # list seen after the border post's entry), not on an earlier stay it never ended.
    inside = next(
        (t for t in by_vin if t.state in TPD_IN and not _for_sailing(t, vessel, days)), None
    )
    if inside is not None:
        findings.append(
            Finding(
                "OPEN_TPD_ELSEWHERE",
                f"the vehicle is under TPD {inside.reference}, open since {inside.entered_on}: "
                "it never left",
            )
        )
    findings += _differences(p, tpd, found_by, index)
    if tpd.state == "requested" and not _for_sailing(tpd, vessel, days):
        findings.append(
            Finding("OTHER_SAILING", f"pre-declared for the sailing of {tpd.sailing_date}")
        )
    return _grouped(listed)


def match_leaving_vehicle(p: PassengerRecord, index: _Index, day: dt.date) -> ListedVehicle:
    """One vehicle of a departing sailing: the TPD it is under, ready to be discharged as it
    leaves (``day``, the departure); to see when none is open or it names another holder,
    plate or VIN. A vehicle past its due date is noted (``LEAVES_LATE``), not held back:
    letting it leave is what the TPD asks."""
    listed = _listed(p)
    tpd, found_by = (
        _pick([t for t in index.by_vin.get(p.vin or "", ()) if t.state in TPD_IN]),
        "vin",
    )
    if tpd is None:
        inside = [t for t in index.by_plate_of(p) if t.state in TPD_IN]
        tpd, found_by = _pick(inside), "plate"
    if tpd is None:
        _without_tpd(
            p,
            listed,
            "NO_OPEN_TPD",
            "no TPD open for this VIN or plate: it entered under none, or was discharged",
        )
        return listed
    listed.tpd_reference, listed.tpd_state = tpd.reference[:35], tpd.state
    listed.findings += _differences(p, tpd, found_by, index)
    if tpd.due_on is not None and tpd.due_on < day:
        listed.findings.append(
            Finding(
                "LEAVES_LATE",
                f"due on {tpd.due_on}: leaves {(day - tpd.due_on).days} day(s) after it",
            )
        )
    return _grouped(listed)


def _name_of(person: Identity) -> tuple[str, str, str]:
    """Family name, first given name, birth date: who a traveller is without a document."""
    given = name_key(person.given_names).split()
    return name_key(person.family_name), given[0] if given else "", person.birth_date


def match_declarations(
    passengers: Sequence[PassengerRecord],
    declarations: Sequence[CurrencyRecord],
    vessel: str,
    days: Sequence[dt.date],
) -> tuple[list[ListedDeclaration], int]:
    """Each traveller's declaration (of the sailing's direction: the journal gives entry or
    exit ones); and how many of this sailing's matched nobody."""
    by_document: dict[str, CurrencyRecord] = {}
    by_name: dict[tuple[str, str, str], CurrencyRecord] = {}
    for d in sorted(declarations, key=lambda d: d.submitted_on):  # the latest wins
        for number in d.declarant.documents:
            by_document[number] = d
        by_name[_name_of(d.declarant)] = d
    travellers = [p for p in passengers if p.role != "crew"]
    found: dict[int, CurrencyRecord] = {}
    for i, p in enumerate(travellers):
        match = next((by_document[n] for n in p.person.documents if n in by_document), None)
        if match is not None:
            found[i] = match
    # Then by name and birth date, for whoever the documents did not match, with a
    # declaration no one else took: a traveller may show the ferry line another passport.
    used = {d.reference for d in found.values()}
    for i, p in enumerate(travellers):
        match = by_name.get(_name_of(p.person)) if i not in found and p.person.birth_date else None
        if match is not None and match.reference not in used:
            found[i] = match
            used.add(match.reference)
    listed = []
    for i in sorted(found):
        p, found_declaration = travellers[i], found[i]
        listed.append(
            ListedDeclaration(
                traveller_sequence=p.sequence,
                family_name=p.person.family_name[:70],
                given_names=_text(p.person.given_names, 70),
                document_number=_text(p.person.documents[0] if p.person.documents else None, 35),
                reference=found_declaration.reference,
                required=found_declaration.required,
                total_eur=Decimal(found_declaration.total_eur),
                exceeds_entry=found_declaration.exceeds_entry,
            )
        )
    unmatched = sum(
        1
        for d in declarations
        if d.reference not in used and d.vessel == vessel and d.sailing_date in days
    )
    return listed, unmatched


def _vehicles(
    journal: TravellersJournal,
    passengers: Sequence[PassengerRecord],
    documents: Documents,
    vessel: str,
    days: Sequence[dt.date],
    *,
    departs: dt.date | None = None,
) -> list[ListedVehicle]:
    """The sailing's vehicles matched and sorted, exceptions first; a departure's (the day
    it ``departs``) to the TPDs they are under. Its own function so that the TPD rows and
    their index are let go before the declarations are read (issue #18's memory budget)."""
    with_vehicle = [p for p in passengers if p.vin or p.registration]
    tpds = journal.tpds_for_vehicles({p.vin for p in with_vehicle if p.vin}, ())
    # By plate only the vehicles no TPD names by VIN (most are found by it: fewer rows).
    known = {t.vin for t in tpds}
    plates = {
        (p.registration_country or "", p.registration)
        for p in with_vehicle
        if p.registration and p.vin not in known
    }
    if plates:
        tpds += journal.tpds_for_vehicles((), plates)
    index = _Index(passengers, documents, tpds, journal.open_tpds_of_holders(documents))
    if departs is not None:
        vehicles = [match_leaving_vehicle(p, index, departs) for p in with_vehicle]
    else:
        vehicles = [match_vehicle(p, index, vessel, days) for p in with_vehicle]
    order = {g: i for i, g in enumerate(GROUPS)}
    vehicles.sort(key=lambda v: (order[v.group], v.traveller_sequence))
    return vehicles


def build_list(
    journal: TravellersJournal,
    vessel: str,
    day: dt.date,
    *,
    owner: str | None,
    held: tuple[str, list[PassengerRecord]] | None = None,
) -> SailingClearanceList | None:
    """The list of the sailing of ``vessel`` (normalised) that departed on ``day``.

    With ``owner`` (the inbound message that changed the sailing): a list to send, numbered
    by the journal (the first ``original``, the next ones ``replace`` it) and identified by
    an id derived from ``owner`` (a redelivery makes the same list). Without: a list to show
    (``edigw travellers sailing``), version 1, which takes no number from the journal.
    ``held``: a list's document number and its passengers, as just saved (not read again).
    """
    held_number, held_passengers = held if held is not None else (None, [])
    lists = journal.passenger_lists(vessel, day, held=held_number)
    if not lists:
        return None
    sailings = [s for s, _ in lists]
    passengers = [
        p for s, ps in lists for p in (held_passengers if s.list_number == held_number else ps)
    ]
    days = sorted({d for s in sailings for d in (s.departure_date, s.arrival_date) if d})
    first = sailings[0]
    direction = direction_of(first.port_of_departure, first.port_of_entry)
    # A dict as the set of the travellers' documents: 1,500 of them in a third of a set's
    # room (a set keeps its table at most 60 % full, grown fourfold: 8,192 slots).
    documents: Documents = dict.fromkeys(d for p in passengers for d in p.person.documents)
    departs = day if direction == "departure" else None
    vehicles = _vehicles(journal, passengers, documents, vessel, days, departs=departs)
    filed = journal.declarations_for(
        documents, vessel, days, direction="exit" if direction == "departure" else "entry"
    )
    declarations, unmatched = match_declarations(passengers, filed, vessel, days)
    number = 1 if owner is None else journal.next_list_version(vessel, day, owner)
    ids = ",".join(s.message_id for s in sailings)
    doc = SailingClearanceList(
        header=Header.new(
            sender=SENDER,
            document_type=SailingClearanceList.DOCUMENT_TYPE,
            business_reference=list_reference(vessel, day),
            function="original" if number == 1 else "replace",
            document_version=number,
            payload_hash=hashlib.sha256(ids.encode()).hexdigest(),
            source=Source(format="PassengerVehicleList", message_type="PAXLST"),
        ),
        vessel=first.vessel_name[:70],
        vessel_imo=first.vessel_imo,
        sailing_date=day,
        port_of_departure=first.port_of_departure,
        port_of_entry=first.port_of_entry,
        direction=direction,
        built_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        traveller_count=len(passengers),
        passenger_lists=[s.list_number[:35] for s in sailings],
        vehicles=vehicles,
        declarations=declarations,
        unmatched_declarations=unmatched,
    )
    if owner is not None:
        doc.header.message_id = derived_id(owner, f"scl/{vessel}/{day.isoformat()}")
    # A list to send is an event; one to show (the CLI, a console page polled every few
    # seconds) is not worth an info line each time.
    (log.info if owner is not None else log.debug)(
        "sailing list built",
        list=doc.header.business_reference,
        direction=direction,
        version=number,
        travellers=len(passengers),
        **doc.counts(),
    )
    return doc
