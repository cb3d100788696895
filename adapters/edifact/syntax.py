"""UN/EDIFACT syntax (ISO 9735): service string advice, segments, envelopes.

This module knows nothing about message types; it turns bytes into
:class:`Interchange` objects and back. Every problem is an :class:`EdifactError`
carrying a syntax error code (service code list 0085) and a position, so that
callers can build a CONTRL without guessing.

>>> ic = parse(b"UNB+UNOA:3+SND+RCV+240101:1200+1'UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+3+1'UNZ+1+1'")[0]
>>> ic.messages[0].type, ic.messages[0].segments[1].get(0)
('CUSCAR', '85')
>>> serialize(ic) == b"UNB+UNOA:3+SND+RCV+240101:1200+1'UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+3+1'UNZ+1+1'"
True

How the engine is built (see docs/edifact.md for the policy decisions):

* A :class:`_Lexer` cuts a stream of byte chunks into segments. Cutting happens on
  bytes because every separator is an ASCII byte and every supported character set
  (ISO 8859-x, UTF-8) is ASCII-compatible, so a separator byte can never be part of
  a multi-byte character. Each segment is then decoded on its own, with the
  character set its interchange declares, which lets one file hold several
  interchanges with different UNA strings and character sets.
* :func:`_assemble` turns the segments into interchanges, groups and messages.
  :func:`parse` keeps everything; :func:`adapters.edifact.stream.iter_messages`
  keeps one message at a time so memory stays bounded on huge interchanges.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import islice
from typing import AnyStr, Final, Protocol

# The interface of adapters/edifact/_fastlex.c this module expects (its API constant): a
# build left over from an older source is not used (scripts/setup.sh rebuilds it).
_FASTLEX_API: Final = 1
try:  # the compiled fast path of the lexer, built at install time when a compiler is there
    from adapters.edifact import _fastlex
except ImportError:  # pragma: no cover - a machine without a compiler: the pure lexer
    _fastlex = None  # type: ignore[assignment]
else:
    if getattr(_fastlex, "API", None) != _FASTLEX_API:  # pragma: no cover - a stale build
        _fastlex = None  # type: ignore[assignment]

# ---------------------------------------------------------------------------
# Service code list 0085 (syntax error codes) used by the engine.
# ---------------------------------------------------------------------------
ERR_SYNTAX_NOT_SUPPORTED: Final = "2"  # syntax level (character set) or version not supported
ERR_INVALID_VALUE: Final = "12"  # invalid value (e.g. a calendar date that does not exist)
ERR_MISSING: Final = "13"  # missing (segment, element or component)
ERR_UNSPECIFIED: Final = "18"  # unspecified error
ERR_INVALID_SERVICE_CHAR: Final = "20"  # character invalid as service character (UNA)
ERR_INVALID_CHAR: Final = "21"  # character not in the character set declared in UNB
ERR_INVALID_SEPARATOR: Final = "22"  # invalid service character(s)
ERR_DUPLICATE: Final = "26"  # duplicate detected (message reference reused)
ERR_REF_MISMATCH: Final = "28"  # references do not match (UNT/UNE/UNZ vs UNH/UNG/UNB)
ERR_COUNT_MISMATCH: Final = "29"  # control count does not match number of instances
ERR_GROUPS_AND_MESSAGES_MIXED: Final = "30"  # functional groups and messages mixed
ERR_LOWER_LEVEL_EMPTY: Final = "32"  # interchange/group without messages
ERR_OUTSIDE: Final = "33"  # invalid occurrence outside message or group
ERR_CHAR_TYPE: Final = "37"  # invalid type of character(s), e.g. a letter in n6
ERR_TOO_LONG: Final = "39"  # data element too long
ERR_TOO_SHORT: Final = "40"  # data element too short

# Names kept from the first parser so that existing imports keep working.
ERR_UNSUPPORTED_SYNTAX: Final = ERR_SYNTAX_NOT_SUPPORTED
ERR_NOT_SUPPORTED: Final = ERR_SYNTAX_NOT_SUPPORTED
ERR_SEGMENT_TAG: Final = ERR_INVALID_VALUE
ERR_DATE: Final = ERR_INVALID_VALUE

# Syntax identifier (UNB S001/0001) -> Python codec.
CHARSETS: Final[dict[str, str]] = {
    "UNOA": "ascii",
    "UNOB": "ascii",
    "UNOC": "latin-1",
    "UNOD": "iso8859-2",
    "UNOE": "iso8859-5",
    "UNOF": "iso8859-7",
    "UNOG": "iso8859-3",
    "UNOH": "iso8859-4",
    "UNOI": "iso8859-6",
    "UNOJ": "iso8859-8",
    "UNOK": "iso8859-9",
    "UNOW": "utf-8",
    # UNOY is ISO 10646-1 without code extension; on the wire it is UTF-8 in practice.
    "UNOY": "utf-8",
    "IATA": "ascii",
    "IATB": "ascii",
}

# Bytes that may NOT occur in a segment of each character set family. Separators
# declared in UNA are added to the allowed set at run time (see _Lexer._charset).
_UNOA_ALLOWED: Final = b"A-Z0-9 .,\\-()/='+:?!\"%&*;<>\t\n\r"
# CR, LF and TAB are layout (removed from segments), so never "bad" here.
_BAD_LEVEL_B: Final = re.compile(rb"[^\t\n\r\x1c-\x7e]")  # printable ASCII + IS1..IS4
_BAD_SINGLE_BYTE: Final = re.compile(
    rb"[\x00-\x08\x0b\x0c\x0e-\x1b\x7f-\xff]"
)  # non-ASCII: checked further
_BAD_UTF8: Final = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1b\x7f]")
_UNOA_BYTES: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-()/='+:?!\"%&*;<>\t\n\r"
_PRINTABLE_ASCII: Final = bytes(range(0x1C, 0x7F)) + b"\t\n\r"
_C1_OR_CONTROL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1b\x7f-\x9f]")

_SET_NAMES: Final = {
    "latin-1": "ISO 8859-1",
    **{f"iso8859-{n}": f"ISO 8859-{n}" for n in range(2, 10)},
}

_LAYOUT: Final = b" \r\n\t"  # layout noise around segments
_BOM: Final = b"\xef\xbb\xbf"
# parse() collects the young GC generation after a buffer of at least this many bytes
# (a small interchange makes too few objects for a collection to pay).
_COLLECT_AFTER_BYTES: Final = 1 << 14
MAX_SEGMENT_BYTES: Final = 1 << 20  # a longer "segment" means the terminator is wrong
CHUNK_SIZE: Final = 1 << 16


class CharsetPolicy(StrEnum):
    """What to do when bytes do not fit the character set declared in UNB.

    ``ACCEPT`` (the default) decodes as well as it can and records an
    :class:`EdifactError` with code 21 in :attr:`Interchange.warnings`; real
    partners send UNOA with lower case and UNOC with UTF-8, and bouncing them
    would stop trade. ``REJECT`` raises that error instead.

    Best effort means: bytes that are valid UTF-8 are decoded as UTF-8 (a UNOC
    file carrying UTF-8 keeps its accents), anything else as the declared single
    byte set, falling back to ISO 8859-1 so no byte is ever lost.
    """

    ACCEPT = "accept-with-warning"
    REJECT = "reject"


def describe_position(
    segment: int | None,
    tag: str = "",
    element: int | None = None,
    component: int | None = None,
    offset: int | None = None,
    default: str = "interchange",
) -> str:
    """Where a problem is, for people: ``segment 7, LOC, element 1, component 0``.

    >>> describe_position(7, "LOC", 1)
    'segment 7, LOC, element 1'
    """
    parts = []
    if segment is not None:
        parts.append(f"segment {segment}")
    if tag:
        parts.append(tag)
    if element is not None:
        parts.append(f"element {element}")
    if component is not None:
        parts.append(f"component {component}")
    if offset is not None:
        parts.append(f"offset {offset}")
    return ", ".join(parts) or default


class EdifactError(Exception):
    """An input that is not valid EDIFACT, with where and why.

    ``code`` is from service code list 0085; ``segment`` is the 1-based segment
    number in the input and ``offset`` the byte offset.

    ``element`` and ``component`` locate the faulty data inside the segment.
    Both are **0-based and count like** :meth:`Segment.get`: ``element=0`` is the
    first data element after the tag, ``component=0`` its first component. The
    CONTRL encoder converts them to the ISO 9735 S011 numbering (tag = 1).

    >>> err = EdifactError("12", "bad date", segment=1, tag="UNB", element=3, component=0)
    >>> err.where, err.s011()
    ('segment 1, UNB, element 3, component 0', (5, 1))
    """

    def __init__(
        self,
        code: str,
        sentence: str,
        *,
        segment: int | None = None,
        offset: int | None = None,
        tag: str = "",
        reason: str = "EDIFACT_SYNTAX",
        element: int | None = None,
        component: int | None = None,
    ) -> None:
        super().__init__(sentence)
        self.code = code
        self.sentence = sentence
        self.segment = segment
        self.offset = offset
        self.tag = tag
        self.reason = reason
        self.element = element
        self.component = component

    def s011(self) -> tuple[int, int | None] | None:
        """ISO 9735 positions (0098, 0104): the tag is element 1, components count from 1."""
        if self.element is None:
            return None
        return self.element + 2, (None if self.component is None else self.component + 1)

    @property
    def where(self) -> str:
        return describe_position(
            self.segment, self.tag, self.element, self.component, self.offset, "interchange"
        )

    def __repr__(self) -> str:
        return f"EdifactError({self.code!r}, {self.sentence!r}, {self.where})"


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The six service characters. A space as ``repetition`` means "not used".

    >>> Delimiters.from_una("UNA:|,? '").element
    '|'
    >>> Delimiters.default(4).repetition
    '*'
    """

    component: str = ":"
    element: str = "+"
    decimal: str = "."
    release: str = "?"
    repetition: str = " "  # a space means "not used" (syntax 1-3)
    segment: str = "'"

    @classmethod
    def default(cls, version: int = 3) -> Delimiters:
        """Level A defaults of ISO 9735 when no UNA is given (``*`` repeats from syntax 4)."""
        return _DEFAULT_V4 if version >= 4 else _DEFAULT_V3

    @classmethod
    def level_b(cls, version: int = 3) -> Delimiters:
        """Syntax level B (UNOB without UNA): the information separators IS1..IS4."""
        return cls("\x1f", "\x1d", ".", " ", "\x1e" if version >= 4 else " ", "\x1c")

    @classmethod
    def from_una(cls, una: str) -> Delimiters:
        """Read a 9-character service string advice ``UNA:+.? '``."""
        if len(una) < 9 or not una.startswith("UNA"):
            raise EdifactError(
                ERR_INVALID_SEPARATOR, "UNA service string advice is truncated", offset=0, tag="UNA"
            )
        c, e, d, r, rep, s = una[3], una[4], una[5], una[6], una[7], una[8]
        for ch in (c, e, r, rep, s):
            if ch.isalnum() or ord(ch) > 0x7F:
                raise EdifactError(
                    ERR_INVALID_SERVICE_CHAR,
                    f"UNA declares {ch!r} as a service character; letters, digits and non-ASCII are not allowed",
                    tag="UNA",
                )
        used = [c, e, s] + [x for x in (r, rep) if x != " "]
        if len(set(used)) != len(used) or " " in (c, e, s):
            raise EdifactError(
                ERR_INVALID_SERVICE_CHAR,
                f"UNA {una[:9]!r} declares the same character for two separators",
                tag="UNA",
            )
        return cls(c, e, d, r, rep, s)

    @property
    def active_release(self) -> str:
        """The release character, or ``""`` when the UNA says none (a space)."""
        return "" if self.release == " " else self.release

    @property
    def active_repetition(self) -> str:
        """The repetition separator, or ``""`` when not used."""
        return "" if self.repetition == " " else self.repetition

    def una(self) -> str:
        return f"UNA{self.component}{self.element}{self.decimal}{self.release}{self.repetition}{self.segment}"


