"""The fast directory validation gives exactly the findings of the original one.

``directory_reference`` keeps the implementation from before issue #8 (a greedy placement
with look-ahead costing, element checks interpreted per segment) as the oracle. Every finding
(severity, code, message reference, segment number, tag, element, component and sentence)
must be the same, on:

- every message of the shared corpus, ``tests/data`` and ``samples/apcs``, and a generated
  40-bill manifest (``bench/gen_cuscar.py``), with and without directory and type overrides;
- mutations of them: segments dropped, duplicated (once, or in runs and blocks around the
  maxima), swapped or moved, tags and values changed, empty components and elements
  appended, syntax 4 repetitions added; and a group repeated past its maximum of 9,999.
  A fixed seeded set of mutations must reach every kind of finding (so the comparison is
  never one of two empty lists); hypothesis explores more.

The incremental validator (``MessageValidator``: ``feed`` a segment at a time, then
``finish``; issue #8) is held to ``validate_message`` on all of them too, with batches of
its default size and of 1, 2, 3 and 7 segments (so that batches end everywhere, before,
inside and beyond the look-ahead's reach), its window checked to stay that small;
``test_directory_incremental`` adds a large manifest and messages without UNH or UNT.

The compiled element predicates are also checked on their own, against the interpreter
(``_ElementChecker``), on random segments for every segment definition of the tables.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.edifact import EdifactError, Message, Segment, parse
from adapters.edifact import directory as directory_module
from adapters.edifact.directory import (
    _BATCH,
    _LOOKAHEAD,
    DirectoryIssue,
    MessageValidator,
    available_directories,
    validate_message,
)
from adapters.edifact.directory_elements import _compile_segment, _ElementChecker
from adapters.edifact.directory_issues import _Reporter
from adapters.edifact.directory_tables import _ElementDef, _table
from bench.gen_cuscar import generate
from tests.corpus import CORPUS as SHARED_CORPUS
from tests.unit import directory_reference

REPO = Path(__file__).resolve().parents[2]
CORPUS = SHARED_CORPUS / "edifact"  # ../shared/corpus, or $EDIGW_CORPUS


def input_files() -> list[Path]:
    """The corpus (when present; its licensed copies are in tests/data too) and our samples."""
    files = sorted(CORPUS.glob("*.edi")) if CORPUS.is_dir() else []
    files += sorted((REPO / "tests" / "data").rglob("*.edi"))
    files += sorted((REPO / "samples" / "apcs").glob("*.edi"))
    return files


def messages_of(data: bytes) -> list[Message]:
    try:
        return [m for ic in parse(data) for m in ic.messages]
    except EdifactError:  # not parseable at all: nothing for the directory to see
        return []


BASES: list[tuple[str, Message]] = [
    (f"{path.name}#{n}", msg)
    for path in input_files()
    for n, msg in enumerate(messages_of(path.read_bytes()), start=1)
]
BASES += [(f"gen_cuscar#{n}", m) for n, m in enumerate(messages_of(generate(40)), start=1)]
# The only D.95B elements of fixed length (n3, n4, an4) are in TMP and DGS.
BASES += [
    (
        "tmp_dgs",
        messages_of(
            b"UNH+1+CUSCAR:D:95B:UN'BGM+85+M+9'EQD+CN+C1'TMP+2+-05:CEL'CNI+1'RFF+BM:B'"
            b"GID+1'DGS+IMD+3:1+061:CEL+++++++T1:0007'UNT+10+1'"
        )[0],
    )
]

DIRECTORIES = [None, "D95B", "D24A", "service_v3", "service_v4", "D96A", "D03B", "1:921"]
TYPES = [None, "CUSCAR", "PAXLST", "CONTRL", "APERAK", "CUSRES", "BAPLIE", "INVOIC", ""]
TAGS = sorted({s.tag for _, m in BASES for s in m.segments} | {"XYZ", "UNS", "ZZZ"})
# Values that hit the element checks' edges: empty, code-like, signs and decimal marks,
# non-ASCII digits (\d and str.isdigit differ on them), lengths around 3, 17, 35 and 70.
VALUES = [
    "",
    "6",
    "9",
    "85",
    "ZZ",
    "CN",
    "1",
    "-1.5",
    "1,0",
    ".5",
    "12.",
    "-",
    "1-2",
    "\u0663\u0664",  # ARABIC-INDIC DIGITS THREE FOUR: decimal digits
    "\u00b2",  # SUPERSCRIPT TWO: a digit for str.isdigit, not for \d
    "A1",
    "ABC",
    "X" * 17,
    "9" * 18,
    "Y" * 35,
    "Z" * 36,
    "1" * 70,
    "M\u00dcLLER",
]


def mutate(base: Message, rng: random.Random) -> Message:
    """``base`` after one to six random edits, segments renumbered from UNH's number."""
    segments = list(base.segments)
    for _ in range(rng.randint(1, 6)):
        if not segments:
            break
        op = rng.choice(
            [
                "drop",
                "duplicate",
                "run",
                "block",
                "swap",
                "move",
                "value",
                "value",
                "tag",
                "repeat",
                "pad",
            ]
        )
        i = rng.randrange(len(segments))
        seg = segments[i]
        if op == "drop":
            del segments[i]
        elif op == "duplicate":
            segments.insert(i, seg)
        elif op == "run":  # around the maxima (1, 9, 99): where the match state is clamped
            segments[i:i] = [seg] * rng.randint(2, 11)
        elif op == "block":  # a run of segments repeated: groups around their maxima
            block = segments[i : i + rng.randint(2, 6)]
            segments[i:i] = block * rng.randint(2, 10)
        elif op == "swap":
            j = rng.randrange(len(segments))
            segments[i], segments[j] = segments[j], seg
        elif op == "move":
            del segments[i]
            segments.insert(rng.randrange(len(segments) + 1), seg)
        elif op == "pad" and seg.elements:  # empty trailing components or elements
            elements = list(seg.elements)
            index = rng.randrange(len(elements))
            elements[index] = (*elements[index], "")
            if rng.random() < 0.3:
                elements.append(("",))
            segments[i] = Segment(seg.tag, tuple(elements), seg.number, seg.repeats)
        elif op == "tag":
            segments[i] = Segment(rng.choice(TAGS), seg.elements, seg.number, seg.repeats)
        else:
            elements = list(seg.elements)
            index = rng.randrange(len(elements) + 2)
            elements += [()] * (index + 1 - len(elements))
            components = list(elements[index])
            component = rng.randrange(len(components) + 2)
            components += [""] * (component + 1 - len(components))
            components[component] = rng.choice(VALUES)
            if op == "value":
                elements[index] = tuple(components)
                segments[i] = Segment(seg.tag, tuple(elements), seg.number, seg.repeats)
            else:  # a syntax 4 repetition of the element, the second occurrence edited
                repeats = ((index, (elements[index], tuple(components))),)
                segments[i] = Segment(seg.tag, tuple(elements), seg.number, repeats)
    first = base.segments[0].number if base.segments else 1
    renumbered = [Segment(s.tag, s.elements, first + n, s.repeats) for n, s in enumerate(segments)]
    return dataclasses.replace(base, segments=renumbered)


