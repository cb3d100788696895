"""The incremental directory validator gives exactly ``validate_message``'s issues.

``directory.MessageValidator`` is fed one segment at a time (``feed``, then ``finish``) and
holds fewer than ``_BATCH + _LOOKAHEAD`` of them, so that a large message can be checked as
it is read (issue #8). ``test_directory_differential`` holds it to ``validate_message`` (and
both to the reference implementation) on every corpus, ``tests/data`` and ``samples/apcs``
message and on seeded and hypothesis mutations of them, with several batch sizes
(``both``). Here: what those do not reach: a large manifest (many batches of the default
size) and its mutations, messages shorter than the window, without UNH or UNT where they
belong, and an error raised the same way (no table).
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.edifact import Message, Segment
from adapters.edifact.directory import validate_message
from bench.gen_cuscar import generate
from tests.unit.test_directory_differential import TAGS, VALUES, fed, messages_of, mutate


def test_a_large_manifest_and_its_mutations() -> None:
    (large,) = messages_of(generate(1_200))
    assert len(large.segments) > 10_000
    rng = random.Random(5)
    assert fed(large, None, None) == validate_message(large)
    for _ in range(5):
        message = mutate(large, rng)
        issues = validate_message(message)
        assert fed(message, None, None) == issues


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(TAGS), st.lists(st.sampled_from(VALUES), max_size=4)),
        max_size=9,
    ),
    st.booleans(),
    st.booleans(),
)
def test_short_messages_with_or_without_their_envelope(
    body: list[tuple[str, list[str]]], with_unh: bool, with_unt: bool
) -> None:
    head = [Segment("UNH", (("1",), ("CUSCAR", "D", "95B", "UN")), 1)] if with_unh else []
    segments = [*head, *(Segment(t, tuple((v,) for v in vs), 0) for t, vs in body)]
    if with_unt:
        segments.append(Segment("UNT", ((str(len(segments) + 1),), ("1",)), 0))
    numbered = [Segment(s.tag, s.elements, n, s.repeats) for n, s in enumerate(segments, 1)]
    message = Message("1", "CUSCAR", "D", "95B", "UN", "", numbered)
    assert fed(message, None, None) == validate_message(message)


def test_an_empty_message_has_no_issues() -> None:
    message = Message("1", "CUSCAR", "D", "95B", "UN", "", [])
    assert fed(message, None, None) == validate_message(message) == []


def test_an_unknown_directory_override_raises_the_same_way() -> None:
    (message,) = messages_of(generate(2))
    try:
        validate_message(message, directory="D01Z")
    except Exception as exc:
        with pytest.raises(type(exc)):
            fed(message, "D01Z", None)
    else:
        assert fed(message, "D01Z", None) == validate_message(message, directory="D01Z")
