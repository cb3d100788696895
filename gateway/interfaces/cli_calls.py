"""``edigw calls``: the ship calls the journal knows, and what hangs on each (issue #17).

Exit codes as in :mod:`gateway.interfaces.cli`: 0 found; 1 no call matched; 2 usage (a call
that is not ``IMO/VOYAGE[/PORT]``, a port that is not a port of Algeria, a date that is not
one, a call at several ports without ``--port``).

The operators' conventions (issue #19): ``--json`` prints one object per line; ``-h`` works;
what partners sent (names, references) is printed with its control characters escaped::

    edigw calls list --port DZALG --from 2026-12-01
    edigw calls show 9454436/0MA1RN1MA
    edigw calls show 9454436/0MA1RN1MA/DZALG --json
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import click

from gateway.config_schema import PORT_OF_CALL
from gateway.interfaces.cli_dlq import HELP
from gateway.interfaces.context import EXIT_REJECTED, EXIT_USAGE, app_of
from gateway.interfaces.operators.conventions import json_line, terminal_line
from gateway.service.call_checks import Reconciliation
from gateway.service.call_view import (
    CallView,
    Registration,
    bill_reference,
    find_calls,
    find_registration,
    view,
)
from gateway.service.calls import CallPolicy
from gateway.storage.journal import Journal, MessageHistory

_JSON = click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
# Lines of each list `calls show` prints without --all (the JSON always has everything).
SHOWN = 50


def _port(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not PORT_OF_CALL.match(value):
        raise click.BadParameter(f"{value!r} is not the UN/LOCODE of a port of Algeria (DZALG ...)")
    return value


_PORT = click.option("--port", callback=_port, help="UN/LOCODE of the port of call, e.g. DZALG.")


@contextmanager
def _journal(ctx: click.Context) -> Iterator[Journal]:
    # The invocation's journal, from the composition root (closed with the app).
    yield app_of(ctx).journal


def _policy(ctx: click.Context) -> CallPolicy:
    return CallPolicy.from_config(app_of(ctx).settings.config.calls)


def _when(value: str | None) -> str:
    """An ISO moment as ``2026-12-01 07:00`` (UTC), or ``-``."""
    if not value:
        return "-"
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


@click.group(context_settings=HELP)
def calls() -> None:
    """Ship calls: the manifests, bills and containers of each, and their reconciliation."""


@calls.command("list")
@_PORT
@click.option(
    "--from",
    "since",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Calls expected (or arrived) on or after this day (YYYY-MM-DD, UTC).",
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@_JSON
@click.pass_context
def calls_list(
    ctx: click.Context, port: str | None, since: dt.datetime | None, limit: int, as_json: bool
) -> None:
    """The calls, latest expected arrival first."""
    with _journal(ctx) as journal:
        found = journal.calls(
            port=port,
            since=since.replace(tzinfo=dt.UTC).isoformat() if since else None,
            limit=limit,
        )
        counts = {c.key: len(journal.manifests(c.key, linked=True)) for c in found}
    if not found:
        click.echo("no call matched", err=True)
        sys.exit(EXIT_REJECTED)
    for c in found:
        if as_json:
            click.echo(json_line({**_call_json(c), "manifests": counts[c.key]}))
        else:
            click.echo(
                terminal_line(
                    f"{c.key}\t{c.call_reference}\t{c.vessel_name or '-'}\tETA {_when(c.eta)}"
                    f"\tATA {_when(c.ata)}\t{c.status}\t{counts[c.key]} manifest(s)"
                )
            )


def _call_json(c: Any) -> dict[str, object]:
    return {**asdict(c), "key": str(c.key)}


@calls.command("show")
@click.argument("call")
@_PORT
@click.option(
    "--all", "show_all", is_flag=True, help=f"Every line, not the first {SHOWN} of each list."
)
@_JSON
@click.pass_context
def calls_show(
    ctx: click.Context, call: str, port: str | None, show_all: bool, as_json: bool
) -> None:
    """CALL (IMO/VOYAGE or IMO/VOYAGE/PORT): its manifests, bills, containers, discharge,
    dangerous goods and reconciliation."""
    try:
        with _journal(ctx) as journal:
            found = find_calls(journal, call, port)
            if len(found) == 1:
                shown = view(journal, _policy(ctx), found[0])
    except ValueError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_USAGE)
    if not found:
        click.echo(terminal_line(f"no call {call}" + (f" at {port}" if port else "")), err=True)
        sys.exit(EXIT_REJECTED)
    if len(found) > 1:
        ports = ", ".join(c.key.port_of_call for c in found)
        click.echo(terminal_line(f"{call} called at {ports}: say which with --port"), err=True)
        sys.exit(EXIT_USAGE)
    if as_json:
        click.echo(json_line(shown.to_json()))
        return
    for line in _show_lines(shown, None if show_all else SHOWN):
        click.echo(terminal_line(line))


def _capped(lines: Sequence[str], cap: int | None) -> list[str]:
    if cap is None or len(lines) <= cap:
        return list(lines)
    return [*lines[:cap], f"    ... and {len(lines) - cap} more (--all, or --json)"]


def _show_lines(v: CallView, cap: int | None) -> list[str]:
    c = v.call
    out = [
        f"call {c.key}  {c.vessel_name or '-'}  ({c.call_reference} from {c.sender}, "
        f"version {c.version}, {c.status})",
        f"  berth {c.berth or '-'}  ETA {_when(c.eta)}  ATA {_when(c.ata)}  ATD {_when(c.atd)}",
        f"manifests ({len(v.manifests)})",
    ]
    out += _capped(
        [
            f"  {m.sender}  {m.document_number}  v{m.version} {m.function}  {m.status}  "
            + ("outward  " if v.direction_of(m) == "outward" else "")
            + ("linked" if m.linked_at else "waiting for the call")
            + f"  MRN {m.mrn or '-'}  {m.bill_count} bill(s), {m.equipment_count} container(s)"
            + (f"  flags {','.join(m.flags)}" if m.flags else "")
            for m in v.manifests
        ],
        cap,
    )
    out.append(f"bills ({len(v.bills)})")
    out += _capped(
        [
            f"  {b.transport_document}  {b.kind}  MSN {b.master_sequence_number or '-'}  "
            f"HSN {b.house_sequence_number or '-'}  {bill_reference(v.mrn_of(b), b) or '-'}  "
            f"({b.sender} {b.document_number})"
            for b in v.bills
        ],
        cap,
    )
    reports = [
        f"{d.document_number} ({d.operation}{', complete' if d.complete else ''})"
        for d in v.documents
        if d.operation
    ]
    out.append(
        f"containers: {v.reconciliation.declared} declared for discharge, "
        f"{len(v.discharged)} discharged, {len(v.loaded)} loaded"
        + (f"; reports {', '.join(reports)}" if reports else "")
    )
    out += _reconciliation_lines(v.reconciliation, v.reconciliation_state, cap)
    if v.outward or v.loaded:  # the loading, against the outward (export) manifests
        out.append(f"loading: {v.loading.declared} declared for loading, {len(v.loaded)} loaded")
        out += _reconciliation_lines(v.loading, v.loading_state, cap, "loading reconciliation")
    out.append(
        f"dangerous goods: {len(v.notified)} notified, {len(v.dangerous)} discrepancies with "
        "the manifests"
    )
    out += _capped([f"  {d.kind}  {d.sentence}" for d in v.dangerous], cap)
    out.append(f"dangerous goods checked again ({len(v.checks)})")
    out += _capped(
        [
            f"  {_when(k.checked_at)}  after {k.trigger}: {k.notified} notified, "
            f"{k.declared} declared, {k.discrepancy_count} discrepancies"
            for k in v.checks
        ],
        cap,
    )
    out.append(f"reports to customs ({len(v.reports)})")
    out += _capped(
        [
            f"  {_when(r.told_at)}  {r.basis}  {r.message_id}  "
            + (
                f"customs: {r.decision}"
                + (f" {r.registration_number}" if r.registration_number else "")
                + f" ({_when(r.answered_at)})"
                if r.decision
                else "no answer from customs yet"
            )
            for r in v.reports
        ],
        cap,
    )
    return out


def _reconciliation_lines(
    r: Reconciliation, state: str, cap: int | None, name: str = "reconciliation"
) -> list[str]:
    head = r.summary().split(": ", 1)[1]
    return [
        f"{name} ({state}): {head}",
        *_capped([f"  {d.kind}  {d.sentence}" for d in r.discrepancies], cap),
    ]


def register(main: click.Group) -> None:
    """Add ``edigw calls`` (one line in gateway/interfaces/cli.py)."""
    main.add_command(calls)


# ---------------------------------------------------------------- edigw track by MRN


def registered(
    journal: Journal, reference: str, histories: list[MessageHistory]
) -> Registration | None:
    """``reference`` as an MRN (or ``MRN/MSN[/HSN]``): its manifest, whose histories (and its
    bills') are added to ``histories``; None when no manifest is registered under it."""
    found = find_registration(journal, reference)
    if found is None:
        return None
    seen = {h.message_id for h in histories}
    for ref in found.references():
        for h in journal.track(ref):
            if h.message_id not in seen:
                seen.add(h.message_id)
                histories.append(h)
    return found


def registration_line(r: Registration) -> str:
    m = r.manifest
    bills = ", ".join(
        f"{b.transport_document} ({bill_reference(m.mrn, b) or '-'})" for b in r.bills[:SHOWN]
    )
    more = f" and {len(r.bills) - SHOWN} more" if len(r.bills) > SHOWN else ""
    boxes = ", ".join(r.containers[:SHOWN])
    boxes_more = f" and {len(r.containers) - SHOWN} more" if len(r.containers) > SHOWN else ""
    return terminal_line(
        f"MRN {m.mrn}: manifest {m.document_number} from {m.sender}, call {m.key}"
        + ("" if m.linked_at else " (not linked)")
        + f"; bills {bills or '-'}{more}; containers {boxes or '-'}{boxes_more}"
    )
