"""``edigw db``: the PostgreSQL journal's schema versions (issue #20, point 2).

``edigw db upgrade`` applies the migrations the database lacks (``gateway.storage.migrations``);
``edigw db status`` prints the database's version and this gateway's. With the SQLite journal
both say so and change nothing: its tables are made on first use. ``edigw db import-audit FILE``
appends a local SQLite audit trail (kept per machine by releases before schema version 2) to
the configured one, once per entry.

Exit codes: 0 done (or up to date); 1 the database could not be reached or refused the change;
2 configuration error; ``db status`` exits 1 too when the schema is behind.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import click

from gateway.interfaces.context import EXIT_OK, EXIT_REJECTED, app_of


@click.group()
def db() -> None:
    """The PostgreSQL journal's schema: status, upgrade (versioned migrations), import-audit."""


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


@db.command("import-audit")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--source",
    default=None,
    help="Where the trail was kept, noted on every imported entry (default: this host's name).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.pass_context
def import_audit(ctx: click.Context, file: Path, source: str | None, as_json: bool) -> None:
    """Append a local SQLite audit trail (an earlier release's
    <state_dir>/operators-audit.sqlite3) to the configured one; entries already imported from
    the same source are skipped, so it can be run again."""
    from gateway.storage.records import JournalUnavailable

    app = app_of(ctx)
    if app.settings.journal_backend == "sqlite" and _same_file(file, app.settings.journal_path):
        click.echo(f"{file}: is the journal's own file, whose trail this already is", err=True)
        sys.exit(EXIT_REJECTED)
    origin = source or socket.gethostname()
    try:
        imported, skipped = app.import_audit(file, origin)
    except (OSError, ValueError) as exc:
        click.echo(f"{file}: {exc}", err=True)
        sys.exit(EXIT_REJECTED)
    except JournalUnavailable as exc:
        _unreachable(exc)
        return
    if as_json:
        click.echo(json.dumps({"source": origin, "imported": imported, "skipped": skipped}))
    else:
        click.echo(
            f"{imported} audit entries imported from {file} as {origin!r}, {skipped} skipped"
        )
    sys.exit(EXIT_OK)


def _same_file(file: Path, journal_path: str) -> bool:
    try:
        return file.resolve() == Path(journal_path).resolve()
    except OSError:
        return False
