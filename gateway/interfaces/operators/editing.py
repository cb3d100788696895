"""Edit-and-replay of one dead letter: one implementation for ``edigw dlq edit`` and the console.

The edit is judged first with the gateway's own decoding (``gateway.service.pipeline.translate``):
an edit the gateway would still reject is refused unless forced. A replayed edit is audited
with the original bytes, the edited bytes and their unified diff, and the journal gets the
``replayed`` event, whichever door it came through.
"""

from __future__ import annotations

import base64
import difflib
from dataclasses import dataclass
from typing import Any

from gateway.bootstrap import App
from gateway.interfaces.operators import actions
from gateway.interfaces.operators.deadletters import DeadLetter, Selector, encode_text
from gateway.interfaces.operators.store import DeadLetterStore, ReplayResult
from gateway.interfaces.operators.verdicts import read_as_gateway


@dataclass(frozen=True, slots=True)
class EditCheck:
    """An edit of ``letter`` and what the gateway would make of it today."""

    letter: DeadLetter
    edited: bytes
    diff: str
    rejection: Any  # gateway.domain's Rejection, or None when the edit would be accepted

    @property
    def still_rejected(self) -> bool:
        return self.rejection is not None

    def problems(self) -> list[str]:
        if self.rejection is None:
            return []
        return [p.line() for p in self.rejection.problems]

    def verdict(self) -> str:
        if self.rejection is None:
            return "accepted"
        return f"{self.rejection.reason}: {self.rejection.sentence}"


def check_edit(app: App, letter: DeadLetter, edited_text: str, actor: str) -> EditCheck:
    """Encode the edited text like the original and decode it as the gateway would: with the
    partner's configuration, as a dry-run replay does (:func:`.verdicts.read_as_gateway`)."""
    from adapters.common import DecodeContext
    from gateway.service.pipeline import translate

    edited = encode_text(edited_text, letter.body)
    result = read_as_gateway(app, letter, edited)
    if isinstance(result, str):  # not a partner's the offline checks know: decoding only
        result = translate(edited, DecodeContext(sender=letter.partner or "operator"))
    diff = "".join(
        difflib.unified_diff(
            letter.body_text().splitlines(keepends=True),
            edited_text.splitlines(keepends=True),
            fromfile=f"{letter.id} (original)",
            tofile=f"{letter.id} (edited by {actor})",
        )
    )
    return EditCheck(letter, edited, diff, result.rejection)


def replay_edit(
    app: App,
    store: DeadLetterStore,
    check: EditCheck,
    actor: str,
    *,
    via: str = "cli",
) -> ReplayResult:
    """Replay the edited message in place of the dead letter, then audit it (replayed or
    not) and tell the journal. The caller decided whether a still-rejected edit goes."""
    letter = check.letter
    outcome = store.replay(
        Selector(ids=(letter.id,)), actor=actor, body_for=lambda _d: check.edited
    )
    app.audit.record(
        actor,
        "edit",
        message_ids=[letter.message_id or letter.id],
        detail=f"edited and {'replayed' if outcome.replayed else 'NOT replayed'}"
        + (" (forced: still rejected)" if check.still_rejected else "")
        + (f" (via {via})" if via != "cli" else ""),
        data={
            "id": letter.id,
            "original_base64": base64.b64encode(letter.body).decode("ascii"),
            "edited_base64": base64.b64encode(check.edited).decode("ascii"),
            "diff": check.diff,
            "failed": [e for _d, e in outcome.failed],
        },
    )
    actions.journal_replayed(app, outcome.replayed, actor)
    return outcome
