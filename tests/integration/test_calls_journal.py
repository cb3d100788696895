"""The call registry (issue #17) on both journal backends: SQLite (a file) and PostgreSQL.

The same filings through ``gateway.service.calls`` on each; the PostgreSQL journal gets a role
and schema of its own (``tests.e2e.test_faults_support.pg_schema``), dropped afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import pytest

from gateway.domain.calls import CallKey
from gateway.domain.model import Document
from gateway.service import calls
from gateway.service.calls import CallPolicy
from gateway.storage.backends import open_journal
from gateway.storage.call_records import CANCELLED
from gateway.storage.journal import Journal
from tests.e2e.test_faults_support import pg_schema
from tests.unit.test_calls_service import KEY, dangerous, discharge, manifest, vessel_call

D = TypeVar("D", bound=Document)


@pytest.fixture(params=["sqlite", "postgresql"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Journal]:
    if request.param == "sqlite":
        j = open_journal("sqlite", str(tmp_path / "journal.sqlite3"))
        yield j
        j.close()
        return
    with pg_schema() as (_role, dsn):
        j = open_journal("postgresql", dsn)
        try:
            yield j
        finally:
            j.close()


def _file(journal: Journal, doc: Document) -> calls.Filing:
    filing = calls.file(journal, CallPolicy(), doc, "in-1")
    assert filing is not None and filing.problem is None, filing
    return filing


def test_a_call_and_what_hangs_on_it(journal: Journal) -> None:
    _file(journal, manifest("MAN-1"))
    arrival = _file(journal, vessel_call(ata=dt.datetime(2026, 12, 1, 6, 40, tzinfo=dt.UTC)))
    assert arrival.linked_manifests == [("apcs", "MAN-1")]
    assert [c.key for c in journal.calls(port="DZALG", since="2026-11-01")] == [KEY]
    assert journal.calls(port="DZORN") == [] and journal.calls(since="2027-01-01") == []
    assert [b.transport_document for b in journal.bills(KEY)] == ["BL-1", "BL-2"]
    equipment = {e.container: e for e in journal.declared_equipment(KEY)}
    assert equipment["CMAU3000009"].un_numbers == ("1263",)
    assert equipment["CMAU3000009"].seals == ("SL-009",) and equipment["CMAU3000014"].discharge_here

    assert _file(journal, dangerous()).dangerous == []
    assert [i.container for i in journal.notified_dangerous(KEY)] == ["CMAU3000009"]

    _file(journal, discharge("DIS-1", {"CMAU3000009": ("SL-009", Decimal(10000))}, complete=False))
    # A later report that names the same container again is what counts.
    done = _file(journal, discharge("DIS-2", {"CMAU3000009": ("SL-X", Decimal(10000))}))
    assert {m.document_number for m in journal.movements(KEY, "discharge")} == {"DIS-2"}
    assert done.reconciliation is not None
    assert sorted((d.kind, d.container) for d in done.reconciliation.discrepancies) == [
        ("SEAL_MISMATCH", "CMAU3000009"),
        ("SHORT_LANDED", "CMAU3000014"),
    ]
    kinds = sorted((d.kind, d.document_number, d.complete) for d in journal.call_documents(KEY))
    assert kinds == [
        ("DangerousGoodsNotification", "DG-1", False),
        ("TerminalOperationsReport", "DIS-1", False),
        ("TerminalOperationsReport", "DIS-2", True),
    ]

    assert calls.register_mrn(journal, "apcs", "MAN-1", "26DZALG0000001") is not None
    by_mrn = journal.manifest_by_mrn("26DZALG0000001")
    assert by_mrn is not None and (by_mrn.document_number, by_mrn.key) == ("MAN-1", KEY)


def test_a_filing_is_all_or_nothing(journal: Journal) -> None:
    _file(journal, vessel_call())
    with pytest.raises(RuntimeError), journal.unit_of_work():
        _file(journal, manifest())
        _file(journal, vessel_call(function="cancel"))
        raise RuntimeError("crash before the commit")
    assert journal.call_manifest("apcs", "MAN-1") is None
    call = journal.call(KEY)
    assert call is not None and call.status != CANCELLED


def _filed_from(journal: Journal, doc: Document, inbound_id: str) -> None:
    """``doc`` routed from ``inbound_id`` (its message recorded under it) and filed."""
    journal.record_message(
        doc.header.message_id,
        type=doc.header.document_type,
        partner="apcs",
        correlation_id=inbound_id,
        parent_id=inbound_id,
    )
    filing = calls.file(journal, CallPolicy(), doc, inbound_id)
    assert filing is not None and filing.problem is None, filing


def test_a_message_dead_lettered_as_unroutable_leaves_nothing_in_the_registry(
    journal: Journal,
) -> None:
    _filed_from(journal, manifest("MAN-1"), "in-manifest")
    _filed_from(journal, vessel_call(), "in-call")
    _filed_from(journal, dangerous(), "in-dg")
    _filed_from(journal, discharge("DIS-1", {"CMAU3000009": ("SL-009", Decimal(10000))}), "in-dis")
    # The terminal report was never delivered: its movements and its row go.
    assert journal.withdraw_acceptance("apcs", "in-dis") == 2
    assert journal.movements(KEY, "discharge") == []
    assert [d.document_number for d in journal.call_documents(KEY)] == ["DG-1"]
    # Nor was the call: gone, and the manifest linked to it waits again.
    assert journal.withdraw_acceptance("apcs", "in-call") == 1
    assert journal.call(KEY) is None
    waiting = journal.call_manifest("apcs", "MAN-1")
    assert waiting is not None and waiting.linked_at is None
    # Nor the manifest: its bills and containers go with it (2 bills, 2 containers).
    assert journal.withdraw_acceptance("apcs", "in-manifest") == 5
    assert journal.call_manifest("apcs", "MAN-1") is None
    assert journal.bills_of_manifest("apcs", "MAN-1") == []
    # Another message's filing stays; the replays file everything again.
    assert [i.document_number for i in journal.notified_dangerous(KEY)] == ["DG-1"]
    _filed_from(journal, vessel_call(), "in-call~replay1")
    _filed_from(journal, manifest("MAN-1"), "in-manifest~replay1")
    linked = journal.call_manifest("apcs", "MAN-1")
    assert linked is not None and linked.linked_at is not None
    assert [i.container for i in journal.notified_dangerous(KEY)] == ["CMAU3000009"]


def _version(doc: D, version: int) -> D:
    """``doc`` numbered as the amendments number a correction before it is filed."""
    doc.header.document_version = version
    return doc


def test_a_withdrawn_manifest_correction_gives_back_what_it_replaced(journal: Journal) -> None:
    _filed_from(journal, vessel_call(), "in-call")
    _filed_from(journal, manifest("MAN-1"), "in-1")
    assert calls.register_mrn(journal, "apcs", "MAN-1", "26DZALG0000001") is not None
    before = journal.call_manifest("apcs", "MAN-1")
    bills = journal.bills_of_manifest("apcs", "MAN-1")
    equipment = journal.declared_equipment(KEY)
    fewer = manifest("MAN-1", function="replace", containers={"CMAU3000099": ("BL-9", None)})
    _filed_from(journal, _version(fewer, 2), "in-2")
    assert [b.transport_document for b in journal.bills_of_manifest("apcs", "MAN-1")] == ["BL-9"]
    # Version 2 was never delivered: version 1 is as it was, bills, containers, MRN and link.
    assert journal.withdraw_acceptance("apcs", "in-2") > 0
    assert journal.call_manifest("apcs", "MAN-1") == before
    assert journal.bills_of_manifest("apcs", "MAN-1") == bills
    assert journal.declared_equipment(KEY) == equipment
    # A cancellation withdrawn: the manifest is active again.
    _filed_from(journal, _version(manifest("MAN-1", function="cancel"), 2), "in-3")
    cancelled = journal.call_manifest("apcs", "MAN-1")
    assert cancelled is not None and cancelled.status == CANCELLED
    journal.withdraw_acceptance("apcs", "in-3")
    assert journal.call_manifest("apcs", "MAN-1") == before
    # Its replay files it again, as any correction.
    _filed_from(journal, _version(fewer, 2), "in-2~replay1")
    replayed = journal.call_manifest("apcs", "MAN-1")
    assert replayed is not None and (replayed.version, replayed.bill_count) == (2, 1)


def test_a_withdrawn_call_correction_puts_the_call_back_where_it_was(journal: Journal) -> None:
    _filed_from(journal, vessel_call(), "in-call")
    _filed_from(journal, manifest("MAN-1"), "in-1")
    before = journal.call(KEY)
    # A replacement that corrects the voyage: the call moves, its manifest is unlinked.
    moved = CallKey(KEY.imo_number, "0MA1RN2MA", KEY.port_of_call)
    _filed_from(journal, _version(vessel_call(key=moved, function="replace"), 2), "in-2")
    assert journal.call(KEY) is None and journal.call(moved) is not None
    unlinked = journal.call_manifest("apcs", "MAN-1")
    assert unlinked is not None and unlinked.linked_at is None
    journal.withdraw_acceptance("apcs", "in-2")
    assert journal.call(KEY) == before and journal.call(moved) is None
    linked = journal.call_manifest("apcs", "MAN-1")
    assert linked is not None and linked.linked_at is not None


def test_a_withdrawn_report_correction_gives_back_the_movements_it_named(
    journal: Journal,
) -> None:
    _filed_from(journal, vessel_call(), "in-call")
    _filed_from(journal, dangerous(), "in-dg")
    first = {"CMAU3000009": ("SL-009", Decimal(10000))}
    _filed_from(journal, discharge("DIS-1", first, complete=False), "in-dis1")
    _filed_from(journal, discharge("DIS-2", {"CMAU3000014": ("SL-014", Decimal(9000))}), "in-dis2")
    movements = journal.movements(KEY, "discharge")
    documents = journal.call_documents(KEY)
    items = journal.notified_dangerous(KEY)
    # DIS-2 version 2 names DIS-1's container again (that report's row is its now).
    both = {"CMAU3000009": ("SL-X", Decimal(1)), "CMAU3000014": ("SL-Y", Decimal(2))}
    _filed_from(journal, _version(discharge("DIS-2", both), 2), "in-dis2-v2")
    _filed_from(journal, _version(dangerous(items={"CMAU3000014": "1993"}), 2), "in-dg-v2")
    assert {m.document_number for m in journal.movements(KEY, "discharge")} == {"DIS-2"}
    journal.withdraw_acceptance("apcs", "in-dis2-v2")
    journal.withdraw_acceptance("apcs", "in-dg-v2")
    assert journal.movements(KEY, "discharge") == movements
    assert journal.call_documents(KEY) == documents
    assert journal.notified_dangerous(KEY) == items


def test_a_large_report_correction_is_kept_in_slices_and_given_back(journal: Journal) -> None:
    _filed_from(journal, vessel_call(), "in-call")
    boxes = {f"CMAU{n:07d}": ("SL", Decimal(1000)) for n in range(1200)}  # 3 slices of 500
    _filed_from(journal, discharge("DIS-1", boxes, complete=False), "in-dis1")
    _filed_from(journal, discharge("DIS-2", {}, complete=False), "in-dis2")
    before = journal.movements(KEY, "discharge")
    again = {c: ("SL-2", Decimal(2)) for c in boxes}
    _filed_from(journal, _version(discharge("DIS-2", again, complete=False), 2), "in-dis2-v2")
    assert {m.document_number for m in journal.movements(KEY, "discharge")} == {"DIS-2"}
    journal.withdraw_acceptance("apcs", "in-dis2-v2")
    assert journal.movements(KEY, "discharge") == before and len(before) == 1200


def test_an_original_and_its_correction_withdrawn_together_leave_nothing(
    journal: Journal,
) -> None:
    _filed_from(journal, vessel_call(), "in-call")
    _filed_from(journal, manifest("MAN-1"), "in-1")
    _filed_from(journal, _version(manifest("MAN-1", function="replace"), 2), "in-1")
    journal.withdraw_acceptance("apcs", "in-1")
    assert journal.call_manifest("apcs", "MAN-1") is None
    assert journal.bills_of_manifest("apcs", "MAN-1") == []


def test_the_dangerous_goods_checked_again_are_kept_on_the_call_in_order(journal: Journal) -> None:
    _filed_from(journal, vessel_call(), "in-call")
    _filed_from(journal, dangerous(), "in-dg")  # UN 1263 in CMAU3000009, no manifest yet
    _filed_from(journal, manifest("MAN-1"), "in-1")  # declares it: they agree
    # A correction declaring UN 1993 there instead: a mismatch, its check recorded after.
    other = manifest("MAN-1", function="replace", containers={"CMAU3000009": ("BL-1", "1993")})
    _filed_from(journal, _version(other, 2), "in-2")
    checks = journal.dangerous_checks(KEY)
    assert [(c.trigger, c.notified, c.declared, c.discrepancy_count) for c in checks] == [
        ("DangerousGoodsNotification DG-1 from apcs", 1, 0, 1),
        ("CargoManifest MAN-1 from apcs", 1, 1, 0),
        ("CargoManifest MAN-1 from apcs", 1, 1, 1),
    ]
    assert '"DG_UN_NUMBER_MISMATCH"' in checks[2].discrepancies
    assert journal.dangerous_checks(CallKey("9454436", "0MA1RN1MA", "DZORN")) == []
    # The correction was never delivered: its check goes with what it filed.
    journal.withdraw_acceptance("apcs", "in-2")
    assert [c.discrepancy_count for c in journal.dangerous_checks(KEY)] == [1, 0]


def test_the_loading_outward_manifests_and_claims_on_both_backends(journal: Journal) -> None:
    """Issue #17, point 5: an outward manifest filed, reconciled against the loading report,
    withdrawn as unroutable; the after-departure claim taken once (schema version 6)."""
    from tests.unit.test_calls_loading import exported, loaded

    _filed_from(journal, vessel_call(), "in-call")
    _filed_from(journal, manifest("MAN-1"), "in-1")
    _filed_from(journal, exported("EXP-1", {"CMAU3000035": "BL-E1"}), "in-exp")
    assert journal.outward_manifests(KEY) == {("apcs", "EXP-1")}
    assert [e.container for e in journal.declared_equipment(KEY)] == [
        "CMAU3000009",
        "CMAU3000014",
    ]
    assert [e.container for e in journal.declared_equipment(KEY, "outward")] == ["CMAU3000035"]
    done = _file(journal, loaded("LOA-1", ("TGHU7000015",)))
    assert done.reconciliation is not None and done.reconciliation.direction == "outward"
    assert [(d.kind, d.container) for d in done.reconciliation.discrepancies] == [
        ("SHORT_SHIPPED", "CMAU3000035"),
        ("LOADED_NOT_DECLARED", "TGHU7000015"),
    ]
    assert [m.container for m in journal.movements(KEY, "load")] == ["TGHU7000015"]
    # The loading claim: one instance gets it, a second only once it is stale; done is done.
    at, stale = "2026-12-03T10:00:00+00:00", "2026-12-03T09:50:00+00:00"
    assert journal.claim_loading_reconciliation(KEY, "t", "a", at, stale)
    assert not journal.claim_loading_reconciliation(KEY, "t", "b", at, stale)
    later, ten_minutes_after = "2026-12-03T10:20:00+00:00", "2026-12-03T10:10:00+00:00"
    assert journal.claim_loading_reconciliation(KEY, "t", "b", later, ten_minutes_after)
    journal.loading_reconciliation_told(KEY, "2026-12-03T10:21:00+00:00")
    assert not journal.claim_loading_reconciliation(KEY, "t", "c", "2026-12-04", "2026-12-04")
    # The discharge's own claim is another row.
    assert journal.claim_reconciliation(KEY, "t2", "a", at, stale)
    # The export manifest never delivered: its row and its direction go.
    journal.withdraw_acceptance("apcs", "in-exp")
    assert journal.outward_manifests(KEY) == set()
    assert journal.call_manifest("apcs", "EXP-1") is None
