"""CONTRL (ISO 9735-5): envelope checks in acknowledge() and the encoded service message."""

from __future__ import annotations

import datetime as dt
import warnings

import pytest

from adapters.contrl import (
    ACTION_ACKNOWLEDGED,
    ACTION_RECEIVED,
    ACTION_REJECTED,
    SyntaxReport,
    acknowledge,
    encode,
)
from adapters.edifact import EdifactError, Message, Segment, parse

NOW = dt.datetime(2024, 3, 4, 5, 6)
GOOD = b"UNB+UNOA:3+SENDER:ZZ+CUSTOMS:ZZ+240101:1200+IC42'UNH+M1+CUSCAR:D:95B:UN'BGM+85+DOC+9'UNT+3+M1'UNZ+1+IC42'"


def contrl(report: SyntaxReport, **kw: object) -> list[Segment]:
    """The CONTRL segments (of every CONTRL message) after a round trip through our parser."""
    out = encode(report, our_id="CUSTOMS", reference="C1", now=NOW, **kw)  # type: ignore[arg-type]
    (ic,) = parse(out)
    return [s for m in ic.messages for s in m.segments]


def tags(segments: list[Segment]) -> list[str]:
    return [s.tag for s in segments]


def test_accepted_interchange_v3() -> None:
    report = acknowledge(GOOD)
    assert report.accepted and report.action == ACTION_ACKNOWLEDGED and report.all_errors() == []
    assert (report.sender, report.sender_qualifier, report.syntax_version) == ("SENDER", "ZZ", 3)
    out = encode(report, our_id="CUSTOMS", reference="C1", now=NOW)
    (ic,) = parse(out)
    assert (ic.syntax_id, ic.syntax_version, ic.sender, ic.recipient, ic.recipient_qualifier) == (
        "UNOA",
        3,
        "CUSTOMS",
        "SENDER",
        "ZZ",
    )
    assert ic.date == "240304" and ic.time == "0506"  # YYMMDD in syntax 3
    msg = ic.messages[0]
    assert (msg.type, msg.version, msg.release, msg.agency) == ("CONTRL", "D", "3", "UN")
    uci, ucm = msg.segments[1], msg.segments[2]
    assert uci.elements == (("IC42",), ("SENDER", "ZZ"), ("CUSTOMS", "ZZ"), ("7",))
    assert ucm.elements == (("M1",), ("CUSCAR", "D", "95B", "UN"), ("7",))


def test_syntax4_contrl_uses_4_1_and_8_digit_date() -> None:
    data = GOOD.replace(b"UNOA:3", b"UNOA:4").replace(b"240101", b"20240101")
    report = acknowledge(data)
    assert report.accepted and report.warnings == []
    (ic,) = parse(encode(report, now=NOW))
    assert ic.syntax_version == 4 and ic.date == "20240304"
    assert (ic.messages[0].version, ic.messages[0].release) == ("4", "1")


def test_unt_count_and_reference_errors() -> None:
    report = acknowledge(GOOD.replace(b"UNT+3+M1", b"UNT+4+M2"))
    assert not report.accepted and report.action == ACTION_REJECTED
    codes = [(e.code, e.tag, e.element, e.segment) for e in report.all_errors()]
    assert codes == [("29", "UNT", 0, 4), ("28", "UNT", 1, 4)]
    segs = contrl(report)
    uci = next(s for s in segs if s.tag == "UCI")
    ucm = next(s for s in segs if s.tag == "UCM")
    assert uci.get(3) == "4" and len(uci.elements) == 4  # rejected because of a lower level
    assert ucm.elements == (
        ("M1",),
        ("CUSCAR", "D", "95B", "UN"),
        ("4",),
        ("29",),
        ("UNT",),
        ("2",),
    )


@pytest.mark.parametrize(
    ("old", "new", "code", "tag", "element"),
    [
        (b"UNZ+1+IC42", b"UNZ+2+IC42", "29", "UNZ", 0),
        (b"UNZ+1+IC42", b"UNZ+1+IC43", "28", "UNZ", 1),
        (b"240101:1200", b"19101:1200", "40", "UNB", 3),
        (b"240101:1200", b"240231:1200", "12", "UNB", 3),
        (b"240101:1200", b"2401O1:1200", "37", "UNB", 3),
        (b"240101:1200", b"240101123:1200", "39", "UNB", 3),
        (b"240101:1200", b"240101:118", "40", "UNB", 3),
        (b"240101:1200", b"240101:2575", "12", "UNB", 3),
        (b"UNOA:3", b"UNOZ:3", "2", "UNB", 0),
        (b"UNOA:3", b"UNOA:7", "2", "UNB", 0),
        (b"UNOA:3", b"UNOA", "13", "UNB", 0),
        (b"+IC42'UNH", b"+'UNH", "13", "UNB", 4),
        (b"UNZ+1+IC42'", b"", "13", "UNZ", None),
        (b"UNH+M1+CUSCAR:D:95B:UN'BGM+85+DOC+9'UNT+3+M1'", b"", "32", "UNB", None),
    ],
)
def test_interchange_level_errors(
    old: bytes, new: bytes, code: str, tag: str, element: int | None
) -> None:
    data = GOOD.replace(old, new)
    assert data != GOOD
    report = acknowledge(data)
    first = report.errors[0]
    assert (first.code, first.tag, first.element) == (code, tag, element)
    uci = next(s for s in contrl(report) if s.tag == "UCI")
    assert uci.get(3) == "4" and uci.get(4) == code and uci.get(5) == tag
    if element is not None:
        assert uci.get(6) == str(element + 2)  # S011/0098: the tag is position 1


