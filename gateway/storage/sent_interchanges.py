"""The gateway's own interchange control references: one counter per partner (issue #16).

Every interchange the gateway sends to a partner (CONTRL, APERAK, CUSRES) gets its own UNB/UNZ
0020, unique per partner and never reused: a translator that drops duplicate interchanges
would throw a second ``1`` away. The journal keeps, per partner, the last number given, and
for each reference the id of the outbound message that carries it (its *owner*, derived from
the inbound message: ``derived_id(inbound_id, "ack")``) and the message it is *about* (the
one whose history a partner's CONTRL of it belongs to). Asked again for the same owner (a
redelivery decided afresh), the journal gives the same reference: no second number, no gap.

The tables are portable SQL, created with the others when either backend opens.

>>> from gateway.storage.journal import SqliteJournal
>>> j = SqliteJournal(":memory:")
>>> j.interchange_reference("apcs", "ack-of-m1", "m1"), j.interchange_reference("apcs", "ack-of-m2")
('1', '2')
>>> j.interchange_reference("apcs", "ack-of-m1"), j.interchange_reference("terminal", "ack-of-t1")
('1', '1')
>>> j.sent_interchange("apcs", "1"), j.sent_interchange("apcs", "3")
(('ack-of-m1', 'm1'), None)
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Final

from gateway.storage.records import _now

# UNB 0020 is an..14: the counter's last value that fits, written in decimal.
REFERENCE_MAX: Final = 10**14 - 1

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS interchange_counters (
    partner TEXT PRIMARY KEY,
    last_number BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS sent_interchanges (
    owner TEXT PRIMARY KEY,
    partner TEXT NOT NULL,
    reference TEXT NOT NULL,
    about TEXT NOT NULL,
    at TEXT NOT NULL,
    UNIQUE (partner, reference)
);
"""


class ReferencesUsedUp(RuntimeError):
    """A partner's counter reached :data:`REFERENCE_MAX`: no reference is ever given twice."""


class SentInterchanges:
    """The journal's part that gives out interchange references (mixed into ``SqlJournal``)."""

    if TYPE_CHECKING:

        def _tx(self, immediate: bool = False) -> AbstractContextManager[Any]: ...

        def _read(self) -> AbstractContextManager[Any]: ...

        def _exec(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> Any: ...

    def interchange_reference(self, partner: str, owner: str, about: str = "") -> str:
        """The control reference of the interchange ``owner`` (an outbound message id) sends
        to ``partner``: the one it was given before, else the partner's next number.
        ``about``: the message it answers (kept for :meth:`sent_interchange`).

        Inside a unit of work it is part of the decision's transaction: a decision that
        is not committed gives nothing out. Raises :class:`ReferencesUsedUp` past
        :data:`REFERENCE_MAX` (an..14), and ``ValueError`` when ``owner`` already holds a
        reference to another partner (an owner is one outbound message, to one partner).
        """
        with self._tx(immediate=True) as cur:
            held = self._held(cur, owner)
            if held is not None:
                return _same_partner(held, partner, owner)
            (last,) = self._exec(
                cur,
                "INSERT INTO interchange_counters VALUES (?, 1) ON CONFLICT (partner) "
                "DO UPDATE SET last_number = interchange_counters.last_number + 1 RETURNING last_number",
                (partner,),
            ).fetchone()
            if int(last) > REFERENCE_MAX:
                raise ReferencesUsedUp(
                    f"partner {partner} has been sent {REFERENCE_MAX} interchanges: UNB 0020 "
                    "(an..14) holds no further reference"
                )
            # Another instance deciding the same message at the same time may have given the
            # owner its reference meanwhile (PostgreSQL): the first one stays, this number
            # is left unused (a gap, never a reuse).
            self._exec(
                cur,
                "INSERT INTO sent_interchanges VALUES (?, ?, ?, ?, ?) ON CONFLICT (owner) DO NOTHING",
                (owner, partner, str(last), about, _now()),
            )
            held = self._held(cur, owner)
            assert held is not None
            return _same_partner(held, partner, owner)

    def sent_interchange(self, partner: str, reference: str) -> tuple[str, str] | None:
        """(owner, about) of the gateway's interchange ``reference`` to ``partner`` (what a
        partner's CONTRL answers), or None when the gateway never sent it."""
        with self._read() as cur:
            row = self._exec(
                cur,
                "SELECT owner, about FROM sent_interchanges WHERE partner = ? AND reference = ?",
                (partner, reference),
            ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def _held(self, cur: Any, owner: str) -> tuple[str, str] | None:
        row = self._exec(
            cur, "SELECT partner, reference FROM sent_interchanges WHERE owner = ?", (owner,)
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))


def _same_partner(held: tuple[str, str], partner: str, owner: str) -> str:
    if held[0] != partner:
        raise ValueError(f"{owner} carries reference {held[1]} to {held[0]}, not to {partner}")
    return held[1]
