"""What the gateway will make of a dead letter sent back: foreseen, then observed (issue #19).

**Foreseen** (``replay --dry-run``, the console's confirmation, ``edit``): each message is
read with the checks ``edigw run`` applies to that partner, run offline by the gateway's own
code (:class:`gateway.service.offline.OfflineTranslator`, the app's ``translator``: the
formats and message types the partner may send, decoding, the UN/EDIFACT directory, the
canonical schema, its business-rule severities). Offline means without the journal and the
trust store: signatures, amendments against earlier versions, duplicates, the call registry
and the travellers' desk are not foreseen; a travellers' partner (portal, border) and
customs' responses are ``not checked``.

**Observed** (a real replay): the replay's message id is the journal's inbound id, so the
decision ``edigw run`` records for it (:meth:`gateway.storage.journal.Journal.processed`) is
the outcome: ``accepted``, ``failed again`` (its reason), or ``undecided`` when no decision
was recorded within the wait (or no gateway consumes the queue).

>>> v = [Verdict("a", REJECTED, "EDIFACT_SYNTAX", "UNT counts 99"), Verdict("b", ACCEPTED),
...      Verdict("c", REJECTED, "EDIFACT_SYNTAX", "UNT counts 98")]
>>> forecast_sentence(v)
'2 of 3 will be rejected again because EDIFACT_SYNTAX (2, e.g. UNT counts 99)'
>>> classify(None).outcome, classify(Processed("m", "done", "rejected", "X: why", "t")).reason
('undecided', 'X')
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.bootstrap import App
from gateway.interfaces.operators.deadletters import DeadLetter
from gateway.service.translation import Translation
from gateway.storage.records import Processed

ACCEPTED = "accepted"
REJECTED = "rejected"  # foreseen: will be rejected again; observed: failed again
NOT_CHECKED = "not-checked"
UNDECIDED = "undecided"
# The partners whose messages the offline translator reads as ``edigw run`` does; a portal's
# or border post's go to the travellers' desk (it needs the journal, issue #18), customs'
# answers to the responses handler.
_OFFLINE_ROLES = ("port", "ministry")
# A recorded outcome that means the replay was refused again (gateway.service.decision).
_FAILED_OUTCOMES = ("rejected",)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What becomes (or will become) of one dead letter sent back."""

    id: str
    outcome: str  # ACCEPTED, REJECTED, NOT_CHECKED (foreseen) or UNDECIDED (observed)
    reason: str = ""
    sentence: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "reason": self.reason, "sentence": self.sentence}

    def line(self) -> str:
        """One line for people: ``rejected: REASON: sentence``."""
        said = ": ".join(x for x in (self.reason, self.sentence) if x)
        return f"{self.outcome}: {said}" if said else self.outcome


def read_as_gateway(app: App, letter: DeadLetter, body: bytes | None = None) -> Translation | str:
    """``letter``'s body (or ``body`` in its place) read as ``edigw run`` reads that partner's
    messages, offline; or why it cannot be (a sentence)."""
    partner = app.settings.partners.get(letter.partner)
    if partner is None or not letter.original_exchange:
        return "not a configured partner's message"
    if partner.role not in _OFFLINE_ROLES:
        return f"a {partner.role} partner's messages are not judged offline"
    return app.translator.translate(letter.body if body is None else body, partner.id)