def test_date_in_8_digits_is_accepted_under_syntax_3_with_a_warning() -> None:
    report = acknowledge(GOOD.replace(b"240101", b"20240101"))
    assert report.accepted
    assert [(w.code, w.tag) for w in report.warnings] == [("12", "UNB")]


def test_groups_ucf_and_une_checks() -> None:
    data = (
        b"UNB+UNOA:4+A+B+20240101:1200+9'UNG+CUSCAR+APP:ZZ+CUS+20240101:1200+G1+UN+D:95B'"
        b"UNH+1+CUSCAR:D:95B:UN'UNT+2+1'UNH+2+CUSCAR:D:95B:UN'UNT+2+2'UNE+3+G9'UNZ+1+9'"
    )
    report = acknowledge(data)
    assert [(e.code, e.tag) for e in report.all_errors()] == [("29", "UNE"), ("28", "UNE")]
    segs = contrl(report)
    assert tags(segs) == ["UNH", "UCI", "UCF", "UCM", "UCM", "UNT"]
    ucf = segs[2]
    assert ucf.elements[:4] == (("G1",), ("APP", "ZZ"), ("CUS",), ("4",))
    assert ucf.get(4) == "29" and ucf.get(5) == "UNE"


def test_groups_and_messages_mixed() -> None:
    data = (
        b"UNB+UNOA:4+A+B+20240101:1200+9'UNH+0+CUSCAR:D:95B:UN'UNT+2+0'UNG+CUSCAR+A+B+20240101:1200+G1+UN+D:95B'"
        b"UNH+1+CUSCAR:D:95B:UN'UNT+2+1'UNE+1+G1'UNZ+1+9'"
    )
    assert ("30", "UNB") in {(e.code, e.tag) for e in acknowledge(data).all_errors()}


def test_message_identifier_missing_and_duplicate_reference() -> None:
    data = GOOD.replace(b"UNZ+1", b"UNZ+2").replace(
        b"UNT+3+M1'", b"UNT+3+M1'UNH+M1+:D:95B:UN'UNT+2+M1'"
    )
    report = acknowledge(data)
    first, second = report.messages
    assert first.errors == []
    assert [(e.code, e.tag, e.element, e.component) for e in second.errors] == [
        ("13", "UNH", 1, 0),
        ("26", "UNH", 0, None),
    ]


def test_message_checks_give_ucs_and_ucd() -> None:
    def body_check(msg: Message) -> list[EdifactError]:
        bgm = msg.segments[1]
        return [
            EdifactError(
                "12",
                "document code 85 not allowed here",
                segment=bgm.number,
                tag="BGM",
                element=0,
                component=0,
            ),
            EdifactError("35", "too many BGM", segment=bgm.number, tag="BGM"),
        ]

    report = acknowledge(GOOD, message_checks=[body_check])
    assert not report.accepted
    segs = contrl(report)
    assert tags(segs) == ["UNH", "UCI", "UCM", "UCS", "UCD", "UCS", "UNT"]
    ucm, ucs1, ucd, ucs2 = segs[2:6]
    assert ucm.get(2) == "4" and len(ucm.elements) == 3
    assert ucs1.elements == (("2",),)  # BGM is the 2nd segment of the message (UNH = 1)
    assert ucd.elements == (("12",), ("2", "1"))  # S011: first data element = 2, component 1
    assert ucs2.elements == (("2",), ("35",))


def test_partial_acceptance_rejects_only_the_bad_message() -> None:
    data = GOOD.replace(b"UNZ+1", b"UNZ+2").replace(
        b"UNT+3+M1'", b"UNT+3+M1'UNH+M2+CUSCAR:D:95B:UN'UNT+9+M2'"
    )
    strict, partial = acknowledge(data), acknowledge(data, partial=True)
    assert strict.action == ACTION_REJECTED and partial.action == ACTION_ACKNOWLEDGED
    assert not partial.accepted
    ucms = [s for s in contrl(partial) if s.tag == "UCM"]
    assert [(u.get(0), u.get(2)) for u in ucms] == [("M1", "7"), ("M2", "4")]
    ucms = [s for s in contrl(strict) if s.tag == "UCM"]
    assert [(u.get(0), u.get(2)) for u in ucms] == [("M1", "4"), ("M2", "4")]


