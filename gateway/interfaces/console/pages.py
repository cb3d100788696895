"""The console's newer pages (issue #19, point 4): live figures, charts, partners, edit, accounts.

* ``/live.json``: the latest queue reading, which an open page polls (``static/live.js``)
  every ``[console] live_interval`` seconds; the pages themselves are complete without it;
* ``/charts/<series>.svg?range=1h|24h|7d``: a chart with axes from the journal's samples;
* ``/partners/<id>``: a partner's queues, dead letters, traffic per hour and latest messages;
* ``/dlq/<id>/edit``: edit-and-replay in the browser, with the CLI's checks and audit
  (:mod:`gateway.interfaces.operators.editing`); a refused edit stays in the form and is kept
  as the dead letter's draft, shared with ``edigw dlq edit`` (:mod:`.operators.drafts`);
* ``/accounts``: accounts and their open sessions, which an admin can end.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from flask import Flask, abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from gateway.bootstrap import App
from gateway.config_schema import ConsoleSection
from gateway.interfaces.console.charts import RANGES, chosen_range, time_chart_svg
from gateway.interfaces.console.live import SERIES, LiveState, Series
from gateway.interfaces.console.signin import actor, login_required, requires
from gateway.interfaces.operators.deadletters import DeadLetter, Selector, group_dead_letters
from gateway.interfaces.operators.drafts import draft_box
from gateway.interfaces.operators.editing import check_edit, replay_edit
from gateway.storage.journal import SqlJournal

TRAFFIC_LIMIT = 50_000  # a partner's messages read for its 24-hour chart, at most


def chart_list() -> list[Series]:
    return list(SERIES.values())


def _live() -> LiveState:
    return current_app.extensions["edigw"]["live"]  # type: ignore[no-any-return]


def _journal() -> SqlJournal:
    return current_app.extensions["edigw"]["journal"]  # type: ignore[no-any-return]


def _backend() -> Any:
    return current_app.extensions["edigw"]["backend"]


def _letter(message: str) -> DeadLetter:
    with _backend().store() as store:
        found: list[DeadLetter] = store.browse(Selector(ids=(message,)))
    if not found:
        abort(404, f"no dead letter {message}: replayed or purged meanwhile?")
    return found[0]


def partner_traffic(journal: SqlJournal, partner: str, now: float) -> list[tuple[float, float]]:
    """(hour, messages received from ``partner`` in it) over the 24 hours up to ``now``."""
    start = (int(now) // 3600 - 23) * 3600
    since = dt.datetime.fromtimestamp(start, dt.UTC).isoformat()
    counts = dict.fromkeys(range(24), 0)
    for at in journal.partner_received_times(partner, since, limit=TRAFFIC_LIMIT):
        try:
            hour = int((dt.datetime.fromisoformat(at).timestamp() - start) // 3600)
        except ValueError:
            continue
        if hour in counts:
            counts[hour] += 1
    return [(float(start + h * 3600), float(n)) for h, n in counts.items()]


def partner_traffic_svg(points: list[tuple[float, float]], partner: str) -> str:
    """The chart of :func:`partner_traffic`'s hours."""
    start = int(points[0][0])
    return time_chart_svg(
        points,
        start=start,
        end=start + 24 * 3600,
        bucket=3600,
        title=f"Received from {partner}",
        unit="per hour, last 24 hours",
        color="#8250df",
    )


