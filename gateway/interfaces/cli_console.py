"""``edigw console users …``: the console's operator accounts (issue #19, point 5).

Accounts live in the journal (``console_accounts``), so every console instance that shares
the journal knows them. A password is read from the terminal (twice) or, for scripts, from
standard input (``--password-stdin``, one line); it is never an argument (``ps`` would show it).
Removing an account, or changing its password or role, ends its open sessions at once.

    edigw console users add alice --role operator
    edigw console users list --json       # --json on every one of them: one object per line
    edigw console users passwd alice
    edigw console users role alice admin
    edigw console users remove alice

Exit codes: 0 done; 1 no such account (or it exists already); 2 usage (a bad name, a short
password, an unknown role).
"""

from __future__ import annotations

import datetime as dt
import sys
import time

import click

from gateway.interfaces.console.identity import (
    ROLES,
    IdentityError,
    check_account_name,
    hash_password,
)
from gateway.interfaces.context import EXIT_REJECTED, EXIT_USAGE, app_of
from gateway.interfaces.operators.conventions import json_line
from gateway.storage.journal import SqlJournal

HELP = {"help_option_names": ["-h", "--help"]}


def _journal(ctx: click.Context) -> SqlJournal:
    """The app's journal, which keeps the accounts (the app closes it when the command ends)."""
    from gateway.interfaces.console import ConsoleConfigError, console_journal

    try:
        return console_journal(app_of(ctx))
    except ConsoleConfigError as exc:
        click.echo(f"configuration refused: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _hashed(password: str) -> str:
    try:
        return hash_password(password)
    except IdentityError as exc:
        click.echo(f"refused: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def _name(name: str) -> str:
    try:
        return check_account_name(name)
    except IdentityError as exc:
        click.echo(f"refused: {exc}", err=True)
        sys.exit(EXIT_USAGE)


_ROLE = click.Choice(list(ROLES))
_JSON = click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
_STDIN = click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (one line)."
)


@click.group("users", context_settings=HELP)
def users() -> None:
    """Operator accounts of the web console: add, list, passwd, role, remove."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=_ROLE, default="viewer", show_default=True,
              help="viewer reads; operator also replays, edits and purges; admin also manages accounts.")  # fmt: skip
@_STDIN
@_JSON
@click.pass_context
def add(ctx: click.Context, name: str, role: str, password_stdin: bool, as_json: bool) -> None:
    """Add an account (the password is asked twice, or read with --password-stdin)."""
    name = _name(name)
    password_hash = _hashed(_password(password_stdin))
    journal = _journal(ctx)
    if not journal.create_account(name, password_hash, role, now=int(time.time())):
        click.echo(f"an account {name!r} exists already (passwd or role change it)", err=True)
        sys.exit(EXIT_REJECTED)
    _done(as_json, f"added {name} ({role})", name=name, outcome="added", role=role)


@users.command("list")
@_JSON
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """The accounts, their role and their open sessions."""
    journal = _journal(ctx)
    accounts = journal.accounts()
    sessions = {a.name: journal.sessions(a.name) for a in accounts}
    if not accounts:
        click.echo("no console account (edigw console users add NAME --role operator)", err=True)
        sys.exit(EXIT_REJECTED)
    for a in accounts:
        changed = dt.datetime.fromtimestamp(a.changed_at, dt.UTC).isoformat(timespec="seconds")
        if as_json:
            click.echo(json_line({"name": a.name, "role": a.role, "changed_at": changed,
                                  "sessions": len(sessions[a.name])}))  # fmt: skip
        else:
            click.echo(f"{a.name:<24} {a.role:<9} changed {changed}  "
                       f"{len(sessions[a.name])} open session(s)")  # fmt: skip


def _done(as_json: bool, sentence: str, **fields: object) -> None:
    """What a change of accounts did: a sentence, or with --json one object on one line."""
    click.echo(json_line(fields) if as_json else sentence)


def _change(
    ctx: click.Context, name: str, done: str, outcome: str, as_json: bool, **change: str
) -> None:
    journal = _journal(ctx)
    if not journal.update_account(name, now=int(time.time()), **change):
        click.echo(f"no account {name!r}", err=True)
        sys.exit(EXIT_REJECTED)
    shown = {k: v for k, v in change.items() if k != "password_hash"}
    _done(
        as_json, f"{done}; its sessions ended",
        name=name, outcome=outcome, **shown, sessions_ended=True,
    )  # fmt: skip


@users.command("passwd")
@click.argument("name")
@_STDIN
@_JSON
@click.pass_context
def passwd(ctx: click.Context, name: str, password_stdin: bool, as_json: bool) -> None:
    """Set an account's password (its open sessions end)."""
    password_hash = _hashed(_password(password_stdin))
    _change(
        ctx, name, f"password of {name} changed", "password-changed", as_json,
        password_hash=password_hash,
    )  # fmt: skip


@users.command("role")
@click.argument("name")
@click.argument("role", type=_ROLE)
@_JSON
@click.pass_context
def role(ctx: click.Context, name: str, role: str, as_json: bool) -> None:
    """Give an account another role (its open sessions end)."""
    _change(ctx, name, f"{name} is {role} now", "role-changed", as_json, role=role)


@users.command("remove")
@click.argument("name")
@_JSON
@click.pass_context
def remove(ctx: click.Context, name: str, as_json: bool) -> None:
    """Remove an account and end its open sessions."""
    journal = _journal(ctx)
    if not journal.remove_account(name):
        click.echo(f"no account {name!r}", err=True)
        sys.exit(EXIT_REJECTED)
    _done(
        as_json, f"removed {name}; its sessions ended",
        name=name, outcome="removed", sessions_ended=True,
    )  # fmt: skip
