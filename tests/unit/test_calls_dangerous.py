"""A call's dangerous goods, notifications against manifests (issue #17, point 4; docs/calls.md).

* The pure cross-check (``call_dangerous.check_dangerous``): its three kinds, extra numbers on
  one side, goods in no container, groupage, whose each discrepancy is.
* The re-checks as documents are filed (``calls.file`` on an SQLite journal in memory): none
  before the call has a notification; a notification, a manifest correction and a
  cancellation each check again, recorded on the call (``calls show``); a redelivery does not.
* Through the decision service (no broker): a manifest filed after the IFTDGN with another UN
  number on the notified container: the manifest's publish carries it in its headers, its
  sender gets an APERAK (GW406), and the discharge report's signed ManifestDiscrepancyReport
  carries it (schema-valid, both ways of the mapping).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

from adapters import aperak
from gateway.domain.call_discrepancies import DiscrepancyNotification
from gateway.domain.canonical_xml import from_xml, to_bytes, to_xml
from gateway.service.call_dangerous import (
    DG_NOT_DECLARED,
    DG_NOT_NOTIFIED,
    DG_UN_NUMBER_MISMATCH,
    Bill,
    DangerousDiscrepancy,
    by_manifest,
    check_dangerous,
)
from gateway.service.call_view import view
from gateway.service.calls import CallPolicy
from gateway.service.decision import DecisionService
from gateway.storage.call_records import DeclaredEquipment, NotifiedDangerous
from gateway.storage.journal import SqliteJournal
from gateway.storage.spool import content
from tests.helpers import assert_valid_aperak
from tests.unit.test_calls_report import (  # noqa: F401  (service: the fixture)
    MANIFEST,
    of_type,
    routed,
    service,
    signed_report,
)
from tests.unit.test_calls_service import (
    ETA,
    KEY,
    SAMPLES,
    dangerous,
    filed,
    header,
    journal,  # noqa: F401  (the fixture)
    manifest,
    vessel_call,
)
from tests.unit.test_decision_service import arrive, carried_out


def declared(container: str, bill: str, *un: str, sender: str = "apcs") -> DeclaredEquipment:
    return DeclaredEquipment(sender, "MAN-1", 0, container, bill, un_numbers=un)


def notified(container: str | None, un: str, number: str = "DG-1") -> NotifiedDangerous:
    return NotifiedDangerous("apcs", number, 1, un, "3", container=container)


def kinds(
    found: list[DangerousDiscrepancy],
) -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    return [(d.kind, d.container, d.declared, d.notified) for d in found]


# ---------------------------------------------------------------- the pure cross-check


def test_notified_and_declared_alike_is_no_discrepancy() -> None:
    assert (
        check_dangerous(
            [notified("CMAU3000009", "1263")], [declared("CMAU3000009", "BL-1", "1263")]
        )
        == []
    )
    assert check_dangerous([], [declared("CMAU3000014", "BL-2")]) == []  # no dangerous goods


def test_a_un_number_on_one_side_only() -> None:
    found = check_dangerous(
        [notified("CMAU3000009", "1263"), notified("CMAU3000020", "1203")],
        [declared("CMAU3000009", "BL-1", "1263"), declared("CMAU3000014", "BL-2", "1866")],
    )
    assert kinds(found) == [
        (DG_NOT_NOTIFIED, "CMAU3000014", ("1866",), ()),
        (DG_NOT_DECLARED, "CMAU3000020", (), ("1203",)),
    ]
    not_notified, not_declared = found
    assert not_notified.bills == (Bill("apcs", "MAN-1", "BL-2"),) and not not_notified.notifications
    assert (
        not_declared.notifications == (DiscrepancyNotification("apcs", "DG-1"),)
        and not not_declared.bills
    )
    assert not_declared.sentence == (
        "UN 1203 in container CMAU3000020 is notified (DG-1) and declared on no manifest of the call"
    )


def test_the_same_container_with_other_un_numbers_is_one_mismatch() -> None:
    [mismatch] = check_dangerous(
        [notified("CMAU3000009", "1263")], [declared("CMAU3000009", "BL-1", "1993")]
    )
    assert kinds([mismatch]) == [(DG_UN_NUMBER_MISMATCH, "CMAU3000009", ("1993",), ("1263",))]
    assert mismatch.sentence == (
        "container CMAU3000009 is declared with UN 1993 (bill BL-1 (MAN-1)) and notified with "
        "UN 1263 (DG-1)"
    )
    assert mismatch.flags() == [DG_UN_NUMBER_MISMATCH]
    assert mismatch.label() == "DG_UN_NUMBER_MISMATCH CMAU3000009 UN 1993 notified 1263"


def test_extra_numbers_on_one_side_are_not_a_mismatch() -> None:
    found = check_dangerous(
        [notified("CMAU3000009", "1263")], [declared("CMAU3000009", "BL-1", "1263", "1993")]
    )
    assert kinds(found) == [(DG_NOT_NOTIFIED, "CMAU3000009", ("1993",), ())]
    assert found[0].flags() == [DG_NOT_NOTIFIED, "NOT_NOTIFIED"]  # and the first release's code


def test_goods_in_no_container_are_matched_by_un_number_alone() -> None:
    found = check_dangerous(
        [notified(None, "1203"), notified(None, "1263")], [declared("", "BL-9", "1263", "1993")]
    )
    assert kinds(found) == [
        (DG_NOT_NOTIFIED, "", ("1993",), ()),
        (DG_NOT_DECLARED, "", (), ("1203",)),
    ]
    assert "goods in no container" in found[0].sentence
    assert found[1].label() == "DG_NOT_DECLARED - UN 1203"


def test_a_container_of_several_bills_and_whose_each_discrepancy_is() -> None:
    found = check_dangerous(
        [notified("CMAU3000009", "1263", "DG-1"), notified("CMAU3000009", "1263", "DG-2"),
         notified("TGHU0000001", "1203")],
        [declared("CMAU3000009", "BL-1", "1993"), declared("CMAU3000009", "BL-7", "1993", sender="msc")],
    )  # fmt: skip
    mismatch, not_declared = found
    assert mismatch.bills == (Bill("apcs", "MAN-1", "BL-1"), Bill("msc", "MAN-1", "BL-7"))
    assert [n.document_number for n in mismatch.notifications] == ["DG-1", "DG-2"]
    assert by_manifest(found) == {("apcs", "MAN-1"): [mismatch], ("msc", "MAN-1"): [mismatch]}
    assert not_declared.kind == DG_NOT_DECLARED  # nobody's: customs alone


# ---------------------------------------------------------------- checked again, recorded


def test_each_filing_after_a_notification_checks_again_and_is_recorded(
    journal: SqliteJournal,  # noqa: F811
) -> None:
    filed(journal, vessel_call())
    first = filed(journal, manifest())  # UN 1263 in CMAU3000009; no notification yet
    assert first.dangerous_check is None and journal.dangerous_checks(KEY) == []
    notification = filed(journal, dangerous())
    assert notification.dangerous_check is not None and notification.dangerous == []
    # The manifest corrected after the notification: CMAU3000009 now declares UN 1993.
    correction = dataclasses.replace(
        manifest(containers={"CMAU3000009": ("BL-1", "1993"), "CMAU3000014": ("BL-2", None)}),
        header=header("CargoManifest", "MAN-1", "replace", 2),
    )
    again = filed(journal, correction)
    check = again.dangerous_check
    assert check is not None and check.manifest == ("apcs", "MAN-1")
    assert kinds(again.dangerous) == [(DG_UN_NUMBER_MISMATCH, "CMAU3000009", ("1993",), ("1263",))]
    assert again.headers()["x-edigw-call-flags"] == DG_UN_NUMBER_MISMATCH
    assert ("flagged", check.summary()) in again.events()
    assert check.summary().endswith("0 not notified, 0 not declared, 1 UN number mismatch(es)")
    # A redelivery files nothing, so checks nothing again.
    assert filed(journal, correction).dangerous_check is None
    # The manifest cancelled: what is notified is on no manifest.
    cancelled = filed(
        journal,
        dataclasses.replace(manifest(), header=header("CargoManifest", "MAN-1", "cancel", 3)),
    )
    assert kinds(cancelled.dangerous) == [(DG_NOT_DECLARED, "CMAU3000009", (), ("1263",))]
    assert cancelled.headers()["x-edigw-call-flags"] == "DG_NOT_DECLARED,NOT_DECLARED"

    checks = journal.dangerous_checks(KEY)
    assert [(c.trigger, c.discrepancy_count) for c in checks] == [
        ("DangerousGoodsNotification DG-1 from apcs", 0),
        ("CargoManifest MAN-1 from apcs", 1),
        ("CargoManifest MAN-1 from apcs", 1),
    ]
    assert [c.message_id for c in checks[1:]] == [
        correction.header.message_id,
        cancelled.dangerous_check.trigger_id if cancelled.dangerous_check else "",
    ]
    assert json.loads(checks[1].discrepancies)[0]["kind"] == DG_UN_NUMBER_MISMATCH
    # calls show (and the console, which reads the same view) lists them.
    call = journal.call(KEY)
    assert call is not None
    shown = view(journal, CallPolicy(), call).to_json()
    listed = shown["dangerous_goods_checks"]
    assert isinstance(listed, list) and len(listed) == 3
    assert listed[1]["discrepancies"][0]["declared"] == ["1993"]


def test_a_call_linking_a_waiting_manifest_checks_again(journal: SqliteJournal) -> None:  # noqa: F811
    filed(journal, vessel_call())
    filed(journal, dangerous())
    # A manifest whose ETA is too far from the call's waits; the call amended links it.
    later = ETA + dt.timedelta(days=8)
    waiting = filed(journal, manifest(eta=later, containers={"CMAU3000009": ("BL-1", "1993")}))
    assert waiting.linked is False and waiting.dangerous_check is None
    amended = dataclasses.replace(
        vessel_call(function="replace", eta=later),
        header=header("VesselCall", "CALL-1", "replace", 2),
    )
    linking = filed(journal, amended)
    assert linking.linked_manifests == [("apcs", "MAN-1")]
    assert linking.dangerous_check is not None and linking.dangerous_check.manifest is None
    assert [d.kind for d in linking.dangerous] == [DG_UN_NUMBER_MISMATCH]


# ---------------------------------------------------------------- through the decision service


def test_a_manifest_after_the_notification_is_told_to_its_sender_and_in_the_report(
    service: DecisionService,  # noqa: F811
    tmp_path: Path,
) -> None:
    routed(service, SAMPLES / "06-cusrep-cma-cgm-marseille-algiers.edi", "in-cusrep")
    routed(service, SAMPLES / "07-iftdgn-cma-cgm-paints.edi", "in-iftdgn")
    # The manifest declares UN 1993 in the container the notification has with UN 1263.
    cuscar = MANIFEST.read_bytes().replace(b"DGS+IMD+3+1263", b"DGS+IMD+3+1993")
    plan = arrive(service, cuscar, "in-cuscar")
    assert plan.outcome == "routed", plan.detail
    [document] = of_type(plan, "CargoManifest")
    assert DG_UN_NUMBER_MISMATCH in document.headers["x-edigw-call-flags"].split(",")
    assert document.headers["x-edigw-dangerous-goods"] == (
        "DG_UN_NUMBER_MISMATCH CMAU3000009 UN 1993 notified 1263"
    )
    [answer] = of_type(plan, "APERAK")
    data = content(answer.body)
    assert_valid_aperak(data)
    assert b"GW406" in data
    told = aperak.decode(data)
    assert told.accepted and told.document_number == "MAN-DZALG-2612-0042"
    assert [e.code for e in told.errors] == [DG_UN_NUMBER_MISMATCH]
    assert "CMDUMRS0421" in told.errors[0].text and "UN 1263" in told.errors[0].text
    carried_out(service, plan)
    # Recorded on the call: the notification's check (nothing declared yet), the manifest's.
    assert [(c.trigger, c.discrepancy_count) for c in service.journal.dangerous_checks(KEY)] == [
        ("DangerousGoodsNotification DG-DZALG-2612-0042 from apcs", 1),
        ("CargoManifest MAN-DZALG-2612-0042 from apcs", 1),
    ]

    # The terminal reports the discharge complete: the report carries the mismatch too.
    discharge = routed(service, SAMPLES / "08-coarri-discharge-algiers.edi", "in-coarri")
    [report] = of_type(discharge, "ManifestDiscrepancyReport")
    doc = signed_report(report, tmp_path)
    [goods] = doc.dangerous_goods
    assert (goods.kind, goods.container, goods.declared, goods.notified) == (
        DG_UN_NUMBER_MISMATCH,
        "CMAU3000009",
        ("1993",),
        ("1263",),
    )
    assert [(b.manifest_number, b.transport_document) for b in goods.bills] == [
        ("MAN-DZALG-2612-0042", "CMDUMRS0421")
    ]
    assert goods.notifications == [DiscrepancyNotification("apcs", "DG-DZALG-2612-0042")]
    assert from_xml(to_bytes(to_xml(doc))) == doc
    # The manifest's sender's APERAK of the reconciliation lists both of its discrepancies.
    [again] = of_type(discharge, "APERAK")
    assert [e.code for e in aperak.decode(content(again.body)).errors] == [
        "SHORT_LANDED",
        DG_UN_NUMBER_MISMATCH,
    ]
