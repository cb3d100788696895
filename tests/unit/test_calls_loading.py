"""Loading reconciliation against a call's outward (export) manifests (issue #17, point 5).

* the direction rule (``call_content.outward_port``): a manifest whose port of call is a port
  of Algeria is inward; one whose port of call is not (or absent) and whose port of loading
  (``LOC+5``, else the bills' ``LOC+9``) is one is outward, for the call at that port;
* the pure reconciliation (``call_checks.compare``, outward): short-shipped, loaded not
  declared (on no outward manifest, or declared for loading at another port), seal and weight
  mismatches with the same tolerance;
* the call of the samples at Algiers with an export manifest (``tests/data/calls``: two
  containers for Valencia) and the terminal's loading COARRI (complete; one of them loaded, and
  a container nobody declared): through the decision service on SQLite, the signed report to
  customs (``Direction`` outward, valid against ``xsd/calls-1.xsd``) and the APERAK to the
  export manifest's sender; the discharge's reconciliation does not count the export manifest;
* the after-departure timer (fake clock) and ``edigw calls show``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from adapters import aperak
from adapters.common import DecodeContext
from gateway.domain.calls import ManifestDiscrepancyReport, TerminalOperationsReport
from gateway.domain.canonical_xml import from_xml
from gateway.domain.model import CargoManifest, Consignment, MessageFunction
from gateway.domain.validation import validate
from gateway.domain.xmlsafe import parse
from gateway.interfaces.cli_calls import _show_lines
from gateway.service import call_timer, calls
from gateway.service.call_checks import (
    LOADED_NOT_DECLARED,
    SEAL_MISMATCH,
    SHORT_LANDED,
    SHORT_SHIPPED,
    WEIGHT_MISMATCH,
    compare,
    reconcile,
    reconcile_loading,
)
from gateway.service.call_content import manifest_call, manifest_content, outward_port
from gateway.service.call_report import Reporter
from gateway.service.call_view import view
from gateway.service.calls import CallPolicy
from gateway.service.decision import DecisionService
from gateway.service.pipeline import translate
from gateway.storage.call_records import DeclaredEquipment, MovementRecord
from gateway.storage.journal import SqliteJournal
from gateway.storage.spool import content
from tests.helpers import assert_valid_aperak
from tests.unit.test_calls_report import MANIFEST, of_type, routed, the_call
from tests.unit.test_calls_report import service as service  # the fixture
from tests.unit.test_calls_service import (
    ATA,
    KEY,
    ROOT,
    discharge,
    header,
    manifest,
    vessel_call,
)
from tests.unit.test_calls_timer import signed_reporter

EXPORT = ROOT / "tests/data/calls/cuscar-cma-cgm-tage-export-algiers.edi"
LOADING = ROOT / "tests/data/calls/coarri-loading-algiers.edi"
EXPORT_NUMBER = "EXP-DZALG-2612-0042"
TOLERANCE = Decimal(5)


def exported(number: str = "EXP-1", containers: dict[str, str] | None = None) -> CargoManifest:
    """An outward manifest of ``KEY``: port of departure Algiers, bills for Valencia."""
    doc = manifest(number, None, containers={c: (b, None) for c, b in (containers or {}).items()})
    doc.conveyance.imo_number, doc.conveyance.voyage_number = KEY.imo_number, KEY.voyage_number
    doc.place_of_departure = KEY.port_of_call
    doc.departure_time = ATA + dt.timedelta(hours=30)
    doc.arrival_time = None
    for c in doc.consignments:
        c.place_of_loading, c.place_of_discharge = KEY.port_of_call, "ESVLC"
    return doc


def loaded(
    number: str = "LOA-1", containers: tuple[str, ...] = (), complete: bool = True
) -> TerminalOperationsReport:
    """A loading report of ``KEY``: each container loaded as ``manifest`` declares it."""
    as_declared = {c: (f"SL-{c[-3:]}", Decimal(10000)) for c in containers}
    report = discharge(number, as_declared, complete=complete)
    report.operation = "load"
    for m in report.movements:
        m.operation = "load"
    return report


# ---------------------------------------------------------------- the direction rule


def decoded_manifest(path: Path) -> CargoManifest:
    result = translate(path.read_bytes(), DecodeContext(sender="apcs"))
    [doc] = result.documents
    assert isinstance(doc, CargoManifest)
    return doc


def test_an_export_manifest_names_the_call_at_its_port_of_loading() -> None:
    export = decoded_manifest(EXPORT)
    assert export.port_of_call is None and export.place_of_departure == "DZALG"
    assert outward_port(export) == "DZALG" and manifest_call(export) == KEY
    _, equipment = manifest_content(export, "apcs")
    assert [(e.container, e.discharge_here) for e in equipment] == [
        ("CMAU3000035", True),
        ("CMAU3000040", True),
    ]
    # The inward manifest of the same call stays inward.
    inward = decoded_manifest(MANIFEST)
    assert outward_port(inward) is None and manifest_call(inward) == KEY


def test_a_foreign_port_of_call_and_loading_here_is_outward_a_bill_loading_elsewhere_is_not_here() -> (
    None
):
    doc = exported("EXP-2", {"CMAU3000035": "BL-1", "CMAU3000040": "BL-2"})
    doc.place_of_departure = None
    doc.port_of_call = "ESVLC"  # the next port: LOC+60 of an export manifest
    doc.consignments[1].place_of_loading = "DZORN"  # loaded at Oran, earlier on the voyage
    assert manifest_call(doc) == KEY
    _, equipment = manifest_content(doc, "apcs")
    assert [e.discharge_here for e in equipment] == [True, False]
    # Nothing of Algeria at all: inward as before (names the port it gives, here none).
    doc.consignments = [Consignment(1, "BL-9", place_of_loading="FRMRS")]
    assert outward_port(doc) is None


# ---------------------------------------------------------------- the pure reconciliation


def row(
    container: str, bill: str, *, here: bool = True, seal: str = "S1", mass: str = "1000"
) -> DeclaredEquipment:
    return DeclaredEquipment("apcs", "EXP-1", 0, container, bill, (seal,), mass, here)


def moved(container: str, *, seal: str = "S1", mass: str = "1000") -> MovementRecord:
    return MovementRecord(container, "load", "terminal", "LOA-1", seals=(seal,), gross_mass_kg=mass)


def test_loading_short_shipped_loaded_not_declared_and_mismatched() -> None:
    declared = [
        row("CMAU3000035", "BL-1"),
        row("CMAU3000040", "BL-2"),
        row("CMAU3000056", "BL-3", seal="S1", mass="20000"),
        row("TGHU7000015", "BL-4", here=False),  # declared for loading at another port
    ]
    on_board = [
        moved("CMAU3000035"),
        moved("CMAU3000056", seal="S2", mass="21500"),  # 7.5% off: past 5%
        moved("TGHU7000015"),
        moved("MSCU1234566"),  # on no outward manifest
    ]
    r = compare(declared, on_board, TOLERANCE, KEY, "outward")
    assert (r.direction, r.declared, r.discharged) == ("outward", 3, 4)
    assert [(d.kind, d.container) for d in r.discrepancies] == [
        (SHORT_SHIPPED, "CMAU3000040"),
        (SEAL_MISMATCH, "CMAU3000056"),
        (WEIGHT_MISMATCH, "CMAU3000056"),
        (LOADED_NOT_DECLARED, "TGHU7000015"),
        (LOADED_NOT_DECLARED, "MSCU1234566"),
    ]
    short, seal, weight, elsewhere, nobody = r.discrepancies
    assert short.sentence == (
        "container CMAU3000040 (BL-2) was declared for loading at DZALG and not loaded"
    )
    assert "loaded with seals S2" in seal.sentence
    assert "at loading" in weight.sentence and "(tolerance 5%)" in weight.sentence
    assert "declared for loading at another port" in elsewhere.sentence
    assert [b.transport_document for b in elsewhere.bills] == ["BL-4"]
    assert nobody.bills == () and "on no outward manifest of the call" in nobody.sentence
    # Each sender hears of its own; a container on no manifest is customs' alone.
    assert [d.container for d in r.by_sender()["apcs"]] == [
        "CMAU3000040",
        "CMAU3000056",
        "CMAU3000056",
        "TGHU7000015",
    ]
    assert r.summary() == (
        f"call {KEY} loading reconciled: 3 containers declared for loading, 4 loaded; "
        "1 short-shipped, 2 loaded not declared, 2 mismatched"
    )
    shown = r.to_json()
    assert (shown["direction"], shown["loaded"], "discharged" in shown) == ("outward", 4, False)
    # Within the tolerance: no weight mismatch.
    close = compare(
        [row("CMAU3000035", "BL-1")], [moved("CMAU3000035", mass="1049")], TOLERANCE, KEY, "outward"
    )
    assert close.discrepancies == []


# ---------------------------------------------------------------- the registry and the service


@pytest.fixture
def journal() -> Iterator[SqliteJournal]:
    j = SqliteJournal(":memory:")
    yield j
    j.close()


def test_an_outward_manifest_is_filed_as_such_and_not_counted_for_the_discharge(
    journal: SqliteJournal,
) -> None:
    calls.file(journal, CallPolicy(), vessel_call(ata=ATA), "in-1", now=ATA)
    calls.file(journal, CallPolicy(), manifest("MAN-1"), "in-2", now=ATA)
    filing = calls.file(
        journal, CallPolicy(), exported("EXP-1", {"CMAU3000035": "BL-E1"}), "in-3", now=ATA
    )
    assert filing is not None and filing.linked and filing.flags == []
    assert journal.outward_manifests(KEY) == {("apcs", "EXP-1")}
    assert reconcile(journal, TOLERANCE, KEY).declared == 2  # the inward manifest's two
    assert [e.container for e in journal.declared_equipment(KEY, "outward")] == ["CMAU3000035"]
    assert len(journal.declared_equipment(KEY, None)) == 3
    # The loading report, complete, reconciles the loading.
    done = calls.file(journal, CallPolicy(), loaded("LOA-1", ("TGHU7000015",)), "in-4", now=ATA)
    assert done is not None and done.reconciliation is not None
    assert done.reconciliation.direction == "outward"
    assert [(d.kind, d.container) for d in done.reconciliation.discrepancies] == [
        (SHORT_SHIPPED, "CMAU3000035"),
        (LOADED_NOT_DECLARED, "TGHU7000015"),
    ]
    # A correction that makes it inward (a port of call of Algeria) takes it out of the loading.
    again = dataclasses.replace(
        exported("EXP-1", {"CMAU3000035": "BL-E1"}),
        header=header("CargoManifest", "EXP-1", "replace", 2),
        port_of_call="DZALG",
    )
    journal.record_message(  # what the decision records: the correction's inbound message
        again.header.message_id,
        type="CargoManifest",
        partner="apcs",
        correlation_id="in-5",
        parent_id="in-5",
    )
    calls.file(journal, CallPolicy(), again, "in-5", now=ATA)
    assert journal.outward_manifests(KEY) == set()
    assert reconcile_loading(journal, TOLERANCE, KEY).declared == 0
    # Withdrawn as unroutable: the correction gives back the outward row it replaced.
    journal.withdraw_filings("in-5")
    assert journal.outward_manifests(KEY) == {("apcs", "EXP-1")}


def test_the_loading_report_tells_customs_and_the_export_manifests_sender(
    service: DecisionService,
) -> None:
    discharge_plan = the_call(service)
    routed(service, EXPORT, "in-export")
    plan = routed(service, LOADING, "in-loading")
    # The discharge was reconciled without the export manifest.
    [inward] = of_type(discharge_plan, "ManifestDiscrepancyReport")
    first = from_xml(content(inward.body))
    assert isinstance(first, ManifestDiscrepancyReport) and first.direction == "inward"
    assert [d.kind for d in first.discrepancies] == [SHORT_LANDED]
    # The loading's report: signed, schema-valid, outward.
    [report] = of_type(plan, "ManifestDiscrepancyReport")
    body = content(report.body)
    assert validate(parse(body)) == []
    assert b"<Direction>outward</Direction>" in body and b"<ContainersLoaded>2<" in body
    doc = from_xml(body)
    assert isinstance(doc, ManifestDiscrepancyReport)
    assert (doc.direction, doc.basis, doc.containers_declared, doc.containers_discharged) == (
        "outward",
        "loading_complete",
        2,
        2,
    )
    assert [(d.kind, d.container) for d in doc.discrepancies] == [
        (SHORT_SHIPPED, "CMAU3000040"),
        (LOADED_NOT_DECLARED, "TGHU7000015"),
    ]
    assert [b.transport_document for b in doc.discrepancies[0].bills] == ["CMDUALG0502"]
    assert report.message_id != inward.message_id
    # The export manifest's sender is told what is its to correct: the short-shipped one.
    [answer] = of_type(plan, "APERAK")
    data = content(answer.body)
    assert_valid_aperak(data)
    told = aperak.decode(data)
    assert told.accepted and told.document_number == EXPORT_NUMBER
    assert [e.code for e in told.errors] == [SHORT_SHIPPED]
    assert "CMAU3000040" in told.errors[0].text and "CMDUALG0502" in told.errors[0].text
    assert b"GW411" in data


# ---------------------------------------------------------------- after departure, and shown

POLICY = CallPolicy(reconcile_loading_after=dt.timedelta(hours=24))
ATD = ATA + dt.timedelta(hours=12)


@pytest.fixture
def reporter(tmp_path: Path, journal: SqliteJournal) -> Reporter:
    calls.file(journal, POLICY, vessel_call(ata=ATA), "in-1", now=ATA)
    return signed_reporter(journal, tmp_path)


def depart(journal: SqliteJournal) -> None:
    call = vessel_call(ata=ATA)
    call.header = header("VesselCall", "CALL-1", "replace", 2)
    call.atd = ATD
    calls.file(journal, POLICY, call, "in-atd", now=ATD)


def claim(reporter: Reporter, now: dt.datetime, instance: str = "a") -> list[call_timer.Claimed]:
    return call_timer.claim_due(reporter, POLICY, instance, now=now, watch=call_timer.LOADING)


def test_an_export_manifest_corrected_after_the_departure_is_flagged(
    journal: SqliteJournal,
) -> None:
    calls.file(journal, POLICY, vessel_call(ata=ATA), "in-1", now=ATA)
    assert calls.file(journal, POLICY, exported("EXP-1"), "in-2", now=ATA).flags == []

    def corrected(function: MessageFunction, version: int, now: dt.datetime) -> calls.Filing:
        doc = exported("EXP-1", {"CMAU3000035": "BL-E1"})
        doc.header = header("CargoManifest", "EXP-1", function, version)
        filing = calls.file(journal, POLICY, doc, f"in-v{version}", now=now)
        assert filing is not None and filing.linked
        return filing

    # While the ship is in port the loading is being settled: an outward correction after the
    # arrival is the normal course, not POST_ARRIVAL (that is the inward manifests' risk).
    assert corrected("change", 2, ATA + dt.timedelta(hours=2)).flags == []
    depart(journal)
    assert corrected("replace", 3, ATD - dt.timedelta(minutes=1)).flags == []
    late = corrected("replace", 4, ATD + dt.timedelta(hours=1))
    assert [(f.code, f.sentence) for f in late.flags] == [
        (
            "POST_DEPARTURE",
            "replace of manifest EXP-1 filed at 2026-12-01T19:40:00+00:00, after the call's "
            "actual departure at 2026-12-01T18:40:00+00:00",
        )
    ]
    record = journal.call_manifest("apcs", "EXP-1")
    assert record is not None and record.flags == ("POST_DEPARTURE",)
    # The call's inward manifest corrected then is late for its own reason.
    calls.file(journal, POLICY, manifest("MAN-9"), "in-m1", now=ATA)
    inward = manifest("MAN-9")
    inward.header = header("CargoManifest", "MAN-9", "change", 2)
    after = calls.file(journal, POLICY, inward, "in-m2", now=ATD + dt.timedelta(hours=1))
    assert after is not None and [f.code for f in after.flags] == ["POST_ARRIVAL"]


def test_the_loading_is_reconciled_hours_after_departure_once(
    reporter: Reporter, journal: SqliteJournal
) -> None:
    calls.file(journal, POLICY, exported("EXP-1", {"CMAU3000035": "BL-E1"}), "in-2", now=ATA)
    calls.file(journal, POLICY, loaded("LOA-1", ("CMAU3000035",), complete=False), "in-3", now=ATA)
    due = ATD + dt.timedelta(hours=24)
    assert claim(reporter, due) == []  # not departed
    depart(journal)
    assert claim(reporter, due - dt.timedelta(minutes=1)) == []
    # The discharge's timer does not take it (48 hours after the arrival have not passed).
    assert call_timer.claim_due(reporter, POLICY, "a", now=due) == []
    [claimed] = claim(reporter, due)
    assert claimed.trigger_id == f"reconcile-after-departure:{KEY}"
    report = claimed.told.report
    assert (report.direction, report.basis, report.discrepancies) == (
        "outward",
        "after_departure",
        [],
    )
    assert claim(reporter, due, "b") == []  # claimed, not stale
    call_timer.told(reporter, claimed, now=due)
    assert claim(reporter, due + dt.timedelta(hours=1)) == []
    assert journal.call_reports(KEY)[0].basis == "after_departure"


def test_a_call_with_nothing_outward_has_no_loading_to_reconcile(
    reporter: Reporter, journal: SqliteJournal
) -> None:
    calls.file(journal, POLICY, manifest("MAN-1"), "in-2", now=ATA)
    depart(journal)
    assert claim(reporter, ATD + dt.timedelta(days=3)) == []
    # A complete loading report makes the timer moot as well.
    calls.file(journal, POLICY, exported("EXP-1", {"CMAU3000035": "BL-E1"}), "in-3", now=ATA)
    calls.file(journal, POLICY, loaded("LOA-1", ("CMAU3000035",)), "in-4", now=ATD)
    assert claim(reporter, ATD + dt.timedelta(days=3)) == []


def test_calls_show_prints_the_loading_and_its_discrepancies(journal: SqliteJournal) -> None:
    calls.file(journal, POLICY, vessel_call(ata=ATA), "in-1", now=ATA)
    calls.file(journal, POLICY, exported("EXP-1", {"CMAU3000035": "BL-E1"}), "in-2", now=ATA)
    calls.file(journal, POLICY, loaded("LOA-1", ("TGHU7000015",), complete=False), "in-3", now=ATA)
    [record] = journal.calls()
    shown = view(journal, POLICY, record, ATA)
    assert (
        shown.loading_state == "provisional"
        and shown.direction_of(journal.manifests(KEY)[0]) == "outward"
    )
    data = shown.to_json()
    loading = data["loading_reconciliation"]
    assert isinstance(loading, dict) and loading["state"] == "provisional"
    assert [(d["kind"], d["container"]) for d in loading["discrepancies"]] == [
        (SHORT_SHIPPED, "CMAU3000035"),
        (LOADED_NOT_DECLARED, "TGHU7000015"),
    ]
    assert json.loads(json.dumps(data))["manifests"][0]["direction"] == "outward"
    text = "\n".join(_show_lines(shown, None))
    assert "apcs  EXP-1  v1 original  active  outward  linked" in text
    assert "loading: 1 declared for loading, 1 loaded" in text
    assert (
        "loading reconciliation (provisional): 1 containers declared for loading, 1 loaded; "
        "1 short-shipped, 1 loaded not declared, 0 mismatched"
    ) in text
    assert f"  {SHORT_SHIPPED}  container CMAU3000035 (BL-E1) was declared for loading" in text
