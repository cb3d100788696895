"""What a codec did not map, carried verbatim: a canonical document's NotMapped section (issue #16).

Every data element of an accepted EDIFACT message is either mapped into a canonical field or
carried, as sent, in the document's ``not_mapped``. A codec says so per segment, in the branch
that reads it, with a :data:`Shape`: for each data element (0-based after the tag), how many of
its leading components that branch put into canonical fields. :meth:`Residue.account` compares
the segment with its shape once; only what is left over (a value past the shape, a syntax 4
repetition) becomes a :class:`NotMappedElement`. Nothing is recorded per value read: nearly
every segment of a realistic message fits its shape, and the comparison is one pass over the
lengths of its elements in C (issue #8's budget for a 10,000-bill manifest).

A value that a branch reads but cannot keep whole (cut to the canonical field's length, a
mass rounded to grams, a code the canonical field does not take) is kept with
:meth:`Residue.keep`: the field may hold what it can, and the value is carried as sent.

Code-list qualifiers that the canonical field implies are mapped: ``RFF+BM`` is the master
bill field (its qualifier is mapped), ``LOC+9+ITGOA:139:6`` is ``PlaceOfLoading`` (a UN/LOCODE:
code list 139 of UN/ECE, agency 6). A branch gives them a place in its shape only when their
values are the implied ones, so ``LOC+9+ITGOA:ZZZ`` carries its ``ZZZ``.

Service segments (UNH, UNT, UNS ...) are the envelope's: the engine checks them and the
Header's ``Source`` keeps their references; they are not accounted here.

>>> from adapters.edifact import Segment
>>> residue = Residue(first=10)
>>> residue.account(Segment("LOC", (("9",), ("ITGOA", "139", "6")), 12), (1, ALL))
>>> residue.account(Segment("FTX", (("AAI",), ("",), ("",), ("FRAGILE",)), 13), NOTHING)
>>> [(e.tag, e.position, e.value) for e in residue.finish()]
[('FTX', '4:0:0', 'AAI'), ('FTX', '4:3:0', 'FRAGILE')]
"""

from __future__ import annotations

import datetime as dt
from operator import attrgetter, le
from typing import Any, Final, TypeVar

from adapters.common import MappingError
from adapters.edifact import Segment
from gateway.domain.model import NotMappedElement

#: In a shape: every component of the element.
ALL: Final = 255

Shape = tuple[int, ...]
"""Per data element of a segment (0-based after the tag): how many of its leading components
a codec mapped; elements past the end of the shape are not mapped at all."""

#: A segment no canonical field holds: all of it is carried.
NOTHING: Final[Shape] = ()

#: NotMapped elements one message may carry. A partner's profile the gateway does not know is
#: carried, but not without bound (hostile input is normal input: bounded work, issue #14):
#: past it the message is refused, never cut.
NOT_MAPPED_LIMIT: Final = 100_000

Shared = TypeVar("Shared", str, dt.date)


