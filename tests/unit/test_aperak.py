"""APERAK: every content problem listed with code, position and text; parses with pydifact."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydifact.segmentcollection import Interchange as PydifactInterchange

from adapters import aperak
from adapters.contrl import acknowledge
from gateway.config import load
from gateway.security.signing import Signer, ensure_dev_keys
from gateway.service.pipeline import InboundPipeline
from tests.helpers import assert_valid_aperak

DATA = Path(__file__).resolve().parent.parent / "data" / "cuscar"


def _pydifact_segments(data: bytes) -> list[str]:
    """The segment tags of an APERAK of one message that passes our own checks (item 7)."""
    (ic,) = assert_valid_aperak(data)
    assert len(ic.messages) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydifact warns it has no service-segment tables
        interchange = PydifactInterchange.from_str(data.decode("latin-1"))
        return [s.tag for s in interchange.segments]


@pytest.mark.parametrize("version", [3, 4])
def test_round_trip_in_the_senders_syntax_version(version: int) -> None:
    errors = [
        aperak.ApplicationError("HS_CODE", "HS code 8471 must have 6 to 10 digits", 14, "PIA"),
        aperak.ApplicationError(
            "MASS_TOTALS", "goods weigh 3000 kg; the equipment* says 5000+ kg", 8, "EQD", 2, 0
        ),
        aperak.ApplicationError(
            "BL_UNIQUE", "x" * 200
        ),  # long texts are cut into 70-character parts
    ]
    original = aperak.Original(
        sender="APCS",
        sender_qualifier="ZZZ",
        control_reference="R1",
        syntax_version=version,
        message_reference="1",
        document_number="RULES-0001",
    )
    data = aperak.encode(errors, original, reference="A1")
    assert data.startswith(f"UNB+UNOA:{version}+CUSTOMS+APCS:ZZZ+".encode())
    tags = _pydifact_segments(data)
    assert tags.count("ERC") == 3
    report = aperak.decode(data)
    assert report.syntax_version == version and not report.accepted
    assert (report.message_reference, report.document_number) == ("1", "RULES-0001")
    assert [(e.code, e.segment, e.tag, e.element, e.component) for e in report.errors] == [
        ("HS_CODE", 14, "PIA", None, None),
        ("MASS_TOTALS", 8, "EQD", 2, 0),
        ("BL_UNIQUE", None, "", None, None),
    ]
    # UNOA carries upper case only; the sentence survives otherwise, separators included.
    assert report.errors[1].text == "GOODS WEIGH 3000 KG; THE EQUIPMENT* SAYS 5000+ KG"
    assert report.errors[2].text == "X" * 200


@pytest.fixture
def pipeline(tmp_path: Path) -> InboundPipeline:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    ensure_dev_keys(key, cert)
    return InboundPipeline(Signer.from_files(key, cert), load(env={}).routes, "CUSTOMS")


def test_content_rejection_is_contrl_accepted_plus_aperak(pipeline: InboundPipeline) -> None:
    partner = load(env={}).partners["apcs"]
    outcome = pipeline.process((DATA / "container_check_digit.edi").read_bytes(), partner, "c1")
    assert outcome.rejection is not None and outcome.routed == []
    assert [kind for kind, _ in outcome.acknowledgements] == ["CONTRL", "APERAK"]
    contrl_bytes = outcome.acknowledgements[0][1]
    assert b"UCI+R0001+APCS:ZZZ+CUSTOMS:ZZZ+7'" in contrl_bytes  # syntax accepted
    report = aperak.decode(outcome.acknowledgements[1][1])
    assert [(e.code, e.segment, e.tag) for e in report.errors] == [
        ("CONTAINER_CHECK_DIGIT", 7, "EQD")  # within the message, UNH = 1 (UNB not counted)
    ]
    assert report.document_number == "RULES-0001"
    _pydifact_segments(outcome.acknowledgements[1][1])


def test_syntax_error_keeps_the_contrl_rejection_alone(pipeline: InboundPipeline) -> None:
    partner = load(env={}).partners["apcs"]
    data = (DATA / "valid.edi").read_bytes().replace(b"UNT+20+1'", b"UNT+19+1'")
    outcome = pipeline.process(data, partner, "c2")
    assert [kind for kind, _ in outcome.acknowledgements] == ["CONTRL"]
    assert acknowledge(data).accepted is False
    assert b"UCI+R0001+APCS:ZZZ+CUSTOMS:ZZZ+4" in outcome.acknowledgement


def test_partner_warn_severity_routes_the_corpus_style_container(pipeline: InboundPipeline) -> None:
    settings = load({"partners": {"apcs": {"rules": {"CONTAINER_CHECK_DIGIT": "warn"}}}}, env={})
    outcome = pipeline.process(
        (DATA / "container_check_digit.edi").read_bytes(), settings.partners["apcs"], "c3"
    )
    assert outcome.rejection is None and len(outcome.routed) == 1
    assert [kind for kind, _ in outcome.acknowledgements] == ["CONTRL"]
    assert [w.code for w in outcome.translation.warnings] == ["CONTAINER_CHECK_DIGIT"]


# Printable ASCII and Latin-1 letters whose bytes are never UTF-8 continuation bytes: the
# engine reads UNOC bytes that happen to be valid UTF-8 as UTF-8 (its documented policy).
texts = (
    st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E)
        | st.sampled_from(" éàüñçÅØß"),
        min_size=1,
        max_size=200,
    )
    .map(lambda t: " ".join(t.split()))
    .filter(bool)
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.builds(
            aperak.ApplicationError,
            code=st.sampled_from(["HS_CODE", "LOCODE", "DUPLICATE", "SOMETHING_NEW"]),
            text=texts,
            segment=st.none() | st.integers(1, 99999),
            tag=st.sampled_from(["", "BGM", "MEA", "EQD"]),
            element=st.none() | st.integers(0, 30),
            component=st.none() | st.integers(0, 9),
        ),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from([3, 4]),
)
def test_property_round_trip_in_unoc(errors: list[aperak.ApplicationError], version: int) -> None:
    original = aperak.Original(
        sender="APCS", control_reference="R1", syntax_id="UNOC", syntax_version=version
    )
    data = aperak.encode(errors, original)
    assert_valid_aperak(data)
    report = aperak.decode(data)
    # Texts longer than 4 x 70 characters are cut; everything else comes back as sent.
    assert report.errors == [
        aperak.ApplicationError(e.code, e.text[:280], e.segment, e.tag, e.element, e.component)
        for e in errors
    ]


def test_one_aperak_per_rejected_message(pipeline: InboundPipeline) -> None:
    sample = Path(__file__).resolve().parent.parent.parent / "samples" / "apcs"
    data = (sample / "02-cuscar-ferry-two-messages.edi").read_bytes()
    data = data.replace(b"CST++870323:HS", b"CST++8703:HS").replace(b"ESALC", b"ESAL1")
    outcome = pipeline.process(data, load(env={}).partners["apcs"], "c4")
    assert [kind for kind, _ in outcome.acknowledgements] == ["CONTRL", "APERAK"]
    reports = aperak.decode_all(outcome.acknowledgements[1][1])
    assert [(r.message_reference, r.document_number) for r in reports] == [
        ("1", "MAN-DZALG-2611-017"),
        ("2", "MAN-DZORN-2611-018"),
    ]
    assert [[(e.code, e.segment) for e in r.errors] for r in reports] == [
        # Within each message, UNH = 1, as the CONTRL's UCS counts (they were 15 and 24,
        # counted from the UNB: message 2 has 15 segments, and its 8th is the LOC+9).
        [("HS_CODE", 14)],
        [("LOCODE", 8)],
    ]
    _pydifact_segments_many(outcome.acknowledgements[1][1], 2)


def _pydifact_segments_many(data: bytes, count: int) -> None:
    assert_valid_aperak(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interchange = PydifactInterchange.from_str(data.decode("latin-1"))
        assert len(list(interchange.get_messages())) == count
