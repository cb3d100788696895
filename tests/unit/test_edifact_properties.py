"""Hypothesis properties of the EDIFACT engine.

* Round trip: for any interchange built from arbitrary values, separators,
  syntax versions and character sets, ``parse(serialize(x)) == x``.
* Robustness: any bytes (random, or real samples mutated) give either a result
  or an :class:`EdifactError` with a position, never another exception; and
  ``acknowledge`` + ``encode`` always produce a CONTRL that parses again.

Example counts are bounded so the whole file runs well under a minute.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.contrl import acknowledge, encode
from adapters.edifact import (
    Delimiters,
    EdifactError,
    Interchange,
    Segment,
    build_interchange,
    parse,
    serialize,
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CORPUS = sorted((Path(__file__).resolve().parents[1] / "data" / "edifact").glob("*.edi"))
WHEN = dt.datetime(2024, 2, 29, 23, 59)

# Separator sets to draw from; each is valid for the syntax versions listed.
DELIMITERS: list[tuple[Delimiters, tuple[int, ...]]] = [
    (Delimiters(), (1, 2, 3)),
    (Delimiters.default(4), (4,)),
    (Delimiters(":", "+", ".", "?", " ", "'"), (4,)),  # a UNA that switches repetition off
    (Delimiters("^", "|", ",", "#", " ", "~"), (3,)),
    (Delimiters("^", "|", ",", "#", "!", "~"), (4,)),
    (Delimiters.level_b(3), (3,)),  # no release character: values must avoid separators
]

UNOA = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-()/='+:?!\"%&*;<>"
# Latin-1 letters from U+00C0: together with ASCII they never form valid UTF-8.
UNOC = UNOA + "abcdefghijklmnopqrstuvwxyz@#[]_{}|~" + "".join(map(chr, range(0xC0, 0x100)))
GREEK = "".join(map(chr, range(0x391, 0x3A9)))
UNOW = UNOC + "ميناءالإسكندريةحاويةتبريد" + "港口集装箱" + "ŁÓDŹ" + GREEK
CHARSETS = {"UNOA": UNOA, "UNOC": UNOC, "UNOW": UNOW}


@st.composite
def interchanges(draw: st.DrawFn) -> Interchange:
    d, versions = draw(st.sampled_from(DELIMITERS))
    version = draw(st.sampled_from(versions))
    syntax_id = draw(st.sampled_from(sorted(CHARSETS)))
    alphabet = CHARSETS[syntax_id]
    if not d.active_release:  # nothing can be released: separators may not occur in data
        alphabet = "".join(
            ch for ch in alphabet if ch not in {d.component, d.element, d.segment, d.repetition}
        )
    # Spaces next to separators are layout noise (dropped on parse), so values
    # start and end with a non-space character.
    value = st.text(alphabet=alphabet, max_size=12).filter(lambda v: v == v.strip(" "))
    component_lists = st.lists(value, min_size=1, max_size=4).map(tuple)

    @st.composite
    def segments(draw_seg: st.DrawFn) -> Segment:
        tag = draw_seg(st.from_regex(r"[A-TV-Z][A-Z0-9]{2}", fullmatch=True))
        elements = draw_seg(st.lists(component_lists, max_size=5))
        repeats: list[tuple[int, tuple[tuple[str, ...], ...]]] = []
        if d.active_repetition and elements:
            for idx in sorted(draw_seg(st.sets(st.integers(0, len(elements) - 1), max_size=2))):
                more = draw_seg(st.lists(component_lists, min_size=1, max_size=2))
                occurrences = (elements[idx], *more)
                repeats.append((idx, occurrences))
        return Segment(tag, tuple(elements), 0, tuple(repeats))

    reference = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=8)
    messages = draw(
        st.lists(
            st.tuples(
                reference,
                st.sampled_from(["CUSCAR", "CUSRES", "PAXLST", "APERAK"]),
                st.just("D"),
                st.sampled_from(["95B", "96A", "03B"]),
                st.just("UN"),
                st.lists(segments(), max_size=6),
            ),
            max_size=3,
        )
    )
    return build_interchange(
        messages,
        sender=draw(reference),
        recipient=draw(reference),
        reference=draw(reference),
        syntax_id=syntax_id,
        syntax_version=version,
        when=WHEN,
        delimiters=d,
    )


@FAST
@given(interchanges(), st.sampled_from(["", "\n", "\r\n"]))
def test_parse_serialize_round_trip(ic: Interchange, newline: str) -> None:
    data = serialize(ic, newline=newline)
    (back,) = parse(data)
    assert back == ic
    assert serialize(back, newline=newline) == data


def _check_any_input(data: bytes) -> None:
    try:
        ics = parse(data)
    except EdifactError as exc:
        assert exc.code and exc.sentence
        assert exc.segment is not None or exc.offset is not None, exc
    else:
        assert ics and all(isinstance(ic, Interchange) for ic in ics)
    report = acknowledge(data)  # never raises
    assert report.action in {"4", "7"}
    contrl = encode(report, now=WHEN)
    (answer,) = parse(contrl)
    assert answer.messages and all(m.type == "CONTRL" for m in answer.messages)
    assert all(m.segments[-1].get(0) == str(len(m.segments)) for m in answer.messages)


@FAST
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    _check_any_input(data)


EDI_ALPHABET = "UNABHTZGEXCR+:'?*| \r\n\t0123456789\ufeff"


@FAST
@given(st.text(alphabet=EDI_ALPHABET, max_size=300))
def test_random_edifact_like_text(text: str) -> None:
    _check_any_input(text.encode("utf-8"))


MUTATION = st.tuples(
    st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate"]),
    st.floats(0, 1, exclude_max=True),
    st.sampled_from(
        [
            b"'",
            b"+",
            b":",
            b"?",
            b"*",
            b"\r\n",
            b"\xef\xbb\xbf",
            b"UNA:+.? '",
            b"UNB+",
            b"\xff",
            b"\x00",
        ]
    ),
)


def mutate(seed: bytes, mutations: list[tuple[str, float, bytes]]) -> bytes:
    """``seed`` with the ``MUTATION`` edits applied in order."""
    data = bytearray(seed)
    for op, where, blob in mutations:
        at = int(where * len(data)) if data else 0
        if op == "flip" and data:
            data[at] ^= 0x20
        elif op == "insert":
            data[at:at] = blob
        elif op == "delete":
            del data[at : at + len(blob)]
        elif op == "truncate":
            del data[at:]
        elif op == "duplicate":
            data[at:at] = data[at : at + 40]
    return bytes(data)


@FAST
@given(st.sampled_from(CORPUS), st.lists(MUTATION, min_size=1, max_size=5))
def test_mutated_corpus_files(path: Path, mutations: list[tuple[str, float, bytes]]) -> None:
    _check_any_input(mutate(path.read_bytes(), mutations))
