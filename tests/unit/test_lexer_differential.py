"""The compiled lexer (adapters/edifact/_fastlex.c) against the pure-Python one, the reference.

Every input goes through both, and everything a caller can see must be equal: the
interchanges (by ``repr``: header, messages, segments, delimiters, warnings with their
positions), the :class:`EdifactError` (code, sentence, segment, offset, tag, element,
component, reason), the same under ``CharsetPolicy.REJECT``, and the streaming API in three
chunk sizes. Inputs: every real corpus file, the test data and samples, the inputs the fuzz
campaign found, the benchmark's CUSCAR, and hypothesis (random bytes, EDIFACT-like text,
mutated corpus files, generated interchanges, mutated generated interchanges).

``EDIGW_FUZZ_EXAMPLES=N`` raises the example count of each hypothesis test (the fuzz round
of docs/fuzzing.md ran this file with N = 10,000 and other seeds).
"""

from __future__ import annotations

import gc
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.edifact import hotloop, splitting, syntax
from adapters.edifact.stream import iter_envelope_events
from adapters.edifact.syntax import CharsetPolicy, EdifactError, Interchange, parse, serialize
from bench.gen_cuscar import generate
from tests.corpus import CORPUS, needs_corpus
from tests.unit.test_edifact_properties import EDI_ALPHABET, MUTATION, interchanges, mutate

ROOT = Path(__file__).resolve().parents[2]
# The set-up builds the extension (gcc and the Python headers are on every machine here), so
# a missing build is a failure below, not a silent skip; only an explicit EDIGW_LEXER=pure
# (a machine meant to run without it) turns these comparisons off.
PURE_ON_PURPOSE = os.environ.get("EDIGW_LEXER", "").strip().lower() == "pure"
pytestmark = pytest.mark.skipif(
    PURE_ON_PURPOSE, reason="EDIGW_LEXER=pure: the compiled lexer is switched off on purpose"
)


def test_the_compiled_lexer_was_built() -> None:
    assert "compiled" in syntax.available_lexers(), (
        "the compiled lexer (adapters/edifact/_fastlex.c) was not built or is stale: install "
        "gcc and the Python headers and run `bash scripts/setup.sh` (or `pip install -e .`), "
        "or set EDIGW_LEXER=pure to run without it"
    )
    assert syntax.LEXER == "compiled"


