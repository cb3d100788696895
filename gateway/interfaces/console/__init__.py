"""``edigw console``: the operators' web page (Flask, server-rendered, no JavaScript needed).

What it shows: charts of the queues over 1 h / 24 h / 7 d (kept in the journal), every
queue's figures and rates, dead-letter groups and messages (decoded), partners with their
dead letters and traffic, the journal's track view and overdue customs responses, ship calls
(:mod:`.call_pages`) and sailings' pre-clearance lists (:mod:`.sailing_pages`); an open
page refreshes itself (``/live.json``, :mod:`.live`), and every page works without script.
What it does: replay, edit-and-replay and purge, each behind a confirmation page.

Security:

* every page needs a signed-in operator: an account (Argon2id password, role viewer,
  operator or admin), a trusted single-sign-on header, or the shared token of the first
  consoles (:mod:`.identity`, :mod:`.signin`); the audit trail records the authenticated name;
* sessions are server-side (sign-out ends them everywhere), sign-in is throttled, every
  request goes to the access log;
* every form that changes anything carries a per-session CSRF token, checked on
  POST; cookies are ``HttpOnly``, ``SameSite=Strict`` and, if configured, ``Secure``;
* it listens on 127.0.0.1 by default; put TLS in front of it for remote use.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import secrets
from pathlib import Path
from typing import Any

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
from gateway.interfaces.console import call_pages, pages, sailing_pages, signin
from gateway.interfaces.console.charts import RANGES, chosen_range
from gateway.interfaces.console.identity import Gatekeeper
from gateway.interfaces.console.live import LiveState, StatsSampler
from gateway.interfaces.console.signin import (
    AccessLog,
    actor,
    ensure,
    login_required,
    requires,
)
from gateway.interfaces.operators import actions
from gateway.interfaces.operators.deadletters import Selector, group_dead_letters, jsonable
from gateway.interfaces.operators.decode import decoded_view
from gateway.interfaces.operators.store import DeadLetterStore
from gateway.interfaces.operators.verdicts import (
    REJECTED,
    forecast_sentence,
    foresee,
    outcome_sentence,
)
from gateway.logs import get_logger
from gateway.messaging.broker import printable
from gateway.messaging.queue_stats import QueueStats, queue_stats
from gateway.storage.journal import SqlJournal

log = get_logger()


class ConsoleConfigError(ValueError):
    """The console cannot serve with this ``[console]`` section and journal (nobody could
    sign in, or the journal keeps no accounts)."""


class Backend:
    """What the pages read: the broker (a connection per request), the journal, the audit."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.queues = [q.name for q in app.topology.queues]

    def store(self) -> DeadLetterStore:
        return DeadLetterStore.open(self.app)

    def queue_stats(self) -> dict[str, QueueStats]:
        """Every queue's figures, ready + unacknowledged (an operator browsing a dead-letter
        queue must not make its chart drop to 0) and rates, from the management API."""
        return queue_stats(
            self.app.broker,
            self.queues,
            management_url=self.app.settings.config.metrics.management_url,
            management_urls=self.app.settings.config.metrics.management_urls,
        )

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

    def partner_traffic(self, partner: str) -> list[tuple[float, float]]:
        """Messages received from ``partner`` per hour, the 24 hours up to the app's now."""
        return pages.partner_traffic(
            console_journal(self.app), partner, self.app.clock().timestamp()
        )

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


def console_journal(gateway: App) -> SqlJournal:
    """The app's journal, where the console keeps its accounts, sessions and chart samples."""
    journal = gateway.journal
    if not isinstance(journal, SqlJournal):  # both backends are; a stand-in may not be
        raise ConsoleConfigError(
            f"the console needs a SQL journal for its accounts, not {type(journal).__name__}"
        )
    return journal


#: The shortest cookie-signing key accepted from ``[console] secret_key_file``.
SECRET_KEY_BYTES = 32


def console_secret_key(gateway: App, console: ConsoleSection, *, generate: bool) -> bytes:
    """The key that signs the console's cookies: ``[console] secret_key_file``, the same file
    on every console behind a load balancer, so that a browser's session cookie (its CSRF
    token and the server-side session it names) is good on each. Without it, a random key
    when ``generate`` (development), else :class:`ConsoleConfigError` (production)."""
    if not console.secret_key_file:
        if generate:
            return secrets.token_bytes(SECRET_KEY_BYTES)
        raise ConsoleConfigError(
            "console.secret_key_file: empty; in production the console signs its cookies with "
            "a key from a file shared by every console instance (EDIGW_CONSOLE_SECRET_KEY_FILE; "
            "e.g. openssl rand -hex 32 > /etc/edigw/console.key, mode 0600)"
        )
    path = Path(console.secret_key_file).expanduser()
    try:
        if path.stat().st_mode & 0o007:
            raise ConsoleConfigError(
                f"console.secret_key_file: {path} can be read by anyone: chmod o-rwx it"
            )
        key = path.read_bytes().strip()
    except OSError as exc:
        raise ConsoleConfigError(f"console.secret_key_file: {path}: {exc.strerror}") from None
    if len(key) < SECRET_KEY_BYTES:
        raise ConsoleConfigError(
            f"console.secret_key_file: {path} holds {len(key)} bytes; "
            f"at least {SECRET_KEY_BYTES} are needed"
        )
    return key


