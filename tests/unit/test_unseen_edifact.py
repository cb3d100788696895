"""Standard EDIFACT inputs unlike our samples (tests/data/unseen, see its README.md).

Each file was written by hand from ISO 9735 and the UN/EDIFACT directories, not taken from
a partner; each is read as the running gateway reads APCS's messages (``contrl_of``: the
CONTRL it sends, the documents it routes), and every CONTRL must parse with pydifact and
pass our own envelope checks and directory validator (``assert_valid_contrl``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.edifact import Segment, parse
from gateway.config import load
from gateway.service.pipeline import Translation, contrl_of
from tests.helpers import assert_valid_contrl

DATA = Path(__file__).resolve().parent.parent / "data" / "unseen"
SETTINGS = load(env={})
APCS = SETTINGS.partners["apcs"]


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def answered(data: bytes) -> tuple[Translation, list[Segment]]:
    """What the gateway makes of ``data`` from APCS, and its CONTRL's segments (checked valid)."""
    translation, write = contrl_of(data, APCS, SETTINGS.interchange_id)
    assert write is not None
    contrl = write("1")
    assert_valid_contrl(contrl)
    [ic] = parse(contrl)
    return translation, [s for m in ic.messages for s in m.segments]


def tagged(segments: list[Segment], tag: str) -> list[Segment]:
    return [s for s in segments if s.tag == tag]


# ---------------------------------------------------------------- control counts (UNT, UNE, UNZ)


@pytest.mark.parametrize(
    ("name", "documents"),
    [
        # UNT+000042, UNT+0042 and UNZ+02: numbers with leading zeros (a representation ISO 9735
        # discourages, not another value) were "UNT counts 000042 segments but message has 42"
        ("counts-leading-zeros.edi", ["MAN-UX-0001", "MAN-UX-0002"]),
        ("counts-group-leading-zeros.edi", ["MAN-UX-0003"]),
    ],
)
def test_a_count_with_leading_zeros_is_that_number(name: str, documents: list[str]) -> None:
    translation, contrl = answered(read(name))
    assert translation.rejection is None and not translation.rejected_messages
    assert [d.header.business_reference for d in translation.documents] == documents
    assert [s.get(3) for s in tagged(contrl, "UCI")] == ["7"]
    assert {s.get(2) for s in tagged(contrl, "UCM")} == {"7"}
    assert len(tagged(contrl, "UCM")) == len(documents)


@pytest.mark.parametrize(
    ("name", "tag", "code", "s011", "words"),
    [
        # each: one message's trailer is wrong, the next message is fine and still routed
        ("counts-unt-not-numeric.edi", "UCM", "37", "2", "control count '4X' is not a number"),
        ("counts-unt-empty.edi", "UCM", "13", "2", "UNT has no control count"),
        ("counts-unt-no-reference.edi", "UCM", "13", "3", "UNT has no reference"),
    ],
)
def test_a_message_trailer_missing_or_not_numeric_says_so(
    name: str, tag: str, code: str, s011: str, words: str
) -> None:
    """ISO 9735-5 code 13 (missing) and 37 (invalid type of characters), not 29 ("control
    count does not match") or 28 ("references do not match") for what is not a count or
    not there."""
    translation, contrl = answered(read(name))
    first, second = tagged(contrl, tag)
    assert (first.get(2), first.get(3), first.get(4), first.get(5)) == ("4", code, "UNT", s011)
    assert second.get(2) == "7"
    [refused] = translation.rejected_messages
    assert refused.syntax and refused.head.reference == "1"
    assert words in refused.rejection.sentence
    assert len(translation.documents) == 1


@pytest.mark.parametrize(
    ("name", "tag", "expected", "words"),
    [
        ("counts-unz-not-numeric.edi", "UCI", ("4", "37", "UNZ"), "UNZ's control count 'I'"),
        ("counts-une-empty.edi", "UCF", ("4", "13", "UNE"), "UNE has no control count"),
    ],
)
def test_an_envelope_trailer_missing_or_not_numeric_says_so(
    name: str, tag: str, expected: tuple[str, str, str], words: str
) -> None:
    """UCI and UCF: action (0083), the error (0085) and the tag it is in."""
    translation, contrl = answered(read(name))
    assert [s.get(3) for s in tagged(contrl, "UCI")] == ["4"]
    [level] = tagged(contrl, tag)
    assert (level.get(3), level.get(4), level.get(5)) == expected
    assert translation.rejection is not None and not translation.documents
    assert words in translation.rejection.sentence