class Residue:
    """The NotMapped elements of one message, as its codec reads it.

    ``first`` is the input number of the message's UNH: positions count from it (UNH = 1).
    :meth:`share` gives the codec one object per value the message repeats.
    """

    __slots__ = ("_at", "_entries", "_first", "_limit", "_shared")

    def __init__(self, first: int, limit: int = NOT_MAPPED_LIMIT) -> None:
        self._entries: list[NotMappedElement] = []
        self._first = first - 1
        self._limit = limit
        self._shared: dict[Any, Any] = {}
        self._at = (0, 0)  # the last segment carried: its input number and its position

    def share(self, value: Shared) -> Shared:
        """``value``, or the equal one this message gave before: a name, country, place or
        date that a thousand travellers repeat is held once by the canonical document, not
        once per traveller (issue #18's memory budget). Strings and dates only (never equal
        to each other); the values are the message's, so the table is as bounded as it is.

        >>> r = Residue(first=1)
        >>> a, b = "".join(["DZ", "ALG"]), "".join(["DZA", "LG"])
        >>> a is b, r.share(a) is r.share(b)
        (False, True)
        """
        shared: Shared = self._shared.setdefault(value, value)
        return shared

    def account(self, seg: Segment, shape: Shape) -> None:
        """``seg`` was read and mapped as far as ``shape`` says: carry the rest."""
        elements = seg.elements
        # The fast path: no element longer than its share of the shape, no repetition.
        if (
            len(elements) <= len(shape)
            and not seg.repeats
            and all(map(le, map(len, elements), shape))
        ):
            return
        self.rest(seg, shape)

    def segment(self, seg: Segment, shape: Shape) -> None:
        """:meth:`account` for a segment of a message body, service segments (UNS) left out."""
        if not seg.tag.startswith("UN"):
            self.account(seg, shape)

    def rest(self, seg: Segment, shape: Shape) -> None:
        """What of ``seg`` its ``shape`` leaves out, carried (:meth:`account` without its fast
        path, for a codec that runs it inline)."""
        width = len(shape)
        for index, element in enumerate(seg.elements):
            mapped = shape[index] if index < width else 0
            if len(element) > mapped:
                for component in range(mapped, len(element)):
                    if element[component]:
                        self._add(seg, index, component, element[component], 0)
        for index, occurrences in seg.repeats:
            for repetition, element in enumerate(occurrences[1:], start=1):
                for component, value in enumerate(element):
                    if value:
                        self._add(seg, index, component, value, repetition)

    def keep(self, seg: Segment, element: int, component: int = 0) -> None:
        """Carry one value of ``seg`` that its shape counts as read but no field holds whole."""
        value = seg.get(element, component)
        if value:
            self._add(seg, element, component, value, 0)

    def implied(self, seg: Segment, element: int, component: int, code: str) -> None:
        """A qualifier read into a field that implies ``code`` (a code list's value): another
        value read into the same field is carried beside it, so the document still says which
        was sent (``DTM+232`` into the expected arrival that ``DTM+132`` implies)."""
        value = seg.get(element, component)
        if value and value != code:
            self._add(seg, element, component, value, 0)

    def _add(self, seg: Segment, element: int, component: int, value: str, repetition: int) -> None:
        if len(self._entries) >= self._limit:
            raise MappingError(
                "TOO_MANY_NOT_MAPPED",
                f"the message holds more than {self._limit} data elements that no canonical "
                "field holds: refused rather than carried without bound or cut",
                f"segment {seg.number} {seg.tag}",
                seg.number,
            )
        first = seg.elements[0][0] if seg.elements and seg.elements[0] else ""
        if self._at[0] != seg.number:
            # One int for the entries of one segment (a DOC's code list and agency).
            self._at = (seg.number, seg.number - self._first)
        self._entries.append(
            NotMappedElement(
                tag=seg.tag,
                segment=self._at[1],
                element=element,
                component=component,
                value=value,
                repetition=repetition,
                qualifier=first or None,
            )
        )

    def finish(self) -> list[NotMappedElement]:
        """The elements carried, in the order of the message, each once (a segment whose
        value was replaced by a later one is carried whole, a value it cut included).

        No tuple per element: a key or a comparison tuple each was 3,000 tuples for a
        1,500-traveller PAXLST, thousands of them kept afterwards in the interpreter's free
        lists (issue #18). They come in order but for a value carried late (``keep``): the
        stable sorts then order them by position, the last key first."""
        entries = self._entries
        if any(map(_after, entries, entries[1:])):
            for key in _POSITION[::-1]:
                entries.sort(key=key)
        if any(map(_same, entries, entries[1:])):
            entries[:] = [
                e for i, e in enumerate(entries) if i == 0 or not _same(entries[i - 1], e)
            ]
        return entries


_POSITION = tuple(attrgetter(name) for name in ("segment", "element", "repetition", "component"))


def _after(a: NotMappedElement, b: NotMappedElement) -> bool:
    """Whether ``a`` comes after ``b`` in the message (by position)."""
    if a.segment != b.segment:
        return a.segment > b.segment
    if a.element != b.element:
        return a.element > b.element
    if a.repetition != b.repetition:
        return a.repetition > b.repetition
    return a.component > b.component


def _same(a: NotMappedElement, b: NotMappedElement) -> bool:
    return (
        a.segment == b.segment
        and a.element == b.element
        and a.repetition == b.repetition
        and a.component == b.component
        and a.value == b.value
        and a.tag == b.tag
        and a.qualifier == b.qualifier
    )


def cut(residue: Residue, seg: Segment, element: int, component: int, limit: int) -> str:
    """Value ``element:component`` of ``seg`` as a field of ``limit`` characters holds it; the
    whole value is carried too when it is longer (the field keeps the first ``limit``).

    >>> from adapters.edifact import Segment
    >>> r = Residue(first=1)
    >>> cut(r, Segment("RFF", (("BM", "B" * 40),), 3), 0, 1, 35) == "B" * 35
    True
    >>> [(e.position, len(e.value)) for e in r.finish()]
    [('3:0:1', 40)]
    """
    value = seg.get(element, component)
    if len(value) > limit:
        residue.keep(seg, element, component)
        return value[:limit]
    return value
