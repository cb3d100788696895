"""The console behind a load balancer (issue #19): instances that share the journal and the key
file (``[console] secret_key_file``) accept each other's sessions; production refuses to start a
console without the file (fail closed), development makes a key of its own.

Two Flask applications, each built by its own ``bootstrap`` as two processes would be, over one
SQLite journal in tmp_path; no broker (the pages asked for need none).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from gateway.bootstrap import bootstrap
from gateway.config import Settings, load
from gateway.interfaces.cli import main
from gateway.interfaces.console import ConsoleConfigError, console_secret_key, create_app
from gateway.interfaces.console.identity import hash_password
from gateway.storage.journal import SqliteJournal

PASSWORD = "correct horse battery staple"
COOKIE = "edigw-console"


def _settings(tmp_path: Path, mode: str = "production", **console: Any) -> Settings:
    return load(
        {"console": console} if console else None,
        env={"EDIGW_STATE_DIR": str(tmp_path / "state"), "EDIGW_MODE": mode},
    )


def _key_file(tmp_path: Path, key: bytes, mode: int = 0o600) -> Path:
    path = tmp_path / "console.key"
    path.write_bytes(key)
    path.chmod(mode)
    return path


def _with_account(settings: Settings) -> Settings:
    journal = SqliteJournal(settings.journal_path)
    assert journal.create_account(
        "alice", hash_password(PASSWORD), "operator", now=int(time.time())
    )
    journal.close()
    return settings


def _instance(settings: Settings) -> FlaskClient:
    """One console process: its own app, its own connection to the shared journal."""
    return create_app(bootstrap(settings), settings.config.console).test_client()


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m
    return m.group(1)


def _signed_in(client: FlaskClient) -> str:
    r = client.post(
        "/login",
        data={"operator": "alice", "password": PASSWORD, "csrf": _csrf(client.get("/login").text)},
    )
    assert r.status_code == 302
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def test_a_session_made_on_one_instance_is_good_on_another(tmp_path: Path) -> None:
    key = _key_file(tmp_path, os.urandom(32).hex().encode())
    settings = _with_account(_settings(tmp_path, secret_key_file=str(key)))
    one, two = _instance(settings), _instance(settings)
    two.set_cookie(COOKIE, _signed_in(one))

    # The load balancer sends the next requests to the other instance: still signed in, and
    # its forms carry the CSRF token of the session made on the first.
    page = two.get("/audit")
    assert page.status_code == 200
    assert two.post("/logout", data={"csrf": _csrf(page.text)}).status_code == 302
    # Signed out on the second: the session (server-side, in the journal) is gone on the first.
    r = one.get("/audit")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_instances_with_keys_of_their_own_do_not_share_sessions(tmp_path: Path) -> None:
    # What a random key per process did: the cookie of one is forged for the other.
    settings = _with_account(_settings(tmp_path, mode="development"))
    one, two = _instance(settings), _instance(settings)
    two.set_cookie(COOKIE, _signed_in(one))
    r = two.get("/audit")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_production_refuses_a_console_without_a_shared_key(tmp_path: Path) -> None:
    settings = _settings(tmp_path, token="a-token-for-scripts")
    gateway = bootstrap(settings)
    with pytest.raises(ConsoleConfigError, match="secret_key_file"):
        console_secret_key(gateway, settings.config.console, generate=False)
    # edigw console: refused before it listens (exit 2), the reason on stderr.
    env = {"EDIGW_STATE_DIR": str(tmp_path / "state"), "EDIGW_MODE": "production"}
    env |= {"EDIGW_CONSOLE_TOKEN": "a-token-for-scripts"}
    result = CliRunner().invoke(main, ["console", "--port", "1"], env=env)
    assert result.exit_code == 2, result.output
    assert "configuration refused: console.secret_key_file" in result.stderr
    # Development makes one (32 random bytes), different each time.
    first = console_secret_key(gateway, settings.config.console, generate=True)
    assert len(first) == 32 and first != console_secret_key(
        gateway, settings.config.console, generate=True
    )


@pytest.mark.parametrize(
    ("content", "mode", "refusal"),
    [
        (b"short", 0o600, "at least 32"),
        (b"k" * 40, 0o604, "read by anyone"),
    ],
)
def test_a_weak_or_open_key_file_is_refused(
    tmp_path: Path, content: bytes, mode: int, refusal: str
) -> None:
    key = _key_file(tmp_path, content, mode)
    settings = _settings(tmp_path, secret_key_file=str(key))
    with pytest.raises(ConsoleConfigError, match=refusal):
        console_secret_key(bootstrap(settings), settings.config.console, generate=False)


def test_a_missing_key_file_is_refused_with_its_name(tmp_path: Path) -> None:
    settings = _settings(tmp_path, secret_key_file=str(tmp_path / "nowhere.key"))
    with pytest.raises(ConsoleConfigError, match=r"nowhere\.key"):
        console_secret_key(bootstrap(settings), settings.config.console, generate=False)


def test_the_key_file_comes_from_the_environment_too(tmp_path: Path) -> None:
    key = _key_file(tmp_path, b"x" * 32)
    settings = load(
        env={"EDIGW_STATE_DIR": str(tmp_path), "EDIGW_CONSOLE_SECRET_KEY_FILE": str(key)}
    )
    assert settings.config.console.secret_key_file == str(key)
    assert console_secret_key(bootstrap(settings), settings.config.console, generate=False) == (
        b"x" * 32
    )
