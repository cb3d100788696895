"""``edigw dlq``: the operators' dead-letter console on the command line (``edigw audit`` and
``edigw console`` are :mod:`gateway.interfaces.cli_audit`).

Exit codes follow :mod:`gateway.interfaces.cli`: 0 done; 1 nothing matched, an edit was refused or
some messages could not be replayed; 2 usage (an ambiguous id prefix too); 3 the broker could not
be reached.

The conventions of every command here (issue #19, :mod:`gateway.interfaces.operators.conventions`):
``--json`` prints one object per line; an id may be an unambiguous prefix (4 characters or
more) of a dead letter's id or message id; progress of replay, purge and export goes to stderr;
whatever a partner sent is printed with its control characters escaped.

Every action that changes something (replay, edit, purge) is written to the audit trail
with the operator's name ($EDIGW_OPERATOR, else the login name)::

    edigw dlq groups
    edigw dlq replay --group EDIFACT_SYNTAX/decode --dry-run
    edigw dlq replay --group EDIFACT_SYNTAX/decode
    edigw audit
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click
from pika.adapters.utils.connection_workflow import AMQPConnectorException
from pika.exceptions import AMQPError

from gateway.bootstrap import App
from gateway.interfaces.context import EXIT_BROKER, EXIT_OK, EXIT_REJECTED, EXIT_USAGE, app_of
from gateway.interfaces.operators import actions
from gateway.interfaces.operators.conventions import (
    AmbiguousId,
    Identified,
    IdNotFound,
    json_line,
    resolve_ids,
    terminal_line,
    terminal_safe,
)
from gateway.interfaces.operators.deadletters import (
    DeadLetter,
    Selector,
    group_dead_letters,
    jsonable,
    parse_since,
)
from gateway.interfaces.operators.decode import decoded_view
from gateway.interfaces.operators.drafts import draft_box
from gateway.interfaces.operators.store import DeadLetterStore, next_replay_id
from gateway.interfaces.progress import progress_over, wanted
from gateway.messaging.broker import printable
from gateway.storage.audit import current_operator

# `-h` as well as `--help` on every operators' command (subcommands inherit it).
HELP = {"help_option_names": ["-h", "--help"]}
_JSON = click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")


def _say(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Print text that may hold partner data: control characters escaped, layout kept."""
    click.echo(terminal_safe(text), err=err, nl=nl)


def _line(text: str) -> None:
    """Print one line that may hold partner data: nothing kept, not even a newline."""
    click.echo(terminal_line(text))


def _nothing(message: str) -> None:
    """Nothing matched: say so on stderr, exit 1 (the convention of every command)."""
    click.echo(message, err=True)
    sys.exit(EXIT_REJECTED)


def _resolved(store: DeadLetterStore, ids: Sequence[str]) -> tuple[str, ...]:
    """The full ids meant by ``ids`` (prefixes allowed when unambiguous): exit 1 when one
    matches nothing, exit 2 when a prefix matches several."""
    return _resolved_among(store.browse, ids)


def _resolved_among(
    candidates: Callable[[], Iterable[Identified]], ids: Sequence[str], what: str = "dead letter"
) -> tuple[str, ...]:
    """:func:`_resolved` among ``candidates()`` (dead letters, or drafts), asked only when an
    id is to be resolved."""
    if not ids:
        return ()
    try:
        return resolve_ids(candidates(), ids)
    except IdNotFound as exc:
        click.echo(f"no {what} with id or message id {terminal_line(exc)}", err=True)
        sys.exit(EXIT_REJECTED)
    except AmbiguousId as exc:
        click.echo(terminal_line(exc), err=True)
        sys.exit(EXIT_USAGE)


@contextmanager
def _store(app: App) -> Iterator[DeadLetterStore]:
    try:
        store = DeadLetterStore.open(app)
    except (AMQPError, AMQPConnectorException) as exc:
        click.echo(f"broker unreachable: {exc!r}", err=True)
        sys.exit(EXIT_BROKER)
    try:
        yield store
    finally:
        store.close()


