"""Streaming access to big interchanges: memory bounded by one message.

:func:`adapters.edifact.parse` keeps every segment of the input. A 50 MB CUSCAR
with a million segments is better read message by message:

>>> import io
>>> data = b"UNB+UNOA:3+A+B+240101:1200+1'UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+3+1'UNZ+1+1'"
>>> [(ic.sender, msg.type, len(msg.segments)) for ic, msg in iter_messages(io.BytesIO(data))]
[('A', 'CUSCAR', 3)]

The input is read in chunks of ``chunk_size`` bytes; only the current chunk, the
current message and the envelope headers are held. The :class:`Interchange`
objects yielded here keep ``messages`` (and ``Group.messages``) empty and count
instead (``message_count``), so nothing grows with the input. Errors are the
same :class:`EdifactError` as :func:`parse` raises, raised when reached.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

from adapters.edifact.syntax import (
    CHUNK_SIZE,
    CharsetPolicy,
    Interchange,
    Message,
    MessageBody,
    Segment,
    _assemble,
    _Lexer,
)

Source = BinaryIO | Iterable[bytes] | bytes | bytearray


def _read_chunks(source: Source, chunk_size: int) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray):
        view = memoryview(source)
        for i in range(0, len(view), chunk_size):
            yield view[i : i + chunk_size].tobytes()
        return
    read = getattr(source, "read", None)
    if read is not None:
        while chunk := read(chunk_size):
            yield bytes(chunk)
        return
    # An iterable of byte strings (e.g. a network body). Tiny pieces are joined up to 4 KiB:
    # the lexer works per chunk, and a long segment in 10-byte pieces was quadratic (fuzzing).
    small = min(chunk_size, 4096)
    pending = bytearray()
    for chunk in source:
        if len(chunk) >= small and not pending:
            yield bytes(chunk)
            continue
        pending += chunk
        if len(pending) >= small:
            yield bytes(pending)
            pending.clear()
    if pending:
        yield bytes(pending)


def iter_interchange_segments(
    source: Source,
    *,
    chunk_size: int = CHUNK_SIZE,
    charset_policy: CharsetPolicy = CharsetPolicy.ACCEPT,
) -> Iterator[Segment]:
    """Every segment of ``source`` in order, envelopes included (UNA is not a segment).

    >>> [s.tag for s in iter_interchange_segments(b"UNA:+.? 'UNH+1+X:D:96A:UN'UNT+2+1'")]
    ['UNH', 'UNT']
    """
    lexer = _Lexer(charset_policy)
    yield from lexer.segments(_read_chunks(source, chunk_size))


def iter_envelope_events(
    source: Source,
    *,
    chunk_size: int = CHUNK_SIZE,
    charset_policy: CharsetPolicy = CharsetPolicy.ACCEPT,
    body: Callable[[Message], MessageBody] | None = None,
) -> Iterator[tuple[Interchange, Message | None]]:
    """``(interchange, message)`` per message, then ``(interchange, None)`` when it ends.

    At the end event the interchange's ``trailer`` (UNZ, or None when missing),
    ``message_count`` and groups are complete, so envelope counts can be checked
    with :func:`adapters.contrl.check_interchange` without keeping the messages.
    With ``body`` (e.g. :class:`ThinMessage`), a message's segments go to
    ``body(message)`` as they are read, not to ``message.segments``.
    """
    lexer = _Lexer(charset_policy)
    yield from _assemble(
        lexer.segments(_read_chunks(source, chunk_size)), lexer, keep=False, body=body
    )


HEAD = 3  # segments a ThinMessage keeps from the start (is_cuscar reads the second and third)


class ThinMessage:
    """What a first read keeps of a message too large to hold (issue #8).

    The message's segments are appended one by one (``iter_envelope_events(..., body=)``):
    it keeps the first ``HEAD``, the first BGM after them, the last and the count, and hands
    every segment to ``start(head)``'s consumer, ``start`` being called with the message
    holding its first ``HEAD`` segments (or all, when shorter) once they are known.
    :meth:`finish` sets ``message.segments`` to what was kept: the head, the BGM, the last.

    >>> kept = []
    >>> def start(head):
    ...     return kept.append
    >>> data = b"UNH+1+CUSCAR:D:95B:UN'BGM+85+M'RFF+AF'RFF+AF'BGM+85'UNT+6+1'"
    >>> thin = []
    >>> def body(m):
    ...     thin.append(ThinMessage(m, start))
    ...     return thin[-1]
    >>> for _, m in iter_envelope_events(data, body=body):
    ...     if m is not None:
    ...         m = thin[-1].finish()
    ...         print([s.tag for s in m.segments], thin[-1].count, len(kept))
    ['UNH', 'BGM', 'RFF', 'UNT'] 6 6
    """

    __slots__ = ("_feed", "_last", "_start", "bgm", "count", "head", "message")

    def __init__(
        self, message: Message, start: Callable[[Message], Callable[[Segment], None]]
    ) -> None:
        self.message = message
        self._start = start
        self._feed: Callable[[Segment], None] | None = None
        self.head: list[Segment] = []
        self.bgm: Segment | None = None  # the first BGM after the head
        self.count = 0
        self._last: Segment | None = None

    def append(self, segment: Segment) -> None:
        self.count += 1
        self._last = segment
        feed = self._feed
        if feed is None:
            self.head.append(segment)
            if len(self.head) == HEAD:
                self._begin()
            return
        if self.bgm is None and segment.tag == "BGM":
            self.bgm = segment
        feed(segment)

    def _begin(self) -> None:
        self._feed = feed = self._start(dataclasses.replace(self.message, segments=list(self.head)))
        for segment in self.head:
            feed(segment)

    @property
    def last(self) -> Segment:
        assert self._last is not None
        return self._last

    def finish(self) -> Message:
        """The message as kept (after its UNT): head, first BGM after it, last segment."""
        if self._feed is None:
            self._begin()
        kept = list(self.head)
        if self.bgm is not None and not any(s.tag == "BGM" for s in kept):
            kept.append(self.bgm)
        if self.count > len(self.head):
            kept.append(self.last)
        self.message.segments = kept
        return self.message


def iter_messages(
    source: Source,
    *,
    chunk_size: int = CHUNK_SIZE,
    charset_policy: CharsetPolicy = CharsetPolicy.ACCEPT,
) -> Iterator[tuple[Interchange, Message]]:
    """Each message with the interchange it belongs to, one at a time."""
    for ic, msg in iter_envelope_events(
        source, chunk_size=chunk_size, charset_policy=charset_policy
    ):
        if msg is not None:
            yield ic, msg
