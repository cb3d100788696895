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

from collections.abc import Iterable, Iterator
from typing import BinaryIO

from adapters.edifact.syntax import (
    CHUNK_SIZE,
    CharsetPolicy,
    Interchange,
    Message,
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
) -> Iterator[tuple[Interchange, Message | None]]:
    """``(interchange, message)`` per message, then ``(interchange, None)`` when it ends.

    At the end event the interchange's ``trailer`` (UNZ, or None when missing),
    ``message_count`` and groups are complete, so envelope counts can be checked
    with :func:`adapters.contrl.check_interchange` without keeping the messages.
    """
    lexer = _Lexer(charset_policy)
    yield from _assemble(lexer.segments(_read_chunks(source, chunk_size)), lexer, keep=False)


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
