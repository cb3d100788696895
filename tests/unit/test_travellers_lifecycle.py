"""The TPD lifecycle and the currency rules, decided by the travellers' service (issue #18).

An in-memory SQLite journal (the real SQL, no broker): requested -> open (entry) -> extended
-> discharged (exit), or overdue; one open TPD per VIN; durations by residence status from
the configuration; currency thresholds in euro with the dated rate table; retention.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest

from gateway.config import load
from gateway.domain.travellers_rules import TravellersPolicy
from gateway.service.travellers import TravellersService
from gateway.storage.journal import SqliteJournal
from tests.travellers_data import border, currency, tpd, us_vin, vin

TODAY = dt.date(2026, 7, 20)


@pytest.fixture
def journal() -> Iterator[SqliteJournal]:
    j = SqliteJournal(":memory:")
    yield j
    j.close()


def policy(**overrides: object) -> TravellersPolicy:
    section = load(env={}).config.travellers.model_dump(exclude_unset=True)
    section.update(overrides)
    return TravellersPolicy.from_mapping(section)


@pytest.fixture
def service(journal: SqliteJournal) -> TravellersService:
    return TravellersService(journal, policy(), pseudonym_key=b"k" * 32, today=lambda: TODAY)


# ---------------------------------------------------------------- the lifecycle


def test_entry_opens_the_tpd_with_its_due_date_and_exit_discharges_it(
    service: TravellersService, journal: SqliteJournal
) -> None:
    requested = service.request_tpd(tpd("TPD-1"), "in-1")
    assert (requested.accepted, requested.status) == (True, "requested")
    entered = service.border_event(border("entry", tpd_ref="TPD-1"), "in-2")
    # A non-resident national: 6 months within 12, entering on 15 July.
    assert (entered.status, entered.due_on) == ("open", dt.date(2027, 1, 15))
    left = service.border_event(
        border("exit", vehicle_vin=vin(1), time="2026-08-30T18:05:00+01:00"), "in-3"
    )
    assert (left.status, left.reference, left.notes) == ("discharged", "TPD-1", [])
    record = journal.tpd("TPD-1")
    assert record is not None
    assert (record.state, record.entered_on, record.exited_on) == (
        "discharged",
        dt.date(2026, 7, 15),
        dt.date(2026, 8, 30),
    )


def test_a_second_request_while_one_is_open_is_refused_with_a_reason(
    service: TravellersService,
) -> None:
    service.request_tpd(tpd("TPD-1"), "in-1")
    service.border_event(border("entry", tpd_ref="TPD-1"), "in-2")
    second = service.request_tpd(tpd("TPD-2"), "in-3")
    assert second.refusal is not None
    assert (second.refusal.reason, second.refusal.where) == ("TPD_ALREADY_OPEN", "/vehicle/vin")
    assert "TPD-1" in second.refusal.sentence and not second.refusal.replayable


def test_a_newer_request_before_entry_supersedes_the_older(
    service: TravellersService, journal: SqliteJournal
) -> None:
    service.request_tpd(tpd("TPD-1"), "in-1")
    newer = service.request_tpd(tpd("TPD-2", day=dt.date(2026, 7, 16)), "in-2")
    assert newer.accepted and newer.notes == ["replaces TPD request TPD-1"]
    old = journal.tpd("TPD-1")
    assert old is not None and old.state == "superseded"
    entered = service.border_event(border("entry", vehicle_vin=vin(1)), "in-3")
    assert entered.reference == "TPD-2"


def test_a_redelivered_request_or_event_changes_nothing(service: TravellersService) -> None:
    service.request_tpd(tpd("TPD-1"), "in-1")
    again = service.request_tpd(tpd("TPD-1"), "in-1")
    assert again.accepted and again.duplicate
    first = service.border_event(border("entry", tpd_ref="TPD-1"), "in-2")
    redelivered = service.border_event(border("entry", tpd_ref="TPD-1"), "in-2")
    assert redelivered.duplicate and redelivered.status == first.status == "open"
    # The same entry sent twice by the post (another message): accepted, nothing changes.
    twice = service.border_event(border("entry", tpd_ref="TPD-1"), "in-3")
    assert twice.duplicate and twice.due_on == first.due_on


def test_exit_of_a_vehicle_never_entered_is_refused_and_replayable_after_the_entry(
    service: TravellersService,
) -> None:
    service.request_tpd(tpd("TPD-1"), "in-1")
    exit_event = border("exit", vehicle_vin=vin(1), time="2026-08-30T18:05:00+01:00")
    refused = service.border_event(exit_event, "in-exit")
    assert refused.refusal is not None
    assert (refused.refusal.reason, refused.refusal.replayable) == ("TPD_NOT_ENTERED", True)
    service.border_event(border("entry", vehicle_vin=vin(1)), "in-entry")
    # The operator replays the dead letter: the same message, accepted now.
    replayed = service.border_event(exit_event, "in-exit")
    assert (replayed.accepted, replayed.status) == (True, "discharged")


def test_an_entry_without_any_tpd_request_is_refused_replayable(
    service: TravellersService,
) -> None:
    refused = service.border_event(border("entry", vehicle_vin=vin(9)), "in-1")
    assert refused.refusal is not None
    assert (refused.refusal.reason, refused.refusal.replayable) == ("TPD_UNKNOWN", True)
    unknown = service.border_event(border("entry", tpd_ref="TPD-404"), "in-2")
    assert unknown.refusal is not None and unknown.refusal.where == "/tpd"


def test_an_event_whose_vin_is_not_its_tpds_is_refused(service: TravellersService) -> None:
    service.request_tpd(tpd("TPD-1"), "in-1")
    refused = service.border_event(border("entry", tpd_ref="TPD-1", vehicle_vin=vin(2)), "in-2")
    assert refused.refusal is not None and refused.refusal.reason == "TPD_VIN_MISMATCH"


def test_residents_get_no_tpd(service: TravellersService) -> None:
    refused = service.request_tpd(tpd("TPD-1", status="resident"), "in-1")
    assert refused.refusal is not None
    assert (refused.refusal.reason, refused.refusal.where) == (
        "TPD_NOT_ELIGIBLE",
        "/traveller/residenceStatus",
    )


def test_a_foreigner_is_extended_once_to_six_months_not_twice(
    service: TravellersService,
) -> None:
    service.request_tpd(tpd("TPD-F", status="foreign_national", vehicle_vin=us_vin(7)), "in-1")
    entered = service.border_event(border("entry", tpd_ref="TPD-F"), "in-2")
    assert entered.due_on == dt.date(2026, 10, 15)  # 3 months
    too_long = service.border_event(
        border("extension", tpd_ref="TPD-F", until=dt.date(2027, 2, 1)), "in-3"
    )
    assert too_long.refusal is not None and too_long.refusal.reason == "TPD_EXTENSION_TOO_LONG"
    extended = service.border_event(
        border("extension", tpd_ref="TPD-F", until=dt.date(2027, 1, 15)), "in-4"
    )
    assert (extended.status, extended.due_on) == ("extended", dt.date(2027, 1, 15))
    again = service.border_event(
        border("extension", tpd_ref="TPD-F", until=dt.date(2027, 1, 20)), "in-5"
    )
    assert again.refusal is not None and again.refusal.reason == "TPD_NO_EXTENSION"


def test_an_overstay_appears_in_overdue_from_the_day_after_its_due_date(
    service: TravellersService,
) -> None:
    service.request_tpd(tpd("TPD-F", status="foreign_national", vehicle_vin=us_vin(7)), "in-1")
    service.border_event(border("entry", tpd_ref="TPD-F"), "in-2")
    service.request_tpd(tpd("TPD-2", vehicle_vin=vin(2), passport="P2"), "in-3")
    service.border_event(border("entry", tpd_ref="TPD-2"), "in-4")
    assert service.overdue(dt.date(2026, 10, 15)) == []  # the due date itself is allowed
    late = service.overdue(dt.date(2026, 10, 18))
    assert [(v.reference, v.due_on, v.days_over) for v in late] == [
        ("TPD-F", dt.date(2026, 10, 15), 3)
    ]
    assert service.journal.count_overdue_tpds(dt.date(2026, 10, 18)) == 1
    # Leaving late discharges it and says so; it is no longer overdue.
    left = service.border_event(
        border("exit", tpd_ref="TPD-F", time="2026-10-20T10:00:00+01:00"), "in-5"
    )
    assert left.notes == ["left 5 day(s) after its due date"]
    assert service.overdue(dt.date(2026, 10, 21)) == []


def test_six_months_within_twelve_counts_the_earlier_stay(service: TravellersService) -> None:
    service.request_tpd(tpd("TPD-1", day=dt.date(2026, 1, 9)), "in-1")
    service.border_event(border("entry", tpd_ref="TPD-1", time="2026-01-10T08:00:00+01:00"), "e1")
    service.border_event(border("exit", tpd_ref="TPD-1", time="2026-05-10T08:00:00+01:00"), "x1")
    service.request_tpd(tpd("TPD-2", day=dt.date(2026, 7, 14)), "in-2")
    entered = service.border_event(border("entry", tpd_ref="TPD-2"), "e2")
    # 120 days used in January-May: the window that ends on the due date holds 6 months.
    assert entered.due_on is not None and entered.due_on < dt.date(2027, 1, 15)
    assert entered.due_on > dt.date(2026, 9, 1)


# ---------------------------------------------------------------- currency


def test_a_declaration_below_the_threshold_is_accepted_and_marked_not_required(
    service: TravellersService,
) -> None:
    doc = currency("CD-1", amounts=[("EUR", "500.00"), ("DZD", "76000")])
    verdict = service.declare_currency(doc, "in-1")
    assert (verdict.accepted, verdict.status) == (True, "not required")
    assert doc.assessment is not None
    assert doc.assessment.total_eur == Decimal("1000.00")  # 76,000 DZD at 152 = EUR 500
    assert doc.assessment.required is False and doc.assessment.rates_from == dt.date(2026, 1, 1)


def test_above_the_threshold_it_is_required_and_the_threshold_depends_on_status(
    service: TravellersService,
) -> None:
    national = currency("CD-1", amounts=[("EUR", "1000.01")])
    assert service.declare_currency(national, "in-1").status == "required"
    foreigner = currency(
        "CD-2", amounts=[("USD", "5000")], status="foreign_national", passport="F1"
    )
    verdict = service.declare_currency(foreigner, "in-2")
    assert verdict.status == "not required"  # USD 5,000 = EUR 4,629.63, under EUR 5,000
    assert foreigner.assessment is not None
    assert foreigner.assessment.threshold_eur == Decimal(5000)


def test_an_exit_above_the_entry_declaration_is_flagged(service: TravellersService) -> None:
    service.declare_currency(currency("CD-IN", amounts=[("EUR", "3000")]), "in-1")
    out = currency(
        "CD-OUT",
        direction="exit",
        amounts=[("EUR", "2500"), ("GBP", "850")],
        submitted="2026-08-29T10:00:00+01:00",
    )
    verdict = service.declare_currency(out, "in-2")
    assert out.assessment is not None and out.assessment.exceeds_entry is True
    assert any(n.startswith("EXCEEDS_ENTRY") for n in verdict.notes)
    # The entry named explicitly, an exit below it: not flagged.
    below = currency(
        "CD-OUT2",
        direction="exit",
        amounts=[("EUR", "100")],
        entry_reference="CD-IN",
        submitted="2026-08-29T10:00:00+01:00",
    )
    assert service.declare_currency(below, "in-3").notes == []
    assert below.assessment is not None and below.assessment.exceeds_entry is False


def test_a_currency_without_a_rate_is_refused_replayable(journal: SqliteJournal) -> None:
    service = TravellersService(journal, policy(rates=[]), pseudonym_key=b"k")
    verdict = service.declare_currency(currency("CD-1", amounts=[("JPY", "1000")]), "in-1")
    assert verdict.refusal is not None
    assert (verdict.refusal.reason, verdict.refusal.replayable) == ("CURRENCY_RATE_MISSING", True)


def test_a_declaration_reference_is_filed_once(service: TravellersService) -> None:
    assert service.declare_currency(currency("CD-1"), "in-1").accepted
    again = service.declare_currency(currency("CD-1"), "in-1")
    assert again.duplicate and again.status == "not required"
    other = service.declare_currency(currency("CD-1"), "in-2")
    assert other.refusal is not None and other.refusal.reason == "DECLARATION_ALREADY_FILED"


# ---------------------------------------------------------------- retention


def test_forget_erases_only_what_is_past_retention(
    service: TravellersService, journal: SqliteJournal
) -> None:
    later = dt.date(2027, 6, 1)  # retention 365 days: whatever ended before 1 June 2026 goes
    service.request_tpd(tpd("TPD-1", day=dt.date(2026, 1, 9)), "in-1")
    service.border_event(border("entry", tpd_ref="TPD-1", time="2026-01-10T08:00:00+01:00"), "e1")
    service.border_event(border("exit", tpd_ref="TPD-1", time="2026-03-10T08:00:00+01:00"), "x1")
    service.request_tpd(tpd("TPD-2", vehicle_vin=vin(2), passport="P2"), "in-2")  # July 2026
    old = currency("CD-OLD", day=dt.date(2026, 1, 9), submitted="2026-01-05T10:00:00+01:00")
    assert service.declare_currency(old, "c1").accepted
    journal.record_message(
        "tpd-doc", type="VehicleTemporaryAdmission", partner="eservices", correlation_id="x"
    )
    tpd_1 = journal.tpd("TPD-1")
    assert tpd_1 is not None
    journal.add_references(tpd_1.message_id, ["TPD-1", "197845612"])
    preview = service.forget(dry_run=True, today=later)
    assert (preview.tpds, preview.tpd_events, preview.currency_declarations) == (1, 2, 1)
    assert preview.references == 2
    assert journal.tpd("TPD-1") is not None  # a dry run erases nothing
    done = service.forget(today=later)
    assert done == preview
    assert journal.tpd("TPD-1") is None and journal.currency_declaration("CD-OLD") is None
    assert journal.track("197845612") == []  # `edigw track` no longer finds them by document
    assert journal.tpd("TPD-2") is not None
    assert service.forget(today=later).total == 0


def test_forget_one_traveller_leaves_the_others(
    service: TravellersService, journal: SqliteJournal
) -> None:
    for n, passport in ((1, "P1"), (2, "P2")):
        doc = tpd(f"TPD-{n}", vehicle_vin=vin(n), passport=passport, day=dt.date(2025, 1, 1))
        service.request_tpd(doc, f"in-{n}")
    erased = service.forget(document="P1", today=dt.date(2026, 7, 20))
    assert erased.tpds == 1
    assert journal.tpd("TPD-1") is None and journal.tpd("TPD-2") is not None
