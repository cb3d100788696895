"""TLS settings towards the broker (``[broker.tls]``): CA and client certificate are loaded.

The test broker has no TLS listener, so this checks what the gateway builds from the
configuration: a verifying client context with the CA and the client certificate, and
the refusal of a certificate that does not match its key.
"""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway import broker


def _cert(path: Path, name: str, key: ec.EllipticCurvePrivateKey, ca: bool) -> None:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key


def test_tls_settings_build_a_verifying_context_with_client_certificate(tmp_path: Path) -> None:
    ca_key = _key(tmp_path / "ca-key.pem")
    _cert(tmp_path / "ca.pem", "edigw test CA", ca_key, ca=True)
    client_key = _key(tmp_path / "client-key.pem")
    _cert(tmp_path / "client.pem", "apcs", client_key, ca=False)
    raw = {
        "broker": {
            "tls": {
                "ca_file": str(tmp_path / "ca.pem"),
                "cert_file": str(tmp_path / "client.pem"),
                "key_file": str(tmp_path / "client-key.pem"),
            }
        }
    }
    context = broker.ssl_context(broker.tls_from(raw))
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "edigw test CA"),),)]
    assert broker.tls_from({"broker": {}}) is None


def test_a_client_certificate_that_does_not_match_its_key_is_refused(tmp_path: Path) -> None:
    _cert(tmp_path / "client.pem", "apcs", _key(tmp_path / "one-key.pem"), ca=False)
    _key(tmp_path / "other-key.pem")
    tls = broker.Tls(
        cert_file=str(tmp_path / "client.pem"), key_file=str(tmp_path / "other-key.pem")
    )
    with pytest.raises(ssl.SSLError):
        broker.ssl_context(tls)
