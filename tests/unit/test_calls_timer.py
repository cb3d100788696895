"""Reconcile after hours (issue #17): the timer's decisions on a fake clock, an SQLite journal
in memory, no broker (``gateway.service.call_timer``).

The call arrived at ``ATA``; ``reconcile_after_hours`` is 48: before ATA + 48 h nothing is due,
after it the first instance to claim the call tells its reconciliation (basis ``after_hours``),
and nobody tells it again once that is done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.config import Route
from gateway.domain.calls import ManifestDiscrepancyReport
from gateway.domain.canonical_xml import from_xml
from gateway.security.signing import Signer, ensure_dev_keys
from gateway.service import call_timer, calls
from gateway.service.call_checks import SHORT_LANDED
from gateway.service.call_report import Reporter
from gateway.service.calls import CallPolicy
from gateway.storage.journal import SqliteJournal
from gateway.storage.spool import content
from tests.unit.test_calls_service import ATA, KEY, discharge, manifest, vessel_call
from tests.unit.test_decision_service import NAMES

POLICY = CallPolicy(reconcile_after=dt.timedelta(hours=48))
DUE = ATA + dt.timedelta(hours=48)


def signed_reporter(journal: SqliteJournal, tmp_path: Path) -> Reporter:
    """A reporter on ``journal`` with development keys in ``tmp_path``, routing to core."""
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    ensure_dev_keys(key, cert)
    return Reporter(
        journal,
        Signer.from_files(key, cert),
        NAMES,
        [Route("core")],
        "DZGW",
        lambda _origin: {"our_id": "DZGW"},
    )


@pytest.fixture
def reporter(tmp_path: Path) -> Iterator[Reporter]:
    journal = SqliteJournal(":memory:")
    calls.file(journal, POLICY, manifest("MAN-1"), "in-1", now=ATA - dt.timedelta(days=1))
    calls.file(journal, POLICY, vessel_call(ata=ATA), "in-2", now=ATA)
    yield signed_reporter(journal, tmp_path)
    journal.close()


def claim(reporter: Reporter, now: dt.datetime, instance: str = "a") -> list[call_timer.Claimed]:
    return call_timer.claim_due(reporter, POLICY, instance, now=now)


def test_nothing_is_due_before_the_hours_have_passed(reporter: Reporter) -> None:
    assert claim(reporter, DUE - dt.timedelta(minutes=1)) == []


def test_a_call_is_reconciled_once_the_hours_have_passed(reporter: Reporter) -> None:
    [claimed] = claim(reporter, DUE + dt.timedelta(minutes=1))
    assert claimed.call == KEY
    [report] = [p for p in claimed.told.publishes if p.type == "ManifestDiscrepancyReport"]
    assert report.routing_key == "core"
    doc = from_xml(content(report.body))
    assert isinstance(doc, ManifestDiscrepancyReport) and doc.basis == "after_hours"
    # Nothing was discharged: both declared containers are short-landed.
    assert [(d.kind, d.container) for d in doc.discrepancies] == [
        (SHORT_LANDED, "CMAU3000009"),
        (SHORT_LANDED, "CMAU3000014"),
    ]
    call_timer.told(reporter, claimed, now=DUE + dt.timedelta(minutes=2))
    # Told: never again, by this instance or another, however late.
    assert claim(reporter, DUE + dt.timedelta(days=3)) == []
    assert claim(reporter, DUE + dt.timedelta(days=3), "b") == []
    history = {h.message_id: h for h in reporter.journal.track(str(KEY))}
    assert claimed.trigger_id in history


def test_a_claim_is_one_instances_until_it_goes_stale(reporter: Reporter) -> None:
    first = DUE + dt.timedelta(minutes=1)
    assert [c.call for c in claim(reporter, first, "a")] == [KEY]
    # Instance b, a minute later: a's claim holds (a is publishing).
    assert claim(reporter, first + dt.timedelta(minutes=1), "b") == []
    # a never said it was told (it stopped): after STALE_AFTER, b takes the call over,
    # under the same trigger, so the same message ids.
    [again] = claim(reporter, first + call_timer.STALE_AFTER + dt.timedelta(minutes=1), "b")
    assert again.trigger_id == call_timer.trigger_of(KEY)


def test_a_call_whose_discharge_was_reported_complete_is_not_due(reporter: Reporter) -> None:
    calls.file(
        reporter.journal,
        POLICY,
        discharge("DIS-1", {"CMAU3000009": ("SL-009", Decimal(1000))}),
        "in-3",
        now=ATA + dt.timedelta(hours=5),
    )
    assert claim(reporter, DUE + dt.timedelta(hours=1)) == []


def test_a_call_not_yet_arrived_is_not_due(reporter: Reporter) -> None:
    calls.file(
        reporter.journal,
        POLICY,
        vessel_call(ata=None, function="replace"),
        "in-4",
        now=ATA,
    )
    assert claim(reporter, DUE + dt.timedelta(days=10)) == []
