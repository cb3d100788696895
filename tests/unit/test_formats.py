"""Formats per partner (issue #14): the decision, then the pipeline's answer, no broker.

The decision (``gateway.service.formats.decide``) is pure: the partner's configuration chooses the
answer and the formats, the content only chooses among those. The pipeline then refuses a
format, an EDIFACT message type or an XML vocabulary the partner may not send before any
adapter reads it, and answers in the partner's own format whatever the bytes were.
"""

from __future__ import annotations

import dataclasses
import uuid
import warnings
from pathlib import Path

import pytest
from lxml import etree

from adapters.edifact import Message, Segment, directory, parse
from gateway.bootstrap import Gateway, bootstrap
from gateway.config import Partner, load
from gateway.security.trust import DevPki
from gateway.service import formats
from gateway.service.pipeline import READ_POLICY, Outcome, translate
from gateway.service.receipts import ADAPTERS, receipt_from_xml
from tests.helpers import xmlsec_verify

ROOT = Path(__file__).resolve().parents[2]
CUSCAR = (ROOT / "samples" / "apcs" / "01-cuscar-msc-algiers.edi").read_bytes()
PAXLST = (ROOT / "samples" / "apcs" / "04-paxlst-ferry-vehicles.edi").read_bytes()
LICENCE = (ROOT / "samples" / "ministries" / "national-import-licence.xml").read_bytes()
ORIGIN = (ROOT / "samples" / "ministries" / "ubl-certificate-of-origin.xml").read_bytes()
SETTINGS = load(env={"EDIGW_MODE": "development"})
APCS, COMMERCE = SETTINGS.partners["apcs"], SETTINGS.partners["commerce"]
UTF16_XML = '<?xml version="1.0" encoding="UTF-16"?><LpcoDocument/>'
EBCDIC_XML = '<?xml version="1.0" encoding="IBM037"?><LpcoDocument/>'.encode("cp037")

# What each partner's bytes become: (answer, reader or None, refusal reason or None).
CASES = [
    (APCS, CUSCAR, ("contrl", "edifact", None)),
    (APCS, b"\xef\xbb\xbf" + CUSCAR, ("contrl", "edifact", None)),
    (APCS, LICENCE, ("contrl", None, "FORMAT_NOT_ALLOWED")),
    (APCS, UTF16_XML.encode("utf-16"), ("contrl", None, "FORMAT_NOT_ALLOWED")),
    (APCS, EBCDIC_XML, ("contrl", None, "FORMAT_NOT_ALLOWED")),
    (APCS, b"", ("contrl", "edifact", None)),  # the EDIFACT reader says what is wrong
    (APCS, b"\x00\x01\x02 binary", ("contrl", "edifact", None)),
    (COMMERCE, LICENCE, ("receipt", "xml", None)),
    (COMMERCE, b"\xef\xbb\xbf" + LICENCE, ("receipt", "xml", None)),
    (COMMERCE, CUSCAR, ("receipt", None, "FORMAT_NOT_ALLOWED")),
    (COMMERCE, UTF16_XML.encode("utf-16"), ("receipt", None, "XML_ENCODING_UNSUPPORTED")),
    (COMMERCE, UTF16_XML.encode("utf-16-be"), ("receipt", None, "XML_ENCODING_UNSUPPORTED")),
    (COMMERCE, " \n<a/>".encode("utf-16-le"), ("receipt", None, "XML_ENCODING_UNSUPPORTED")),
    (COMMERCE, EBCDIC_XML, ("receipt", None, "XML_ENCODING_UNSUPPORTED")),
    (
        COMMERCE,
        '<?xml version="1.0" encoding="ISO-8859-1"?><a>\xe9</a>'.encode("latin-1"),
        ("receipt", None, "XML_ENCODING_UNSUPPORTED"),
    ),
    (COMMERCE, b"", ("receipt", "xml", None)),  # the XML reader says what is wrong
    (COMMERCE, b"\x00\x01\x02 binary", ("receipt", "xml", None)),
    (COMMERCE, b"\xff" * 100, ("receipt", "xml", None)),
]


@pytest.mark.parametrize(("partner", "data", "expected"), CASES)
def test_the_configuration_decides_and_the_content_only_chooses(
    partner: Partner, data: bytes, expected: tuple[str, str | None, str | None]
) -> None:
    decision = formats.decide(data, partner)
    reason = decision.refusal.reason if decision.refusal else None
    assert (decision.answer, decision.format, reason) == expected
    if decision.refusal is not None:
        assert decision.refusal.sentence


def test_a_partner_may_send_nothing_unless_configured() -> None:
    silent = dataclasses.replace(APCS, formats=())
    refusal = formats.decide(CUSCAR, silent).refusal
    assert refusal is not None and refusal.reason == "FORMAT_NOT_ALLOWED"
    # A ministry answers by signed receipt: EDIFACT listed for it is not taken.
    both = dataclasses.replace(COMMERCE, formats=("edifact", "xml"))
    assert formats.allowed_formats(both) == ("xml",)
    assert formats.decide(CUSCAR, both).refusal is not None
    # Customs sends nothing on a partner inbound.
    customs = SETTINGS.partners["customs"]
    assert formats.decide(LICENCE, customs).refusal is not None


