"""The streamed manifest (``gateway.security.c14n``) is the tree path's document (issue #8).

* the writer's bytes are exactly libxml2's canonical XML of ``to_xml(doc)``, on every CUSCAR
  of the corpus, the samples and the test data, on generated manifests and on values that
  need escaping;
* the reference digest is signxml's own over the tree, the signed bytes verify with xmlsec1
  (independent of signxml) and with signxml, and are c14n-equal to the tree path's signed
  document but for the ECDSA value;
* the schema check on the stream gives libxml2's verdict on the tree; a value XML cannot
  carry is refused with the same ValueError;
* the pipeline streams a large manifest and still gives the same document, CONTRL and
  verdicts (also through an amendment that re-signs it).
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import re
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from adapters import cuscar
from adapters.common import MappingError, check_xml_characters
from adapters.cuscar import _slow_payload_hash, payload_hash
from adapters.edifact import Interchange, Message, parse
from adapters.edifact.policy import ReadPolicy
from adapters.registry import MessageCodec
from bench.common import small_cuscar, valid_cuscar
from gateway.config import Partner, Route
from gateway.domain.canonical_xml import from_xml, to_bytes, to_xml
from gateway.domain.model import Address, CargoManifest, Party
from gateway.domain.validation import validate
from gateway.security import c14n
from gateway.security.signing import DSIG_NS, Signer, ensure_dev_keys, verify
from gateway.service import edifact_messages, pipeline, xml_documents
from gateway.service.pipeline import InboundPipeline
from gateway.storage.journal import SqliteJournal
from tests.helpers import parseable_edifact, xmlsec_verify

ROOT = Path(__file__).resolve().parents[2]


def _cuscar_manifests() -> list[tuple[str, CargoManifest]]:
    out = []
    for path, interchanges in parseable_edifact():
        for ic in interchanges:
            for message in ic.messages:
                if not cuscar.is_cuscar(message):
                    continue
                try:
                    out.append((path.name, cuscar.decode_message(message, ic)))
                except Exception:  # refused by the adapter: no document to write
                    continue
    return out


MANIFESTS = _cuscar_manifests()
GENERATED = [cuscar.decode(small_cuscar(7))[0], cuscar.decode(valid_cuscar(700))[0]]


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Signer, Path]:
    d = tmp_path_factory.mktemp("keys")
    key, cert = ensure_dev_keys(d / "k.pem", d / "c.pem")
    return Signer.from_files(key, cert), cert


def _tree_c14n(m: CargoManifest) -> bytes:
    return etree.tostring(to_xml(m), method="c14n")


def test_the_writer_is_libxml2s_c14n_of_the_tree_on_every_real_cuscar() -> None:
    assert len(MANIFESTS) >= 8  # corpus, samples and test data
    files = set()
    for name, m in [*MANIFESTS, *(("generated", g) for g in GENERATED)]:
        assert b"".join(c14n.manifest_c14n(m)) == _tree_c14n(m), name
        files.add(name)
    assert any(n.startswith("CUSCAR_") for n in files)  # the shared corpus took part


def _awkward(empty: str = "") -> CargoManifest:
    """Values that need escaping; with ``empty`` other than "" also schema-valid."""
    m = copy.deepcopy(GENERATED[0])
    odd = "A&B <c> \"d\" 'e'\tf\ng\rh é 中 \U0001f600 ]]>"
    m.document_number = odd
    m.parties.append(
        Party(
            role="other",
            code='Q"&<\t\n\r',
            name=odd,
            address=Address(lines=[odd, empty], city=empty, country=None),
        )
    )
    m.consignments[0].goods_items[0].gross_mass_kg = Decimal("1E+3")
    m.consignments[0].goods_items[0].description = empty
    return m


def test_the_writer_escapes_as_c14n_does() -> None:
    m = _awkward()
    assert b"".join(c14n.manifest_c14n(m)) == _tree_c14n(m)


def test_a_value_xml_cannot_carry_is_refused_like_the_tree() -> None:
    m = copy.deepcopy(GENERATED[0])
    m.consignments[0].goods_items[0].description = "bell \x07"
    with pytest.raises(ValueError):
        to_xml(m)
    with pytest.raises(ValueError):
        b"".join(c14n.manifest_c14n(m))
    m.consignments[0].goods_items[0].description = "lone \udc80"
    with pytest.raises(ValueError):
        to_xml(m)
    with pytest.raises(ValueError):
        b"".join(c14n.manifest_c14n(m))


def test_what_xml_cannot_carry_is_every_code_point_outside_xml_1_0_s_ranges() -> None:
    """The writer's pattern lists the code points left out of XML 1.0's Char production
    (quicker to compile than the negated ranges); the two find the same, over all of Unicode."""
    allowed = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
    everything = "".join(map(chr, range(0x110000)))
    found = [m.start() for m in re.finditer(c14n.NOT_XML_PATTERN, everything)]
    assert found == [m.start() for m in allowed.finditer(everything)]
    assert len(found) == 9 + 2 + 18 + 2048 + 2  # 00-08, 0B-0C, 0E-1F, surrogates, FFFE-FFFF


def _masked(xml: bytes) -> bytes:
    root = etree.fromstring(xml)
    for el in root.iter(f"{{{DSIG_NS}}}SignatureValue"):
        el.text = "~"
    return etree.tostring(root, method="c14n")


@pytest.mark.parametrize("m", [*GENERATED, _awkward("x")], ids=["1-bill", "700-bills", "awkward"])
def test_the_streamed_signature_is_signxmls_and_verifies_with_xmlsec1(
    m: CargoManifest, signer: tuple[Signer, Path], tmp_path: Path
) -> None:
    s, cert = signer
    streamed = c14n.sign_manifest(m, s.signature_for_digest)
    assert streamed is not None
    tree = to_bytes(s.sign(to_xml(m)))
    # Same document, same Signature (algorithms, digest, KeyInfo): all but the ECDSA value.
    assert _masked(streamed) == _masked(tree)
    digest = etree.fromstring(streamed).find(f".//{{{DSIG_NS}}}DigestValue")
    assert digest is not None and digest.text is not None
    assert base64.b64decode(digest.text) == hashlib.sha256(_tree_c14n(m)).digest()
    result = xmlsec_verify(streamed, cert, tmp_path)
    assert result.returncode == 0, result.stderr
    assert from_xml(etree.tostring(verify(streamed, s.cert_pem))) == m
    # Tampered: xmlsec1 refuses it.
    tampered = streamed.replace(b"<Sequence>1</Sequence>", b"<Sequence>2</Sequence>", 1)
    assert tampered != streamed
    assert xmlsec_verify(tampered, cert, tmp_path).returncode != 0


def test_the_streamed_schema_check_gives_the_trees_verdict(signer: tuple[Signer, Path]) -> None:
    s, _ = signer
    fine = GENERATED[1]
    assert validate(to_xml(fine)) == [] and c14n.sign_manifest(fine, s.signature_for_digest)
    broken = []
    m = copy.deepcopy(fine)
    m.consignments[350].goods_items[0].hs_code = "not a code"  # pattern, in the middle
    broken.append(m)
    m = copy.deepcopy(fine)
    m.consignments[-1].transport_document = "X" * 36  # too long, in the last bill
    broken.append(m)
    m = copy.deepcopy(fine)
    m.header.payload_hash = "short"
    broken.append(m)
    for m in broken:
        assert validate(to_xml(m)) != []
        assert c14n.sign_manifest(m, s.signature_for_digest) is None


# ------------------------------------------------------------------ through the pipeline


# The manifests are addressed to CUSTOMS: one of the gateway's ids for this partner (issue #16).
APCS = Partner(
    id="apcs",
    name="APCS",
    role="port",
    formats=("edifact",),
    message_types=("CUSCAR",),
    gateway_ids=("CUSTOMS",),
)


def _unrecorded_from(segments: int) -> ReadPolicy:
    """The pipeline's read policy with messages of ``segments`` or more decoded without positions."""
    return pipeline.READ_POLICY.replace(unrecorded_min_segments=segments)


