"""Ship calls through the running gateway and the real broker (issue #17, docs/calls.md).

* The whole call at Algiers: a manifest that arrives before its call is accepted and flagged
  ``UNKNOWN_CALL``; a dangerous goods notification for the unknown call is dead-lettered
  ``UNKNOWN_CALL`` and replayed (``edigw dlq replay``) once the CUSREP announced the call,
  which also links the waiting manifest; customs answers the manifest with its MRN (a CUSRES
  to the sender, ``edigw track MRN``); the call's actual arrival, then a manifest correction
  flagged ``POST_ARRIVAL``; the terminal's COARRI reports the discharge complete and the
  reconciliation finds one short-landed container (``edigw calls show``): the signed
  ManifestDiscrepancyReport reaches customs, and the manifest's sender (apcs, not the
  terminal) gets an APERAK naming the container.
* APCS's XML: a terminal report for a call not announced is dead-lettered and answered by a
  signed XML Acknowledgement; the XML arrival announces the call; ``edigw dlq replay`` routes
  the report, which reconciles the call.
* Customs answers the ManifestDiscrepancyReport itself (a CustomsResponse naming it): the
  answer is recorded on the call (``calls show``), forwarded to nobody, not dead-lettered.
* ``edigw run`` reconciles a call ``reconcile_after_hours`` after its actual arrival when no
  terminal reports (its timer, ``[calls] reconcile_check_seconds``).
* Dangerous goods (point 4): a manifest filed after the IFTDGN with another UN number on the
  notified container is checked again (headers, an APERAK GW406, the check on the call) and
  the mismatch reaches customs in the signed ManifestDiscrepancyReport.
* A port configured to reject manifests for unknown calls: the manifest is dead-lettered
  ``UNKNOWN_CALL`` with an APERAK, and its replay after the CUSREP is routed and linked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from adapters import aperak, cusres
from gateway.domain.calls import ManifestDiscrepancyReport
from gateway.domain.canonical_xml import from_xml, to_bytes, to_xml
from gateway.domain.model import Acknowledgement, CustomsResponse, Header
from gateway.interfaces.cli import main
from gateway.messaging import broker
from gateway.storage.journal import derived_id
from tests.e2e.test_faults_support import (
    cleanup_topologies,  # noqa: F401  (autouse: deletes each test's queues)
    count,
    declare_topology,
    delete_queue,
    done_count,
    drain,
    names_of,
    submit,
    wait_until,
    worker_thread,
)
from tests.helpers import assert_valid_aperak, xmlsec_verify

pytestmark = [pytest.mark.broker]
ROOT = Path(__file__).resolve().parents[2]
CUSREP = (ROOT / "samples/apcs/06-cusrep-cma-cgm-marseille-algiers.edi").read_bytes()
IFTDGN = (ROOT / "samples/apcs/07-iftdgn-cma-cgm-paints.edi").read_bytes()
COARRI = (ROOT / "samples/apcs/08-coarri-discharge-algiers.edi").read_bytes()
CUSCAR = (ROOT / "tests/data/calls/cuscar-cma-cgm-tage-algiers.edi").read_bytes()
CALL = "9454436/0MA1RN1MA"
MRN = "26DZALG0000421"
DISCREPANCY_REPORT = ManifestDiscrepancyReport.DOCUMENT_TYPE


def edigw(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout


def show(env: dict[str, str]) -> dict[str, Any]:
    code, out = edigw(env, "calls", "show", CALL, "--json")
    assert code == 0, out
    shown: dict[str, Any] = json.loads(out)
    return shown


def routed_headers(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The documents on customs.core, by business reference: their headers (the last one)."""
    return {
        props.headers["x-edigw-business-reference"]: props.headers
        for props, _ in drain(env, names_of(env).customs_core)
    }


def publish_mrn(env: dict[str, str], manifest_id: str) -> None:
    response = CustomsResponse(
        Header.new(sender="customs", document_type="CustomsResponse", business_reference=MRN),
        MRN,
        "accepted",
        manifest_id,
        "MAN-DZALG-2612-0042",
        channel="green",
    )
    publish_response(env, response, "cr-mrn")


