"""The console's identity (issue #19, point 5): accounts, roles, sessions, throttling, the
trusted header, the Secure cookie, the access log, and the audit's authenticated names.

The Flask application runs with its real journal (SQLite, in tmp_path) and no broker: the
pages that need one are not asked for; the role checks come before any broker call.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from gateway.bootstrap import bootstrap
from gateway.config import Settings, load
from gateway.config_schema import ConsoleSection
from gateway.interfaces.cli import main
from gateway.interfaces.console import ConsoleConfigError, create_app
from gateway.interfaces.console.identity import (
    Gatekeeper,
    IdentityError,
    SignInRefused,
    hash_password,
)
from gateway.storage.journal import SqliteJournal

PASSWORD = "correct horse battery staple"


def _settings(tmp_path: Path, **console: Any) -> Settings:
    return load({"console": console} if console else None, env={"EDIGW_STATE_DIR": str(tmp_path)})


def _journal(settings: Settings) -> SqliteJournal:
    journal = SqliteJournal(settings.journal_path)
    return journal


def _add(settings: Settings, name: str, role: str) -> None:
    journal = _journal(settings)
    assert journal.create_account(name, hash_password(PASSWORD), role, now=int(time.time()))
    journal.close()


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m
    return m.group(1)


def _sign_in(client: FlaskClient, name: str, secret: str = PASSWORD, **env: Any) -> Any:
    token = _csrf(client.get("/login").text)
    return client.post(
        "/login",
        data={"operator": name, "password": secret, "csrf": token},
        environ_base=env,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = _settings(tmp_path)
    _add(s, "alice", "operator")
    _add(s, "victor", "viewer")
    _add(s, "ada", "admin")
    return s


def _section(settings: Settings, token: str = "") -> ConsoleSection:
    """The configuration's [console] section, with this token."""
    return settings.config.console.model_copy(update={"token": token})


def _client(settings: Settings, token: str = "") -> FlaskClient:
    return create_app(bootstrap(settings), _section(settings, token)).test_client()


def test_an_account_signs_in_with_its_password_and_the_audit_records_its_name(
    settings: Settings,
) -> None:
    client = _client(settings)
    assert _sign_in(client, "alice", "not the password").status_code == 401
    r = _sign_in(client, "alice")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    page = client.get("/audit").text
    assert "alice · operator" in page
    # A replay's actor is the account's name, not a typed-in one (the broker is not needed
    # to see what the audit would be told: the view asks the signed-in identity).
    with create_app(bootstrap(settings), _section(settings)).test_request_context():
        from flask import g

        from gateway.interfaces.console.identity import Identity
        from gateway.interfaces.console.signin import actor

        g.identity = Identity("alice", "operator", "password")
        assert actor() == "alice (console)"


def test_a_viewer_cannot_replay_edit_or_purge(settings: Settings) -> None:
    client = _client(settings)
    _sign_in(client, "victor")
    csrf = _csrf(client.get("/audit").text)
    for path in ("/replay", "/purge", "/dlq/abc/edit"):
        assert client.post(path, data={"group": "X", "csrf": csrf}).status_code == 403, path
    assert client.get("/confirm/replay?group=X").status_code == 403
    assert client.get("/dlq/abc/edit").status_code == 403
    assert client.get("/accounts").status_code == 403  # admins only
    page = client.get("/audit").text
    assert "Accounts</a>" not in page


def test_an_admin_sees_accounts_and_ends_a_stolen_session(settings: Settings) -> None:
    thief = _client(settings)
    _sign_in(thief, "alice")
    assert thief.get("/audit").status_code == 200
    admin = _client(settings)
    # Both clients share one application? No: one journal, like two console instances.
    _sign_in(admin, "ada")
    page = admin.get("/accounts").text
    assert "alice" in page and "victor" in page
    csrf = _csrf(page)
    assert (
        admin.post("/accounts/end-sessions", data={"account": "alice", "csrf": csrf}).status_code
        == 302
    )
    r = thief.get("/audit")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_sign_out_ends_the_session_so_a_copied_cookie_stops_working(
    settings: Settings,
) -> None:
    app = create_app(bootstrap(settings), _section(settings))
    client = app.test_client()
    _sign_in(client, "alice")
    cookie = client.get_cookie("edigw-console")
    assert cookie is not None
    stolen = app.test_client()
    stolen.set_cookie("edigw-console", cookie.value)
    assert stolen.get("/audit").status_code == 200  # the copy works while the session lives
    csrf = _csrf(client.get("/audit").text)
    assert client.post("/logout", data={"csrf": csrf}).status_code == 302
    r = stolen.get("/audit")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert stolen.get("/live.json").status_code == 401