_DEFAULT_V3: Final = Delimiters()
_DEFAULT_V4: Final = Delimiters(repetition="*")


Element = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: a tag and its data elements, each a tuple of components.

    Repeated data elements (syntax 4) keep their first occurrence in ``elements``
    and all occurrences in ``repeats``.

    >>> seg = parse_segment("NAD+CZ++ACME:LINE 2", Delimiters(), 7)
    >>> seg.get(0), seg.get(2, 1), seg.get(5, default="-"), seg.number
    ('CZ', 'LINE 2', '-', 7)
    """

    tag: str
    elements: tuple[Element, ...] = ()
    number: int = 0  # 1-based position in the input (UNA not counted)
    repeats: tuple[tuple[int, tuple[Element, ...]], ...] = ()

    def get(self, element: int, component: int = 0, default: str = "") -> str:
        """Component ``component`` of data element ``element`` (both 0-based), or ``default``."""
        if element >= len(self.elements):
            return default
        el = self.elements[element]
        if component >= len(el):
            return default
        return el[component] or default

    def element(self, index: int) -> Element:
        return self.elements[index] if index < len(self.elements) else ()

    def repetitions(self, index: int) -> tuple[Element, ...]:
        for i, reps in self.repeats:
            if i == index:
                return reps
        el = self.element(index)
        return (el,) if el else ()


# A frozen dataclass __init__ goes through object.__setattr__ for every field;
# the parser builds hundreds of thousands of segments, so it fills the slots
# directly (about twice as fast). The result is an ordinary, immutable Segment.
def _slot_setter(name: str) -> Callable[[Segment, object], None]:
    setter: Callable[[Segment, object], None] = vars(Segment)[name].__set__
    return setter


_new_object = object.__new__

# What the lexer yields between chunks with ``chunk_marks`` (never a segment of the input).
CHUNK_MARK: Final = Segment("", (), 0)
_set_tag = _slot_setter("tag")
_set_elements = _slot_setter("elements")
_set_number = _slot_setter("number")
_set_repeats = _slot_setter("repeats")


def _make_segment(
    tag: str,
    elements: tuple[Element, ...],
    number: int,
    repeats: tuple[tuple[int, tuple[Element, ...]], ...] = (),
) -> Segment:
    seg: Segment = _new_object(Segment)
    _set_tag(seg, tag)
    _set_elements(seg, elements)
    _set_number(seg, number)
    _set_repeats(seg, repeats)
    return seg


@dataclass(slots=True)
class Message:
    """One message, UNH to UNT inclusive."""

    reference: str
    type: str
    version: str
    release: str
    agency: str
    association: str
    segments: list[Segment]  # UNH .. UNT inclusive
    group_reference: str = ""

    @property
    def directory(self) -> str:
        return f"{self.version}{self.release}"

    @property
    def header(self) -> Segment:
        return self.segments[0]

    @property
    def trailer(self) -> Segment:
        return self.segments[-1]

    def body(self) -> list[Segment]:
        return self.segments[1:-1]


@dataclass(slots=True)
class Group:
    """A functional group UNG..UNE. ``messages`` stays empty when streaming."""

    reference: str
    header: Segment
    trailer: Segment | None = None  # None: the input had no UNE for this group
    messages: list[Message] = field(default_factory=list)
    message_count: int = 0

    @property
    def message_type(self) -> str:
        return self.header.get(0)

    @property
    def sender(self) -> str:
        return self.header.get(1)

    @property
    def sender_qualifier(self) -> str:
        return self.header.get(1, 1)

    @property
    def recipient(self) -> str:
        return self.header.get(2)

    @property
    def recipient_qualifier(self) -> str:
        return self.header.get(2, 1)


@dataclass(slots=True)
class Interchange:
    """One interchange UNB..UNZ, or a run of bare messages (``header`` is None).

    ``warnings`` holds non-fatal findings (character set, missing terminator ...).
    ``messages`` lists every message in order, grouped or not; ``groups`` the
    UNG/UNE groups. When streaming, the lists stay empty and only the counts
    grow.
    """

    delimiters: Delimiters
    syntax_id: str = ""
    syntax_version: int = 3
    sender: str = ""
    sender_qualifier: str = ""
    recipient: str = ""
    recipient_qualifier: str = ""
    date: str = ""
    time: str = ""
    control_reference: str = ""
    test_indicator: str = ""
    header: Segment | None = None  # None: bare message(s) with no UNB
    messages: list[Message] = field(default_factory=list)
    warnings: list[EdifactError] = field(default_factory=list)
    trailer: Segment | None = None  # the UNZ, None if absent
    groups: list[Group] = field(default_factory=list)
    una: bool = False  # a UNA preceded the UNB
    message_count: int = 0

    @property
    def encoding(self) -> str:
        """Python codec of the declared character set (Latin-1 when unknown)."""
        return CHARSETS.get(self.syntax_id, "latin-1")


# ---------------------------------------------------------------------------
# Low-level splitting
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# The lexer: byte chunks -> Segments
# ---------------------------------------------------------------------------


# Bounds of the element cache (see _ElementCache): entries, and length of a cached value.
_ELEMENT_CACHE_ENTRIES: Final = 256
_ELEMENT_CACHE_VALUE_LENGTH: Final = 64


class _ElementCache(dict[str, Element]):
    """The text of a plain data element -> its components, for one component separator.

    Real interchanges repeat most of their element values (qualifiers, code lists,
    ports, package types, parties): in the 10,000-bill benchmark 85 % of the
    elements are repeats. Looking one up is a C-level dict hit; only new values
    get split (in ``__missing__``). Sharing the immutable tuples also means fewer
    objects to allocate, for the garbage collector to scan and to free: on the
    benchmark this halves the cost of a parse.

    Memory stays bounded: at most ``_ELEMENT_CACHE_ENTRIES`` values of at most
    ``_ELEMENT_CACHE_VALUE_LENGTH`` characters (longer ones are split, not kept),
    and the cache is emptied when full.

    >>> cache = _ElementCache(":")
    >>> cache["EGALY:139:6"], cache["EGALY:139:6"] is cache["EGALY:139:6"], cache["85"]
    (('EGALY', '139', '6'), True, ('85',))
    """

    __slots__ = ("component",)

    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def __missing__(self, text: str) -> Element:
        value = tuple(text.split(self.component))
        if len(text) <= _ELEMENT_CACHE_VALUE_LENGTH:
            if len(self) >= _ELEMENT_CACHE_ENTRIES:
                self.clear()
            self[text] = value
        return value


_ELEMENT_CACHES: dict[str, _ElementCache] = {}


def _element_cache(component: str) -> _ElementCache:
    """The element cache for a component separator, shared by every parse.

    Shared, because the gateway parses many small interchanges that repeat the
    same qualifiers and codes; safe, because it holds only immutable tuples of
    strings. At most four separators are kept (fuzzed UNAs declare any).
    """
    cache = _ELEMENT_CACHES.get(component)
    if cache is None:
        if len(_ELEMENT_CACHES) >= 4:
            _ELEMENT_CACHES.clear()
        cache = _ELEMENT_CACHES[component] = _ElementCache(component)
    return cache


def _b(ch: str) -> bytes:
    return ch.encode("latin-1")


_DROP_LAYOUT: Final = {9: None, 10: None, 13: None}


def _head(piece: str | bytes) -> bytes:
    """The first bytes of a piece after layout, as bytes (pieces may be str or bytes)."""
    head = piece[:64].lstrip(" \r\n\t") if isinstance(piece, str) else piece[:64].lstrip(_LAYOUT)
    if isinstance(head, str):
        return head.encode("utf-8", "replace") if not head.startswith("\ufeff") else _BOM
    return head


def _start_of(pieces: Sequence[str] | Sequence[bytes], i: int, text: str, layout: str) -> int:
    """Offset of the first non-layout byte of piece ``i`` (layout characters are 1 byte)."""
    return _position(pieces, i) + len(text) - len(text.lstrip(layout))


def _position(pieces: Sequence[str] | Sequence[bytes], i: int) -> int:
    """Offset of piece ``i`` in the buffer the pieces were cut from (1-byte terminator)."""
    return sum(len(p) for p in pieces[:i]) + i


def _spaced(buf: bytes, element: bytes, component: bytes, release: bytes) -> bool:
    """Does ``buf`` hold a space next to a separator that is not released?

    A released separator followed by a space (``?+ PCS``) is data; those segments
    hold the release character and are read by the general code anyway.

    >>> _spaced(b"FTX+AAA+++100?+ PCS'", b"+", b":", b"?"), _spaced(b"NAD+CZ+ ACME'", b"+", b":", b"?")
    (False, True)
    """
    if b" " + element in buf or b" " + component in buf:
        return True
    for sep in (element, component):
        after = sep + b" "
        if after in buf and (not release or buf.count(after) != buf.count(release + after)):
            return True
    return False


def _layout_facts(
    buf: bytes, element: bytes, component: bytes, release: bytes, terminator: bytes, rel_in: bool
) -> tuple[bool, bool]:
    r"""Two facts about a buffer: does it hold a space next to an unreleased separator
    (:func:`_spaced`), and layout inside a segment (a tab, or CR/LF anywhere but right after
    a terminator, or right after a released one)?

    >>> _layout_facts(b"BGM+85'\r\nDTM+137'\n", b"+", b":", b"?", b"'", False)
    (False, False)
    >>> _layout_facts(b"FTX+AAA+++A?'\nB'", b"+", b":", b"?", b"'", True)
    (False, True)

    ``_fastlex.layout_facts`` computes the same in one pass (``None``: separators that
    are layout characters, left to this function).
    """
    spaced_in = _spaced(buf, element, component, release if rel_in else b"")
    # The layout after the previous buffer's last terminator may start this one.
    body = buf.lstrip(b"\r\n") if buf[:1] in (b"\r", b"\n") else buf
    inner_layout = (
        b"\t" in body
        or body.count(b"\r") != body.count(terminator + b"\r\n")
        or body.count(b"\n") != body.count(terminator + b"\n") + body.count(terminator + b"\r\n")
        # A released terminator ends no segment: the layout after it is inside one.
        or (
            rel_in
            and (release + terminator + b"\n" in body or release + terminator + b"\r" in body)
        )
    )
    return spaced_in, inner_layout


def _layout_facts_compiled(
    buf: bytes, element: bytes, component: bytes, release: bytes, terminator: bytes, rel_in: bool
) -> tuple[bool, bool]:
    """:func:`_layout_facts` in one pass of C, or by :func:`_layout_facts` when C declines."""
    assert _fastlex is not None
    facts = _fastlex.layout_facts(buf, element, component, release, terminator, rel_in)
    if facts is None:
        return _layout_facts(buf, element, component, release, terminator, rel_in)
    return facts


def _plain_run(
    pieces: list[str],
    start: int,
    number: int,
    sink: Callable[[Segment], None],
    cache: _ElementCache,
    element_separator: str,
    release: str,
    layout: str,
) -> tuple[int, int]:
    """Parse the ordinary segments of ``pieces`` from ``start`` into ``sink``.

    Ordinary: a known tag that is not an envelope, no release character (pass
    ``release=""`` when the buffer holds none). Stops at the first other piece
    (including an empty one) and returns ``(its index, segments so far)``; the
    caller's general code deals with it. This is most of the engine's work,
    so it does nothing else: strip, split, look the elements up, build.

    >>> out: list[Segment] = []
    >>> cache = _ElementCache(":")
    >>> _check_tag("LOC", 0)
    >>> _plain_run(["LOC+9+EGALY:139:6", "UNT+2+1"], 0, 4, out.append, cache, "+", "", " ")
    (1, 5)
    >>> out
    [Segment(tag='LOC', elements=(('9',), ('EGALY', '139', '6')), number=5, repeats=())]

    This is the reference implementation; ``_fastlex.plain_run`` does the same in C.
    """
    plain_tags = _PLAIN_TAGS
    element_of = cache.__getitem__
    for i, text in enumerate(islice(pieces, start, None), start):
        raw = text.strip(layout)
        if not raw or (release and release in raw):
            return i, number
        parts = raw.split(element_separator)
        tag = parts[0]
        if tag not in plain_tags:
            return i, number
        del parts[0]
        number += 1
        seg = _new_object(Segment)
        _set_tag(seg, tag)
        # Through a list: tuple() of a map would allocate 10 slots and shrink them,
        # which bypasses the tuple free lists (slower, and they fill up unused).
        _set_elements(seg, tuple([*map(element_of, parts)]))
        _set_number(seg, number)
        _set_repeats(seg, ())
        sink(seg)
    return len(pieces), number


# ---------------------------------------------------------------------------
# Which implementation of the hot loop runs: decided here, and only here.
# ---------------------------------------------------------------------------

_PlainRun = Callable[
    [list[str], int, int, Callable[[Segment], None], _ElementCache, str, str, str],
    tuple[int, int],
]
_LayoutFacts = Callable[[bytes, bytes, bytes, bytes, bytes, bool], tuple[bool, bool]]
if _fastlex is not None:
    # _fastlex.plain_run is _plain_run in C (adapters/edifact/_fastlex.c): the same
    # segments, the same cache, the same piece to stop at, where the Python loop takes over.
    _fastlex.configure(
        Segment,
        ("tag", "elements", "number", "repeats"),
        _PLAIN_TAGS,
        _ELEMENT_CACHE_ENTRIES,
        _ELEMENT_CACHE_VALUE_LENGTH,
    )
LEXER_IMPLEMENTATIONS: Final[dict[str, tuple[_PlainRun, _LayoutFacts] | None]] = {
    "compiled": (_fastlex.plain_run, _layout_facts_compiled) if _fastlex is not None else None,
    "pure": (_plain_run, _layout_facts),
}
#: The implementation of the hot loop in use: ``"compiled"`` (the C extension built at
#: install time) or ``"pure"`` (no compiler at install, or ``EDIGW_LEXER=pure``).
LEXER: str = "pure"
_active: tuple[_PlainRun, _LayoutFacts] = (_plain_run, _layout_facts)


def use_lexer(name: str) -> str:
    """Make ``name`` (``"compiled"`` or ``"pure"``) the active lexer; returns the previous one.

    Raises ``ValueError`` when the compiled one was not built. For tests and the benchmark;
    the default is chosen once at import (see below).
    """
    global LEXER, _active
    functions = LEXER_IMPLEMENTATIONS.get(name)
    if functions is None:
        raise ValueError(f"lexer {name!r} is not available (built: {available_lexers()})")
    previous, LEXER, _active = LEXER, name, functions
    return previous


def available_lexers() -> list[str]:
    """The implementations that can run here, the preferred first."""
    return [name for name, run in LEXER_IMPLEMENTATIONS.items() if run is not None]


use_lexer(
    "pure" if os.environ.get("EDIGW_LEXER", "").strip().lower() == "pure" else available_lexers()[0]
)


class _Lexer:
    """Cuts byte chunks into :class:`Segment` objects, following UNA/UNB.

    State that changes while reading: the delimiters (UNA, syntax 4 defaults) and
    the character set (UNB S001). ``warnings`` is the list of the interchange
    being read; the assembler hands it to the :class:`Interchange`.
    """

    def __init__(self, policy: CharsetPolicy = CharsetPolicy.ACCEPT) -> None:
        self.policy = policy
        self.delimiters = _DEFAULT_V3
        self.una = False  # the current delimiters came from a UNA
        self._rep_defaulted = False  # the repetition separator is a syntax-4 default
        self.syntax_id = ""
        self.warnings: list[EdifactError] = []
        self.number = 0  # segments seen (UNA not counted)
        self.offset = 0  # byte offset of the start of the current buffer
        self._warned = False
        # Where body segments go while a message is open (set by _assemble):
        # appending here instead of yielding each one saves a generator round
        # trip per segment, the biggest single cost after splitting.
        self.sink: Callable[[Segment], None] | None = None
        # With a sink: yield CHUNK_MARK before reading each further chunk, so that what the
        # sink holds can be taken a chunk at a time (a message decoded as it is read).
        self.chunk_marks = False
        # Set by parse() while it pauses the garbage collector: collect the young
        # generation after each buffer (see segments()).
        self.collect_young = False
        self._set_charset("")

    # -- character sets --------------------------------------------------
    def _set_charset(self, syntax_id: str) -> None:
        self.syntax_id = syntax_id
        self._warned = False
        codec = CHARSETS.get(syntax_id)
        self.codec = codec or "utf-8"
        d = self.delimiters
        # ``allowed``: the bytes a buffer may consist of to skip per-segment checks
        # (checked with one bytes.translate per buffer, much faster than a regex).
        self.allowed: bytes | None = _PRINTABLE_ASCII
        if syntax_id in ("UNOA", "IATA"):
            seps = "".join({d.component, d.element, d.release, d.repetition, d.segment})
            self.bad: re.Pattern[bytes] | None = re.compile(
                b"[^" + _UNOA_ALLOWED + re.escape(seps).encode("latin-1") + b"]"
            )
            self.allowed = _UNOA_BYTES + seps.encode("latin-1")
        elif syntax_id in ("UNOB", "IATB"):
            self.bad = _BAD_LEVEL_B
        elif codec == "utf-8":
            self.bad = _BAD_UTF8
        elif codec is not None:
            self.bad = _BAD_SINGLE_BYTE
        else:
            self.bad = None  # undeclared (bare messages) or unknown: sniff, no check
            self.allowed = None

    def _decode(self, raw: bytes, start: int) -> str:
        bad = self.bad
        if bad is None:
            if raw.isascii():
                return raw.decode("latin-1")
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw.decode("latin-1")
        m = bad.search(raw)
        if m is None:
            if self.codec != "utf-8":
                # Only allowed ASCII bytes: Latin-1 decoding is exact and fastest.
                return raw.decode("latin-1")
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return self._decode_slow(raw, start, exc.start)
        return self._decode_slow(raw, start, m.start())

    def _decode_slow(self, raw: bytes, start: int, first_bad: int) -> str:
        """Non-ASCII or disallowed bytes: check them against the declared set."""
        codec = self.codec
        problem = ""
        text: str | None = None
        try:
            utf8 = raw.decode("utf-8")
        except UnicodeDecodeError:
            utf8 = None
        if codec == "utf-8":
            if utf8 is None:
                problem = f"bytes that are not UTF-8 although {self.syntax_id} declares UTF-8; decoded as ISO 8859-1"
                text = raw.decode("latin-1")
            else:
                problem = "a control character" if _BAD_UTF8.search(raw) is not None else ""
                text = utf8
        elif codec == "ascii":
            ch = raw[first_bad : first_bad + 1]
            if raw.isascii():
                shown = ch.decode("latin-1")
                problem = f"{shown!r}, which {self.syntax_id} does not allow" + (
                    " (UNOA is upper case only)" if shown.islower() else ""
                )
                text = raw.decode("latin-1")
            elif utf8 is not None:
                problem = f"UTF-8 text although {self.syntax_id} is 7-bit; decoded as UTF-8"
                text = utf8
            else:
                problem = f"8-bit byte 0x{ch.hex()} although {self.syntax_id} is 7-bit; decoded as ISO 8859-1"
                text = raw.decode("latin-1")
        else:
            if utf8 is not None and not raw.isascii():
                problem = f"UTF-8 text although {self.syntax_id} is {_SET_NAMES.get(codec, codec)}; decoded as UTF-8"
                text = utf8
            else:
                try:
                    text = raw.decode(codec)
                except UnicodeDecodeError:
                    problem = (
                        f"bytes undefined in {_SET_NAMES.get(codec, codec)}; decoded as ISO 8859-1"
                    )
                    text = raw.decode("latin-1")
                if not problem and _C1_OR_CONTROL.search(text) is not None:
                    problem = f"control characters, not graphic characters of {_SET_NAMES.get(codec, codec)}"
        assert text is not None
        if problem:
            tag = raw.lstrip(_LAYOUT)[:3].decode("latin-1")
            self._charset_problem(problem, start, first_bad, tag if tag.isalnum() else "")
        return text

    def _charset_problem(self, problem: str, start: int, first_bad: int, tag: str) -> None:
        err = EdifactError(
            ERR_INVALID_CHAR,
            f"segment {self.number} contains {problem}",
            segment=self.number,
            offset=start + first_bad,
            tag=tag,
            reason="EDIFACT_CHARSET",
        )
        if self.policy is CharsetPolicy.REJECT:
            raise err
        if not self._warned:  # one warning per interchange is enough to act on
            self._warned = True
            self.warnings.append(err)

    def _decoded(self, pieces: list[bytes], offset: int, number: int) -> Iterator[str]:
        """Decode pieces one by one (slow path), so charset findings carry a position."""
        for piece in pieces:
            if piece.strip(_LAYOUT):
                number += 1
            self.number = number
            yield self._decode(piece, offset)
            offset += len(piece) + 1

    # -- delimiters ------------------------------------------------------
    def _read_una(self, buf: bytes, at: int) -> None:
        una = buf[at : at + 9].decode("latin-1")
        try:
            self.delimiters = Delimiters.from_una(una)
        except EdifactError as exc:
            exc.offset = self.offset + at
            exc.segment = self.number + 1
            raise
        self.una = True
        self._rep_defaulted = False

    def _sniff(self, head: bytes) -> None:
        """No UNA: choose level A/B defaults from the byte after UNB/UNH."""
        if head[:3] in (b"UNB", b"UNH") and len(head) > 3:
            sep = head[3:4]
            if sep == b"\x1d":
                self.delimiters = Delimiters.level_b()
            elif sep != _b(self.delimiters.element):
                self.delimiters = _DEFAULT_V3
            self.una = False

    def _on_unb(self, seg: Segment) -> None:
        syntax = seg.element(0)
        ident = syntax[0] if syntax else ""
        # At most 4 digits: int() raises on 4301 and more (found in the fuzz campaign).
        version = (
            int(syntax[1])
            if len(syntax) > 1 and syntax[1].isdecimal() and len(syntax[1]) < 5
            else 0
        )
        d = self.delimiters
        if not self.una:
            # No UNA for this interchange: the repetition separator is the default
            # of its syntax version ('*' or IS2 from syntax 4, none before), even
            # when the previous interchange was of another version.
            want = ("\x1e" if d.segment == "\x1c" else "*") if version >= 4 else " "
            if d.repetition != want and (d.repetition == " " or self._rep_defaulted):
                self.delimiters = Delimiters(
                    d.component, d.element, d.decimal, d.release, want, d.segment
                )
                self._rep_defaulted = want != " "
        self.warnings = []
        self._set_charset(ident)

    def _on_unz(self) -> None:
        # The character set stays until the next UNB: a file of many interchanges
        # in one set then never has to be cut again (see the UNB restart). The
        # separators stay too (they cut the rest of the buffer), but they no
        # longer count as declared by a UNA for the next interchange.
        self.warnings = []
        self.una = False

    # -- the cutting loop ------------------------------------------------
    def segments(self, chunks: Iterable[bytes]) -> Iterator[Segment]:
        """Every segment of the byte stream, in order.

        This is the hot loop of the engine. Whatever can be decided once per
        buffer (is it clean ASCII, does it hold release characters, spaces next
        to separators, layout inside segments, a UNA) is decided once per
        buffer with C-speed scans, so the common segment costs a split and a
        tuple build. A clean ASCII buffer is decoded in one call; otherwise each
        segment is decoded on its own under the character-set rules.
        """
        buf = b""
        sniff = True  # at the start of an interchange: look for UNA / defaults
        una_cut = False  # sniff was set again because a segment read as a UNA
        eof = False
        it = iter(chunks)
        number = self.number
        offset = self.offset  # byte offset of buf[0] in the input
        good_tags, envelope = _GOOD_TAGS, _ENVELOPE_TAGS
        sink = self.sink
        plain_run, layout_facts = _active
        new, set_tag, set_elements, set_number, set_repeats = (
            _new_object,
            _set_tag,
            _set_elements,
            _set_number,
            _set_repeats,
        )
        while not eof:
            if self.chunk_marks and sink is not None:
                yield CHUNK_MARK
                sink = self.sink
            chunk = next(it, None)
            if chunk is None:
                eof = True
                chunk = b""
            buf = buf + chunk if buf else bytes(chunk)
            if (
                not sniff
                and not eof
                and _b(self.delimiters.segment) not in chunk
                and len(buf) <= MAX_SEGMENT_BYTES
            ):
                # No terminator came, so no segment ended: cutting the whole buffer again
                # would make a long segment fed in small chunks quadratic (found by fuzzing).
                continue
            while True:
                if sniff:
                    head = buf.lstrip(_LAYOUT)
                    while head.startswith(_BOM):
                        head = head[3:].lstrip(_LAYOUT)
                    if len(head) < 9 and not eof:
                        break  # need more bytes to decide
                    offset += len(buf) - len(head)
                    buf = head
                    sniff = False
                    if head.startswith(b"UNA"):
                        self.offset, self.number = offset, number
                        self._read_una(head, 0)
                        buf = head[9:]
                        offset += 9
                    elif una_cut:
                        # Layout inside the UNA ("U\nNA"): the segment read as a UNA but the
                        # bytes do not start with one; sniffing again would loop forever.
                        raise EdifactError(
                            ERR_INVALID_SEPARATOR,
                            "the UNA service string advice is broken by layout characters",
                            segment=number + 1,
                            offset=offset,
                            tag="UNA",
                        )
                    else:
                        self._sniff(head)
                    una_cut = False
                d = self.delimiters
                el, comp, rel, rep = d.element, d.component, d.active_release, d.active_repetition
                cache = _element_cache(comp)
                element_of = cache.__getitem__
                term_b = _b(d.segment)
                allowed = self.allowed
                fast = buf.isascii() and (allowed is None or not buf.translate(None, allowed))
                if fast:
                    spieces = _split_released(buf.decode("latin-1"), d.segment, rel)
                    rest = buf[len(buf) - len(spieces.pop()) :]
                    lengths: list[str] | list[bytes] = spieces
                    bpieces: list[bytes] = []
                else:
                    bpieces = _split_released(buf, term_b, _b(rel))
                    rest = bpieces.pop()
                    lengths = bpieces
                    spieces = []
                # Per-buffer facts; each False lets every segment skip a check.
                rel_in = bool(rel) and _b(rel) in buf
                rep_in = bool(rep) and _b(rep) in buf
                spaced = (" " + el, el + " ", " " + comp, comp + " ")
                spaced_in, inner_layout = layout_facts(
                    buf, _b(el), _b(comp), _b(rel), term_b, rel_in
                )
                una_in = b"UNA" in buf
                bom_in = _BOM in buf
                layout, drop = " \r\n\t", _DROP_LAYOUT
                if d.segment in "\r\n\t" or d.element in "\r\n\t" or d.component in "\r\n\t":
                    # A UNA made a layout character a separator: it is data now.
                    seps = (d.segment, d.element, d.component, d.release, d.repetition)
                    layout = "".join(c for c in layout if c not in seps)
                    drop = {k: v for k, v in _DROP_LAYOUT.items() if chr(k) not in seps}
                special = inner_layout or bom_in or una_in
                restart_at = -1
                # Ordinary segments go through _plain_run; the loop below sees the others.
                plain = fast and not (special or rep_in or spaced_in)
                release_in = rel if rel_in else ""
                decoded = None if fast else self._decoded(bpieces, offset, number)
                count = len(spieces)
                i = -1
                while True:
                    i += 1
                    if decoded is None:
                        if plain and sink is not None:
                            i, number = plain_run(
                                spieces, i, number, sink, cache, el, release_in, layout
                            )
                        if i >= count:
                            break
                        text = spieces[i]
                    else:
                        following = next(decoded, None)
                        if following is None:
                            break
                        text = following
                    raw = text.strip(layout)
                    if not raw:
                        continue
                    if special:  # one test for the three rare cases below
                        if inner_layout and ("\n" in raw or "\r" in raw or "\t" in raw):
                            raw = raw.translate(drop)
                        if bom_in and raw[0] in "\ufeff\xef":
                            raw = raw.removeprefix("\ufeff").removeprefix("\xef\xbb\xbf")
                            raw = raw.lstrip(layout)
                            if not raw:
                                continue
                        if (
                            una_in
                            and raw.startswith("UNA")
                            and (len(raw) == 3 or not raw[3].isalnum())
                        ):
                            restart_at = i  # a new UNA: the rest is cut with its separators
                            sniff = una_cut = True
                            break
                    number += 1
                    if (
                        (not rel_in or rel not in raw)
                        and (not rep_in or rep not in raw)
                        and (
                            not spaced_in
                            or " " not in raw
                            or not (
                                spaced[0] in raw
                                or spaced[1] in raw
                                or spaced[2] in raw
                                or spaced[3] in raw
                            )
                        )
                    ):
                        parts = raw.split(el)
                        tag = parts[0]
                        if tag not in good_tags:
                            try:
                                tag = _tag_of(tag, comp, number)
                            except EdifactError as exc:
                                exc.offset = offset + _start_of(lengths, i, text, layout)
                                raise
                        del parts[0]
                        seg = new(Segment)
                        set_tag(seg, tag)
                        set_elements(seg, tuple([*map(element_of, parts)]))
                        set_number(seg, number)
                        set_repeats(seg, ())
                    else:
                        try:
                            seg = _parse_segment_general(raw, d, number)
                        except EdifactError as exc:
                            exc.offset = offset + _start_of(lengths, i, text, layout)
                            raise
                        tag = seg.tag
                    if tag not in envelope:
                        if sink is not None:
                            sink(seg)
                        else:
                            yield seg
                            sink = self.sink
                        continue
                    self.number = number
                    if tag == "UNB":
                        old = (self.codec, self.bad)
                        self._on_unb(seg)
                        d = self.delimiters
                        rep = d.active_repetition
                        rep_in = bool(rep) and _b(rep) in buf
                        plain = plain and not rep_in  # a syntax 4 UNB: '*' repeats now
                        if (self.codec, self.bad) != old:
                            # Later segments of this buffer need the new character set.
                            yield seg
                            sink = self.sink
                            restart_at = i + 1
                            break
                    elif tag == "UNZ":
                        self._on_unz()
                        yield seg
                        sink = self.sink
                        # The next interchange may come with other separators (a
                        # UNA, level B) or a BOM: then cut the rest anew.
                        nxt = lengths[i + 1] if i + 1 < len(lengths) else None
                        head = _head(nxt if nxt is not None else rest)
                        if (
                            (nxt is None and len(head) < 9)
                            or head.startswith(b"\xef\xbb\xbf")
                            or head.startswith(b"UNA")
                            or (head[:3] in (b"UNB", b"UNH") and head[3:4] != _b(el))
                        ):
                            restart_at = i + 1
                            sniff = True
                            break
                        continue
                    yield seg
                    sink = self.sink
                if restart_at >= 0:
                    cut = _position(lengths, restart_at)
                    buf = buf[cut:]
                    offset += cut
                    continue
                offset += len(buf) - len(rest)
                if self.collect_young and len(buf) - len(rest) >= _COLLECT_AFTER_BYTES:
                    # parse() pauses the collector; collecting what this buffer made
                    # while it is still in the CPU cache is far cheaper than one pass
                    # over hundreds of thousands of cold objects after the parse.
                    gc.collect(0)
                buf = rest
                if len(buf) > MAX_SEGMENT_BYTES:
                    raise EdifactError(
                        ERR_INVALID_SEPARATOR,
                        f"no segment terminator {d.segment!r} in {len(buf)} bytes: wrong separators or not EDIFACT",
                        segment=number + 1,
                        offset=offset,
                    )
                break
        self.number, self.offset = number, offset
        tail = buf.strip(_LAYOUT)
        if tail:
            # Lenient: a last segment without terminator (trimmed samples) is read.
            tail = tail.translate(None, b"\r\n\t")
            self.number += 1
            seg = parse_segment(self._decode(tail, self.offset), self.delimiters, self.number)
            self.warnings.append(
                EdifactError(
                    ERR_MISSING,
                    f"the last segment ({seg.tag}) has no segment terminator",
                    segment=self.number,
                    offset=self.offset,
                    tag=seg.tag,
                    reason="EDIFACT_LAYOUT",
                )
            )
            yield seg


# ---------------------------------------------------------------------------
# The assembler: Segments -> Interchanges / Messages
# ---------------------------------------------------------------------------


def _interchange_from_unb(seg: Segment, lexer: _Lexer) -> Interchange:
    syntax = seg.element(0)
    version = (
        int(syntax[1]) if len(syntax) > 1 and syntax[1].isdecimal() and len(syntax[1]) < 5 else 0
    )
    return Interchange(
        delimiters=lexer.delimiters,
        syntax_id=syntax[0] if syntax else "",
        syntax_version=version,
        sender=seg.get(1, 0),
        sender_qualifier=seg.get(1, 1),
        recipient=seg.get(2, 0),
        recipient_qualifier=seg.get(2, 1),
        date=seg.get(3, 0),
        time=seg.get(3, 1),
        control_reference=seg.get(4, 0),
        test_indicator=seg.get(10, 0),
        header=seg,
        warnings=lexer.warnings,
        una=lexer.una,
    )


def _message_from_unh(seg: Segment, group_ref: str) -> Message:
    mid = seg.element(1)
    return Message(
        reference=seg.get(0),
        type=mid[0] if mid else "",
        version=mid[1] if len(mid) > 1 else "",
        release=mid[2] if len(mid) > 2 else "",
        agency=mid[3] if len(mid) > 3 else "",
        association=mid[4] if len(mid) > 4 else "",
        segments=[seg],
        group_reference=group_ref,
    )


class MessageBody(Protocol):
    """Where :func:`_assemble` puts a message's segments instead of ``message.segments``."""

    def append(self, segment: Segment) -> None: ...

    @property
    def last(self) -> Segment: ...


