"""A call's loading reconciled through the running gateway and the real broker (issue #17,
point 5; docs/calls.md, "Loading").

* The call at Algiers (CUSREP), its export manifest (a CUSCAR whose port of loading is Algiers:
  two containers for Valencia) and the terminal's loading COARRI (complete): one declared
  container loaded, the other not (short-shipped), and one nobody declared (loaded, not
  declared). Customs gets the signed ManifestDiscrepancyReport, ``Direction`` outward; the
  export manifest's sender (apcs, not the terminal) an APERAK naming its short-shipped
  container; ``edigw calls show`` has the loading, text and ``--json``.
* ``edigw run`` reconciles the loading ``reconcile_loading_after_hours`` after the call's
  actual departure when no terminal reports the loading complete (its timer).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters import aperak
from gateway.domain.calls import ManifestDiscrepancyReport
from gateway.domain.canonical_xml import from_xml
from tests.e2e.test_faults_support import (
    cleanup_topologies,  # noqa: F401  (autouse: deletes each test's queues)
    declare_topology,
    done_count,
    drain,
    names_of,
    submit,
    wait_until,
    worker_thread,
)
from tests.helpers import assert_valid_aperak, xmlsec_verify
from tests.integration.test_calls_broker import CALL, CUSREP, ROOT, amended, configured, edigw

pytestmark = [pytest.mark.broker]
EXPORT = (ROOT / "tests/data/calls/cuscar-cma-cgm-tage-export-algiers.edi").read_bytes()
LOADING = (ROOT / "tests/data/calls/coarri-loading-algiers.edi").read_bytes()
REPORT = ManifestDiscrepancyReport.DOCUMENT_TYPE


def reports(env: dict[str, str]) -> list[tuple[Any, bytes]]:
    return [(p, b) for p, b in drain(env, names_of(env).customs_core) if p.type == REPORT]


def test_an_export_manifest_and_the_loading_report_through_the_broker(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    env = gateway_env
    names = names_of(env)
    declare_topology(env)
    with worker_thread(env) as worker:
        submit(env, [("ld-cusrep", CUSREP)])
        wait_until(lambda: done_count(env) >= 1, 30, "the call decided")
        submit(env, [("ld-export", EXPORT)])
        wait_until(lambda: done_count(env) >= 2, 30, "the export manifest decided")
        manifest_headers = {
            p.headers["x-edigw-business-reference"]: p.headers
            for p, _ in drain(env, names.customs_core)
        }
        drain(env, names.outbound("apcs"))
        submit(env, [("ld-coarri", LOADING)], partner="terminal-djendjen")
        wait_until(lambda: done_count(env) >= 3, 30, "the loading report decided")
        at_customs = drain(env, names.customs_core)
        told = wait_until(lambda: drain(env, names.outbound("apcs")), 30, "the APERAK")
        letters = drain(env, names.dead_letter(names.inbound("apcs")))
        cert = worker.gw.settings.signing_cert

    # The export manifest names the call at its port of loading, linked, nothing flagged.
    export = manifest_headers["EXP-DZALG-2612-0042"]
    assert export["x-edigw-call"] == f"{CALL}/DZALG" and "x-edigw-call-flags" not in export
    assert letters == []
    # At customs: the loading report, then the discrepancy report of the loading.
    assert [p.type for p, _ in at_customs] == ["TerminalOperationsReport", REPORT]
    props, body = at_customs[1]
    assert props.headers["x-edigw-call"] == f"{CALL}/DZALG"
    verified = xmlsec_verify(body, cert, tmp_path)
    assert verified.returncode == 0, verified.stderr
    report = from_xml(body)
    assert isinstance(report, ManifestDiscrepancyReport)
    assert (report.direction, report.basis) == ("outward", "loading_complete")
    assert (report.containers_declared, report.containers_discharged) == (2, 2)
    assert [(d.kind, d.container) for d in report.discrepancies] == [
        ("SHORT_SHIPPED", "CMAU3000040"),
        ("LOADED_NOT_DECLARED", "TGHU7000015"),
    ]
    assert [b.transport_document for b in report.discrepancies[0].bills] == ["CMDUALG0502"]
    assert report.discrepancies[1].bills == []  # nobody's: customs alone hears of it
    # The export manifest's sender is told its short-shipped container, and only that.
    [(answer_props, answer)] = told
    assert answer_props.type == "APERAK" and answer_props.correlation_id == "ld-export"
    assert_valid_aperak(answer)
    said = aperak.decode(answer)
    assert said.accepted and said.document_number == "EXP-DZALG-2612-0042"
    assert [e.code for e in said.errors] == ["SHORT_SHIPPED"]
    assert "CMAU3000040" in said.errors[0].text and "CMDUALG0502" in said.errors[0].text
    # edigw calls show: the loading, final, and the discharge untouched by the export manifest.
    code, out = edigw(env, "calls", "show", CALL, "--json")
    assert code == 0, out
    shown = json.loads(out)
    [manifest] = shown["manifests"]
    assert manifest["direction"] == "outward" and manifest["linked_at"] is not None
    assert shown["reconciliation"]["declared"] == 0 and shown["loaded"] == 2
    loading = shown["loading_reconciliation"]
    assert (loading["state"], loading["declared"], loading["loaded"]) == ("final", 2, 2)
    assert [r["basis"] for r in shown["reports"]] == ["loading_complete"]
    code, text = edigw(env, "calls", "show", CALL)
    assert code == 0
    assert "loading: 2 declared for loading, 2 loaded" in text
    assert "loading reconciliation (final): 2 containers declared for loading, 2 loaded; " in text
    assert "SHORT_SHIPPED  container CMAU3000040 (CMDUALG0502)" in text


def test_edigw_run_reconciles_the_loading_after_departure(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    toml = (
        "[calls]\nreconcile_loading_after_hours = 1\nreconcile_check_seconds = 0.2\n"
        "reconcile_after_hours = 1440\n"
    )
    env = configured(gateway_env, tmp_path, toml)
    names = names_of(env)
    # The call arrived and departed long ago; no terminal reports its loading.
    times = b"DTM+178:202612010640:203'DTM+186:202612021900:203'"
    with worker_thread(env):
        submit(env, [("lt-cusrep", CUSREP)])
        wait_until(lambda: done_count(env) >= 1, 30, "the call decided")
        submit(env, [("lt-export", EXPORT)])
        wait_until(lambda: done_count(env) >= 2, 30, "the export manifest decided")
        drain(env, names.customs_core)
        drain(env, names.outbound("apcs"))
        submit(env, [("lt-atd", amended(CUSREP, b"AP000017", extra=times))])
        found = wait_until(lambda: reports(env), 30, "the loading's report after departure")

        def aperaks() -> list[tuple[Any, bytes]]:  # the ATD's own CONTRL aside
            return [(p, b) for p, b in drain(env, names.outbound("apcs")) if p.type == "APERAK"]

        told = wait_until(aperaks, 30, "the APERAK")

    [(props, body)] = found
    report = from_xml(body)
    assert isinstance(report, ManifestDiscrepancyReport)
    assert (report.direction, report.basis) == ("outward", "after_departure")
    assert props.correlation_id == f"reconcile-after-departure:{CALL}/DZALG"
    # Nothing loaded: both containers of the export manifest are short-shipped.
    assert [(d.kind, d.container) for d in report.discrepancies] == [
        ("SHORT_SHIPPED", "CMAU3000035"),
        ("SHORT_SHIPPED", "CMAU3000040"),
    ]
    [(_, answer)] = told
    assert [e.code for e in aperak.decode(answer).errors] == ["SHORT_SHIPPED", "SHORT_SHIPPED"]
    code, out = edigw(env, "calls", "show", CALL, "--json")
    assert code == 0
    assert [r["basis"] for r in json.loads(out)["reports"]] == ["after_departure"]
