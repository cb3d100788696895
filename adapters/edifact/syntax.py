"""UN/EDIFACT syntax (ISO 9735): service string advice, segments, envelopes.

This module knows nothing about message types; it turns bytes into
:class:`Interchange` objects and back. Every problem is an :class:`EdifactError`
carrying a syntax error code (service code list 0085) and a position, so that
callers can build a CONTRL without guessing.

>>> ic = parse(b"UNB+UNOA:3+SND+RCV+240101:1200+1'UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+3+1'UNZ+1+1'")[0]
>>> ic.messages[0].type, ic.messages[0].segments[1].get(0)
('CUSCAR', '85')
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

# Service code list 0085 (syntax error codes) used by the engine.
ERR_UNSUPPORTED_SYNTAX = "2"  # syntax level/version not supported
ERR_INVALID_CHAR = "21"  # invalid character
ERR_INVALID_SEPARATOR = "22"  # invalid service character
ERR_COUNT_MISMATCH = "29"  # control count does not match
ERR_REF_MISMATCH = "28"  # control reference mismatch
ERR_MISSING = "13"  # missing segment/element
ERR_SEGMENT_TAG = "14"  # unknown or misplaced segment
ERR_DATE = "18"  # invalid date
ERR_NOT_SUPPORTED = "2"

CHARSETS = {
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
    "UNOY": "utf-8",
    "IATA": "ascii",
    "IATB": "ascii",
}


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
        parts = []
        if self.segment is not None:
            parts.append(f"segment {self.segment}")
        if self.tag:
            parts.append(self.tag)
        if self.element is not None:
            parts.append(f"element {self.element}")
        if self.component is not None:
            parts.append(f"component {self.component}")
        if self.offset is not None:
            parts.append(f"offset {self.offset}")
        return ", ".join(parts) or "interchange"


@dataclass(frozen=True, slots=True)
class Delimiters:
    component: str = ":"
    element: str = "+"
    decimal: str = "."
    release: str = "?"
    repetition: str = " "  # a space means "not used" (syntax 1-3)
    segment: str = "'"

    @classmethod
    def from_una(cls, una: str) -> Delimiters:
        if len(una) < 9 or not una.startswith("UNA"):
            raise EdifactError(ERR_INVALID_SEPARATOR, "UNA service string advice is truncated", offset=0, tag="UNA")
        c, e, d, r, rep, s = una[3], una[4], una[5], una[6], una[7], una[8]
        if len({c, e, s}) != 3:
            raise EdifactError(ERR_INVALID_SEPARATOR, "UNA declares the same character for two separators", tag="UNA")
        return cls(c, e, d, r, rep, s)

    def una(self) -> str:
        return f"UNA{self.component}{self.element}{self.decimal}{self.release}{self.repetition}{self.segment}"


Element = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: a tag and its data elements, each a tuple of components.

    Repeated data elements (syntax 4) keep their first occurrence in ``elements``
    and all occurrences in ``repeats``.
    """

    tag: str
    elements: tuple[Element, ...] = ()
    number: int = 0  # 1-based position in the input
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


@dataclass(slots=True)
class Message:
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

    def body(self) -> list[Segment]:
        return self.segments[1:-1]


@dataclass(slots=True)
class Interchange:
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

    @property
    def encoding(self) -> str:
        return CHARSETS.get(self.syntax_id, "latin-1")


_LAYOUT = re.compile(r"[\r\n\t]+")


def decode_bytes(data: bytes) -> tuple[str, list[EdifactError]]:
    """Decode the raw bytes: strip a BOM, try UTF-8, fall back to Latin-1."""
    warnings: list[EdifactError] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), warnings
    except UnicodeDecodeError:
        return data.decode("latin-1"), warnings


def _split(text: str, sep: str, release: str) -> list[str]:
    """Split on ``sep`` where it is not preceded by an odd run of release characters."""
    if release not in text:
        return text.split(sep)
    out: list[str] = []
    buf: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == release and i + 1 < n:
            buf.append(ch)
            buf.append(text[i + 1])
            i += 2
            continue
        if ch == sep:
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    out.append("".join(buf))
    return out


def _unescape(value: str, release: str) -> str:
    if release not in value:
        return value
    out = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == release and i + 1 < len(value):
            out.append(value[i + 1])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def iter_segments(text: str, delimiters: Delimiters) -> Iterator[tuple[str, int]]:
    """Yield (raw segment text, character offset) for every segment in ``text``."""
    d = delimiters
    offset = 0
    for raw in _split(text, d.segment, d.release):
        start = offset
        offset += len(raw) + 1
        stripped = _LAYOUT.sub("", raw).strip(" ") if ("\n" in raw or "\r" in raw or "\t" in raw) else raw.strip(" ")
        if stripped:
            yield stripped, start