def test_receipt_only_uses_action_8() -> None:
    segs = contrl(acknowledge(GOOD), receipt_only=True)
    assert tags(segs) == ["UNH", "UCI", "UNT"]
    assert segs[1].get(3) == ACTION_RECEIVED


def test_one_contrl_message_per_interchange() -> None:
    second = GOOD.replace(b"IC42", b"IC43")
    report = acknowledge(GOOD + b"\n" + second.replace(b"UNT+3", b"UNT+5"))
    (ic,) = parse(encode(report, reference="C1", now=NOW))
    assert [m.reference for m in ic.messages] == ["C1", "C1-2"]
    assert [m.segments[1].get(0) for m in ic.messages] == ["IC42", "IC43"]
    assert [m.segments[1].get(3) for m in ic.messages] == ["7", "4"]
    assert ic.trailer is not None and ic.trailer.get(0) == "2"


def test_unparsable_input_is_rejected_at_interchange_level_and_addressed() -> None:
    report = acknowledge(b"UNB+UNOC:4+ACME:ZZ+CUSTOMS+20240101:1200+77'BGM+85'")
    assert not report.accepted and report.messages == []
    assert (
        report.sender,
        report.sender_qualifier,
        report.control_reference,
        report.syntax_version,
    ) == (
        "ACME",
        "ZZ",
        "77",
        4,
    )
    uci = next(s for s in contrl(report) if s.tag == "UCI")
    assert (uci.get(0), uci.get(3), uci.get(4), uci.get(5)) == ("77", "4", "33", "BGM")


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"\x00\xff" * 50,
        b"UNA",
        b"UNA:+.? '",
        b"UNB+",
        "ميناء".encode(),
        b"'" * 100,
        b"UNH+1+X'UNT+",
        b"?" * 9,
    ],
)
def test_never_raises_and_always_answers(junk: bytes) -> None:
    report = acknowledge(junk)
    assert not report.accepted and report.action == ACTION_REJECTED
    assert all(e.code for e in report.all_errors())
    segs = contrl(report)
    assert tags(segs)[:2] == ["UNH", "UCI"]


def test_contrl_is_readable_by_pydifact() -> None:
    from pydifact.segmentcollection import Interchange as PydifactInterchange

    data = GOOD.replace(b"UNT+3", b"UNT+4")
    out = encode(acknowledge(data), now=NOW)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = PydifactInterchange.from_str(out.decode())
    assert [s.tag for s in theirs.segments] == ["UNH", "UCI", "UCM", "UNT"]
    assert theirs.get_header_segment() is not None
    ucm = theirs.segments[2]
    assert ucm.elements[2:5] == ["4", "29", "UNT"]


def test_echoed_values_are_escaped_and_fit_the_charset() -> None:
    data = (
        GOOD.replace(b"SENDER:ZZ", b"SEN?+DER:ZZ")
        .replace(b"UNOA", b"UNOC")
        .replace(b"M1", "MÜ".encode("latin-1"))
    )
    report = acknowledge(data)
    assert report.sender == "SEN+DER"
    segs = contrl(report)
    assert segs[1].get(1) == "SEN+DER" and segs[2].get(0) == "MÜ"
    ascii_report = acknowledge(data.replace(b"UNOC", b"UNOA"))
    out = encode(ascii_report, now=NOW)
    assert out.isascii()


def test_streamed_envelope_check_matches_acknowledge() -> None:
    from adapters.contrl import check_interchange
    from adapters.edifact import iter_envelope_events

    data = GOOD.replace(b"UNZ+1+IC42", b"UNZ+3+IC42") + b"\n" + GOOD.replace(b"IC42", b"IC43")
    streamed = [
        [(e.code, e.tag) for e in check_interchange(ic)[0]]
        for ic, msg in iter_envelope_events(data, chunk_size=16)
        if msg is None
    ]
    assert streamed == [[("29", "UNZ")], []]
    assert [[(e.code, e.tag) for e in r.errors] for r in acknowledge(data).reports] == streamed


@pytest.mark.parametrize("year", ["00", "24", "68", "69", "99", "0000", "1900", "2000", "2023"])
def test_unb_date_check_reads_dates_as_strptime_does(year: str) -> None:
    """The cheap calendar check (issue #8) agrees with strptime on every month and day."""
    from adapters.contrl.envelope import _is_calendar_date

    fmt = "%y%m%d" if len(year) == 2 else "%Y%m%d"
    for month in range(100):
        for day in range(100):
            digits = f"{year}{month:02d}{day:02d}"
            try:
                dt.datetime.strptime(digits, fmt)
                expected = True
            except ValueError:
                expected = False
            assert _is_calendar_date(digits) is expected, digits
