"""The assembler: segments -> interchanges, groups and messages; and :func:`parse`.

:func:`parse` keeps everything; :func:`adapters.edifact.stream.iter_messages` keeps one
message at a time, so memory stays bounded on huge interchanges. Both go through
:func:`assemble`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from adapters.edifact.errors import ERR_MISSING, ERR_OUTSIDE, EdifactError
from adapters.edifact.lexer import Lexer
from adapters.edifact.model import Group, Interchange, Message, Segment
from adapters.edifact.policy import CHUNK_SIZE, DEFAULT, CharsetPolicy, ReadPolicy, effective
from adapters.edifact.splitting import _ENVELOPE_TAGS


def _interchange_from_unb(seg: Segment, lexer: Lexer) -> Interchange:
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
    """Where :func:`assemble` puts a message's segments instead of ``message.segments``."""

    def append(self, segment: Segment) -> None: ...

    @property
    def last(self) -> Segment: ...


def assemble(
    segments: Iterable[Segment],
    lexer: Lexer,
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
    policy: ReadPolicy = DEFAULT,
    charset_policy: CharsetPolicy | None = None,
) -> list[Interchange]:
    """Parse every interchange (or run of bare messages) in ``data``.

    Raises :class:`EdifactError` (with a segment number or byte offset) on the
    first fatal problem; never another exception. Envelope counts and references
    are not checked here: :func:`adapters.contrl.acknowledge` does that.
    ``policy`` says how to read (:class:`ReadPolicy`); ``charset_policy`` is short for
    ``policy.replace(charset=...)``.

    >>> [ic.control_reference for ic in parse(b"UNB+UNOA:3+A+B+240101:1200+7'UNZ+0+7'")]
    ['7']
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    policy = effective(policy, charset_policy)
    lexer = Lexer(policy)
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
        chunks = _chunks(data, policy.chunk_size)
        for ic, msg in assemble(lexer.segments(chunks), lexer, keep=True):
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