def test_the_vocabularies_cover_every_adapter() -> None:
    # The roots are written out in formats (its import loads no ministry adapter): the same
    # as the adapters' own, by which the desk's ADAPTERS are keyed.
    assert set(formats.VOCABULARIES) == set(ADAPTERS)
    assert set(formats.VOCABULARIES.values()) == {"ephyto", "ubl-origin", "national-lpco"}


def _message(unh: str, body: str = "BGM+85+X+9'") -> Message:
    [ic] = parse(f"UNB+UNOA:3+A+B+260101:1200+1'{unh}{body}UNT+3+1'UNZ+1+1'".encode())
    return ic.messages[0]


def test_message_types_are_judged_as_the_decoder_reads_them() -> None:
    assert formats.type_refusal(_message("UNH+1+CUSCAR:D:95B:UN'"), ("CUSCAR",), "apcs") is None
    # An untyped cargo report is decoded as a CUSCAR, so it is judged as one.
    assert formats.type_refusal(_message("UNH+1+:D:95B:UN'"), ("CUSCAR",), "apcs") is None
    refused = formats.type_refusal(_message("UNH+1+:D:95B:UN'"), ("PAXLST",), "apcs")
    assert refused is not None and refused.reason == "MESSAGE_TYPE_NOT_ALLOWED"
    error = formats.type_refusal(_message("UNH+1+IFTMIN:D:96A:UN'"), ("CUSCAR",), "apcs")
    assert error is not None
    # S011: the tag is 1, 0062 is 2, S009 is 3; 0065 is its first component.
    assert (error.code, error.tag, error.s011()) == ("17", "UNH", (3, 1))
    assert formats.type_refusal(_message("UNH+1+IFTMIN:D:96A:UN'"), None, "") is None
    assert formats.type_refusal(_message("UNH+1+CUSCAR:D:95B:UN'"), (), "apcs") is not None


# --------------------------------------------------------------------------- the pipeline


@pytest.fixture
def gw(tmp_path: Path) -> Gateway:
    return bootstrap(load(env={"EDIGW_STATE_DIR": str(tmp_path), "EDIGW_MODE": "development"}))


def send(gw: Gateway, data: bytes, partner: Partner) -> Outcome:
    inbound = str(uuid.uuid4())
    return gw.pipeline.process(data, partner, inbound, inbound)


def contrl_segments(outcome: Outcome) -> list[Segment]:
    """The CONTRL, read by pydifact and by our directory validator, as our segments."""
    from pydifact.segmentcollection import Interchange as PydifactInterchange

    assert outcome.acknowledgement_type == "CONTRL"
    text = outcome.acknowledgement.decode()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = PydifactInterchange.from_str(text)
    assert [s.tag for s in theirs.segments][:2] == ["UNH", "UCI"]
    [ic] = parse(outcome.acknowledgement)
    [message] = ic.messages
    assert directory.validate_message(message) == []
    return message.segments


def signed_receipt(gw: Gateway, outcome: Outcome, tmp_path: Path) -> tuple[str, list[str]]:
    assert outcome.acknowledgement_type == "LpcoReceipt"
    assert (
        xmlsec_verify(outcome.acknowledgement, gw.settings.signing_cert, tmp_path).returncode == 0
    )
    r = receipt_from_xml(etree.fromstring(outcome.acknowledgement))
    return r.outcome, [x.code for x in r.reasons]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (CUSCAR, "FORMAT_NOT_ALLOWED"),
        (UTF16_XML.encode("utf-16"), "XML_ENCODING_UNSUPPORTED"),
        (UTF16_XML.encode("utf-16-le"), "XML_ENCODING_UNSUPPORTED"),
        (EBCDIC_XML, "XML_ENCODING_UNSUPPORTED"),
        (b"", "XML_MALFORMED"),
        (b"\x00\x9c\xff garbage", "XML_MALFORMED"),
        (b"\x9c\xff garbage", "XML_MALFORMED"),
    ],
)
def test_a_ministry_always_gets_a_signed_receipt(
    gw: Gateway, tmp_path: Path, data: bytes, reason: str
) -> None:
    outcome = send(gw, data, COMMERCE)
    assert outcome.rejection is not None and outcome.rejection.reason == reason
    assert outcome.routed == []
    assert signed_receipt(gw, outcome, tmp_path) == ("rejected", [reason])


