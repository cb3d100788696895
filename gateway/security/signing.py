"""XML-DSig signing of canonical documents (enveloped, SHA-256, ECDSA P-256).

The private key is loaded once, when the :class:`Signer` is built, never per
message: loading a PEM key costs milliseconds that would dominate the hot path.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> key, cert = ensure_dev_keys(d / "k.pem", d / "c.pem")
>>> from lxml import etree
>>> signed = Signer.from_files(key, cert).sign(etree.fromstring(b"<doc>1</doc>"))
>>> signed[-1].tag
'{http://www.w3.org/2000/09/xmldsig#}Signature'
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import methods as sign_methods
from signxml import util as signxml_util
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.signer import XMLSigner
from signxml.verifier import XMLVerifier

from gateway.config import ConfigError, Settings
from gateway.security.certificates import key_usage

DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
# signxml's own PEM helpers (untyped there): the KeyInfo must be the text signxml writes.
_iterate_pem = cast(Callable[[str], Iterable[str]], signxml_util.iterate_pem)
_strip_pem_header = cast(Callable[[str], str], signxml_util.strip_pem_header)


def key_id(cert: x509.Certificate) -> str:
    """A short stable id for a key: the first 16 hex digits of SHA-256 over its public key."""
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()[:16]


def generate_key_pair(
    common_name: str = "port-edi-gateway development signing key",
) -> tuple[bytes, bytes]:
    """A new P-256 key and a self-signed certificate for it, both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "port-edi-gateway"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * 2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            key_usage(digital_signature=True, content_commitment=True, key_cert_sign=True),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def ensure_dev_keys(key_path: Path, cert_path: Path) -> tuple[Path, Path]:
    """Create a development key pair at the given paths unless both exist already."""
    if key_path.exists() and cert_path.exists():
        return key_path, cert_path
    key_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_pem, cert_pem = generate_key_pair()
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_pem)
    cert_path.write_bytes(cert_pem)
    return key_path, cert_path