def test_sign_in_is_throttled_per_name_and_address(tmp_path: Path) -> None:
    settings = _settings(tmp_path, signin_attempts=3, signin_window_minutes=10)
    _add(settings, "alice", "operator")
    client = _client(settings)
    for _ in range(3):
        assert _sign_in(client, "alice", "guess").status_code == 401
    r = _sign_in(client, "alice")  # the right password, too late
    assert r.status_code == 429 and "Too many refused sign-ins" in r.text
    assert 0 < int(r.headers["Retry-After"]) <= 600
    # Another name from another address is not held up by alice's attacker.
    _add(settings, "bob", "viewer")
    assert _sign_in(client, "bob", REMOTE_ADDR="10.0.0.9").status_code == 302


def test_throttling_counts_time_not_just_tries(tmp_path: Path) -> None:
    settings = _settings(tmp_path, signin_attempts=2, signin_window_minutes=1)
    journal = _journal(settings)
    journal.create_account("alice", hash_password(PASSWORD), "viewer", now=0)
    keeper = Gatekeeper(journal, settings.config.console)
    for _ in range(2):
        with pytest.raises(SignInRefused):
            keeper.sign_in("alice", "guess", "10.0.0.1", now=1000)
    with pytest.raises(SignInRefused) as held:
        keeper.sign_in("alice", PASSWORD, "10.0.0.1", now=1030)
    assert held.value.status == 429 and held.value.retry_after == 30
    assert keeper.sign_in("alice", PASSWORD, "10.0.0.1", now=1061).name == "alice"


def test_sessions_end_when_idle_or_too_old(tmp_path: Path) -> None:
    settings = _settings(tmp_path, session_idle_minutes=10, session_hours=1)
    journal = _journal(settings)
    journal.create_account("alice", hash_password(PASSWORD), "viewer", now=0)
    keeper = Gatekeeper(journal, settings.config.console)
    me = keeper.sign_in("alice", PASSWORD, "10.0.0.1", now=0)
    token = keeper.open_session(me, "10.0.0.1", now=0)
    assert keeper.resume(token, now=9 * 60) == me
    assert keeper.resume(token, now=18 * 60) == me  # seen at 9 minutes: not idle yet
    assert keeper.resume(token, now=29 * 60) is None  # 11 minutes idle
    token = keeper.open_session(me, "10.0.0.1", now=0)
    for minute in range(5, 60, 5):
        assert keeper.resume(token, now=minute * 60) == me
    assert keeper.resume(token, now=3600) is None  # an hour after sign-in, however busy
    assert journal.sessions("alice") == []
    # The journal never holds a session's token, only its digest.
    token = keeper.open_session(me, "10.0.0.1", now=0)
    assert all(token not in s.token_hash for s in journal.sessions("alice"))


def test_the_shared_token_still_signs_in_but_never_as_an_account(settings: Settings) -> None:
    client = _client(settings, token="s3cret-token")
    # Scripts post the first consoles' fields: operator + token.
    csrf = _csrf(client.get("/login").text)
    r = client.post("/login", data={"operator": "script", "token": "s3cret-token", "csrf": csrf})
    assert r.status_code == 302
    assert "script · operator" in client.get("/audit").text
    other = _client(settings, token="s3cret-token")
    assert _sign_in(other, "alice", "s3cret-token").status_code == 401  # alice has a password


