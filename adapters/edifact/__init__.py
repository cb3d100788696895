"""The UN/EDIFACT engine: syntax (ISO 9735), envelopes and service messages.

Message-type mappings (CUSCAR, PAXLST, ...) live beside it in ``adapters/``.
See docs/edifact.md for the API, the character-set policy and the error codes.
"""

from adapters.edifact.stream import iter_envelope_events, iter_interchange_segments, iter_messages
from adapters.edifact.syntax import (
    CharsetPolicy,
    Delimiters,
    EdifactError,
    Group,
    Interchange,
    Message,
    Segment,
    build_interchange,
    parse,
    parse_segment,
    serialize,
    serialize_message,
    serialize_segment,
)

__all__ = [
    "CharsetPolicy",
    "Delimiters",
    "EdifactError",
    "Group",
    "Interchange",
    "Message",
    "Segment",
    "build_interchange",
    "iter_envelope_events",
    "iter_interchange_segments",
    "iter_messages",
    "parse",
    "parse_segment",
    "serialize",
    "serialize_message",
    "serialize_segment",
]
