"""Configuration fails closed (issue #14): production mode, revocation, warnings.

* Production (the default) never generates the signing key or the ministries' anchors and
  refuses private keys open to group or others; a configured key path is never generated,
  in development either.
* A configured CRL that cannot be read refuses the start; one that becomes unreadable later,
  or a CA with no CRL, fails each verification closed (``CRL_UNAVAILABLE``).
* No Python warning reaches stderr as raw text.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import structlog
from cryptography.hazmat.primitives.asymmetric import dsa
from lxml import etree

from gateway.config import ConfigError, Settings, load
from gateway.interfaces.cli import _log_warnings
from gateway.logs import configure
from gateway.security.signing import load_signer
from gateway.security.trust import DevPki, TrustError, TrustStore, key_strength_problem, load_trust

ROOT = Path(__file__).resolve().parents[2]
EDIGW = [sys.executable, "-m", "gateway"]


def settings(tmp_path: Path, mode: str, **env: str) -> Settings:
    return load(env={"EDIGW_STATE_DIR": str(tmp_path / "state"), "EDIGW_MODE": mode, **env})


def document() -> etree._Element:
    return etree.fromstring(b"<Licence><Number>IL-1</Number></Licence>")


# ------------------------------------------------------------------ signing keys


def test_production_never_generates_the_signing_key(tmp_path: Path) -> None:
    prod = settings(tmp_path, "production")
    with pytest.raises(ConfigError) as refused:
        load_signer(prod)
    assert refused.value.key == "keys.signing_key"
    assert "production never generates the signing key" in refused.value.reason
    assert not prod.signing_key.exists() and not prod.signing_key.parent.exists()


def test_a_configured_key_path_is_never_generated_even_in_development(tmp_path: Path) -> None:
    key, cert = tmp_path / "etc" / "key.pem", tmp_path / "etc" / "cert.pem"
    dev = settings(
        tmp_path, "development", EDIGW_SIGNING_KEY=str(key), EDIGW_SIGNING_CERT=str(cert)
    )
    with pytest.raises(ConfigError) as refused:
        load_signer(dev)
    assert refused.value.key == "keys.signing_key"
    assert "never generated at a configured path" in refused.value.reason
    assert not key.exists() and not cert.exists()


def test_development_generates_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    dev = settings(tmp_path, "development")
    assert load_signer(dev).key_id
    assert dev.signing_key.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_production_refuses_a_key_open_to_group_or_others(tmp_path: Path, mode: int) -> None:
    load_signer(settings(tmp_path, "development"))  # made on purpose, as `edigw keys generate`
    prod = settings(tmp_path, "production")
    prod.signing_key.chmod(mode)
    with pytest.raises(ConfigError) as refused:
        load_signer(prod)
    assert refused.value.key == "keys.signing_key"
    assert f"open to group or others (mode {mode:o}): chmod 600 it" in refused.value.reason
    prod.signing_key.chmod(0o600)
    assert load_signer(prod).key_id  # the same key, closed: accepted


# ------------------------------------------------------------------ trust anchors


def test_production_refuses_a_missing_or_empty_trust_dir(tmp_path: Path) -> None:
    prod = settings(tmp_path, "production")
    with pytest.raises(ConfigError) as refused:
        load_trust(prod)
    assert refused.value.key == "trust.dir" and "does not exist" in refused.value.reason
    assert not (tmp_path / "state").exists()  # no development anchors generated
    (tmp_path / "state" / "trust").mkdir(parents=True)
    with pytest.raises(ConfigError) as refused:
        load_trust(prod)
    assert "holds no anchor" in refused.value.reason
    assert list((tmp_path / "state" / "trust").iterdir()) == []


def test_a_configured_trust_dir_that_is_missing_refuses_in_development_too(
    tmp_path: Path,
) -> None:
    config = tmp_path / "gw.toml"
    config.write_text(f'[trust]\ndir = "{tmp_path / "no-such-dir"}"\n')
    dev = settings(tmp_path, "development", EDIGW_CONFIG=str(config))
    with pytest.raises(ConfigError, match="does not exist"):
        load_trust(dev)


def test_production_accepts_installed_anchors(tmp_path: Path) -> None:
    pki = DevPki.create(tmp_path / "ministries", ["agriculture"])
    config = tmp_path / "gw.toml"
    config.write_text(f'[trust]\ndir = "{pki.trust_dir}"\n')
    store = load_trust(settings(tmp_path, "production", EDIGW_CONFIG=str(config)))
    assert store.verify(pki.sign("agriculture", document()), "agriculture").partner == (
        "agriculture"
    )


@pytest.mark.parametrize(
    "anchor, why",
    [
        (b"garbage", "holds no certificate"),
        (b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", "holds no"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "holds no"),
        (b"", "holds no certificate"),
        (None, "cannot be read: Is a directory"),  # an anchor the gateway cannot read
    ],
)
def test_an_anchor_that_cannot_be_used_refuses_the_start(
    tmp_path: Path, anchor: bytes | None, why: str
) -> None:
    """A partner's anchor file that cannot be read or holds no certificate was a traceback
    (exit 1) at start; it is a configuration refused: exit 2, the file and why."""
    pki = DevPki.create(tmp_path / "ministries", ["agriculture"])
    bad = pki.trust_dir / "commerce.pem"
    if anchor is None:
        bad.mkdir()
    else:
        bad.write_bytes(anchor)
    with pytest.raises(ConfigError) as refused:
        TrustStore.load(pki.trust_dir)
    assert refused.value.key == "trust.dir"
    assert refused.value.reason.startswith(f"the trust anchor {bad} {why}")
    config = tmp_path / "gw.toml"
    config.write_text(f'[trust]\ndir = "{pki.trust_dir}"\n')
    doc = tmp_path / "doc.xml"
    doc.write_bytes(b"<doc/>")
    done = _edigw(tmp_path, "--config", str(config), "verify", str(doc), EDIGW_MODE="development")
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1].startswith(
        f"configuration refused: trust.dir: the trust anchor {bad} {why}"
    )
    assert "Traceback" not in done.stderr


# ------------------------------------------------------------------ revocation


def test_a_configured_crl_that_cannot_be_read_refuses_the_start(tmp_path: Path) -> None:
    pki = DevPki.create(tmp_path, ["agriculture"])
    missing = tmp_path / "gone.crl"
    with pytest.raises(ConfigError) as refused:
        TrustStore.load(pki.trust_dir, crl_files=[missing])
    assert refused.value.key == "trust.crl_files"
    assert f"the CRL {missing} cannot be read: No such file or directory" == refused.value.reason
    garbage = tmp_path / "garbage.crl"
    garbage.write_bytes(b"-----BEGIN X509 CRL-----\nnot base64\n-----END X509 CRL-----\n")
    with pytest.raises(ConfigError, match="is not a CRL"):
        TrustStore.load(pki.trust_dir, crl_files=[garbage])
    (pki.trust_dir / "crl" / "broken.crl").write_bytes(b"\x30\x03\x02\x01")
    with pytest.raises(ConfigError) as refused:
        TrustStore.load(pki.trust_dir)
    assert refused.value.key == "trust.dir" and "broken.crl is not a CRL" in refused.value.reason


def test_cli_refuses_an_unreadable_crl_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    config.write_text(f'[trust]\ncrl_files = ["{tmp_path / "gone.crl"}"]\n')
    signed = tmp_path / "doc.xml"
    signed.write_bytes(b"<doc/>")
    done = subprocess.run(
        [*EDIGW, "--config", str(config), "verify", str(signed)],
        env={
            "PATH": "/usr/bin:/bin",
            "EDIGW_STATE_DIR": str(tmp_path),
            "EDIGW_MODE": "development",
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == (
        f"configuration refused: trust.crl_files: the CRL {tmp_path / 'gone.crl'} cannot be "
        "read: No such file or directory\n"
    )


def test_a_revoked_signer_whose_crl_file_is_missing_is_refused(tmp_path: Path) -> None:
    # The finding: the CRL of one CA missing from crl/ (the others there), and a signer of
    # that CA was accepted, revoked or not.
    pki = DevPki.create(tmp_path, ["agriculture", "commerce"])
    key, cert = pki.issue("commerce", "revoked signer")
    pki.write_crl("commerce", [cert]).unlink()
    data = pki.sign("commerce", document(), key=key, cert=cert)
    with pytest.raises(TrustError) as refused:
        TrustStore.load(pki.trust_dir).verify(data, "commerce")
    assert refused.value.reason == "CRL_UNAVAILABLE"
    assert "there is no CRL of CN=commerce development CA" in refused.value.sentence


def test_a_crl_that_becomes_unreadable_later_fails_each_verification_closed(
    tmp_path: Path,
) -> None:
    pki = DevPki.create(tmp_path, ["agriculture"])
    key, cert = pki.issue("agriculture", "signer")
    data = pki.sign("agriculture", document(), key=key, cert=cert)
    store = TrustStore.load(pki.trust_dir)
    assert store.verify(data, "agriculture").partner == "agriculture"
    crl = pki.trust_dir / "crl" / "agriculture.crl.pem"
    good = crl.read_bytes()
    crl.unlink()
    for _ in range(2):  # every verification, not only the first
        with pytest.raises(TrustError) as refused:
            store.verify(data, "agriculture")
        assert refused.value.reason == "CRL_UNAVAILABLE"
        assert "cannot be read at the moment" in refused.value.sentence
        assert str(crl) not in refused.value.sentence  # a partner never sees our paths
    crl.write_bytes(b"garbage")
    with pytest.raises(TrustError, match="CRL_UNAVAILABLE"):
        store.verify(data, "agriculture")
    # A new CRL revoking the signer is read without a restart; then the old one again.
    pki.write_crl("agriculture", [cert])
    with pytest.raises(TrustError, match="CERTIFICATE_REVOKED"):
        store.verify(data, "agriculture")
    crl.unlink()
    crl.write_bytes(good)
    assert store.verify(data, "agriculture").partner == "agriculture"


def test_a_crl_given_by_path_that_vanishes_fails_closed(tmp_path: Path) -> None:
    pki = DevPki.create(tmp_path, ["agriculture"])
    elsewhere = tmp_path / "agriculture.crl"
    (pki.trust_dir / "crl" / "agriculture.crl.pem").rename(elsewhere)
    store = TrustStore.load(pki.trust_dir, crl_files=[elsewhere])
    key, cert = pki.issue("agriculture", "signer")
    data = pki.sign("agriculture", document(), key=key, cert=cert)
    assert store.verify(data, "agriculture")
    elsewhere.unlink()
    with pytest.raises(TrustError, match="CRL_UNAVAILABLE"):
        store.verify(data, "agriculture")


# ------------------------------------------------------------------ the CLI in production


def _edigw(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EDIGW, "--log-format", "json", *args],
        env={"PATH": "/usr/bin:/bin", "EDIGW_STATE_DIR": str(tmp_path / "state"), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_edigw_run_in_production_refuses_with_one_sentence(tmp_path: Path) -> None:
    done = _edigw(tmp_path, "run")  # no EDIGW_MODE: production, the default
    assert done.returncode == 2
    *logs, last = done.stderr.splitlines()
    assert last.startswith("configuration refused: keys.signing_key: ")
    assert "production never generates the signing key" in last
    assert all(json.loads(line) for line in logs) and "Traceback" not in done.stderr
    assert not (tmp_path / "state" / "keys").exists()


def test_edigw_verify_in_production_needs_installed_anchors(tmp_path: Path) -> None:
    doc = tmp_path / "doc.xml"
    doc.write_bytes(b"<doc/>")
    done = _edigw(tmp_path, "verify", str(doc))
    assert done.returncode == 2
    assert done.stderr.startswith("configuration refused: trust.dir: ")
    assert not (tmp_path / "state" / "trust").exists()


# ------------------------------------------------------------------ warnings


@pytest.mark.filterwarnings("ignore:DSA is deprecated")  # making the key warns, not the check
def test_the_dsa_check_prints_no_deprecation_warning() -> None:
    key = dsa.generate_private_key(2048).public_key()  # the warning of making one is not ours
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert key_strength_problem(key) == "DSA keys are not accepted"


def test_verify_writes_only_json_lines_and_the_verdict(tmp_path: Path) -> None:
    state = tmp_path / "state"
    dev = {"EDIGW_MODE": "development", "PYTHONWARNINGS": "always"}
    licence = ROOT / "samples" / "ministries" / "national-import-licence.xml"
    signed = tmp_path / "signed.xml"
    dev_sign = ["keys", "dev-sign", "--partner", "commerce", "--out", str(signed), str(licence)]
    sign = _edigw(tmp_path, *dev_sign, **dev)
    assert sign.returncode == 0, sign.stderr
    done = _edigw(tmp_path, "verify", str(signed), **dev)
    assert done.returncode == 0 and done.stdout.startswith("valid\tcommerce\t")
    assert "Warning" not in done.stderr and "warnings.warn" not in done.stderr
    assert all(json.loads(line) for line in done.stderr.splitlines())
    signed.write_bytes(signed.read_bytes().replace(b"IL-", b"IX-", 1))
    refused = _edigw(tmp_path, "verify", str(signed), **dev)
    assert refused.returncode == 1
    assert refused.stderr.startswith("SIGNATURE_DIGEST_MISMATCH\t") and "Warning" not in (
        refused.stderr
    )
    assert state.is_dir()


def test_other_warnings_become_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure("json")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            _log_warnings()
            warnings.warn("something is deprecated", DeprecationWarning, stacklevel=1)
    finally:
        structlog.reset_defaults()
    [line] = capsys.readouterr().err.splitlines()
    event = json.loads(line)
    assert event["event"] == "python warning" and event["level"] == "warning"
    assert event["category"] == "DeprecationWarning"
    assert event["warning"] == "something is deprecated"
