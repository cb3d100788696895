"""The operators' console in the journal (issue #19): chart samples, accounts, sessions.

:class:`ConsoleTables` is mixed into ``gateway.storage.journal.SqlJournal``, like the call
registry: portable SQL (``?`` placeholders, ``ON CONFLICT``) on SQLite and PostgreSQL, tables
created on first use (a journal may predate them). Several console instances that share a
journal share their history, accounts and sessions: a sign-out on one ends the session on all.

* ``console_samples``: one value per chart series and second (queue totals, rates), kept a
  few days; read back as the maximum per bucket, so a 7-day chart reads a bounded number
  of points whatever the sampling interval was.
* ``console_accounts``: operators, their role and their password hash (never the password;
  the hashing is :mod:`gateway.interfaces.console.identity`'s).
* ``console_sessions``: signed-in browsers, by the SHA-256 of their session token (a copy of
  the database does not hand out live sessions).
* ``console_signin_failures``: refused sign-ins, for throttling, pruned as they age.

>>> from gateway.storage.journal import SqliteJournal
>>> j = SqliteJournal(":memory:")
>>> j.add_samples(1000, {"dead": 2.0}); j.add_samples(1010, {"dead": 5.0})
>>> j.sample_buckets("dead", since=1000, until=1060, bucket=60)
[(1000, 5.0)]
>>> j.create_account("alice", "$argon2id$...", "operator", now=1000)
True
>>> j.account("alice").role
'operator'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from gateway.storage.sql_mixin import SqlMixin

ROLES: tuple[str, ...] = ("viewer", "operator", "admin")

CONSOLE_TABLES = (
    """CREATE TABLE IF NOT EXISTS console_samples (
    series TEXT NOT NULL,
    at BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (series, at)
)""",
    """CREATE TABLE IF NOT EXISTS console_accounts (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    changed_at BIGINT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS console_sessions (
    token_hash TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    role TEXT NOT NULL,
    how TEXT NOT NULL,
    remote TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS console_sessions_account ON console_sessions(account)",
    """CREATE TABLE IF NOT EXISTS console_signin_failures (
    key TEXT NOT NULL,
    at BIGINT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS console_signin_failures_key ON console_signin_failures(key, at)",
)
# A bucketed read never returns more rows than this (a 7-day chart at one-minute buckets
# is 10,080); a caller asking for finer buckets gets the most recent ones.
MAX_BUCKETS = 20_000


@dataclass(frozen=True, slots=True)
class AccountRecord:
    name: str
    password_hash: str
    role: str
    created_at: int
    changed_at: int


@dataclass(frozen=True, slots=True)
class SessionRecord:
    token_hash: str
    account: str
    role: str
    how: str  # "password", "token", "header"
    remote: str
    created_at: int
    seen_at: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class PartnerMessage:
    """One message a partner sent, as its traffic page lists it."""

    message_id: str
    type: str
    created_at: str
    status: str


class ConsoleTables(SqlMixin):
    """Chart samples, console accounts and sessions on the journal's SQL connection."""

    def _console_rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        self._ensure_tables("_console_ready", CONSOLE_TABLES)
        with self._read() as cur:
            return list(self._exec(cur, sql, params).fetchall())

    def _console_write(self) -> AbstractContextManager[Any]:
        self._ensure_tables("_console_ready", CONSOLE_TABLES)
        return self._tx(immediate=True)

    # --- chart samples
    def add_samples(self, at: int, values: Mapping[str, float]) -> None:
        """One value per series at second ``at``; a second sample in the same second keeps
        the larger value (two consoles sampling at once agree on the worse reading)."""
        rows = [(series, int(at), float(v)) for series, v in values.items()]
        if not rows:
            return
        with self._console_write() as cur:
            cur.executemany(
                self._q(
                    "INSERT INTO console_samples (series, at, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (series, at) DO UPDATE SET value = "
                    "CASE WHEN excluded.value > console_samples.value "
                    "THEN excluded.value ELSE console_samples.value END"
                ),
                rows,
            )

    def prune_samples(self, before: int) -> int:
        """Forget samples older than ``before`` (seconds); how many went."""
        with self._console_write() as cur:
            return int(
                self._exec(cur, "DELETE FROM console_samples WHERE at < ?", (int(before),)).rowcount
            )

    def sample_buckets(
        self, series: str, *, since: int, until: int, bucket: int
    ) -> list[tuple[int, float]]:
        """(bucket start, largest value in it) for every bucket of ``bucket`` seconds from
        ``since`` to ``until`` that holds a sample, oldest first."""
        bucket = max(int(bucket), 1)
        since = max(int(since), int(until) - bucket * MAX_BUCKETS)
        rows = self._console_rows(
            "SELECT (at - ?) / ? AS b, MAX(value) FROM console_samples "
            "WHERE series = ? AND at >= ? AND at <= ? GROUP BY b ORDER BY b",
            (since, bucket, series, since, int(until)),
        )
        return [(since + int(b) * bucket, float(v)) for b, v in rows]

    # --- accounts
    def create_account(self, name: str, password_hash: str, role: str, *, now: int) -> bool:
        """Add an account; False when one of that name exists (nothing changed)."""
        _check_role(role)
        with self._console_write() as cur:
            done = self._exec(
                cur,
                "INSERT INTO console_accounts VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (name, password_hash, role, int(now), int(now)),
            ).rowcount
        return bool(done)

    def update_account(
        self,
        name: str,
        *,
        now: int,
        password_hash: str | None = None,
        role: str | None = None,
    ) -> bool:
        """Change an account's password hash or role; its sessions end (they carried the
        old role, or were opened with the old password). False when there is no such account."""
        if role is not None:
            _check_role(role)
        with self._console_write() as cur:
            done = self._exec(
                cur,
                "UPDATE console_accounts SET password_hash = COALESCE(?, password_hash), "
                "role = COALESCE(?, role), changed_at = ? WHERE name = ?",
                (password_hash, role, int(now), name),
            ).rowcount
            if done:
                self._exec(cur, "DELETE FROM console_sessions WHERE account = ?", (name,))
        return bool(done)

    def remove_account(self, name: str) -> bool:
        """Remove an account and end its sessions; False when there was none."""
        with self._console_write() as cur:
            done = self._exec(cur, "DELETE FROM console_accounts WHERE name = ?", (name,)).rowcount
            self._exec(cur, "DELETE FROM console_sessions WHERE account = ?", (name,))
        return bool(done)

    def account(self, name: str) -> AccountRecord | None:
        rows = self._console_rows(
            "SELECT name, password_hash, role, created_at, changed_at FROM console_accounts "
            "WHERE name = ?",
            (name,),
        )
        return AccountRecord(*rows[0]) if rows else None

    def accounts(self) -> list[AccountRecord]:
        return [
            AccountRecord(*r)
            for r in self._console_rows(
                "SELECT name, password_hash, role, created_at, changed_at FROM console_accounts "
                "ORDER BY name"
            )
        ]

    # --- sessions
    def open_session(self, record: SessionRecord) -> None:
        with self._console_write() as cur:
            # Expired sessions go as new ones come: the table holds live sessions only.
            self._exec(cur, "DELETE FROM console_sessions WHERE expires_at < ?", (record.seen_at,))
            self._exec(
                cur,
                "INSERT INTO console_sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.token_hash,
                    record.account,
                    record.role,
                    record.how,
                    record.remote,
                    record.created_at,
                    record.seen_at,
                    record.expires_at,
                ),
            )

    def session(self, token_hash: str) -> SessionRecord | None:
        rows = self._console_rows(
            "SELECT token_hash, account, role, how, remote, created_at, seen_at, expires_at "
            "FROM console_sessions WHERE token_hash = ?",
            (token_hash,),
        )
        return SessionRecord(*rows[0]) if rows else None

    def sessions(self, account: str | None = None) -> list[SessionRecord]:
        where, args = ("WHERE account = ?", (account,)) if account else ("", ())
        return [
            SessionRecord(*r)
            for r in self._console_rows(
                "SELECT token_hash, account, role, how, remote, created_at, seen_at, expires_at "
                f"FROM console_sessions {where} ORDER BY seen_at DESC",
                args,
            )
        ]

    def touch_session(self, token_hash: str, now: int) -> None:
        with self._console_write() as cur:
            self._exec(
                cur,
                "UPDATE console_sessions SET seen_at = ? WHERE token_hash = ?",
                (int(now), token_hash),
            )

    def end_session(self, token_hash: str) -> bool:
        with self._console_write() as cur:
            return bool(
                self._exec(
                    cur, "DELETE FROM console_sessions WHERE token_hash = ?", (token_hash,)
                ).rowcount
            )

    # --- sign-in throttling
    def record_signin_failure(self, keys: Sequence[str], now: int, *, forget_before: int) -> None:
        """Count one refused sign-in under each key (the name tried, the address); failures
        older than ``forget_before`` are dropped, so the table stays small under attack."""
        with self._console_write() as cur:
            self._exec(
                cur, "DELETE FROM console_signin_failures WHERE at < ?", (int(forget_before),)
            )
            cur.executemany(
                self._q("INSERT INTO console_signin_failures (key, at) VALUES (?, ?)"),
                [(k, int(now)) for k in dict.fromkeys(keys)],
            )

    def signin_failures(self, key: str, since: int) -> tuple[int, int]:
        """(refused sign-ins under ``key`` since ``since``, the time of the latest)."""
        rows = self._console_rows(
            "SELECT COUNT(*), MAX(at) FROM console_signin_failures WHERE key = ? AND at >= ?",
            (key, int(since)),
        )
        count, latest = rows[0] if rows else (0, None)
        return int(count or 0), int(latest or 0)

    def clear_signin_failures(self, key: str) -> None:
        with self._console_write() as cur:
            self._exec(cur, "DELETE FROM console_signin_failures WHERE key = ?", (key,))

    # --- a partner's traffic (from the journal's own tables)
    def partner_messages(self, partner: str, *, limit: int = 50) -> list[PartnerMessage]:
        """The partner's latest inbound messages, newest first, with their latest status."""
        rows = self._console_rows(
            "SELECT m.message_id, m.type, m.created_at, COALESCE((SELECT e.status FROM events e "
            "WHERE e.message_id = m.message_id ORDER BY e.id DESC LIMIT 1), '') "
            "FROM messages m WHERE m.partner = ? AND m.parent_id IS NULL "
            "ORDER BY m.created_at DESC LIMIT ?",
            (partner, int(limit)),
        )
        return [PartnerMessage(*r) for r in rows]

    def partner_received_times(self, partner: str, since: str, *, limit: int) -> list[str]:
        """When each inbound message of the partner since ``since`` (ISO) was received,
        at most ``limit`` of them (the newest)."""
        rows = self._console_rows(
            "SELECT created_at FROM messages WHERE partner = ? AND parent_id IS NULL "
            "AND created_at >= ? ORDER BY created_at DESC LIMIT ?",
            (partner, since, int(limit)),
        )
        return [str(r[0]) for r in rows]


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
