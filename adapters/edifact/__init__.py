"""The UN/EDIFACT engine: syntax (ISO 9735), envelopes and service messages.

Message-type mappings (CUSCAR, PAXLST, ...) live beside it in ``adapters/``.
"""

from adapters.edifact.syntax import (
    Delimiters,
    EdifactError,
    Interchange,
    Message,
    Segment,
    parse,
    serialize_segment,
)

__all__ = [
    "Delimiters",
    "EdifactError",
    "Interchange",
    "Message",
    "Segment",
    "parse",
    "serialize_segment",
]
