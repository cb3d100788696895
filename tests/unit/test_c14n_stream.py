"""The streamed manifest (``gateway.c14n``) is the tree path's document (issue #8).

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
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from adapters import cuscar
from bench.common import small_cuscar, valid_cuscar
from gateway import c14n
from gateway.canonical_xml import from_xml, to_bytes, to_xml
from gateway.model import Address, CargoManifest, Party
from gateway.signing import DSIG_NS, Signer, ensure_dev_keys, verify
from gateway.validation import validate
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
