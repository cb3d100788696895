"""``edigw calls`` and ``edigw track`` by MRN (issue #17), on a journal the calls service filled.

The journal holds the whole call of the samples (CMA CGM TAGE at Algiers: arrival, one
manifest of three bills, dangerous goods, a complete discharge with one container short) and
the MRN customs gave the manifest.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.config import load
from gateway.domain.calls import CallKey
from gateway.service import calls
from gateway.service.calls import CallPolicy
from gateway.storage.journal import SqliteJournal
from tests.unit.test_calls_service import ROOT, SAMPLES, decoded, manifest, vessel_call
from tests.unit.test_trust_cli import edigw

MRN = "26DZALG0000421"
HOSTILE = "TAGE\x1b[2J\u202e"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {"EDIGW_STATE_DIR": str(tmp_path / "state"), "EDIGW_MODE": "development"}
    journal = SqliteJournal(load(env=env).journal_path)
    try:
        docs = [
            decoded(SAMPLES / "06-cusrep-cma-cgm-marseille-algiers.edi"),
            decoded(ROOT / "tests" / "data" / "calls" / "cuscar-cma-cgm-tage-algiers.edi"),
            decoded(SAMPLES / "07-iftdgn-cma-cgm-paints.edi"),
            decoded(SAMPLES / "08-coarri-discharge-algiers.edi"),
        ]
        for doc in docs:
            filing = calls.file(journal, CallPolicy(), doc, "in-1")
            assert filing is not None and filing.problem is None
            # What the decision service records for a routed document.
            journal.record_message(
                doc.header.message_id,
                type=doc.header.document_type,
                partner="apcs",
                correlation_id="in-1",
            )
            journal.add_references(doc.header.message_id, doc.references())
            journal.record_event(doc.header.message_id, "routed", "signed, to customs.core")
        calls.register_mrn(journal, "apcs", "MAN-DZALG-2612-0042", MRN)
    finally:
        journal.close()
    return env


def test_calls_list(env: dict[str, str]) -> None:
    code, out, _ = edigw(env, "calls", "list", "--port", "DZALG", "--from", "2026-12-01")
    assert code == 0
    assert out.splitlines() == [
        "9454436/0MA1RN1MA/DZALG\tCALL-DZALG-2612-0042\tCMA CGM TAGE\tETA 2026-12-01 07:00"
        "\tATA -\tactive\t1 manifest(s)"
    ]
    code, out, _ = edigw(env, "calls", "list", "--json")
    [line] = out.splitlines()
    assert json.loads(line)["key"] == "9454436/0MA1RN1MA/DZALG"
    assert json.loads(line)["manifests"] == 1
    assert edigw(env, "calls", "list", "--port", "DZORN")[0] == 1
    assert edigw(env, "calls", "list", "--from", "2027-01-01")[0] == 1
    code, _, err = edigw(env, "calls", "list", "--port", "ESVLC")
    assert code == 2 and "not the UN/LOCODE of a port of Algeria" in err
    assert edigw(env, "calls", "list", "--from", "01/12/2026")[0] == 2


def test_calls_show(env: dict[str, str]) -> None:
    code, out, _ = edigw(env, "calls", "show", "9454436/0MA1RN1MA")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == (
        "call 9454436/0MA1RN1MA/DZALG  CMA CGM TAGE  (CALL-DZALG-2612-0042 from apcs, version 1, "
        "active)"
    )
    assert (
        "  apcs  MAN-DZALG-2612-0042  v1 original  active  linked  MRN 26DZALG0000421  "
        "3 bill(s), 3 container(s)"
    ) in lines
    assert (
        "  CMDUMRS0423  master  MSN 3  HSN -  26DZALG0000421/3  (apcs MAN-DZALG-2612-0042)" in lines
    )
    assert (
        "reconciliation (final): 3 containers declared, 2 discharged; 1 short-landed, "
        "0 over-landed, 0 mismatched"
    ) in lines
    assert any(
        line.startswith("  SHORT_LANDED  container CMAU3000020 (CMDUMRS0423)") for line in lines
    )
    assert "dangerous goods: 1 notified, 0 discrepancies with the manifests" in lines

    code, out, _ = edigw(env, "calls", "show", "9454436/0MA1RN1MA/DZALG", "--json")
    shown = json.loads(out)
    assert shown["reconciliation"]["state"] == "final"
    assert [d["container"] for d in shown["reconciliation"]["discrepancies"]] == ["CMAU3000020"]
    assert [b["customs_reference"] for b in shown["bills"]] == [f"{MRN}/1", f"{MRN}/2", f"{MRN}/3"]
    assert shown["manifests"][0]["flags"] == []


def test_calls_show_refuses_what_it_cannot_name(env: dict[str, str]) -> None:
    code, _, err = edigw(env, "calls", "show", "9454436")
    assert code == 2 and "IMO/VOYAGE or IMO/VOYAGE/PORT" in err
    code, _, err = edigw(env, "calls", "show", "9454436/NOVOYAGE")
    assert code == 1 and "no call 9454436/NOVOYAGE" in err
    # The same IMO number and voyage at two ports: say which.
    journal = SqliteJournal(load(env=env).journal_path)
    try:
        calls.file(
            journal,
            CallPolicy(),
            vessel_call("CALL-ORN", CallKey("9454436", "0MA1RN1MA", "DZORN")),
            "in-2",
        )
    finally:
        journal.close()
    code, _, err = edigw(env, "calls", "show", "9454436/0MA1RN1MA")
    assert code == 2 and "called at DZALG, DZORN: say which with --port" in err
    assert edigw(env, "calls", "show", "9454436/0MA1RN1MA", "--port", "DZORN")[0] == 0


def test_calls_show_caps_long_lists_and_escapes_partner_text(env: dict[str, str]) -> None:
    key = CallKey("9074729", "V60", "DZORN")
    journal = SqliteJournal(load(env=env).journal_path)
    try:
        call = vessel_call("CALL-60", key)
        call.conveyance.name = HOSTILE
        calls.file(journal, CallPolicy(), call, "in-3")
        containers = {f"TGHU{100000 + i:06d}": (f"BL-{i:02d}", None) for i in range(60)}
        calls.file(journal, CallPolicy(), manifest("MAN-60", key, containers=containers), "in-3")
    finally:
        journal.close()
    code, out, _ = edigw(env, "calls", "show", "9074729/V60")
    assert code == 0
    assert "    ... and 10 more (--all, or --json)" in out.splitlines()
    assert "\x1b" not in out and "\u202e" not in out and "TAGE\\x1b[2J\\u202e" in out
    code, out, _ = edigw(env, "calls", "show", "9074729/V60", "--all")
    assert "... and" not in out and "BL-59" in out


def test_track_finds_a_manifest_a_bill_and_its_containers_by_mrn(env: dict[str, str]) -> None:
    code, out, _ = edigw(env, "track", MRN)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(
        f"MRN {MRN}: manifest MAN-DZALG-2612-0042 from apcs, call 9454436/0MA1RN1MA/DZALG; bills "
        f"CMDUMRS0421 ({MRN}/1), CMDUMRS0422 ({MRN}/2), CMDUMRS0423 ({MRN}/3)"
    )
    assert any("CargoManifest  from apcs" in line for line in lines)

    code, out, _ = edigw(env, "track", f"{MRN}/3", "--json")
    assert code == 0
    found = json.loads(out)
    assert [b["transport_document"] for b in found["registration"]["bills"]] == ["CMDUMRS0423"]
    # Its container was short-landed: the manifest that carries the bill is its whole story.
    assert found["registration"]["containers"] == ["CMAU3000020"]
    assert [m["type"] for m in found["messages"]] == ["CargoManifest"]
    # A bill whose container was notified and discharged: found by the container too.
    code, out, _ = edigw(env, "track", f"{MRN}/1", "--json")
    found = json.loads(out)
    assert found["registration"]["containers"] == ["CMAU3000009"]
    assert [m["type"] for m in found["messages"]] == [
        "CargoManifest",
        "DangerousGoodsNotification",
        "TerminalOperationsReport",
    ]
    assert "; containers CMAU3000009, CMAU3000014, CMAU3000020" in edigw(env, "track", MRN)[1]

    assert edigw(env, "track", f"{MRN}/9")[0] == 1
    assert edigw(env, "track", "26DZALG9999999")[0] == 1
