"""Who is signed in to the console, and what they may do (issue #19, point 5).

Three ways in, each explicit in ``[console]``:

* **accounts** (the way): a name, a role and an Argon2id password hash (argon2-cffi) in the
  journal (``edigw console users add``). The audit trail records the account's name;
* **a trusted header** from a single-sign-on reverse proxy (``trusted_header``), believed
  only from the proxy's addresses (``trusted_proxies``); the role is the account's of that
  name if there is one, else ``trusted_header_role``;
* **the shared token** (``token``, kept for scripts): a typed-in name, recorded as such
  (``name (console, shared token)``), never a name that has an account.

Sessions are server-side (``console_sessions``): the browser's cookie holds a random token,
the journal its SHA-256; sign-out deletes the row, so a copied cookie stops working at once.
They end after ``session_idle_minutes`` without a request and ``session_hours`` after
sign-in, whichever comes first. Refused sign-ins are counted per name and per address;
past ``signin_attempts`` within ``signin_window_minutes`` the sign-in page refuses (429)
without checking the password.

>>> can("viewer", "replay"), can("operator", "purge"), can("admin", "accounts")
(False, True, True)
>>> can("viewer", "personal_data"), can("operator", "personal_data")
(False, True)
>>> verify_password(hash_password("correct horse battery"), "correct horse battery")
True
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gateway.config_schema import ConsoleSection
from gateway.storage.journal_console import (
    ROLES,
    AccountRecord,
    SessionRecord,
)

# What each role may do; every role may read every page. "personal_data": travellers' names
# and document numbers on a sailing's page (docs/travellers.md#privacy): the roles that edit
# and replay dead letters see them in the raw messages anyway; a viewer does not need them.
_RIGHTS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"view"}),
    "operator": frozenset({"view", "replay", "edit", "purge", "personal_data"}),
    "admin": frozenset({"view", "replay", "edit", "purge", "accounts", "personal_data"}),
}
ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 12
_HASHER = PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106's low-memory profile
# Verified when the name has no account, so that a refusal takes as long either way.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class IdentityError(ValueError):
    """A refused account change (bad name, short password, unknown role)."""


def can(role: str, action: str) -> bool:
    return action in _RIGHTS.get(role, frozenset())


def check_account_name(name: str) -> str:
    if not ACCOUNT_NAME.match(name):
        raise IdentityError(
            "an account name is 1 to 64 letters, digits or . _ @ -, starting with a "
            f"letter or digit, not {name!r}"
        )
    return name


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise IdentityError(f"a password has at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    """What the journal keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Identity:
    name: str
    role: str
    how: str  # "password", "header", "token"

    @property
    def actor(self) -> str:
        """The name the audit trail records."""
        suffix = {"password": "console", "header": "console, single sign-on"}.get(
            self.how, "console, shared token"
        )
        return f"{self.name} ({suffix})"


class IdentityStore(Protocol):
    """The journal's console tables (gateway.storage.journal_console.ConsoleTables)."""

    def account(self, name: str) -> AccountRecord | None: ...

    def update_account(
        self, name: str, *, now: int, password_hash: str | None = None, role: str | None = None
    ) -> bool: ...

    def open_session(self, record: SessionRecord) -> None: ...

    def session(self, token_hash: str) -> SessionRecord | None: ...

    def touch_session(self, token_hash: str, now: int) -> None: ...

    def end_session(self, token_hash: str) -> bool: ...

    def record_signin_failure(self, keys: list[str], now: int, *, forget_before: int) -> None: ...

    def signin_failures(self, key: str, since: int) -> tuple[int, int]: ...

    def clear_signin_failures(self, key: str) -> None: ...


