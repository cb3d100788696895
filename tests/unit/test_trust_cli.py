"""``edigw keys`` and ``edigw verify``: the CLI contract (exit codes, reason code on stderr)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from gateway.config import load
from gateway.interfaces.cli import main
from gateway.security.signing import Signer

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "ministries"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"EDIGW_STATE_DIR": str(tmp_path / "state"), "EDIGW_CONFIG": ""}


def edigw(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def xmlsec_ok(path: Path, cert: Path) -> bool:
    run = subprocess.run(
        ["xmlsec1", "--verify", "--trusted-pem", str(cert), str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return run.returncode == 0


def sign_with_current_key(env: dict[str, str], out: Path) -> Path:
    settings = load(env=env)
    signer = Signer.from_files(settings.signing_key, settings.signing_cert)
    signed = signer.sign(etree.fromstring(b'<Doc xmlns="urn:example"><N>1</N></Doc>'))
    out.write_bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))
    return out


def test_keys_generate_list_rotate_and_old_signatures_still_verify(
    env: dict[str, str], tmp_path: Path
) -> None:
    code, out, _ = edigw(env, "keys", "generate")
    assert code == 0 and "\tgenerated\t" in out
    first_id = out.split("\t")[0]
    code, out, _ = edigw(env, "keys", "generate")
    assert code == 0 and out.startswith(first_id) and "\texists\t" in out

    old_doc = sign_with_current_key(env, tmp_path / "old.xml")
    old_cert = tmp_path / "old-cert.pem"
    old_cert.write_bytes(
        Path(env["EDIGW_STATE_DIR"], "keys", "gateway-signing-cert.pem").read_bytes()
    )

    code, out, _ = edigw(env, "keys", "rotate")
    assert code == 0
    lines = dict(line.split("\t") for line in out.strip().splitlines())
    assert lines["retired"] == first_id and lines["current"] != first_id

    code, out, _ = edigw(env, "keys", "list")
    rows = [line.split("\t") for line in out.strip().splitlines()]
    assert [(r[0], r[1]) for r in rows] == [(lines["current"], "current"), (first_id, "retired")]

    new_doc = sign_with_current_key(env, tmp_path / "new.xml")
    for doc in (old_doc, new_doc):
        code, out, err = edigw(env, "verify", str(doc))
        assert code == 0, err
        assert out.startswith("valid\tgateway\t")
    # An independent implementation agrees, with the certificate of the key that signed.
    new_cert = Path(env["EDIGW_STATE_DIR"], "keys", "gateway-signing-cert.pem")
    assert xmlsec_ok(old_doc, old_cert) and xmlsec_ok(new_doc, new_cert)
    assert not xmlsec_ok(old_doc, new_cert)


def test_verify_contract_exit_codes_and_reason_on_stderr(
    env: dict[str, str], tmp_path: Path
) -> None:
    signed = tmp_path / "licence.xml"
    code, out, _ = edigw(
        env,
        "keys",
        "dev-sign",
        "--partner",
        "commerce",
        "--out",
        str(signed),
        str(SAMPLES / "national-import-licence.xml"),
    )
    assert code == 0
    code, out, _ = edigw(env, "verify", str(signed))
    assert code == 0 and out.startswith("valid\tcommerce\t")
    code, out, _ = edigw(env, "verify", "--partner", "commerce", str(signed))
    assert code == 0

    code, out, err = edigw(env, "verify", "--partner", "agriculture", str(signed))
    assert (code, out) == (1, "") and err.startswith("SIGNER_NOT_PARTNER\t")

    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(signed.read_bytes().replace(b">500<", b">5000<"))
    code, _, err = edigw(env, "verify", str(tampered))
    assert code == 1 and err.startswith("SIGNATURE_DIGEST_MISMATCH\t")

    code, _, err = edigw(env, "verify", str(SAMPLES / "national-import-licence.xml"))
    assert code == 1 and err.startswith("SIGNATURE_MISSING\t")


def test_production_trust_dir_generates_nothing(tmp_path: Path) -> None:
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    config = tmp_path / "edigw.toml"
    config.write_text(f'[trust]\ndir = "{anchors}"\n')
    env = {"EDIGW_STATE_DIR": str(tmp_path / "state"), "EDIGW_CONFIG": str(config)}
    signed = tmp_path / "x.xml"
    code, _, err = edigw(
        env,
        "keys",
        "dev-sign",
        "--partner",
        "commerce",
        "--out",
        str(signed),
        str(SAMPLES / "national-import-licence.xml"),
    )
    assert code == 2 and "development anchors only" in err
    assert list(anchors.iterdir()) == []
