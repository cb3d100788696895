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
from collections.abc import Iterator, Sequence
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
from gateway.interfaces.operators.store import DeadLetterStore, next_replay_id
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
    if not ids:
        return ()
    try:
        return resolve_ids(store.browse(), ids)
    except IdNotFound as exc:
        click.echo(f"no dead letter with id or message id {terminal_line(exc)}", err=True)
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


def _bar(label: str) -> Any:
    def wrap(letters: Sequence[DeadLetter]) -> Iterator[DeadLetter]:
        if len(letters) <= 1:
            yield from letters
            return
        with click.progressbar(letters, label=label, file=sys.stderr) as bar:
            yield from bar

    return wrap


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


@dlq.command()
@click.argument("ids", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every dead letter.")
@_filters
@click.option("--dry-run", is_flag=True, help="Say what would be replayed; change nothing.")
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
    as_json: bool,
) -> None:
    """Send dead letters back to where they came from (confirmed first, then removed)."""
    app = app_of(ctx)
    selector = _selection(ids, all_, reason, partner, type_, since, group, grep, "replay")
    actor = current_operator()
    with _store(app) as store:
        selector = dataclasses.replace(selector, ids=_resolved(store, ids))
        if dry_run:
            result = store.replay(selector, actor=actor, dry_run=True)
        else:
            result = actions.replay(
                app, store, selector, actor, all_=all_, progress=_bar("replaying")
            )
    if dry_run:
        for dl in result.replayed:
            if as_json:
                click.echo(json_line({**_brief(dl), "outcome": "would-replay"}))
            else:
                _line(
                    f"would replay {dl.id} ({dl.reason}) to "
                    f"{dl.original_exchange!r}/{dl.original_routing_key!r}"
                )
        click.echo(f"{len(result.replayed)} message(s) would be replayed", err=True)
        sys.exit(EXIT_OK if result.replayed else EXIT_REJECTED)
    for dl in result.replayed:
        if as_json:
            click.echo(
                json_line({**_brief(dl), "outcome": "replayed", "replay_id": next_replay_id(dl)})
            )
        else:
            _line(
                f"replayed {dl.id}\t{dl.message_id} as {next_replay_id(dl)}\t{dl.original_exchange}"
            )
    for dl, error in result.failed:
        if as_json:
            click.echo(json_line({**_brief(dl), "outcome": "failed", "error": error}))
        click.echo(terminal_line(f"NOT replayed {dl.id}: {error} (still in {dl.queue})"), err=True)
    if not result.replayed and not result.failed:
        _nothing("no dead letter matched")
    sys.exit(EXIT_REJECTED if result.failed else EXIT_OK)


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
@_JSON
@click.pass_context
def edit(ctx: click.Context, message: str, force: bool, as_json: bool) -> None:
    """Open $EDITOR on a dead letter's raw message; if the edit decodes, replay it.

    The original, the edit and their diff go to the audit trail. An edit that the
    gateway would still reject is refused (exit 1) unless --force.
    """
    from gateway.interfaces.operators.editing import check_edit, replay_edit

    app = app_of(ctx)
    actor = current_operator()
    with _store(app) as store:
        dl = _find_one(store, message)
    original = dl.body_text()
    edited_text = click.edit(
        original, extension=".edi" if dl.type != "xml" else ".xml", require_save=True
    )
    if edited_text is None or edited_text == original:
        click.echo("no change: nothing replayed", err=True)
        sys.exit(EXIT_REJECTED)
    check = check_edit(dl, edited_text, actor)
    if check.still_rejected and not force:
        click.echo(
            terminal_line(
                f"the edit is still rejected ({check.verdict()}); "
                "nothing replayed (use --force to replay anyway)"
            ),
            err=True,
        )
        for line in check.problems():
            click.echo(terminal_line(line), err=True)
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
@click.argument("ids", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every dead letter.")
@_filters
@click.option("--yes", is_flag=True, help="Really remove them (required unless --dry-run).")
@click.option("--dry-run", is_flag=True, help="Print how many would be removed; change nothing.")
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
            if as_json:
                click.echo(json_line({"would_purge": len(chosen), "ids": [d.id for d in chosen]}))
            else:
                click.echo(f"{len(chosen)} dead letter(s) would be purged")
            sys.exit(EXIT_OK if chosen else EXIT_REJECTED)
        removed = actions.purge(app, store, selector, actor, all_=all_, progress=_bar("purging"))
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
) -> None:
    """Write the dead letters, bodies included (base64), one JSON object per line."""
    app = app_of(ctx)
    selector = _selector((), reason, partner, type_, since, group, grep)
    with _store(app) as store:
        letters = store.browse(selector)
    if not letters:
        _nothing("no dead letter matched: nothing exported")
    for dl in _bar("exporting")(letters):
        output.write(json_line(dl.to_json()) + "\n")
    click.echo(f"{len(letters)} dead letter(s) exported", err=True)