# Batch sizes of the incremental validator tried on every message.
BATCHES = (_BATCH, 1, 2, 3, 7)


def fed_in(
    batch: int, message: Message, directory: str | None, message_type: str | None
) -> list[DirectoryIssue]:
    """The incremental validator's issues with batches of ``batch``, its window kept small."""
    vars(directory_module)["_BATCH"] = batch
    try:
        validator = MessageValidator(message, directory=directory, message_type=message_type)
        for segment in message.segments:
            validator.feed(segment)
            assert len(validator._window) < batch + _LOOKAHEAD
        return validator.finish()
    finally:
        vars(directory_module)["_BATCH"] = _BATCH


def fed(message: Message, directory: str | None, message_type: str | None) -> list[DirectoryIssue]:
    """The incremental validator's issues with every batch size of ``BATCHES``, all equal."""
    first, *others = (fed_in(batch, message, directory, message_type) for batch in BATCHES)
    for issues in others:
        assert issues == first
    return first


def both(message: Message, directory: str | None, message_type: str | None) -> list[DirectoryIssue]:
    """The findings of the fast implementation, asserted equal to the reference's and to
    the incremental validator's."""
    fast = validate_message(message, directory=directory, message_type=message_type)
    slow = directory_reference.validate_message(
        message, directory=directory, message_type=message_type
    )
    assert fast == slow
    assert fed(message, directory, message_type) == fast
    return fast


