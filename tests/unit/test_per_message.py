"""Each message of an interchange decided on its own (issue #15), without a broker.

The pipeline with an in-memory journal: a mixed interchange routes its good message and
refuses the other alone; an original and its replacement in one interchange both go,
as versions 1 and 2; a message with a syntax error is rejected by its own UCM while the
others are acknowledged; only an envelope error rejects everything.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydifact.segmentcollection import Interchange as PydifactInterchange

from adapters import aperak
from adapters.edifact import parse
from adapters.edifact.envelope import alone
from gateway.config import load
from gateway.domain.model import CargoManifest
from gateway.security.signing import Signer, ensure_dev_keys
from gateway.service.pipeline import InboundPipeline, content_rejection, translate
from gateway.storage.journal import SqliteJournal
from tests.edifact_builders import interchange, message


def pydifact_tags(data: bytes) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [s.tag for s in PydifactInterchange.from_str(data.decode("latin-1")).segments]


@dataclass
class Verdicts:
    action: str  # UCI 0083
    messages: list[tuple[str, str]]  # (UCM 0062, UCM 0083)


def decode_contrl(data: bytes) -> Verdicts:
    """The UCI and UCM actions of a CONTRL, read with our own parser."""
    [ic] = parse(data)
    segments = [s for m in ic.messages for s in m.segments]
    uci = next(s for s in segments if s.tag == "UCI")
    ucms = [s for s in segments if s.tag == "UCM"]
    return Verdicts(uci.get(3), [(s.get(0), s.get(2)) for s in ucms])


@pytest.fixture
def pipeline(tmp_path: Path) -> InboundPipeline:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    ensure_dev_keys(key, cert)
    return InboundPipeline(
        Signer.from_files(key, cert),
        load(env={}).routes,
        "CUSTOMS",
        journal=SqliteJournal(":memory:"),
    )


APCS = load(env={}).partners["apcs"]


def test_mixed_interchange_routes_the_good_message_and_refuses_the_other(
    pipeline: InboundPipeline,
) -> None:
    data = interchange(
        message("1", "MAN-DZALG-0001"), message("2", "MAN-DZALG-0002", container="MSCU1234565")
    )
    outcome = pipeline.process(data, APCS, "c1", "inbound-mixed")
    assert outcome.rejection is None
    assert [r.document.header.business_reference for r in outcome.routed] == ["MAN-DZALG-0001"]
    [refused] = outcome.translation.rejected_messages
    assert (refused.index, refused.head.reference, refused.syntax) == (1, "2", False)
    assert refused.rejection.reason == "BUSINESS_RULES"
    kinds = [kind for kind, _ in outcome.acknowledgements]
    assert kinds == ["CONTRL", "APERAK"]
    report = decode_contrl(outcome.acknowledgements[0][1])
    assert report.action == "7"
    assert report.messages == [("1", "7"), ("2", "7")]
    answer = aperak.decode(outcome.acknowledgements[1][1])
    assert answer.message_reference == "2" and answer.document_number == "MAN-DZALG-0002"
    for _, ack in outcome.acknowledgements:
        tags = pydifact_tags(ack)
        assert tags[0] == "UNH" and tags[-1] == "UNT"


def test_ids_follow_the_message_not_the_count_of_accepted_ones(pipeline: InboundPipeline) -> None:
    """A redelivery gives the same ids whichever messages were refused."""
    data = interchange(
        message("1", "MAN-DZORN-0001", container="MSCU1234565"), message("2", "MAN-DZORN-0002")
    )
    first = pipeline.evaluate(data, APCS, "c1", "inbound-ids")
    [routed] = first.routed
    assert routed.document.header.message_id != ""
    again = translate(data, inbound_id="inbound-ids")
    assert [d.header.message_id for d in again.documents] == [routed.document.header.message_id]
    assert again.sources == [1]


def test_original_and_replacement_in_one_interchange(pipeline: InboundPipeline) -> None:
    data = interchange(
        message("1", "MAN-DZBJA-0001", "9"),
        message("2", "MAN-DZBJA-0001", "5").replace("LAPTOPS", "NOTEBOOKS"),
    )
    outcome = pipeline.process(data, APCS, "c1", "inbound-pair")
    assert outcome.rejection is None and not outcome.translation.rejected_messages
    headers = [r.document.header for r in outcome.routed]
    assert [(h.function, h.document_version) for h in headers] == [("original", 1), ("replace", 2)]
    assert headers[1].previous_message_id == headers[0].message_id


def test_cancellation_after_its_original_and_a_change_after_the_cancellation(
    pipeline: InboundPipeline,
) -> None:
    data = interchange(
        message("1", "MAN-DZSKI-0001", "9"),
        message("2", "MAN-DZSKI-0001", "1").replace("LAPTOPS", "WITHDRAWN"),
        message("3", "MAN-DZSKI-0001", "4").replace("LAPTOPS", "TOO LATE"),
    )
    outcome = pipeline.process(data, APCS, "c1", "inbound-cancel")
    assert [r.document.header.function for r in outcome.routed] == ["original", "cancel"]
    [late] = outcome.translation.rejected_messages
    assert (late.head.reference, late.rejection.reason) == ("3", "ALREADY_CANCELLED")
    content = content_rejection(outcome.translation)
    assert content is not None and content.problems[0].message_reference == "3"


def test_a_syntax_error_rejects_its_message_alone(pipeline: InboundPipeline) -> None:
    bad = message("2", "MAN-DZDJE-0002").replace("UNT+20+2'", "UNT+19+2'")
    data = interchange(message("1", "MAN-DZDJE-0001"), bad)
    outcome = pipeline.process(data, APCS, "c1", "inbound-syntax")
    assert [r.document.header.business_reference for r in outcome.routed] == ["MAN-DZDJE-0001"]
    [refused] = outcome.translation.rejected_messages
    assert refused.syntax and refused.rejection.reason == "EDIFACT_SYNTAX"
    assert [kind for kind, _ in outcome.acknowledgements] == ["CONTRL"]  # no APERAK for syntax
    report = decode_contrl(outcome.acknowledgement)
    assert report.action == "7"
    assert report.messages == [("1", "7"), ("2", "4")]


def test_an_envelope_error_still_rejects_the_whole_interchange(pipeline: InboundPipeline) -> None:
    data = interchange(message("1", "MAN-DZMOS-0001"), message("2", "MAN-DZMOS-0002"), count=7)
    outcome = pipeline.process(data, APCS, "c1", "inbound-unz")
    assert outcome.rejection is not None and outcome.routed == []
    assert outcome.translation.rejected_messages == []
    assert decode_contrl(outcome.acknowledgement).action == "4"


def test_every_message_refused_rejects_the_interchange_with_every_reason(
    pipeline: InboundPipeline,
) -> None:
    data = interchange(
        message("1", "MAN-DZAZW-0001", container="MSCU1234565"),
        message("2", "MAN-DZAZW-0002", "4"),  # a change of a document never filed
    )
    outcome = pipeline.process(data, APCS, "c1", "inbound-all")
    assert outcome.rejection is not None and outcome.routed == []
    assert outcome.rejection.reason == "MESSAGES_REJECTED"
    reasons = [
        (r.head.reference, r.rejection.reason) for r in outcome.translation.rejected_messages
    ]
    assert reasons == [("1", "BUSINESS_RULES"), ("2", "NO_ORIGINAL")]


def test_a_refused_message_alone_in_its_envelope_is_a_valid_interchange() -> None:
    data = interchange(message("1", "MAN-DZAAE-0001"), message("2", "MAN-DZAAE-0002"))
    letter = alone(data, [1])[1]
    again = translate(letter)
    assert again.rejection is None
    assert [d.header.business_reference for d in again.documents] == ["MAN-DZAAE-0002"]
    assert isinstance(again.documents[0], CargoManifest)
    tags = pydifact_tags(letter)
    assert tags.count("UNH") == 1 and "UNE" not in tags
    assert letter.rstrip().endswith(b"UNZ+1+R0001'")