def _pipeline(s: Signer, journal: SqliteJournal | None = None) -> InboundPipeline:
    return InboundPipeline(s, [Route("core")], "GATEWAY", journal=journal)


_STAMP = re.compile(rb"(UNB\+[^']*?\+)\d{6,8}:\d{4}")
_APERAK_STAMP = re.compile(rb"(DTM\+137:)\d{12}")  # the APERAK's time of preparation


def _outcome_parts(o: pipeline.Outcome) -> list[object]:
    """What a run says, with the times of the run (CreatedAt, the answers' UNB, the APERAK's
    DTM) masked: two runs a minute apart say the same."""
    signed = []
    for r in o.routed:
        root = etree.fromstring(r.signed_xml)
        for el in root.iter(f"{{{DSIG_NS}}}SignatureValue", f"{{{DSIG_NS}}}DigestValue"):
            el.text = "~"
        for el in root.iter("{*}CreatedAt"):
            el.text = "~"
        signed.append(etree.tostring(root, method="c14n"))
    return [
        signed,
        [(r.destination, r.document.header.message_id, r.document.references()) for r in o.routed],
        [
            (kind, _APERAK_STAMP.sub(rb"\1~", _STAMP.sub(rb"\1~", ack)))
            for kind, ack in o.acknowledgements
        ],
        repr(o.rejection),
    ]


