"""Who may sign what: the trust store for ministry signatures, and its strict verifier.

Every ministry message carries one enveloped XML-DSig signature. :meth:`TrustStore.verify`
accepts it only when all of this holds, and otherwise raises :class:`TrustError` with a
machine-readable ``reason`` (one per attack, so that tests and operators can tell them apart):

* the XML is safe (``gateway.domain.xmlsafe``), has no comment inside text (comment injection) and no
  duplicate ID attributes;
* there is exactly one ``ds:Signature``, a child of the root, no XML-DSig element outside it and
  no ``ds:Object`` inside it (signature wrapping, ruby-saml CVE-2024-45409);
* exactly one ``ds:Reference``, with ``URI=""`` (the whole document), only the enveloped and
  canonicalisation transforms, and no SHA-1/MD5 anywhere;
* ``KeyInfo`` carries X.509 certificates and nothing that could substitute a key (KeyValue,
  RetrievalMethod, ...);
* the signing certificate is the sending partner's pinned certificate or is issued directly by
  the partner's CA (never a system or public CA), is within its validity period, is not on the
  CA's CRL and holds a strong key (RSA >= 2048 bits, EC >= 256 bits);
* signxml verifies digest and signature value with that very certificate (``x509_cert``: signxml
  falls back to certifi when given no anchor, so it is always given one).

Only the bytes signxml returns as signed (``VerifyResult.signed_data``) are processed further.

Layout of the trust directory (``[trust] dir``; empty means ``<state_dir>/trust``)::

    <dir>/<partner>.pem        one or more PEM certificates: the partner's CA or pinned cert(s)
    <dir>/crl/*.pem|*.crl      CRLs (PEM or DER), matched to a CA by issuer name and signature

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> pki = DevPki.create(d, ["agriculture"])
>>> store = TrustStore.load(d / "trust")
>>> from lxml import etree
>>> signed = pki.sign("agriculture", etree.fromstring(b"<doc><n>1</n></doc>"))
>>> store.verify(signed, partner="agriculture").partner
'agriculture'
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidDigest, InvalidSignature, SignXMLException
from signxml.verifier import SignatureConfiguration, XMLVerifier

from gateway.config import ConfigError, Settings
from gateway.domain.xmlsafe import UnsafeXmlError, parse
from gateway.logs import get_logger
from gateway.security.crl import CrlSource
from gateway.security.devpki import DevIdentity as DevIdentity
from gateway.security.devpki import DevPki as DevPki
from gateway.security.devpki import issue as issue
from gateway.security.devpki import make_ca as make_ca
from gateway.security.devpki import make_crl as make_crl
from gateway.security.devpki import sign_enveloped as sign_enveloped
from gateway.security.dsig import DS as DS
from gateway.security.dsig import DS11 as DS11
from gateway.security.dsig import ENVELOPED
from gateway.security.dsig import NSMAP as NSMAP

GATEWAY = "gateway"  # the pseudo-partner whose anchors are the gateway's own certificates
log = get_logger()

_ENVELOPED = ENVELOPED
_C14N = {
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2006/12/xml-c14n11",
}
_WEAK = ("sha1", "md5", "ripemd160", "sha224")
_SIGNATURE_METHODS = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
}
_DIGESTS = {
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
}
_ID_ATTRIBUTES = {
    "Id",
    "ID",
    "id",
    "{http://www.w3.org/XML/1998/namespace}id",
    "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd}Id",
}
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256


class TrustError(ValueError):
    """A signature the gateway does not accept; ``reason`` is machine-readable."""

    def __init__(self, reason: str, sentence: str) -> None:
        super().__init__(f"{reason}: {sentence}")
        self.reason = reason
        self.sentence = sentence


@dataclass(frozen=True, slots=True)
class Verified:
    """A document whose signature passed every check: only ``root`` may be processed."""

    partner: str
    root: etree._Element  # parsed from signed_data, the signature removed
    signed_data: bytes  # the canonical bytes signxml verified
    certificate: x509.Certificate

    @property
    def content_sha256(self) -> str:
        return hashlib.sha256(self.signed_data).hexdigest()

    @property
    def certificate_sha256(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle (or one DER certificate)."""
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


