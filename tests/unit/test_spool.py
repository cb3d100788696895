"""The spool of large signed documents (issue #8): written, read back, removed, cleaned."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import valid_cuscar
from gateway.config import load
from gateway.messaging.worker import Plan
from gateway.security.signing import Signer, ensure_dev_keys
from gateway.service.decision import DecisionService
from gateway.service.pipeline import InboundPipeline
from gateway.service.xml_documents import PASSENGER_LIST_SPOOL_MIN_BYTES
from gateway.storage.spool import SPOOL_MIN_BYTES, Spool, SpooledDocument, content
from tests.travellers_data import paxlst_bytes


def test_a_large_document_is_written_as_its_parts_join_and_the_parts_are_let_go(
    tmp_path: Path,
) -> None:
    batch = Spool(tmp_path, min_bytes=10).batch()
    parts = [b"<a>", b"x" * 20, b"</a>"]
    expected = b"".join(parts)
    doc = batch.keep(parts)
    assert isinstance(doc, SpooledDocument) and parts == []
    assert doc.path.parent == tmp_path / str(os.getpid())
    assert len(doc) == len(expected) and doc.read() == expected == content(doc)
    batch.discard()
    assert not doc.path.exists() and batch.documents == []
    batch.discard()  # idempotent


def test_a_small_document_stays_in_memory_and_touches_no_disk(tmp_path: Path) -> None:
    batch = Spool(tmp_path).batch()
    small = b"<a/>" * 100
    assert batch.keep([small]) is small
    assert batch.keep([b"<a>", b"</a>"]) == b"<a></a>"
    assert not tmp_path.joinpath(str(os.getpid())).exists()


def test_a_replaced_document_is_removed_at_once(tmp_path: Path) -> None:
    batch = Spool(tmp_path, min_bytes=1).batch()
    first, second = batch.keep([b"one"]), batch.keep([b"two"])
    batch.drop(first)
    assert isinstance(first, SpooledDocument) and not first.path.exists()
    assert batch.documents == [second]


def test_clean_removes_folders_of_processes_that_are_gone_and_keeps_running_ones(
    tmp_path: Path,
) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = tmp_path / gone.stdout.strip()
    dead.mkdir()
    (dead / "left.xml").write_bytes(b"<a/>")
    own = tmp_path / str(os.getpid())  # this pid's, left by an earlier process of that number
    own.mkdir()
    (own / "left.xml").write_bytes(b"<a/>")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        alive = tmp_path / str(sleeper.pid)
        alive.mkdir()
        (alive / "busy.xml").write_bytes(b"<a/>")
        removed = Spool(tmp_path).clean()
        assert sorted(removed) == sorted([dead, own])
        assert not dead.exists() and not own.exists()
        assert (alive / "busy.xml").exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_clean_without_a_spool_folder_does_nothing(tmp_path: Path) -> None:
    assert Spool(tmp_path / "none").clean() == []


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> InboundPipeline:
    keys = tmp_path_factory.mktemp("keys")
    ensure_dev_keys(keys / "k.pem", keys / "c.pem")
    settings = load(env={"EDIGW_STATE_DIR": str(tmp_path_factory.mktemp("state"))})
    return InboundPipeline(
        Signer.from_files(keys / "k.pem", keys / "c.pem"), settings.routes, "CUSTOMS"
    )


def test_the_pipeline_spools_a_large_manifest_as_it_is_signed(
    pipeline: InboundPipeline, tmp_path: Path
) -> None:
    """The spooled document is the document the pipeline writes without a spool: the same
    bytes but for the time and the signature, with the same id; the CONTRL stays bytes."""
    data = valid_cuscar(1_200)
    partner = load(env={"EDIGW_STATE_DIR": str(tmp_path)}).partners["apcs"]
    batch = Spool(tmp_path / "spool").batch()
    spooled = pipeline.process(data, partner, "c", "in-1", spool=batch)
    plain = pipeline.process(data, partner, "c", "in-1")
    assert spooled.rejection is None and len(spooled.routed) == 1
    doc = spooled.routed[0].signed_xml
    assert isinstance(doc, SpooledDocument) and doc.size >= SPOOL_MIN_BYTES
    assert batch.documents == [doc] and doc.path.exists()
    assert isinstance(plain.routed[0].signed_xml, bytes)

    def stable(xml: bytes) -> bytes:
        """Without what two runs differ in: the time (to the second), hence the digest, and
        the ECDSA signature value (random)."""
        return re.sub(rb"<(CreatedAt|ds:DigestValue|ds:SignatureValue)>[^<]*<", rb"<\1>.<", xml)

    assert stable(doc.read()) == stable(plain.routed[0].signed_xml)
    assert stable(doc.read()) != doc.read()  # the masks matched
    assert [t for t, _ in spooled.acknowledgements] == ["CONTRL"]
    assert all(isinstance(ack, bytes) for _, ack in spooled.acknowledgements)
    batch.discard()
    assert not doc.path.exists()


def test_a_small_message_is_not_spooled(pipeline: InboundPipeline, tmp_path: Path) -> None:
    partner = load(env={"EDIGW_STATE_DIR": str(tmp_path)}).partners["apcs"]
    batch = Spool(tmp_path / "spool").batch()
    outcome = pipeline.process(valid_cuscar(1), partner, "c", "in-2", spool=batch)
    assert outcome.rejection is None
    assert isinstance(outcome.routed[0].signed_xml, bytes) and batch.documents == []
    assert not (tmp_path / "spool").exists()


def test_a_large_inbound_body_is_let_go_once_decided_and_read_back_for_a_dead_letter(
    tmp_path: Path,
) -> None:
    from gateway.messaging.worker import Delivery, Publish

    body = b"UNB" + b"x" * SPOOL_MIN_BYTES
    d = Delivery(body, "in-3", None, {}, "ex", "rk", False)
    routed = Plan("in-3", "routed", spooled=Spool(tmp_path).batch())
    routed.publishes.append(Publish("x", "core", b"<doc/>", "d", "in-3", "application/xml"))
    DecisionService.let_go_of_body(d, routed)
    assert d.body == b"" and isinstance(d.payload, SpooledDocument)
    assert content(d.payload) == body
    # A plan that publishes the body itself (a dead letter) keeps it in memory.
    d2 = Delivery(body, "in-4", None, {}, "ex", "rk", False)
    rejected = Plan("in-4", "rejected", spooled=Spool(tmp_path).batch())
    rejected.publishes.append(Publish("dlx", "q", d2.body, "in-4", None, "application/edifact"))
    DecisionService.let_go_of_body(d2, rejected)
    assert d2.body is body and d2.payload is body
    # A small body is never spooled.
    d3 = Delivery(b"UNB", "in-5", None, {}, "ex", "rk", False)
    DecisionService.let_go_of_body(d3, Plan("in-5", "routed", spooled=Spool(tmp_path).batch()))
    assert d3.body == b"UNB" and d3.spooled_body is None


def test_a_passenger_list_is_spooled_from_64_kib_while_its_sailing_list_is_built(
    pipeline: InboundPipeline, tmp_path: Path
) -> None:
    """Issue #18: a ferry's signed passenger list waits while its sailing's list is built, so
    it goes to the spool from PASSENGER_LIST_SPOOL_MIN_BYTES, far below a manifest's 1 MiB;
    the same bytes as without a spool. A short list stays in memory."""
    partner = load(env={"EDIGW_STATE_DIR": str(tmp_path)}).partners["apcs"]
    families = ("BENALI", "HADDAD", "MERABET", "BOUZID", "KHELIFI", "SAIDI")

    def ferry(count: int) -> bytes:
        return paxlst_bytes(
            [
                {"family": families[n % 6], "given": "AMEL", "passport": f"30{n:07d}"}
                for n in range(count)
            ],
            number=f"AF-{count}",
        )

    batch = Spool(tmp_path / "spool").batch()
    spooled = pipeline.process(ferry(300), partner, "c", "in-pax", spool=batch)
    plain = pipeline.process(ferry(300), partner, "c", "in-pax")
    assert spooled.rejection is None
    [doc] = [r.signed_xml for r in spooled.routed]
    assert isinstance(doc, SpooledDocument)
    assert PASSENGER_LIST_SPOOL_MIN_BYTES <= doc.size < SPOOL_MIN_BYTES
    assert batch.documents == [doc]
    mask = rb"<(CreatedAt|ds:DigestValue|ds:SignatureValue)>[^<]*<"
    assert isinstance(plain.routed[0].signed_xml, bytes)
    assert re.sub(mask, b"", doc.read()) == re.sub(mask, b"", plain.routed[0].signed_xml)
    short = pipeline.process(ferry(3), partner, "c", "in-short", spool=batch)
    assert [type(r.signed_xml) for r in short.routed] == [bytes]
    assert batch.documents == [doc]
    batch.discard()