def publish_response(env: dict[str, str], response: CustomsResponse, message_id: str) -> None:
    """``response`` published by customs on its exchange, key ``responses``."""
    connection = broker.connect(env["EDIGW_AMQP_URL"], attempts=5)
    try:
        broker.publish(
            broker.confirmed_channel(connection),
            names_of(env).customs_exchange,
            "responses",
            to_bytes(to_xml(response)),
            message_id=message_id,
            content_type="application/xml",
            type="CustomsResponse",
        )
    finally:
        connection.close()


def configured(gateway_env: dict[str, str], tmp_path: Path, toml: str) -> dict[str, str]:
    """The gateway's environment with ``toml`` as its configuration, its topology declared."""
    config = tmp_path / "gateway.toml"
    config.write_text(toml, encoding="utf-8")
    gateway_env["EDIGW_CONFIG"] = str(config)  # the clean-up reads the same topology
    env = {**gateway_env}
    declare_topology(env)
    return env


def amended(data: bytes, reference: bytes, *, extra: bytes = b"") -> bytes:
    """``data`` as a replacement (BGM function 5) in interchange ``reference``, with ``extra``
    segments after the BGM (the UNT count left as it was: corrected below)."""
    head, bgm, tail = data.partition(b"BGM+")
    bgm_end = tail.index(b"'") + 1
    segment = tail[:bgm_end].replace(b"+9'", b"+5'")
    out = head + bgm + segment + extra + tail[bgm_end:]
    if extra:
        count = out.split(b"UNT+")[1].split(b"+")[0]
        added = extra.count(b"'")
        out = out.replace(b"UNT+" + count, b"UNT+" + str(int(count) + added).encode())
    for old in (b"AP000005", b"AP000006"):
        out = out.replace(old, reference)
    return out


