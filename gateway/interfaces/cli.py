"""``edigw``: the gateway's command line.

The names, options and exit codes below are a contract: partners and operators
script against them. Extend, never rename.

Exit codes: 0 success; 1 the input or the request was rejected (reasons on
stderr); 2 usage or configuration error; 3 the broker could not be reached.
"""

from __future__ import annotations

import itertools
import sys
import uuid
import warnings
from pathlib import Path
from typing import Any

import click

from gateway.config import ConfigError
from gateway.interfaces.context import EXIT_BROKER as EXIT_BROKER
from gateway.interfaces.context import EXIT_OK as EXIT_OK
from gateway.interfaces.context import EXIT_REJECTED as EXIT_REJECTED
from gateway.interfaces.context import EXIT_USAGE as EXIT_USAGE
from gateway.interfaces.context import app_of
from gateway.interfaces.operators.conventions import json_line, terminal_line
from gateway.logs import LEVELS, configure, get_logger
from gateway.messaging import malloc
from gateway.storage.records import TRACK_LIMIT


class _Edigw(click.Group):
    """The ``edigw`` group: a configuration the gateway refuses ends every command the same way.

    Exit 2 and one line, ``configuration refused: KEY: REASON``, never a traceback (issue #14),
    whether the schema refused it at load or a start-up check did (keys, anchors, CRLs).
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"configuration refused: {exc}", err=True)
            sys.exit(EXIT_USAGE)


def _log_warnings() -> None:
    """Python warnings become log lines (structured, JSON in production), never raw text
    between the ``CODE<TAB>sentence`` lines of stderr (issue #14)."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        get_logger().warning(
            "python warning",
            category=category.__name__,
            warning=str(message),
            at=f"{filename}:{lineno}",
        )

    warnings.showwarning = show


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
    type=click.Choice(LEVELS, case_sensitive=False),
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
    ctx.ensure_object(dict)
    ctx.obj["config"] = config_path
    configure(log_format, log_level)  # type: ignore[arg-type]
    _log_warnings()
    if ctx.invoked_subcommand != "demo":  # the demo loads its own, with its own environment
        app_of(ctx)  # every command refuses a bad configuration, even offline ones (#14)


@main.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Run the gateway's workers until SIGINT/SIGTERM (graceful: in-flight work is finished)."""
    from gateway.messaging.worker import Worker

    app = app_of(ctx)
    # Before any thread is started (issue #8: one arena lets publishing reuse what the
    # pipeline freed).
    get_logger().info("allocator", settings=malloc.tune(app.settings.config.gateway))
    worker = Worker(app)
    worker.install_signal_handlers()
    worker.run()


