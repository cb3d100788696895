"""Authority of ministries through the real broker (issue #14): `edigw run`, `edigw submit`,
documents signed with the ministries' development keys (`edigw keys dev-sign`), xmlsec1.

Agriculture signs a revocation of Commerce's import licence, declaring Commerce's issuer: it is
refused (ISSUER_NOT_SIGNER), dead-lettered, nothing reaches customs, and Commerce's next
amendment is accepted. Agriculture resending Commerce's very licence gets its own answer, never
Commerce's stored receipt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from gateway.messaging.naming import Names
from tests.helpers import drain, wait_for, xmlsec_verify
from tests.integration.test_ministries_broker import SAMPLES, edigw, gateway, submit

pytestmark = [pytest.mark.broker]
__all__ = ["gateway"]  # the fixture, shared with the other ministry tests
L = "{urn:port-edi-gateway:lpco:1}"
NUMBER = "IL-2026-000123"


def licence(version: int, status: str, balance: str) -> bytes:
    data = (SAMPLES / "national-import-licence.xml").read_bytes()
    return (
        data.replace(b"<Version>1</Version>", f"<Version>{version}</Version>".encode())
        .replace(b"<Status>ISSUED</Status>", f"<Status>{status}</Status>".encode())
        .replace(b'Balance unit="TNE">500<', f'Balance unit="TNE">{balance}<'.encode())
    )


def signed(env: dict[str, str], partner: str, data: bytes, tmp_path: Path, name: str) -> Path:
    unsigned = tmp_path / f"{name}.xml"
    unsigned.write_bytes(data)
    out = tmp_path / f"{name}-signed.xml"
    edigw(env, "keys", "dev-sign", "--partner", partner, "--out", str(out), str(unsigned))
    return out


def answer(env: dict[str, str], partner: str, sent: str, tmp_path: Path) -> tuple[bytes, Any]:
    """The one receipt ``partner`` gets for message ``sent``, verified with xmlsec1."""
    url, names = env["EDIGW_AMQP_URL"], Names(env["EDIGW_NAME_PREFIX"])
    cert = Path(env["EDIGW_STATE_DIR"]) / "keys" / "gateway-signing-cert.pem"
    [(props, body)] = wait_for(lambda: drain(url, names.outbound(partner)), timeout=60)
    assert props.type == "LpcoReceipt" and props.correlation_id == sent
    assert xmlsec_verify(body, cert, tmp_path).returncode == 0
    return body, etree.fromstring(body)


def test_a_ministry_cannot_revoke_or_answer_for_another_ministrys_licence(
    gateway: dict[str, str], tmp_path: Path
) -> None:
    env = gateway
    url, names = env["EDIGW_AMQP_URL"], Names(env["EDIGW_NAME_PREFIX"])
    issued = signed(env, "commerce", licence(1, "ISSUED", "500"), tmp_path, "issued")
    sent = submit(env, "commerce", issued)
    commerce_receipt, root = answer(env, "commerce", sent, tmp_path)
    assert root.findtext(f"{L}Outcome") == "accepted"
    [(_, routed)] = wait_for(lambda: drain(url, names.customs_core), timeout=60)
    assert etree.fromstring(routed).findtext(f"{L}Signer/{L}Partner") == "commerce"

    # Agriculture signs a revocation declaring Commerce's issuer (MOC-ITD), with a type code it
    # may send: refused for the issuer alone.
    forged = licence(2, "REVOKED", "500").replace(b">IL-STEEL<", b">VET-LIVE-ANIMALS<")
    revocation = signed(env, "agriculture", forged, tmp_path, "revocation")
    sent = submit(env, "agriculture", revocation)
    _, root = answer(env, "agriculture", sent, tmp_path)
    assert root.findtext(f"{L}Outcome") == "rejected"
    assert root.findtext(f"{L}Partner") == "agriculture"
    assert [r.get("code") for r in root.findall(f"{L}Reason")] == ["ISSUER_NOT_SIGNER"]
    dead_letters = names.dead_letter(names.inbound("agriculture"))
    [(dl_props, dl_body)] = wait_for(lambda: drain(url, dead_letters), timeout=60)
    assert dl_body == revocation.read_bytes()
    assert dl_props.headers["x-edigw-reason"] == "ISSUER_NOT_SIGNER"

    # A cross-ministry duplicate: Commerce's licence, re-signed by Agriculture. Agriculture gets
    # its own answer, never Commerce's stored receipt.
    copy = signed(env, "agriculture", licence(1, "ISSUED", "500"), tmp_path, "copy")
    sent = submit(env, "agriculture", copy)
    body, root = answer(env, "agriculture", sent, tmp_path)
    assert body != commerce_receipt
    assert root.findtext(f"{L}Partner") == "agriculture"
    assert (root.findtext(f"{L}Outcome"), root.findtext(f"{L}Duplicate")) == ("rejected", "false")
    assert [r.get("code") for r in root.findall(f"{L}Reason")] == [
        "ISSUER_NOT_SIGNER",
        "LPCO_TYPE_NOT_ALLOWED",
    ]
    [(dl_props, _)] = wait_for(lambda: drain(url, dead_letters), timeout=60)
    assert dl_props.headers["x-edigw-reason"] == "ISSUER_NOT_SIGNER"
    # Customs got neither of Agriculture's documents.
    assert drain(url, names.customs_core) == []

    # Commerce's licence is untouched: its next amendment is accepted and routed.
    amendment = signed(env, "commerce", licence(2, "AMENDED", "300"), tmp_path, "amendment")
    sent = submit(env, "commerce", amendment)
    _, root = answer(env, "commerce", sent, tmp_path)
    assert (root.findtext(f"{L}Outcome"), root.findtext(f"{L}Version")) == ("accepted", "2")
    [(props, routed)] = wait_for(lambda: drain(url, names.customs_core), timeout=60)
    lpco = etree.fromstring(routed)
    assert props.type == "Lpco" and props.correlation_id == sent
    assert (lpco.findtext(f"{L}Number"), lpco.findtext(f"{L}Status")) == (NUMBER, "amended")
    assert lpco.findtext(f"{L}Signer/{L}Partner") == "commerce"
