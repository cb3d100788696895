"""The fast paths of issue #8 give exactly what the slow ones gave (no timing asserted here).

* ``payload_hash`` joins segments without service characters in C: same digest as the
  segment-by-segment ``serialize_segment`` reference, on the corpus and on released text;
* the signer copies the element instead of re-parsing it: same digest of the same
  document, and the signature verifies with xmlsec1;
* the pipeline builds the canonical XML once: what is signed carries the derived id and is
  the XML of the routed document.
"""

from __future__ import annotations

import copy
import gc
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from signxml import methods as sign_methods
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.signer import XMLSigner

from adapters.cuscar import _slow_payload_hash, payload_hash
from adapters.edifact import parse
from bench.common import small_cuscar, valid_cuscar
from gateway.config import load
from gateway.domain.canonical_xml import to_bytes, to_xml
from gateway.security.signing import DSIG_NS, Signer, ensure_dev_keys
from gateway.service.pipeline import InboundPipeline, cyclic_gc_paused, translate
from gateway.storage.journal import SqliteJournal, derived_id
from tests.helpers import parseable_edifact

ROOT = Path(__file__).resolve().parents[2]


def test_payload_hash_matches_the_reference_on_every_parseable_file() -> None:
    compared = 0
    for path, interchanges in parseable_edifact():
        for ic in interchanges:
            for message in ic.messages:
                assert payload_hash(message, ic.delimiters) == _slow_payload_hash(
                    message, ic.delimiters
                ), path
                compared += 1
    assert compared > 10


def test_payload_hash_matches_with_released_characters_and_trailing_empties() -> None:
    data = valid_cuscar(50)  # FTX with ?+ ?' ?: in some bills
    assert b"?+" in data and b"?'" in data
    data = data.replace(b"SEL+", b"FTX+AAA++:::+X::+++'SEL+", 3)
    ic = parse(data)[0]
    message = ic.messages[0]
    assert payload_hash(message, ic.delimiters) == _slow_payload_hash(message, ic.delimiters)


@pytest.fixture
def signer(tmp_path: Path) -> tuple[Signer, Path]:
    key, cert = ensure_dev_keys(tmp_path / "k.pem", tmp_path / "c.pem")
    return Signer.from_files(key, cert), cert


def _digest(signed: etree._Element) -> str:
    value = signed.find(f".//{{{DSIG_NS}}}DigestValue")
    assert value is not None and value.text
    return value.text


def _signxml_reference(sign: Signer, element: etree._Element) -> etree._Element:
    """What signxml itself writes for the gateway's key, from the PEM, as the signer did."""
    signed: etree._Element = XMLSigner(
        method=sign_methods.enveloped,
        signature_algorithm=SignatureMethod.ECDSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
    ).sign(element, key=sign.private_key, cert=sign.cert_pem, key_name=sign.key_id)
    return signed


def test_copying_signer_digests_what_signxml_digests_and_xmlsec1_verifies(
    signer: tuple[Signer, Path], tmp_path: Path
) -> None:
    sign, cert = signer
    element = translate(valid_cuscar(30)).elements[0]
    reference = _signxml_reference(sign, element)
    ours = sign.sign(element)
    assert _digest(ours) == _digest(reference)
    assert element.find(f".//{{{DSIG_NS}}}Signature") is None  # the input is left alone
    _xmlsec1_verifies(ours, cert, tmp_path)


def _without_signature_value(signed: etree._Element) -> bytes:
    signed = copy.deepcopy(signed)
    value = signed.find(f".//{{{DSIG_NS}}}SignatureValue")
    assert value is not None and value.text  # ECDSA signatures differ each time
    value.text = ""
    return etree.tostring(signed)


