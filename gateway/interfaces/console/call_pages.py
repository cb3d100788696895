"""The console's ship-call pages (issue #17, point 6): the calls, and one call as people see it.

* ``/calls?port=DZALG&from=2026-12-01``: the calls the registry knows, latest expected arrival
  first, each with its linked manifests (what ``edigw calls list`` prints);
* ``/calls/<IMO>/<VOYAGE>[/<PORT>]``: one call: its data, manifests, bills, containers,
  discharge progress, discrepancies, loading progress and loading discrepancies (against the
  outward manifests), and dangerous goods (what ``edigw calls show`` prints),
  every bill and container a link to its story (track);
* ``.../live.json``: the call's figures and a fingerprint, which the open page polls
  (``static/live.js``) to keep its figures current and say when its lists changed.

Read-only, through the CLI's own view (:func:`gateway.service.call_view.view`): one query
path for both. A call at several ports without a port in the path lists the ports.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from flask import Flask, abort, render_template, request, url_for

from gateway.bootstrap import App
from gateway.config_schema import PORT_OF_CALL
from gateway.interfaces.console.signin import login_required
from gateway.service.call_checks import (
    LOADED_NOT_DECLARED,
    OVER_LANDED,
    SHORT_LANDED,
    SHORT_SHIPPED,
)
from gateway.service.call_view import CallView, bill_reference, find_calls, view
from gateway.service.calls import CallPolicy
from gateway.storage.call_records import CallRecord

# Rows of each list a call's page shows unless ?all=1 (a peak call has 15,000 bills).
SHOWN = 200
CALLS_LIMIT = 200


def _day(value: str) -> dt.date | None:
    """The ``from`` filter: a day (YYYY-MM-DD) or nothing; 400 for anything else."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        abort(400, f"from: {value[:40]!r} is not a day (YYYY-MM-DD)")


def _port(value: str) -> str | None:
    if not value:
        return None
    if not PORT_OF_CALL.match(value):
        abort(400, f"port: {value[:40]!r} is not the UN/LOCODE of a port of Algeria (DZALG ...)")
    return value


def when(value: str | None) -> str:
    """An ISO moment as ``2026-12-01 07:00`` (UTC), as ``edigw calls`` prints it, or a dash."""
    if not value:
        return "—"
    try:
        return dt.datetime.fromisoformat(value).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
    except ValueError:  # not a moment: shown as it is (escaped like all text)
        return value


def call_figures(shown: CallView) -> dict[str, Any]:
    """What the page shows as figures, and what its live poll refreshes."""
    r, loading = shown.reconciliation, shown.loading
    return {
        "declared": r.declared,
        "discharged": r.discharged,
        "loaded": len(shown.loaded),
        "short_landed": len(r.of_kind(SHORT_LANDED)),
        "over_landed": len(r.of_kind(OVER_LANDED)),
        "mismatched": r.mismatched(),
        "state": shown.reconciliation_state,
        "loading_declared": loading.declared,
        "short_shipped": len(loading.of_kind(SHORT_SHIPPED)),
        "loaded_not_declared": len(loading.of_kind(LOADED_NOT_DECLARED)),
        "loading_mismatched": loading.mismatched(),
        "loading_state": shown.loading_state,
        "manifests": len(shown.manifests),
        "bills": len(shown.bills),
        "notified": len(shown.notified),
        "dangerous_discrepancies": len(shown.dangerous),
    }


def fingerprint(shown: CallView) -> str:
    """Changes whenever what the page lists changes: a new version of the call, a manifest
    or a report (their rows come with their versions), an MRN, a link, a movement, a
    discrepancy. Made of versions and counts, not of every row: an open page polls it."""
    c = shown.call
    data = json.dumps(
        [
            [c.version, c.status, c.ata, c.atd, c.berth],
            [[str(m.key), m.document_number, m.version, m.status, m.mrn, m.linked_at,
              list(m.flags)] for m in shown.manifests],
            [[d.document_number, d.kind, d.version, d.status, d.complete]
             for d in shown.documents],
            [[d.kind, d.container] for d in shown.reconciliation.discrepancies],
            [[d.kind, d.container] for d in shown.loading.discrepancies],
            [[d.kind, d.container, d.un_numbers] for d in shown.dangerous],
            [k.message_id for k in shown.checks],
            call_figures(shown),
        ],
        default=str,
    )  # fmt: skip
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def install(app: Flask, gateway: App) -> None:
    policy = CallPolicy.from_config(gateway.settings.config.calls)
    app.jinja_env.filters["when"] = when

    def one_call(imo: str, voyage: str, port: str | None) -> CallRecord | list[CallRecord]:
        """The call the path names; several (one per port) when the path names no port."""
        try:
            found = find_calls(gateway.journal, f"{imo}/{voyage}", port)
        except ValueError as exc:
            abort(400, str(exc))
        if not found:
            abort(404, f"no call {imo}/{voyage}" + (f" at {port}" if port else ""))
        return found[0] if len(found) == 1 else found

    @app.get("/calls")
    @login_required
    def calls_list() -> Any:
        port = _port(request.args.get("port", "").strip().upper())
        since = _day(request.args.get("from", "").strip())
        journal = gateway.journal
        found = journal.calls(
            port=port,
            since=dt.datetime.combine(since, dt.time(), dt.UTC).isoformat() if since else None,
            limit=CALLS_LIMIT,
        )
        rows = [(c, len(journal.manifests(c.key, linked=True))) for c in found]
        return render_template(
            "calls.html",
            rows=rows,
            port=port or "",
            since=since.isoformat() if since else "",
            limit=CALLS_LIMIT,
        )

    @app.get("/calls/<imo>/<voyage>")
    @app.get("/calls/<imo>/<voyage>/<port>")
    @login_required
    def call_page(imo: str, voyage: str, port: str | None = None) -> Any:
        found = one_call(imo, voyage, port)
        if isinstance(found, list):  # the same IMO number and voyage at several ports
            return render_template("call_ports.html", calls=found, imo=imo, voyage=voyage)
        shown = view(gateway.journal, policy, found, gateway.clock())
        show_all = request.args.get("all") == "1"
        cap = None if show_all else SHOWN
        key = found.key
        return render_template(
            "call.html",
            v=shown,
            c=found,
            figures=call_figures(shown),
            fingerprint=fingerprint(shown),
            cap=cap,
            show_all=show_all,
            bill_reference=lambda b: bill_reference(shown.mrn_of(b), b),
            live_url=url_for(
                "call_live",
                imo=key.imo_number,
                voyage=key.voyage_number,
                port=key.port_of_call,
            ),
        )

    @app.get("/calls/<imo>/<voyage>/<port>/live.json")
    @login_required
    def call_live(imo: str, voyage: str, port: str) -> Any:
        found = one_call(imo, voyage, port)
        if isinstance(found, list):  # a port in the path names one call
            abort(404)
        shown = view(gateway.journal, policy, found, gateway.clock())
        return {
            "sampled_at": gateway.clock().timestamp(),
            "broker_error": "",
            "totals": call_figures(shown),
            "fingerprint": fingerprint(shown),
        }