def foresee(app: App, letter: DeadLetter, body: bytes | None = None) -> Verdict:
    """What ``edigw run`` would make of ``letter`` (or of ``body`` in its place) today."""
    refusal = letter.replay_refusal
    if refusal is not None:  # never sent back: the replay leaves it where it is
        return Verdict(letter.id, REJECTED, letter.reason, refusal)
    try:
        translation = read_as_gateway(app, letter, body)
    except Exception as exc:  # an operator's view must never crash on a message
        return Verdict(letter.id, REJECTED, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")
    if isinstance(translation, str):
        return Verdict(letter.id, NOT_CHECKED, sentence=translation)
    rejection = translation.rejection
    if rejection is None and translation.rejected_messages:
        refused = translation.rejected_messages
        rejection = refused[0].rejection
        if len(refused) < max(translation.message_count, 1):
            return Verdict(
                letter.id,
                REJECTED,
                rejection.reason,
                f"{len(refused)} of {translation.message_count} messages: {rejection.sentence}",
            )
    if rejection is not None:
        return Verdict(letter.id, REJECTED, rejection.reason, rejection.sentence)
    return Verdict(letter.id, ACCEPTED)


def forecast_sentence(verdicts: Sequence[Verdict]) -> str:
    """``N of M will be rejected again because …`` (and how many were not checked)."""
    total = len(verdicts)
    rejected = [v for v in verdicts if v.outcome == REJECTED]
    unchecked = sum(v.outcome == NOT_CHECKED for v in verdicts)
    text = f"{len(rejected)} of {total} will be rejected again"
    if rejected:
        text += " because " + _reasons(rejected)
    if unchecked:
        text += f"; {unchecked} not checked offline"
    return text


def outcome_sentence(verdicts: Sequence[Verdict], wait: float) -> str:
    """What became of the replayed messages: accepted, failed again (why), undecided."""
    counts = Counter(v.outcome for v in verdicts)
    failed = [v for v in verdicts if v.outcome == REJECTED]
    text = f"{counts[ACCEPTED]} accepted, {counts[REJECTED]} failed again"
    if failed:
        text += " (" + _reasons(failed) + ")"
    why = Counter(v.sentence or f"within {wait:g} s" for v in verdicts if v.outcome == UNDECIDED)
    for sentence, n in why.items():
        text += f", {n} not decided ({sentence})"
    return text


def _reasons(verdicts: Iterable[Verdict]) -> str:
    by_reason: dict[str, list[Verdict]] = {}
    for v in verdicts:
        by_reason.setdefault(v.reason or "unknown", []).append(v)
    return "; ".join(
        f"{reason} ({len(vs)}, e.g. {vs[0].sentence})"
        if vs[0].sentence
        else f"{reason} ({len(vs)})"
        for reason, vs in sorted(by_reason.items(), key=lambda kv: -len(kv[1]))
    )


def classify(processed: Processed | None, letter_id: str = "") -> Verdict:
    """The observed outcome of one replay from what the journal recorded for its id."""
    if processed is None or processed.state != "done":
        return Verdict(letter_id, UNDECIDED)
    if processed.outcome in _FAILED_OUTCOMES:
        reason, _, sentence = processed.detail.partition(": ")
        return Verdict(letter_id, REJECTED, reason, sentence)
    return Verdict(letter_id, ACCEPTED, sentence=processed.outcome)


def observe(
    read: Callable[[str], Processed | None],
    replays: Mapping[str, str],
    *,
    wait: float,
    poll: float = 0.25,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Verdict]:
    """The outcome of each replay (``replays``: dead-letter id -> the replay's message id),
    read from the journal (``read``: ``journal.processed``) until all are decided or ``wait``
    seconds have passed; what is still open then is ``undecided``.

    >>> done = Processed("m~replay1", "done", "routed", "", "t")
    >>> ticks = iter(range(100))
    >>> seen = observe({"m~replay1": done}.get, {"a": "m~replay1", "b": "n~replay1"}, wait=2,
    ...                clock=lambda: next(ticks), sleep=lambda s: None)
    >>> seen["a"].outcome, seen["b"].outcome
    ('accepted', 'undecided')
    """
    deadline = clock() + wait
    seen: dict[str, Verdict] = {}
    while True:
        for letter_id, replay_message_id in replays.items():
            if letter_id not in seen:
                verdict = classify(read(replay_message_id), letter_id)
                if verdict.outcome != UNDECIDED:
                    seen[letter_id] = verdict
        if len(seen) == len(replays) or clock() >= deadline:
            break
        sleep(poll)
    late = f"no decision recorded within {wait:g} s"
    return {i: seen.get(i, Verdict(i, UNDECIDED, sentence=late)) for i in replays}