def _xmlsec1_verifies(signed: etree._Element, cert: Path, tmp_path: Path) -> None:
    if shutil.which("xmlsec1") is None:
        pytest.fail("xmlsec1 is needed to verify signatures (apt-get install xmlsec1)")
    out = tmp_path / "signed.xml"
    out.write_bytes(to_bytes(signed))
    result = subprocess.run(
        ["xmlsec1", "--verify", "--trusted-pem", str(cert), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("in_place", [False, True])
def test_prepared_key_info_and_in_place_signing_write_what_signxml_writes(
    signer: tuple[Signer, Path], tmp_path: Path, in_place: bool
) -> None:
    # The KeyInfo is rendered once per key and, in place, no copy is taken: the signed
    # document is still byte for byte signxml's own (but for the random ECDSA value).
    sign, cert = signer
    element = translate(valid_cuscar(5)).elements[0]
    reference = _signxml_reference(sign, element)
    first = sign.sign(copy.deepcopy(element), in_place=in_place)
    second = sign.sign(copy.deepcopy(element), in_place=in_place)  # the KeyInfo is reusable
    assert _without_signature_value(first) == _without_signature_value(reference)
    assert _without_signature_value(second) == _without_signature_value(reference)
    _xmlsec1_verifies(second, cert, tmp_path)


def test_in_place_signing_signs_the_given_element(signer: tuple[Signer, Path]) -> None:
    element = translate(valid_cuscar(2)).elements[0]
    signed = signer[0].sign(element, in_place=True)
    assert signed is element
    assert [c.tag for c in element].count(f"{{{DSIG_NS}}}Signature") == 1


def test_a_signed_tree_is_freed_without_the_cyclic_gc(signer: tuple[Signer, Path]) -> None:
    # The pipeline pauses the collector: signxml's signer is a reference cycle, and one that
    # held the document kept every signed tree of an interchange alive until the end.
    def alive() -> int:
        return sum(
            1
            for o in gc.get_objects()
            if isinstance(o, etree._Element) and o.get("probe") == "signed-tree"
        )

    was = gc.isenabled()
    gc.disable()
    try:
        element = translate(valid_cuscar(2)).elements[0]
        element.set("probe", "signed-tree")
        signed = to_bytes(signer[0].sign(element, in_place=True))
        assert alive() == 1
        del element
        assert alive() == 0
        assert b'probe="signed-tree"' in signed
    finally:
        if was:
            gc.enable()


def test_signed_xml_is_the_routed_document_with_its_derived_id(
    signer: tuple[Signer, Path],
) -> None:
    settings = load(env={})
    pipeline = InboundPipeline(
        signer[0], settings.routes, "CUSTOMS", journal=SqliteJournal(":memory:")
    )
    outcome = pipeline.process(small_cuscar(1), settings.partners["apcs"], "corr-1", "in-1")
    assert outcome.rejection is None
    (routed,) = outcome.routed
    assert routed.document.header.message_id == derived_id("in-1", 0)
    signed = etree.fromstring(routed.signed_xml)
    signed.remove(signed[-1])  # the Signature
    assert etree.tostring(signed, method="c14n") == etree.tostring(
        to_xml(routed.document), method="c14n"
    )
    assert re.search(rb"<MessageId>" + derived_id("in-1", 0).encode(), routed.signed_xml)


def test_the_cyclic_gc_is_paused_while_a_message_is_processed_and_restored_after(
    signer: tuple[Signer, Path],
) -> None:
    seen: list[bool] = []

    class RecordingSigner:
        def sign(self, root: etree._Element, *, in_place: bool = False) -> etree._Element:
            seen.append(gc.isenabled())
            return signer[0].sign(root, in_place=in_place)

        def signature_for_digest(
            self, *args: Any
        ) -> bytes:  # large manifests (gateway.security.c14n)
            seen.append(gc.isenabled())
            return signer[0].signature_for_digest(*args)

    class FailingSigner:
        def sign(self, root: etree._Element, *, in_place: bool = False) -> etree._Element:
            raise RuntimeError("signing failed")

        def signature_for_digest(self, *args: Any) -> bytes:
            raise RuntimeError("signing failed")

    settings = load(env={})
    apcs = settings.partners["apcs"]
    assert gc.isenabled()
    recording = InboundPipeline(RecordingSigner(), settings.routes, "CUSTOMS")  # type: ignore[arg-type]
    assert recording.process(small_cuscar(2), apcs, "c-2", "in-2").rejection is None
    assert seen == [False] and gc.isenabled()
    failing = InboundPipeline(FailingSigner(), settings.routes, "CUSTOMS")  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        failing.process(small_cuscar(3), apcs, "c-3", "in-3")
    assert gc.isenabled()  # back on after an error too
    gc.disable()
    try:
        recording.process(small_cuscar(4), apcs, "c-4", "in-4")
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
    with cyclic_gc_paused():  # nested (another thread's pipeline, say)
        recording.process(small_cuscar(5), apcs, "c-5", "in-5")
        assert not gc.isenabled()
    assert gc.isenabled()
