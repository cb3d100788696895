"""``edigw --config FILE translate --partner ID`` reads the file as that partner's configuration
says (issue #15): its rules, its message types, its formats; offline (no key, no journal)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from gateway.interfaces.cli import main

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
BAD_CHECK_DIGIT = SAMPLES / "apcs" / "05-cuscar-rejected-container-check-digit.edi"
MANIFEST = SAMPLES / "apcs" / "01-cuscar-msc-algiers.edi"
LICENCE = SAMPLES / "ministries" / "national-import-licence.xml"


def _translate(tmp_path: Path, config: str | None, *args: str) -> Result:
    env = {
        "EDIGW_STATE_DIR": str(tmp_path / "state"),
        # Production: no signing key, no trust anchors. Translating needs neither.
        "EDIGW_MODE": "production",
        "EDIGW_CONFIG": None,
    }
    options: list[str] = []
    if config is not None:
        path = tmp_path / "gateway.toml"
        path.write_text(config)
        options = ["--config", str(path)]
    result = CliRunner().invoke(main, [*options, "translate", *args], env=env)
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "state").exists()  # offline: no journal, no key made
    return result


def test_the_partner_s_rule_severities_decide(tmp_path: Path) -> None:
    refused = _translate(tmp_path, None, "--partner", "apcs", str(BAD_CHECK_DIGIT))
    assert refused.exit_code == 1 and refused.stdout == ""
    assert "CONTAINER_CHECK_DIGIT" in refused.stderr
    off = '[partners.apcs.rules]\nCONTAINER_CHECK_DIGIT = "off"\n'
    accepted = _translate(tmp_path, off, "--partner", "apcs", str(BAD_CHECK_DIGIT))
    assert accepted.exit_code == 0, accepted.stderr
    assert accepted.stdout.count("<CargoManifest") == 1
    # Another partner's table changes nothing for apcs.
    other = '[partners.terminal-djendjen.rules]\nCONTAINER_CHECK_DIGIT = "off"\n'
    assert _translate(tmp_path, other, "--partner", "apcs", str(BAD_CHECK_DIGIT)).exit_code == 1


def test_the_partner_s_message_types_decide(tmp_path: Path) -> None:
    assert _translate(tmp_path, None, "--partner", "apcs", str(MANIFEST)).exit_code == 0
    paxlst_only = '[partners.apcs]\nmessage_types = ["PAXLST"]\n'
    refused = _translate(tmp_path, paxlst_only, "--partner", "apcs", str(MANIFEST))
    assert refused.exit_code == 1 and refused.stdout == ""
    assert "MESSAGE_TYPE_NOT_ALLOWED" in refused.stderr


def test_the_partner_s_formats_decide_and_an_unknown_sender_gets_the_defaults(
    tmp_path: Path,
) -> None:
    refused = _translate(tmp_path, None, "--partner", "apcs", str(LICENCE))
    assert refused.exit_code == 1 and refused.stdout == ""
    assert any(line.startswith("FORMAT_NOT_ALLOWED\t") for line in refused.stderr.splitlines())
    # Not a configured partner (the default sender, "offline"): read as any partner's file.
    offline = _translate(tmp_path, None, str(LICENCE))
    assert offline.exit_code == 0 and "<Lpco " in offline.stdout
    assert "SIGNATURE_NOT_CHECKED" in offline.stderr