def parse_segment(raw: str, delimiters: Delimiters, number: int) -> Segment:
    d = delimiters
    parts = _split(raw, d.element, d.release)
    tag = parts[0].split(d.component, 1)[0].strip()
    if not (len(tag) == 3 and tag.isalnum() and tag.isupper()):
        raise EdifactError(ERR_SEGMENT_TAG, f"'{tag[:10]}' is not a segment tag", segment=number, tag=tag[:3])
    elements: list[Element] = []
    repeats: list[tuple[int, tuple[Element, ...]]] = []
    rep = d.repetition if d.repetition.strip() else ""
    for idx, part in enumerate(parts[1:]):
        if rep and rep in part:
            occurrences = tuple(
                tuple(_unescape(c, d.release) for c in _split(r, d.component, d.release))
                for r in _split(part, rep, d.release)
            )
            elements.append(occurrences[0])
            repeats.append((idx, occurrences))
        else:
            elements.append(tuple(_unescape(c, d.release) for c in _split(part, d.component, d.release)))
    return Segment(tag, tuple(elements), number, tuple(repeats))


def parse(data: bytes) -> list[Interchange]:
    """Parse every interchange (or bare message) in ``data``.

    Raises :class:`EdifactError` on the first fatal problem.
    """
    text, warnings = decode_bytes(data)
    text = text.lstrip(" \r\n\t")
    if not text:
        raise EdifactError(ERR_MISSING, "the input is empty", offset=0)
    interchanges: list[Interchange] = []
    pos = 0
    delimiters = Delimiters()
    if text.startswith("UNA"):
        delimiters = Delimiters.from_una(text[:9])
        pos = 9
    current: Interchange | None = None
    message: Message | None = None
    group_ref = ""
    number = 0
    for raw, _offset in iter_segments(text[pos:], delimiters):
        number += 1
        if raw.startswith("UNA") and len(raw) >= 8 and not raw[3].isalnum():
            # A further UNA inside the file: new separators for what follows.
            delimiters = Delimiters.from_una(raw + delimiters.segment)
            continue
        seg = parse_segment(raw, delimiters, number)
        tag = seg.tag
        if tag == "UNB":
            syntax = seg.element(0)
            version = int(syntax[1]) if len(syntax) > 1 and syntax[1].isdigit() else 3
            if version >= 4 and delimiters.repetition == " ":
                delimiters = Delimiters(
                    delimiters.component, delimiters.element, delimiters.decimal, delimiters.release, "*", delimiters.segment
                )
            current = Interchange(
                delimiters=delimiters,
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
                warnings=list(warnings),
            )
            interchanges.append(current)
        elif tag == "UNG":
            group_ref = seg.get(4, 0)
        elif tag == "UNE":
            group_ref = ""
        elif tag == "UNH":
            if current is None:
                current = Interchange(delimiters=delimiters, warnings=list(warnings))
                interchanges.append(current)
            mid = seg.element(1)
            message = Message(
                reference=seg.get(0),
                type=mid[0] if mid else "",
                version=mid[1] if len(mid) > 1 else "",
                release=mid[2] if len(mid) > 2 else "",
                agency=mid[3] if len(mid) > 3 else "",
                association=mid[4] if len(mid) > 4 else "",
                segments=[seg],
                group_reference=group_ref,
            )
        elif tag == "UNT":
            if message is None:
                raise EdifactError(ERR_SEGMENT_TAG, "UNT without a preceding UNH", segment=number, tag="UNT")
            message.segments.append(seg)
            assert current is not None
            current.messages.append(message)
            message = None
        elif tag == "UNZ":
            if message is not None:
                raise EdifactError(ERR_MISSING, f"message {message.reference} has no UNT", segment=number, tag="UNZ")
            current = None
        elif message is not None:
            message.segments.append(seg)
        else:
            raise EdifactError(ERR_SEGMENT_TAG, f"segment {tag} outside a message", segment=number, tag=tag)
    if message is not None:
        raise EdifactError(ERR_MISSING, f"message {message.reference} has no UNT", segment=number, tag="UNT")
    if not interchanges:
        raise EdifactError(ERR_MISSING, "no UNB or UNH segment found", offset=0)
    return interchanges


def _escape(value: str, d: Delimiters) -> str:
    specials = {d.component, d.element, d.release, d.segment}
    if d.repetition.strip():
        specials.add(d.repetition)
    if not any(ch in value for ch in specials):
        return value
    return "".join(d.release + ch if ch in specials else ch for ch in value)


def serialize_segment(tag: str, elements: list[list[str]] | tuple[Element, ...], d: Delimiters) -> str:
    """One segment as text, trailing empty components and elements removed."""
    parts = [tag]
    for element in elements:
        comps = [_escape(c, d) for c in element]
        while comps and comps[-1] == "":
            comps.pop()
        parts.append(d.component.join(comps))
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return d.element.join(parts) + d.segment