def test_the_whole_call_through_the_broker(gateway_env: dict[str, str], tmp_path: Path) -> None:
    env = gateway_env
    names = names_of(env)
    declare_topology(env)
    manifest_id = derived_id("cl-cuscar", 0)
    with worker_thread(env) as worker:
        # The manifest before its call: accepted, flagged UNKNOWN_CALL.
        submit(env, [("cl-cuscar", CUSCAR)])
        wait_until(lambda: done_count(env) >= 1, 30, "the manifest decided")
        early = routed_headers(env)["MAN-DZALG-2612-0042"]
        assert early["x-edigw-call-flags"] == "UNKNOWN_CALL"
        assert early["x-edigw-call"] == f"{CALL}/DZALG"
        # Dangerous goods for a call nobody announced: dead-lettered UNKNOWN_CALL.
        submit(env, [("cl-iftdgn", IFTDGN)])
        wait_until(lambda: done_count(env) >= 2, 30, "the notification decided")
        dlq = names.dead_letter(names.inbound("apcs"))
        assert edigw(env, "dlq", "list", "--reason", "UNKNOWN_CALL")[0] == 0
        # The call is announced: routed, and the waiting manifest linked.
        submit(env, [("cl-cusrep", CUSREP)])
        wait_until(lambda: done_count(env) >= 3, 30, "the call decided")
        assert routed_headers(env)["CALL-DZALG-2612-0042"]["x-edigw-call"] == f"{CALL}/DZALG"
        [manifest] = show(env)["manifests"]
        assert manifest["linked_at"] is not None and manifest["flags"] == ["UNKNOWN_CALL"]
        # The dead letter replayed: the call exists now.
        code, out = edigw(env, "dlq", "replay", "--reason", "UNKNOWN_CALL")
        assert code == 0, out
        wait_until(lambda: done_count(env) >= 4, 30, "the replayed notification decided")
        assert "DG-DZALG-2612-0042" in routed_headers(env)
        # Customs registers the manifest: its MRN goes back in a CUSRES and is recorded.
        drain(env, names.outbound("apcs"))
        publish_mrn(env, manifest_id)
        answers = wait_until(lambda: drain(env, names.outbound("apcs")), 30, "the CUSRES")
        # The ship arrives (a replacement of the call with its ATA), then a correction.
        ata = b"DTM+178:202612010640:203'"
        submit(env, [("cl-cusrep-ata", amended(CUSREP, b"AP000016", extra=ata))])
        wait_until(lambda: done_count(env) >= 6, 30, "the arrival decided")
        correction = amended(CUSCAR, b"AP000015").replace(b"PAINT IN DRUMS", b"PAINT, DRUMS")
        submit(env, [("cl-cuscar-5", correction)])
        wait_until(lambda: done_count(env) >= 7, 30, "the correction decided")
        late = routed_headers(env)
        drain(env, names.outbound("apcs"))
        # The terminal reports the discharge complete: the call is reconciled and told.
        submit(env, [("cl-coarri", COARRI)], partner="terminal-djendjen")
        wait_until(lambda: done_count(env) >= 8, 30, "the discharge report decided")
        at_customs = drain(env, names.customs_core)
        told = wait_until(lambda: drain(env, names.outbound("apcs")), 30, "the APERAK")
        letters = drain(env, dlq)
        code, track = edigw(env, "track", MRN)
        cert = worker.gw.settings.signing_cert

    assert letters == []  # the replayed notification's letter is gone, nothing new
    [(props, cusres_bytes)] = answers
    assert props.type == "CUSRES"
    assert cusres.decode(cusres_bytes).registration_number == MRN
    assert f"RFF+ABT:{MRN}'".encode() in cusres_bytes
    assert code == 0 and f"MRN {MRN}: manifest MAN-DZALG-2612-0042 from apcs" in track
    assert "POST_ARRIVAL" in late["MAN-DZALG-2612-0042"]["x-edigw-call-flags"]

    shown = show(env)
    assert shown["ata"] is not None and shown["version"] == 2
    [manifest] = shown["manifests"]
    assert (manifest["version"], manifest["mrn"]) == (2, MRN)
    assert "POST_ARRIVAL" in manifest["flags"]
    reconciliation = shown["reconciliation"]
    assert reconciliation["state"] == "final"
    assert [(d["kind"], d["container"]) for d in reconciliation["discrepancies"]] == [
        ("SHORT_LANDED", "CMAU3000020")
    ]
    # The dangerous goods cross-check: notified and declared agree.
    assert [n["un_number"] for n in shown["dangerous_goods"]] == ["1263"]
    assert shown["dangerous_goods_discrepancies"] == []

    # The discrepancy report at customs: signed, one short-landed container, the bill's MRN.
    assert [props.type for props, _ in at_customs] == [
        "TerminalOperationsReport",
        "ManifestDiscrepancyReport",
    ]
    report_props, report_body = at_customs[1]
    assert report_props.headers["x-edigw-call"] == f"{CALL}/DZALG"
    verified = xmlsec_verify(report_body, cert, tmp_path)
    assert verified.returncode == 0, verified.stderr
    report = from_xml(report_body)
    assert isinstance(report, ManifestDiscrepancyReport) and report.basis == "discharge_complete"
    [short] = report.discrepancies
    assert (short.kind, short.container) == ("SHORT_LANDED", "CMAU3000020")
    assert [(b.transport_document, b.mrn) for b in short.bills] == [("CMDUMRS0423", MRN)]
    # The manifest's sender (apcs, not the terminal) is told what is its to correct.
    [(aperak_props, aperak_bytes)] = told
    assert aperak_props.type == "APERAK" and aperak_props.correlation_id == "cl-cuscar-5"
    assert_valid_aperak(aperak_bytes)
    said = aperak.decode(aperak_bytes)
    assert said.document_number == "MAN-DZALG-2612-0042"
    assert [e.code for e in said.errors] == ["SHORT_LANDED"]
    assert "CMAU3000020" in said.errors[0].text