def test_a_trusted_header_is_believed_from_the_proxy_only(tmp_path: Path) -> None:
    settings = _settings(tmp_path, trusted_header="X-Remote-User", trusted_proxies=["10.1.0.0/16"])
    _add(settings, "ada", "admin")
    client = _client(settings)
    proxy = {"REMOTE_ADDR": "10.1.2.3"}
    r = client.get("/audit", headers={"X-Remote-User": "ada"}, environ_base=proxy)
    assert r.status_code == 200 and "ada · admin" in r.text  # the account's role
    r = client.get("/audit", headers={"X-Remote-User": "sso-user"}, environ_base=proxy)
    assert "sso-user · viewer" in r.text  # no account: trusted_header_role
    r = client.get(
        "/audit", headers={"X-Remote-User": "ada"}, environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert r.status_code == 302  # not from the proxy: not believed


def test_secure_cookie_and_access_log(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    settings = _settings(tmp_path, secure_cookie=True, access_log=str(log))
    _add(settings, "alice", "operator")
    client = create_app(bootstrap(settings), _section(settings)).test_client()
    r = _sign_in(client, "alice")
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("__Host-edigw-console=") and "Secure" in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    client.get("/audit?q=<script>")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["method"], e["path"].split("?")[0], e["status"]) for e in lines][-2:] == [
        ("POST", "/login", 302),
        ("GET", "/audit", 200),
    ]
    assert lines[-1]["who"] == "alice" and lines[-1]["how"] == "password"
    assert lines[-1]["path"] == "/audit?q=<script>"  # JSON keeps it data


def test_no_way_in_refuses_to_start(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with pytest.raises(ConsoleConfigError, match="no account"):
        create_app(bootstrap(settings), _section(settings))


def test_account_names_and_passwords_are_checked() -> None:
    with pytest.raises(IdentityError, match="12 characters"):
        hash_password("short")
    from gateway.interfaces.console.identity import check_account_name

    with pytest.raises(IdentityError):
        check_account_name("<script>")


def test_edigw_console_users(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"EDIGW_STATE_DIR": str(tmp_path)}
    add = ["console", "users", "add", "alice", "--role", "operator", "--password-stdin"]
    r = runner.invoke(main, add, input=PASSWORD + "\n", env=env)
    assert r.exit_code == 0, r.output
    assert runner.invoke(main, add, input=PASSWORD + "\n", env=env).exit_code == 1  # exists
    r = runner.invoke(main, [*add[:3], "bob", "--password-stdin"], input="short\n", env=env)
    assert r.exit_code == 2 and "12 characters" in r.output
    r = runner.invoke(main, ["console", "users", "list", "--json"], env=env)
    assert r.exit_code == 0
    assert [json.loads(line)["role"] for line in r.output.splitlines()] == ["operator"]
    assert (
        runner.invoke(main, ["console", "users", "role", "alice", "admin"], env=env).exit_code == 0
    )
    settings = load(env=env)
    journal = _journal(settings)
    account = journal.account("alice")
    assert account is not None and account.role == "admin"
    assert PASSWORD not in account.password_hash and account.password_hash.startswith("$argon2id$")
    journal.close()
    assert runner.invoke(main, ["console", "users", "remove", "alice"], env=env).exit_code == 0
    assert runner.invoke(main, ["console", "users", "remove", "alice"], env=env).exit_code == 1
    assert runner.invoke(main, ["console", "users", "list"], env=env).exit_code == 1


def test_edigw_console_users_print_one_json_object_per_line(tmp_path: Path) -> None:
    """Issue #19, point 7: --json on every command that prints something; never the password."""
    runner = CliRunner()
    env = {"EDIGW_STATE_DIR": str(tmp_path)}

    def users(*args: str, password: str | None = None) -> dict[str, object]:
        r = runner.invoke(main, ["console", "users", *args, "--json"], input=password, env=env)
        assert r.exit_code == 0, r.output
        [line] = r.stdout.splitlines()
        return dict(json.loads(line))

    stdin = ("--password-stdin",)
    added = users("add", "carol", "--role", "viewer", *stdin, password=PASSWORD + "\n")
    assert added == {"name": "carol", "outcome": "added", "role": "viewer"}
    changed = users("passwd", "carol", *stdin, password=PASSWORD + "-new\n")
    assert changed == {"name": "carol", "outcome": "password-changed", "sessions_ended": True}
    assert users("role", "carol", "operator") == {
        "name": "carol",
        "outcome": "role-changed",
        "role": "operator",
        "sessions_ended": True,
    }
    assert users("remove", "carol") == {
        "name": "carol",
        "outcome": "removed",
        "sessions_ended": True,
    }
    gone = runner.invoke(main, ["console", "users", "remove", "carol", "--json"], env=env)
    assert gone.exit_code == 1 and gone.stdout == ""  # nothing matched: nothing on stdout