def key_file_problem(path: Path) -> str | None:
    """Why a private key file is too open (group or others may read or write it), or None."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        return f"{path} is open to group or others (mode {mode:o}): chmod 600 it"
    return None


def load_signer(settings: Settings) -> Signer:
    """The gateway's signing key, loaded once, after the checks of ``[gateway] mode`` (issue #14).

    * A key that does not exist is generated only in development mode and only at the default
      paths under the state directory: never at a configured path, never in production.
    * In production a private key open to group or others refuses the start (the signing key
      and the broker's TLS client key).

    ConfigError (``edigw`` exits 2 with it) when a check fails or the files do not load.
    """
    key, cert = settings.signing_key, settings.signing_cert
    keys = settings.config.keys
    production = settings.mode != "development"
    for name, path in (("keys.signing_key", key), ("keys.signing_cert", cert)):
        if path.exists():
            continue
        if production:
            raise ConfigError(
                name,
                f"{path} does not exist; production never generates the signing key "
                "(install it, or make one on purpose with `edigw keys generate`)",
            )
        if keys.signing_key or keys.signing_cert:
            raise ConfigError(
                name, f"{path} does not exist; a key is never generated at a configured path"
            )
    if not key.exists() and not cert.exists():
        ensure_dev_keys(key, cert)
    if production:
        tls = settings.config.broker.tls
        private_keys: tuple[tuple[str, Path | None], ...] = (
            ("keys.signing_key", key),
            ("broker.tls.key_file", Path(tls.key_file) if tls and tls.key_file else None),
        )
        for name, private_key in private_keys:
            if private_key is None or not private_key.exists():
                continue
            problem = key_file_problem(private_key)
            if problem:
                raise ConfigError(name, problem)
    try:
        return Signer.from_files(key, cert)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError("keys.signing_key", f"cannot load the signing key: {exc}") from None


class _CopyingXMLSigner(XMLSigner):
    """signxml's signer, copying an lxml root element once instead of re-parsing it twice.

    For an enveloped signature signxml takes two copies of its input by ``tostring`` +
    ``fromstring`` (plus a walk looking for entities): the document that receives the
    Signature, then the one canonicalised for the digest. On a 10,000-BL manifest that was a
    fifth of the gateway's time and 200 MB (issue #8). A root element the gateway built itself
    has no parent namespaces to inherit, no DTD and no entities: the first copy is a deep
    copy, and the digest reads the caller's element itself, which it never changes (only a
    ``Signature`` placeholder would be removed from it, hence the check). Anything else goes
    the original way.

    With ``in_place`` there is no copy at all: the caller's element receives the Signature.
    signxml appends the (still empty) Signature before it canonicalises the document for the
    digest, so :meth:`_c14n` takes it out for that one call and puts it back: the digest is
    of the document without its signature, as the enveloped-signature transform says.
    """

    def __init__(self, *args: Any, in_place: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._copied = False
        self._in_place = in_place
        self._document: etree._Element | None = None

    def get_root(self, data: Any) -> Any:
        if isinstance(data, etree._Element) and data.getparent() is None:
            if self._copied and data.find(f".//{{{DSIG_NS}}}Signature") is None:
                return data  # the second call: what is canonicalised and digested
            self._copied = True
            if self._in_place:
                self._document = data
                return data  # the first call: the document that gets signed
            return copy.deepcopy(data)  # the first call: the document that gets signed
        return super().get_root(data)  # type: ignore[no-untyped-call]  # signxml is untyped here

    def _c14n(self, nodes: Any, *args: Any, **kwargs: Any) -> bytes:
        document = self._document
        if document is None or nodes is not document or len(document) == 0:
            result: bytes = super()._c14n(nodes, *args, **kwargs)
            return result
        signature = document[-1]
        if signature.tag != f"{{{DSIG_NS}}}Signature":
            raise AssertionError("in-place signing: the Signature is not the last child")
        document.remove(signature)
        try:
            result = super()._c14n(nodes, *args, **kwargs)
        finally:
            document.append(signature)
        return result


class _DigestXMLSigner(XMLSigner):
    """signxml's signer for a document it never sees: the reference digest is given.

    The streaming writer (``gateway.security.c14n``) takes the SHA-256 of the document's canonical
    bytes as it writes them; signxml is given a childless stand-in of the document's root
    (same tag and namespaces, so the SignedInfo is canonicalised in the same namespace
    context a verifier sees) and builds, canonicalises and signs the SignedInfo as for any
    document. Its own digest of the stand-in is replaced by the given one.
    """

    def __init__(self, digest: bytes, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._given_digest = digest
        self._digests = 0

    def _get_digest(self, data: Any, algorithm: Any) -> bytes:
        self._digests += 1
        if self._digests != 1:
            raise AssertionError("one reference, one digest")
        return self._given_digest


# The gateway's signatures, tree-signed or streamed: enveloped, ECDSA P-256 over SHA-256.
_SIGNATURE: Final[dict[str, Any]] = {
    "method": sign_methods.enveloped,
    "signature_algorithm": SignatureMethod.ECDSA_SHA256,
    "digest_algorithm": DigestAlgorithm.SHA256,
}


def _key_info(key_name: str, cert_pem: str) -> etree._Element:
    """The KeyInfo signxml writes for ``key_name`` and a PEM chain, built once per key."""
    key_info = etree.Element(f"{{{DSIG_NS}}}KeyInfo", nsmap={"ds": DSIG_NS})
    etree.SubElement(key_info, f"{{{DSIG_NS}}}KeyName").text = key_name
    x509_data = etree.SubElement(key_info, f"{{{DSIG_NS}}}X509Data")
    chain = list(_iterate_pem(cert_pem))
    if not chain:
        raise ValueError("no PEM certificate in the signing certificate file")
    x509.load_pem_x509_certificates(cert_pem.encode())  # refuses a broken chain now, once
    for pem in chain:
        etree.SubElement(x509_data, f"{{{DSIG_NS}}}X509Certificate").text = _strip_pem_header(pem)
    return key_info


@dataclass(slots=True)
class Signer:
    """Signs canonical XML with one key, loaded once.

    Everything that depends only on the key is prepared once too (issue #8): the KeyInfo
    (key name and the certificate chain, which signxml would otherwise find, parse and
    re-encode from the PEM for every signature) is rendered when the signer is built and
    copied into each signature.
    """

    private_key: ec.EllipticCurvePrivateKey
    cert_pem: str
    key_id: str
    key_info: etree._Element = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.key_info = _key_info(self.key_id, self.cert_pem)

    @classmethod
    def from_files(cls, key_path: Path, cert_path: Path) -> Signer:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.key_size < 256:
            raise ValueError(f"{key_path}: the gateway signs with ECDSA P-256 or stronger")
        cert_pem = cert_path.read_text("ascii")
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
        return cls(private_key=key, cert_pem=cert_pem, key_id=key_id(cert))

    def sign(self, root: etree._Element, *, in_place: bool = False) -> etree._Element:
        """Return a signed copy of ``root`` with the signature as its last child.

        ``in_place``: sign ``root`` itself instead of a copy (it gets the Signature; a
        caller that has no further use for the unsigned element saves a whole copy of it).
        """
        signer = _CopyingXMLSigner(**_SIGNATURE, in_place=in_place)
        try:
            signed = self._run(signer, root)
        finally:
            # signxml's signer is a reference cycle (its annotators list holds one of its own
            # bound methods), freed only by the cyclic GC, which the pipeline pauses: holding
            # the document, it kept every signed tree of an interchange alive (issue #8).
            signer._document = None
        return signed

    def _run(self, signer: XMLSigner, root: etree._Element) -> etree._Element:
        """``signer`` (set up with :data:`_SIGNATURE`) signing ``root`` with this key."""
        # signxml appends the given KeyInfo element (moving it): each signature gets a copy.
        signed: etree._Element = signer.sign(
            root, key=self.private_key, key_info=copy.deepcopy(self.key_info)
        )
        return signed

    def signature_for_digest(
        self, root_tag: str, nsmap: Mapping[str | None, str], digest: bytes
    ) -> bytes:
        """The serialised enveloped ds:Signature of a document whose digest is ``digest``.

        ``digest``: SHA-256 of the document's canonical form without its Signature (the
        enveloped-signature and C14N 1.1 transforms of the Reference); ``root_tag`` and
        ``nsmap``: its root's. The element is the one :meth:`sign` appends (same algorithms,
        KeyInfo and signature encoding), to be written as the root's last child.
        """
        stand_in = etree.Element(root_tag, nsmap=dict(nsmap))  # type: ignore[arg-type]
        signed = self._run(_DigestXMLSigner(digest, **_SIGNATURE), stand_in)
        signature = signed[-1]
        if signature.tag != f"{{{DSIG_NS}}}Signature" or len(signed) != 1:
            raise AssertionError("signxml did not append one Signature to the stand-in")
        signed.remove(signature)  # written on its own: no declaration of the root's namespace
        return etree.tostring(signature)


def verify(data: bytes, cert_pem: str) -> etree._Element:
    """Verify an enveloped signature with a known certificate; return the signed element."""
    result = XMLVerifier().verify(data, x509_cert=cert_pem, expect_references=1)
    assert not isinstance(result, list)  # expect_references=1 gives one result
    return cast(etree._Element, result.signed_xml)
