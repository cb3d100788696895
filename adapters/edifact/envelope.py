"""One message of an interchange, alone in a copy of its envelope (issue #15).

When the messages of an interchange are decided one by one, a rejected message is
dead-lettered on its own: the operator replays or edits that message, not its
neighbours that customs already has. Its dead letter is the interchange's own envelope
(UNA, UNB, the UNG of its group) around that one message, with the counts of the
trailers (UNE, UNZ) made right, so that it is a valid interchange again.

>>> data = (b"UNB+UNOA:3+APCS+CUSTOMS+261207:0915+77'"
...         b"UNH+1+CUSCAR:D:95B:UN'BGM+85+A+9'UNT+3+1'"
...         b"UNH+2+CUSCAR:D:95B:UN'BGM+85+B+9'UNT+3+2'UNZ+2+77'")
>>> alone(data, [1])[1].decode()
"UNB+UNOA:3+APCS+CUSTOMS+261207:0915+77'UNH+2+CUSCAR:D:95B:UN'BGM+85+B+9'UNT+3+2'UNZ+1+77'"
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from adapters.edifact.errors import EdifactError
from adapters.edifact.lexer import Lexer
from adapters.edifact.stream import iter_messages, read_chunks
from adapters.edifact.syntax import Group, Interchange, Message, Segment, parse, serialize

# How far into an input its UNB is looked for (a UNA, and a service segment or two).
_HEAD_BYTES = 16 * 1024


def alone(data: bytes, indexes: Iterable[int]) -> dict[int, bytes]:
    """Message ``i`` (in input order, counted from 0) alone in its envelope, for each ``i``.

    Read as a stream: only the wanted messages are held, so a rejected message of a
    50 MB interchange costs its own size. Indexes past the end are left out.
    """
    wanted = set(indexes)
    out: dict[int, bytes] = {}
    if not wanted:
        return out
    last = max(wanted)
    for i, (ic, message) in enumerate(iter_messages(data)):
        if i in wanted:
            out[i] = serialize(_around(ic, message))
        if i >= last:
            break
    return out


def _around(ic: Interchange, message: Message) -> Interchange:
    """``ic``'s envelope holding ``message`` alone (its group's header kept)."""
    groups: list[Group] = []
    if message.group_reference:
        group = next((g for g in ic.groups if g.reference == message.group_reference), None)
        if group is not None:
            groups = [dataclasses.replace(group, messages=[message])]
    return dataclasses.replace(ic, messages=[message], groups=groups, message_count=1, warnings=[])


def head_of(data: bytes) -> tuple[str, str] | None:
    """(sender, control reference) of the input's first UNB, read from its first bytes only.

    For checks that must come before the input is decoded (a reused interchange reference,
    issue #15): the lexer reads segments until the UNB and stops. None when there is no
    readable UNB there; the full read then says what is wrong.

    >>> head_of(b"UNA:+.? 'UNB+UNOA:3+APCS:ZZZ+CUSTOMS+261207:0915+77'UNH+1+X:D:96A:UN'")
    ('APCS', '77')
    >>> head_of(b"UNH+1+CUSCAR:D:95B:UN'") is None
    True
    """
    try:
        for segment in Lexer().segments(read_chunks(data[:_HEAD_BYTES], _HEAD_BYTES)):
            if segment.tag == "UNB":
                sender, reference = segment.get(1), segment.get(4)
                return (sender, reference) if reference else None
            if segment.tag not in ("UNA",):
                return None
    except EdifactError:
        return None
    return None


def first_message_type(data: bytes) -> str:
    """UNH 0065 of the input's first message, read from its first bytes only ("" when none
    is readable there): enough to know an interchange of CONTRLs before it is decoded.

    >>> first_message_type(b"UNB+UNOA:3+APCS+CUSTOMS+261207:0915+77'UNH+1+CONTRL:D:3:UN'")
    'CONTRL'
    >>> first_message_type(b"UNB+UNOA:3+APCS+CUSTOMS+261207:0915+77'")
    ''
    """
    try:
        for segment in Lexer().segments(read_chunks(data[:_HEAD_BYTES], _HEAD_BYTES)):
            if segment.tag == "UNH":
                return segment.get(1)
            if segment.tag not in ("UNA", "UNB", "UNG"):
                return ""
    except EdifactError:
        return ""
    return ""


def with_reference(data: bytes, reference: str) -> bytes:
    r"""``data``, one interchange the gateway wrote, under another control reference (UNB and
    UNZ 0020), written as the gateway's encoders write (a segment a line): the answer kept
    for an identical resend goes out again as an interchange of its own (issue #16).

    >>> with_reference(b"UNB+UNOA:3+CUSTOMS+APCS+261207:0915+1'\nUNH+1+CONTRL:D:3:UN'\n"
    ...                b"UCI+77+APCS+CUSTOMS+7'\nUNT+3+1'\nUNZ+1+1'\n", "42").decode()
    "UNB+UNOA:3+CUSTOMS+APCS+261207:0915+42'\nUNH+1+CONTRL:D:3:UN'\nUCI+77+APCS+CUSTOMS+7'\nUNT+3+1'\nUNZ+1+42'\n"
    """
    [ic] = parse(data)
    if ic.header is None or ic.trailer is None:
        raise ValueError("not an interchange: no UNB or no UNZ")
    header = _replaced(ic.header, 4, reference)
    trailer = _replaced(ic.trailer, 1, reference)
    renamed = dataclasses.replace(ic, header=header, trailer=trailer, control_reference=reference)
    return serialize(renamed, recount=False, newline="\n") + b"\n"


def _replaced(segment: Segment, index: int, value: str) -> Segment:
    """``segment`` with the first component of element ``index`` set to ``value``."""
    elements = list(segment.elements)
    while len(elements) <= index:
        elements.append(("",))
    elements[index] = (value, *elements[index][1:])
    return Segment(segment.tag, tuple(elements), segment.number, segment.repeats)