def install(app: Flask, gateway: App, conf: ConsoleSection) -> None:
    partners = dict(gateway.settings.partners)

    @app.context_processor
    def live_settings() -> dict[str, Any]:
        return {"live_interval": conf.live_interval}

    @app.get("/live.json")
    @login_required
    def live_json() -> Any:
        return _live().payload()

    @app.get("/charts/<key>.svg")
    @login_required
    def chart(key: str) -> Any:
        series = SERIES.get(key)
        if series is None:
            abort(404)
        chosen = chosen_range(request.args.get("range"))
        now = int(time.time())
        points = _journal().sample_buckets(
            key, since=now - chosen.seconds, until=now, bucket=chosen.bucket
        )
        svg = time_chart_svg(
            points,
            start=now - chosen.seconds,
            end=now,
            bucket=chosen.bucket,
            title=f"{series.title}, last {chosen.label}",
            unit=series.unit,
            color=series.color,
        )
        return Response(svg, mimetype="image/svg+xml")

    @app.get("/partners/<partner>")
    @login_required
    def partner_page(partner: str) -> Any:
        configured = partners.get(partner)
        if configured is None:
            abort(404, f"no partner {partner!r} in the configuration")
        _at, stats, _error = _live().snapshot()
        queues = [s for q, s in sorted(stats.items()) if f".partner.{partner}." in f".{q}."]
        try:
            with _backend().store() as store:
                letters = store.browse(Selector(partner=partner))
            broker_error = ""
        except Exception as exc:
            letters, broker_error = [], repr(exc)
        journal = _journal()
        return render_template(
            "partner.html",
            partner=configured,
            queues=queues,
            groups=group_dead_letters(letters),
            letters=letters[:50],
            total=len(letters),
            broker_error=broker_error,
            traffic=partner_traffic_svg(_backend().partner_traffic(partner), partner),
            messages=journal.partner_messages(partner, limit=50),
        )

    @app.route("/dlq/<message>/edit", methods=["GET", "POST"])
    @requires("edit")
    def dlq_edit(message: str) -> Any:
        dl = _letter(message)
        original = dl.body_text()
        drafts = draft_box(gateway)
        if request.method == "GET":
            # A refused edit kept earlier (here or by edigw dlq edit) is where one goes on.
            draft = None if request.args.get("from") == "original" else drafts.get(dl.id)
            text = draft.text if draft is not None else original
            return render_template("edit.html", dl=dl, text=text, check=None, error="", draft=draft)
        if request.form.get("do") == "discard":
            drafts.discard(dl.id)
            flash(f"The draft of {dl.id} was discarded.", "ok")
            return redirect(url_for("dlq_edit", message=dl.id))
        text = request.form.get("text", "")
        if "\r\n" not in original:  # a browser sends a textarea's lines with CRLF
            text = text.replace("\r\n", "\n")
        if text == original:
            error = "No change: nothing replayed."
            page = render_template("edit.html", dl=dl, text=text, check=None, error=error)
            return page, 422
        who = actor()
        check = check_edit(gateway, dl, text, who)
        if request.form.get("do") != "replay" or (
            check.still_rejected and not request.form.get("force")
        ):
            # Only checked, or refused: the edit stays in the form; a refused one is kept as
            # the dead letter's draft too.
            status = 422 if request.form.get("do") == "replay" else 200
            draft = None
            if status == 422:
                draft = drafts.save(dl.id, dl.message_id, text, who, check.verdict())
            page = render_template(
                "edit.html", dl=dl, text=text, check=check, error="", draft=draft
            )
            return page, status
        with _backend().store() as store:
            outcome = replay_edit(gateway, store, check, who, via="console")
        if outcome.replayed:
            drafts.discard(dl.id)
            forced = " (forced: still rejected)" if check.still_rejected else ""
            flash(f"Replayed {dl.id}, edited{forced}.", "ok")
        else:
            errors = "; ".join(e for _d, e in outcome.failed) or "it left the queue meanwhile"
            flash(f"NOT replayed {dl.id}: {errors}.", "error")
        return redirect(url_for("index"))

    @app.get("/accounts")
    @requires("accounts")
    def accounts() -> Any:
        journal = _journal()
        return render_template(
            "accounts.html",
            accounts=journal.accounts(),
            sessions=journal.sessions(),
            when=lambda at: dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="seconds"),
        )

    @app.post("/accounts/end-sessions")
    @requires("accounts")
    def end_sessions() -> Any:
        journal = _journal()
        name = request.form.get("account", "")
        if not name:
            abort(400, "say whose sessions to end")
        ended = sum(journal.end_session(s.token_hash) for s in journal.sessions(name))
        flash(f"Ended {ended} session(s) of {name}.", "ok")
        return redirect(url_for("accounts"))

    app.jinja_env.globals["chart_ranges"] = RANGES
