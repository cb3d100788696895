"""Ministries end to end through the real broker: `edigw run`, `edigw submit`, xmlsec1.

ePhyto (Agriculture), UBL certificate of origin (Commerce) and the national pharmaceutical
authorisation (Industry), each signed with the ministry's development key, reach customs.core as
signed canonical Lpco documents; every ministry gets a signed receipt on partner.<id>.out.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from gateway.messaging.naming import Names
from tests.helpers import drain, wait_for, xmlsec_verify

pytestmark = [pytest.mark.broker]
EDIGW = [sys.executable, "-m", "gateway", "--log-format", "json"]
SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "ministries"
L = "{urn:port-edi-gateway:lpco:1}"
FORMATS = {
    "agriculture": ("ephyto-phyto-certificate.xml", "EPHYTO-AR-2026-000123"),
    "commerce": ("ubl-certificate-of-origin.xml", "COO-EG-2026-004711"),
    "industry": ("national-pharma-authorisation.xml", "PIA-2026-0042"),
}


def edigw(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EDIGW, *args], env=env, capture_output=True, text=True, timeout=60, check=check
    )


@pytest.fixture
def gateway(gateway_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    edigw(gateway_env, "topology")
    log = open(tmp_path / "gateway.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([*EDIGW, "run"], env=gateway_env, stdout=log, stderr=log)
    try:
        yield gateway_env
        assert proc.poll() is None, (tmp_path / "gateway.log").read_text()[-2000:]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


def signed_sample(env: dict[str, str], partner: str, tmp_path: Path) -> Path:
    out = tmp_path / f"{partner}-signed.xml"
    edigw(
        env,
        "keys",
        "dev-sign",
        "--partner",
        partner,
        "--out",
        str(out),
        str(SAMPLES / FORMATS[partner][0]),
    )
    return out


def submit(env: dict[str, str], partner: str, path: Path) -> str:
    return edigw(env, "submit", "--partner", partner, str(path)).stdout.split("\t")[0]


def test_three_formats_flow_and_receipts_verify(gateway: dict[str, str], tmp_path: Path) -> None:
    env = gateway
    names = Names(env["EDIGW_NAME_PREFIX"])
    url = env["EDIGW_AMQP_URL"]
    cert = Path(env["EDIGW_STATE_DIR"]) / "keys" / "gateway-signing-cert.pem"
    sent = {p: submit(env, p, signed_sample(env, p, tmp_path)) for p in FORMATS}

    routed = wait_for(lambda: _collect(url, names.customs_core, 3), timeout=60)
    numbers = set()
    for props, body in routed:
        assert props.type == "Lpco"
        assert xmlsec_verify(body, cert, tmp_path).returncode == 0
        root = etree.fromstring(body)
        numbers.add(root.findtext(f"{L}Number"))
        partner = root.findtext(f"{L}Signer/{L}Partner")
        assert props.correlation_id == sent[partner]
    assert numbers == {n for _, n in FORMATS.values()}

    receipts = {}
    for partner in FORMATS:
        [(props, body)] = wait_for(lambda p=partner: drain(url, names.outbound(p)), timeout=60)
        assert props.type == "LpcoReceipt" and props.content_type == "application/xml"
        assert props.correlation_id == sent[partner]
        assert xmlsec_verify(body, cert, tmp_path).returncode == 0
        root = etree.fromstring(body)
        assert root.findtext(f"{L}Outcome") == "accepted"
        assert root.findtext(f"{L}CertificateNumber") == FORMATS[partner][1]
        receipts[partner] = body

    # A duplicate: same receipt, nothing routed twice.
    again = submit(env, "agriculture", tmp_path / "agriculture-signed.xml")
    [(props, body)] = wait_for(lambda: drain(url, names.outbound("agriculture")), timeout=60)
    assert props.correlation_id == again and body == receipts["agriculture"]
    assert drain(url, names.customs_core) == []

    # A tampered certificate: rejected receipt with the reason, original bytes dead-lettered.
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(
        (tmp_path / "industry-signed.xml").read_bytes().replace(b">120000<", b">990000<")
    )
    bad = submit(env, "industry", tampered)
    [(props, body)] = wait_for(lambda: drain(url, names.outbound("industry")), timeout=60)
    assert props.correlation_id == bad and xmlsec_verify(body, cert, tmp_path).returncode == 0
    root = etree.fromstring(body)
    assert root.findtext(f"{L}Outcome") == "rejected"
    assert root.find(f"{L}Reason").get("code") == "SIGNATURE_DIGEST_MISMATCH"
    [(dl_props, dl_body)] = wait_for(
        lambda: drain(url, names.dead_letter(names.inbound("industry")))
    )
    assert dl_body == tampered.read_bytes()
    assert dl_props.headers["x-edigw-reason"] == "SIGNATURE_DIGEST_MISMATCH"
    # ... and found by the certificate number it claims (issue #19, point 1), which
    # edigw dlq list shows.
    assert dl_props.headers["x-edigw-business-reference"] == FORMATS["industry"][1]
    claimed = json.loads(edigw(env, "track", FORMATS["industry"][1], "--json").stdout)
    assert bad in [m["message_id"] for m in claimed["messages"]]

    # edigw track <certificate number> shows both submissions of the ePhyto.
    tracked = json.loads(edigw(env, "track", FORMATS["agriculture"][1], "--json").stdout)
    by_id = {m["message_id"]: m for m in tracked["messages"]}
    assert sent["agriculture"] in by_id and again in by_id
    assert "routed" in [e["status"] for e in by_id[sent["agriculture"]]["events"]]
    assert "duplicate" in [e["status"] for e in by_id[again]["events"]]
    assert any(m["type"] == "Lpco" for m in tracked["messages"])


_got: dict[str, list] = {}


def _collect(url: str, queue: str, count: int) -> list:
    _got.setdefault(queue, []).extend(drain(url, queue))
    return _got[queue] if len(_got[queue]) >= count else []
