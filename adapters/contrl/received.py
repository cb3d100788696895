"""A partner's CONTRL, read: which interchange of ours it answers, and what it says of it.

The gateway never answers a CONTRL (ISO 9735-5: a CONTRL is not acknowledged); it reads one
only to record it: the UCI names the interchange it answers (0020, the gateway's own control
reference) and the action taken (0083: 7 acknowledged, 8 received, 4 rejected), with an
error code (0085) when there is one; a UCF or UCM with action 4 rejects a part of it.

>>> from adapters.edifact import parse
>>> [ic] = parse(b"UNB+UNOA:3+APCS+CUSTOMS+261207:0915+77'UNH+9+CONTRL:D:3:UN'"
...              b"UCI+12+CUSTOMS+APCS+4+13+UNB'UNT+3+9'UNZ+1+77'")
>>> report = read_received(ic.messages[0])
>>> report.interchange, report.acknowledges, report.summary()
('12', False, 'rejects interchange 12 (UCI action 4, error 13 at UNB)')
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.contrl.report import ACTION_REJECTED
from adapters.edifact.syntax import Message

# What a UCI's action code means, in words.
_ACTIONS = {"4": "rejects", "7": "acknowledges", "8": "received"}


@dataclass(frozen=True, slots=True)
class ReceivedContrl:
    """What a partner's CONTRL message says of one of the gateway's interchanges."""

    reference: str  # the CONTRL's own UNH 0062
    interchange: str  # UCI 0020: the control reference of the interchange it answers
    action: str  # UCI 0083
    error: str = ""  # UCI 0085, with its segment tag (0013) when given
    error_tag: str = ""
    rejected_parts: tuple[str, ...] = ()  # UCF 0048 / UCM 0062 whose action is 4

    @property
    def acknowledges(self) -> bool:
        """True when nothing is rejected: UCI 7 or 8 and no group or message refused."""
        return self.action in ("7", "8") and not self.rejected_parts

    def summary(self) -> str:
        """What it says, in words (for the journal and a dead letter's reason)."""
        verb = _ACTIONS.get(self.action, f"answers (UCI action {self.action or 'missing'})")
        words = f"{verb} interchange {self.interchange or '(none named)'}"
        detail = [f"UCI action {self.action}"] if self.action in _ACTIONS else []
        if self.error:
            detail.append(
                f"error {self.error}" + (f" at {self.error_tag}" if self.error_tag else "")
            )
        if self.rejected_parts:
            detail.append(f"rejected: {', '.join(self.rejected_parts[:10])}")
        return words + (f" ({', '.join(detail)})" if detail else "")


def read_received(message: Message) -> ReceivedContrl:
    """The UCI and the rejected UCF/UCM of one CONTRL message (any syntax version).

    Values are cut to their data element's size (0020 an..14, 0083 an..3, 0085 an..3): what
    a partner wrote is only ever recorded, never trusted for its length.
    """
    uci = next((s for s in message.segments if s.tag == "UCI"), None)
    rejected = tuple(
        s.get(0)[:14]
        for s in message.segments
        if s.tag in ("UCF", "UCM") and s.get(3 if s.tag == "UCF" else 2) == ACTION_REJECTED
    )
    if uci is None:
        return ReceivedContrl(message.reference[:14], "", "", rejected_parts=rejected)
    return ReceivedContrl(
        reference=message.reference[:14],
        interchange=uci.get(0)[:14],
        action=uci.get(3)[:3],
        error=uci.get(4)[:3],
        error_tag=uci.get(5)[:3],
        rejected_parts=rejected,
    )