def _selector(
    ids: Sequence[str] = (),
    reason: str | None = None,
    partner: str | None = None,
    type_: str | None = None,
    since: str | None = None,
    group: str | None = None,
    grep: str | None = None,
) -> Selector:
    try:
        when = parse_since(since) if since else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    return Selector(
        ids=tuple(ids),
        reason=reason,
        partner=partner,
        type=type_,
        group=group,
        since=when,
        text=grep or None,
    )


def _filters(f: Any) -> Any:
    """The filter options shared by list, replay, purge and export."""
    for opt in reversed(
        [
            click.option("--reason", help="Only this reason code (e.g. EDIFACT_SYNTAX)."),
            click.option("--partner", help="Only this partner id."),
            click.option("--type", "type_", help="Only this message type (e.g. CUSCAR)."),
            click.option("--since", help="Last failure at or after: ISO time, or 30m/2h/7d ago."),
            click.option("--group", help="Only this group: REASON/stage, or REASON."),
            click.option("--grep", help="Only those with this text in body, headers or reason."),
        ]
    ):
        f = opt(f)
    return f


@click.group("dlq", context_settings=HELP)
def dlq() -> None:
    """Dead letters: list, group, show, replay, edit, purge, export."""


@dlq.command("list")
@_filters
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line and message.")
@click.pass_context
def list_(
    ctx: click.Context,
    reason: str | None,
    partner: str | None,
    type_: str | None,
    since: str | None,
    group: str | None,
    grep: str | None,
    as_json: bool,
) -> None:
    """The dead letters, oldest failure first (nothing is taken out of the queues)."""
    app = app_of(ctx)
    selector = _selector((), reason, partner, type_, since, group, grep)
    with _store(app) as store:
        letters = store.browse(selector)
    if not letters:
        _nothing("no dead letters")
    if as_json:
        for dl in letters:
            click.echo(json_line(dl.summary()))
        return
    click.echo(
        f"{'ID':<12}  {'LAST FAILURE':<25}  {'REASON':<24}  {'STAGE':<8}  {'PARTNER':<11}  "
        f"{'TYPE':<8}  {'REFERENCE':<20}  N"
    )
    for dl in letters:
        click.echo(
            terminal_line(
                f"{dl.id:<12}  {dl.last_failure:<25}  {dl.reason:<24}  {dl.stage:<8}  "
                f"{dl.partner:<11}  {dl.type:<8}  {dl.business_reference:<20}  {dl.attempts}"
            )
        )
        click.echo(f"{'':<12}  {terminal_line(dl.sentence)}")


@dlq.command()
@_JSON
@click.pass_context
def groups(ctx: click.Context, as_json: bool) -> None:
    """Dead letters counted by reason and stage, with the oldest and newest of each group."""
    app = app_of(ctx)
    with _store(app) as store:
        found = group_dead_letters(store.browse())
    if not found:
        _nothing("no dead letters")
    if as_json:
        for g in found:
            click.echo(json_line(g.to_json()))
        return
    click.echo(f"{'GROUP':<34}  {'COUNT':>5}  {'OLDEST':<25}  {'NEWEST':<25}  PARTNERS")
    for g in found:
        click.echo(
            terminal_line(
                f"{g.key:<34}  {g.count:>5}  {g.oldest:<25}  {g.newest:<25}  "
                f"{','.join(sorted(g.partners))}"
            )
        )
        click.echo(f"{'':<34}  e.g. {terminal_line(g.sentence)}")


def _find_one(store: DeadLetterStore, message: str) -> DeadLetter:
    found = store.browse(Selector(ids=_resolved(store, (message,))))
    if not found:  # taken out meanwhile
        _nothing(f"no dead letter with id or message id {terminal_line(repr(message))}")
    return found[0]


