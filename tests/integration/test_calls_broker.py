"""Ship calls through the running gateway and the real broker (issue #17, docs/calls.md).

* The whole call at Algiers: a manifest that arrives before its call is accepted and flagged
  ``UNKNOWN_CALL``; a dangerous goods notification for the unknown call is dead-lettered
  ``UNKNOWN_CALL`` and replayed (``edigw dlq replay``) once the CUSREP announced the call,
  which also links the waiting manifest; customs answers the manifest with its MRN (a CUSRES
  to the sender, ``edigw track MRN``); the call's actual arrival, then a manifest correction
  flagged ``POST_ARRIVAL``; the terminal's COARRI reports the discharge complete and the
  reconciliation finds one short-landed container (``edigw calls show``).
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
from gateway.domain.canonical_xml import to_bytes, to_xml
from gateway.domain.model import CustomsResponse, Header
from gateway.interfaces.cli import main
from gateway.messaging import broker
from gateway.storage.journal import derived_id
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

pytestmark = [pytest.mark.broker]
ROOT = Path(__file__).resolve().parents[2]
CUSREP = (ROOT / "samples/apcs/06-cusrep-cma-cgm-marseille-algiers.edi").read_bytes()
IFTDGN = (ROOT / "samples/apcs/07-iftdgn-cma-cgm-paints.edi").read_bytes()
COARRI = (ROOT / "samples/apcs/08-coarri-discharge-algiers.edi").read_bytes()
CUSCAR = (ROOT / "tests/data/calls/cuscar-cma-cgm-tage-algiers.edi").read_bytes()
CALL = "9454436/0MA1RN1MA"
MRN = "26DZALG0000421"


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
    connection = broker.connect(env["EDIGW_AMQP_URL"], attempts=5)
    try:
        broker.publish(
            broker.confirmed_channel(connection),
            names_of(env).customs_exchange,
            "responses",
            to_bytes(to_xml(response)),
            message_id="cr-mrn",
            content_type="application/xml",
            type="CustomsResponse",
        )
    finally:
        connection.close()


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


def test_the_whole_call_through_the_broker(gateway_env: dict[str, str]) -> None:
    env = gateway_env
    names = names_of(env)
    declare_topology(env)
    manifest_id = derived_id("cl-cuscar", 0)
    with worker_thread(env):
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
        # The terminal reports the discharge complete.
        submit(env, [("cl-coarri", COARRI)], partner="terminal-djendjen")
        wait_until(lambda: done_count(env) >= 8, 30, "the discharge report decided")
        letters = drain(env, dlq)
        code, track = edigw(env, "track", MRN)

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


def test_a_port_that_rejects_unknown_calls_and_the_replay(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[calls.ports.DZALG]\nunknown_call = "reject"\n', encoding="utf-8")
    env = {**gateway_env, "EDIGW_CONFIG": str(config)}
    gateway_env["EDIGW_CONFIG"] = str(config)  # the clean-up reads the same topology
    names = names_of(env)
    declare_topology(env)
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
