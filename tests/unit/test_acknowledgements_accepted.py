"""Acknowledgements partners' translators accept (issue #16, items 5 and 7).

Every CONTRL, APERAK and CUSRES written here parses with pydifact and passes the gateway's
own envelope checks and directory validator (``tests.helpers.assert_valid_*``), whatever
the partner sent: empty or too long references, lower case and accents in UNOA, control
characters.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters import aperak, contrl, cusres
from adapters.registry import is_acknowledgement
from gateway.domain.model import CustomsResponse, Pointer, ResponseError
from tests.helpers import assert_valid_aperak, assert_valid_contrl, assert_valid_cusres
from tests.unit.test_cusres import _response as cusres_response

NOW = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)

# Interchanges whose echoed values a CONTRL cannot copy as they are.
HOSTILE = {
    "empty UNH reference": b"UNB+UNOA:3+SND+RCV+240101:1200+42'UNH++CUSCAR:D:95B:UN'"
    b"BGM+85+X+9'UNT+3+'UNZ+1+42'",
    "empty message type": b"UNB+UNOA:3+SND+RCV+240101:1200+42'UNH+1+:::'UNT+2+1'UNZ+1+42'",
    "no S009 at all": b"UNB+UNOA:3+SND+RCV+240101:1200+42'UNH+1'UNT+2+1'UNZ+1+42'",
    "ids too long": b"UNB+UNOA:3+"
    + b"S" * 60
    + b":QUALQUAL+"
    + b"R" * 50
    + b"+240101:1200+"
    + b"9" * 30
    + b"'UNH+"
    + b"7" * 30
    + b"+CUSCARXX:DDD:95BXX:UNXX:SMDGXXXXX'UNT+2+"
    + b"7" * 30
    + b"'UNZ+1+"
    + b"9" * 30
    + b"'",
    "lower case and accents in UNOA": "UNB+UNOA:3+sndé+rcv+240101:1200+réf'UNH+réf+"
    "cuscar:d:95b:un'UNT+2+réf'UNZ+1+réf'".encode("latin-1"),
    "empty UNB ids": b"UNB+UNOA:3+++240101:1200+'UNH+1+CUSCAR:D:95B:UN'UNT+2+1'UNZ+1+'",
    "control characters": b"UNB+UNOA:3+S\x01ND+RCV+240101:1200+4\x072'UNH+1\x00+"
    b"CUSCAR:D:95B:UN'UNT+2+1'UNZ+1+42'",
    "unknown syntax identifier": b"UNB+XXXX:9+SND+RCV+240101:1200+42'UNH+1+CUSCAR:D:95B:UN'"
    b"UNT+2+1'UNZ+1+42'",
    "accents in UNOC": "UNB+UNOC:3+SNDé+RCV+240101:1200+42'UNH+1é+CUSCAR:D:95B:UN'"
    "UNT+2+1é'UNZ+1+42'".encode("latin-1"),
}


@pytest.mark.parametrize("receipt_only", [False, True])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_contrl_answering_anything_is_valid_itself(name: str, receipt_only: bool) -> None:
    report = contrl.acknowledge(HOSTILE[name])
    out = contrl.encode(report, now=NOW, receipt_only=receipt_only, reference="GW0000000042")
    (ic,) = assert_valid_contrl(out)
    assert ic.control_reference == "GW0000000042"


def test_contrl_without_a_message_type_says_unknown_not_empty() -> None:
    out = contrl.encode(contrl.acknowledge(HOSTILE["empty message type"]), now=NOW)
    assert b"UCM+1+UNKNOW:0:0:0+4" in out


def test_contrl_keeps_the_partners_qualifier_and_takes_its_own_reference() -> None:
    data = b"UNB+UNOA:3+SND:ZZZ+RCV:14+240101:1200+42'UNH+1+CUSCAR:D:95B:UN'UNT+2+1'UNZ+1+42'"
    out = contrl.encode(
        contrl.acknowledge(data), our_id="CUSTOMS", our_qualifier="ZZZ", reference="7", now=NOW
    )
    assert out.startswith(b"UNB+UNOA:3+CUSTOMS:ZZZ+SND:ZZZ+261207:0930+7'")
    assert out.rstrip().endswith(b"UNZ+1+7'")
    assert_valid_contrl(out)


def _original(**kw: object) -> aperak.Original:
    base: dict[str, object] = dict(
        sender="APCS",
        sender_qualifier="ZZZ",
        control_reference="PARTNER-REF-9",
        message_reference="M1",
        message_type="CUSCAR",
        document_number="MAN-2026-0001",
    )
    base.update(kw)
    return aperak.Original(**base)  # type: ignore[arg-type]


ERRORS = [
    aperak.ApplicationError("HS_CODE", "HS code 12 must have 6 to 10 digits", 14, "PIA", 1, 0),
    aperak.ApplicationError("SOMETHING_NEW", "élément inconnu; 'quoted' + sign?", None),
]


@pytest.mark.parametrize("syntax_id", ["UNOA", "UNOB", "UNOC", "UNOW"])
@pytest.mark.parametrize("version", [3, 4])
def test_aperak_is_valid_in_the_partners_set_and_version(syntax_id: str, version: int) -> None:
    original = _original(syntax_id=syntax_id, syntax_version=version)
    out = aperak.encode(ERRORS, original, reference="GW0000000043", now=NOW)
    (ic,) = assert_valid_aperak(out)
    assert (ic.syntax_id, ic.syntax_version, ic.control_reference) == (
        syntax_id,
        version,
        "GW0000000043",
    )
    assert (ic.sender, ic.recipient, ic.recipient_qualifier) == ("CUSTOMS", "APCS", "ZZZ")


def test_aperak_codes_qualifiers_and_positions() -> None:
    original = _original(first_segment=101)  # the partner's UNH was its 101st segment
    out = aperak.encode(ERRORS, original, reference="GW43", now=NOW).decode()
    assert "BGM+963+GW43+9+RE'" in out  # UNCL 1001 963, error response
    assert "ERC+GW104:ZZZ:86'" in out and "ERC+GW999:ZZZ:86'" in out
    # Segment 14 of the interchange is before the message: no position is claimed.
    assert "RFF+ACW:M1'\nFTX+AAO+++PIA:2:1:" in out
    at_114 = aperak.ApplicationError("HS_CODE", "bad", 114, "PIA", 1)
    out = aperak.encode([at_114], original, reference="GW43", now=NOW).decode()
    assert "RFF+ACW:M1:14'" in out  # 114 - 101 + 1: counted within the message, UNH = 1
    assert "FTX+AAO+++PIA:2::SEGMENT 14, PIA, ELEMENT 2'" in out
    report = aperak.decode(out.encode())
    assert [(e.code, e.segment, e.tag, e.element) for e in report.errors] == [
        ("HS_CODE", 14, "PIA", 1)
    ]
    assert_valid_aperak(out.encode())


def test_aperak_accepted_with_warnings_is_a_document_response() -> None:
    out = aperak.encode(ERRORS[:1], _original(), accepted=True, now=NOW)
    assert b"BGM+962+1+9+AP'" in out
    assert aperak.decode(out).accepted
    assert_valid_aperak(out)


def test_aperak_in_unoa_is_upper_case_level_a() -> None:
    out = aperak.encode(ERRORS, _original(sender="apcs-é"), now=NOW)
    assert out == out.upper() and max(out) < 0x80
    assert b"UNB+UNOA:3+CUSTOMS+APCS-??:ZZZ+" in out  # "?" escaped
    assert [e.code for e in aperak.decode(out).errors] == ["HS_CODE", "SOMETHING-NEW"]
    assert_valid_aperak(out)


def test_aperak_many_messages_take_one_reference() -> None:
    answers = [(_original(message_reference=str(n)), ERRORS) for n in (1, 2, 3)]
    out = aperak.encode_many(answers, reference="GW0000000044", now=NOW)
    (ic,) = assert_valid_aperak(out)
    assert ic.control_reference == "GW0000000044" and len(ic.messages) == 3
    assert [r.message_reference for r in aperak.decode_all(out)] == ["1", "2", "3"]


POINTER = Pointer("segment 27 MEA, element 2", 27, "MEA", 2, 0)


def _response(**kw: object) -> CustomsResponse:
    """test_cusres's response, with a lower-case number and texts level A cannot carry."""
    base: dict[str, object] = dict(
        original_reference="man-dzalg-2611-001",
        errors=[
            ResponseError(
                "E101_TOO_LONG_CODE", "masse brute différente; 'quoted' + sign?", POINTER
            ),
            *cusres_response().errors[1:],
        ],
    )
    base.update(kw)
    return cusres_response(**base)


