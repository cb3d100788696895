"""Amendments through the pipeline with an in-memory journal (the broker test is in integration/)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from adapters import aperak
from gateway.config import load
from gateway.domain.amendments import DocumentVersion
from gateway.security.signing import Signer, ensure_dev_keys, verify
from gateway.service.pipeline import InboundPipeline, Outcome
from gateway.storage.journal import SqliteJournal

VALID = (Path(__file__).resolve().parent.parent / "data" / "cuscar" / "valid.edi").read_bytes()


def version(function: str, reference: str, goods: str = "LAPTOPS") -> bytes:
    """The valid fixture as BGM function ``function`` in interchange ``reference``."""
    return (
        VALID.replace(b"BGM+85+RULES-0001+9'", f"BGM+85+RULES-0001+{function}'".encode())
        .replace(b"R0001", reference.encode())
        .replace(b"LAPTOPS", goods.encode())
    )


@pytest.fixture
def pipeline(tmp_path: Path) -> InboundPipeline:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    ensure_dev_keys(key, cert)
    journal = SqliteJournal(":memory:")
    return InboundPipeline(
        Signer.from_files(key, cert), load(env={}).routes, "CUSTOMS", journal=journal
    )


def run(pipeline: InboundPipeline, data: bytes, inbound_id: str) -> Outcome:
    return pipeline.process(data, load(env={}).partners["apcs"], inbound_id, inbound_id)


def aperak_codes(outcome: Outcome) -> list[str]:
    kinds = dict(outcome.acknowledgements)
    return [e.code for e in aperak.decode(kinds["APERAK"]).errors] if "APERAK" in kinds else []


def test_original_then_replace_change_cancel_make_a_chain(pipeline: InboundPipeline) -> None:
    first = run(pipeline, version("9", "A1"), "m1")
    (doc1,) = [r.document for r in first.routed]
    assert (doc1.header.function, doc1.header.document_version) == ("original", 1)
    assert doc1.header.previous_message_id is None

    second = run(pipeline, version("5", "A2", goods="NOTEBOOKS"), "m2")
    (doc2,) = [r.document for r in second.routed]
    assert (doc2.header.function, doc2.header.document_version) == ("replace", 2)
    assert doc2.header.previous_message_id == doc1.header.message_id
    assert b"<DocumentVersion>2</DocumentVersion>" in second.routed[0].signed_xml
    assert doc1.header.message_id.encode() in second.routed[0].signed_xml

    third = run(pipeline, version("4", "A3", goods="TABLETS"), "m3")
    assert [r.document.header.document_version for r in third.routed] == [3]

    cancel = run(pipeline, version("1", "A4", goods="CANCELLED"), "m4")
    assert [
        (r.document.header.function, r.document.header.document_version) for r in cancel.routed
    ] == [("cancel", 4)]
    after = run(pipeline, version("5", "A5", goods="TOO LATE"), "m5")
    assert after.rejection is not None and aperak_codes(after) == ["ALREADY_CANCELLED"]


def test_second_original_with_other_content_is_a_duplicate(pipeline: InboundPipeline) -> None:
    run(pipeline, version("9", "B1"), "m1")
    again = run(pipeline, version("9", "B2", goods="OTHER GOODS"), "m2")
    assert again.rejection is not None and again.rejection.reason == "DUPLICATE"
    assert again.routed == []
    assert [k for k, _ in again.acknowledgements] == ["CONTRL", "APERAK"]
    (error,) = aperak.decode(dict(again.acknowledgements)["APERAK"]).errors
    # Counted within the message, UNH = 1, as the CONTRL's UCS counts: its BGM is 2 (the
    # APERAK said 3, counting the UNB).
    assert (error.code, error.segment, error.tag) == ("DUPLICATE", 2, "BGM")


@pytest.mark.parametrize("function", ["5", "4", "1"])
def test_amendment_without_original_is_rejected(pipeline: InboundPipeline, function: str) -> None:
    outcome = run(pipeline, version(function, "C1"), "m1")
    assert outcome.rejection is not None and aperak_codes(outcome) == ["NO_ORIGINAL"]


def test_identical_resend_gets_the_same_acknowledgement_and_is_not_routed(
    pipeline: InboundPipeline,
) -> None:
    data = version("9", "D1")
    first = run(pipeline, data, "m1")
    resend = run(pipeline, data, "m2")
    assert resend.rejection is None and resend.routed == []
    assert resend.acknowledgements == first.acknowledgements  # the very same bytes
    assert resend.events and resend.events[0][0] == "duplicate"


def test_same_message_in_a_new_interchange_is_not_routed_twice(pipeline: InboundPipeline) -> None:
    run(pipeline, version("9", "E1"), "m1")
    resend = run(pipeline, version("9", "E2"), "m2")  # new UNB reference, same CUSCAR
    assert resend.rejection is None and resend.routed == []
    assert [k for k, _ in resend.acknowledgements] == ["CONTRL"]
    assert b"UCI+E2+APCS:ZZZ+CUSTOMS:ZZZ+7'" in resend.acknowledgement


def test_redelivery_of_the_same_inbound_message_routes_the_same_version(
    pipeline: InboundPipeline,
) -> None:
    data = version("9", "F1")
    first = run(pipeline, data, "m1")
    again = run(pipeline, data, "m1")  # the worker crashed before confirming: same inbound id
    assert [r.document.header.message_id for r in again.routed] == [
        r.document.header.message_id for r in first.routed
    ]
    assert again.routed[0].document.header.document_version == 1


def test_a_rejected_interchange_sent_again_is_judged_again(pipeline: InboundPipeline) -> None:
    # An operator replaying a dead letter after a fix must not get the old answer back.
    data = version("5", "G1")  # a replacement with no original: rejected
    first = run(pipeline, data, "m1")
    assert first.rejection is not None
    run(pipeline, version("9", "G0", goods="THE ORIGINAL"), "m0")  # the original arrives
    again = run(pipeline, data, "m1~replay1")
    assert again.rejection is None
    assert [r.document.header.document_version for r in again.routed] == [2]


@pytest.fixture
def signatures(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every document a Signer signs (its document type), in order."""
    seen: list[str] = []
    real = Signer.sign

    def counted(self: Signer, root: Any, *, in_place: bool = False) -> Any:
        seen.append(etree.QName(root).localname)
        return real(self, root, in_place=in_place)

    monkeypatch.setattr(Signer, "sign", counted)
    return seen


