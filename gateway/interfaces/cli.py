"""``edigw``: the gateway's command line.

The names, options and exit codes below are a contract: partners and operators
script against them. Extend, never rename.

Exit codes: 0 success; 1 the input or the request was rejected (reasons on
stderr); 2 usage or configuration error; 3 the broker could not be reached
(``edigw run``: or the PostgreSQL journal, at start).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gateway.config_errors import ConfigError
from gateway.interfaces.context import EXIT_BROKER as EXIT_BROKER
from gateway.interfaces.context import EXIT_OK as EXIT_OK
from gateway.interfaces.context import EXIT_REJECTED as EXIT_REJECTED
from gateway.interfaces.context import EXIT_USAGE as EXIT_USAGE
from gateway.interfaces.context import app_of
from gateway.interfaces.invocation import log_warnings as _log_warnings
from gateway.interfaces.translating import LARGE_TRANSLATE_BYTES as LARGE_TRANSLATE_BYTES
from gateway.interfaces.translating import STDERR_LINES as STDERR_LINES
from gateway.interfaces.translating import translate_file

# gateway.logs.LEVELS, written here so that `edigw --help` does not load structlog
# (tests/unit/test_cli_startup.py keeps the two equal).
LOG_LEVELS = ("debug", "info", "warning", "error")
# gateway.storage.records.TRACK_LIMIT, likewise (the journal's modules load for track only).
TRACK_LIMIT = 20

if TYPE_CHECKING:
    from gateway.bootstrap import App

# The commands of the other command modules: name -> (module, the short help `edigw --help`
# prints). A module is imported only when one of its commands runs (issue #20, point 6):
# `edigw --help` and the offline commands do not load pika, the operators' views or the call
# registry. tests/unit/test_cli_startup.py checks each entry against the command itself.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    # issue #7
    "dlq": (
        "gateway.interfaces.cli_dlq",
        "Dead letters: list, group, show, replay, edit, purge, export.",
    ),
    "audit": (
        "gateway.interfaces.cli_audit",
        "The operators' audit trail: who did what, when, to which messages.",
    ),
    "console": (
        "gateway.interfaces.cli_audit",
        "Serve the operators' web console (sign in with an account: edigw console users).",
    ),
    # issue #6
    "routes": (
        "gateway.interfaces.cli_ops",
        "Migration routing: show the rules, reload them in running gateways.",
    ),
    "overdue": (
        "gateway.interfaces.cli_ops",
        "List routed documents with no customs answer after the configured delay.",
    ),
    "partners": (
        "gateway.interfaces.cli_ops",
        "Partner isolation on the broker: one user and one virtual host per partner.",
    ),
    # issue #5
    "keys": (
        "gateway.interfaces.cli_keys",
        "The gateway's signing keys: generate, list, rotate (old certificates stay for "
        "verification).",
    ),
    "verify": (
        "gateway.interfaces.cli_keys",
        "Check FILE's signature against the trust store: exit 0 valid, 1 invalid (reason on "
        "stderr).",
    ),
    # issue #18
    "travellers": (
        "gateway.interfaces.cli_travellers",
        "Travellers' vehicles (TPD) and currency declarations (docs/travellers.md).",
    ),
    # issue #20
    "directories": (
        "gateway.interfaces.cli_directories",
        "UN/EDIFACT directory tables built on this machine: generate.",
    ),
    "db": (
        "gateway.interfaces.cli_db",
        "The PostgreSQL journal's schema: status, upgrade (versioned migrations), import-audit.",
    ),
    # issue #17
    "calls": (
        "gateway.interfaces.cli_calls",
        "Ship calls: the manifests, bills and containers of each, and their reconciliation.",
    ),
}


class _Edigw(click.Group):
    """The ``edigw`` group: a configuration the gateway refuses ends every command the same way.

    Exit 2 and one line, ``configuration refused: KEY: REASON``, never a traceback (issue #14),
    whether the schema refused it at load or a start-up check did (keys, anchors, CRLs).

    The commands of :data:`LAZY_COMMANDS` are imported when asked for by name; the list of
    ``edigw --help`` prints their short help from the table without importing them.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"configuration refused: {exc}", err=True)
            sys.exit(EXIT_USAGE)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            module = importlib.import_module(LAZY_COMMANDS[cmd_name][0])
            self.add_command(getattr(module, cmd_name))
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = [
            n
            for n in self.list_commands(ctx)
            if n not in self.commands or not self.commands[n].hidden
        ]
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        # A lazy command's line: a stand-in with its help from the table, shortened alike.
        rows = [
            (
                n,
                (
                    self.commands.get(n) or click.Command(n, help=LAZY_COMMANDS[n][1])
                ).get_short_help_str(limit),
            )
            for n in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_Edigw, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="TOML file merged over the defaults.",
)
@click.option(
    "--log-format",
    type=click.Choice(["auto", "json", "console"]),
    default="auto",
    show_default=True,
    help="auto: readable in a terminal, JSON lines otherwise.",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default="info",
    show_default=True,
    envvar="EDIGW_LOG_LEVEL",
    show_envvar=True,
    help="Log lines below this level are not written (stderr).",
)
@click.version_option(package_name="port-edi-gateway")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, log_format: str, log_level: str) -> None:
    """port-edi-gateway: the customs single window's EDI gateway."""
    from gateway.logs import configure

    ctx.ensure_object(dict)
    ctx.obj["config"] = config_path
    configure(log_format, log_level)  # type: ignore[arg-type]
    _log_warnings()
    if ctx.invoked_subcommand != "demo":  # the demo loads its own, with its own environment
        app_of(ctx)  # every command refuses a bad configuration, even offline ones (#14)


