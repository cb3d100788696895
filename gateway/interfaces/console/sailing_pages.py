"""The console's sailing pages (issue #18, point 3): the sailings, and one sailing's
pre-clearance list as an officer reads it.

* ``/travellers/sailings?from=2026-07-01``: the sailings whose passenger lists the journal
  keeps, latest first;
* ``/travellers/sailings/<vessel>/<date>``: the list of that sailing (its departure day):
  totals, then the exceptions first (TO SEE, MISSING, READY) with their findings, then the
  currency declarations (what ``edigw travellers sailing`` prints);
* ``.../live.json``: the list's figures and a fingerprint, which the open page polls.

Read-only, with the CLI's own builder (:func:`gateway.service.sailing.build_list`, a list to
show: it takes no version number from the journal). Travellers' names and document numbers
are personal data: they are shown only to the roles that may see them
(``identity.can(role, "personal_data")``: operators and admins), never put in the live JSON
and never logged (docs/travellers.md#privacy).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from flask import Flask, abort, render_template, request, url_for

from gateway.bootstrap import App
from gateway.domain.sailing import GROUPS, SailingClearanceList, vessel_key
from gateway.interfaces.console.identity import can
from gateway.interfaces.console.signin import current_identity, login_required
from gateway.service.sailing import build_list
from gateway.storage.records import SailingRecord
from gateway.storage.travellers_retention import travellers_of

SAILINGS_LIMIT = 200
TITLES = {"to_see": "To see", "missing": "Missing", "ready": "Ready"}


def _day(value: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        abort(400 if what == "from" else 404, f"{what}: {value[:40]!r} is not a day (YYYY-MM-DD)")


def may_see_people() -> bool:
    identity = current_identity()
    return bool(identity and can(identity.role, "personal_data"))


def sailings_of(records: list[SailingRecord]) -> list[dict[str, Any]]:
    """One row per sailing (vessel and day), its passenger lists together, in the order read."""
    rows: dict[tuple[str, dt.date], dict[str, Any]] = {}
    for s in records:
        row = rows.setdefault(
            (s.vessel, s.sailing_date),
            {
                "vessel": s.vessel,
                "vessel_name": s.vessel_name,
                "date": s.sailing_date,
                "port_of_departure": s.port_of_departure,
                "port_of_entry": s.port_of_entry,
                "lists": [],
            },
        )
        row["lists"].append(s.list_number)
    return list(rows.values())


def list_figures(built: SailingClearanceList) -> dict[str, Any]:
    """The list's figures (no one's name or document: the live poll sends these to anyone)."""
    return {
        "travellers": built.traveller_count,
        "vehicles": len(built.vehicles),
        **built.counts(),
        "declarations": len(built.declarations),
        "required": sum(1 for d in built.declarations if d.required),
        "exceeds_entry": sum(1 for d in built.declarations if d.exceeds_entry),
        "unmatched": built.unmatched_declarations,
    }


def fingerprint(built: SailingClearanceList) -> str:
    """Changes whenever a row of the list changes (an amendment, a late TPD or declaration)."""
    parts = [
        *built.passenger_lists,
        *(
            f"{v.group}|{v.traveller_sequence}|{v.tpd_reference}|{v.tpd_state}|"
            + ",".join(f.code for f in v.findings)
            for v in built.vehicles
        ),
        *(
            f"{d.traveller_sequence}|{d.reference}|{d.required}|{d.total_eur}|{d.exceeds_entry}"
            for d in built.declarations
        ),
        str(built.unmatched_declarations),
        str(built.traveller_count),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def install(app: Flask, gateway: App) -> None:
    def sailing_list(vessel: str, date: str) -> SailingClearanceList:
        built = build_list(
            travellers_of(gateway.journal), vessel_key(vessel), _day(date, "date"), owner=None
        )
        if built is None:
            abort(404, f"no passenger list for {vessel[:70]} on {date[:10]}")
        return built

    @app.get("/travellers/sailings")
    @login_required
    def sailings() -> Any:
        text = request.args.get("from", "").strip()
        since = _day(text, "from") if text else None
        records = travellers_of(gateway.journal).sailings(since=since, limit=SAILINGS_LIMIT)
        return render_template(
            "sailings.html",
            rows=sailings_of(records),
            since=since.isoformat() if since else "",
            limit=SAILINGS_LIMIT,
        )

    @app.get("/travellers/sailings/<vessel>/<date>")
    @login_required
    def sailing_page(vessel: str, date: str) -> Any:
        built = sailing_list(vessel, date)
        key = vessel_key(vessel)
        return render_template(
            "sailing.html",
            s=built,
            figures=list_figures(built),
            fingerprint=fingerprint(built),
            groups=[(g, TITLES[g], [v for v in built.vehicles if v.group == g]) for g in GROUPS],
            people=may_see_people(),
            live_url=url_for("sailing_live", vessel=key, date=built.sailing_date.isoformat()),
        )

    @app.get("/travellers/sailings/<vessel>/<date>/live.json")
    @login_required
    def sailing_live(vessel: str, date: str) -> Any:
        built = sailing_list(vessel, date)
        return {
            "sampled_at": gateway.clock().timestamp(),
            "broker_error": "",
            "totals": list_figures(built),
            "fingerprint": fingerprint(built),
        }
