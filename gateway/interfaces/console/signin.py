"""The console's doors: sign-in and sign-out pages, who each request is, what it may do, and
the access log (issue #19, point 5). The rules are :mod:`.identity`'s; this wires them into
Flask.

Every request is resolved to an :class:`~.identity.Identity` (or none) before its view runs:
from a trusted proxy's header when one is configured, else from the server-side session named
by the browser's cookie. Views say what they need with :func:`login_required` or
:func:`requires`; a viewer asking to replay gets 403, a stranger the sign-in page.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Flask, abort, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from gateway.config_schema import ConsoleSection
from gateway.interfaces.console.identity import Gatekeeper, Identity, SignInRefused, can
from gateway.logs import get_logger

log = get_logger()
F = TypeVar("F", bound=Callable[..., Any])


def current_identity() -> Identity | None:
    return cast(Identity | None, g.get("identity"))


def actor() -> str:
    """The authenticated name the audit trail records for this request."""
    identity = current_identity()
    if identity is None:  # views that change anything require an identity first
        abort(401)
    return identity.actor


def login_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_identity() is None:
            if request.path.endswith(".json"):
                abort(401, "sign in again")
            return redirect(url_for("login", next=request.full_path))
        return view(*args, **kwargs)

    return cast(F, wrapper)


def ensure(action: str) -> None:
    """403 unless the signed-in role may do ``action`` (identity.can)."""
    identity = current_identity()
    if identity is None:
        abort(401)
    if not can(identity.role, action):
        abort(403, f"a {identity.role} may not {action}: ask an operator or an admin")


def requires(action: str) -> Callable[[F], F]:
    """Only for roles that may do ``action``; others get 403, strangers the sign-in page."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_identity() is None:
                return redirect(url_for("login", next=request.full_path))
            ensure(action)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


class AccessLog:
    """One JSON line per request, in a file of its own or in the gateway's log ("-")."""

    def __init__(self, target: str) -> None:
        self.path = None if target == "-" else Path(target)
        self._lock = threading.Lock()
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, entry: dict[str, Any]) -> None:
        if self.path is None:
            log.info("console access", **entry)
            return
        line = json.dumps(entry, ensure_ascii=True) + "\n"
        with self._lock:
            try:  # opened per line: a rotated file (logrotate) is followed at once
                with self.path.open("a", encoding="ascii") as fh:
                    fh.write(line)
            except OSError as exc:
                log.warning("console access log not written", error=repr(exc))


def install(app: Flask, gatekeeper: Gatekeeper, conf: ConsoleSection, access: AccessLog) -> None:
    """Sign-in, sign-out, identity per request and the access log, on ``app``."""
    app.config.update(
        SESSION_COOKIE_SECURE=conf.secure_cookie,
        # "__Host-": the browser keeps it only from HTTPS, for this host, for every path.
        SESSION_COOKIE_NAME="__Host-edigw-console" if conf.secure_cookie else "edigw-console",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=conf.session_hours),
    )

    @app.before_request
    def resolve_identity() -> None:
        g.started = time.monotonic()
        now = int(time.time())
        identity = None
        if conf.trusted_header:
            identity = gatekeeper.from_header(
                request.headers.get(conf.trusted_header), request.remote_addr
            )
        if identity is None and session.get("sid"):
            identity = gatekeeper.resume(str(session["sid"]), now)
            if identity is None:
                session.pop("sid", None)  # ended elsewhere, idle or too old
        g.identity = identity

    @app.context_processor
    def identity_for_templates() -> dict[str, Any]:
        identity = current_identity()
        return {
            "identity": identity,
            "may": lambda action: bool(identity and can(identity.role, action)),
        }

    @app.after_request
    def access_log(resp: Response) -> Response:
        if request.path.startswith("/static/") or request.path == "/healthz":
            return resp
        if request.path.endswith("/live.json") and resp.status_code == 200:
            return resp  # an open page polls one every few seconds; failures are logged
        identity = current_identity()
        access.write(
            {
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                "remote": request.remote_addr or "",
                "who": identity.name if identity else "",
                "how": identity.how if identity else "",
                "method": request.method,
                "path": request.full_path.rstrip("?")[:500],
                "status": resp.status_code,
                "ms": round((time.monotonic() - g.get("started", time.monotonic())) * 1000, 1),
            }
        )
        return resp

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        error, status, headers = "", 200, {}
        if request.method == "POST":
            name = request.form.get("operator", "")
            # "token": the field of the first consoles' form, still posted by scripts.
            secret = request.form.get("password") or request.form.get("token") or ""
            remote = request.remote_addr or ""
            try:
                identity = gatekeeper.sign_in(name, secret, remote, int(time.time()))
            except SignInRefused as refused:
                error, status = str(refused), refused.status
                if refused.retry_after:
                    headers["Retry-After"] = str(refused.retry_after)
                log.warning("console sign-in refused", operator=name[:64], remote=remote,
                            status=status)  # fmt: skip
            else:
                csrf = session.get("csrf")
                old = session.get("sid")
                if old:
                    gatekeeper.end(str(old))
                session.clear()
                session["sid"] = gatekeeper.open_session(identity, remote, int(time.time()))
                session["csrf"] = csrf or secrets.token_urlsafe(32)
                session.permanent = True
                g.identity = identity
                log.info("console sign-in", operator=identity.name, role=identity.role,
                         how=identity.how, remote=remote)  # fmt: skip
                target = request.args.get("next") or ""
                # Only local paths: no open redirect.
                if not target.startswith("/") or target.startswith("//"):
                    target = url_for("index")
                return redirect(target)
        page = render_template("login.html", error=error, token_enabled=bool(conf.token))
        return page, status, headers

    @app.post("/logout")
    def logout() -> Any:
        sid = session.get("sid")
        if sid:
            gatekeeper.end(str(sid))  # the session is gone: a copy of the cookie is worthless
        session.clear()
        g.identity = None
        return redirect(url_for("login"))
