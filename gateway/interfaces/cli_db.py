"""``edigw db``: the PostgreSQL journal's schema versions (issue #20, point 2).

``edigw db upgrade`` applies the migrations the database lacks (``gateway.storage.migrations``);
``edigw db status`` prints the database's version and this gateway's. With the SQLite journal
both say so and change nothing: its tables are made on first use.

Exit codes: 0 done (or up to date); 1 the database could not be reached or refused the change;
2 configuration error; ``db status`` exits 1 too when the schema is behind.
"""

from __future__ import annotations

import json
import sys

import click

from gateway.interfaces.context import EXIT_OK, EXIT_REJECTED, app_of


@click.group()
def db() -> None:
    """The PostgreSQL journal's schema: status, upgrade (versioned migrations)."""


def _unreachable(exc: Exception) -> None:
    click.echo(f"journal database: {exc}", err=True)
    sys.exit(EXIT_REJECTED)


@db.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.pass_context
def upgrade(ctx: click.Context, as_json: bool) -> None:
    """Apply the schema migrations the journal database lacks (idempotent)."""
    from gateway.storage.records import JournalUnavailable

    app = app_of(ctx)
    try:
        applied = app.upgrade_journal()
        schema = app.journal_schema()
    except JournalUnavailable as exc:
        _unreachable(exc)
        return
    version = None if schema is None else schema[0]
    if as_json:
        click.echo(
            json.dumps(
                {"backend": app.settings.journal_backend, "applied": applied, "version": version}
            )
        )
    elif schema is None:
        click.echo("sqlite journal: nothing to upgrade (its tables are made on first use)")
    elif applied:
        click.echo(f"journal schema upgraded to version {version} (applied {applied})")
    else:
        click.echo(f"journal schema at version {version}: up to date")
    sys.exit(EXIT_OK)


@db.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Print the journal database's schema version and this gateway's; exit 1 when behind."""
    from gateway.storage.records import JournalUnavailable

    app = app_of(ctx)
    try:
        schema = app.journal_schema()
    except JournalUnavailable as exc:
        _unreachable(exc)
        return
    if schema is None:
        click.echo(json.dumps({"backend": "sqlite"}) if as_json else "sqlite journal: unversioned")
        sys.exit(EXIT_OK)
    version, latest = schema
    if as_json:
        click.echo(json.dumps({"backend": "postgresql", "version": version, "latest": latest}))
    else:
        state = "up to date" if version >= latest else "behind: run `edigw db upgrade`"
        click.echo(f"journal schema version {version}, this gateway's {latest}: {state}")
    sys.exit(EXIT_OK if version >= latest else EXIT_REJECTED)