def test_the_pipeline_streams_a_large_manifest_to_the_same_outcome(
    signer: tuple[Signer, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, cert = signer
    data = valid_cuscar(700)
    partner = APCS
    streamed = _pipeline(s).process(data, partner, "c", "in-1")
    assert streamed.rejection is None and len(streamed.routed) == 1
    signed = streamed.routed[0].signed_xml
    assert b"<Source " in signed and b"></Source>" in signed  # written by the c14n writer
    assert xmlsec_verify(signed, cert, tmp_path).returncode == 0
    monkeypatch.setattr(xml_documents, "STREAM_MIN_CONSIGNMENTS", 10**9)
    tree = _pipeline(s).process(data, partner, "c", "in-1")
    assert b"></Source>" not in tree.routed[0].signed_xml  # lxml's serialisation
    assert _outcome_parts(streamed) == _outcome_parts(tree)


def test_a_streamed_manifest_that_breaks_the_schema_is_refused_as_before(
    signer: tuple[Signer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    s, _ = signer
    data = valid_cuscar(600)
    original = cuscar.decode_message

    def long_reference(*args: object, **kwargs: object) -> CargoManifest:
        m = original(*args, **kwargs)  # type: ignore[arg-type]
        m.consignments[-1].goods_items[0].package_type = "P" * 36
        return m

    # A codec without decode_stream: the message is decoded held whole, by long_reference.
    codec = MessageCodec("CUSCAR", cuscar.is_cuscar, long_reference)
    monkeypatch.setattr(edifact_messages, "codec_for", lambda message: codec)
    streamed = _pipeline(s).process(data, APCS, "c", "in-1")
    monkeypatch.setattr(xml_documents, "STREAM_MIN_CONSIGNMENTS", 10**9)
    tree = _pipeline(s).process(data, APCS, "c", "in-1")
    assert streamed.rejection is not None and streamed.rejection.reason == "CANONICAL_INVALID"
    assert repr(streamed.rejection) == repr(tree.rejection)
    assert streamed.routed == [] and [k for k, _ in streamed.acknowledgements] == [
        "CONTRL",
        "APERAK",
    ]


def test_an_amended_large_manifest_is_streamed_and_signed_again(
    signer: tuple[Signer, Path], tmp_path: Path
) -> None:
    s, cert = signer
    journal = SqliteJournal(":memory:")
    first = valid_cuscar(600)
    p = _pipeline(s, journal)
    o1 = p.process(first, APCS, "c", "in-1")
    assert o1.rejection is None
    # The same manifest replaced (BGM function 5) with one bill changed: version 2.
    number = o1.routed[0].document.header.business_reference.encode()
    second = first.replace(number + b"+9'", number + b"+5'", 1).replace(b"OLIVE", b"OLIVES", 1)
    assert second != first
    o2 = p.process(second, APCS, "c", "in-2")
    assert o2.rejection is None, o2.rejection
    doc = o2.routed[0].document
    assert doc.header.document_version == 2 and doc.header.previous_message_id
    signed = o2.routed[0].signed_xml
    assert isinstance(doc, c14n.SignedManifest)  # the bills are in the signed bytes only
    assert b"></Source>" in signed  # the streamed bytes, their new Header spliced in
    assert xmlsec_verify(signed, cert, tmp_path).returncode == 0
    # The tree path's document for the same content and header.
    full = cuscar.decode(second)[0]
    full.header = doc.header
    assert _masked(signed) == _masked(to_bytes(s.sign(to_xml(full))))
    assert from_xml(signed).header == doc.header
    assert doc.references() == full.references() and doc.bills == 600


@pytest.mark.parametrize(
    "broken",
    [
        # A rule: the place of discharge is not a UN/LOCODE (positions decoded again).
        lambda d: re.sub(rb"(CNI\+300\+[^']*'(?:[^']*'){2}\s*LOC\+11\+)[A-Z]{5}", rb"\1XXABC", d),
        # The adapter: bill 300 has no bill of lading number (the error names its CNI).
        lambda d: re.sub(rb"CNI\+300\+([A-Z0-9]+)'(\s*)RFF\+BM:", rb"CNI+300'\2RFF+BN:", d),
    ],
    ids=["rule", "adapter"],
)
def test_a_large_message_without_positions_points_at_the_same_segments(
    broken: object, signer: tuple[Signer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    s, _ = signer
    data = broken(valid_cuscar(600))  # type: ignore[operator]
    assert data != valid_cuscar(600)
    unrecorded = _pipeline(s).process(data, APCS, "c", "in-1")
    monkeypatch.setattr(pipeline, "READ_POLICY", _unrecorded_from(10**9))
    monkeypatch.setattr(xml_documents, "STREAM_MIN_CONSIGNMENTS", 10**9)
    recorded = _pipeline(s).process(data, APCS, "c", "in-1")
    assert unrecorded.rejection is not None
    assert unrecorded.rejection.problems and unrecorded.rejection.problems[0].segment
    assert repr(unrecorded.rejection) == repr(recorded.rejection)
    assert _outcome_parts(unrecorded) == _outcome_parts(recorded)


# ------------------------------------------------------------------ a large message's decode


def _large_message(data: bytes) -> tuple[Message, Interchange]:
    ic = parse(data)[0]
    assert len(ic.messages[0].segments) > 2 * 2_000  # more than two slices of the checks
    return ic.messages[0], ic


def test_a_large_message_decoded_with_its_segments_released_is_the_same_manifest() -> None:
    data = valid_cuscar(600)
    kept = cuscar.decode_message(*_large_message(data))
    message, ic = _large_message(data)
    released = cuscar.decode_message(message, ic, None, {}, release=True)
    assert message.segments == []  # let go as they were read
    assert dataclasses.replace(released, header=kept.header) == kept
    assert released.header.payload_hash == kept.header.payload_hash


def test_the_sliced_whole_message_checks_answer_as_before() -> None:
    message, ic = _large_message(valid_cuscar(600))
    assert payload_hash(message, ic.delimiters) == _slow_payload_hash(message, ic.delimiters)
    # A control character in the third slice is found, at its segment.
    at = message.segments[4_500]
    message.segments[4_500] = dataclasses.replace(at, elements=(*at.elements, ("bell \x07",)))
    with pytest.raises(MappingError) as found:
        check_xml_characters(message)
    assert found.value.reason == "INVALID_CHARACTER" and found.value.segment == at.number


def test_every_real_cuscar_streamed_gives_the_tree_paths_outcome(
    signer: tuple[Signer, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The corpus, samples and test data through the pipeline, every manifest streamed and
    every CUSCAR decoded without positions, against the tree path: same documents (c14n),
    CONTRL, APERAK and verdicts; each streamed document verifies with xmlsec1."""
    s, cert = signer
    # Each file from a partner for whom the gateway is whoever the file is addressed to.
    inputs = [
        (path, path.read_bytes(), {ic.recipient for ic in interchanges})
        for path, interchanges in parseable_edifact()
        if any(cuscar.is_cuscar(m) for ic in interchanges for m in ic.messages)
    ]
    assert len(inputs) >= 8
    streamed_documents = 0
    for path, data, recipients in inputs:
        partner = dataclasses.replace(APCS, gateway_ids=tuple(sorted(recipients)))
        monkeypatch.setattr(xml_documents, "STREAM_MIN_CONSIGNMENTS", 0)
        monkeypatch.setattr(pipeline, "READ_POLICY", _unrecorded_from(0))
        streamed = _pipeline(s).process(data, partner, "c", f"in-{path.name}")
        monkeypatch.setattr(xml_documents, "STREAM_MIN_CONSIGNMENTS", 10**9)
        monkeypatch.setattr(pipeline, "READ_POLICY", _unrecorded_from(10**9))
        tree = _pipeline(s).process(data, partner, "c", f"in-{path.name}")
        assert _outcome_parts(streamed) == _outcome_parts(tree), path.name
        for routed in streamed.routed:
            if isinstance(routed.document, c14n.SignedManifest):
                streamed_documents += 1
                result = xmlsec_verify(routed.signed_xml, cert, tmp_path)
                assert result.returncode == 0, (path.name, result.stderr)
    assert streamed_documents >= 5