@pytest.mark.parametrize("syntax_id", ["UNOA", "UNOB", "UNOC", "UNOY"])
@pytest.mark.parametrize("version", [3, 4])
@pytest.mark.parametrize("decision", ["accepted", "rejected", "released", "held"])
def test_cusres_is_valid_against_its_own_directory(
    syntax_id: str, version: int, decision: str
) -> None:
    response = _response(decision=decision, channel=None if decision == "rejected" else "green")
    out = cusres.encode(
        response,
        recipient="APCS",
        recipient_qualifier="ZZZ",
        syntax_id=syntax_id,
        syntax_version=version,
        reference="GW0000000045",
        their_interchange_reference="R0001",
        their_message_reference="1",
        their_document_number="MAN-DZALG-2611-001",
        now=NOW,
    )
    (ic,) = assert_valid_cusres(out)
    assert (ic.syntax_id, ic.control_reference, ic.recipient_qualifier) == (
        syntax_id,
        "GW0000000045",
        "ZZZ",
    )
    back = cusres.decode(out)
    assert (back.decision, back.registration_number) == (decision, "26DZALG0000042")


def test_cusres_references_what_the_partner_knows_not_our_ids() -> None:
    out = cusres.encode(
        _response(),
        recipient="APCS",
        reference="GW46",
        their_interchange_reference="R0001",
        their_message_reference="7",
        their_document_number="MAN-DZALG-2611-001",
        now=NOW,
    ).decode("latin-1")  # UNOC
    assert "RFF+INO:R0001'\nRFF+ACW:7'\nRFF+DM:MAN-DZALG-2611-001'" in out
    assert "1e509ba8" not in out  # the canonical UUID stays inside the gateway
    # GIS before the RFF group (D.96B CUSRES: GIS is a header segment, SG3 follows).
    assert out.index("GIS+") < out.index("RFF+")
    assert "ERC+E101-TOO:ZZZ:86'" not in out and "ERC+E101_TOO:ZZZ:86'" in out