def _load_anchor(path: Path) -> list[x509.Certificate]:
    """The certificates of the anchor file ``path``; ConfigError (``trust.dir``) when it
    cannot be read or holds none."""
    try:
        certificates = load_certificates(path.read_bytes())
    except OSError as exc:
        raise ConfigError(
            "trust.dir", f"the trust anchor {path} cannot be read: {exc.strerror or exc}"
        ) from None
    except ValueError:
        certificates = []
    if not certificates:
        raise ConfigError(
            "trust.dir",
            f"the trust anchor {path} holds no certificate (PEM or DER): "
            "install the partner's CA or signing certificate there",
        )
    return certificates


def key_strength_problem(key: Any) -> str | None:
    """Why a public key is too weak, or None.

    Only RSA and EC keys are accepted (the signature methods above). Any other kind is named
    by its class, never by touching ``cryptography``'s ``dsa`` module: reading an attribute of
    it prints a CryptographyDeprecationWarning on stderr (issue #14).
    """
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        return f"RSA key of {key.key_size} bits (at least {MIN_RSA_BITS})"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size < MIN_EC_BITS:
        return f"EC key on {key.curve.name} (at least {MIN_EC_BITS} bits)"
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        kind = type(key).__name__.removesuffix("PublicKey").removeprefix("_") or "such"
        return f"{kind} keys are not accepted"
    return None


# How many signing certificates the store remembers (parsed, chained to their anchor).
CACHED_CERTIFICATES = 256


