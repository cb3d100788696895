"""``edigw routes``, ``edigw overdue`` and ``edigw partners``: reliability operations (issue #6).

Exit codes as in :mod:`gateway.interfaces.cli`: 0 success; 1 nothing to act on (no running
gateway to reload, no rule to show, overdue messages found with ``--fail-if-any``); 2 usage or
configuration error; 3 the broker (rabbitmqctl) could not be used.

The operators' conventions (issue #19): ``--json`` prints one object per line; ``-h`` works;
text from partners (references in ``overdue``) is printed with control characters escaped.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gateway.interfaces.cli_dlq import HELP
from gateway.interfaces.context import EXIT_BROKER, EXIT_OK, EXIT_REJECTED, EXIT_USAGE, app_of
from gateway.interfaces.operators.conventions import json_line, terminal_line
from gateway.logs import get_logger

if TYPE_CHECKING:
    from gateway.messaging.partners import TrustDomain

log = get_logger()


def running_gateways(state_dir: Path) -> list[int]:
    """Process ids of the ``edigw run`` processes of this state directory that are alive."""
    pids = []
    for path in sorted((state_dir / "run").glob("edigw-*.pid")):
        try:
            pid = int(path.read_text().strip())
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError):
            path.unlink(missing_ok=True)  # a crashed gateway left it behind
            continue
        except PermissionError:
            pass
        pids.append(pid)
    return pids


_JSON = click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")


@click.group(context_settings=HELP)
def routes() -> None:
    """Migration routing: show the rules, reload them in running gateways."""


@routes.command("show")
@_JSON
@click.pass_context
def routes_show(ctx: click.Context, as_json: bool) -> None:
    """Print the routing and copy rules of the configuration, first match first."""
    from gateway.service.routing import describe

    settings = app_of(ctx).settings
    copies = settings.copies
    if not settings.routes and not copies:
        click.echo("no routing rule configured", err=True)
        sys.exit(EXIT_REJECTED)
    if as_json:
        rules = [("route", r) for r in settings.routes] + [("copy", c) for c in copies]
        for kind, r in rules:
            click.echo(
                json_line(
                    {
                        "kind": kind,
                        "document_type": r.document_type,
                        "partner": r.partner,
                        "office": r.office,
                        "destination": r.destination,
                    }
                )
            )
        return
    for line in describe(settings.routes, copies):
        click.echo(terminal_line(line))


@routes.command("reload")
@_JSON
@click.pass_context
def routes_reload(ctx: click.Context, as_json: bool) -> None:
    """Check the configuration, then make every running gateway re-read its routes (SIGHUP).

    Cutting an office over is an edit of ``[[routes]]`` followed by this command; each
    gateway logs what changed. Exit 1 when no gateway is running here.
    """
    from gateway.service.routing import describe

    settings = app_of(ctx).settings  # a bad configuration stops here (exit 2), untouched
    copies = settings.copies
    pids = running_gateways(settings.state_dir)
    if not pids:
        click.echo(
            f"no running gateway found in {settings.state_dir}/run; the rules apply at next start",
            err=True,
        )
        sys.exit(EXIT_REJECTED)
    for pid in pids:
        os.kill(pid, signal.SIGHUP)
    log.info("routes reload requested", pids=pids, rules=describe(settings.routes, copies))
    if as_json:
        click.echo(json_line({"signalled": pids}))
    else:
        click.echo(f"reload signalled to {len(pids)} gateway(s): {', '.join(map(str, pids))}")


@click.command(context_settings=HELP)
@click.option(
    "--minutes",
    type=float,
    default=None,
    help="Overdue after this many minutes (default: responses.overdue_after_minutes).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object, on one line.")
@click.option("--fail-if-any", is_flag=True, help="Exit 1 when something is overdue.")
@click.option("--limit", type=int, default=1000, show_default=True)
@click.pass_context
def overdue(
    ctx: click.Context, minutes: float | None, as_json: bool, fail_if_any: bool, limit: int
) -> None:
    """List routed documents with no customs answer after the configured delay."""
    import datetime as dt

    from gateway.service.responses import overdue_after
    from gateway.storage.records import JournalUnavailable

    app = app_of(ctx)
    delay = (
        dt.timedelta(minutes=minutes)
        if minutes is not None
        else overdue_after(app.settings.config.responses)
    )
    try:
        late = app.journal.overdue(delay, limit=limit)
    except JournalUnavailable as exc:
        click.echo(f"journal unavailable: {exc}", err=True)
        sys.exit(EXIT_BROKER)
    for item in late:
        log.warning(
            "overdue: no customs answer",
            document=item.message_id,
            partner=item.partner,
            business_reference=item.business_reference,
            routed_at=item.routed_at,
        )
    if as_json:
        click.echo(
            json_line(
                {
                    "overdue_after_minutes": delay.total_seconds() / 60,
                    "messages": [
                        {
                            "message_id": o.message_id,
                            "inbound_id": o.inbound_id,
                            "partner": o.partner,
                            "document_type": o.document_type,
                            "business_reference": o.business_reference,
                            "routed_at": o.routed_at,
                        }
                        for o in late
                    ],
                }
            )
        )
    else:
        for o in late:
            click.echo(
                terminal_line(
                    f"{o.routed_at}  {o.partner:<12} {o.document_type:<22} "
                    f"{o.business_reference:<24} {o.message_id}"
                )
            )
        click.echo(
            f"{len(late)} document(s) without a customs answer after "
            f"{delay.total_seconds() / 60:g} minutes",
            err=True,
        )
    sys.exit(EXIT_REJECTED if (late and fail_if_any) else EXIT_OK)


@click.group(context_settings=HELP)
def partners() -> None:
    """Partner isolation on the broker: one user and one virtual host per partner."""


@partners.command("provision")
@click.option("--partner", "only", multiple=True, help="Only these partners (repeatable).")
@click.option("--rotate", is_flag=True, help="Generate new passwords for existing users.")
@click.option(
    "--dry-run", is_flag=True, help="Print what would be created; touch neither broker nor files."
)
@_JSON
@click.pass_context
def partners_provision(
    ctx: click.Context, only: tuple[str, ...], rotate: bool, dry_run: bool, as_json: bool
) -> None:
    """Give each partner its trust domain: a virtual host with its inbound and outbound queues,
    a user allowed there only (write its inbound, read its outbound), and the two shovels that
    carry its messages to the gateway's vhost and its answers back (docs/security.md).

    Passwords are generated into <state_dir>/partners/<user>.secret (mode 0600) and
    never printed. Exit 2 when two partners would share a vhost, or a partner would be in
    the gateway's; exit 3 when the broker or rabbitmqctl cannot be used.
    """
    from pika.exceptions import AMQPError

    from gateway.messaging.partners import ProvisionError, provision, trust_domains

    app = app_of(ctx)
    settings = app.settings
    unknown = [p for p in only if p not in settings.partners]
    if unknown:
        click.echo(f"unknown partner(s): {', '.join(unknown)}", err=True)
        sys.exit(EXIT_USAGE)
    if dry_run:
        for d in trust_domains(settings, only=only or None):
            _print_domain(d, as_json)
        return
    try:
        done = provision(settings, app.broker, only=list(only) or None, rotate=rotate)
    except (ProvisionError, AMQPError) as exc:
        click.echo(str(exc) or type(exc).__name__, err=True)
        sys.exit(EXIT_BROKER)
    for p in done:
        state = "created" if p.created else "updated"
        if as_json:
            click.echo(
                json_line(
                    {
                        "partner": p.partner,
                        "user": p.user,
                        "state": state,
                        "vhost": p.vhost,
                        "url": p.url,
                        "secret_file": str(p.secret_file),
                        "revoked_from": list(p.revoked),
                    }
                )
            )
        else:
            revoked = f"\tpermissions removed on {', '.join(p.revoked)}" if p.revoked else ""
            click.echo(
                f"{p.partner}\tuser {p.user} ({state}) on vhost {p.vhost}"
                f"\tsecret {p.secret_file}{revoked}"
            )


def _print_domain(d: TrustDomain, as_json: bool) -> None:
    """One partner's trust domain as ``provision`` would create it (``--dry-run``)."""
    configure, write, read = d.permissions
    if as_json:
        click.echo(
            json_line(
                {
                    "partner": d.partner,
                    "user": d.user,
                    "vhost": d.vhost,
                    "permissions": {"configure": configure, "write": write, "read": read},
                    "exchanges": [e.name for e in d.topology.exchanges],
                    "queues": [q.name for q in d.topology.queues],
                    "shovels": {name: dict(value) for name, value in d.shovels.items()},
                }
            )
        )
        return
    click.echo(
        f"{d.partner}\tvhost {d.vhost}\tuser {d.user}"
        f"\tconfigure {configure} write {write} read {read}"
    )
    for name, value in d.shovels.items():
        source = f"{value['src-uri']} {value['src-queue']}"
        target = value.get("dest-exchange") or value.get("dest-queue")
        click.echo(f"{d.partner}\tshovel {name}: {source} -> {value['dest-uri']} {target}")


def register(main: click.Group) -> None:
    """Add these commands to ``edigw`` (one line in gateway/interfaces/cli.py)."""
    for command in (routes, overdue, partners):
        main.add_command(command)
