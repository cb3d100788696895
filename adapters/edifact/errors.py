"""Syntax errors of the EDIFACT engine: the codes of service code list 0085 and
:class:`EdifactError`, which carries one of them and where it was found."""

from __future__ import annotations

from typing import Final

# ---------------------------------------------------------------------------
# Service code list 0085 (syntax error codes) used by the engine.
# ---------------------------------------------------------------------------
ERR_SYNTAX_NOT_SUPPORTED: Final = "2"  # syntax level (character set) or version not supported
ERR_NOT_ACTUAL_RECIPIENT: Final = "7"  # interchange recipient (UNB S003) not the actual recipient
ERR_INVALID_VALUE: Final = "12"  # invalid value (e.g. a calendar date that does not exist)
ERR_MISSING: Final = "13"  # missing (segment, element or component)
ERR_VALUE_NOT_SUPPORTED: Final = "14"  # value not supported in this position (a message type)
ERR_TOO_MANY: Final = "16"  # too many constituents (data elements, components)
ERR_UNSPECIFIED: Final = "18"  # unspecified error
ERR_INVALID_SERVICE_CHAR: Final = "20"  # character invalid as service character (UNA)
ERR_INVALID_CHAR: Final = "21"  # character not in the character set declared in UNB
ERR_INVALID_SEPARATOR: Final = "22"  # invalid service character(s)
ERR_UNKNOWN_SENDER: Final = "23"  # unknown interchange sender (UNB S002)
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