@main.command()
@click.option("--partner", "partner_id", required=True, help="Partner id, as in the configuration.")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file and line.")
@click.pass_context
def submit(ctx: click.Context, partner_id: str, files: tuple[Path, ...], as_json: bool) -> None:
    """Publish FILES to the partner's inbound queue as that partner; print their message ids."""
    from pika.exceptions import AMQPError

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
@click.pass_context
def translate(ctx: click.Context, file: Path, out_dir: Path | None, partner_id: str) -> None:
    """Decode FILE offline (no broker) and print the canonical XML.

    A configured partner's file (--partner) is read with what its configuration says:
    the formats and message types it may send, its business-rule severities and its
    directory validation; the directory tables are the configuration's.

    Rejected input: exit 1, nothing on stdout, one line per problem on stderr
    as CODE<TAB>where<TAB>sentence.
    """
    from gateway.domain import not_mapped
    from gateway.domain.canonical_xml import to_bytes

    translator = app_of(ctx).translator
    data = file.read_bytes()
    # A large file takes a while: say so on a terminal (never into what a script reads on
    # stderr, the CODE<TAB>where<TAB>sentence lines).
    progress = len(data) >= LARGE_TRANSLATE_BYTES and sys.stderr.isatty()
    if progress:
        click.echo(f"translating {file.name} ({len(data) / 1e6:.1f} MB) ...", err=True)
    try:
        result = translator.translate(data, partner_id)
    except Exception as exc:  # the contract: never a traceback
        click.echo(f"INTERNAL_ERROR\t{file}\t{type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_REJECTED)
    if progress:
        click.echo(f"translated {file.name}: {len(result.documents)} document(s)", err=True)
    if result.rejection is not None:
        problems = result.rejection.problems or []
        if not problems:
            click.echo(
                f"{result.rejection.reason}\t{file.name}\t{result.rejection.sentence}", err=True
            )
        _echo_capped([p.line() for p in problems], result.rejection.omitted, "problems", file.name)
        sys.exit(EXIT_REJECTED)
    # Issue #15: each message is decided on its own. The accepted ones are printed; the
    # refused ones' problems go to stderr and the exit is 1 (part of the input was refused).
    _echo_capped(
        [p.line() for refused in result.rejected_messages for p in refused.rejection.problems],
        sum(refused.rejection.omitted for refused in result.rejected_messages),
        "problems",
        file.name,
    )
    # Accepted, but worth knowing (stdout stays the XML): broken rules at "warn", and each
    # data element no canonical field holds, carried verbatim in its document (issue #16).
    carried = itertools.islice(not_mapped.warnings(result.documents), STDERR_LINES + 1)
    _echo_capped(
        [f"warning: {w.code}\t{w.where}\t{w.sentence}" for w in result.warnings]
        + ["warning: " + "\t".join(line) for line in carried],
        result.warnings.omitted + max(0, not_mapped.count(result.documents) - STDERR_LINES - 1),
        "warnings",
        file.name,
        prefix="warning: ",
    )
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for i, (doc, element) in enumerate(zip(result.documents, result.elements, strict=True), 1):
            safe = "".join(
                ch if ch.isalnum() or ch in "-_." else "_" for ch in doc.header.business_reference
            )
            path = out_dir / f"{i:03d}-{doc.header.document_type}-{safe}.xml"
            path.write_bytes(to_bytes(element))
            click.echo(str(path))
    else:
        for element in result.elements:
            sys.stdout.buffer.write(to_bytes(element) + b"\n")
    if result.rejected_messages:
        sys.exit(EXIT_REJECTED)


# `edigw translate` says on a terminal when it starts and ends a file this large.
LARGE_TRANSLATE_BYTES = 5_000_000
# `edigw translate` writes at most this many lines of problems (or of warnings) on stderr,
# then one that counts the rest (issue #14: a hostile file gave 125 MB of stderr).
STDERR_LINES = 999


def _echo_capped(
    lines: list[str], omitted: int, what: str, where: str, *, prefix: str = ""
) -> None:
    """``lines`` on stderr up to ``STDERR_LINES``, then ``TOO_MANY_PROBLEMS`` with how many more.

    ``omitted``: those the pipeline counted without listing (its own summary line, if any,
    is replaced by this one).
    """
    summary = f"{prefix}TOO_MANY_PROBLEMS\t"
    lines = [line for line in lines if not line.startswith(summary)]
    for line in lines[:STDERR_LINES]:
        click.echo(line, err=True)
    rest = max(0, len(lines) - STDERR_LINES) + omitted
    if rest:
        click.echo(
            f"{prefix}TOO_MANY_PROBLEMS\t{where}\tand {rest} more {what} not shown", err=True
        )


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
    default=TRACK_LIMIT,
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


from gateway.interfaces import cli_dlq  # noqa: E402  (issue #7: edigw dlq, edigw audit, edigw console)

main.add_command(cli_dlq.dlq)
main.add_command(cli_dlq.audit)
main.add_command(cli_dlq.console)

from gateway.interfaces import cli_console  # noqa: E402  (issue #19: edigw console users)

cli_dlq.console.add_command(cli_console.users)

from gateway.interfaces import cli_ops  # noqa: E402  (issue #6: edigw routes, overdue, partners)

cli_ops.register(main)

from gateway.interfaces import cli_keys  # noqa: E402  (issue #5: edigw keys, edigw verify)

cli_keys.register(main)

from gateway.interfaces import cli_travellers  # noqa: E402  (issue #18: edigw travellers)

cli_travellers.register(main)

from gateway.interfaces import cli_calls  # noqa: E402  (issue #17: edigw calls)

cli_calls.register(main)