class SignInRefused(Exception):
    def __init__(self, message: str, status: int = 401, retry_after: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class Gatekeeper:
    """Sign-in, sessions and throttling over the journal's console tables."""

    def __init__(self, store: IdentityStore, conf: ConsoleSection) -> None:
        self.store = store
        self.conf = conf
        self._proxies = [ipaddress.ip_network(p, strict=False) for p in conf.trusted_proxies]

    # --- sign-in
    def _throttle_keys(self, name: str, remote: str) -> list[tuple[str, int]]:
        # An office shares one address: the address may fail more often than one name.
        attempts = self.conf.signin_attempts
        return [(f"name:{name.lower()}", attempts), (f"addr:{remote}", attempts * 4)]

    def sign_in(self, name: str, secret: str, remote: str, now: int) -> Identity:
        """The identity of a name and its password (or the shared token); SignInRefused
        otherwise. Every refusal is counted for throttling."""
        name = name.strip()[:64]
        window = self.conf.signin_window_minutes * 60
        keys = self._throttle_keys(name, remote)
        for key, limit in keys:
            count, latest = self.store.signin_failures(key, now - window)
            if count >= limit:
                wait = max(latest + window - now, 1)
                raise SignInRefused(
                    "Too many refused sign-ins for this name or address: "
                    f"try again in {(wait + 59) // 60} minute(s).",
                    status=429,
                    retry_after=wait,
                )
        if not name:
            raise SignInRefused("Say who you are: the audit trail records it.")
        account = self.store.account(name)
        identity: Identity | None = None
        if account is not None:
            if verify_password(account.password_hash, secret):
                identity = Identity(account.name, account.role, "password")
        else:
            verify_password(_DUMMY_HASH, secret)  # the same time as a wrong password
            token = self.conf.token
            if (
                token
                and ACCOUNT_NAME.match(name)
                and hmac.compare_digest(secret.encode(), token.encode())
            ):
                identity = Identity(name, self.conf.token_role, "token")
        if identity is None:
            self.store.record_signin_failure([k for k, _ in keys], now, forget_before=now - window)
            raise SignInRefused("Wrong name or password (or token).")
        for key, _limit in keys:
            self.store.clear_signin_failures(key)
        return identity

    def open_session(self, identity: Identity, remote: str, now: int) -> str:
        """A new session for ``identity``; returns the token for the browser's cookie."""
        token = secrets.token_urlsafe(32)
        self.store.open_session(
            SessionRecord(
                token_hash=token_digest(token),
                account=identity.name,
                role=identity.role,
                how=identity.how,
                remote=remote,
                created_at=now,
                seen_at=now,
                expires_at=now + int(self.conf.session_hours * 3600),
            )
        )
        return token

    def resume(self, token: str, now: int) -> Identity | None:
        """The identity of a live session, or None (unknown, ended, idle or too old)."""
        if not token:
            return None
        digest = token_digest(token)
        record = self.store.session(digest)
        if record is None:
            return None
        idle = self.conf.session_idle_minutes * 60
        if now >= record.expires_at or now - record.seen_at >= idle:
            self.store.end_session(digest)
            return None
        if now - record.seen_at >= 60:  # one write a minute, not one per page poll
            self.store.touch_session(digest, now)
        return Identity(record.account, record.role, record.how)

    def end(self, token: str) -> None:
        if token:
            self.store.end_session(token_digest(token))

    # --- a single-sign-on proxy
    def from_header(self, value: str | None, remote: str | None) -> Identity | None:
        """The identity a trusted proxy vouches for, when one is configured, the request
        comes from it, and it names someone."""
        if not self.conf.trusted_header or not value or not remote:
            return None
        try:
            address = ipaddress.ip_address(remote)
        except ValueError:
            return None
        if not any(address in net for net in self._proxies):
            return None
        name = value.strip()
        if not ACCOUNT_NAME.match(name):
            return None
        account = self.store.account(name)
        role = account.role if account is not None else self.conf.trusted_header_role
        return Identity(name, role, "header")


__all__ = [
    "ROLES",
    "Gatekeeper",
    "Identity",
    "IdentityError",
    "SignInRefused",
    "can",
    "check_account_name",
    "hash_password",
    "verify_password",
]
