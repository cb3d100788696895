"""The journal's amendment methods behave the same on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.storage.journal import DocumentVersion, Journal, SqliteJournal
from tests.e2e.test_faults_support import pg_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Journal]:
    if request.param == "sqlite":
        j: Journal = SqliteJournal(tmp_path / "journal.sqlite3")
        yield j
        j.close()
        return
    from gateway.storage.journal_pg import PostgresJournal

    with pg_schema() as (_role, dsn):
        j = PostgresJournal(dsn)
        yield j
        j.close()


def version(n: int, message_id: str, payload: str, function: str = "replace") -> DocumentVersion:
    return DocumentVersion("apcs", "CargoManifest:M1", n, function, message_id, payload, f"in-{n}")


def test_versions_in_order_and_one_writer_per_version(journal: Journal) -> None:
    assert journal.document_versions("apcs", "CargoManifest:M1") == []
    assert journal.add_document_version(version(1, "m1", "h1", "original"))
    assert journal.add_document_version(version(2, "m2", "h2"))
    # A second writer of version 2 (two workers at once) loses and is told so.
    assert not journal.add_document_version(version(2, "m2b", "h2b"))
    chain = journal.document_versions("apcs", "CargoManifest:M1")
    assert [(v.version, v.message_id, v.function) for v in chain] == [
        (1, "m1", "original"),
        (2, "m2", "replace"),
    ]
    assert journal.document_versions("other", "CargoManifest:M1") == []


def test_the_first_answer_is_kept(journal: Journal) -> None:
    acks = [("CONTRL", b"UNB+UNOA:3+CUSTOMS+APCS'\n"), ("APERAK", bytes(range(256)))]
    journal.save_acknowledgements("apcs", "hash1", "in-1", acks)
    journal.save_acknowledgements("apcs", "hash1", "in-2", [("CONTRL", b"other")])
    assert journal.saved_acknowledgements("apcs", "hash1") == ("in-1", acks)
    assert journal.saved_acknowledgements("apcs", "hash2") is None
    assert journal.saved_acknowledgements("commerce", "hash1") is None
