"""The EDIFACT syntax engine: separators, layout, character sets, envelopes, errors, streaming."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator

import pytest

from adapters.edifact import (
    CharsetPolicy,
    Delimiters,
    EdifactError,
    Segment,
    build_interchange,
    iter_envelope_events,
    iter_interchange_segments,
    iter_messages,
    parse,
    serialize,
    serialize_segment,
)
from adapters.edifact.syntax import MAX_SEGMENT_BYTES, parse_decimal

SIMPLE = b"UNB+UNOA:3+SND:ZZ+RCV:ZZ+240131:2359+REF1'UNH+M1+CUSCAR:D:95B:UN'BGM+85+DOC1+9'UNT+3+M1'UNZ+1+REF1'"


def one(data: bytes, **kw: object) -> list[Segment]:
    """All segments of the single message in ``data``."""
    (ic,) = parse(data, **kw)  # type: ignore[arg-type]
    (msg,) = ic.messages
    return msg.segments


# --- service string advice and separators ---------------------------------


def test_defaults_without_una() -> None:
    ic = parse(SIMPLE)[0]
    assert ic.delimiters == Delimiters()
    assert (ic.syntax_id, ic.syntax_version, ic.sender, ic.sender_qualifier) == (
        "UNOA",
        3,
        "SND",
        "ZZ",
    )
    assert (ic.date, ic.time, ic.control_reference, ic.una) == ("240131", "2359", "REF1", False)
    assert ic.messages[0].body()[0].elements == (("85",), ("DOC1",), ("9",))


def test_una_with_pipe_comma_and_other_terminator() -> None:
    data = b"UNA^|,# ~UNB|UNOB^3|S|R|240101^1200|1~UNH|1|X^D^96A^UN~FTX|AAA|||A#|B#~C#^D##~UNT|3|1~UNZ|1|1~"
    ic = parse(data)[0]
    assert ic.una and ic.delimiters == Delimiters("^", "|", ",", "#", " ", "~")
    ftx = ic.messages[0].segments[1]
    assert ftx.get(3) == "A|B~C^D#"
    assert parse_decimal("12,5") == "12.5"


def test_newline_as_segment_terminator() -> None:
    data = b"UNA:+.? \nUNB+UNOA:3+A+B+240101:1200+1\r\nUNH+1+X:D:96A:UN\nFTX+AAA+++LINE?\nTWO\nUNT+3+1\nUNZ+1+1\n"
    (ic,) = parse(data)
    assert ic.delimiters.segment == "\n" and ic.header is not None and ic.header.get(4) == "1"
    assert ic.messages[0].segments[1].get(3) == "LINE\nTWO"  # a released terminator is data
    assert parse(serialize(ic)) == [ic]


def test_several_unas_with_different_separators_in_one_file() -> None:
    first = (
        b"UNA:+.? 'UNB+UNOA:3+A+B+240101:1200+1'UNH+1+X:D:96A:UN'FTX+AAA+++ONE'UNT+3+1'UNZ+1+1'\n"
    )
    second = (
        b"UNA^|.# ~UNB|UNOA^3|A|B|240101^1200|2~UNH|1|X^D^96A^UN~FTX|AAA|||T+W'O~UNT|3|1~UNZ|1|2~"
    )
    third = b"UNB+UNOA:3+A+B+240101:1200+3'UNH+1+Y:D:96A:UN'UNT+2+1'UNZ+1+3'"
    ics = parse(first + second + third)
    assert [ic.control_reference for ic in ics] == ["1", "2", "3"]
    assert ics[1].delimiters.element == "|" and ics[2].delimiters == Delimiters()
    assert ics[1].messages[0].segments[1].get(3) == "T+W'O"
    assert [m.type for ic in ics for m in ic.messages] == ["X", "X", "Y"]


def test_syntax4_repetition_default_and_una_space_disables_it() -> None:
    v4 = b"UNB+UNOA:4+A+B+20240101:1200+1'UNH+1+X:D:96A:UN'ATT+2++M*F'UNT+3+1'UNZ+1+1'"
    att = parse(v4)[0].messages[0].segments[1]
    assert att.get(2) == "M" and att.repetitions(2) == (("M",), ("F",))
    with_una = b"UNA:+.? '" + v4
    att = parse(with_una)[0].messages[0].segments[1]
    assert att.get(2) == "M*F" and att.repeats == ()


def test_repetition_default_follows_each_interchange_version() -> None:
    v3 = b"UNB+UNOA:3+A+B+240101:1200+%s'UNH+1+X:D:96A:UN'ATT+2++M*F'UNT+3+1'UNZ+1+%s'"
    v4 = v3.replace(b"UNOA:3", b"UNOA:4")
    ics = parse(v3 % (b"1", b"1") + v4 % (b"2", b"2") + v3 % (b"3", b"3"))
    atts = [ic.messages[0].segments[1] for ic in ics]
    assert [a.repetitions(2) for a in atts] == [(("M*F",),), (("M",), ("F",)), (("M*F",),)]
    assert [ic.delimiters.repetition for ic in ics] == [" ", "*", " "]


def test_level_b_information_separators() -> None:
    data = (
        b"UNB\x1dUNOB\x1f3\x1dA\x1dB\x1d240101\x1f1200\x1d1\x1c"
        b"UNH\x1d1\x1dX\x1fD\x1f96A\x1fUN\x1cFTX\x1dAAA\x1d\x1d\x1dit's a + b: ok?\x1c"
        b"UNT\x1d3\x1d1\x1cUNZ\x1d1\x1d1\x1c"
    )
    ic = parse(data)[0]
    assert ic.delimiters.segment == "\x1c" and ic.delimiters.active_release == ""
    assert ic.messages[0].segments[1].get(3) == "it's a + b: ok?"


@pytest.mark.parametrize(
    ("una", "code"),
    [(b"UNA::.? '", "20"), (b"UNA:+.?+'", "20"), (b"UNA:A.? '", "20")],
)
def test_invalid_una_is_an_error_with_position(una: bytes, code: str) -> None:
    with pytest.raises(EdifactError) as info:
        parse(una + SIMPLE)
    assert info.value.code == code and info.value.tag == "UNA" and info.value.offset == 0


def test_truncated_una() -> None:
    with pytest.raises(EdifactError) as info:
        parse(b"UNA:+")
    assert info.value.code in {"13", "22"} and info.value.where


# --- release character ------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"FTX+AAA+++A?+B?:C?'D??'", ("A+B:C'D?",)),
        (b"FTX+AAA+++END??'", ("END?",)),
        (b"FTX+AAA+++X???'Y'", ("X?'Y",)),
        (b"FTX+AAA+++ONE??:TWO'", ("ONE?", "TWO")),
        (b"FTX+AAA+++??", ("?",)),
    ],
)
def test_release_character(raw: bytes, expected: tuple[str, ...]) -> None:
    data = b"UNH+1+X:D:96A:UN'" + raw + (b"" if raw.endswith(b"'") else b"'") + b"UNT+3+1'"
    assert one(data)[1].element(3) == expected


# --- layout noise ----------------------------------------------------------


def test_bom_crlf_tabs_blank_lines_and_spaces() -> None:
    noisy = (
        b"\xef\xbb\xbf\r\n  UNB+UNOA:3+SND:ZZ+RCV:ZZ+240131:2359+REF1'\r\n\r\n"
        b"\tUNH+M1+CUSCAR:D:95B:UN'\r\n\t\tBGM+85 + DOC1 +9'  \r\n\n"
        b"UNT+3+M1'\r\nUNZ+1+REF1'\r\n\r\n"
    )
    clean, dirty = parse(SIMPLE)[0], parse(noisy)[0]
    assert [s.elements for s in dirty.messages[0].segments] == [
        s.elements for s in clean.messages[0].segments
    ]
    assert dirty.trailer is not None and dirty.warnings == []


def test_line_wrapped_segment_is_joined() -> None:
    segs = one(b"UNH+1+X:D:96A:UN'FTX+AAA+++A LONG TE\r\nXT'UNT+3+1'")
    assert segs[1].get(3) == "A LONG TEXT"


def test_missing_final_terminator_is_a_warning() -> None:
    (ic,) = parse(b"UNH+1+X:D:96A:UN'UNT+2+1")
    assert ic.messages[0].segments[-1].tag == "UNT"
    assert [(w.code, w.tag) for w in ic.warnings] == [("13", "UNT")]


# --- envelopes ---------------------------------------------------------------


def test_bare_messages_and_mixed_types() -> None:
    (ic,) = parse(b"UNH+1+IFTMIN:D:96A:UN'UNT+2+1'UNH+2+INVOIC:D:96A:UN:EAN008'BGM+380'UNT+3+2'")
    assert ic.header is None and ic.trailer is None
    assert [(m.reference, m.type, m.association) for m in ic.messages] == [
        ("1", "IFTMIN", ""),
        ("2", "INVOIC", "EAN008"),
    ]
    assert ic.messages[1].directory == "D96A"


def test_groups() -> None:
    data = (
        b"UNB+UNOA:4+A+B+20240101:1200+9'UNG+CUSCAR+A+B+20240101:1200+G1+UN+D:95B'"
        b"UNH+1+CUSCAR:D:95B:UN'UNT+2+1'UNH+2+CUSCAR:D:95B:UN'UNT+2+2'UNE+2+G1'"
        b"UNG+PAXLST+A+B+20240101:1200+G2+UN+D:03B'UNH+3+PAXLST:D:03B:UN'UNT+2+3'UNE+1+G2'UNZ+2+9'"
    )
    ic = parse(data)[0]
    assert [(g.reference, g.message_type, g.message_count, len(g.messages)) for g in ic.groups] == [
        ("G1", "CUSCAR", 2, 2),
        ("G2", "PAXLST", 1, 1),
    ]
    assert [m.group_reference for m in ic.messages] == ["G1", "G1", "G2"]
    assert serialize(ic) == data


def test_new_unb_closes_an_interchange_without_unz() -> None:
    ics = parse(
        b"UNB+UNOA:3+A+B+240101:1200+1'UNB+UNOA:3+A+B+240101:1200+2'UNH+1+X:D:96A:UN'UNT+2+1'UNZ+1+2'"
    )
    assert [(ic.control_reference, ic.trailer is None, len(ic.messages)) for ic in ics] == [
        ("1", True, 0),
        ("2", False, 1),
    ]


@pytest.mark.parametrize(
    ("data", "code", "tag", "segment"),
    [
        (b"", "13", "", None),
        (b"  \r\n ", "13", "", None),
        (b"hello world", "12", "", 1),
        (b"UNB+UNOA:3+A+B+240101:1200+1'BGM+85'UNZ+0+1'", "33", "BGM", 2),
        (b"UNH+1+X:D:96A:UN'BGM+85'UNH+2+X:D:96A:UN'UNT+2+2'", "13", "UNT", 3),
        (b"UNH+1+X:D:96A:UN'BGM+85'", "13", "UNT", 2),
        (b"UNT+2+1'", "33", "UNT", 1),
        (b"UNZ+0+1'", "33", "UNZ", 1),
        (b"UNB+UNOA:3+A+B+240101:1200+1'UNE+0+1'", "33", "UNE", 2),
        (b"UNH+1+X:D:96A:UN'bgm+85'UNT+3+1'", "12", "", 2),
    ],
)
def test_fatal_errors_have_code_and_position(
    data: bytes, code: str, tag: str, segment: int | None
) -> None:
    with pytest.raises(EdifactError) as info:
        parse(data)
    err = info.value
    assert (err.code, err.tag, err.segment) == (code, tag, segment)
    assert err.segment is not None or err.offset is not None
    assert err.where != ""


def test_no_terminator_at_all_is_bounded() -> None:
    data = b"UNH+1+X:D:96A:UN+" + b"A" * (MAX_SEGMENT_BYTES + 10)
    with pytest.raises(EdifactError) as info:
        parse(data)
    assert info.value.code == "22" and info.value.offset == 0


def test_error_position_of_bad_tag_is_a_byte_offset() -> None:
    data = b"UNH+1+X:D:96A:UN'\nBGM+85'\n12X+1'UNT+4+1'"
    with pytest.raises(EdifactError) as info:
        parse(data)
    assert info.value.segment == 3 and info.value.offset == data.index(b"\n12X") + 1


# --- character sets -------------------------------------------------------------


def test_unoa_lower_case_warns_by_default_and_rejects_on_request() -> None:
    data = SIMPLE.replace(b"BGM+85+DOC1", b"BGM+85+doc1")
    (ic,) = parse(data)
    (warning,) = ic.warnings
    assert (warning.code, warning.segment, warning.tag) == ("21", 3, "BGM")
    assert warning.offset == data.index(b"doc1")
    assert ic.messages[0].segments[1].get(1) == "doc1"
    with pytest.raises(EdifactError) as info:
        parse(data, charset_policy=CharsetPolicy.REJECT)
    assert info.value.code == "21" and info.value.segment == 3


def test_unoa_accepts_its_punctuation_and_una_separators() -> None:
    text = "UNA:|.? 'UNB|UNOA:3|A|B|240101:1200|1'UNH|1|X:D:96A:UN'FTX|AAA|||(A-Z) 0/9 =.,!%&*;<>\"'UNT|3|1'UNZ|1|1'"
    (ic,) = parse(text.encode(), charset_policy=CharsetPolicy.REJECT)
    assert ic.warnings == []


def test_unob_with_latin1_byte() -> None:
    data = SIMPLE.replace(b"UNOA", b"UNOB").replace(b"DOC1", b"Hauptstra\xdfe")
    (ic,) = parse(data)
    assert ic.messages[0].segments[1].get(1) == "Hauptstraße"
    assert [w.code for w in ic.warnings] == ["21"]


def test_unoc_latin1_is_clean_and_utf8_is_detected() -> None:
    latin1 = SIMPLE.replace(b"UNOA", b"UNOC").replace(b"DOC1", "Café Zoë".encode("latin-1"))
    (ic,) = parse(latin1, charset_policy=CharsetPolicy.REJECT)
    assert ic.messages[0].segments[1].get(1) == "Café Zoë" and ic.warnings == []
    (ic,) = parse(
        latin1.replace(b"'", b"'\r\n"), charset_policy=CharsetPolicy.REJECT
    )  # layout is no control
    assert ic.messages[0].segments[1].get(1) == "Café Zoë" and ic.warnings == []
    utf8 = SIMPLE.replace(b"UNOA", b"UNOC").replace(b"DOC1", "Café Zoë".encode())
    (ic,) = parse(utf8)
    assert ic.messages[0].segments[1].get(1) == "Café Zoë"
    assert "UTF-8" in ic.warnings[0].sentence


def test_other_iso8859_sets() -> None:
    polish = SIMPLE.replace(b"UNOA", b"UNOD").replace(b"DOC1", "ŁÓDŹ".encode("iso8859-2"))
    assert (
        parse(polish, charset_policy=CharsetPolicy.REJECT)[0].messages[0].segments[1].get(1)
        == "ŁÓDŹ"
    )
    greek = SIMPLE.replace(b"UNOA", b"UNOF").replace(b"DOC1", "ΠΕΙΡΑΙΑΣ".encode("iso8859-7"))
    assert parse(greek)[0].messages[0].segments[1].get(1) == "ΠΕΙΡΑΙΑΣ"


def test_unow_arabic_round_trip() -> None:
    arabic = "ميناء الإسكندرية: حاوية 40 قدم + تبريد"
    ic = build_interchange(
        [
            (
                "1",
                "CUSCAR",
                "D",
                "95B",
                "UN",
                [Segment("FTX", (("AAA",), ("",), ("",), (arabic, "سطر ثان")))],
            )
        ],
        sender="SND",
        recipient="RCV",
        reference="1",
        syntax_id="UNOW",
        syntax_version=4,
    )
    data = serialize(ic)
    assert arabic.replace("+", "?+").replace(":", "?:").encode() in data
    back = parse(data, charset_policy=CharsetPolicy.REJECT)[0]
    assert back == ic
    assert back.messages[0].segments[1].element(3) == (arabic, "سطر ثان")
    assert serialize(back) == data


def test_unow_with_invalid_utf8() -> None:
    data = SIMPLE.replace(b"UNOA", b"UNOW").replace(b"DOC1", b"BAD\xff")
    (ic,) = parse(data)
    assert ic.messages[0].segments[1].get(1) == "BAD\xff" and ic.warnings[0].code == "21"
    with pytest.raises(EdifactError):
        parse(data, charset_policy=CharsetPolicy.REJECT)


def test_charset_is_per_interchange() -> None:
    a = SIMPLE.replace(b"DOC1", b"doc")  # UNOA with lower case: a warning
    c = SIMPLE.replace(b"UNOA", b"UNOC").replace(b"DOC1", "é".encode("latin-1"))  # clean UNOC
    ics = parse(a + b"\n" + c)
    assert [len(ic.warnings) for ic in ics] == [1, 0]
    assert ics[1].messages[0].segments[1].get(1) == "é"


# --- serializer ---------------------------------------------------------------------


def test_serialize_segment_escapes_and_trims() -> None:
    d = Delimiters()
    assert (
        serialize_segment("FTX", [["AAA"], [], [""], ["A+B:C'D?E", ""]], d)
        == "FTX+AAA+++A?+B?:C?'D??E'"
    )
    v4 = Delimiters.default(4)
    assert serialize_segment("ATT", [["2"], [""], ["M*F"]], v4) == "ATT+2++M?*F'"
    assert (
        serialize_segment("ATT", [["2"], [""], ["M"]], v4, repeats=[(2, [["M"], ["F"]])])
        == "ATT+2++M*F'"
    )


def test_serialize_recounts_trailers() -> None:
    wrong = b"UNB+UNOA:3+A+B+240101:1200+1'UNH+1+X:D:96A:UN'BGM+85'UNT+9+7'UNZ+5+2'"
    fixed = serialize(parse(wrong))
    assert fixed == b"UNB+UNOA:3+A+B+240101:1200+1'UNH+1+X:D:96A:UN'BGM+85'UNT+3+1'UNZ+1+1'"
    assert serialize(parse(wrong), recount=False) == wrong


def test_serialize_refuses_characters_outside_the_set() -> None:
    ic = parse(SIMPLE.replace(b"UNOA", b"UNOC").replace(b"DOC1", b"X"))[0]
    ic.syntax_id = "UNOA"
    ok = serialize(ic)
    assert b"UNOC" in ok  # the header segment is written as parsed
    bad = build_interchange(
        [("1", "X", "D", "96A", "UN", [Segment("FTX", (("AAA",), ("",), ("",), ("ميناء",)))])],
        sender="A",
        recipient="B",
        reference="1",
    )
    with pytest.raises(EdifactError) as info:
        serialize(bad)
    assert info.value.code == "21"


@pytest.mark.parametrize("newline", ["", "\n", "\r\n"])
def test_serialize_parse_round_trip_with_layout(newline: str) -> None:
    ics = parse(
        SIMPLE
        + b"UNA:+.? 'UNB+UNOC:4+A+B+20240101:1200+2'UNH+1+X:D:96A:UN'ATT+2++M*F'UNT+3+1'UNZ+1+2'"
    )
    assert parse(serialize(ics, newline=newline)) == ics


# --- streaming ---------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 9, 64, 1 << 16])
def test_streaming_matches_parse_for_any_chunk_size(chunk_size: int) -> None:
    data = (
        b"\xef\xbb\xbfUNA:+.? 'UNB+UNOA:3+A+B+240101:1200+1'\r\nUNH+1+X:D:96A:UN'FTX+AAA+++A?'B??'UNT+3+1'UNZ+1+1'\n"
        b"UNA^|.# ~UNB|UNOC^4|A|B|20240101^1200|2~UNH|1|X^D^96A^UN~ATT|2||M*F~FTX|AAA|||"
        + "Zoë".encode("latin-1")
        + b"~UNT|4|1~UNZ|1|2~"
        b"UNB+UNOA:3+A+B+240101:1200+3'UNH+1+Y:D:96A:UN'UNT+2+1'UNZ+1+3'"
    )
    whole = parse(data)
    streamed = [
        (ic.control_reference, msg)
        for ic, msg in iter_messages(io.BytesIO(data), chunk_size=chunk_size)
    ]
    assert streamed == [(ic.control_reference, m) for ic in whole for m in ic.messages]
    segments = list(iter_interchange_segments(data, chunk_size=chunk_size))
    first, second, third = ["FTX"], ["ATT", "FTX"], []
    tags = [t for body in (first, second, third) for t in ("UNB", "UNH", *body, "UNT", "UNZ")]
    assert [s.tag for s in segments] == tags
    ends = [
        (ic.control_reference, ic.message_count, ic.trailer is not None)
        for ic, m in iter_envelope_events(data)
        if m is None
    ]
    assert ends == [("1", 1, True), ("2", 1, True), ("3", 1, True)]


def _generated(messages: int) -> Iterator[bytes]:
    """A big interchange produced lazily, never held in memory at once."""
    yield b"UNB+UNOA:3+A+B+240101:1200+1'\n"
    for n in range(messages):
        body = b"".join(
            b"NAD+CZ++SHIPPER %d LTD+STREET %d+CITY++12345+NL'\n" % (n, i) for i in range(20)
        )
        yield b"UNH+%d+CUSCAR:D:95B:UN'\n" % n + body + b"UNT+22+%d'\n" % n
    yield b"UNZ+%d+1'\n" % messages


def test_streaming_memory_is_bounded() -> None:
    messages = 600  # about 0.7 MB of input
    size = sum(len(chunk) for chunk in _generated(messages))
    tracemalloc.start()
    try:
        count = 0
        for ic, msg in iter_messages(_generated(messages), chunk_size=1 << 14):
            count += 1
            assert len(msg.segments) == 22 and ic.messages == []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == messages
    assert peak < size / 4, (peak, size)  # bounded by a chunk and a message, not the input


def test_streaming_errors_carry_positions() -> None:
    with pytest.raises(EdifactError) as info:
        list(iter_messages(io.BytesIO(b"UNH+1+X:D:96A:UN'BGM+85'"), chunk_size=4))
    assert info.value.tag == "UNT" and info.value.segment == 2


def test_repetition_of_a_syntax_4_unb_with_an_unknown_character_set() -> None:
    """A syntax 4 UNB switches '*' on even when the buffer is not cut again (differential fuzzing)."""
    data = b"UNB+UNXX:4+A+B+20240101:1200+1'UNH+1+X:D:96A:UN'ATT+2++M*F'UNT+3+1'UNZ+1+1'"
    for _ in range(2):  # the second time ATT is a known tag and takes the fast path
        att = parse(data)[0].messages[0].segments[1]
        assert att.repetitions(2) == (("M",), ("F",))


@pytest.mark.parametrize("before", [b"", b"\n", b"UNA:+.? '\n"])
def test_layout_after_a_released_terminator_is_dropped_wherever_the_buffer_starts(
    before: bytes,
) -> None:
    """``?'`` then a newline: the newline is inside the segment, so it is layout and dropped."""
    data = (
        before
        + b"UNB+UNOA:3+A+B+240101:1200+1'UNH+1+X:D:96A:UN'FTX+AAA+++50?'\nPCS'UNT+3+1'UNZ+1+1'"
    )
    assert parse(data)[0].messages[0].segments[1].get(3) == "50'PCS"
