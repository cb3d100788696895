"""``edigw travellers``: vehicles past their date, a sailing's pre-clearance list, erasure (issue #18).

Exit codes as in :mod:`gateway.interfaces.cli`: 0 done; 1 nothing matched (no vehicle
overdue, no list for that sailing, nothing past retention); 2 usage; 3 the journal could not
be reached. The operators' conventions (issue #19): ``--json`` prints one object per line,
``-h`` works, what travellers and ferry lines wrote is printed with its control characters
escaped::

    edigw travellers overdue
    edigw travellers sailing "Tariq Ibn Ziyad" 2026-07-14
    edigw travellers forget --expired --dry-run
    edigw travellers forget --document 197845612

``forget`` is written to the operators' audit trail (the traveller's pseudonym, never their
document number: the trail outlives the erasure).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from gateway.interfaces.cli_dlq import HELP
from gateway.interfaces.context import EXIT_BROKER, EXIT_OK, EXIT_REJECTED, EXIT_USAGE, app_of
from gateway.interfaces.operators.conventions import json_line, terminal_line

_JSON = click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
_DAY = click.DateTime(formats=["%Y-%m-%d"])


@click.group(context_settings=HELP)
def travellers() -> None:
    """Travellers' vehicles (TPD) and currency declarations (docs/travellers.md)."""


@contextmanager
def _service(ctx: click.Context) -> Iterator[Any]:
    """The travellers' service on the configured journal; exit 3 when it is unreachable."""
    from gateway.service.travellers_desk import travellers_service
    from gateway.storage.journal import JournalUnavailable
    from gateway.storage.travellers_retention import travellers_of

    app = app_of(ctx)
    try:
        # The invocation's journal, from the composition root (closed with the app).
        yield travellers_service(app.settings, travellers_of(app.journal))
    except JournalUnavailable as exc:
        click.echo(f"journal unavailable: {exc}", err=True)
        sys.exit(EXIT_BROKER)


def _day(value: dt.datetime | None) -> dt.date | None:
    return None if value is None else value.date()


@travellers.command("overdue")
@click.option(
    "--on", "on", type=_DAY, default=None, help="As on this day (default: today, Algiers)."
)
@click.option("--limit", type=click.IntRange(1, 100_000), default=10_000, show_default=True)
@_JSON
@click.pass_context
def overdue(ctx: click.Context, on: dt.datetime | None, limit: int, as_json: bool) -> None:
    """Vehicles still in the country after their TPD's due date, the longest overdue first."""
    with _service(ctx) as service:
        late = service.overdue(_day(on), limit=limit)
    for v in late:
        if as_json:
            click.echo(json_line(v.to_json()))
        else:
            click.echo(
                terminal_line(
                    f"{v.reference:<22} {v.vin:<17}  {v.registration_country}/{v.registration:<12} "
                    f"entered {v.entered_on}  due {v.due_on}  {v.days_over} day(s) over"
                )
            )
    if not late:
        click.echo("no vehicle is overdue", err=True)
        sys.exit(EXIT_REJECTED)
    click.echo(f"{len(late)} vehicle(s) overdue", err=True)


@travellers.command("sailing")
@click.argument("vessel")
@click.argument("date", type=_DAY)
@_JSON
@click.pass_context
def sailing_list(ctx: click.Context, vessel: str, date: dt.datetime, as_json: bool) -> None:
    """The pre-clearance list of VESSEL's sailing of DATE (YYYY-MM-DD, its departure),
    exceptions first: to see, missing, then ready. An arrival's vehicles are matched to their
    pre-declared TPDs, a departure's (a ferry leaving Algeria) to the TPDs they are under."""
    from gateway.domain.sailing import vessel_key
    from gateway.service.sailing import build_list

    with _service(ctx) as service:
        built = build_list(service.journal, vessel_key(vessel), date.date(), owner=None)
    if built is None:
        click.echo(f"no passenger list for {vessel} on {date.date()}", err=True)
        sys.exit(EXIT_REJECTED)
    if as_json:
        click.echo(json_line(list_json(built)))
        return
    for line in list_page(built):
        click.echo(terminal_line(line))


def list_json(built: Any) -> dict[str, Any]:
    """A list as one JSON object (what the canonical XML says, in the same words)."""
    return {
        "vessel": built.vessel,
        "vessel_imo": built.vessel_imo,
        "date": built.sailing_date.isoformat(),
        "port_of_departure": built.port_of_departure,
        "port_of_entry": built.port_of_entry,
        "direction": built.direction,
        "passenger_lists": built.passenger_lists,
        "travellers": built.traveller_count,
        "groups": built.counts(),
        "vehicles": [
            {
                "group": v.group,
                "traveller": v.traveller_sequence,
                "family_name": v.family_name,
                "given_names": v.given_names,
                "document": v.document_number,
                "vin": v.vin,
                "registration": v.registration,
                "registration_country": v.registration_country,
                "tpd": v.tpd_reference,
                "tpd_state": v.tpd_state,
                "findings": [{"code": f.code, "sentence": f.sentence} for f in v.findings],
            }
            for v in built.vehicles
        ],
        "declarations": [
            {
                "traveller": d.traveller_sequence,
                "family_name": d.family_name,
                "reference": d.reference,
                "required": d.required,
                "total_eur": format(d.total_eur, "f"),
                "exceeds_entry": d.exceeds_entry,
            }
            for d in built.declarations
        ],
        "unmatched_declarations": built.unmatched_declarations,
    }


_TITLES = {"to_see": "TO SEE", "missing": "MISSING", "ready": "READY"}


