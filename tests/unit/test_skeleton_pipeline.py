"""The inbound path without a broker: decode, validate, sign, route, acknowledge."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from adapters import cuscar
from adapters.common import DecodeContext
from adapters.edifact.policy import ReadPolicy
from adapters.registry import MessageCodec
from gateway.config import ConfigError, Route, load
from gateway.domain.canonical_xml import from_xml, to_bytes, to_xml
from gateway.domain.validation import validate
from gateway.messaging.topology import table, topology_for
from gateway.security.signing import Signer, ensure_dev_keys, verify
from gateway.service.pipeline import InboundPipeline, sniff_format, translate
from gateway.storage.journal import SqliteJournal
from tests.helpers import SAMPLES, xmlsec_verify

EDIGW = [sys.executable, "-m", "gateway"]
SAMPLE = SAMPLES / "01-cuscar-msc-algiers.edi"


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Signer:
    d = tmp_path_factory.mktemp("keys")
    return Signer.from_files(*ensure_dev_keys(d / "key.pem", d / "cert.pem"))


def test_sample_manifest_maps_its_content() -> None:
    [m] = cuscar.decode(SAMPLE.read_bytes(), DecodeContext(sender="apcs"))
    assert m.document_number == "MAN-DZALG-2611-001"
    assert m.conveyance.imo_number == "9703291"
    assert m.port_of_call == "DZALG"
    assert [c.transport_document for c in m.consignments] == ["MEDUAB123456", "MEDUAB123457"]
    first = m.consignments[0]
    # 1.2 TNE becomes 1200 kg; the escaped '+' in the FTX survives.
    assert [g.gross_mass_kg for g in first.goods_items] == [
        pytest.approx(2400.5),
        pytest.approx(1200),
    ]
    assert first.goods_items[1].description == "POWER SUPPLIES + CHARGERS"
    assert {e.identifier for e in m.equipment} == {"MSCU1234566", "TGHU7654320"}
    assert m.arrival_time is not None and m.departure_time is not None
    assert m.arrival_time > m.departure_time


def test_canonical_xml_validates_and_round_trips() -> None:
    [m] = cuscar.decode(SAMPLE.read_bytes())
    element = to_xml(m)
    assert validate(element) == []
    assert from_xml(to_bytes(m)) == m


def test_schema_violation_is_explained_with_a_path() -> None:
    [m] = cuscar.decode(SAMPLE.read_bytes())
    m.port_of_call = "not a locode"
    problems = validate(to_xml(m))
    assert problems and "PortOfCall" in problems[0].path


def test_signature_verifies_with_signxml_and_xmlsec1(signer: Signer, tmp_path: Path) -> None:
    [m] = cuscar.decode(SAMPLE.read_bytes())
    signed = etree.tostring(signer.sign(to_xml(m)))
    verified = verify(signed, signer.cert_pem)
    assert verified.tag.endswith("CargoManifest")
    cert = tmp_path / "cert.pem"
    cert.write_text(signer.cert_pem)
    assert xmlsec_verify(signed, cert, tmp_path).returncode == 0
    tampered = signed.replace(b"MEDUAB123456", b"MEDUAB123450")
    result = xmlsec_verify(tampered, cert, tmp_path)
    assert result.returncode != 0


def test_signed_document_still_validates(signer: Signer) -> None:
    [m] = cuscar.decode(SAMPLE.read_bytes())
    assert validate(signer.sign(to_xml(m))) == []


def test_pipeline_accepts_routes_and_acknowledges(signer: Signer) -> None:
    settings = load(env={})
    pipeline = InboundPipeline(signer, settings.routes, "CUSTOMS")
    outcome = pipeline.process(SAMPLE.read_bytes(), settings.partners["apcs"], "corr-1")
    assert outcome.rejection is None
    assert [r.destination for r in outcome.routed] == ["core"]
    assert b"UCI+AP000001+APCS:ZZZ+CUSTOMS:ZZZ+7'" in outcome.acknowledgement


def test_migration_route_sends_an_office_to_legacy(signer: Signer) -> None:
    settings = load(env={})
    routes = [Route("legacy", office="DZALG"), Route("core")]
    pipeline = InboundPipeline(signer, routes, "CUSTOMS")
    outcome = pipeline.process(SAMPLE.read_bytes(), settings.partners["apcs"], "c")
    assert [r.destination for r in outcome.routed] == ["legacy"]


def test_pipeline_rejects_a_bad_count_with_a_rejecting_contrl(signer: Signer) -> None:
    settings = load(env={})
    pipeline = InboundPipeline(signer, settings.routes, "CUSTOMS")
    outcome = pipeline.process(
        (SAMPLES / "03-cuscar-rejected-bad-count.edi").read_bytes(), settings.partners["apcs"], "c"
    )
    assert outcome.rejection is not None
    assert outcome.rejection.reason == "EDIFACT_SYNTAX"
    assert outcome.routed == []
    assert b"UCI+AP000003+APCS:ZZZ+CUSTOMS:ZZZ+4" in outcome.acknowledgement


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"UNH+1+CUSCAR:D:95B:UN'BGM+85'",
        b"<not-closed",
        b"UNB+UNOA:3+A+B+1:1+1'UNZ+1+1'",
    ],
)
def test_any_input_gives_a_rejection_never_an_exception(data: bytes) -> None:
    result = translate(data)
    assert result.rejection is not None
    assert result.rejection.reason and result.rejection.sentence


def test_format_is_sniffed_from_content() -> None:
    assert sniff_format(b"\xef\xbb\xbf  <?xml version='1.0'?><a/>") == "xml"
    assert sniff_format(b"UNA:+.? 'UNB+UNOA:3") == "edifact"


def test_journal_tracks_a_family_by_reference(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite3")
    journal.record_message("in-1", type="inbound", partner="apcs", correlation_id="in-1")
    journal.record_message("in-1", type="CUSCAR", partner="apcs", correlation_id="in-1")
    journal.record_message(
        "doc-1", type="CargoManifest", partner="apcs", correlation_id="in-1", parent_id="in-1"
    )
    journal.add_references("doc-1", ["BL-9"])
    journal.record_event("in-1", "received")
    journal.record_event("doc-1", "routed", "to customs.core")
    found = journal.track("BL-9")
    assert [(h.message_id, h.type) for h in found] == [
        ("in-1", "CUSCAR"),
        ("doc-1", "CargoManifest"),
    ]
    assert found[1].events[0].status == "routed"
    assert journal.track("nothing") == []
    with pytest.raises(ValueError):
        journal.record_event("in-1", "teleported")


def test_topology_uses_quorum_queues_with_dead_lettering() -> None:
    topo = topology_for(load(env={}))
    queues = {q.name: q for q in topo.queues}
    inbound = queues["partner.apcs.in"]
    assert inbound.arguments["x-queue-type"] == "quorum"
    assert inbound.arguments["x-dead-letter-exchange"] == "edigw.dlx"
    assert inbound.arguments["x-dead-letter-strategy"] == "at-least-once"
    assert "partner.apcs.in.dlq" in queues
    for name in ("customs.core", "customs.legacy", "customs.responses", "partner.agriculture.out"):
        assert name in queues
    assert "partner.apcs.in" in table(topo)


def test_cli_translate_contract(tmp_path: Path) -> None:
    ok = subprocess.run(
        [*EDIGW, "translate", str(SAMPLES / "02-cuscar-ferry-two-messages.edi")],
        capture_output=True,
    )
    assert ok.returncode == 0
    assert ok.stdout.count(b"<CargoManifest") == 2
    out = subprocess.run(
        [
            *EDIGW,
            "translate",
            "--out",
            str(tmp_path / "o"),
            str(SAMPLES / "02-cuscar-ferry-two-messages.edi"),
        ],
        capture_output=True,
    )
    assert out.returncode == 0
    assert len(list((tmp_path / "o").glob("*.xml"))) == 2
    bad = subprocess.run(
        [*EDIGW, "translate", str(SAMPLES / "03-cuscar-rejected-bad-count.edi")],
        capture_output=True,
    )
    assert bad.returncode == 1
    assert bad.stdout == b""
    lines = bad.stderr.decode().strip().splitlines()
    assert lines and all(len(line.split("\t")) == 3 for line in lines)
    assert b"Traceback" not in bad.stderr
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    bad = subprocess.run([*EDIGW, "translate", str(junk)], capture_output=True)
    assert bad.returncode == 1 and bad.stdout == b"" and b"Traceback" not in bad.stderr


def test_directory_errors_are_rejected_by_contrl_or_only_warned_by_policy() -> None:
    # A goods item's HS code in PIA is not D95B CUSCAR (it belongs in CST there).
    data = SAMPLE.read_bytes().replace(b"CST++847130:HS'", b"PIA+5+847130:HS'", 1)
    rejected = translate(data)
    assert rejected.rejection is not None
    assert rejected.rejection.reason == "EDIFACT_DIRECTORY"
    assert rejected.rejection.problems[0].code == "EDIFACT_15"
    assert "PIA" in rejected.rejection.problems[0].where
    report = rejected.syntax_report
    assert report is not None and not report.accepted
    warned = translate(data, policy=ReadPolicy(directory_validation="warn"))
    assert warned.rejection is None
    assert [w.code for w in warned.warnings] == ["EDIFACT_15"]
    assert translate(data, policy=ReadPolicy(directory_validation="off")).warnings == []


def test_directory_policy_is_checked_in_configuration() -> None:
    settings = load({"partners": {"apcs": {"directory_validation": "warn"}}}, env={})
    assert settings.partners["apcs"].directory_validation == "warn"
    with pytest.raises(ConfigError) as info:
        load({"partners": {"apcs": {"directory_validation": "maybe"}}}, env={})
    assert info.value.key == "partners.apcs.directory_validation"


def test_translate_decodes_ministry_xml_offline_with_a_warning() -> None:
    ministries = SAMPLES.parent / "ministries"
    done = subprocess.run(
        [*EDIGW, "translate", str(ministries / "national-import-licence.xml")], capture_output=True
    )
    assert done.returncode == 0
    assert done.stdout.startswith(b"<?xml") and b"<Lpco " in done.stdout
    assert b"warning: SIGNATURE_NOT_CHECKED" in done.stderr
    result = translate(b"<Unknown xmlns='urn:x'/>")
    assert result.rejection is not None and result.rejection.reason == "UNSUPPORTED_DOCUMENT"


def test_a_value_xml_cannot_carry_is_a_rejection_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Simulate an adapter that lets a control character through to the canonical model.
    original = cuscar.decode_message

    def leaky(*args: object, **kwargs: object) -> object:
        doc = original(*args, **kwargs)  # type: ignore[arg-type]
        doc.conveyance.name = "BELL\x07"
        return doc

    codec = MessageCodec("CUSCAR", cuscar.is_cuscar, leaky)  # type: ignore[arg-type]
    monkeypatch.setattr("gateway.service.edifact_messages.codec_for", lambda message: codec)
    result = translate(SAMPLE.read_bytes())
    assert result.rejection is not None
    assert result.rejection.reason == "CANONICAL_INVALID"
