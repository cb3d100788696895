"""Operator actions with their audit record: one implementation for the CLI and the console.

Each function changes the broker first and then writes the audit trail (and the
journal's ``replayed`` events); the audit is written even when part of a batch failed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gateway.bootstrap import App
from gateway.interfaces.operators.deadletters import DeadLetter, Selector
from gateway.interfaces.operators.store import DeadLetterStore, ReplayResult, next_replay_id
from gateway.interfaces.operators.verdicts import UNDECIDED, Verdict, observe
from gateway.logs import get_logger
from gateway.service.plan import decided_as
from gateway.storage.records import Processed

log = get_logger()
Progress = Callable[[Sequence[DeadLetter]], Any]


def describe(selector: Selector, all_: bool = False) -> str:
    """A short text of a selection, for the audit trail.

    >>> describe(Selector(group="EDIFACT_SYNTAX/decode"))
    'group=EDIFACT_SYNTAX/decode'
    """
    parts = [
        f"{k}={v}"
        for k, v in (
            ("ids", ",".join(selector.ids)),
            ("reason", selector.reason),
            ("partner", selector.partner),
            ("type", selector.type),
            ("group", selector.group),
            ("since", selector.since.isoformat() if selector.since else None),
            ("grep", selector.text),
        )
        if v
    ]
    return " ".join(parts) or ("--all" if all_ else "(none)")


def replay(
    app: App,
    store: DeadLetterStore,
    selector: Selector,
    actor: str,
    *,
    all_: bool = False,
    progress: Progress | None = None,
    via: str = "cli",
) -> ReplayResult:
    """Replay the selection and audit it (nothing is audited when nothing matched)."""
    result = store.replay(selector, actor=actor, progress=progress)
    if result.replayed or result.failed:
        app.audit.record(
            actor,
            "replay",
            message_ids=[d.message_id or d.id for d in result.replayed],
            detail=f"{len(result.replayed)} replayed, {len(result.failed)} failed "
            f"(via {via}); selection {describe(selector, all_)}",
            data={
                "replayed": [
                    {
                        "id": d.id,
                        "message_id": d.message_id,
                        "replayed_as": next_replay_id(d),
                        "reason": d.reason,
                        "to": [d.original_exchange, d.original_routing_key],
                    }
                    for d in result.replayed
                ],
                "failed": [{"id": d.id, "error": e} for d, e in result.failed],
            },
        )
        journal_replayed(app, result.replayed, actor)
    return result


def observe_replays(
    app: App, store: DeadLetterStore, replayed: Sequence[DeadLetter], wait: float
) -> dict[str, Verdict]:
    """What ``edigw run`` decided about each replayed message (dead-letter id -> verdict),
    read from the journal for at most ``wait`` seconds. A message whose queue nobody
    consumes is not waited for: nobody will decide it (``undecided``, saying so)."""
    consumed = store.consumers([d.original_queue for d in replayed]) if wait > 0 else {}
    waiting = {d.id: next_replay_id(d) for d in replayed if consumed.get(d.original_queue)}
    # A replay's id may have been taken before it arrived (docs/security.md, "Message ids"):
    # its decision is then recorded under the id of its own the gateway gave it.
    sent = {next_replay_id(d): (d.partner, d.body) for d in replayed}

    def decided(replay_id: str) -> Processed | None:
        journal = app.journal  # here: a journal that cannot be read leaves them undecided
        partner, body = sent[replay_id]
        journal_id = decided_as(journal, partner, replay_id, body)
        return None if journal_id is None else journal.processed(journal_id)

    unseen = "not waited for"
    try:
        seen = observe(decided, waiting, wait=wait) if waiting else {}
    except Exception as exc:  # the replay is done and audited: say so, do not fail it here
        log.warning("replay outcomes not read from the journal", error=repr(exc))
        seen, unseen = {}, f"the journal could not be read: {type(exc).__name__}"
    return {
        d.id: seen.get(d.id)
        or Verdict(
            d.id,
            UNDECIDED,
            sentence=unseen
            if d.id in waiting or wait <= 0
            else f"no gateway consumes {d.original_queue}",
        )
        for d in replayed
    }


def purge(
    app: App,
    store: DeadLetterStore,
    selector: Selector,
    actor: str,
    *,
    all_: bool = False,
    progress: Progress | None = None,
    via: str = "cli",
) -> list[DeadLetter]:
    """Remove the selection for good; the audit keeps each message in full (body included)."""
    removed = store.purge(selector, progress=progress)
    if removed:
        app.audit.record(
            actor,
            "purge",
            message_ids=[d.message_id or d.id for d in removed],
            detail=f"{len(removed)} purged (via {via}); selection {describe(selector, all_)}",
            data={"messages": [d.to_json() for d in removed]},
        )
    return removed


def journal_replayed(app: App, letters: Sequence[DeadLetter], actor: str) -> None:
    """Tell the journal (the track view) that these messages went back in; best effort."""
    if not letters:
        return
    try:
        journal = app.journal
    except Exception as exc:  # the replay is done and audited; do not fail it here
        log.warning("journal not updated after replay", error=repr(exc))
        return
    try:
        for dl in letters:
            if dl.message_id:
                journal.record_event(
                    dl.message_id,
                    "replayed",
                    f"as {next_replay_id(dl)} by {actor} from {dl.queue}",
                )
    except Exception as exc:
        log.warning("journal not fully updated after replay", error=repr(exc))