def test_a_ministry_vocabulary_it_may_not_send_is_refused_before_decoding(
    gw: Gateway, tmp_path: Path
) -> None:
    pki = DevPki.ensure(tmp_path, ["commerce", "agriculture", "industry"])
    # Agriculture may send ePhyto and national LPCO, not UBL certificates of origin.
    data = pki.sign("agriculture", etree.fromstring(ORIGIN))
    outcome = send(gw, data, gw.settings.partners["agriculture"])
    assert outcome.rejection is not None
    assert (outcome.rejection.reason, outcome.rejection.stage) == (
        "VOCABULARY_NOT_ALLOWED",
        "format",
    )
    assert outcome.translation.documents == [] and outcome.routed == []
    assert signed_receipt(gw, outcome, tmp_path) == ("rejected", ["VOCABULARY_NOT_ALLOWED"])
    # The same document from commerce, which may send it, is accepted.
    accepted = send(gw, pki.sign("commerce", etree.fromstring(ORIGIN)), COMMERCE)
    assert accepted.rejection is None, accepted.rejection


def test_a_port_partner_sending_xml_gets_a_rejecting_contrl(gw: Gateway) -> None:
    outcome = send(gw, LICENCE, APCS)
    assert outcome.rejection is not None and outcome.rejection.reason == "FORMAT_NOT_ALLOWED"
    uci = contrl_segments(outcome)[1]
    assert uci.get(3) == "4" and uci.get(4) == "17"


def _with_message(data: bytes, extra: str) -> bytes:
    """``data`` (one interchange of one message) with ``extra`` added as a second message."""
    head, _, _ = data.rpartition(b"UNZ+1+")
    return head + extra.encode() + data[len(head) :].replace(b"UNZ+1+", b"UNZ+2+")


IFTMIN = "UNH+2+IFTMIN:D:96A:UN'BGM+610+T-1+9'UNT+3+2'\n"


@pytest.mark.parametrize("padding", [0, READ_POLICY.thin_min_bytes])
def test_an_edifact_type_the_partner_may_not_send_is_refused_in_its_own_ucm(
    gw: Gateway, padding: int
) -> None:
    dtm = "DTM+137:20260101:102'\n" * (padding // 22)
    count = 3 + padding // 22
    extra = IFTMIN.replace("UNT+3+2", f"UNT+{count}+2").replace("UNT", dtm + "UNT", 1)
    data = _with_message(CUSCAR, extra)
    assert len(data) >= padding
    outcome = send(gw, data, APCS)
    # Each message is decided on its own (issue #15): the CUSCAR goes, the IFTMIN does not.
    assert [r.document.header.document_type for r in outcome.routed] == ["CargoManifest"]
    [refused] = outcome.translation.rejected_messages
    assert (refused.head.reference, refused.rejection.reason, refused.rejection.stage) == (
        "2",
        "MESSAGE_TYPE_NOT_ALLOWED",
        "format",
    )
    assert "IFTMIN" in refused.rejection.sentence
    assert [kind for kind, _ in outcome.acknowledgements] == ["CONTRL"]  # no APERAK
    segments = contrl_segments(outcome)
    ucms = {s.get(0): s for s in segments if s.tag == "UCM"}
    # The IFTMIN is rejected for its type (17, no agreement, at UNH); the CUSCAR accepted.
    assert [ucms["2"].get(i) for i in (2, 3, 4)] == ["4", "17", "UNH"]
    assert ucms["1"].get(1) == "CUSCAR" and ucms["1"].get(2) == "7"


def test_an_interchange_of_refused_types_only_is_refused(gw: Gateway) -> None:
    iftmin = IFTMIN.replace("UNH+2", "UNH+1").replace("UNT+3+2", "UNT+3+1")
    data = b"UNA:+.? 'UNB+UNOC:3+APCS:ZZZ+CUSTOMS:ZZZ+261129:0800+IF1'" + iftmin.encode()
    outcome = send(gw, data + b"UNZ+1+IF1'", APCS)
    assert outcome.rejection is not None
    assert outcome.rejection.reason == "MESSAGE_TYPE_NOT_ALLOWED" and outcome.routed == []
    [ucm] = [s for s in contrl_segments(outcome) if s.tag == "UCM"]
    assert [ucm.get(i) for i in (2, 3, 4)] == ["4", "17", "UNH"]


def test_a_type_allowed_to_one_partner_is_refused_to_another(gw: Gateway) -> None:
    cuscar_only = dataclasses.replace(APCS, message_types=("CUSCAR",))
    refused = send(gw, PAXLST, cuscar_only)
    assert refused.rejection is not None
    assert refused.rejection.reason == "MESSAGE_TYPE_NOT_ALLOWED"
    assert send(gw, PAXLST, APCS).rejection is None
    nothing = dataclasses.replace(APCS, message_types=())
    assert send(gw, CUSCAR, nothing).rejection is not None  # empty: none allowed


def test_offline_translation_still_takes_any_type() -> None:
    # ``edigw translate`` has no partner: no type is refused there.
    result = translate(PAXLST)
    assert result.rejection is None and result.message_types == ["PAXLST"]