@dataclass(slots=True)
class TrustStore:
    """One set of anchors per partner, the CRLs, and the rules of :meth:`verify`.

    What does not change from one document to the next is worked out once (issue #8): a
    signing certificate is parsed once per DER encoding, its chain to the partner's anchor
    (an issuer signature check) once per certificate and partner, and a CRL's own signature
    once per anchor. What depends on the moment is checked for every document: validity
    periods, the CRL's next update, revocation, key strength and usage.
    """

    anchors: dict[str, list[x509.Certificate]] = field(default_factory=dict)
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)
    # Where the CRLs came from (``load``): re-read when they change, and a file that can no
    # longer be read fails the verifications of its CA closed (CRL_UNAVAILABLE).
    crl_source: CrlSource | None = None
    _parsed: dict[bytes, x509.Certificate] = field(default_factory=dict, repr=False)
    _chained: dict[tuple[x509.Certificate, str], x509.Certificate] = field(
        default_factory=dict, repr=False
    )
    _crl_signatures: dict[tuple[int, int], tuple[Any, Any, bool]] = field(
        default_factory=dict, repr=False
    )

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        crl_files: Sequence[Path] = (),
        gateway_certs: Iterable[x509.Certificate] = (),
    ) -> TrustStore:
        """Read ``<directory>/<partner>.pem`` anchors and the CRLs (``<directory>/crl/`` by default).

        A CRL that cannot be read or parsed is a ConfigError (issue #14: revocation must not
        fail open because a file is missing), and so is an anchor: one that cannot be read,
        or holds no certificate, refuses the start with its path and why (it was a traceback).
        """
        store = cls()
        if directory.is_dir():
            for path in sorted(directory.glob("*.pem")):
                store.anchors[path.stem] = _load_anchor(path)
        if crl_files:
            store.crl_source = CrlSource.of_files(crl_files)
        elif (directory / "crl").is_dir():
            store.crl_source = CrlSource.of_directory(directory / "crl")
        if store.crl_source is not None:
            bad = store.crl_source.first_unreadable()
            if bad is not None:
                key = "trust.crl_files" if crl_files else "trust.dir"
                raise ConfigError(key, f"the CRL {bad.path} {bad.error}")
            store.crls = store.crl_source.crls()
        gw = list(gateway_certs)
        if gw:
            store.anchors[GATEWAY] = gw
        return store

    # ------------------------------------------------------------------ chain
    def _anchor_for(self, cert: x509.Certificate, partner: str) -> x509.Certificate | None:
        """The partner's anchor that pins or directly issued ``cert``."""
        anchors = self.anchors.get(partner, [])
        known = self._chained.get((cert, partner))
        if known is not None and any(a is known for a in anchors):
            return known  # still one of the partner's anchors: the chain was checked before
        found = self._find_anchor(cert, anchors)
        if found is not None:
            if len(self._chained) >= CACHED_CERTIFICATES:
                self._chained.clear()
            self._chained[(cert, partner)] = found
        return found

    @staticmethod
    def _find_anchor(
        cert: x509.Certificate, anchors: list[x509.Certificate]
    ) -> x509.Certificate | None:
        for anchor in anchors:
            if anchor == cert:
                return anchor
            if anchor.subject != cert.issuer:
                continue
            try:
                cert.verify_directly_issued_by(anchor)
            except (ValueError, TypeError, CryptoInvalidSignature):
                continue
            if _is_ca(anchor):
                return anchor
        return None

    def owner_of(self, cert: x509.Certificate) -> tuple[str, x509.Certificate] | None:
        for partner in self.anchors:
            anchor = self._anchor_for(cert, partner)
            if anchor is not None:
                return partner, anchor
        return None

    def check_certificate(
        self, cert: x509.Certificate, partner: str | None, now: dt.datetime | None = None
    ) -> tuple[str, x509.Certificate]:
        """The owning partner and anchor of ``cert``, or :class:`TrustError`."""
        now = now or _now()
        if partner is not None:
            anchor = self._anchor_for(cert, partner)
            if anchor is None:
                other = self.owner_of(cert)
                if other is not None:
                    raise TrustError(
                        "SIGNER_NOT_PARTNER",
                        f"the document is signed with a certificate of {other[0]}, not of {partner}",
                    )
                raise TrustError(
                    "CERTIFICATE_UNTRUSTED",
                    f"the signing certificate does not chain to the trust anchor of {partner}",
                )
            owner = partner
        else:
            found = self.owner_of(cert)
            if found is None:
                raise TrustError(
                    "CERTIFICATE_UNTRUSTED",
                    "the signing certificate does not chain to any anchor of the trust store",
                )
            owner, anchor = found
        for which, c in (("signing certificate", cert), ("trust anchor", anchor)):
            if now < c.not_valid_before_utc:
                raise TrustError(
                    "CERTIFICATE_NOT_YET_VALID",
                    f"the {which} is valid only from {c.not_valid_before_utc.isoformat()}",
                )
            if now > c.not_valid_after_utc:
                raise TrustError(
                    "CERTIFICATE_EXPIRED",
                    f"the {which} expired on {c.not_valid_after_utc.isoformat()}",
                )
        weak = key_strength_problem(cert.public_key())
        if weak:
            raise TrustError("WEAK_KEY", f"the signing certificate has a weak key: {weak}")
        try:
            usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
            if not (usage.digital_signature or usage.content_commitment):
                raise TrustError(
                    "CERTIFICATE_USAGE", "the signing certificate is not for digital signatures"
                )
        except x509.ExtensionNotFound:
            pass
        if anchor != cert:
            self._check_revocation(cert, anchor, now)
        return owner, anchor

    def _check_revocation(
        self, cert: x509.Certificate, anchor: x509.Certificate, now: dt.datetime
    ) -> None:
        """Fails closed: a CA's certificate is accepted only against a readable CRL of that CA."""
        who = anchor.subject.rfc4514_string()
        if self.crl_source is not None:
            if self.crl_source.refresh():
                self.crls = self.crl_source.crls()
            broken = self.crl_source.unreadable(anchor.subject)
        else:
            broken = False
        if broken:
            raise TrustError(
                "CRL_UNAVAILABLE",
                f"the CRL of {who} cannot be read at the moment; revocation cannot be checked",
            )
        found = False
        for crl in self.crls:
            if crl.issuer != anchor.subject or not self._crl_signed_by(crl, anchor):
                continue
            found = True
            next_update = crl.next_update_utc
            if next_update is not None and now > next_update:
                raise TrustError(
                    "CRL_EXPIRED",
                    f"the CRL of {anchor.subject.rfc4514_string()} expired on "
                    f"{next_update.isoformat()}; revocation cannot be checked",
                )
            revoked = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if revoked is not None:
                raise TrustError(
                    "CERTIFICATE_REVOKED",
                    f"the signing certificate (serial {cert.serial_number:x}) was revoked on "
                    f"{revoked.revocation_date_utc.isoformat()}",
                )
        if not found:
            raise TrustError(
                "CRL_UNAVAILABLE", f"there is no CRL of {who}; revocation cannot be checked"
            )

    def _crl_signed_by(self, crl: x509.CertificateRevocationList, anchor: x509.Certificate) -> bool:
        key = (id(crl), id(anchor))
        known = self._crl_signatures.get(key)
        if known is not None and known[0] is crl and known[1] is anchor:
            return bool(known[2])
        valid = crl.is_signature_valid(anchor.public_key())  # type: ignore[arg-type]
        # The objects are kept with the answer: an id is only reused once its object is gone.
        self._crl_signatures[key] = (crl, anchor, valid)
        return valid

    def _certificate(self, der: bytes) -> x509.Certificate:
        """``der`` parsed, once per encoding; ValueError and friends when it cannot be."""
        cert = self._parsed.get(der)
        if cert is None:
            cert = _load_certificate(der)
            if len(self._parsed) >= CACHED_CERTIFICATES:
                self._parsed.clear()
            self._parsed[der] = cert
        return cert

    # ------------------------------------------------------------------ document
    def verify(
        self, data: bytes, partner: str | None = None, *, now: dt.datetime | None = None
    ) -> Verified:
        """Check ``data`` as signed by ``partner`` (any known signer when None)."""
        try:
            root = parse(data)
        except UnsafeXmlError as exc:
            raise TrustError(exc.reason, exc.sentence) from None
        _check_comments(root)
        _check_ids(root)
        signature = _check_signature_shape(root)
        certs = _key_info_certificates(signature, self._certificate)
        owner, _anchor = self.check_certificate(certs[0], partner, now)
        config = SignatureConfiguration(
            require_x509=True,
            location="./",  # the signature must be a child of the root: enveloped, nowhere else
            expect_references=1,
            signature_methods=frozenset(
                m for m in SignatureMethod if "SHA1" not in m.name and "HMAC" not in m.name
            ),
            digest_algorithms=frozenset(d for d in DigestAlgorithm if "SHA1" not in d.name),
            verification_time=now,
        )
        try:
            result = XMLVerifier().verify(data, x509_cert=certs[0], expect_config=config)
        except InvalidDigest:
            raise TrustError(
                "SIGNATURE_DIGEST_MISMATCH",
                "the document was changed after it was signed (digest mismatch)",
            ) from None
        except InvalidSignature as exc:
            raise TrustError(
                "SIGNATURE_VALUE_INVALID",
                f"the signature value does not verify with the signing certificate ({str(exc)[:80]})",
            ) from None
        except (SignXMLException, ValueError, etree.LxmlError) as exc:
            # LxmlError: signxml's schema check raises DocumentInvalid (e.g. bad base64 in
            # SignatureValue), which is not a SignXMLException.
            raise TrustError(
                "SIGNATURE_INVALID", f"the signature is not usable: {str(exc)[:120]}"
            ) from None
        assert not isinstance(result, list)
        signed_data: bytes = result.signed_data
        # Re-parse the verified bytes with the hardened parser: nothing else is read downstream.
        try:
            signed_root = parse(signed_data)
        except UnsafeXmlError as exc:
            raise TrustError(exc.reason, exc.sentence) from None
        if signed_root.find(f".//{{{DS}}}Signature") is not None:
            raise TrustError("SIGNATURE_WRAPPING", "the signed content still holds a signature")
        return Verified(owner, signed_root, signed_data, certs[0])


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _check_comments(root: etree._Element) -> None:
    """A comment that splits a text value changes what a naive reader sees: refuse it."""
    for comment in root.iter(etree.Comment):
        parent = comment.getparent()
        before = comment.getprevious()
        prev_text = (
            before.tail if before is not None else parent.text if parent is not None else ""
        ) or ""
        if (comment.tail or "").strip() or prev_text.strip():
            raise TrustError("COMMENT_INJECTION", "a comment inside a text value is not accepted")