@main.command()
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port of /metrics, /healthz and /readyz (over [metrics] port; 0 = none).",
)
@click.pass_context
def run(ctx: click.Context, metrics_port: int | None) -> None:
    """Run the gateway's workers until SIGINT/SIGTERM (graceful: in-flight work is finished)."""
    from gateway.logs import get_logger
    from gateway.messaging import malloc
    from gateway.messaging.worker import Worker

    app = app_of(ctx)
    _refuse_local_state_with_shared_journal(app)
    # Before any thread is started (issue #8: one arena lets publishing reuse what the
    # pipeline freed).
    get_logger().info("allocator", settings=malloc.tune(app.settings.config.gateway))
    worker = Worker(app, metrics_port=metrics_port)
    worker.install_signal_handlers()
    worker.run()


def _refuse_local_state_with_shared_journal(app: App) -> None:
    """With the PostgreSQL journal, several instances share the work (issue #20, point 2):
    the database's schema must be upgraded (``edigw db upgrade``; exit 2 otherwise, exit 3
    when it cannot be reached), and the signing key and the trust anchors must come from
    configured files, never generated in each instance's state directory (ConfigError)."""
    settings = app.settings
    if settings.journal_backend != "postgresql":
        return
    keys = settings.config.keys
    if not (keys.signing_key and keys.signing_cert):
        raise ConfigError(
            "keys.signing_key",
            "with journal.backend = postgresql every instance must sign with the site's key: "
            "set [keys] signing_key and signing_cert (a key in each state directory would be "
            "one key per instance)",
        )
    if not settings.config.trust.dir:
        raise ConfigError(
            "trust.dir",
            "with journal.backend = postgresql the ministries' trust anchors must come from "
            "the site's files: set [trust] dir (never generated per state directory)",
        )
    from gateway.storage.records import JournalUnavailable

    try:
        schema = app.journal_schema()
    except JournalUnavailable as exc:
        click.echo(f"journal database: {exc}", err=True)
        sys.exit(EXIT_BROKER)
    if schema is not None and schema[0] < schema[1]:
        click.echo(
            f"journal schema at version {schema[0]}, this gateway needs {schema[1]}: "
            "run `edigw db upgrade` first",
            err=True,
        )
        sys.exit(EXIT_USAGE)


