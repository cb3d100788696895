"""``edigw audit`` and ``edigw console``: the operators' audit trail and web console.

Beside :mod:`gateway.interfaces.cli_dlq` (whose conventions they follow: ``--json`` one object
per line, exit 1 when nothing matched, partner text escaped); ``edigw console users`` is
:mod:`gateway.interfaces.cli_console`.
"""

from __future__ import annotations

import sys

import click

from gateway.interfaces.cli_dlq import HELP, _line, _nothing
from gateway.interfaces.context import EXIT_USAGE, app_of
from gateway.interfaces.operators.conventions import json_line


@click.command("audit", context_settings=HELP)
@click.option("--limit", default=50, show_default=True, help="How many actions, newest first.")
@click.option("--action", help="Only replay, edit or purge.")
@click.option("--message", "message_id", help="Only actions on this message id.")
@click.option("--actor", help="Only this operator.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def audit(
    ctx: click.Context,
    limit: int,
    action: str | None,
    message_id: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    """The operators' audit trail: who did what, when, to which messages."""
    entries = app_of(ctx).audit.entries(
        limit=limit, action=action, message_id=message_id, actor=actor
    )
    if not entries:
        _nothing("no operator action recorded")
    for e in entries:
        if as_json:
            click.echo(json_line(e.to_json()))
        else:
            _line(f"{e.at}  {e.actor:<12} {e.action:<7} {e.detail}")
            if e.message_ids:
                _line(f"    messages: {', '.join(e.message_ids)}")
            if e.data.get("diff"):
                for line in str(e.data["diff"]).splitlines():
                    _line(f"    {line}")


@click.group("console", context_settings=HELP, invoke_without_command=True)
@click.option("--port", type=int, default=None, help="Override [console] port.")
@click.option("--address", default=None, help="Override [console] address.")
@click.pass_context
def console(ctx: click.Context, port: int | None, address: str | None) -> None:
    """Serve the operators' web console (sign in with an account: edigw console users)."""
    if ctx.invoked_subcommand is not None:
        return

    from gateway.interfaces.console import ConsoleConfigError, serve

    app = app_of(ctx)
    conf = app.settings.config.console
    if address:
        conf = conf.model_copy(update={"address": address})
    try:
        serve(app, conf, port=port)
    except ConsoleConfigError as exc:
        click.echo(f"configuration refused: {exc}", err=True)
        sys.exit(EXIT_USAGE)


# Here rather than in cli.py, which imports this module only when one of its commands runs
# (LAZY_COMMANDS, issue #20): `edigw console users` comes with `edigw console`.
from gateway.interfaces import cli_console  # noqa: E402  (issue #19: edigw console users)

console.add_command(cli_console.users)