EXAMPLES = int(os.environ.get("EDIGW_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _error(exc: EdifactError) -> tuple[object, ...]:
    return (
        exc.code,
        exc.sentence,
        exc.segment,
        exc.offset,
        exc.tag,
        exc.element,
        exc.component,
        exc.reason,
    )


def _interchange(ic: Interchange) -> tuple[object, ...]:
    return (repr(ic), [_error(w) for w in ic.warnings])


def _parsed(data: bytes, policy: CharsetPolicy) -> object:
    try:
        return [_interchange(ic) for ic in parse(data, charset_policy=policy)]
    except EdifactError as exc:
        return _error(exc)


def _streamed(data: bytes, chunk_size: int) -> object:
    events: list[object] = []
    try:
        for ic, msg in iter_envelope_events(io.BytesIO(data), chunk_size=chunk_size):
            events.append(repr(msg) if msg is not None else _interchange(ic))
    except EdifactError as exc:
        events.append(_error(exc))
    return events


def outcome(data: bytes, lexer: str) -> list[object]:
    """Everything a caller sees of ``data`` with one lexer."""
    previous = syntax.use_lexer(lexer)
    try:
        return [
            _parsed(data, CharsetPolicy.ACCEPT),
            _parsed(data, CharsetPolicy.REJECT),
            *(_streamed(data, size) for size in (7, 64, 1 << 16)),
        ]
    finally:
        syntax.use_lexer(previous)


def assert_same(data: bytes) -> None:
    assert outcome(data, "compiled") == outcome(data, "pure")


def _files() -> Iterator[Path]:
    yield from sorted((CORPUS / "edifact").glob("*.edi"))
    for folder in ("tests/data", "samples"):
        yield from sorted((ROOT / folder).glob("**/*.edi"))


FILES = list(_files())
SEEDS = [p.read_bytes() for p in FILES]

# The minimal inputs of the fuzz campaign that concern the lexer (docs/fuzzing.md).
FOUND = [
    b"U\nNA'UNA",
    b"UNB+UNOA:3+A+B+240101:1200+1'UNZ+0+1'U\r\nNA'UNA",
    b"UNB",
    b"UNB+UNOA:3+A+B+240101:1200+1'UNZ+0+1'",
    b"UNB++ 'U",
    b"UNB+UNXX:4+A+B+20240101:1200+1'UNH+1+X:D:96A:UN'ATT+2++M*F'UNT+3+1'UNZ+1+1'",
    b"UNB+UNOA:3+A+B+240101:1200+1'UNH+1+X:D:96A:UN'FTX+AAA+++50?'\nPCS'UNT+3+1'UNZ+1+1'",
    b"\nUNB+UNOA:3+A+B+240101:1200+1'UNH+1+X:D:96A:UN'FTX+AAA+++50?'\nPCS'UNT+3+1'UNZ+1+1'",
    b"UNB+UNOA:" + b"9" * 5000 + b"+A+B+240101:1200+1'UNZ+0+1'",
    b"UNB+UNOA:3+A+B+240101:1200+1'UNH+1+X:D:96A:UN'" + b"FTX+" + b"A" * 70_000 + b"'",
]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_real_file_reads_the_same(path: Path) -> None:
    assert_same(path.read_bytes())


@needs_corpus
def test_the_real_corpus_is_there() -> None:
    assert len([p for p in FILES if p.is_relative_to(CORPUS)]) >= 30


@pytest.mark.parametrize("data", FOUND)
def test_inputs_the_fuzz_campaign_found_read_the_same(data: bytes) -> None:
    assert_same(data)


def test_the_benchmark_cuscar_reads_the_same() -> None:
    data = generate(300)
    assert_same(data)
    assert_same(data.replace(b"'\n", b"'\r\n"))
    assert_same(data.replace(b"'\n", b"'"))


MUTATIONS = st.lists(MUTATION, min_size=1, max_size=6)


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_read_the_same(data: bytes) -> None:
    assert_same(data)


@FUZZ
@given(st.text(alphabet=EDI_ALPHABET, max_size=400))
def test_edifact_like_text_reads_the_same(text: str) -> None:
    assert_same(text.encode("utf-8"))


@FUZZ
@given(st.sampled_from(SEEDS), MUTATIONS)
def test_mutated_real_files_read_the_same(
    seed: bytes, mutations: list[tuple[str, float, bytes]]
) -> None:
    assert_same(mutate(seed, mutations))


@FUZZ
@given(interchanges(), st.sampled_from(["", "\n", "\r\n"]), st.lists(MUTATION, max_size=3))
def test_generated_interchanges_read_the_same(
    ic: Interchange, newline: str, mutations: list[tuple[str, float, bytes]]
) -> None:
    assert_same(mutate(serialize(ic, newline=newline), mutations))


# --- the compiled function itself --------------------------------------------------------

_fastlex = hotloop._fastlex


def _run(pieces: list[str], **kw: Any) -> tuple[tuple[int, int], list[syntax.Segment]]:
    splitting._check_tag("LOC", 0)
    out: list[syntax.Segment] = []
    args: dict[str, Any] = {
        "sink": out.append,
        "cache": hotloop._ElementCache(":"),
        "el": "+",
        "release": "",
        "layout": " \r\n\t",
    }
    args.update(kw)
    assert _fastlex is not None
    got = _fastlex.plain_run(pieces, 0, 10, *args.values())
    return got, out


def test_the_compiled_loop_builds_what_the_pure_one_builds() -> None:
    pieces = ["\nLOC+9+EGALY:139:6", "LOC", "LOC++::+", "LOC+a?b", "UNT+2+1", "LOC+1"]
    got, out = _run(pieces, release="")
    reference: list[syntax.Segment] = []
    assert got == hotloop._plain_run(
        pieces, 0, 10, reference.append, hotloop._ElementCache(":"), "+", "", " \r\n\t"
    )
    assert got == (4, 14) and out == reference
    assert out[2].elements == (("",), ("", "", ""), ("",))


@pytest.mark.parametrize(
    ("pieces", "kw"),
    [
        (["LOC+9+ÉGALY"], {}),  # not ASCII: the Python loop decodes and checks it
        (["LOC+9"], {"el": "++"}),  # not one character
        (["LOC+9"], {"el": "é"}),
        (["LOC+9"], {"release": "??"}),
        (["LOC+9"], {"layout": "é"}),
        (["LOC+9?+"], {"release": "?"}),  # a release character: the general code
        (["   "], {}),  # empty after layout
        (["xyz+1"], {}),  # not a known tag: the Python code checks it
    ],
)
def test_anything_unusual_is_handed_back_untouched(pieces: list[str], kw: dict[str, str]) -> None:
    assert _run(pieces, **kw) == ((0, 10), [])


def test_an_error_of_the_sink_propagates_and_stops() -> None:
    def sink(seg: syntax.Segment) -> None:
        raise RuntimeError("sink")

    with pytest.raises(RuntimeError, match="sink"):
        _run(["LOC+1"], sink=sink)


def test_the_cache_is_filled_and_bounded_like_the_pure_one() -> None:
    cache = hotloop._ElementCache(":")
    values = [f"V{n}:{n}" for n in range(hotloop._ELEMENT_CACHE_ENTRIES + 10)]
    long_value = "L" * (hotloop._ELEMENT_CACHE_VALUE_LENGTH + 1)
    _run(["LOC+" + "+".join([*values, long_value])], cache=cache)
    reference = hotloop._ElementCache(":")
    for v in [*values, long_value]:
        reference[v]  # __missing__ fills it
    assert dict(cache) == dict(reference) and len(cache) == 10


def test_the_segments_it_makes_are_left_out_of_the_collector() -> None:
    data = generate(3)
    previous = syntax.use_lexer("compiled")
    try:
        segments = [s for ic in parse(data) for m in ic.messages for s in m.segments]
    finally:
        syntax.use_lexer(previous)
    untracked = [s for s in segments if not gc.is_tracked(s)]
    assert len(untracked) > len(segments) / 2  # envelopes, new tags, released text: Python's
    for seg in untracked:  # nothing in them can hold a reference cycle (but their class)
        assert not any(gc.is_tracked(x) for x in gc.get_referents(seg) if x is not syntax.Segment)
        assert all(type(c) is str for e in seg.elements for c in e)


@dataclass(frozen=True, slots=True)
class _WiderSegment:
    tag: str
    elements: tuple[tuple[str, ...], ...]
    number: int
    repeats: tuple[object, ...]
    extra: object  # a fifth reference: such segments could hold a cycle


def test_a_segment_class_with_more_than_the_four_slots_stays_tracked() -> None:
    assert _fastlex is not None and _fastlex.untracks_segments()
    bounds = (
        splitting._PLAIN_TAGS,
        hotloop._ELEMENT_CACHE_ENTRIES,
        hotloop._ELEMENT_CACHE_VALUE_LENGTH,
    )
    slots = ("tag", "elements", "number", "repeats")
    try:
        _fastlex.configure(_WiderSegment, slots, *bounds)
        assert not _fastlex.untracks_segments()
    finally:
        _fastlex.configure(syntax.Segment, slots, *bounds)
    assert _fastlex.untracks_segments()


def test_a_failed_configure_changes_nothing() -> None:
    assert _fastlex is not None
    bounds = (
        splitting._PLAIN_TAGS,
        hotloop._ELEMENT_CACHE_ENTRIES,
        hotloop._ELEMENT_CACHE_VALUE_LENGTH,
    )
    with pytest.raises(TypeError, match="no slot"):
        _fastlex.configure(_WiderSegment, ("tag", "elements", "number", "nothing"), *bounds)
    assert _fastlex.untracks_segments()
    assert _run(["LOC+1"])[1] == [syntax.Segment("LOC", (("1",),), 11)]


def test_a_start_past_the_end_returns_the_end_like_python() -> None:
    assert _fastlex is not None
    cache = hotloop._ElementCache(":")
    args = (5, 3, [].append, cache, "+", "", " ")
    assert _fastlex.plain_run(["A", "B"], *args) == hotloop._plain_run(["A", "B"], *args) == (2, 3)


LAYOUT_ALPHABET = b"+:'?* \r\n\tAB\x1c\x1d\x1f"


@FUZZ
@given(
    st.binary(max_size=80).map(
        lambda b: bytes(LAYOUT_ALPHABET[x % len(LAYOUT_ALPHABET)] for x in b)
    ),
    st.lists(st.sampled_from(list(LAYOUT_ALPHABET)), min_size=4, max_size=4, unique=True),
    st.booleans(),
    st.booleans(),
)
def test_layout_facts_in_one_pass_are_the_counts_of_python(
    buf: bytes, seps: list[int], no_release: bool, rel_in: bool
) -> None:
    el, comp, term = bytes([seps[0]]), bytes([seps[1]]), bytes([seps[2]])
    rel = b"" if no_release else bytes([seps[3]])
    rel_in = rel_in and bool(rel) and rel in buf
    assert _fastlex is not None
    got = _fastlex.layout_facts(buf, el, comp, rel, term, rel_in)
    if got is None:  # a separator that is a layout character: Python decides
        assert any(c in b" \r\n\t" for c in (el, comp, term, rel) if c)
        return
    assert got == hotloop._layout_facts(buf, el, comp, rel, term, rel_in)


@pytest.mark.parametrize(
    "args",
    [
        (b"A+B", b"++", b":", b"?", b"'"),  # not one byte
        (b"A+B", b"+", b":", b"??", b"'"),
        (b"A+B", b"+", b":", b"?", b""),
        (b"A+B", b"+", b":", b"?", b"\n"),  # a terminator that is layout
        (b"A+B", b"+", b":", b"\t", b"'"),
    ],
)
def test_layout_facts_decline_what_only_python_defines(args: tuple[bytes, ...]) -> None:
    assert _fastlex is not None
    assert _fastlex.layout_facts(*args, False) is None
    assert hotloop._layout_facts_compiled(*args, False) == hotloop._layout_facts(*args, False)


def test_a_build_of_another_interface_is_not_used() -> None:
    assert _fastlex is not None and _fastlex.API == hotloop._FASTLEX_API
    code = (  # a module of another interface where the build would be
        "import sys, types; stale = types.ModuleType('adapters.edifact._fastlex'); "
        "stale.API = -1; sys.modules[stale.__name__] = stale; "
        "from adapters.edifact import syntax; print(syntax.LEXER, syntax.available_lexers())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "pure ['pure']"


def test_one_place_chooses_and_says_which() -> None:
    assert syntax.LEXER == "compiled"
    assert syntax.available_lexers() == ["compiled", "pure"]
    with pytest.raises(ValueError, match="not available"):
        syntax.use_lexer("rust")
    code = "from adapters.edifact import syntax; print(syntax.LEXER)"
    env = {**os.environ, "EDIGW_LEXER": "pure"}
    pure = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert pure.stdout.strip() == "pure"