def _check_ids(root: etree._Element) -> None:
    seen: set[str] = set()
    for el in root.iter(tag=etree.Element):
        for name in _ID_ATTRIBUTES:
            value = el.get(name)
            if value is None:
                continue
            if value in seen:
                raise TrustError(
                    "XML_DUPLICATE_ID", f"the ID {value[:40]!r} is used by more than one element"
                )
            seen.add(value)


def _check_signature_shape(root: etree._Element) -> etree._Element:
    signatures = list(root.iter(f"{{{DS}}}Signature"))
    if root.tag == f"{{{DS}}}Signature":
        raise TrustError(
            "SIGNATURE_NOT_ENVELOPED", "the signature must be enveloped, not enveloping"
        )
    if not signatures:
        raise TrustError("SIGNATURE_MISSING", "the document carries no XML-DSig signature")
    if len(signatures) > 1:
        raise TrustError(
            "SIGNATURE_MULTIPLE",
            f"the document carries {len(signatures)} signatures, one is expected",
        )
    signature = signatures[0]
    if signature.getparent() is not root:
        raise TrustError(
            "SIGNATURE_NOT_ENVELOPED",
            "the signature must be a child of the document's root element",
        )
    for el in root.iter(tag=etree.Element):
        if etree.QName(el).namespace in (DS, DS11) and not _inside(el, signature):
            raise TrustError(
                "SIGNATURE_WRAPPING", "an XML-DSig element appears outside the signature"
            )
    if signature.find(f"{{{DS}}}Object") is not None:
        raise TrustError(
            "SIGNATURE_OBJECT_FORBIDDEN", "a ds:Object inside the signature is not accepted"
        )
    signed_info = signature.find(f"{{{DS}}}SignedInfo")
    if signed_info is None:
        raise TrustError("SIGNATURE_INVALID", "the signature has no SignedInfo")
    references = signed_info.findall(f"{{{DS}}}Reference")
    if len(references) != 1:
        raise TrustError(
            "SIGNATURE_REFERENCE_COUNT",
            f"the signature has {len(references)} references; exactly one is expected",
        )
    reference = references[0]
    if reference.get("URI") != "":
        raise TrustError(
            "SIGNATURE_REFERENCE_SCOPE",
            'the signature\'s reference must cover the whole document (URI="")',
        )
    algorithms = [
        el.get("Algorithm", "") for el in signature.iter(tag=etree.Element) if el.get("Algorithm")
    ]
    for algorithm in algorithms:
        if any(
            algorithm.lower().endswith(weak) or f"-{weak}" in algorithm.lower() for weak in _WEAK
        ):
            raise TrustError("SIGNATURE_WEAK_ALGORITHM", f"{algorithm} is too weak")
    method = signed_info.find(f"{{{DS}}}SignatureMethod")
    if method is None or method.get("Algorithm") not in _SIGNATURE_METHODS:
        raise TrustError(
            "SIGNATURE_ALGORITHM_UNSUPPORTED",
            f"signature method {None if method is None else method.get('Algorithm')} is not accepted",
        )
    digest = reference.find(f"{{{DS}}}DigestMethod")
    if digest is None or digest.get("Algorithm") not in _DIGESTS:
        raise TrustError("SIGNATURE_ALGORITHM_UNSUPPORTED", "the digest method is not accepted")
    transforms = reference.findall(f"{{{DS}}}Transforms/{{{DS}}}Transform")
    kinds = [t.get("Algorithm", "") for t in transforms]
    if _ENVELOPED not in kinds or any(k != _ENVELOPED and k not in _C14N for k in kinds):
        raise TrustError(
            "SIGNATURE_TRANSFORM_FORBIDDEN",
            "only the enveloped-signature and canonicalisation transforms are accepted",
        )
    return signature


