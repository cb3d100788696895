"""The call registry and the calls service (issue #17): an SQLite journal in memory, no broker.

A whole call of the samples (CMA CGM TAGE, voyage 0MA1RN1MA at Algiers) goes through the real
adapters: arrival (CUSREP), manifest (CUSCAR), dangerous goods (IFTDGN), discharge (COARRI),
the MRN customs registers. The other tests build the documents they need.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.common import DecodeContext
from gateway.config import ConfigError, load
from gateway.config_schema import PORT_OF_CALL
from gateway.domain import calls as domain_calls
from gateway.domain.calls import (
    CallKey,
    ContainerMovement,
    DangerousCargoItem,
    DangerousGoodsNotification,
    TerminalOperationsReport,
    VesselCall,
)
from gateway.domain.model import (
    CargoManifest,
    Consignment,
    Conveyance,
    DangerousGoods,
    Document,
    GoodsItem,
    Header,
    MessageFunction,
    PassengerVehicleList,
    Seal,
    TransportEquipment,
)
from gateway.service import calls
from gateway.service.call_checks import (
    OVER_LANDED,
    SEAL_MISMATCH,
    SHORT_LANDED,
    WEIGHT_MISMATCH,
    reconcile,
)
from gateway.service.call_dangerous import DG_NOT_DECLARED, DG_NOT_NOTIFIED
from gateway.service.calls import CallPolicy, PortPolicy
from gateway.service.pipeline import translate
from gateway.storage.call_records import ACTIVE, CANCELLED
from gateway.storage.journal import SqliteJournal

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "apcs"
KEY = CallKey("9454436", "0MA1RN1MA", "DZALG")
UTC = dt.UTC
ETA = dt.datetime(2026, 12, 1, 7, tzinfo=UTC)
ATA = dt.datetime(2026, 12, 1, 6, 40, tzinfo=UTC)
BEFORE_ARRIVAL = dt.datetime(2026, 11, 30, 9, tzinfo=UTC)
AFTER_ARRIVAL = dt.datetime(2026, 12, 1, 12, tzinfo=UTC)
POLICY = CallPolicy()


@pytest.fixture
def journal() -> Iterator[SqliteJournal]:
    j = SqliteJournal(":memory:")
    yield j
    j.close()


def decoded(path: Path) -> Document:
    result = translate(path.read_bytes(), DecodeContext(sender="apcs"))
    assert result.rejection is None and not result.rejected_messages, result.rejection
    [doc] = result.documents
    return doc


def header(
    document_type: str, reference: str, function: MessageFunction = "original", version: int = 1
) -> Header:
    return Header.new(
        sender="apcs",
        document_type=document_type,
        business_reference=reference,
        function=function,
        document_version=version,
    )


def vessel_call(
    reference: str = "CALL-1",
    key: CallKey = KEY,
    *,
    function: MessageFunction = "original",
    eta: dt.datetime | None = ETA,
    ata: dt.datetime | None = None,
) -> VesselCall:
    return VesselCall(
        header("VesselCall", reference, function),
        call_reference=reference,
        conveyance=Conveyance(
            imo_number=key.imo_number, name="CMA CGM TAGE", voyage_number=key.voyage_number
        ),
        port_of_call=key.port_of_call,
        eta=eta,
        ata=ata,
    )


def manifest(
    number: str = "MAN-1",
    key: CallKey | None = KEY,
    *,
    function: MessageFunction = "original",
    eta: dt.datetime | None = ETA,
    containers: dict[str, tuple[str, str | None]] | None = None,
) -> CargoManifest:
    """One bill per container: container -> (bill, UN number of its goods or None)."""
    containers = containers or {"CMAU3000009": ("BL-1", "1263"), "CMAU3000014": ("BL-2", None)}
    consignments = [
        Consignment(
            i + 1,
            bill,
            place_of_discharge=key.port_of_call if key else None,
            goods_items=[
                GoodsItem(
                    1,
                    dangerous_goods=(DangerousGoods(un_number=un),) if un else (),
                    equipment_references=[container],
                )
            ],
        )
        for i, (container, (bill, un)) in enumerate(containers.items())
    ]
    return CargoManifest(
        header("CargoManifest", number, function),
        number,
        Conveyance(
            imo_number=key.imo_number if key else None,
            voyage_number=key.voyage_number if key else None,
        ),
        port_of_call=key.port_of_call if key else None,
        arrival_time=eta,
        equipment=[
            TransportEquipment(
                c, seals=[Seal(f"SL-{c[-3:]}")], verified_gross_mass_kg=Decimal(10000)
            )
            for c in containers
        ],
        consignments=consignments,
    )


def discharge(
    number: str = "DIS-1",
    movements: dict[str, tuple[str, Decimal]] | None = None,
    *,
    complete: bool = True,
    key: CallKey = KEY,
) -> TerminalOperationsReport:
    """container -> (seal, gross mass) discharged."""
    movements = movements or {}
    return TerminalOperationsReport(
        header("TerminalOperationsReport", number),
        number,
        key,
        "discharge",
        terminal="DPWD",
        complete=complete,
        movements=[
            ContainerMovement(c, "discharge", seals=(seal,), gross_mass_kg=mass)
            for c, (seal, mass) in movements.items()
        ],
    )


def dangerous(
    number: str = "DG-1", items: dict[str, str] | None = None
) -> DangerousGoodsNotification:
    """container -> UN number notified."""
    items = {"CMAU3000009": "1263"} if items is None else items
    return DangerousGoodsNotification(
        header("DangerousGoodsNotification", number),
        number,
        KEY,
        items=[
            DangerousCargoItem(i + 1, un, "3", container=c)
            for i, (c, un) in enumerate(items.items())
        ],
    )


def filed(
    journal: SqliteJournal, doc: Document, policy: CallPolicy = POLICY, **kw: object
) -> calls.Filing:
    filing = calls.file(journal, policy, doc, f"in-{doc.header.message_id}", **kw)
    assert filing is not None
    return filing


# ---------------------------------------------------------------- the whole call


def test_the_whole_call_of_the_samples(journal: SqliteJournal) -> None:
    arrival = decoded(SAMPLES / "06-cusrep-cma-cgm-marseille-algiers.edi")
    cargo = decoded(ROOT / "tests" / "data" / "calls" / "cuscar-cma-cgm-tage-algiers.edi")
    goods = decoded(SAMPLES / "07-iftdgn-cma-cgm-paints.edi")
    report = decoded(SAMPLES / "08-coarri-discharge-algiers.edi")

    assert filed(journal, arrival, now=BEFORE_ARRIVAL).problem is None
    call = journal.call(KEY)
    assert call is not None and call.call_reference == "CALL-DZALG-2612-0042"
    assert call.vessel_name == "CMA CGM TAGE" and call.status == ACTIVE

    m = filed(journal, cargo, now=BEFORE_ARRIVAL)
    assert (m.problem, m.flags, m.linked) == (None, [], True)
    assert (
        "linked",
        "CargoManifest MAN-DZALG-2612-0042 linked to call 9454436/0MA1RN1MA/DZALG",
    ) in m.events()
    assert m.headers() == {"x-edigw-call": "9454436/0MA1RN1MA/DZALG"}
    assert [b.transport_document for b in journal.bills(KEY)] == [
        "CMDUMRS0421",
        "CMDUMRS0422",
        "CMDUMRS0423",
    ]

    dg = filed(journal, goods)
    assert (dg.problem, dg.dangerous) == (None, [])  # UN 1263 in CMAU3000009 on both sides

    done = filed(journal, report)
    assert done.problem is None and done.reconciliation is not None
    r = done.reconciliation
    assert (r.declared, r.discharged) == (3, 2)
    [short] = r.discrepancies
    assert (short.kind, short.container) == (SHORT_LANDED, "CMAU3000020")
    assert [b.transport_document for b in short.bills] == ["CMDUMRS0423"]
    assert list(r.by_sender()) == ["apcs"]  # the manifest's sender has it to correct
    assert "1 short-landed, 0 over-landed, 0 mismatched" in r.summary()

    registered = calls.register_mrn(journal, "apcs", "MAN-DZALG-2612-0042", "26DZALG0000421")
    assert registered is not None and registered.mrn == "26DZALG0000421"
    found = journal.manifest_by_mrn("26DZALG0000421")
    assert found is not None and found.document_number == "MAN-DZALG-2612-0042"
    assert calls.register_mrn(journal, "apcs", "MAN-NEVER-FILED", "26DZALG0000999") is None


def test_a_consolidation_keeps_its_master_and_house_sequence_numbers(
    journal: SqliteJournal,
) -> None:
    doc = decoded(ROOT / "tests" / "data" / "cuscar" / "consolidation.edi")
    assert isinstance(doc, CargoManifest)
    filing = filed(journal, doc)
    assert [f.code for f in filing.flags] == ["UNKNOWN_CALL"]
    bills = journal.bills_of_manifest(doc.header.sender, doc.document_number)
    hierarchy = [
        (b.transport_document, b.kind, b.master_sequence_number, b.house_sequence_number)
        for b in bills
    ]
    assert hierarchy == [
        (
            c.transport_document,
            c.transport_document_kind,
            c.master_sequence_number,
            c.house_sequence_number,
        )
        for c in doc.consignments
    ]
    assert any(b.kind == "house" and b.house_sequence_number for b in bills)


# ---------------------------------------------------------------- manifests and their call


def test_a_manifest_before_its_call_is_flagged_and_linked_when_the_call_arrives(
    journal: SqliteJournal,
) -> None:
    early = filed(journal, manifest())
    assert [f.code for f in early.flags] == ["UNKNOWN_CALL"]
    assert (
        early.flags[0].sentence
        == "manifest MAN-1 names call 9454436/0MA1RN1MA/DZALG, which is not announced"
    )
    assert early.headers()["x-edigw-call-flags"] == "UNKNOWN_CALL"
    assert [m.document_number for m in journal.manifests(KEY, linked=False)] == ["MAN-1"]
    assert journal.declared_equipment(KEY) == []  # not linked: not the call's yet

    arrival = filed(journal, vessel_call())
    assert arrival.linked_manifests == [("apcs", "MAN-1")]
    linked = journal.manifests(KEY, linked=True)
    assert [m.document_number for m in linked] == ["MAN-1"]
    assert linked[0].flags == ("UNKNOWN_CALL",)  # customs still sees it came first
    assert {e.container for e in journal.declared_equipment(KEY)} == {"CMAU3000009", "CMAU3000014"}


def test_a_port_that_rejects_manifests_for_unknown_calls(journal: SqliteJournal) -> None:
    settings = load({"calls": {"ports": {"DZORN": {"unknown_call": "reject"}}}}, env={})
    policy = CallPolicy.from_config(settings.config.calls)
    oran = CallKey("9454436", "0MA1RN1MA", "DZORN")
    doc = manifest(key=oran)
    judged = calls.judge(journal, policy, doc)
    assert judged is not None and judged.problem == (
        "UNKNOWN_CALL",
        "manifest MAN-1 names call 9454436/0MA1RN1MA/DZORN, which is not announced",
    )
    assert filed(journal, doc, policy).problem == judged.problem
    assert journal.call_manifest("apcs", "MAN-1") is None  # refused: nothing written
    # Algiers keeps the default: accepted and flagged.
    assert [f.code for f in filed(journal, manifest("MAN-2"), policy).flags] == ["UNKNOWN_CALL"]
    # A manifest that names no call at all is refused where unknown calls are.
    nameless = manifest("MAN-3", key=None)
    nameless.port_of_call = "DZORN"
    assert filed(journal, nameless, policy).problem == (
        "UNKNOWN_CALL",
        "manifest MAN-3 does not name its call (IMO number, voyage and port of call)",
    )


def test_a_manifest_whose_eta_is_outside_the_window_is_not_linked(journal: SqliteJournal) -> None:
    policy = CallPolicy(PortPolicy(eta_window=dt.timedelta(hours=24)))
    filed(journal, vessel_call(), policy)
    a_year_later = filed(journal, manifest(eta=ETA + dt.timedelta(days=365)), policy)
    assert not a_year_later.linked
    assert a_year_later.flags[0].sentence == (
        "manifest MAN-1 expects arrival at 2027-12-01T07:00:00+00:00, more than 24 hours from "
        "the ETA 2026-12-01T07:00:00+00:00 of call 9454436/0MA1RN1MA/DZALG (CALL-1)"
    )
    within = filed(journal, manifest("MAN-2", eta=ETA + dt.timedelta(hours=20)), policy)
    assert within.linked and within.flags == []


def test_a_correction_after_the_actual_arrival_is_flagged(journal: SqliteJournal) -> None:
    filed(journal, vessel_call(ata=ATA))
    assert filed(journal, manifest(), now=BEFORE_ARRIVAL).flags == []
    before = filed(journal, manifest(function="change"), now=BEFORE_ARRIVAL)
    assert before.flags == [] and before.linked
    after = filed(journal, manifest(function="replace"), now=AFTER_ARRIVAL)
    assert [f.code for f in after.flags] == ["POST_ARRIVAL"]
    assert after.flags[0].sentence == (
        "replace of manifest MAN-1 filed at 2026-12-01T12:00:00+00:00, after the call's "
        "actual arrival at 2026-12-01T06:40:00+00:00"
    )
    record = journal.call_manifest("apcs", "MAN-1")
    assert record is not None and record.flags == ("POST_ARRIVAL",) and record.linked_at
    # A late original is no correction.
    assert filed(journal, manifest("MAN-2"), now=AFTER_ARRIVAL).flags == []


def test_a_cancelled_manifest_no_longer_counts_for_the_call(journal: SqliteJournal) -> None:
    filed(journal, vessel_call())
    filed(journal, manifest())
    calls.register_mrn(journal, "apcs", "MAN-1", "26DZALG0000001")
    filed(journal, manifest(function="cancel"))
    record = journal.call_manifest("apcs", "MAN-1")
    assert record is not None and record.status == CANCELLED
    assert record.mrn == "26DZALG0000001"  # the registration stays on the record
    assert journal.declared_equipment(KEY) == [] and journal.bills(KEY) == []


def test_a_redelivered_document_changes_nothing(journal: SqliteJournal) -> None:
    doc = manifest()
    first = filed(journal, doc)
    again = filed(journal, doc)
    assert (first.redelivery, again.redelivery) == (False, True)
    record = journal.call_manifest("apcs", "MAN-1")
    assert record is not None and record.flags == ("UNKNOWN_CALL",) and record.bill_count == 2
    call = vessel_call()
    filed(journal, call)
    assert filed(journal, call).redelivery


# ---------------------------------------------------------------- one interchange, in order


def test_a_call_announced_earlier_in_the_same_interchange_counts(journal: SqliteJournal) -> None:
    policy = CallPolicy(PortPolicy("reject"))
    together = calls.judge_all(journal, policy, [vessel_call(), manifest(), dangerous()])
    assert [f.problem if f else "-" for f in together] == [None, None, None]
    assert together[1] is not None and together[1].linked
    assert journal.call(KEY) is None  # judged: nothing written
    # Order matters: a notification before its call is refused, the call after it is not.
    first = calls.judge_all(journal, policy, [dangerous(), vessel_call()])
    assert [f.problem[0] if f and f.problem else None for f in first] == ["UNKNOWN_CALL", None]
    assert calls.judge_all(journal, policy, [manifest()])[0].problem[0] == "UNKNOWN_CALL"  # type: ignore[union-attr]
    # Two calls for one key in one interchange: the second is a duplicate.
    twice = calls.judge_all(journal, policy, [vessel_call("CALL-1"), vessel_call("CALL-2")])
    assert [f.problem[0] if f and f.problem else None for f in twice] == [None, "DUPLICATE"]


def test_one_interchange_filed_at_once(journal: SqliteJournal) -> None:
    docs: list[Document] = [
        vessel_call(),
        manifest(),
        dangerous(),
        discharge(movements={"CMAU3000009": ("SL-009", Decimal(10000))}),
    ]
    filings = calls.file_all(journal, POLICY, docs, "in-1")
    assert [f.problem if f else "-" for f in filings] == [None, None, None, None]
    assert filings[1] is not None and filings[1].linked
    report = filings[3]
    assert report is not None and report.reconciliation is not None
    assert [(d.kind, d.container) for d in report.reconciliation.discrepancies] == [
        (SHORT_LANDED, "CMAU3000014")
    ]
    ferry = PassengerVehicleList(header("PassengerVehicleList", "PAX-1"), "PAX-1")
    assert calls.file_all(journal, POLICY, [ferry], "in-2") == [None]  # not a call document


# ---------------------------------------------------------------- calls


def test_a_second_call_for_the_same_key_is_refused(journal: SqliteJournal) -> None:
    filed(journal, vessel_call("CALL-1"))
    other = vessel_call("CALL-2")
    expected = (
        "DUPLICATE",
        "call 9454436/0MA1RN1MA/DZALG was already announced as CALL-1 by apcs (message "
        f"{journal.call(KEY).message_id}): amend that call (BGM function 5) or cancel it first",
    )
    judged = calls.judge(journal, POLICY, other)
    assert judged is not None and judged.problem == expected
    assert filed(journal, other).problem == expected
    assert journal.call(KEY).call_reference == "CALL-1"
    # Once the first is cancelled, the key is free for another call.
    filed(journal, vessel_call("CALL-1", function="cancel"))
    assert journal.call(KEY).status == CANCELLED
    assert filed(journal, vessel_call("CALL-2")).problem is None
    assert journal.call(KEY).call_reference == "CALL-2"


def test_a_manifest_for_a_cancelled_call_is_flagged(journal: SqliteJournal) -> None:
    filed(journal, vessel_call())
    filed(journal, vessel_call(function="cancel"))
    filing = filed(journal, manifest())
    assert filing.flags[0].sentence == (
        "manifest MAN-1 names call 9454436/0MA1RN1MA/DZALG, which was cancelled (CALL-1)"
    )


def test_a_replacement_that_corrects_the_key_moves_the_call(journal: SqliteJournal) -> None:
    wrong = CallKey("9454436", "0MA1RN1", "DZALG")
    filed(journal, vessel_call(key=wrong))
    filed(journal, manifest(key=wrong))
    filed(journal, manifest("MAN-2"))  # names the right key, waits for it
    moved = filed(journal, vessel_call(key=KEY, function="replace"))
    assert moved.unlinked_manifests == [("apcs", "MAN-1")]
    assert moved.linked_manifests == [("apcs", "MAN-2")]
    assert journal.call(wrong) is None
    assert [m.document_number for m in journal.manifests(wrong, linked=False)] == ["MAN-1"]


# ---------------------------------------------------------------- dangerous goods, terminals


def test_dangerous_goods_for_an_unknown_call_are_refused_until_it_is_announced(
    journal: SqliteJournal,
) -> None:
    doc = dangerous()
    refused = filed(journal, doc)
    assert refused.problem == (
        "UNKNOWN_CALL",
        "dangerous goods notification DG-1 is for call 9454436/0MA1RN1MA/DZALG, which is not "
        "announced; replay it once the call is announced",
    )
    assert journal.notified_dangerous(KEY) == []
    filed(journal, vessel_call())
    assert filed(journal, doc).problem is None  # the replay
    assert [i.un_number for i in journal.notified_dangerous(KEY)] == ["1263"]


def test_dangerous_goods_are_cross_checked_with_the_manifests(journal: SqliteJournal) -> None:
    filed(journal, vessel_call())
    filed(journal, manifest())  # UN 1263 in CMAU3000009
    filing = filed(journal, dangerous(items={"CMAU3000009": "1263", "CMAU3000014": "1203"}))
    assert [(d.kind, d.container, d.un_numbers) for d in filing.dangerous] == [
        (DG_NOT_DECLARED, "CMAU3000014", ("1203",))
    ]
    # Reported to customs with the routed notification, as its call flags are (with the code
    # the first release used for the kind).
    assert filing.headers()["x-edigw-call-flags"] == "DG_NOT_DECLARED,NOT_DECLARED"
    assert filing.headers()["x-edigw-dangerous-goods"] == "DG_NOT_DECLARED CMAU3000014 UN 1203"
    amended = filed(
        journal,
        dataclasses.replace(
            dangerous(items={}), header=header("DangerousGoodsNotification", "DG-1", "replace", 2)
        ),
    )
    assert [(d.kind, d.container, d.un_numbers) for d in amended.dangerous] == [
        (DG_NOT_NOTIFIED, "CMAU3000009", ("1263",))
    ]
    assert amended.dangerous[0].sentence == (
        "UN 1263 in container CMAU3000009 is declared on bill BL-1 (MAN-1) and in no dangerous "
        "goods notification of the call"
    )


def test_a_terminal_report_for_an_unknown_call_is_refused(journal: SqliteJournal) -> None:
    filing = filed(journal, discharge(movements={"CMAU3000009": ("SL-009", Decimal(10000))}))
    assert filing.problem is not None and filing.problem[0] == "UNKNOWN_CALL"
    assert journal.movements(KEY, "discharge") == []


def test_discharge_is_reconciled_per_container_and_bill(journal: SqliteJournal) -> None:
    filed(journal, vessel_call())
    filed(
        journal,
        manifest(
            containers={
                "CMAU3000009": ("BL-1", None),
                "CMAU3000014": ("BL-2", None),
                "CMAU3000020": ("BL-3", None),
            }
        ),
    )
    partial = filed(
        journal, discharge("DIS-1", {"CMAU3000009": ("SL-009", Decimal("10400"))}, complete=False)
    )
    assert partial.reconciliation is None  # not complete: nothing reconciled yet
    done = filed(
        journal,
        discharge(
            "DIS-2",
            {
                "CMAU3000014": ("XX-999", Decimal("10600")),
                "TGHU1000018": ("SL-018", Decimal("9000")),
            },
        ),
    )
    r = done.reconciliation
    assert r is not None
    found = sorted((d.kind, d.container) for d in r.discrepancies)
    assert found == [
        (OVER_LANDED, "TGHU1000018"),
        (SEAL_MISMATCH, "CMAU3000014"),
        (SHORT_LANDED, "CMAU3000020"),
        (WEIGHT_MISMATCH, "CMAU3000014"),  # 6% off; CMAU3000009's 4% is within the 5%
    ]
    weight = r.of_kind(WEIGHT_MISMATCH)[0]
    assert (weight.declared, weight.discharged) == ("10000", "10600")
    # A wider tolerance lets the weight through.
    wide = reconcile(journal, Decimal(10), KEY)
    assert WEIGHT_MISMATCH not in {d.kind for d in wide.discrepancies}


def test_a_container_declared_to_stay_on_board_is_not_short_landed(journal: SqliteJournal) -> None:
    filed(journal, vessel_call())
    doc = manifest()
    doc.consignments[1].place_of_discharge = "DZORN"  # CMAU3000014 goes on to Oran
    filed(journal, doc)
    r = filed(
        journal, discharge(movements={"CMAU3000009": ("SL-009", Decimal(10000))})
    ).reconciliation
    assert r is not None and (r.declared, r.discrepancies) == (1, [])
    landed = filed(journal, discharge("DIS-2", {"CMAU3000014": ("SL-014", Decimal(10000))}))
    assert landed.reconciliation is not None
    [over] = landed.reconciliation.discrepancies
    assert (over.kind, over.container) == (OVER_LANDED, "CMAU3000014")
    assert "declared to stay on board" in over.sentence


# ---------------------------------------------------------------- configuration


def test_the_configured_ports_are_the_domains_country() -> None:
    assert PORT_OF_CALL.pattern.startswith(f"^{domain_calls.PORT_COUNTRY}")
    assert all(PORT_OF_CALL.match(code) for code in domain_calls.ALGERIAN_PORTS)


@pytest.mark.parametrize(
    ("calls_table", "key", "reason"),
    [
        (
            {"unknown_call": "accept"},
            "calls.unknown_call",
            "must be one of 'accept_flagged' or 'reject'",
        ),
        ({"eta_window_hours": 0}, "calls.eta_window_hours", "must be at least 1"),
        ({"eta_window_hours": "72"}, "calls.eta_window_hours", "must be a whole number"),
        (
            {"weight_tolerance_percent": 101},
            "calls.weight_tolerance_percent",
            "must be at most 100",
        ),
        (
            {"ports": {"ESVLC": {}}},
            "calls.ports.ESVLC",
            "must be the UN/LOCODE of a port of Algeria",
        ),
        ({"ports": {"DZALG": {"unknown": "reject"}}}, "calls.ports.DZALG.unknown", "unknown key"),
        (
            {"reconcile_after": 4},
            "calls.reconcile_after",
            "unknown key (did you mean 'reconcile_after_hours'?)",
        ),
    ],
)
def test_a_bad_calls_configuration_is_refused(
    calls_table: dict[str, object], key: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load({"calls": calls_table}, env={})
    assert re.match(rf"{re.escape(key)}: {re.escape(reason)}", str(refused.value)), str(
        refused.value
    )


def test_the_default_configuration_accepts_and_flags() -> None:
    policy = CallPolicy.from_config(load(env={}).config.calls)
    assert policy.port("DZALG") == PortPolicy("accept_flagged", dt.timedelta(hours=72))
    assert (policy.reconcile_after, policy.weight_tolerance_percent) == (
        dt.timedelta(hours=48),
        Decimal(5),
    )
