"""UN/EDIFACT syntax (ISO 9735): service string advice, segments, envelopes.

This package knows nothing about message types; it turns bytes into
:class:`Interchange` objects and back. Every problem is an :class:`EdifactError`
carrying a syntax error code (service code list 0085) and a position, so that
callers can build a CONTRL without guessing.

>>> ic = parse(b"UNB+UNOA:3+SND+RCV+240101:1200+1'UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+3+1'UNZ+1+1'")[0]
>>> ic.messages[0].type, ic.messages[0].segments[1].get(0)
('CUSCAR', '85')
>>> serialize(ic) == b"UNB+UNOA:3+SND+RCV+240101:1200+1'UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+3+1'UNZ+1+1'"
True

This module gathers the engine's public names; the engine itself is split along its
seams (see docs/edifact.md for the policy decisions):

* :mod:`adapters.edifact.errors`: the syntax error codes and :class:`EdifactError`;
* :mod:`adapters.edifact.model`: :class:`Delimiters`, :class:`Segment`, :class:`Message`,
  :class:`Group`, :class:`Interchange`;
* :mod:`adapters.edifact.policy`: :class:`ReadPolicy`, every threshold and mode of reading;
* :mod:`adapters.edifact.splitting`: released separators, tags, one segment's text;
* :mod:`adapters.edifact.lexer`: :class:`Lexer` cuts byte chunks into segments, following
  UNA/UNB, its hot loop in :mod:`adapters.edifact.hotloop` (pure, or the compiled
  ``_fastlex``; :data:`LEXER` says which);
* :mod:`adapters.edifact.assembler`: :func:`assemble` groups segments into envelopes;
  :func:`parse` keeps everything, :func:`adapters.edifact.stream.iter_messages` one message
  at a time so memory stays bounded on huge interchanges;
* :mod:`adapters.edifact.serializer`: :func:`serialize`, :func:`build_interchange`.
"""

from __future__ import annotations

from adapters.edifact import hotloop
from adapters.edifact.assembler import MessageBody, assemble, parse
from adapters.edifact.errors import (
    ERR_CHAR_TYPE,
    ERR_COUNT_MISMATCH,
    ERR_DATE,
    ERR_DUPLICATE,
    ERR_GROUPS_AND_MESSAGES_MIXED,
    ERR_INVALID_CHAR,
    ERR_INVALID_SEPARATOR,
    ERR_INVALID_SERVICE_CHAR,
    ERR_INVALID_VALUE,
    ERR_LOWER_LEVEL_EMPTY,
    ERR_MISSING,
    ERR_NOT_ACTUAL_RECIPIENT,
    ERR_NOT_SUPPORTED,
    ERR_OUTSIDE,
    ERR_REF_MISMATCH,
    ERR_SEGMENT_TAG,
    ERR_SYNTAX_NOT_SUPPORTED,
    ERR_TOO_LONG,
    ERR_TOO_MANY,
    ERR_TOO_SHORT,
    ERR_UNKNOWN_SENDER,
    ERR_UNSPECIFIED,
    ERR_UNSUPPORTED_SYNTAX,
    ERR_VALUE_NOT_SUPPORTED,
    EdifactError,
    describe_position,
)
from adapters.edifact.hotloop import LEXER_IMPLEMENTATIONS, available_lexers, use_lexer
from adapters.edifact.lexer import Lexer
from adapters.edifact.model import (
    CHARSETS,
    CHUNK_MARK,
    Delimiters,
    Element,
    Group,
    Interchange,
    Message,
    Segment,
)
from adapters.edifact.policy import (
    CHUNK_SIZE,
    MAX_SEGMENT_BYTES,
    CharsetPolicy,
    ReadPolicy,
)
from adapters.edifact.serializer import (
    build_interchange,
    segment_text,
    serialize,
    serialize_message,
    serialize_segment,
)
from adapters.edifact.splitting import iter_segments, parse_decimal, parse_segment

__all__ = [
    "CHARSETS",
    "CHUNK_MARK",
    "CHUNK_SIZE",
    "ERR_CHAR_TYPE",
    "ERR_COUNT_MISMATCH",
    "ERR_DATE",
    "ERR_DUPLICATE",
    "ERR_GROUPS_AND_MESSAGES_MIXED",
    "ERR_INVALID_CHAR",
    "ERR_INVALID_SEPARATOR",
    "ERR_INVALID_SERVICE_CHAR",
    "ERR_INVALID_VALUE",
    "ERR_LOWER_LEVEL_EMPTY",
    "ERR_MISSING",
    "ERR_NOT_ACTUAL_RECIPIENT",
    "ERR_NOT_SUPPORTED",
    "ERR_OUTSIDE",
    "ERR_REF_MISMATCH",
    "ERR_SEGMENT_TAG",
    "ERR_SYNTAX_NOT_SUPPORTED",
    "ERR_TOO_LONG",
    "ERR_TOO_MANY",
    "ERR_TOO_SHORT",
    "ERR_UNKNOWN_SENDER",
    "ERR_UNSPECIFIED",
    "ERR_UNSUPPORTED_SYNTAX",
    "ERR_VALUE_NOT_SUPPORTED",
    "LEXER_IMPLEMENTATIONS",
    "MAX_SEGMENT_BYTES",
    "CharsetPolicy",
    "Delimiters",
    "EdifactError",
    "Element",
    "Group",
    "Interchange",
    "Lexer",
    "Message",
    "MessageBody",
    "ReadPolicy",
    "Segment",
    "assemble",
    "available_lexers",
    "build_interchange",
    "describe_position",
    "iter_segments",
    "parse",
    "parse_decimal",
    "parse_segment",
    "segment_text",
    "serialize",
    "serialize_message",
    "serialize_segment",
    "use_lexer",
]


def __getattr__(name: str) -> str:
    # LEXER changes with use_lexer(): read it where it lives, never a copy made at import.
    if name == "LEXER":
        return hotloop.LEXER
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