@main.command()
@click.option("--partner", "partner_id", required=True, help="Partner id, as in the configuration.")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file and line.")
@click.pass_context
def submit(ctx: click.Context, partner_id: str, files: tuple[Path, ...], as_json: bool) -> None:
    """Publish FILES to the partner's inbound queue as that partner; print their message ids."""
    import uuid  # here: `edigw --help` does not load it (issue #20, point 6)

    from pika.exceptions import AMQPError

    from gateway.interfaces.operators.conventions import json_line
    from gateway.messaging import broker
    from gateway.messaging.partners import trust_domains

    app = app_of(ctx)
    settings = app.settings
    partner = settings.partners.get(partner_id)
    if partner is None or partner.role == "customs":
        click.echo(
            f"unknown partner {partner_id!r}; known: {', '.join(sorted(settings.partners))}",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    if partner.amqp_url:
        # The partner's own URL must name its own vhost, its trust domain (docs/security.md):
        # ConfigError, exit 2, otherwise.
        trust_domains(settings, only=[partner_id])
    exchange = app.names.inbound(partner_id)
    try:
        # As the partner: its own login when it has one, over the gateway's TLS settings.
        connection = app.broker.blocking(url=partner.amqp_url)
    except AMQPError as exc:
        click.echo(f"broker unreachable: {exc}", err=True)
        sys.exit(EXIT_BROKER)
    try:
        channel = broker.confirmed_channel(connection)
        for path in files:
            message_id = str(uuid.uuid4())
            data = path.read_bytes()
            content_type = "application/xml" if data.lstrip()[:1] == b"<" else "application/edifact"
            try:
                broker.publish(
                    channel,
                    exchange,
                    "",
                    data,
                    message_id=message_id,
                    content_type=content_type,
                    headers={"x-edigw-filename": path.name},
                )
            except broker.PublishError as exc:
                click.echo(f"{path}: {exc} (run `edigw topology` first)", err=True)
                sys.exit(EXIT_REJECTED)
            if as_json:
                click.echo(
                    json_line({"message_id": message_id, "file": str(path), "partner": partner_id})
                )
            else:
                click.echo(f"{message_id}\t{path}")
    finally:
        connection.close()


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one file per message.",
)
@click.option(
    "--partner",
    "partner_id",
    default="offline",
    show_default=True,
    help="Sender: a configured partner's file is read as its configuration says.",
)
@click.option(
    "--progress",
    is_flag=True,
    help="Say on stderr when a large file starts and ends, even when it is not a terminal.",
)
@click.pass_context
def translate(
    ctx: click.Context, file: Path, out_dir: Path | None, partner_id: str, progress: bool
) -> None:
    """Decode FILE offline (no broker) and print the canonical XML.

    A configured partner's file (--partner) is read with what its configuration says:
    the formats and message types it may send, its business-rule severities and its
    directory validation; the directory tables are the configuration's. The travellers'
    portal's JSON (--partner eservices) gives its canonical document; a border post's event
    (--partner border) is read and checked, and nothing is printed.

    Rejected input: exit 1, nothing on stdout, one line per problem on stderr
    as CODE<TAB>where<TAB>sentence.
    """
    translate_file(app_of(ctx), file, out_dir, partner_id, progress, click.echo)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--partner",
    "partner_id",
    default=None,
    help="The partner FILE comes from (default: the first partner answered by CONTRL).",
)
@click.pass_context
def contrl(ctx: click.Context, file: Path, partner_id: str | None) -> None:
    """Print the CONTRL the gateway would send for FILE (exit 0 whenever one could be built).

    FILE is read as the running gateway reads the partner's messages (issue #16): the
    format, message types, directory validation and envelope its configuration gives, each
    message judged on its own. Only the interchange reference differs: 1 here, the
    partner's next number in the gateway. When the gateway sends no CONTRL (a partner's
    CONTRL, messages without a UNB), nothing is printed and stderr says why; the exit is 1
    when the gateway dead-letters FILE, else 0.
    """
    from gateway.service.formats import ANSWERS
    from gateway.service.pipeline import PROVISIONAL_REFERENCE, contrl_of

    settings = app_of(ctx).settings
    answered = [p for p in settings.partners.values() if ANSWERS.get(p.role) == "contrl"]
    partner = settings.partners.get(partner_id) if partner_id else next(iter(answered), None)
    if partner is None or partner not in answered:
        known = ", ".join(p.id for p in answered) or "none"
        click.echo(f"unknown partner {partner_id!r} (answered by CONTRL: {known})", err=True)
        sys.exit(EXIT_USAGE)
    try:
        translation, write = contrl_of(file.read_bytes(), partner, settings.interchange_id)
        out = None if write is None else write(PROVISIONAL_REFERENCE)
    except Exception as exc:  # the contract: never a traceback
        click.echo(f"INTERNAL_ERROR\t{file}\t{type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_REJECTED)
    if out is not None:
        sys.stdout.buffer.write(out)
        return
    click.echo(f"NO_CONTRL\t{file.name}\t{translation.unanswered}", err=True)
    if translation.rejection is not None:
        rejection = translation.rejection
        click.echo(f"{rejection.reason}\t{file.name}\t{rejection.sentence}", err=True)
        sys.exit(EXIT_REJECTED)


@main.command()
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on one line.")
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=TRACK_LIMIT,  # gateway.storage.records.TRACK_LIMIT (checked equal by a test)
    show_default=True,
    help="At most this many matching messages (each shown with its story).",
)
@click.pass_context
def track(ctx: click.Context, reference: str, as_json: bool, limit: int) -> None:
    """Show the story of every message whose business reference or message id starts with
    REFERENCE, in any case: document numbers, bills, containers, certificate numbers, of
    messages routed or refused (dead letters included), and the replays of each.

    An MRN finds the manifest customs registered under it; MRN/MSN (or MRN/MSN/HSN) a bill.
    Exit 1 when nothing matched.
    """
    from gateway.interfaces.cli_calls import registered, registration_line
    from gateway.interfaces.operators.conventions import json_line, terminal_line

    journal = app_of(ctx).journal
    histories = journal.track(reference, limit=limit)
    registration = registered(journal, reference, histories)  # issue #17
    if histories.more:
        click.echo(
            f"more than {limit} messages match {terminal_line(reference)!r}: the first "
            f"{limit} are shown (a longer reference, or --limit, for more)",
            err=True,
        )
    if as_json:
        payload: dict[str, Any] = {
            "reference": reference,
            "messages": [h.to_json() for h in histories],
            "more": histories.more,
        }
        if registration is not None:
            payload["registration"] = registration.to_json()
        click.echo(json_line(payload))
    else:
        if registration is not None:
            click.echo(registration_line(registration))
        for h in histories:
            kin = f"  ({h.relation} {h.parent_id})" if h.parent_id else ""
            click.echo(terminal_line(f"{h.message_id}  {h.type}  from {h.partner}{kin}"))
            for e in h.events:
                click.echo(terminal_line(f"    {e.at}  {e.status:<14} {e.detail}"))
    if not histories and registration is None:
        click.echo(f"no message with reference or id {terminal_line(reference)!r}", err=True)
        sys.exit(EXIT_REJECTED)