def test_inputs_are_found() -> None:
    names = {name.split("#")[0] for name, _ in BASES}
    assert len(BASES) >= 30
    assert {"01-cuscar-msc-algiers.edi", "valid.edi", "ferry_vehicles.edi"} <= names


@pytest.mark.parametrize("name, message", BASES, ids=[name for name, _ in BASES])
def test_inputs_as_they_are(name: str, message: Message) -> None:
    for directory in DIRECTORIES:
        for message_type in (None, "CUSCAR", "PAXLST"):
            both(message, directory, message_type)


def test_seeded_mutations_reach_every_finding() -> None:
    rng = random.Random(8)
    found: Counter[str] = Counter()
    for _ in range(2000):
        _, base = rng.choice(BASES)
        message = mutate(base, rng)
        issues = both(message, rng.choice(DIRECTORIES[:4]), rng.choice(TYPES[:3]))
        found.update(issue.code for issue in issues)
    assert set(found) >= {"12", "13", "14", "15", "16", "35", "36", "37", "39", "40"}


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([m for _, m in BASES]),
    st.randoms(use_true_random=False),
    st.sampled_from(DIRECTORIES),
    st.sampled_from(TYPES),
)
def test_hypothesis_mutations(
    base: Message, rng: random.Random, directory: str | None, message_type: str | None
) -> None:
    both(mutate(base, rng), directory, message_type)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(TAGS), st.lists(st.sampled_from(VALUES), max_size=5))))
def test_arbitrary_segment_sequences(body: list[tuple[str, list[str]]]) -> None:
    segments = [Segment("UNH", (("1",), ("CUSCAR", "D", "95B", "UN")), 1)]
    segments += [
        Segment(tag, tuple((v,) for v in values), n) for n, (tag, values) in enumerate(body, 2)
    ]
    segments.append(Segment("UNT", ((str(len(body) + 2),), ("1",)), len(body) + 2))
    message = Message("1", "CUSCAR", "D", "95B", "UN", "", segments)
    both(message, None, None)


def test_group_repeated_past_a_large_maximum() -> None:
    # The fast match keeps distances to a maximum clamped (docs/directory.md): 10,000 CUSCAR
    # consignments (SG4, at most 9,999) take it from "far" to "reached" to "exceeded".
    body = [Segment("BGM", (("85",), ("M",), ("9",)), 2)]
    for n in range(10_000):
        body += [Segment("CNI", ((str(n),),), 0), Segment("RFF", (("BM", "B"),), 0)]
        body.append(Segment("GID", (("1",),), 0))
    segments = [Segment("UNH", (("1",), ("CUSCAR", "D", "95B", "UN")), 1), *body]
    segments.append(Segment("UNT", ((str(len(segments) + 1),), ("1",)), 0))
    numbered = [Segment(s.tag, s.elements, n, s.repeats) for n, s in enumerate(segments, 1)]
    message = Message("1", "CUSCAR", "D", "95B", "UN", "", numbered)
    issues = both(message, None, None)
    assert [(i.code, i.segment_number) for i in issues] == [("36", 2 + 3 * 9_999 + 1)]


# --------------------------------------------------------------------------- predicates

DEFINITIONS = [
    (f"{name} {tag}", definition, codes)
    for name in available_directories()
    if (table := _table(name)) is not None
    for tag, definition in sorted(table.segments.items())
    for codes in ({}, table.codes)
]


LISTS = {ident: codes for _, _, lists in DEFINITIONS for ident, codes in lists.items()}
# The tables have no element of unknown format (kept as "an", no length limit) today, but the
# compiler handles one: a made-up definition with such elements, simple and in a composite.
_UNKNOWN_FORMAT = _ElementDef("9999", False)
DEFINITIONS.append(
    (
        "made-up",
        (
            _UNKNOWN_FORMAT,
            _ElementDef(
                "C999",
                True,
                components=(
                    _UNKNOWN_FORMAT,
                    _ElementDef("3055", False),
                    _ElementDef("1001", False, "an", 3),
                ),
            ),
        ),
        LISTS,
    )
)
FLAWS = ["value", "bound", "empty", "kind", "agency", "component", "element", "drop"]


