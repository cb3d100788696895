"""Splitting EDIFACT text: separators that may be released, tags, one segment's elements.

The lexer (:mod:`adapters.edifact.lexer`) uses these on every buffer; :func:`parse_segment`
reads one segment's text for callers that have it already.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import AnyStr, Final

from adapters.edifact.errors import ERR_INVALID_VALUE, EdifactError
from adapters.edifact.model import Delimiters, Element, Segment, _make_segment


def _split_released(data: AnyStr, sep: AnyStr, rel: AnyStr) -> list[AnyStr]:
    """Split on ``sep`` where it is not released (preceded by an odd run of ``rel``).

    >>> _split_released("A?+B+C??+D???+E", "+", "?")
    ['A?+B', 'C??', 'D???+E']

    Released separators are rare, so they are found with ``find`` and only the
    pieces around them are joined again; the rest is one C-level ``split``.
    """
    if not rel:
        return data.split(sep)
    pair = rel + sep
    at = data.find(pair)
    if at < 0:
        return data.split(sep)
    merge: list[int] = []  # indexes of pieces whose following separator is released
    piece = prev = 0
    while at >= 0:
        run = 1  # length of the run of release characters ending at ``at``
        while at - run >= 0 and data[at - run : at - run + 1] == rel:
            run += 1
        if run % 2 == 1:
            piece += data.count(sep, prev, at + 1)
            prev = at + 1
            merge.append(piece)
        at = data.find(pair, at + 1 + len(sep))
    parts = data.split(sep)
    for k in reversed(merge):
        parts[k : k + 2] = [parts[k] + sep + parts[k + 1]]
    return parts


def _unescape(value: str, release: str) -> str:
    """Drop each release character and keep the character it releases.

    A lone release character at the very end is kept: there is nothing to release.

    >>> _unescape("A?+B??C?", "?")
    'A+B?C?'
    """
    if not release or release not in value:
        return value
    out: list[str] = []
    start = 0
    last = len(value) - 1
    at = value.find(release)
    while 0 <= at < last:
        out.append(value[start:at])
        out.append(value[at + 1])
        start = at + 2
        at = value.find(release, start)
    out.append(value[start:])
    return "".join(out)


_ENVELOPE_TAGS: Final = frozenset({"UNB", "UNZ", "UNG", "UNE", "UNH", "UNT"})
_TAG_RE: Final = re.compile(r"[A-Z][A-Z0-9]{2}\Z")
_GOOD_TAGS: set[str] = set()
# The good tags that are not envelopes: one lookup tells the hot loop a segment is ordinary.
_PLAIN_TAGS: set[str] = set()


def _check_tag(tag: str, number: int) -> None:
    if tag in _GOOD_TAGS:
        return
    if _TAG_RE.match(tag) is None:
        shown = tag[:10]
        raise EdifactError(
            ERR_INVALID_VALUE,
            f"{shown!r} is not a segment tag (three upper-case letters or digits expected)",
            segment=number,
        )
    if len(_GOOD_TAGS) < 4096:  # bounded: fuzzing must not grow it without limit
        _GOOD_TAGS.add(tag)
        if tag not in _ENVELOPE_TAGS:
            _PLAIN_TAGS.add(tag)


def parse_segment(raw: str, delimiters: Delimiters, number: int) -> Segment:
    """Parse one segment's text (without its terminator).

    Spaces next to a separator are layout noise and dropped (ISO 9735 treats
    trailing spaces as insignificant; leading ones around separators come from
    hand-edited files). Released characters are unescaped.

    >>> parse_segment("FTX+AAA+++50?+ PCS?: FRAGILE ", Delimiters(), 1).get(3)
    '50+ PCS: FRAGILE'
    """
    d = delimiters
    el = d.element
    comp = d.component
    rel = d.active_release
    rep = d.active_repetition
    if (
        (not rel or rel not in raw)
        and (not rep or rep not in raw)
        and (
            " " not in raw
            or not (" " + el in raw or el + " " in raw or " " + comp in raw or comp + " " in raw)
        )
    ):
        parts = raw.split(el)
        tag = parts[0]
        if tag not in _GOOD_TAGS:
            tag = _tag_of(tag, comp, number)
        if comp in raw:
            return _make_segment(tag, tuple([tuple(p.split(comp)) for p in parts[1:]]), number)
        return _make_segment(tag, tuple([(p,) for p in parts[1:]]), number)
    return _parse_segment_general(raw, d, number)


def _tag_of(first: str, comp: str, number: int) -> str:
    """The tag from the first element; syntax 1-3 may append nesting components."""
    tag = first.split(comp, 1)[0].strip(" ") if comp in first else first.strip(" ")
    _check_tag(tag, number)
    return tag


def _parse_segment_general(raw: str, d: Delimiters, number: int) -> Segment:
    """Any segment: released characters, repetitions, spaces next to separators."""
    el, comp, rel, rep = d.element, d.component, d.active_release, d.active_repetition
    parts = _split_released(raw, el, rel)
    tag = _tag_of(parts[0], comp, number)
    elements: list[Element] = []
    repeats: list[tuple[int, tuple[Element, ...]]] = []
    for idx in range(1, len(parts)):
        part = parts[idx]
        if rep and rep in part:
            values = [_components(occ, comp, rel) for occ in _split_released(part, rep, rel)]
            elements.append(values[0])
            if len(values) > 1:
                repeats.append((idx - 1, tuple(values)))
        elif not rel or rel not in part:  # the common element of a general segment
            comps = part.split(comp) if comp in part else [part]
            elements.append(tuple([c.strip(" ") for c in comps]))
        else:
            elements.append(_components(part, comp, rel))
    return _make_segment(tag, tuple(elements), number, tuple(repeats))


def _components(text: str, comp: str, rel: str) -> Element:
    comps = _split_released(text, comp, rel) if comp in text else [text]
    if rel and rel in text:
        return tuple([_unescape(c.strip(" "), rel) for c in comps])
    return tuple([c.strip(" ") for c in comps])


def iter_segments(text: str, delimiters: Delimiters) -> Iterator[tuple[str, int]]:
    """Yield (raw segment text, character offset) for every segment in ``text``.

    Kept from the first parser for callers that split text themselves.
    """
    offset = 0
    for raw in _split_released(text, delimiters.segment, delimiters.active_release):
        start = offset
        offset += len(raw) + 1
        stripped = raw.strip(" \r\n\t")
        if "\n" in stripped or "\r" in stripped or "\t" in stripped:
            stripped = re.sub(r"[\r\n\t]+", "", stripped)
        if stripped:
            yield stripped, start


def parse_decimal(value: str, delimiters: Delimiters | None = None) -> str:
    """A numeric value with '.' as decimal mark (ISO 9735 allows ',' and '.').

    >>> parse_decimal("12,50")
    '12.50'
    """
    del delimiters  # either mark is accepted whatever the UNA says (ISO 9735 v4, 5.2)
    return value.replace(",", ".")