def test_cusres_in_unoa_is_upper_case_level_a() -> None:
    out = cusres.encode(_response(), recipient="apcs", syntax_id="UNOA", now=NOW)
    assert out == out.upper() and max(out) < 0x80
    assert b"UNB+UNOA:3+CUSTOMS+APCS+" in out
    assert b"RFF+DM:MAN-DZALG-2611-001'" in out
    assert_valid_cusres(out)


@settings(max_examples=60, deadline=None)
@given(
    st.text(min_size=0, max_size=60),
    st.text(min_size=0, max_size=60),
    st.sampled_from(["UNOA", "UNOB", "UNOC", "UNOW"]),
)
def test_property_hostile_partner_values_still_give_valid_answers(
    value: str, text: str, syntax_id: str
) -> None:
    original = _original(
        sender=value,
        sender_qualifier=value,
        message_reference=value,
        document_number=value,
        syntax_id=syntax_id,
    )
    assert_valid_aperak(
        aperak.encode([aperak.ApplicationError("X", text, 3, value, 1)], original, now=NOW)
    )
    response = _response(original_reference=value or "-", errors=[ResponseError("E", text)])
    assert_valid_cusres(
        cusres.encode(
            response,
            recipient=value,
            recipient_qualifier=value,
            syntax_id=syntax_id,
            their_interchange_reference=value,
            their_message_reference=value,
            their_document_number=value,
            now=NOW,
        )
    )


def test_acknowledgements_are_never_acknowledged() -> None:
    assert [t for t in ("CONTRL", "APERAK", "CUSRES", "aperak ") if is_acknowledgement(t)] == [
        "CONTRL",
        "APERAK",
        "CUSRES",
        "aperak ",
    ]
    assert not any(is_acknowledgement(t) for t in ("CUSCAR", "PAXLST", "", "CONTRLX"))
