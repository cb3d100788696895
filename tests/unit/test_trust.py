"""Ministry signatures: every attack is refused, each with its own reason code.

All trust material (CAs, ministry keys, an expired and a revoked certificate, CRLs) is made here,
in a temporary directory; no private key is committed.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml.verifier import XMLVerifier

from gateway.security.trust import DS, DevPki, TrustError, TrustStore, make_ca, sign_enveloped

NSX = "urn:example:ministry"
PARTNERS = ["agriculture", "commerce", "industry"]


def document() -> etree._Element:
    return etree.fromstring(
        f'<Certificate xmlns="{NSX}"><Number>PC-1</Number>'
        f'<Part Id="p1"><Holder>user@example.com.evil.org</Holder><Quantity>10</Quantity></Part>'
        "</Certificate>".encode()
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return DevPki.create(tmp_path_factory.mktemp("pki"), PARTNERS)


@pytest.fixture(scope="module")
def store(pki: DevPki) -> TrustStore:
    return TrustStore.load(pki.trust_dir)


@pytest.fixture(scope="module")
def signed(pki: DevPki) -> bytes:
    return pki.sign("agriculture", document())


def refused(store: TrustStore, data: bytes, partner: str = "agriculture") -> str:
    with pytest.raises(TrustError) as info:
        store.verify(data, partner)
    return info.value.reason


def tree(data: bytes) -> etree._Element:
    return etree.fromstring(data)


def dump(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def q(name: str) -> str:
    return f"{{{NSX}}}{name}"


def ds(name: str) -> str:
    return f"{{{DS}}}{name}"


# ---------------------------------------------------------------- the good case


def test_valid_signature_yields_only_the_signed_bytes(store: TrustStore, signed: bytes) -> None:
    verified = store.verify(signed, "agriculture")
    assert verified.partner == "agriculture"
    assert verified.root.find(f".//{ds('Signature')}") is None
    assert verified.root.findtext(f".//{q('Holder')}") == "user@example.com.evil.org"
    assert b"Signature" not in verified.signed_data
    assert len(verified.content_sha256) == 64


def test_no_anchor_for_the_partner_is_never_a_fallback(signed: bytes) -> None:
    # An empty store: signxml would fall back to certifi's public CAs; we never let it.
    assert refused(TrustStore(), signed) == "CERTIFICATE_UNTRUSTED"


# ---------------------------------------------------------------- the rejection table


def tampered(pki: DevPki, signed: bytes) -> bytes:
    return signed.replace(b"<Quantity>10<", b"<Quantity>99<")


def wrong_key(pki: DevPki, signed: bytes) -> bytes:
    # The agriculture certificate in KeyInfo, but the signature made with another key.
    other_key, _ = pki.issue("agriculture", "someone else")
    cert = pki.identities["agriculture"].cert_pem
    return dump(sign_enveloped(document(), other_key, cert))


def expired(pki: DevPki, signed: bytes) -> bytes:
    now = dt.datetime.now(dt.UTC)
    key, cert = pki.issue(
        "agriculture",
        "expired signer",
        not_before=now - dt.timedelta(days=400),
        not_after=now - dt.timedelta(days=1),
    )
    return pki.sign("agriculture", document(), key=key, cert=cert)


def unsigned(pki: DevPki, signed: bytes) -> bytes:
    return dump(document())


def other_ministry(pki: DevPki, signed: bytes) -> bytes:
    return pki.sign("commerce", document())  # a Commerce key on an Agriculture certificate


def keyinfo_own_certificate(pki: DevPki, signed: bytes) -> bytes:
    # The attacker's self-made CA, named like the ministry's, issues a look-alike signer.
    ca_key, ca_cert = make_ca("agriculture development CA")
    from gateway.security.trust import issue

    key, cert = issue(ca_key, ca_cert, "agriculture development signer")
    forged = document()
    forged.find(f".//{q('Quantity')}").text = "100000"
    return pki.sign("agriculture", forged, key=key, cert=cert)


def keyinfo_key_value(pki: DevPki, signed: bytes) -> bytes:
    root = tree(signed)
    key_info = root.find(f"{ds('Signature')}/{ds('KeyInfo')}")
    etree.SubElement(etree.SubElement(key_info, ds("KeyValue")), ds("RSAKeyValue"))
    return dump(root)


def sha1_digest(pki: DevPki, signed: bytes) -> bytes:
    return signed.replace(
        b"http://www.w3.org/2001/04/xmlenc#sha256", b"http://www.w3.org/2000/09/xmldsig#sha1"
    )


def weak_rsa_key(pki: DevPki, signed: bytes) -> bytes:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    key, cert = pki.issue("agriculture", "weak signer", key=small)
    return pki.sign("agriculture", document(), key=key, cert=cert)


def comment_injection(pki: DevPki, signed: bytes) -> bytes:
    # Canonical XML drops comments, so the signature still verifies; a naive reader of .text
    # would now see "user@example.com" (ruby-saml/SAML comment truncation).
    return signed.replace(b"user@example.com.evil.org", b"user@example.com<!---->.evil.org")


def duplicate_ids(pki: DevPki, signed: bytes) -> bytes:
    root = tree(signed)
    forged = etree.Element(q("Part"), Id="p1")
    etree.SubElement(forged, q("Holder")).text = "attacker"
    root.insert(0, forged)
    return dump(root)


# --- signature wrapping (XSW) variants


def wrap_in_new_root(pki: DevPki, signed: bytes) -> bytes:
    evil = etree.Element(q("Certificate"))
    etree.SubElement(evil, q("Number")).text = "FORGED"
    evil.append(tree(signed))  # the genuine signed document, one level down
    return dump(evil)


def second_signature(pki: DevPki, signed: bytes) -> bytes:
    root = tree(signed)
    root.append(copy.deepcopy(root.find(ds("Signature"))))
    return dump(root)


def reference_to_part(pki: DevPki, signed: bytes) -> bytes:
    # A signature over one element by ID (legitimate in SAML), then forged content beside it.
    from signxml import methods
    from signxml.algorithms import DigestAlgorithm, SignatureMethod
    from signxml.signer import XMLSigner

    ident = pki.identities["agriculture"]
    signer = XMLSigner(
        method=methods.enveloped,
        signature_algorithm=SignatureMethod.ECDSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
    )
    root = signer.sign(document(), key=ident.key, cert=ident.cert_pem, reference_uri="#p1")
    etree.SubElement(root, q("Quantity")).text = "100000"
    return dump(root)


def two_references(pki: DevPki, signed: bytes) -> bytes:
    root = tree(signed)
    signed_info = root.find(f"{ds('Signature')}/{ds('SignedInfo')}")
    reference = signed_info.find(ds("Reference"))
    extra = copy.deepcopy(reference)
    extra.set("URI", "#p1")
    signed_info.append(extra)
    return dump(root)


def digest_outside_signature(pki: DevPki, signed: bytes) -> bytes:
    # CVE-2024-45409: a forged DigestValue earlier in the document, found first by a //XPath.
    root = tree(signed)
    ext = etree.Element(q("Extension"))
    ref = etree.SubElement(ext, ds("Reference"), URI="")
    etree.SubElement(ref, ds("DigestValue")).text = "Zm9yZ2Vk"
    root.insert(0, ext)
    return dump(root)


def content_moved_into_object(pki: DevPki, signed: bytes) -> bytes:
    root = tree(signed)
    signature = root.find(ds("Signature"))
    obj = etree.SubElement(signature, ds("Object"))
    moved = copy.deepcopy(root.find(q("Part")))
    del moved.attrib["Id"]  # no duplicate ID to give it away
    obj.append(moved)
    root.find(f"{q('Part')}/{q('Holder')}").text = "attacker"
    return dump(root)


def xpath_transform(pki: DevPki, signed: bytes) -> bytes:
    root = tree(signed)
    transforms = root.find(
        f"{ds('Signature')}/{ds('SignedInfo')}/{ds('Reference')}/{ds('Transforms')}"
    )
    xpath = etree.SubElement(
        transforms, ds("Transform"), Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"
    )
    etree.SubElement(xpath, ds("XPath")).text = "not(ancestor-or-self::*[local-name()='Part'])"
    return dump(root)


ATTACKS: list[tuple[str, Callable[[DevPki, bytes], bytes], str]] = [
    ("tampered value", tampered, "SIGNATURE_DIGEST_MISMATCH"),
    ("wrong key", wrong_key, "SIGNATURE_VALUE_INVALID"),
    ("expired certificate", expired, "CERTIFICATE_EXPIRED"),
    ("unsigned document", unsigned, "SIGNATURE_MISSING"),
    ("another ministry's key", other_ministry, "SIGNER_NOT_PARTNER"),
    ("KeyInfo brings its own certificate", keyinfo_own_certificate, "CERTIFICATE_UNTRUSTED"),
    ("KeyInfo brings a raw key", keyinfo_key_value, "KEYINFO_FORBIDDEN"),
    ("SHA-1 digest", sha1_digest, "SIGNATURE_WEAK_ALGORITHM"),
    ("RSA-1024 key", weak_rsa_key, "WEAK_KEY"),
    ("comment injection", comment_injection, "COMMENT_INJECTION"),
    ("duplicate IDs", duplicate_ids, "XML_DUPLICATE_ID"),
    ("XSW: signed document wrapped in a forged root", wrap_in_new_root, "SIGNATURE_NOT_ENVELOPED"),
    ("XSW: a second signature", second_signature, "SIGNATURE_MULTIPLE"),
    (
        "XSW: reference to one element, forged siblings",
        reference_to_part,
        "SIGNATURE_REFERENCE_SCOPE",
    ),
    ("XSW: two references", two_references, "SIGNATURE_REFERENCE_COUNT"),
    (
        "XSW: DigestValue outside the signature (CVE-2024-45409)",
        digest_outside_signature,
        "SIGNATURE_WRAPPING",
    ),
    (
        "XSW: signed content moved into ds:Object",
        content_moved_into_object,
        "SIGNATURE_OBJECT_FORBIDDEN",
    ),
    ("XSW: XPath transform hides content", xpath_transform, "SIGNATURE_TRANSFORM_FORBIDDEN"),
]


@pytest.mark.parametrize(
    ("attack", "reason"), [(a[1], a[2]) for a in ATTACKS], ids=[a[0] for a in ATTACKS]
)
def test_attack_is_refused_for_its_reason(
    pki: DevPki,
    store: TrustStore,
    signed: bytes,
    attack: Callable[[DevPki, bytes], bytes],
    reason: str,
) -> None:
    assert refused(store, attack(pki, signed)) == reason


def test_every_attack_has_its_own_reason_code() -> None:
    reasons = [a[2] for a in ATTACKS]
    assert len(reasons) == len(set(reasons))
    assert sum(1 for a in ATTACKS if a[0].startswith("XSW")) >= 5


def test_comment_injection_really_keeps_a_valid_signature(pki: DevPki, signed: bytes) -> None:
    """The attack is real: without our check, the signature still verifies."""
    cert = pki.identities["agriculture"].cert_pem
    XMLVerifier().verify(comment_injection(pki, signed), x509_cert=cert)


def test_revoked_certificate_is_refused(tmp_path: Path) -> None:
    pki = DevPki.create(tmp_path, ["agriculture"])
    key, cert = pki.issue("agriculture", "revoked signer")
    data = pki.sign("agriculture", document(), key=key, cert=cert)
    assert TrustStore.load(pki.trust_dir).verify(data, "agriculture")
    pki.write_crl("agriculture", [cert])
    assert refused(TrustStore.load(pki.trust_dir), data) == "CERTIFICATE_REVOKED"
    # The CRL can be given explicitly too ([trust] crl_files).
    crl = pki.trust_dir / "crl" / "agriculture.crl.pem"
    elsewhere = tmp_path / "elsewhere.crl.pem"
    crl.rename(elsewhere)
    # Without it the CA's certificates cannot be checked: refused, never accepted (issue #14).
    assert refused(TrustStore.load(pki.trust_dir), data) == "CRL_UNAVAILABLE"
    assert refused(TrustStore.load(pki.trust_dir, crl_files=[elsewhere]), data) == (
        "CERTIFICATE_REVOKED"
    )


def test_stale_crl_fails_closed(tmp_path: Path) -> None:
    pki = DevPki.create(tmp_path, ["agriculture"])
    pki.write_crl("agriculture", [], next_update=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    data = pki.sign("agriculture", document())
    assert refused(TrustStore.load(pki.trust_dir), data) == "CRL_EXPIRED"


def test_pinned_certificate_anchor(tmp_path: Path) -> None:
    pki = DevPki.create(tmp_path, ["industry"])
    pinned = tmp_path / "pinned"
    pinned.mkdir()
    ident = pki.identities["industry"]
    (pinned / "industry.pem").write_text(ident.cert_pem)
    store = TrustStore.load(pinned)
    assert store.verify(pki.sign("industry", document()), "industry").partner == "industry"
    key, cert = pki.issue("industry", "another key of the same CA")
    assert refused(store, pki.sign("industry", document(), key=key, cert=cert), "industry") == (
        "CERTIFICATE_UNTRUSTED"
    )


def test_unsafe_xml_is_refused_before_any_crypto(store: TrustStore) -> None:
    data = b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'
    assert refused(store, data) == "XML_DTD_FORBIDDEN"


SHA1_TEMPLATE = """<Doc xmlns="urn:example:ministry"><N>1</N>
<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>
<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
<ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/>
<ds:Reference URI=""><ds:Transforms>
<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></ds:Transforms>
<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/><ds:DigestValue/></ds:Reference>
</ds:SignedInfo><ds:SignatureValue/>
<ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature></Doc>"""


def test_a_genuine_rsa_sha1_signature_is_refused(
    pki: DevPki, store: TrustStore, tmp_path: Path
) -> None:
    """Made by xmlsec1 with the ministry's own (valid, trusted) key: still refused for SHA-1."""
    import subprocess

    from cryptography.hazmat.primitives import serialization

    key, cert = pki.issue("agriculture", "rsa signer", key=rsa.generate_private_key(65537, 2048))
    (tmp_path / "k.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "t.xml").write_text(SHA1_TEMPLATE)
    subprocess.run(
        [
            "xmlsec1",
            "--sign",
            "--privkey-pem",
            f"{tmp_path / 'k.pem'},{tmp_path / 'c.pem'}",
            "--output",
            str(tmp_path / "s.xml"),
            str(tmp_path / "t.xml"),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    assert refused(store, (tmp_path / "s.xml").read_bytes()) == "SIGNATURE_WEAK_ALGORITHM"


# ---------------------------------------------------------------- what is remembered (issue #8)


def test_a_remembered_certificate_is_still_checked_against_revocation_and_anchors(
    tmp_path: Path,
) -> None:
    # The store parses and chains a signing certificate once; revocation, validity and the
    # anchor itself are still judged for every document, with what the store holds now.
    pki = DevPki.create(tmp_path, ["agriculture", "commerce"])
    key, cert = pki.issue("agriculture", "signer revoked later")
    data = pki.sign("agriculture", document(), key=key, cert=cert)
    store = TrustStore.load(pki.trust_dir)
    first = store.verify(data, "agriculture")
    assert store.verify(data, "agriculture").certificate is first.certificate  # parsed once
    pki.write_crl("agriculture", [cert])
    store.crls = TrustStore.load(pki.trust_dir).crls
    assert refused(store, data) == "CERTIFICATE_REVOKED"
    pki.write_crl("agriculture", [])
    store.crls = TrustStore.load(pki.trust_dir).crls
    assert store.verify(data, "agriculture").partner == "agriculture"
    # The agriculture anchor replaced by another CA: the remembered chain no longer counts.
    store.anchors["agriculture"] = [make_ca("another agriculture CA")[1]]
    assert refused(store, data) == "CERTIFICATE_UNTRUSTED"
    assert refused(store, data, partner="commerce") == "CERTIFICATE_UNTRUSTED"
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=3650)
    store.anchors["agriculture"] = TrustStore.load(pki.trust_dir).anchors["agriculture"]
    with pytest.raises(TrustError) as info:
        store.verify(data, "agriculture", now=future)
    assert info.value.reason == "CERTIFICATE_EXPIRED"