def _assemble(
    segments: Iterable[Segment],
    lexer: _Lexer,
    *,
    keep: bool,
    body: Callable[[Message], MessageBody] | None = None,
) -> Iterator[tuple[Interchange, Message | None]]:
    """Group segments into envelopes.

    Yields ``(interchange, message)`` for every message, and ``(interchange, None)``
    when an interchange ends (UNZ, a new UNB, or end of input). With ``keep`` the
    messages are also appended to their interchange and group. With ``body``, each
    message's segments (UNH included, as the first) go to ``body(message)`` instead of
    ``message.segments``, which keeps only the UNH while it is read: the errors are the
    same, raised at the same segments.

    Fatal structure errors (a segment outside any message, UNT without UNH, a
    message without UNT) raise :class:`EdifactError`. A missing UNZ or UNE is
    not fatal here: the interchange/group is closed with ``trailer=None`` and the
    envelope check reports it.
    """
    current: Interchange | None = None
    group: Group | None = None
    message: Message | None = None
    target: MessageBody | list[Segment] = []  # where the open message's segments go
    for seg in segments:
        tag = seg.tag
        if message is not None:
            if tag not in _ENVELOPE_TAGS:
                target.append(seg)
                continue
            if tag == "UNT":
                lexer.sink = None
                target.append(seg)
                assert current is not None
                current.message_count += 1
                if keep:
                    current.messages.append(message)
                if group is not None:
                    group.message_count += 1
                    if keep:
                        group.messages.append(message)
                yield current, message
                message = None
                continue
            if tag in ("UNH", "UNZ", "UNE", "UNB", "UNG"):
                raise EdifactError(
                    ERR_MISSING,
                    f"message {message.reference!r} (UNH at segment {message.segments[0].number}) "
                    f"has no UNT before this {tag}",
                    segment=seg.number,
                    tag="UNT",
                )
            # Other UN* tags (UNS section control) are ordinary message segments.
            target.append(seg)
            continue
        if tag == "UNH":
            if current is None:
                current = Interchange(delimiters=lexer.delimiters, warnings=lexer.warnings)
            message = _message_from_unh(seg, group.reference if group is not None else "")
            if body is None:
                target = message.segments
            else:
                target = body(message)
                target.append(seg)
            lexer.sink = target.append
        elif tag == "UNB":
            if current is not None:
                # The previous interchange never got its UNZ; close it as is.
                yield current, None
            current = _interchange_from_unb(seg, lexer)
            group = None
        elif tag == "UNG":
            if current is None or current.header is None:
                raise EdifactError(
                    ERR_OUTSIDE,
                    "UNG outside an interchange (no UNB)",
                    segment=seg.number,
                    tag="UNG",
                )
            group = Group(reference=seg.get(4), header=seg)
            current.groups.append(group)
        elif tag == "UNE":
            if group is None:
                raise EdifactError(
                    ERR_OUTSIDE, "UNE without a preceding UNG", segment=seg.number, tag="UNE"
                )
            group.trailer = seg
            group = None
        elif tag == "UNZ":
            if current is None or current.header is None:
                raise EdifactError(
                    ERR_OUTSIDE, "UNZ without a preceding UNB", segment=seg.number, tag="UNZ"
                )
            current.trailer = seg
            yield current, None
            current = None
            group = None
        elif tag == "UNT":
            raise EdifactError(
                ERR_OUTSIDE, "UNT without a preceding UNH", segment=seg.number, tag="UNT"
            )
        else:
            raise EdifactError(
                ERR_OUTSIDE,
                f"segment {tag} outside a message (between {'UNB' if current else 'start of input'} and UNH)",
                segment=seg.number,
                tag=tag,
            )
    if message is not None:
        last = target[-1] if isinstance(target, list) else target.last
        raise EdifactError(
            ERR_MISSING,
            f"message {message.reference!r} has no UNT: the input ends inside it",
            segment=last.number,
            tag="UNT",
        )
    if current is not None:
        yield current, None