def create_app(
    gateway: App,
    console: ConsoleSection,
    *,
    live: LiveState | None = None,
    secret_key: bytes | None = None,
) -> Flask:
    """The console's Flask application: someone must be able to sign in (an account, the
    token or a trusted header). ``secret_key``: else ``[console] secret_key_file``'s, else
    a random one (:func:`serve` refuses that in production)."""
    journal = console_journal(gateway)
    if not (console.token or console.trusted_header or journal.accounts()):
        raise ConsoleConfigError(
            "console.token: empty, and no account and no trusted_header: add an account "
            "(edigw console users add NAME --role operator) or set $EDIGW_CONSOLE_TOKEN"
        )
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or console_secret_key(gateway, console, generate=True),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=512 * 1024,  # a confirmed batch posts every id it listed
    )
    backend = Backend(gateway)
    live = live or LiveState()
    app.extensions["edigw"] = {"backend": backend, "live": live, "journal": journal}
    access_target = console.access_log or str(gateway.settings.state_dir / "console-access.log")
    signin.install(app, Gatekeeper(journal, console), console, AccessLog(access_target))

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

    # ------------------------------------------------------------------ pages
    @app.get("/healthz")
    def healthz() -> Any:
        return {"ok": True}

    @app.get("/")
    @login_required
    def index() -> Any:
        at, stats, sample_error = live.snapshot()
        try:
            with backend.store() as store:
                letters = store.browse()
            broker_error = ""
        except Exception as exc:
            letters, broker_error = [], repr(exc)
        groups = group_dead_letters(letters)
        chart_range = chosen_range(request.args.get("range"))
        return render_template(
            "index.html",
            groups=groups,
            total=len(letters),
            queues=[stats[q] for q in sorted(stats)],
            charts=pages.chart_list(),
            chart_range=chart_range,
            ranges=RANGES.values(),
            partners=backend.partner_status(),
            overdue=backend.overdue(console.overdue_after_minutes),
            overdue_after=console.overdue_after_minutes,
            broker_error=broker_error or sample_error,
            sampled_at=dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="seconds")
            if at
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
        ensure(action)
        selector, what = _selection()
        with backend.store() as store:
            letters = store.browse(selector)
        # What the gateway would make of each, as ``edigw dlq replay --dry-run`` says it.
        foreseen = [foresee(gateway, dl) for dl in letters] if action == "replay" else []
        return render_template(
            "confirm.html",
            action=action,
            letters=letters,
            verdicts=dict(zip([dl.id for dl in letters], foreseen, strict=True)),
            forecast=forecast_sentence(foreseen) if foreseen else "",
            what=what,
            ids=selector.ids,
            group=selector.group or "",
        )

    @app.post("/replay")
    @requires("replay")
    def replay() -> Any:
        selector, what = _selection()
        wait = console.replay_wait
        with backend.store() as store:
            result = actions.replay(gateway, store, selector, actor(), via="console")
            observed = actions.observe_replays(gateway, store, result.replayed, wait)
        if result.replayed:
            said = outcome_sentence(list(observed.values()), wait)
            failed_again = any(v.outcome == REJECTED for v in observed.values())
            flash(
                f"Replayed {len(result.replayed)} message(s) of {what}: {said}.",
                "error" if failed_again else "ok",
            )
        for dl, error in result.failed:
            flash(f"NOT replayed {dl.id}: {error}; it is still in {dl.queue}.", "error")
        if not result.replayed and not result.failed:
            flash(f"Nothing replayed: no dead letter matched {what}.", "error")
        return redirect(url_for("index"))

    @app.post("/purge")
    @requires("purge")
    def purge() -> Any:
        selector, what = _selection()
        with backend.store() as store:
            removed = actions.purge(gateway, store, selector, actor(), via="console")
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

    pages.install(app, gateway, console)
    call_pages.install(app, gateway)
    sailing_pages.install(app, gateway)
    return app


def serve(gateway: App, console: ConsoleSection, *, port: int | None = None) -> None:
    """Run the console until interrupted; sample the queues meanwhile.

    Served by waitress (a production WSGI server) when it is installed, else by
    Werkzeug's threaded server (fine on 127.0.0.1 for a few operators).
    """
    import sys

    journal = console_journal(gateway)
    if not console.token and not console.trusted_header and not journal.accounts():
        token = secrets.token_urlsafe(18)
        console = console.model_copy(update={"token": token})
        print(
            f"console token (this run only): {token}\n"
            "add accounts instead: edigw console users add NAME --role operator",
            file=sys.stderr,
            flush=True,
        )
    # A queue not declared yet is normal here (it shows as absent); pika would warn on each.
    logging.getLogger("pika.channel").setLevel(logging.ERROR)
    # Fail closed: in production, consoles behind a load balancer share one key (issue #19).
    key = console_secret_key(gateway, console, generate=gateway.settings.mode == "development")
    live = LiveState()
    app = create_app(gateway, console, live=live, secret_key=key)
    backend: Backend = app.extensions["edigw"]["backend"]
    sampler = StatsSampler(
        backend.queue_stats, live, journal, console.sample_interval, keep_days=console.history_days
    )
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
            waitress_serve(app, host=console.address, port=listen_port, threads=8, ident="edigw")
    finally:
        sampler.stop()
