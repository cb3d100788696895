"""``edigw db upgrade`` on a real PostgreSQL (issue #20, point 2), in a database of each test's
own, dropped afterwards: from an empty database, from the schema the code before versioning
made, twice; and ``edigw run`` refusing an un-upgraded schema and generated key material."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gateway.storage.backends import open_journal
from gateway.storage.journal_pg import upgrade_schema
from gateway.storage.migrations import LATEST

ADMIN_DSN = os.environ.get("EDIGW_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def database() -> Iterator[str]:
    """The DSN of an empty database of this test's own."""
    name = f"edigw_mig_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _edigw(dsn: str, tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "EDIGW_JOURNAL_BACKEND": "postgresql",
        "EDIGW_JOURNAL_PATH": dsn,
        "EDIGW_STATE_DIR": str(tmp_path / "state"),
        "EDIGW_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2F",  # never reached here
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway", "--log-format", "json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def test_from_an_empty_database_then_again(database: str, tmp_path: Path) -> None:
    status = _edigw(database, tmp_path, "db", "status", "--json")
    assert status.returncode == 1, status.stderr
    assert json.loads(status.stdout) == {"backend": "postgresql", "version": 0, "latest": LATEST}

    first = _edigw(database, tmp_path, "db", "upgrade", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {
        "backend": "postgresql",
        "applied": list(range(1, LATEST + 1)),
        "version": LATEST,
    }
    tables = _tables(database)
    # One table of each part the code used to create on first use, and the versions'.
    for table in (
        "messages",
        "dedup",
        "document_versions",
        "calls",
        "tpds",
        "sent_interchanges",
        "console_accounts",
        "operator_audit",
        "operator_audit_messages",
        "lpco",
        "schema_migrations",
    ):
        assert table in tables, table

    again = _edigw(database, tmp_path, "db", "upgrade", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["applied"] == []
    assert _tables(database) == tables
    assert _edigw(database, tmp_path, "db", "status").returncode == 0


def test_from_the_schema_the_code_before_versioning_made(database: str, tmp_path: Path) -> None:
    journal = open_journal("postgresql", database)  # creates its tables as before
    try:
        journal.record_message("m-before", type="CUSCAR", partner="apcs", correlation_id="m-before")
        assert journal.interchange_reference("apcs", "m-before") == "1"
    finally:
        journal.close()
    assert "schema_migrations" not in _tables(database)

    upgraded = _edigw(database, tmp_path, "db", "upgrade", "--json")
    assert upgraded.returncode == 0, upgraded.stderr
    assert json.loads(upgraded.stdout)["applied"] == list(range(1, LATEST + 1))
    journal = open_journal("postgresql", database)
    try:  # what was there stays, and the journal goes on from it
        assert [h.message_id for h in journal.track("m-before")] == ["m-before"]
        assert journal.interchange_reference("apcs", "m-after") == "2"
    finally:
        journal.close()


def test_from_the_previous_version(database: str, tmp_path: Path) -> None:
    """Version 1 (the journal only; audit and LPCO registry in local files) to the latest (audit and LPCO registry from version 2)."""
    assert upgrade_schema(database, until=1) == [1]
    journal = open_journal("postgresql", database)
    try:
        journal.record_message("m-v1", type="CUSCAR", partner="apcs", correlation_id="m-v1")
    finally:
        journal.close()
    assert {"operator_audit", "lpco"}.isdisjoint(_tables(database))
    behind = _edigw(database, tmp_path, "db", "status", "--json")
    assert behind.returncode == 1
    assert json.loads(behind.stdout) == {"backend": "postgresql", "version": 1, "latest": LATEST}

    upgraded = _edigw(database, tmp_path, "db", "upgrade", "--json")
    assert upgraded.returncode == 0, upgraded.stderr
    assert json.loads(upgraded.stdout)["applied"] == list(range(2, LATEST + 1))
    assert {"operator_audit", "operator_audit_messages", "lpco"} <= _tables(database)
    journal = open_journal("postgresql", database)
    try:  # the version 1 rows stay
        assert [h.message_id for h in journal.track("m-v1")] == ["m-v1"]
    finally:
        journal.close()
    assert _edigw(database, tmp_path, "db", "status").returncode == 0


def test_run_refuses_an_un_upgraded_schema_then_db_upgrade_lets_it_past(
    database: str, tmp_path: Path
) -> None:
    site = {
        "EDIGW_SIGNING_KEY": str(tmp_path / "site" / "key.pem"),
        "EDIGW_SIGNING_CERT": str(tmp_path / "site" / "cert.pem"),
        "EDIGW_CONFIG": str(tmp_path / "site.toml"),
    }
    (tmp_path / "site.toml").write_text(f'[trust]\ndir = "{tmp_path / "trust"}"\n')
    refused = _edigw(database, tmp_path, "run", **site)
    assert refused.returncode == 2
    assert f"journal schema at version 0, this gateway needs {LATEST}" in refused.stderr
    assert "edigw db upgrade" in refused.stderr
    assert _edigw(database, tmp_path, "db", "upgrade").returncode == 0
    # Past the schema check: what refuses it now is something else (here the key files,
    # which this test never made), not the schema.
    after = _edigw(database, tmp_path, "run", **site)
    assert after.returncode == 2
    assert "journal schema" not in after.stderr


def test_run_refuses_generated_keys_and_anchors_with_a_shared_journal(
    database: str, tmp_path: Path
) -> None:
    no_keys = _edigw(database, tmp_path, "run", EDIGW_MODE="development")
    assert no_keys.returncode == 2
    assert no_keys.stderr.startswith("configuration refused: keys.signing_key:")
    keys_only = _edigw(
        database,
        tmp_path,
        "run",
        EDIGW_MODE="development",
        EDIGW_SIGNING_KEY=str(tmp_path / "key.pem"),
        EDIGW_SIGNING_CERT=str(tmp_path / "cert.pem"),
    )
    assert keys_only.returncode == 2
    assert keys_only.stderr.startswith("configuration refused: trust.dir:")
