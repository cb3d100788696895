"""The console's tables (issue #19) on both journal backends: chart samples, accounts, sessions,
sign-in failures and a partner's traffic, the same calls on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.storage.backends import open_journal
from gateway.storage.journal import SqlJournal
from gateway.storage.journal_console import SessionRecord
from tests.e2e.test_faults_support import pg_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlJournal]:
    if request.param == "sqlite":
        j = open_journal("sqlite", str(tmp_path / "journal.sqlite3"))
        assert isinstance(j, SqlJournal)
        yield j
        j.close()
        return
    with pg_schema() as (_role, dsn):
        j = open_journal("postgresql", dsn)
        assert isinstance(j, SqlJournal)
        try:
            yield j
        finally:
            j.close()


def test_samples_are_bucketed_by_their_largest_value_and_pruned(journal: SqlJournal) -> None:
    for at, value in ((1000, 1.0), (1010, 3.0), (1010, 2.0), (1070, 5.0), (2000, 0.0)):
        journal.add_samples(at, {"dead": value, "inbound": value * 10})
    assert journal.sample_buckets("dead", since=1000, until=1200, bucket=60) == [
        (1000, 3.0),  # the same second twice keeps the larger reading
        (1060, 5.0),
    ]
    assert journal.sample_buckets("inbound", since=0, until=5000, bucket=3600) == [(0, 50.0)]
    assert journal.prune_samples(before=1500) == 6
    assert journal.sample_buckets("dead", since=0, until=5000, bucket=60) == [(1980, 0.0)]


def test_accounts_sessions_and_failures(journal: SqlJournal) -> None:
    assert journal.create_account("alice", "hash-1", "operator", now=10)
    assert not journal.create_account("alice", "hash-2", "admin", now=11)
    journal.open_session(SessionRecord("t1", "alice", "operator", "password", "::1", 10, 10, 99))
    assert journal.session("t1") is not None
    journal.touch_session("t1", 20)
    assert journal.sessions("alice")[0].seen_at == 20
    # A new role ends the sessions that carried the old one.
    assert journal.update_account("alice", now=30, role="viewer")
    account = journal.account("alice")
    assert account is not None and account.role == "viewer" and account.password_hash == "hash-1"
    assert journal.session("t1") is None
    with pytest.raises(ValueError, match="unknown role"):
        journal.update_account("alice", now=31, role="root")
    journal.open_session(SessionRecord("t2", "alice", "viewer", "password", "::1", 40, 40, 99))
    assert journal.end_session("t2") and not journal.end_session("t2")
    assert journal.remove_account("alice") and journal.account("alice") is None

    journal.record_signin_failure(["name:eve", "addr:10.0.0.1"], 100, forget_before=0)
    journal.record_signin_failure(["name:eve"], 160, forget_before=0)
    assert journal.signin_failures("name:eve", since=0) == (2, 160)
    assert journal.signin_failures("name:eve", since=150) == (1, 160)
    journal.record_signin_failure(["name:bob"], 500, forget_before=400)  # eve's have aged out
    assert journal.signin_failures("name:eve", since=0) == (0, 0)
    journal.clear_signin_failures("name:bob")
    assert journal.signin_failures("name:bob", since=0) == (0, 0)


def test_a_partners_latest_messages(journal: SqlJournal) -> None:
    journal.record_message("m1", type="CUSCAR", partner="apcs", correlation_id="m1")
    journal.record_event("m1", "received")
    journal.record_event("m1", "rejected")
    journal.record_message("m1-doc", type="manifest", partner="apcs", correlation_id="m1",
                           parent_id="m1")  # fmt: skip
    journal.record_message("x1", type="CUSCAR", partner="other", correlation_id="x1")
    [m] = journal.partner_messages("apcs")
    assert (m.message_id, m.type, m.status) == ("m1", "CUSCAR", "rejected")
    assert len(journal.partner_received_times("apcs", "2000-01-01", limit=10)) == 1
