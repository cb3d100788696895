"""What a refused message is found by (issue #19, point 1), bounded for hostile input."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.bootstrap import bootstrap
from gateway.config import load
from gateway.config_schema import ConsoleSection
from gateway.interfaces.console import create_app
from gateway.service.translation import REFUSED_REFERENCES, Outcome, Translation


def test_refused_references_are_kept_up_to_a_bound() -> None:
    translation = Translation()
    translation.refuse_references(["MAN-1", "", "BL-1"])
    assert translation.refused_references == ["MAN-1", "BL-1"]
    translation.refuse_references(f"C{n}" for n in range(REFUSED_REFERENCES * 3))
    assert len(translation.refused_references) <= REFUSED_REFERENCES
    translation.refuse_references(["LATE"])
    cut = Translation()
    cut.refuse_references(["X" * 10_000])
    assert cut.refused_references == ["X" * 70]
    assert "LATE" not in translation.refused_references


def test_an_outcome_names_what_it_is_about_first_by_its_document_number() -> None:
    translation = Translation()
    translation.refuse_references(["MAN-2", "MSCU1234567", "MAN-2"])
    outcome = Outcome(translation, references=["EPHYTO-1"])
    assert outcome.business_references() == ["EPHYTO-1", "MAN-2", "MSCU1234567"]
    assert Outcome(Translation()).business_references() == []


def test_the_console_s_reference_link_leads_to_the_story(tmp_path: Path) -> None:
    """A dead letter's page links to ``/track?ref=<its business reference>``: the refused
    message, its dead letter and its replay, found in any case and by prefix."""
    app = bootstrap(load(env={"EDIGW_STATE_DIR": str(tmp_path)}))
    journal = app.journal
    journal.record_message("in-9", type="CUSCAR", partner="apcs", correlation_id="in-9")
    journal.add_references("in-9", ["MAN-DZALG-2611-009"])
    journal.record_event("in-9", "rejected", "EDIFACT_SYNTAX: <b>bad</b>")
    journal.record_message(
        "in-9~replay1", type="CUSCAR", partner="apcs", correlation_id="in-9", parent_id="in-9"
    )
    client = create_app(app, ConsoleSection(token="s3cret")).test_client()
    page = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    client.post("/login", data={"operator": "eve", "token": "s3cret", "csrf": csrf.group(1)})
    story = client.get("/track", query_string={"ref": "man-dzalg-2611-00"})
    assert story.status_code == 200
    assert "in-9" in story.text and "(replay of in-9)" in story.text
    assert "&lt;b&gt;bad&lt;/b&gt;" in story.text  # partner text escaped
    empty = client.get("/track", query_string={"ref": "NOPE"})
    assert "No message with reference or id NOPE" in empty.text
    app.close()


def test_a_ministry_document_refused_before_it_is_trusted_is_found_by_its_number(
    tmp_path: Path,
) -> None:
    """Refused for its signature (changed after signing): indexed under the certificate number
    it claims; a document that is no certificate, under nothing."""
    from gateway.security.trust import DevPki
    from tests.unit.test_lpco_lifecycle import licence, send

    gw = bootstrap(load(env={"EDIGW_STATE_DIR": str(tmp_path), "EDIGW_MODE": "development"}))
    pki = DevPki.ensure(tmp_path, ["commerce", "agriculture", "industry"])
    signed = pki.sign("commerce", licence())
    tampered = signed.replace(b"IL-2026-000123", b"IL-2026-000999", 1)
    assert tampered != signed
    refused = send(gw, tampered)
    assert refused.rejection is not None
    assert refused.rejection.reason == "SIGNATURE_DIGEST_MISMATCH"
    assert refused.business_references()[:2] == ["IL-2026-000999", "IL-2026-000999/v1"]
    # Not one of the accepted documents (and unsigned): refused, indexed under nothing.
    stranger = send(gw, b"<Invoice><ID>INV-1</ID></Invoice>")
    assert stranger.rejection is not None and stranger.business_references() == []
    gw.close()