def _inside(el: etree._Element, ancestor: etree._Element) -> bool:
    node: etree._Element | None = el
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


def _load_certificate(der: bytes) -> x509.Certificate:
    cert = x509.load_der_x509_certificate(der)
    # cryptography parses these fields lazily: read them now, so that a malformed
    # issuer or key fails here and not as a bare ValueError in the chain checks.
    _ = (cert.issuer, cert.subject, cert.serial_number, cert.extensions)
    _ = (cert.not_valid_before_utc, cert.not_valid_after_utc, cert.public_key())
    return cert


def _key_info_certificates(
    signature: etree._Element, load: Callable[[bytes], x509.Certificate]
) -> list[x509.Certificate]:
    key_info = signature.find(f"{{{DS}}}KeyInfo")
    if key_info is None:
        raise TrustError("KEYINFO_NO_CERTIFICATE", "the signature carries no KeyInfo")
    for child in key_info:
        if not isinstance(child.tag, str):
            continue
        if child.tag not in (f"{{{DS}}}X509Data", f"{{{DS}}}KeyName"):
            raise TrustError(
                "KEYINFO_FORBIDDEN",
                f"KeyInfo may hold only X509Data (and KeyName), not {etree.QName(child).localname}",
            )
    certs: list[x509.Certificate] = []
    for el in key_info.findall(f"{{{DS}}}X509Data/{{{DS}}}X509Certificate"):
        try:
            certs.append(load(_b64(el.text or "")))
        except (ValueError, UnsupportedAlgorithm, x509.DuplicateExtension):
            raise TrustError("CERTIFICATE_MALFORMED", "an X509Certificate cannot be read") from None
    if not certs:
        raise TrustError("KEYINFO_NO_CERTIFICATE", "the signature carries no X.509 certificate")
    return certs