def list_page(built: Any) -> Iterator[str]:
    """The list as an officer reads it: the sailing, the totals, then each group."""
    counts = built.counts()
    yield (
        f"{built.vessel}  {built.sailing_date}  {built.direction.upper()}  "
        f"{built.port_of_departure or '?'} -> {built.port_of_entry or '?'}  "
        f"lists {', '.join(built.passenger_lists)}"
    )
    yield (
        f"{built.traveller_count} traveller(s), {len(built.vehicles)} vehicle(s): "
        f"{counts['to_see']} to see, {counts['missing']} missing, {counts['ready']} ready"
    )
    group = ""
    for v in built.vehicles:
        if v.group != group:
            group = v.group
            yield ""
            yield f"{_TITLES[group]} ({counts[group]})"
        plate = f"{v.registration_country or '??'}/{v.registration}" if v.registration else "-"
        tpd = f"{v.tpd_reference} ({v.tpd_state})" if v.tpd_reference else "no TPD"
        name = f"{v.family_name} {v.given_names or ''}".strip()
        yield f"  {v.traveller_sequence:>4}  {name:<30} {v.vin or '-':<17}  {plate:<16} {tpd}"
        for f in v.findings:
            yield f"        {f.code}: {f.sentence}"
    if built.declarations or built.unmatched_declarations:
        yield ""
        yield f"CURRENCY ({len(built.declarations)} declared)"
        for d in built.declarations:
            flag = " EXCEEDS ENTRY" if d.exceeds_entry else ""
            state = "required" if d.required else "not required"
            yield f"  {d.traveller_sequence:>4}  {d.family_name:<30} {d.reference:<22} EUR {d.total_eur} {state}{flag}"
        if built.unmatched_declarations:
            yield f"  {built.unmatched_declarations} declaration(s) for this sailing match nobody on it"


@travellers.command("forget")
@click.option("--document", default=None, help="Only this traveller's data (a document number).")
@click.option("--expired", is_flag=True, help="Every traveller's data past retention.")
@click.option("--dry-run", is_flag=True, help="Count what would be erased; erase nothing.")
@click.option("--on", "on", type=_DAY, default=None, help="As on this day (default: today).")
@_JSON
@click.pass_context
def forget(
    ctx: click.Context,
    document: str | None,
    expired: bool,
    dry_run: bool,
    on: dt.datetime | None,
    as_json: bool,
) -> None:
    """Erase travellers' data kept longer than [travellers] retention_days allows.

    A TPD goes once discharged (or, never used, after its sailing) for longer than the
    retention; a currency declaration and a passenger list after their sailing. A vehicle
    still in the country keeps its TPD. The broker's copies go too: the dead letters of the
    portal's and border posts' queues that last failed before the retention (of one
    traveller: those that name the document), audited as tombstones (where, which, why;
    never what they said). The erasure is audited; exit 3 when the broker could not be
    reached (the journal's part is done: run it again).
    """
    from pika.adapters.utils.connection_workflow import AMQPConnectorException
    from pika.exceptions import AMQPError

    from gateway.interfaces.operators.erasure import (
        forget_dead_letters,
        tombstone,
        travellers_store,
    )
    from gateway.storage.audit import current_operator

    if (document is None) == (not expired):
        click.echo("say what to forget: --document NUMBER or --expired", err=True)
        sys.exit(EXIT_USAGE)
    app = app_of(ctx)
    with _service(ctx) as service:
        erased = service.forget(document=document, dry_run=dry_run, today=_day(on))
        holder = None if document is None else service.pseudonym(document)
        cutoff = service.retention_cutoff(_day(on))
    letters, broker_down = [], ""
    try:
        with travellers_store(app) as store:
            letters = forget_dead_letters(store, cutoff, document=document, dry_run=dry_run)
    except (AMQPError, AMQPConnectorException) as exc:
        broker_down = f"broker unreachable, its dead letters not erased: {exc!r}"
    counts = {
        "tpds": erased.tpds,
        "tpd_events": erased.tpd_events,
        "currency_declarations": erased.currency_declarations,
        "passenger_lists": erased.passenger_lists,
        "passengers": erased.passengers,
        "references": erased.references,
        "dead_letters": len(letters),
    }
    stones = [tombstone(letter) for letter in letters]
    if (erased.total or letters) and not dry_run:
        app.audit.record(
            current_operator(),
            "travellers-forget",
            message_ids=[s["message_id"] or s["id"] for s in stones],
            detail=f"erased past retention ({'one traveller' if holder else 'all'})",
            data={"holder": holder, **counts, "removed_dead_letters": stones},
        )
    if not erased.total and not letters and not broker_down:
        # The CLI's convention: nothing matched is a sentence on stderr, nothing on stdout.
        click.echo("nothing past retention", err=True)
        sys.exit(EXIT_REJECTED)
    say: Callable[[str], None] = click.echo
    if as_json:
        say(json_line({"dry_run": dry_run, "holder": holder, **counts, "tombstones": stones}))
    else:
        verb = "would erase" if dry_run else "erased"
        say(", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items()) + f" ({verb})")
        for s in stones:
            say(terminal_line(f"  dead letter {s['id']}  {s['queue']}  {s['reason']}"))
    if broker_down:
        click.echo(broker_down, err=True)
        sys.exit(EXIT_BROKER)
    sys.exit(EXIT_OK)


def register(main: click.Group) -> None:
    """Add ``edigw travellers`` (one line in gateway/interfaces/cli.py)."""
    main.add_command(travellers)