def test_an_amendment_is_signed_once_with_its_version(
    pipeline: InboundPipeline, signatures: list[str]
) -> None:
    """Issue #15: the version header is decided before the document is written, so a
    replacement is signed once, and what is signed is version 2 pointing at version 1."""
    first = run(pipeline, version("9", "A1"), "m1")
    assert len(signatures) == 1
    second = run(pipeline, version("5", "A2", goods="NOTEBOOKS"), "m2")
    assert len(signatures) == 2  # one signature for the replacement, not two
    xml = second.routed[0].signed_xml
    assert b"<DocumentVersion>2</DocumentVersion>" in xml
    assert first.routed[0].document.header.message_id.encode() in xml
    verify(xml, pipeline.signer.cert_pem)  # the one signature covers the version header


def test_a_version_filed_by_another_worker_meanwhile_signs_again(
    pipeline: InboundPipeline, signatures: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preview reads the journal outside the decision's transaction: when another worker
    files a version in between, the header changes at filing and the document is signed
    again with it (the rare race; the common path signs once)."""
    run(pipeline, version("9", "A1"), "m1")
    journal = pipeline.journal
    assert journal is not None
    real = journal.document_versions
    reads: list[str] = []

    def racing(sender: str, key: str) -> list[DocumentVersion]:
        reads.append(key)
        chain = real(sender, key)
        if len(reads) == 1:
            return chain  # the preview sees the original only
        # the filing sees a version 2 another worker filed meanwhile
        other = dataclasses.replace(
            chain[-1],
            version=2,
            function="replace",
            message_id="other",
            payload_hash="x",
            inbound_id="elsewhere",
        )
        return [*chain, other]

    monkeypatch.setattr(journal, "document_versions", racing)
    before = len(signatures)
    outcome = run(pipeline, version("5", "A2", goods="NOTEBOOKS"), "m2")
    assert len(signatures) == before + 2
    (routed,) = outcome.routed
    assert routed.document.header.document_version == 3
    assert routed.document.header.previous_message_id == "other"
    assert b"<DocumentVersion>3</DocumentVersion>" in routed.signed_xml
    verify(routed.signed_xml, pipeline.signer.cert_pem)