def _b64(text: str) -> bytes:
    import base64
    import binascii

    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except binascii.Error as exc:
        raise ValueError(str(exc)) from None


# ====================================================================== signing and dev PKI


# ====================================================================== configuration


@dataclass(frozen=True, slots=True)
class TrustSettings:
    """The ``[trust]`` section: where anchors and CRLs live, and whether they are development ones."""

    directory: Path
    crl_files: tuple[Path, ...]
    # Development anchors are generated under the state dir: development mode and no
    # ``[trust] dir``. Never in production (issue #14).
    development: bool
    state_dir: Path
    configured: bool = False  # ``[trust] dir`` is set


def trust_settings(settings: Settings) -> TrustSettings:
    """Read ``[trust]`` (``dir``, ``crl_files``), validated by ``gateway.config_schema``."""
    section = settings.config.trust
    state_dir = Path(settings.state_dir)
    directory = section.dir
    return TrustSettings(
        directory=Path(directory).expanduser() if directory else state_dir / "trust",
        crl_files=tuple(Path(c).expanduser() for c in section.crl_files),
        development=not directory and settings.mode == "development",
        state_dir=state_dir,
        configured=bool(directory),
    )


def archive_dir(settings: Settings) -> Path:
    """Where retired gateway certificates stay, for verification after a rotation."""
    return Path(settings.signing_key).parent / "archive"


def gateway_certificates(settings: Settings) -> list[x509.Certificate]:
    """The gateway's current signing certificate and every retired one."""
    certs = []
    current = Path(settings.signing_cert)
    if current.exists():
        certs.extend(load_certificates(current.read_bytes()))
    archive = archive_dir(settings)
    if archive.is_dir():
        for path in sorted(archive.glob("*.cert.pem")):
            certs.extend(load_certificates(path.read_bytes()))
    return certs


def load_trust(settings: Settings, *, with_gateway: bool = False) -> TrustStore:
    """The trust store the configuration names; development anchors are made on first run.

    Development anchors are generated only in development mode when ``[trust] dir`` is empty
    (the default, under the state directory) and only for ministry partners that have no anchor
    file yet. Otherwise the directory must exist and hold anchors, and every CRL must be
    readable: ConfigError (exit 2) when not (issue #14).
    """
    ts = trust_settings(settings)
    ministries = [p.id for p in settings.partners.values() if p.role == "ministry"]
    if ts.development:
        DevPki.ensure(ts.state_dir, ministries, ts.directory)
    elif not ts.directory.is_dir():
        raise ConfigError(
            "trust.dir",
            f"{ts.directory} does not exist; install the ministries' anchors there "
            "(config/trust/README.md): nothing is generated in production",
        )
    elif not any(ts.directory.glob("*.pem")):
        raise ConfigError(
            "trust.dir",
            f"{ts.directory} holds no anchor (<partner>.pem); nothing is generated in production",
        )
    missing = [m for m in ministries if not (ts.directory / f"{m}.pem").exists()]
    if missing:
        log.warning(
            "ministries without a trust anchor: their documents are refused", missing=missing
        )
    return TrustStore.load(
        ts.directory,
        crl_files=ts.crl_files,
        gateway_certs=gateway_certificates(settings) if with_gateway else (),
    )


def signer_summary(cert: x509.Certificate) -> Mapping[str, str]:
    """Subject, issuer, serial and fingerprint of a certificate, for logs and receipts."""
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "sha256": cert.fingerprint(hashes.SHA256()).hex(),
    }


__all__ = ["GATEWAY", "DevPki", "TrustError", "TrustStore", "Verified", "sign_enveloped"]