def fitting(component: _ElementDef, rng: random.Random) -> str:
    """A value with the right characters and length: a listed code half the time."""
    listed = sorted(LISTS.get(component.ident, ()))
    if listed and rng.random() < 0.5:
        return rng.choice(listed)
    alphabet = {"n": "0123456789", "a": "ABCZ \u00c9"}.get(component.kind, "AZ09 -.")
    most = component.max_length or 40
    size = most if component.fixed else rng.randint(1, most)
    return "".join(rng.choice(alphabet) for _ in range(size))


def random_segment(
    definition: tuple[_ElementDef, ...], rng: random.Random, flaw: str | None, index: int
) -> Segment:
    """A segment that fits ``definition`` (optional parts left out at random) but for one
    ``flaw`` in element ``index``: the kind of segment whose only finding a fast path could
    miss. The flaw may happen to be harmless (a value that still fits)."""
    elements: list[list[str]] = []
    for element_def in definition:
        components = element_def.components or (element_def,)
        values = [
            fitting(c, rng) if c.required or element_def.required or rng.random() < 0.6 else ""
            for c in components
        ]
        if not element_def.required and rng.random() < 0.2:
            values = [""] * len(values)
        while len(values) > 1 and not values[-1] and rng.random() < 0.7:
            values.pop()  # trailing empty components are usually left out
        elements.append(values)
    if flaw is not None:
        element_def = definition[index]
        components = element_def.components or (element_def,)
        values = elements[index]
        values += [""] * (len(components) - len(values))
        spot = rng.randrange(len(components))
        component = components[spot]
        if flaw == "value":
            values[spot] = rng.choice(VALUES)
        elif flaw == "bound":  # one under, at or one over the maximum length
            size = max(component.max_length + rng.randint(-1, 1), 1)
            values[spot] = ("7" if component.kind != "a" else "Q") * size
        elif flaw == "empty":
            values[spot] = ""
        elif flaw == "kind":
            values[spot] = rng.choice(["1", "A", "-", "1.5", "\u00b2", "\u0663", "12\n"])
        elif flaw == "agency":  # a code not in the UN list, under the UN or another agency
            agency = [i for i, c in enumerate(components) if c.ident == "3055"]
            values[agency[0] if agency else spot] = rng.choice(["5", "6", "", "ZZZ"])
            coded = [i for i, c in enumerate(components) if c.ident in LISTS]
            if coded:
                values[rng.choice(coded)] = "QQ"
        elif flaw == "component":
            values.append(rng.choice(["", "X"]))
        elif flaw == "element":
            elements.append([rng.choice(["", "X"])])
        else:
            elements[index] = []
    while elements and not any(elements[-1]) and rng.random() < 0.7:
        elements.pop()  # and so are trailing empty elements
    return Segment("TAG", tuple(tuple(v) for v in elements), 2)


CHECKED = Message("1", "CUSCAR", "D", "95B", "UN", "", [])


def predicate_agrees(
    definition: tuple[_ElementDef, ...], codes: dict[str, frozenset[str]], segment: Segment
) -> bool:
    """True when the segment is clean; asserts the compiled predicate says the same."""
    report = _Reporter(CHECKED, "CUSCAR")
    _ElementChecker(segment, report, True, codes, True).check(definition)
    clean = not report.issues
    assert _compile_segment(definition, codes)(segment) == clean, (segment, report.issues)
    return clean


def test_compiled_predicates_agree_with_the_interpreter_on_every_definition() -> None:
    rng = random.Random(95)
    verdicts: Counter[bool] = Counter()
    for _, definition, codes in DEFINITIONS:
        cases = [(None, 0)] * 5 + [(f, i) for f in FLAWS for i in range(len(definition))]
        for flaw, index in cases:
            segment = random_segment(definition, rng, flaw, index)
            verdicts[predicate_agrees(definition, codes, segment)] += 1
    assert verdicts[True] > len(DEFINITIONS) * 5 and verdicts[False] > len(DEFINITIONS) * 5


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(DEFINITIONS), st.randoms(use_true_random=False), st.data())
def test_compiled_predicates_hypothesis(
    named: tuple[str, tuple[_ElementDef, ...], dict[str, frozenset[str]]],
    rng: random.Random,
    data: st.DataObject,
) -> None:
    _, definition, codes = named
    flaw = data.draw(st.sampled_from([None, *FLAWS]))
    index = data.draw(st.integers(0, len(definition) - 1))
    predicate_agrees(definition, codes, random_segment(definition, rng, flaw, index))
