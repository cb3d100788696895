"""The ministry desk in the pipeline (no broker): receipts, duplicates and the LPCO lifecycle."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from lxml import etree

from gateway.bootstrap import Gateway, bootstrap
from gateway.config import load
from gateway.domain.canonical_xml import to_xml
from gateway.security.trust import DevPki
from gateway.service.pipeline import Outcome
from gateway.service.receipts import receipt_from_xml
from gateway.storage.journal import derived_id

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "ministries"
LICENCE = SAMPLES / "national-import-licence.xml"


@pytest.fixture
def gw(tmp_path: Path) -> Gateway:
    return bootstrap(load(env={"EDIGW_STATE_DIR": str(tmp_path), "EDIGW_MODE": "development"}))


@pytest.fixture
def pki(gw: Gateway, tmp_path: Path) -> DevPki:
    # The development anchors bootstrap made on first run, with the ministries' dev keys.
    return DevPki.ensure(tmp_path, ["commerce", "agriculture", "industry"])


def licence(version: int = 1, status: str = "ISSUED", quantity: str = "500") -> etree._Element:
    data = LICENCE.read_bytes()
    data = data.replace(b"<Version>1</Version>", f"<Version>{version}</Version>".encode())
    data = data.replace(b"<Status>ISSUED</Status>", f"<Status>{status}</Status>".encode())
    data = data.replace(
        b'<QuantityBalance unit="TNE">500<', f'<QuantityBalance unit="TNE">{quantity}<'.encode()
    )
    return etree.fromstring(data)


def send(gw: Gateway, data: bytes, partner: str = "commerce") -> Outcome:
    inbound = str(uuid.uuid4())
    return gw.pipeline.process(data, gw.settings.partners[partner], inbound, inbound)


def receipt(outcome: Outcome) -> tuple[str, list[str]]:
    assert outcome.acknowledgement_type == "LpcoReceipt"
    r = receipt_from_xml(etree.fromstring(outcome.acknowledgement))
    return r.outcome, [x.code for x in r.reasons]


def test_accepted_licence_is_routed_signed_and_answered(
    gw: Gateway, pki: DevPki, tmp_path: Path
) -> None:
    outcome = send(gw, pki.sign("commerce", licence()))
    assert outcome.rejection is None
    [routed] = outcome.routed
    assert routed.destination == "core" and routed.document.header.document_type == "Lpco"
    r = receipt_from_xml(etree.fromstring(outcome.acknowledgement))
    assert (r.outcome, r.certificate_number, r.version) == ("accepted", "IL-2026-000123", 1)
    assert r.gateway_reference == routed.document.header.message_id
    assert outcome.references[:2] == ["IL-2026-000123", "IL-2026-000123/v1"]
    # Both the canonical Lpco and the receipt verify with xmlsec1 and the gateway certificate.
    cert = gw.settings.signing_cert
    for name, data in (("lpco.xml", routed.signed_xml), ("receipt.xml", outcome.acknowledgement)):
        path = tmp_path / name
        path.write_bytes(data)
        run = subprocess.run(
            ["xmlsec1", "--verify", "--trusted-pem", str(cert), str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert run.returncode == 0, run.stderr
    assert b"<Signer><Partner>commerce</Partner>" in routed.signed_xml


def test_duplicate_gets_the_same_receipt_and_is_not_routed(gw: Gateway, pki: DevPki) -> None:
    first = send(gw, pki.sign("commerce", licence()))
    # Re-signed (new signature value), same content: still the same (issuer, number, version).
    again = send(gw, pki.sign("commerce", licence()))
    assert again.rejection is None and again.routed == []
    assert again.acknowledgement == first.acknowledgement
    assert again.events and again.events[0][0] == "duplicate"


def test_redelivery_of_the_same_message_is_routed_again(gw: Gateway, pki: DevPki) -> None:
    data = pki.sign("commerce", licence())
    inbound = str(uuid.uuid4())
    partner = gw.settings.partners["commerce"]
    first = gw.pipeline.process(data, partner, inbound, inbound)
    second = gw.pipeline.process(data, partner, inbound, inbound)
    assert len(second.routed) == 1
    assert second.routed[0].document.header.message_id == first.routed[0].document.header.message_id
    assert second.acknowledgement == first.acknowledgement


def test_lifecycle(gw: Gateway, pki: DevPki) -> None:
    sign = lambda root: pki.sign("commerce", root)  # noqa: E731
    assert receipt(send(gw, sign(licence(2, "AMENDED")))) == ("rejected", ["LPCO_UNKNOWN"])
    assert receipt(send(gw, sign(licence()))) == ("accepted", [])
    assert receipt(send(gw, sign(licence(1, quantity="400")))) == (
        "rejected",
        ["LPCO_VERSION_CONFLICT"],
    )
    assert receipt(send(gw, sign(licence(2, "ISSUED")))) == ("rejected", ["LPCO_LIFECYCLE"])
    assert receipt(send(gw, sign(licence(2, "AMENDED", "300")))) == ("accepted", [])
    # Versions may skip (the ministry's own drafts), but never go back.
    assert receipt(send(gw, sign(licence(4, "SUSPENDED", "300")))) == ("accepted", [])
    assert receipt(send(gw, sign(licence(3, "AMENDED", "250")))) == (
        "rejected",
        ["LPCO_VERSION_STALE"],
    )
    assert receipt(send(gw, sign(licence(5, "REVOKED", "300")))) == ("accepted", [])
    assert receipt(send(gw, sign(licence(6, "AMENDED", "300")))) == (
        "rejected",
        ["LPCO_ALREADY_REVOKED"],
    )
    history = gw.pipeline.xml_desk.registry.history("IL-2026-000123")  # type: ignore[union-attr]
    assert [(h["version"], h["status"]) for h in history] == [
        (1, "issued"),
        (2, "amended"),
        (4, "suspended"),
        (5, "revoked"),
    ]


def test_rejections_are_answered_with_a_signed_receipt(gw: Gateway, pki: DevPki) -> None:
    unsigned = send(gw, LICENCE.read_bytes())
    assert unsigned.rejection is not None and unsigned.rejection.stage == "verify"
    assert receipt(unsigned) == ("rejected", ["SIGNATURE_MISSING"])
    wrong_partner = send(gw, pki.sign("commerce", licence()), partner="agriculture")
    assert receipt(wrong_partner) == ("rejected", ["SIGNER_NOT_PARTNER"])
    # XML from a port partner (issue #14): refused before it is read, answered by CONTRL.
    port = send(gw, pki.sign("commerce", licence()), partner="apcs")
    assert port.rejection is not None and port.rejection.reason == "FORMAT_NOT_ALLOWED"
    assert port.acknowledgement_type == "CONTRL"


@pytest.mark.parametrize(
    ("partner", "sample", "number"),
    [
        ("agriculture", "ephyto-phyto-certificate.xml", "EPHYTO-AR-2026-000123"),
        ("commerce", "ubl-certificate-of-origin.xml", "COO-EG-2026-004711"),
        ("industry", "national-pharma-authorisation.xml", "PIA-2026-0042"),
    ],
)
def test_each_format_is_dispatched_by_root_element(
    gw: Gateway, pki: DevPki, partner: str, sample: str, number: str
) -> None:
    outcome = send(gw, pki.sign(partner, etree.parse(str(SAMPLES / sample)).getroot()), partner)
    assert outcome.rejection is None, outcome.rejection
    assert outcome.routed[0].document.number == number  # type: ignore[attr-defined]


def test_traces_ched_in_its_soap_envelope_is_accepted(
    gw: Gateway, pki: DevPki, corpus: Path, tmp_path: Path
) -> None:
    raw = (corpus / "xml" / "vet-traces" / "samples" / "CHEDA.TEMPLATE.xml").read_bytes()
    root = etree.fromstring(raw.replace(b"{{CHED_ID}}", b"CHEDA.FR.2026.0004242"))
    # The CHED's issuer is the French authority (FR00000): Agriculture forwards it only once
    # its configuration binds it to that issuer (issue #14) ...
    refused = send(gw, pki.sign("agriculture", root), "agriculture")
    assert receipt(refused) == ("rejected", ["ISSUER_NOT_SIGNER"])
    agriculture = gw.settings.partners["agriculture"]
    gw = bootstrap(
        load(
            {"partners": {"agriculture": {"issuers": [*agriculture.issuers, "FR00000"]}}},
            env={"EDIGW_STATE_DIR": str(tmp_path)},
        )
    )
    outcome = send(gw, pki.sign("agriculture", root), "agriculture")
    assert outcome.rejection is None, outcome.rejection
    assert outcome.routed[0].document.number == "CHEDA.FR.2026.0004242"  # type: ignore[attr-defined]


def test_an_xml_bomb_gets_a_rejected_receipt_and_leaks_nothing(gw: Gateway) -> None:
    bomb = b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'
    outcome = send(gw, bomb, "industry")
    assert receipt(outcome) == ("rejected", ["XML_DTD_FORBIDDEN"])
    assert b"root:" not in outcome.acknowledgement


def test_the_lpco_gets_its_derived_id_before_its_xml_is_built(gw: Gateway, pki: DevPki) -> None:
    # The desk sets the derived id before it builds and validates the XML (issue #8: built
    # once): what is signed is exactly the routed document, with that id.
    outcome = gw.pipeline.process(
        pki.sign("commerce", licence()), gw.settings.partners["commerce"], "c-1", "in-lpco-1"
    )
    [routed] = outcome.routed
    assert routed.document.header.message_id == derived_id("in-lpco-1", 0)
    signed = etree.fromstring(routed.signed_xml)
    signed.remove(signed[-1])  # the Signature
    assert etree.tostring(signed, method="c14n") == etree.tostring(
        to_xml(routed.document), method="c14n"
    )