@dlq.command()
@click.argument("message")
@_JSON
@click.pass_context
def show(ctx: click.Context, message: str, as_json: bool) -> None:
    """Everything about one dead letter (MESSAGE: its id or AMQP message id, or a prefix)."""
    app = app_of(ctx)
    with _store(app) as store:
        dl = _find_one(store, message)
    decoded = decoded_view(dl)
    if as_json:
        click.echo(json_line({**dl.to_json(), "decoded": decoded}))
        return
    _line(f"id           {dl.id}  (message id {dl.message_id or '-'})")
    _line(f"queue        {dl.queue}")
    _line(f"reason       {dl.reason} at stage {dl.stage}: {dl.sentence}")
    _line(f"partner      {dl.partner}   type {dl.type}   reference {dl.business_reference}")
    _line(f"failures     first {dl.first_failure}, last {dl.last_failure}, attempts {dl.attempts}")
    _line(
        f"goes back to exchange {dl.original_exchange!r} key {dl.original_routing_key!r} "
        f"(queue {dl.original_queue})"
    )
    for p in dl.problems:
        _line(f"problem      {p}")
    ours, theirs = dl.shown_headers()
    _say("headers:")
    for k, v in ours:
        _say(f"  {k}: {_shown(v)}")
    if theirs:
        _say("partner-supplied headers (data the partner sent; the gateway does not act on them):")
        for k, v in theirs:
            _say(f"  {k}: {_shown(v)}")
    if dl.replays:
        _say(f"replays ({len(dl.replays)}, oldest first; the same dead-letter id throughout):")
        for r in dl.replays:
            edited = ", edited" if r["edited"] else ""
            _line(f"  {r['at']}  by {r['by']} as {r['as']}{edited}")
    if dl.deaths:
        _say("x-death history (newest first):")
        for d in jsonable(dl.deaths):
            _say(f"  {_shown(d)}")
    _say("decoded today:")
    if decoded["ok"]:
        for doc in decoded["documents"]:
            _say(doc)
    else:
        _line(
            f"  still rejected: {decoded.get('reason', '')} {decoded.get('sentence', decoded.get('error', ''))}"
        )
        for p in decoded.get("problems", []):
            _line(f"  {p}")
    _say(f"raw ({len(dl.body)} bytes):")
    _say(dl.body_text().replace("\r\n", "\n"))


def _shown(value: Any) -> str:
    """A header value on one line (JSON escapes control characters), cut to 2,000 characters."""
    return printable(json_line(value), 2000)


def _selection(
    ids: Sequence[str],
    all_: bool,
    reason: str | None,
    partner: str | None,
    type_: str | None,
    since: str | None,
    group: str | None,
    grep: str | None,
    verb: str,
) -> Selector:
    selector = _selector(ids, reason, partner, type_, since, group, grep)
    if selector.is_everything and not all_:
        click.echo(f"say which messages to {verb}: IDs, --group, a filter, or --all", err=True)
        sys.exit(EXIT_USAGE)
    return selector


_PROGRESS = click.option(
    "--progress", is_flag=True, help="Show progress on stderr even when it is not a terminal."
)