@main.command()
@click.option("--dry-run", is_flag=True, help="Print the topology without declaring it.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per exchange or queue.")
@click.pass_context
def topology(ctx: click.Context, dry_run: bool, as_json: bool) -> None:
    """Declare every exchange and queue (idempotent) and print them as a table."""
    from pika.exceptions import AMQPError

    from gateway.interfaces.operators.conventions import json_line
    from gateway.messaging.topology import declare, table, topology_lines

    app = app_of(ctx)
    topo = app.topology
    if not dry_run:
        try:
            connection = app.broker.blocking()
        except AMQPError as exc:
            click.echo(f"broker unreachable: {exc}", err=True)
            sys.exit(EXIT_BROKER)
        try:
            declare(connection.channel(), topo)
        finally:
            connection.close()
    if as_json:
        for line in topology_lines(topo):
            click.echo(json_line(line))
    else:
        click.echo(table(topo))


@main.command()
@click.option(
    "--samples", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None
)
@click.option("--timeout", type=float, default=60.0, show_default=True)
@click.pass_context
def demo(ctx: click.Context, samples: Path | None, timeout: float) -> None:
    """Start the gateway, submit the bundled samples, print what became of each, stop."""
    from gateway.interfaces.demo import run_demo

    sys.exit(run_demo(ctx.obj.get("config"), samples, timeout))
