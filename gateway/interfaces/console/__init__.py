"""``edigw console``: the operators' web page (Flask, server-rendered, no JavaScript needed).

What it shows: queue depths over time, dead-letter groups and messages (decoded),
the journal's track view, partner status and overdue customs responses. What it
does: replay and purge, each behind a confirmation page.

Security:

* every page needs a signed-in operator: a name (recorded in the audit trail) and
  the shared token of ``[console] token`` / ``$EDIGW_CONSOLE_TOKEN`` (constant-time
  comparison); an empty token makes a random one, printed once at start;
* every form that changes anything carries a per-session CSRF token, checked on
  POST; cookies are ``HttpOnly`` and ``SameSite=Strict``;
* it listens on 127.0.0.1 by default; put TLS in front of it for remote use.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from pika.adapters.utils.connection_workflow import AMQPConnectorException
from pika.exceptions import AMQPError
from werkzeug.wrappers import Response

from gateway.bootstrap import App
from gateway.config import INBOUND_ROLES
from gateway.config_schema import ConsoleSection
from gateway.interfaces.console.sampler import DepthHistory, DepthSampler, sparkline_svg
from gateway.interfaces.operators import actions
from gateway.interfaces.operators.deadletters import Selector, group_dead_letters, jsonable
from gateway.interfaces.operators.decode import decoded_view
from gateway.interfaces.operators.store import DeadLetterStore
from gateway.logs import get_logger
from gateway.messaging.broker import printable
from gateway.messaging.metrics import queue_depths

log = get_logger()
F = TypeVar("F", bound=Callable[..., Any])


class ConsoleConfigError(ValueError):
    """The console cannot serve with this ``[console]`` section (no token)."""


class Backend:
    """What the pages read: the broker (a connection per request), the journal, the audit."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.queues = [q.name for q in app.topology.queues]

    def store(self) -> DeadLetterStore:
        return DeadLetterStore.open(self.app)

    def depths(self) -> dict[str, int]:
        """Messages per queue, ready + unacknowledged (an operator browsing a dead-letter
        queue must not make its chart drop to 0): the metrics' own depth reading."""
        depths, _counts_unacked = queue_depths(
            self.app.broker,
            self.queues,
            management_url=self.app.settings.config.metrics.management_url,
        )
        return depths

    def partner_status(self) -> list[dict[str, Any]]:
        """Per configured partner: last message, messages and rejections today (UTC)."""
        today = self.app.clock().strftime("%Y-%m-%d")
        rows: dict[str, dict[str, Any]] = {
            p.id: {"partner": p.id, "name": p.name, "last": "", "today": 0, "errors": 0}
            for p in self.app.settings.partners_with_role(*INBOUND_ROLES)
        }
        try:
            activity = self.app.journal.partner_activity(today)
        except Exception as exc:  # the page shows the partners without their figures
            log.warning("console: partner status unavailable", error=repr(exc))
            return list(rows.values())
        for seen in activity:
            if seen.partner in rows:
                rows[seen.partner].update(
                    last=seen.last_message_at, today=seen.messages, errors=seen.rejections
                )
        return list(rows.values())

    def received_per_minute(self, minutes: int = 60) -> list[tuple[float, float]]:
        """Messages received per minute over the last hour (the rate chart), from the journal."""
        now = self.app.clock().replace(second=0, microsecond=0)
        start = now - dt.timedelta(minutes=minutes - 1)
        counts = dict.fromkeys(range(minutes), 0)
        try:
            for at in self.app.journal.received_times(start.isoformat()):
                i = int((dt.datetime.fromisoformat(at) - start).total_seconds() // 60)
                if 0 <= i < minutes:
                    counts[i] += 1
        except Exception as exc:  # an empty chart rather than no page
            log.warning("console: rates unavailable", error=repr(exc))
        return [
            ((start + dt.timedelta(minutes=i)).timestamp(), float(n)) for i, n in counts.items()
        ]

    def overdue(self, minutes: int) -> list[dict[str, Any]] | None:
        """Overdue customs responses, from the journal (None: it cannot tell now)."""
        try:
            found = self.app.journal.overdue(dt.timedelta(minutes=minutes))
        except Exception as exc:
            log.warning("console: overdue responses unavailable", error=repr(exc))
            return None
        return [
            {
                "message_id": o.message_id,
                "partner": o.partner,
                "document_type": o.document_type,
                "business_reference": o.business_reference,
                "routed_at": o.routed_at,
            }
            for o in found
        ]

    def track(self, reference: str) -> list[dict[str, Any]]:
        return [h.to_json() for h in self.app.journal.track(reference)]


def create_app(
    gateway: App,
    console: ConsoleSection,
    *,
    history: DepthHistory | None = None,
    secret_key: bytes | None = None,
) -> Flask:
    """The console's Flask application (``console.token`` must be set)."""
    if not console.token:
        raise ConsoleConfigError("console.token: empty; set it or $EDIGW_CONSOLE_TOKEN")
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_bytes(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        MAX_CONTENT_LENGTH=512 * 1024,  # a confirmed batch posts every id it listed
    )
    backend = Backend(gateway)
    history = history or DepthHistory()
    app.extensions["edigw"] = {"backend": backend, "history": history}

    # ------------------------------------------------------------------ security
    def csrf_token() -> str:
        token = session.get("csrf")
        if not token:
            token = session["csrf"] = secrets.token_urlsafe(32)
        return str(token)

    app.jinja_env.globals["csrf_token"] = csrf_token
    # For people, not for scripts: JSON without \u escapes (autoescaping still applies).
    app.jinja_env.filters["show"] = lambda v: printable(json.dumps(v, ensure_ascii=False), 2000)

    @app.before_request
    def check_csrf() -> None:
        if request.method == "POST":
            sent = request.form.get("csrf", "")
            expected = session.get("csrf", "")
            if not expected or not hmac.compare_digest(str(sent), str(expected)):
                abort(400, "missing or wrong CSRF token: reload the page and try again")

    @app.after_request
    def headers(resp: Response) -> Response:
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "same-origin"
        resp.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'"
        )
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.errorhandler(AMQPError)
    @app.errorhandler(AMQPConnectorException)
    def broker_down(exc: Exception) -> Any:
        log.warning("console: broker unreachable", error=repr(exc))
        return render_template("error.html", error=f"The broker cannot be reached: {exc!r}"), 503

    def login_required(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not session.get("operator"):
                return redirect(url_for("login", next=request.full_path))
            return view(*args, **kwargs)

        return cast(F, wrapper)

    def operator() -> str:
        return f"{session['operator']} (console)"

    # ------------------------------------------------------------------ pages
    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        error = ""
        if request.method == "POST":
            name = request.form.get("operator", "").strip()[:64]
            token = request.form.get("token", "")
            if not name:
                error = "Say who you are: the audit trail records it."
            elif not hmac.compare_digest(token.encode(), console.token.encode()):
                error = "Wrong token."
                log.warning("console sign-in refused", operator=name, remote=request.remote_addr)
            else:
                csrf = session.get("csrf")
                session.clear()
                session["operator"] = name
                session["csrf"] = csrf or secrets.token_urlsafe(32)
                session.permanent = True
                log.info("console sign-in", operator=name, remote=request.remote_addr)
                target = request.args.get("next") or ""
                # Only local paths: no open redirect.
                if not target.startswith("/") or target.startswith("//"):
                    target = url_for("index")
                return redirect(target)
        return render_template("login.html", error=error), (401 if error else 200)

    @app.post("/logout")
    def logout() -> Any:
        session.clear()
        return redirect(url_for("login"))

    @app.get("/healthz")
    def healthz() -> Any:
        return {"ok": True}

    @app.get("/")
    @login_required
    def index() -> Any:
        latest = history.latest()
        depths = latest.depths if latest else {}
        try:
            with backend.store() as store:
                letters = store.browse()
            broker_error = ""
        except Exception as exc:
            letters, broker_error = [], repr(exc)
        groups = group_dead_letters(letters)
        charts = {
            "inbound": sparkline_svg(
                history.series(lambda q: ".partner." in f".{q}" and q.endswith(".in")),
                label="messages waiting in partner inbound queues",
            ),
            "customs": sparkline_svg(
                history.series(lambda q: ".customs." in f".{q}" and not q.endswith(".dlq")),
                label="messages waiting for customs",
                color="#2da44e",
            ),
            "dead": sparkline_svg(
                history.series(lambda q: q.endswith(".dlq")),
                label="dead letters",
                color="#cf222e",
            ),
            "rate": sparkline_svg(
                backend.received_per_minute(),
                label="messages received per minute, last hour",
                color="#8250df",
            ),
        }
        return render_template(
            "index.html",
            groups=groups,
            total=len(letters),
            depths=sorted(depths.items()),
            charts=charts,
            partners=backend.partner_status(),
            overdue=backend.overdue(console.overdue_after_minutes),
            overdue_after=console.overdue_after_minutes,
            broker_error=broker_error,
            sampled_at=dt.datetime.fromtimestamp(latest.at, dt.UTC).isoformat(timespec="seconds")
            if latest
            else "",
        )

    @app.get("/dlq")
    @login_required
    def dlq_list() -> Any:
        selector = Selector(
            group=request.args.get("group") or None,
            reason=request.args.get("reason") or None,
            partner=request.args.get("partner") or None,
            text=request.args.get("q") or None,
        )
        with backend.store() as store:
            letters = store.browse(selector)
        return render_template(
            "dlq_list.html",
            letters=letters,
            group=request.args.get("group", ""),
            q=request.args.get("q", ""),
        )

    @app.get("/dlq/<message>")
    @login_required
    def dlq_show(message: str) -> Any:
        with backend.store() as store:
            found = store.browse(Selector(ids=(message,)))
        if not found:
            abort(404, f"no dead letter {message}: replayed or purged meanwhile?")
        dl = found[0]
        headers, partner_headers = dl.shown_headers()
        return render_template(
            "dlq_show.html",
            dl=dl,
            headers=headers,
            partner_headers=partner_headers,
            deaths=jsonable(dl.deaths),
            decoded=decoded_view(dl),
            raw=dl.body_text(),
        )

    def _selection() -> tuple[Selector, str]:
        ids = tuple(i for i in request.values.getlist("id") if i)
        group = request.values.get("group") or None
        if not ids and not group:
            abort(400, "say which messages: a message id or a group")
        what = f"group {group}" if group else f"message {', '.join(ids)}"
        return Selector(ids=ids, group=group), what

    @app.get("/confirm/<action>")
    @login_required
    def confirm(action: str) -> Any:
        if action not in ("replay", "purge"):
            abort(404)
        selector, what = _selection()
        with backend.store() as store:
            letters = store.browse(selector)
        return render_template(
            "confirm.html",
            action=action,
            letters=letters,
            what=what,
            ids=selector.ids,
            group=selector.group or "",
        )

    @app.post("/replay")
    @login_required
    def replay() -> Any:
        selector, what = _selection()
        with backend.store() as store:
            result = actions.replay(gateway, store, selector, operator(), via="console")
        if result.replayed:
            flash(f"Replayed {len(result.replayed)} message(s) of {what}.", "ok")
        for dl, error in result.failed:
            flash(f"NOT replayed {dl.id}: {error}; it is still in {dl.queue}.", "error")
        if not result.replayed and not result.failed:
            flash(f"Nothing replayed: no dead letter matched {what}.", "error")
        return redirect(url_for("index"))

    @app.post("/purge")
    @login_required
    def purge() -> Any:
        selector, what = _selection()
        with backend.store() as store:
            removed = actions.purge(gateway, store, selector, operator(), via="console")
        if removed:
            flash(f"Purged {len(removed)} message(s) of {what} (kept in the audit trail).", "ok")
        else:
            flash(f"Nothing purged: no dead letter matched {what}.", "error")
        return redirect(url_for("index"))

    @app.get("/track")
    @login_required
    def track() -> Any:
        reference = request.args.get("ref", "").strip()
        histories = backend.track(reference) if reference else []
        return render_template("track.html", reference=reference, histories=histories)

    @app.get("/audit")
    @login_required
    def audit() -> Any:
        entries = gateway.audit.entries(limit=100)
        return render_template("audit.html", entries=entries)

    return app


def serve(gateway: App, console: ConsoleSection, *, port: int | None = None) -> None:
    """Run the console until interrupted; sample queue depths meanwhile.

    Served by waitress (a production WSGI server) when it is installed, else by
    Werkzeug's threaded server (fine on 127.0.0.1 for a few operators).
    """

    if not console.token:
        token = secrets.token_urlsafe(18)
        console = console.model_copy(update={"token": token})
        import sys

        print(f"console token (this run only): {token}", file=sys.stderr, flush=True)
    # A queue not declared yet is normal here (it shows as absent); pika would warn on each.
    logging.getLogger("pika.channel").setLevel(logging.ERROR)
    history = DepthHistory()
    app = create_app(gateway, console, history=history)
    backend: Backend = app.extensions["edigw"]["backend"]
    sampler = DepthSampler(backend.depths, history, console.sample_interval)
    sampler.start()
    listen_port = console.port if port is None else port
    log.info("console listening", address=console.address, port=listen_port)
    try:
        try:
            from waitress import serve as waitress_serve  # type: ignore[import-untyped]
        except ImportError:
            from werkzeug.serving import make_server

            make_server(console.address, listen_port, app, threaded=True).serve_forever()
        else:
            waitress_serve(app, host=console.address, port=listen_port, threads=4, ident="edigw")
    finally:
        sampler.stop()
