"""The values of the EDIFACT engine: delimiters, segments, messages, groups, interchanges.

>>> Segment("BGM", (("85",), ("M1",))).get(1), Delimiters().una()
('M1', "UNA:+.? '")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from adapters.edifact.errors import ERR_INVALID_SEPARATOR, ERR_INVALID_SERVICE_CHAR, EdifactError

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

    >>> seg = Segment("NAD", (("CZ",), ("",), ("ACME", "LINE 2")), 7)
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


def _route(unb: Segment | None, element: int) -> tuple[str, ...]:
    """Components 2 and 3 of a UNB party (S002, S003), without trailing empty ones."""
    if unb is None or len(unb.elements) <= element:
        return ()
    parts = unb.elements[element][2:4]
    while parts and not parts[-1]:
        parts = parts[:-1]
    return tuple(parts)


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
    def sender_route(self) -> tuple[str, ...]:
        """UNB S002's components after the qualifier: the address for reverse routing (0008,
        syntax 1-3) or the sender's internal identification and sub-identification (0008,
        0042, syntax 4), given to be found in the answers' recipient (S003 0014, 0046)."""
        return _route(self.header, 1)

    @property
    def recipient_route(self) -> tuple[str, ...]:
        """UNB S003's components after the qualifier: the routing address (0014, syntax 1-3)
        or the recipient's internal identification and sub-identification (0014, 0046)."""
        return _route(self.header, 2)

    @property
    def encoding(self) -> str:
        """Python codec of the declared character set (Latin-1 when unknown)."""
        return CHARSETS.get(self.syntax_id, "latin-1")
