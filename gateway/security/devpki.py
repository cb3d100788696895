"""Development PKI: CAs, certificates, CRLs and enveloped signatures made for tests and demos.

``DevPki`` makes, in a state directory, a CA and a signing certificate per ministry partner
plus an empty CRL, so that the demo and the tests can sign ministry documents the trust store
(``gateway.security.trust``) accepts. Production mode refuses anchors made this way
(docs/configuration.md): never used for real traffic.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import methods as sign_methods
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.signer import XMLSigner

from gateway.security.certificates import key_usage
from gateway.security.dsig import ENVELOPED

_ENVELOPED = ENVELOPED


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def sign_enveloped(
    root: etree._Element, key: Any, cert_pem: str | list[str], key_name: str | None = None
) -> etree._Element:
    """A signed copy of ``root``: one enveloped signature, SHA-256, certificate in KeyInfo."""
    method = (
        SignatureMethod.ECDSA_SHA256
        if isinstance(key, ec.EllipticCurvePrivateKey)
        else SignatureMethod.RSA_SHA256
    )
    signer = XMLSigner(
        method=sign_methods.enveloped,
        signature_algorithm=method,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    )
    signed: etree._Element = signer.sign(root, key=key, cert=cert_pem, key_name=key_name)
    return signed


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: Any) -> bytes:
    pem: bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def make_ca(common_name: str, *, key: Any = None, days: int = 3650) -> tuple[Any, x509.Certificate]:
    """A CA key and self-signed certificate (P-256 unless ``key`` is given)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = _now()
    name = _name(common_name, "port-edi-gateway development trust")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            key_usage(key_cert_sign=True, crl_sign=True),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue(
    ca_key: Any,
    ca_cert: x509.Certificate,
    common_name: str,
    *,
    key: Any = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> tuple[Any, x509.Certificate]:
    """A signing key and certificate issued by ``ca_cert``."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, "port-edi-gateway development trust"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - dt.timedelta(days=1))
        .not_valid_after(not_after or now + dt.timedelta(days=730))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            key_usage(digital_signature=True, content_commitment=True),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def make_crl(
    ca_key: Any,
    ca_cert: x509.Certificate,
    revoked: Iterable[x509.Certificate] = (),
    *,
    next_update: dt.datetime | None = None,
) -> x509.CertificateRevocationList:
    now = _now()
    next_update = next_update or now + dt.timedelta(days=30)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(min(now - dt.timedelta(minutes=5), next_update - dt.timedelta(hours=1)))
        .next_update(next_update)
    )
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(now - dt.timedelta(minutes=1))
            .build()
        )
    return builder.sign(ca_key, hashes.SHA256())


@dataclass(slots=True)
class DevIdentity:
    partner: str
    ca_key: Any
    ca_cert: x509.Certificate
    key: Any
    cert: x509.Certificate

    @property
    def cert_pem(self) -> str:
        return _pem(self.cert).decode()


@dataclass(slots=True)
class DevPki:
    """Development (and test) trust material: one CA and one signing key per ministry.

    Written under ``<base>/trust`` (anchors and CRLs, what the gateway reads) and
    ``<base>/trust-dev/<partner>/`` (CA and signer private keys, what a ministry would keep).
    Never used for production: there each ministry gives its own CA or pinned certificate.
    """

    base: Path
    identities: dict[str, DevIdentity] = field(default_factory=dict)

    @property
    def trust_dir(self) -> Path:
        return self.base / "trust"

    @classmethod
    def create(cls, base: Path, partners: Iterable[str]) -> DevPki:
        pki = cls(base)
        for partner in partners:
            ca_key, ca_cert = make_ca(f"{partner} development CA")
            key, cert = issue(ca_key, ca_cert, f"{partner} development signer")
            pki.identities[partner] = DevIdentity(partner, ca_key, ca_cert, key, cert)
            pki._write(pki.identities[partner])
        return pki

    @classmethod
    def ensure(cls, base: Path, partners: Iterable[str], trust_dir: Path | None = None) -> DevPki:
        """Create missing development anchors (only for partners without an anchor file)."""
        pki = cls(base)
        trust_dir = trust_dir or pki.trust_dir
        for partner in partners:
            own = base / "trust-dev" / partner
            if (trust_dir / f"{partner}.pem").exists():
                if (own / "signer-key.pem").exists():
                    pki.identities[partner] = pki._read(partner)
                continue
            ca_key, ca_cert = make_ca(f"{partner} development CA")
            key, cert = issue(ca_key, ca_cert, f"{partner} development signer")
            pki.identities[partner] = DevIdentity(partner, ca_key, ca_cert, key, cert)
            pki._write(pki.identities[partner], trust_dir)
        return pki

    def _write(self, ident: DevIdentity, trust_dir: Path | None = None) -> None:
        trust_dir = trust_dir or self.trust_dir
        own = self.base / "trust-dev" / ident.partner
        own.mkdir(parents=True, exist_ok=True)
        _write_private(own / "ca-key.pem", _key_pem(ident.ca_key))
        _write_private(own / "signer-key.pem", _key_pem(ident.key))
        (own / "ca-cert.pem").write_bytes(_pem(ident.ca_cert))
        (own / "signer-cert.pem").write_bytes(_pem(ident.cert))
        (trust_dir / "crl").mkdir(parents=True, exist_ok=True)
        (trust_dir / f"{ident.partner}.pem").write_bytes(_pem(ident.ca_cert))
        self.write_crl(ident.partner, [], trust_dir)

    def _read(self, partner: str) -> DevIdentity:
        own = self.base / "trust-dev" / partner
        return DevIdentity(
            partner,
            serialization.load_pem_private_key((own / "ca-key.pem").read_bytes(), None),
            x509.load_pem_x509_certificate((own / "ca-cert.pem").read_bytes()),
            serialization.load_pem_private_key((own / "signer-key.pem").read_bytes(), None),
            x509.load_pem_x509_certificate((own / "signer-cert.pem").read_bytes()),
        )

    def write_crl(
        self,
        partner: str,
        revoked: Iterable[x509.Certificate],
        trust_dir: Path | None = None,
        *,
        next_update: dt.datetime | None = None,
    ) -> Path:
        ident = self.identities[partner]
        path = (trust_dir or self.trust_dir) / "crl" / f"{partner}.crl.pem"
        crl = make_crl(ident.ca_key, ident.ca_cert, revoked, next_update=next_update)
        path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        return path

    def issue(self, partner: str, common_name: str, **kwargs: Any) -> tuple[Any, x509.Certificate]:
        ident = self.identities[partner]
        return issue(ident.ca_key, ident.ca_cert, common_name, **kwargs)

    def sign(
        self,
        partner: str,
        root: etree._Element,
        *,
        key: Any = None,
        cert: x509.Certificate | None = None,
    ) -> bytes:
        """``root`` signed as ``partner`` (or with the given key and certificate), as bytes."""
        ident = self.identities[partner]
        signed = sign_enveloped(root, key or ident.key, _pem(cert or ident.cert).decode())
        return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
