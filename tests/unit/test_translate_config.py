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


ESERVICES = SAMPLES / "eservices"


def test_the_portal_s_json_is_translated_to_its_canonical_document(tmp_path: Path) -> None:
    from lxml import etree

    from gateway.domain import travellers
    from gateway.domain.validation import validate

    for name, root in (
        ("tpd-request.json", "VehicleTemporaryAdmission"),
        ("currency-declaration-entry.json", "CurrencyDeclaration"),
    ):
        done = _translate(tmp_path, None, "--partner", "eservices", str(ESERVICES / name))
        assert done.exit_code == 0, done.stderr
        element = etree.fromstring(done.stdout_bytes)
        assert etree.QName(element).localname == root
        assert validate(element, schema=travellers.SCHEMA_FILE) == []
        # What only the running gateway decides is said, on stderr.
        assert done.stderr.startswith("warning: TRAVELLERS_NOT_DECIDED\t/\t")
    tpd = _translate(tmp_path, None, "--partner", "eservices", str(ESERVICES / "tpd-request.json"))
    assert "<FamilyName>بن عيسى</FamilyName>" in tpd.stdout
    assert '<Value currency="EUR">18500.00</Value>' in tpd.stdout


def test_a_border_post_s_event_is_read_and_nothing_is_printed(tmp_path: Path) -> None:
    entry = ESERVICES / "border-event-entry.json"
    done = _translate(tmp_path, None, "--partner", "border", str(entry))
    assert done.exit_code == 0 and done.stdout == ""
    assert done.stderr.startswith("warning: BORDER_EVENT_NOT_APPLIED\t/\t")
    assert "TPD-2026-0714-00042" in done.stderr
    # Each role sends its own documents only, as the running gateway decides.
    portal = _translate(tmp_path, None, "--partner", "eservices", str(entry))
    assert portal.exit_code == 1 and portal.stdout == ""
    assert portal.stderr.startswith("JSON_UNSUPPORTED_DOCUMENT\t/documentType\t")
    request = ESERVICES / "tpd-request.json"
    border = _translate(tmp_path, None, "--partner", "border", str(request))
    assert border.exit_code == 1 and border.stderr.startswith("JSON_UNSUPPORTED_DOCUMENT\t")


def test_a_refused_json_document_says_where_and_why(tmp_path: Path) -> None:
    sample = (ESERVICES / "tpd-request.json").read_text(encoding="utf-8")
    cases = {
        "malformed.json": (sample[:-10], "JSON_MALFORMED\t/\t"),
        "twice.json": (sample.rstrip()[:-1] + ', "reference": "X"}', "JSON_MALFORMED\t/\t"),
        "vin.json": (sample.replace("VF1RFB00X56123456", "VF1RFB00X5612345O"), "VIN_INVALID\t"),
        "date.json": (sample.replace("2026-07-14", "2026-02-30"), "JSON_SCHEMA_INVALID\t"),
        "edifact.edi": ("UNA:+.? 'UNB+UNOC:3+A+B+261207:1200+1'", "FORMAT_NOT_ALLOWED\tmessage\t"),
    }
    for name, (text, start) in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        done = _translate(tmp_path, None, "--partner", "eservices", str(path))
        assert done.exit_code == 1 and done.stdout == "", name
        assert (done.stderr.splitlines()[-1] + "\t").startswith(start), (name, done.stderr)
