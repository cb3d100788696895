"""Streaming access to big interchanges: memory bounded by one message.

:func:`adapters.edifact.parse` keeps every segment of the input. A 50 MB CUSCAR
with a million segments is better read message by message:

>>> import io
>>> data = b"UNB+UNOA:3+A+B+240101:1200+1'UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+3+1'UNZ+1+1'"
>>> [(ic.sender, msg.type, len(msg.segments)) for ic, msg in iter_messages(io.BytesIO(data))]
[('A', 'CUSCAR', 3)]

The input is read in chunks of ``policy.chunk_size`` bytes (:class:`ReadPolicy`); only
the current chunk, the current message and the envelope headers are held. The :class:`Interchange`
objects yielded here keep ``messages`` (and ``Group.messages``) empty and count
instead (``message_count``), so nothing grows with the input. Errors are the
same :class:`EdifactError` as :func:`parse` raises, raised when reached.

:class:`MessageRereader` reads an input a second time, message by message, for a caller
that checked it whole first and now decodes each message as its segments come
(``gateway.service.pipeline``, issue #8).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

from adapters.edifact.assembler import MessageBody, assemble
from adapters.edifact.lexer import Lexer
from adapters.edifact.model import CHUNK_MARK, Interchange, Message, Segment
from adapters.edifact.policy import DEFAULT, CharsetPolicy, ReadPolicy, effective

Source = BinaryIO | Iterable[bytes] | bytes | bytearray
REREAD_CHUNK_SIZE = 1 << 14  # what MessageRereader takes at a time (issue #18)


def read_chunks(source: Source, chunk_size: int) -> Iterator[bytes]:
    """``source`` (bytes, a binary file, or an iterable of byte strings) in chunks.

    >>> list(read_chunks(b"UNH+1'UNT+2+1'", 6))
    [b"UNH+1'", b'UNT+2+', b"1'"]
    """
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
    policy: ReadPolicy = DEFAULT,
    chunk_size: int | None = None,
    charset_policy: CharsetPolicy | None = None,
) -> Iterator[Segment]:
    """Every segment of ``source`` in order, envelopes included (UNA is not a segment).

    ``chunk_size`` and ``charset_policy`` are short for ``policy.replace(...)``.

    >>> [s.tag for s in iter_interchange_segments(b"UNA:+.? 'UNH+1+X:D:96A:UN'UNT+2+1'")]
    ['UNH', 'UNT']
    """
    policy = effective(policy, charset_policy, chunk_size)
    lexer = Lexer(policy)
    yield from lexer.segments(read_chunks(source, policy.chunk_size))


def iter_envelope_events(
    source: Source,
    *,
    policy: ReadPolicy = DEFAULT,
    body: Callable[[Message], MessageBody] | None = None,
    chunk_size: int | None = None,
    charset_policy: CharsetPolicy | None = None,
) -> Iterator[tuple[Interchange, Message | None]]:
    """``(interchange, message)`` per message, then ``(interchange, None)`` when it ends.

    At the end event the interchange's ``trailer`` (UNZ, or None when missing),
    ``message_count`` and groups are complete, so envelope counts can be checked
    with :func:`adapters.contrl.check_interchange` without keeping the messages.
    With ``body`` (e.g. :class:`ThinMessage`), a message's segments go to
    ``body(message)`` as they are read, not to ``message.segments``.
    ``chunk_size`` and ``charset_policy`` are short for ``policy.replace(...)``.
    """
    policy = effective(policy, charset_policy, chunk_size)
    lexer = Lexer(policy)
    yield from assemble(
        lexer.segments(read_chunks(source, policy.chunk_size)), lexer, keep=False, body=body
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
    policy: ReadPolicy = DEFAULT,
    chunk_size: int | None = None,
    charset_policy: CharsetPolicy | None = None,
) -> Iterator[tuple[Interchange, Message]]:
    """Each message with the interchange it belongs to, one at a time.

    ``chunk_size`` and ``charset_policy`` are short for ``policy.replace(...)``.
    """
    for ic, msg in iter_envelope_events(
        source, policy=effective(policy, charset_policy, chunk_size)
    ):
        if msg is not None:
            yield ic, msg


class MessageRereader:
    """The input read again, once in all: the segments of message ``index``, messages in order.

    For a caller that read the input a first time (checking it, keeping little) and now
    decodes message after message. Messages skipped (not asked for) are read past; the
    segments are the first read's (the same bytes, the same lexer), numbered alike. A
    message's body goes to the lexer's sink and is taken a chunk at a time: the lexer's fast
    path, one chunk held.

    >>> data = b"UNH+1+X:D:96A:UN'BGM+1'UNT+3+1'UNH+2+X:D:96A:UN'BGM+2'UNT+3+2'"
    >>> [(s.tag, s.number) for s in MessageRereader(data).segments(1)]
    [('UNH', 4), ('BGM', 5), ('UNT', 6)]
    """

    def __init__(self, data: Source, policy: ReadPolicy = DEFAULT) -> None:
        self._data = data
        self._policy = policy
        self._lexer: Lexer | None = None
        self._segments: Iterator[Segment] | None = None
        self._next = 0  # the index of the next UNH

    def segments(self, index: int) -> Iterator[Segment]:
        """UNH..UNT of message ``index`` (at or after the messages already given)."""
        if self._lexer is None:
            self._lexer = Lexer(self._policy)
            self._lexer.chunk_marks = True
            # Smaller chunks than the first read's: a chunk's segments are held until the
            # decoder has them (64 KiB of text is some 5,000 segments, 3x a 260 KB PAXLST).
            chunk = min(self._policy.chunk_size, REREAD_CHUNK_SIZE)
            self._segments = self._lexer.segments(read_chunks(self._data, chunk))
        lexer, segments = self._lexer, self._segments
        assert segments is not None
        skipped: deque[Segment] = deque(maxlen=0)
        if lexer.sink is not None:  # the last message given was not read to its end
            lexer.sink = skipped.append
        for seg in segments:
            if seg.tag == "UNH":
                self._next += 1
                if self._next == index + 1:
                    yield seg
                    break
                lexer.sink = skipped.append  # a message read past: its body dropped
            elif seg.tag == "UNT":
                lexer.sink = None
        pending: list[Segment] = []
        lexer.sink = pending.append
        for seg in segments:
            if seg is CHUNK_MARK or seg.tag == "UNT":
                yield from pending
                pending.clear()
                if seg is CHUNK_MARK:
                    continue
                lexer.sink = None
                yield seg
                return
            yield seg  # (not expected: with a sink, the lexer yields only envelopes)