@dlq.command()
@click.argument("ids", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every dead letter.")
@_filters
@click.option(
    "--dry-run",
    is_flag=True,
    help="Say what would be replayed and what the gateway would make of each; change nothing.",
)
@click.option(
    "--wait",
    type=click.FloatRange(0, 600),
    default=30,
    show_default=True,
    help="Seconds to wait for the gateway's decisions on the replayed messages (0: do not).",
)
@_PROGRESS
@_JSON
@click.pass_context
def replay(
    ctx: click.Context,
    ids: tuple[str, ...],
    all_: bool,
    reason: str | None,
    partner: str | None,
    type_: str | None,
    since: str | None,
    group: str | None,
    grep: str | None,
    dry_run: bool,
    wait: float,
    progress: bool,
    as_json: bool,
) -> None:
    """Send dead letters back to where they came from (confirmed first, then removed), then
    say what the gateway decided about each: accepted, failed again, or not decided yet."""
    from gateway.interfaces.operators.verdicts import (
        forecast_sentence,
        foresee,
        outcome_sentence,
    )

    app = app_of(ctx)
    selector = _selection(ids, all_, reason, partner, type_, since, group, grep, "replay")
    actor = current_operator()
    shown = wanted(progress)
    with _store(app) as store:
        selector = dataclasses.replace(selector, ids=_resolved(store, ids))
        if dry_run:
            letters = store.browse(selector)
            if not letters:
                _nothing("no dead letter matched")
            foreseen = [foresee(app, dl) for dl in progress_over("checking", shown)(letters)]
            for dl, verdict in zip(letters, foreseen, strict=True):
                if as_json:
                    click.echo(
                        json_line(
                            {**_brief(dl), "outcome": "would-replay", "verdict": verdict.to_json()}
                        )
                    )
                else:
                    _line(
                        f"would replay {dl.id} ({dl.reason}) to "
                        f"{dl.original_exchange!r}/{dl.original_routing_key!r}: "
                        f"{verdict.line()}"
                    )
            sentence = forecast_sentence(foreseen)
            if as_json:
                click.echo(json_line(_counts(len(letters), foreseen, dry_run=True)))
            else:
                click.echo(f"{len(letters)} message(s) would be replayed", err=True)
                click.echo(terminal_line(sentence), err=True)
            sys.exit(EXIT_OK)
        result = actions.replay(
            app, store, selector, actor, all_=all_, progress=progress_over("replaying", shown)
        )
        if not result.replayed and not result.failed:
            _nothing("no dead letter matched")
        if result.replayed and wait > 0 and not as_json:
            click.echo(f"waiting up to {wait:g} s for the gateway's decisions ...", err=True)
        observed = actions.observe_replays(app, store, result.replayed, wait)
    for dl in result.replayed:
        seen = observed[dl.id]
        if as_json:
            click.echo(
                json_line(
                    {
                        **_brief(dl),
                        "outcome": "replayed",
                        "replay_id": next_replay_id(dl),
                        "observed": seen.to_json(),
                    }
                )
            )
        else:
            _line(
                f"replayed {dl.id}\t{dl.message_id} as {next_replay_id(dl)}\t"
                f"{dl.original_exchange}\t{seen.line()}"
            )
    for dl, error in result.failed:
        if as_json:
            click.echo(json_line({**_brief(dl), "outcome": "failed", "error": error}))
        click.echo(terminal_line(f"NOT replayed {dl.id}: {error} (still in {dl.queue})"), err=True)
    verdicts = list(observed.values())
    if as_json:
        click.echo(
            json_line(_counts(len(result.replayed), verdicts, not_replayed=len(result.failed)))
        )
    elif result.replayed:
        click.echo(
            terminal_line(f"replayed {len(result.replayed)}: {outcome_sentence(verdicts, wait)}"),
            err=True,
        )
    sys.exit(EXIT_REJECTED if result.failed else EXIT_OK)


def _counts(
    total: int, verdicts: Sequence[Any], *, dry_run: bool = False, not_replayed: int = 0
) -> dict[str, Any]:
    """The last line of ``replay --json``: how many, and what became (or would become) of them."""
    from collections import Counter

    counts = Counter(v.outcome for v in verdicts)
    if dry_run:
        return {
            "summary": "dry-run",
            "selected": total,
            "accepted": counts["accepted"],
            "rejected_again": counts["rejected"],
            "not_checked": counts["not-checked"],
        }
    return {
        "summary": "replay",
        "replayed": total,
        "accepted": counts["accepted"],
        "failed_again": counts["rejected"],
        "undecided": counts["undecided"],
        "not_replayed": not_replayed,
    }


def _brief(dl: DeadLetter) -> dict[str, Any]:
    """What replay and purge say about each dead letter with --json."""
    return {
        "id": dl.id,
        "message_id": dl.message_id,
        "queue": dl.queue,
        "reason": dl.reason,
        "partner": dl.partner,
        "exchange": dl.original_exchange,
    }


@dlq.command()
@click.argument("message")
@click.option("--force", is_flag=True, help="Replay even if the edit still does not decode.")
@click.option(
    "--from-draft/--from-original",
    "from_draft",
    default=None,
    help="Start from the kept draft of a refused edit, or from the message (default: ask on "
    "a terminal, else the message).",
)
@_JSON
@click.pass_context
def edit(
    ctx: click.Context, message: str, force: bool, from_draft: bool | None, as_json: bool
) -> None:
    """Open $EDITOR on a dead letter's raw message; if the edit decodes, replay it.

    The original, the edit and their diff go to the audit trail. An edit that the
    gateway would still reject is refused (exit 1) unless --force, and kept as the dead
    letter's draft: the next edit offers to start from it (edigw dlq drafts lists them).
    """
    from gateway.interfaces.operators.editing import check_edit, replay_edit

    app = app_of(ctx)
    actor = current_operator()
    with _store(app) as store:
        dl = _find_one(store, message)
    original = dl.body_text()
    drafts = draft_box(app)
    draft = drafts.get(dl.id)
    start = original
    if draft is not None:
        if from_draft is None and not sys.stdin.isatty():
            # A script that did not say: as before drafts existed, from the message.
            click.echo(f"a refused edit of {dl.id} is kept: --from-draft starts from it", err=True)
            from_draft = False
        if from_draft is None:
            from_draft = click.confirm(
                terminal_line(
                    f"a refused edit of {dl.id} was kept ({draft.saved_at}, {draft.actor}: "
                    f"{draft.verdict}); start from it?"
                ),
                default=True,
                err=True,
            )
        if from_draft:
            start = draft.text
    edited_text = click.edit(
        start, extension=".edi" if dl.type != "xml" else ".xml", require_save=False
    )
    if edited_text is None or edited_text == original:
        click.echo("no change: nothing replayed", err=True)
        sys.exit(EXIT_REJECTED)
    check = check_edit(app, dl, edited_text, actor)
    if check.still_rejected and not force:
        drafts.save(dl.id, dl.message_id, edited_text, actor, check.verdict())
        click.echo(
            terminal_line(
                f"the edit is still rejected ({check.verdict()}); "
                "nothing replayed (use --force to replay anyway)"
            ),
            err=True,
        )
        for line in check.problems():
            click.echo(terminal_line(line), err=True)
        click.echo(
            f"the edit is kept as a draft: edigw dlq edit {dl.id} offers it again "
            f"(edigw dlq drafts --discard {dl.id} throws it away)",
            err=True,
        )
        sys.exit(EXIT_REJECTED)
    diff = check.diff
    with _store(app) as store:
        outcome = replay_edit(app, store, check, actor)
    if not outcome.replayed:
        errors = (
            "; ".join(e for _d, e in outcome.failed) or "it left the dead-letter queue meanwhile"
        )
        click.echo(terminal_line(f"NOT replayed: {errors}"), err=True)
        sys.exit(EXIT_REJECTED)
    drafts.discard(dl.id)
    if as_json:
        click.echo(
            json_line(
                {
                    **_brief(dl),
                    "outcome": "replayed",
                    "edited": True,
                    "diff": diff,
                    "forced": check.still_rejected,
                }
            )
        )
        return
    _say(diff, nl=False)
    _line(f"replayed {dl.id} (edited)")


@dlq.command()
@click.option("--discard", "discard_id", metavar="ID", help="Throw away this dead letter's draft.")
@_JSON
@click.pass_context
def drafts(ctx: click.Context, discard_id: str | None, as_json: bool) -> None:
    """The kept drafts of refused edits (edigw dlq edit ID offers its draft again)."""
    box = draft_box(app_of(ctx))
    if discard_id is not None:
        # An unambiguous prefix of the dead letter's id or message id, as everywhere.
        [discard_id] = _resolved_among(box.list, (discard_id,), "draft of a dead letter")
        if not box.discard(discard_id):
            _nothing(f"no draft for {terminal_line(repr(discard_id))}")
        if as_json:
            click.echo(json_line({"id": discard_id, "outcome": "discarded"}))
        else:
            click.echo(f"draft of {discard_id} discarded")
        return
    kept = box.list()
    if not kept:
        _nothing("no drafts")
    for d in kept:
        if as_json:
            click.echo(json_line(d.summary()))
        else:
            _line(f"{d.id}  {d.saved_at}  {d.actor:<12} {d.verdict}")


@dlq.command()
@click.argument("ids", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every dead letter.")
@_filters
@click.option("--yes", is_flag=True, help="Really remove them (required unless --dry-run).")
@click.option("--dry-run", is_flag=True, help="Print how many would be removed; change nothing.")
@_PROGRESS
@_JSON
@click.pass_context
def purge(
    ctx: click.Context,
    ids: tuple[str, ...],
    all_: bool,
    reason: str | None,
    partner: str | None,
    type_: str | None,
    since: str | None,
    group: str | None,
    grep: str | None,
    yes: bool,
    dry_run: bool,
    progress: bool,
    as_json: bool,
) -> None:
    """Remove dead letters for good. Their full content is kept in the audit trail."""
    app = app_of(ctx)
    selector = _selection(ids, all_, reason, partner, type_, since, group, grep, "purge")
    if not yes and not dry_run:
        click.echo("purge removes messages for good: add --yes (or --dry-run)", err=True)
        sys.exit(EXIT_USAGE)
    actor = current_operator()
    with _store(app) as store:
        selector = dataclasses.replace(selector, ids=_resolved(store, ids))
        if dry_run:
            chosen = store.browse(selector)
            if not chosen:  # as every command: the sentence on stderr, nothing on stdout
                _nothing("no dead letter matched: 0 dead letter(s) would be purged")
            if as_json:
                click.echo(json_line({"would_purge": len(chosen), "ids": [d.id for d in chosen]}))
            else:
                click.echo(f"{len(chosen)} dead letter(s) would be purged")
            sys.exit(EXIT_OK)
        removed = actions.purge(
            app,
            store,
            selector,
            actor,
            all_=all_,
            progress=progress_over("purging", wanted(progress)),
        )
    if not removed:
        _nothing("no dead letter matched")
    for dl in removed:
        if as_json:
            click.echo(json_line({**_brief(dl), "outcome": "purged"}))
        else:
            _line(f"purged {dl.id}\t{dl.message_id}\t{dl.reason}")


@dlq.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.option("--output", "-o", type=click.File("w"), default="-", help="File (default stdout).")
@_filters
@_PROGRESS
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per line: what export always writes (accepted as everywhere).",
)
@click.pass_context
def export(
    ctx: click.Context,
    fmt: str,
    output: Any,
    reason: str | None,
    partner: str | None,
    type_: str | None,
    since: str | None,
    group: str | None,
    grep: str | None,
    progress: bool,
    as_json: bool,
) -> None:
    """Write the dead letters, bodies included (base64), one JSON object per line."""
    app = app_of(ctx)
    selector = _selector((), reason, partner, type_, since, group, grep)
    with _store(app) as store:
        letters = store.browse(selector)
    if not letters:
        _nothing("no dead letter matched: nothing exported")
    for dl in progress_over("exporting", wanted(progress))(letters):
        output.write(json_line(dl.to_json()) + "\n")
    click.echo(f"{len(letters)} dead letter(s) exported", err=True)