def _chunks(data: bytes | bytearray | memoryview, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    view = memoryview(data)
    for i in range(0, len(view), size):
        yield view[i : i + size].tobytes()


def parse(
    data: bytes | bytearray | memoryview | str,
    *,
    charset_policy: CharsetPolicy = CharsetPolicy.ACCEPT,
) -> list[Interchange]:
    """Parse every interchange (or run of bare messages) in ``data``.

    Raises :class:`EdifactError` (with a segment number or byte offset) on the
    first fatal problem; never another exception. Envelope counts and references
    are not checked here: :func:`adapters.contrl.acknowledge` does that.

    >>> [ic.control_reference for ic in parse(b"UNB+UNOA:3+A+B+240101:1200+7'UNZ+0+7'")]
    ['7']
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    lexer = _Lexer(charset_policy)
    interchanges: list[Interchange] = []
    # The parser makes hundreds of thousands of small objects and no reference
    # cycles. Left alone, the cyclic GC rescans the growing result again and
    # again in its older generations; paused and never run, it scans all of it
    # once, cold, after the parse. Paused, with a young collection per 64 KiB
    # buffer (while those objects are in the CPU cache), costs least (measured:
    # the parse plus the collections after it take about 30 % less).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    lexer.collect_young = gc_was_enabled
    try:
        for ic, msg in _assemble(lexer.segments(_chunks(data)), lexer, keep=True):
            if msg is None:
                interchanges.append(ic)
    finally:
        if gc_was_enabled:
            gc.enable()
    if not interchanges:
        raise EdifactError(
            ERR_MISSING,
            "the input holds no segment" if lexer.number == 0 else "no UNB or UNH segment found",
            offset=0,
        )
    return interchanges


# ---------------------------------------------------------------------------
# Serialising
# ---------------------------------------------------------------------------


def _escape(value: str, d: Delimiters) -> str:
    rel = d.active_release
    specials = [d.component, d.element, d.segment]
    if d.active_repetition:
        specials.append(d.repetition)
    if rel:
        if rel in value:
            value = value.replace(rel, rel + rel)
        for ch in specials:
            if ch in value:
                value = value.replace(ch, rel + ch)
    return value


def serialize_segment(
    tag: str,
    elements: Sequence[Sequence[str]] | tuple[Element, ...],
    d: Delimiters,
    *,
    trim: bool = True,
    repeats: Sequence[tuple[int, Sequence[Sequence[str]]]] = (),
) -> str:
    """One segment as text, with its terminator.

    With ``trim`` (the default, for building segments) trailing empty components
    and elements are removed; ``trim=False`` writes exactly what is given, which
    :func:`serialize` uses so that parse and serialize are inverse.

    >>> serialize_segment("FTX", [["AAA"], [], [""], ["50+ PCS", ""]], Delimiters())
    "FTX+AAA+++50?+ PCS'"
    """
    rep_map = dict(repeats)
    parts = [tag]
    for idx, element in enumerate(elements):
        occurrences = rep_map.get(idx) or [element]
        texts = []
        for occ in occurrences:
            comps = [_escape(c, d) for c in occ]
            if trim:
                while comps and comps[-1] == "":
                    comps.pop()
            texts.append(d.component.join(comps))
        parts.append(d.repetition.join(texts))
    if trim:
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()
    return d.element.join(parts) + d.segment


def segment_text(seg: Segment, d: Delimiters) -> str:
    """A parsed segment written back exactly (repetitions included)."""
    return serialize_segment(seg.tag, seg.elements, d, trim=False, repeats=seg.repeats)


def _with(seg: Segment, values: dict[int, str]) -> Segment:
    """``seg`` with the first component of some elements replaced (for trailers)."""
    elements = list(seg.elements)
    for idx, value in values.items():
        while len(elements) <= idx:
            elements.append(("",))
        elements[idx] = (value, *elements[idx][1:])
    return _make_segment(seg.tag, tuple(elements), seg.number, seg.repeats)


def serialize_message(
    msg: Message, d: Delimiters, *, recount: bool = True, newline: str = ""
) -> str:
    """The message as text; with ``recount`` the UNT count and reference are computed."""
    segs = msg.segments
    if len(segs) > 1 and segs[-1].tag == "UNT":
        out, unt = [segment_text(s, d) for s in segs[:-1]], segs[-1]
    else:
        out, unt = [segment_text(s, d) for s in segs], _make_segment("UNT", (("",), ("",)), 0)
    if recount:
        unt = _with(unt, {0: str(len(out) + 1), 1: msg.reference})
    out.append(segment_text(unt, d))
    return newline.join(out)


def serialize(
    interchanges: Interchange | Sequence[Interchange],
    *,
    recount: bool = True,
    newline: str = "",
    encoding: str | None = None,
) -> bytes:
    """Write interchanges as bytes in their declared character set.

    A UNA is written when the input had one or the delimiters are not the
    defaults of the syntax version. With ``recount`` the UNT/UNE/UNZ counts and
    references are computed from the content. Characters that the character set
    cannot hold raise ``UnicodeEncodeError`` (choose a wider syntax identifier).

    >>> ic = build_interchange([("1", "CUSRES", "D", "96B", "UN", [Segment("BGM", (("962",),))])],
    ...                        sender="CUSTOMS", recipient="AGENT", reference="9",
    ...                        when=dt.datetime(2024, 1, 2, 3, 4))
    >>> serialize(ic, newline="\\n").decode()
    "UNB+UNOA:3+CUSTOMS+AGENT+240102:0304+9'\\nUNH+1+CUSRES:D:96B:UN'\\nBGM+962'\\nUNT+3+1'\\nUNZ+1+9'"
    """
    items = [interchanges] if isinstance(interchanges, Interchange) else list(interchanges)
    out: list[bytes] = []
    for ic in items:
        d = ic.delimiters
        parts: list[str] = []
        if ic.una or d != Delimiters.default(ic.syntax_version):
            parts.append(d.una())
        if ic.header is not None:
            parts.append(segment_text(ic.header, d))
        if ic.groups:
            for g in ic.groups:
                parts.append(segment_text(g.header, d))
                parts.extend(
                    serialize_message(m, d, recount=recount, newline=newline) for m in g.messages
                )
                une = g.trailer or _make_segment("UNE", (("",), ("",)), 0)
                if recount:
                    une = _with(une, {0: str(len(g.messages)), 1: g.reference})
                parts.append(segment_text(une, d))
            ungrouped = [m for m in ic.messages if not m.group_reference]
        else:
            ungrouped = ic.messages
        parts.extend(serialize_message(m, d, recount=recount, newline=newline) for m in ungrouped)
        if ic.header is not None:
            unz = ic.trailer or _make_segment("UNZ", (("",), ("",)), 0)
            if recount:
                unz = _with(
                    unz, {0: str(len(ic.groups) or len(ic.messages)), 1: ic.control_reference}
                )
            parts.append(segment_text(unz, d))
        text = newline.join(parts)
        codec = encoding or ic.encoding
        try:
            out.append(text.encode(codec))
        except UnicodeEncodeError as exc:
            raise EdifactError(
                ERR_INVALID_CHAR,
                f"{text[exc.start : exc.end]!r} cannot be written in {ic.syntax_id or codec}; "
                "declare a wider character set (e.g. UNOW)",
                offset=exc.start,
            ) from None
    return newline.encode().join(out)


def build_interchange(
    messages: Iterable[tuple[str, str, str, str, str, Sequence[Segment]]],
    *,
    sender: str,
    recipient: str,
    reference: str,
    syntax_id: str = "UNOA",
    syntax_version: int = 3,
    sender_qualifier: str = "",
    recipient_qualifier: str = "",
    when: dt.datetime | None = None,
    delimiters: Delimiters | None = None,
    test_indicator: str = "",
) -> Interchange:
    """An interchange ready to :func:`serialize`, numbered exactly as :func:`parse` would.

    ``messages`` are ``(reference, type, version, release, agency, body)``; the
    UNH/UNT and UNB/UNZ are made here with correct counts. Body segments may be
    made with ``Segment(tag, elements)``; their numbers are assigned.
    """
    when = when or dt.datetime.now(dt.UTC)
    d = delimiters or Delimiters.default(syntax_version)
    date = when.strftime("%Y%m%d" if syntax_version >= 4 else "%y%m%d")
    unb_elements: list[Element] = [
        (syntax_id, str(syntax_version)),
        (sender, sender_qualifier) if sender_qualifier else (sender,),
        (recipient, recipient_qualifier) if recipient_qualifier else (recipient,),
        (date, when.strftime("%H%M")),
        (reference,),
    ]
    if test_indicator:
        unb_elements += [("",)] * 5 + [(test_indicator,)]
    number = 1
    header = _make_segment("UNB", tuple(unb_elements), number)
    msgs: list[Message] = []
    for ref, mtype, version, release, agency, body in messages:
        number += 1
        segs = [_make_segment("UNH", ((ref,), (mtype, version, release, agency)), number)]
        for s in body:
            number += 1
            segs.append(_make_segment(s.tag, s.elements, number, s.repeats))
        number += 1
        segs.append(_make_segment("UNT", ((str(len(segs) + 1),), (ref,)), number))
        msgs.append(Message(ref, mtype, version, release, agency, "", segs))
    number += 1
    trailer = _make_segment("UNZ", ((str(len(msgs)),), (reference,)), number)
    return Interchange(
        delimiters=d,
        syntax_id=syntax_id,
        syntax_version=syntax_version,
        sender=sender,
        sender_qualifier=sender_qualifier,
        recipient=recipient,
        recipient_qualifier=recipient_qualifier,
        date=date,
        time=when.strftime("%H%M"),
        control_reference=reference,
        test_indicator=test_indicator,
        header=header,
        messages=msgs,
        trailer=trailer,
        una=d != Delimiters.default(syntax_version),
        message_count=len(msgs),
    )


def parse_decimal(value: str, delimiters: Delimiters | None = None) -> str:
    """A numeric value with '.' as decimal mark (ISO 9735 allows ',' and '.').

    >>> parse_decimal("12,50")
    '12.50'
    """
    del delimiters  # either mark is accepted whatever the UNA says (ISO 9735 v4, 5.2)
    return value.replace(",", ".")