def test_a_manifest_filed_after_the_dangerous_goods_is_cross_checked_to_the_report(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    """Issue #17, point 4: the call, its IFTDGN (UN 1263 in CMAU3000009), then a CUSCAR that
    declares UN 1993 in that container: the manifest is checked again on arrival (its
    headers, an APERAK GW406 to apcs, the check on the call), and the discrepancy reaches
    customs in the signed ManifestDiscrepancyReport once the discharge is complete."""
    env = gateway_env
    names = names_of(env)
    declare_topology(env)
    cuscar = CUSCAR.replace(b"DGS+IMD+3+1263", b"DGS+IMD+3+1993")
    with worker_thread(env) as worker:
        submit(env, [("dg-cusrep", CUSREP)])
        wait_until(lambda: done_count(env) >= 1, 30, "the call decided")
        submit(env, [("dg-iftdgn", IFTDGN)])
        wait_until(lambda: done_count(env) >= 2, 30, "the notification decided")
        drain(env, names.outbound("apcs"))  # their CONTRLs
        submit(env, [("dg-cuscar", cuscar)])
        wait_until(lambda: done_count(env) >= 3, 30, "the manifest decided")
        manifest_headers = routed_headers(env)["MAN-DZALG-2612-0042"]
        answers = drain(env, names.outbound("apcs"))
        submit(env, [("dg-coarri", COARRI)], partner="terminal-djendjen")
        wait_until(lambda: done_count(env) >= 4, 30, "the discharge report decided")
        at_customs = drain(env, names.customs_core)
        told = wait_until(lambda: drain(env, names.outbound("apcs")), 30, "the APERAK")
        letters = drain(env, names.dead_letter(names.inbound("apcs")))
        code, text = edigw(env, "calls", "show", CALL)
        cert = worker.gw.settings.signing_cert

    assert letters == []
    # Customs saw the mismatch with the manifest at once, in its headers.
    assert "DG_UN_NUMBER_MISMATCH" in manifest_headers["x-edigw-call-flags"].split(",")
    assert manifest_headers["x-edigw-dangerous-goods"] == (
        "DG_UN_NUMBER_MISMATCH CMAU3000009 UN 1993 notified 1263"
    )
    # The manifest's sender: a CONTRL, and an APERAK naming what is its to correct.
    assert sorted(props.type for props, _ in answers) == ["APERAK", "CONTRL"]
    [(_, dg_aperak)] = [(p, b) for p, b in answers if p.type == "APERAK"]
    assert_valid_aperak(dg_aperak)
    assert b"GW406" in dg_aperak
    said = aperak.decode(dg_aperak)
    assert said.document_number == "MAN-DZALG-2612-0042"
    assert [e.code for e in said.errors] == ["DG_UN_NUMBER_MISMATCH"]
    # The report customs receives: signed, the short-landed container and the mismatch.
    [(report_props, report_body)] = [(p, b) for p, b in at_customs if p.type == DISCREPANCY_REPORT]
    assert report_props.headers["x-edigw-call"] == f"{CALL}/DZALG"
    verified = xmlsec_verify(report_body, cert, tmp_path)
    assert verified.returncode == 0, verified.stderr
    report = from_xml(report_body)
    assert isinstance(report, ManifestDiscrepancyReport)
    assert [(d.kind, d.container) for d in report.discrepancies] == [
        ("SHORT_LANDED", "CMAU3000020")
    ]
    [goods] = report.dangerous_goods
    assert (goods.kind, goods.container, goods.declared, goods.notified) == (
        "DG_UN_NUMBER_MISMATCH",
        "CMAU3000009",
        ("1993",),
        ("1263",),
    )
    assert [(b.manifest_number, b.transport_document) for b in goods.bills] == [
        ("MAN-DZALG-2612-0042", "CMDUMRS0421")
    ]
    assert [n.document_number for n in goods.notifications] == ["DG-DZALG-2612-0042"]
    [(_, reconciled)] = told
    assert [e.code for e in aperak.decode(reconciled).errors] == [
        "SHORT_LANDED",
        "DG_UN_NUMBER_MISMATCH",
    ]
    # Recorded on the call: edigw calls show, text and JSON.
    assert code == 0, text
    assert "dangerous goods checked again (2)" in text
    assert (
        "after CargoManifest MAN-DZALG-2612-0042 from apcs: 1 notified, 1 declared, "
        "1 discrepancies" in text
    )
    checks = show(env)["dangerous_goods_checks"]
    assert [c["discrepancy_count"] for c in checks] == [1, 1]
    assert checks[1]["discrepancies"][0]["kind"] == "DG_UN_NUMBER_MISMATCH"


def test_a_port_that_rejects_unknown_calls_and_the_replay(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    env = configured(gateway_env, tmp_path, '[calls.ports.DZALG]\nunknown_call = "reject"\n')
    names = names_of(env)
    with worker_thread(env):
        submit(env, [("rj-cuscar", CUSCAR)])
        wait_until(lambda: done_count(env) >= 1, 30, "the manifest decided")
        [(letter_props, letter)] = drain(env, names.dead_letter(names.inbound("apcs")))
        acks = drain(env, names.outbound("apcs"))
        submit(env, [("rj-cusrep", CUSREP)])
        wait_until(lambda: done_count(env) >= 2, 30, "the call decided")
        # The operator replays the letter as it was (a new inbound message).
        submit(env, [("rj-replay", letter)])
        wait_until(lambda: done_count(env) >= 3, 30, "the replay decided")
        routed = routed_headers(env)

    assert letter_props.headers[broker.H_REASON] == "UNKNOWN_CALL"
    assert letter_props.headers[broker.H_STAGE] == "call"
    assert [props.type for props, _ in acks] == ["CONTRL", "APERAK"]
    answer = aperak.decode(acks[1][1])
    assert answer.document_number == "MAN-DZALG-2612-0042"
    # Refused before its version was filed: the replay is an original, not a resend.
    assert "MAN-DZALG-2612-0042" in routed
    assert routed["MAN-DZALG-2612-0042"]["x-edigw-call"] == f"{CALL}/DZALG"
    assert "x-edigw-call-flags" not in routed["MAN-DZALG-2612-0042"]
    [manifest] = show(env)["manifests"]
    assert manifest["linked_at"] is not None and manifest["version"] == 1


def test_apcs_xml_for_an_unknown_call_is_dead_lettered_answered_in_xml_and_replayed(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    env = gateway_env
    names = names_of(env)
    declare_topology(env)
    xml = ROOT / "samples/apcs/xml"
    with worker_thread(env) as worker:
        # The terminal report before its call: dead-lettered, answered by a signed XML
        # Acknowledgement that says why.
        submit(env, [("x-discharge", (xml / "discharge-msc-oran.xml").read_bytes())])
        wait_until(lambda: done_count(env) >= 1, 30, "the report decided")
        refused = wait_until(lambda: drain(env, names.outbound("apcs")), 30, "the answer")
        # The call arrives (APCS XML too), then the operator replays the letter.
        submit(env, [("x-arrival", (xml / "arrival-msc-valencia-oran.xml").read_bytes())])
        wait_until(lambda: done_count(env) >= 2, 30, "the arrival decided")
        code, out = edigw(env, "dlq", "replay", "--reason", "UNKNOWN_CALL")
        assert code == 0, out
        wait_until(lambda: done_count(env) >= 3, 30, "the replay decided")
        at_customs = drain(env, names.customs_core)
        answers = drain(env, names.outbound("apcs"))
        letters = drain(env, names.dead_letter(names.inbound("apcs")))
        cert = worker.gw.settings.signing_cert

    [(props, body)] = refused
    assert (props.type, props.content_type) == ("Acknowledgement", "application/xml")
    assert xmlsec_verify(body, cert, tmp_path).returncode == 0
    ack = from_xml(body)
    assert isinstance(ack, Acknowledgement) and ack.status == "rejected"
    assert [e.code for e in ack.errors] == ["UNKNOWN_CALL"]
    assert [p.type for p, _ in at_customs] == [
        "VesselCall",
        "TerminalOperationsReport",
        "ManifestDiscrepancyReport",
    ]
    statuses = []
    for _props, answer_body in answers:
        answered = from_xml(answer_body)
        assert isinstance(answered, Acknowledgement)
        statuses.append(answered.status)
    assert statuses == ["accepted", "accepted"]
    assert letters == []  # the replayed letter is gone
    report = from_xml(at_customs[2][1])
    assert isinstance(report, ManifestDiscrepancyReport)
    # No manifest declared them: both containers are over-landed, customs' alone.
    assert [d.kind for d in report.discrepancies] == ["OVER_LANDED", "OVER_LANDED"]


def test_edigw_run_reconciles_a_call_after_hours(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    toml = "[calls]\nreconcile_after_hours = 1\nreconcile_check_seconds = 0.2\n"
    env = configured(gateway_env, tmp_path, toml)
    names = names_of(env)
    ata = b"DTM+178:202612010640:203'"
    with worker_thread(env):
        # The manifest, the call, then its actual arrival (long past): no terminal reports.
        submit(env, [("ah-cuscar", CUSCAR)])
        wait_until(lambda: done_count(env) >= 1, 30, "the manifest decided")
        submit(env, [("ah-cusrep", CUSREP)])
        wait_until(lambda: done_count(env) >= 2, 30, "the call decided")
        drain(env, names.customs_core)
        drain(env, names.outbound("apcs"))
        submit(env, [("ah-ata", amended(CUSREP, b"AP000016", extra=ata))])

        def report_at_customs() -> list[Any]:
            return [
                (p, b)
                for p, b in drain(env, names.customs_core)
                if p.type == "ManifestDiscrepancyReport"
            ]

        [(props, body)] = wait_until(report_at_customs, 30, "the report after hours")
        told = wait_until(
            lambda: [a for a in drain(env, names.outbound("apcs")) if a[0].type == "APERAK"],
            30,
            "the APERAK",
        )
        code, track = edigw(env, "track", f"{CALL}/DZALG")
        # Nothing more is told, however many rounds pass.
        wait_until(lambda: done_count(env) >= 3, 30, "the arrival recorded")
        again = drain(env, names.customs_core)

    report = from_xml(body)
    assert isinstance(report, ManifestDiscrepancyReport) and report.basis == "after_hours"
    assert props.correlation_id == f"reconcile-after-hours:{CALL}/DZALG"
    assert [(d.kind, d.container) for d in report.discrepancies] == [
        ("SHORT_LANDED", "CMAU3000009"),
        ("SHORT_LANDED", "CMAU3000014"),
        ("SHORT_LANDED", "CMAU3000020"),
    ]
    # No IFTDGN was filed for the call: the manifest's UN 1263 is not notified.
    assert [(g.kind, g.container, g.declared) for g in report.dangerous_goods] == [
        ("DG_NOT_NOTIFIED", "CMAU3000009", ("1263",))
    ]
    [(_aperak_props, aperak_bytes)] = told
    assert [e.code for e in aperak.decode(aperak_bytes).errors] == [
        *["SHORT_LANDED"] * 3,
        "DG_NOT_NOTIFIED",
    ]
    assert code == 0 and "CallReconciliation" in track
    assert [p.type for p, _ in again if p.type == "ManifestDiscrepancyReport"] == []


def test_a_call_dead_lettered_as_unroutable_leaves_the_registry_and_its_replay_files_it(
    gateway_env: dict[str, str],
) -> None:
    env = gateway_env
    names = names_of(env)
    declare_topology(env)
    dlq = names.dead_letter(names.inbound("apcs"))
    with worker_thread(env):
        submit(env, [("ur-cuscar", CUSCAR)])
        wait_until(lambda: done_count(env) >= 1, 30, "the manifest decided")
        # Someone deleted customs.core: the broker returns the call (mandatory).
        delete_queue(env, names.customs_core)
        submit(env, [("ur-cusrep", CUSREP)])
        wait_until(lambda: count(env, dlq) == 1, 30, "the call dead-lettered")
        missing, _out = edigw(env, "calls", "show", CALL)
        code, listed = edigw(env, "dlq", "list", "--reason", "UNROUTABLE")
        # The queue is back; the operator replays the letter: a new call, filed and linked.
        declare_topology(env)
        code, out = edigw(env, "dlq", "replay", "--reason", "UNROUTABLE")
        assert code == 0, out
        wait_until(lambda: done_count(env) >= 3, 30, "the replay decided")

    assert "UNROUTABLE" in listed and "CALL-DZALG-2612-0042" in listed
    assert missing == 1  # the call customs never got is not in the registry
    shown = show(env)
    assert shown["call_reference"] == "CALL-DZALG-2612-0042"
    [manifest] = shown["manifests"]
    assert manifest["linked_at"] is not None


def test_customs_answers_the_discrepancy_report_and_the_answer_is_recorded_on_the_call(
    gateway_env: dict[str, str],
) -> None:
    env = gateway_env
    names = names_of(env)
    declare_topology(env)
    with worker_thread(env):
        submit(env, [("mr-cuscar", CUSCAR)])
        submit(env, [("mr-cusrep", CUSREP)])
        wait_until(lambda: done_count(env) >= 2, 30, "the manifest and the call decided")
        submit(env, [("mr-coarri", COARRI)], partner="terminal-djendjen")
        wait_until(lambda: done_count(env) >= 3, 30, "the discharge report decided")
        [(_props, body)] = [
            (p, b) for p, b in drain(env, names.customs_core) if p.type == DISCREPANCY_REPORT
        ]
        report = from_xml(body)
        assert isinstance(report, ManifestDiscrepancyReport)
        unanswered = show(env)["reports"]
        drain(env, names.outbound("apcs"))
        drain(env, names.outbound("terminal-djendjen"))
        # Customs answers the report itself, on customs.responses.
        answer = CustomsResponse(
            Header.new(sender="customs", document_type="CustomsResponse", business_reference="R"),
            "26DZALGMDR0001",
            "accepted",
            report.header.message_id,
            report.header.business_reference,
        )
        publish_response(env, answer, "mr-answer")
        wait_until(lambda: done_count(env) >= 4, 30, "the answer decided")
        letters = drain(env, names.dead_letter(names.customs_responses))
        forwarded = drain(env, names.outbound("apcs")) + drain(
            env, names.outbound("terminal-djendjen")
        )
        code, track = edigw(env, "track", report.header.message_id)
        _code, printed = edigw(env, "calls", "show", CALL)
        # An answer naming the terminal's message is the terminal report's, as before.
        to_terminal = CustomsResponse(
            Header.new(sender="customs", document_type="CustomsResponse", business_reference="T"),
            None,
            "accepted",
            "mr-coarri",
            "DIS-DZALG-2612-0042",
        )
        publish_response(env, to_terminal, "mr-answer-terminal")
        terminal = wait_until(
            lambda: drain(env, names.outbound("terminal-djendjen")), 30, "the terminal's CUSRES"
        )

    assert letters == []  # not UNKNOWN_ORIGINAL any more
    assert forwarded == []  # the gateway wrote the report: the answer goes to nobody
    [before] = unanswered
    assert before["message_id"] == report.header.message_id and before["decision"] is None
    [after] = show(env)["reports"]
    assert (after["message_id"], after["basis"]) == (report.header.message_id, "discharge_complete")
    assert (after["decision"], after["registration_number"]) == ("accepted", "26DZALGMDR0001")
    assert after["response_id"] == "mr-answer" and after["answered_at"] is not None
    assert "customs: accepted 26DZALGMDR0001" in printed
    assert code == 0 and "answered" in track
    assert [props.type for props, _ in terminal] == ["CUSRES"]
