"""All shared state in PostgreSQL (issue #20, point 2): the operators' audit trail, the LPCO
registry and the console's history.

One contract, run on both backends (a SQLite file; a role and schema of its own in the
PostgreSQL test database, dropped afterwards); then two apps (two ``bootstrap(...)``, as two
instances on two machines would be) on one PostgreSQL database: what one writes the other sees,
and a certificate version both receive at once is accepted once.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from structlog.testing import capture_logs

from gateway.bootstrap import App, bootstrap
from gateway.config import load
from gateway.security.trust import DevPki
from gateway.service.pipeline import Outcome
from gateway.service.receipts import receipt_from_xml
from gateway.storage.audit import AuditTrail, SqlAuditTrail
from gateway.storage.backends import open_audit_trail, open_lpco_records
from gateway.storage.journal import SqlJournal
from gateway.storage.lpco_records import LpcoRecords
from tests.e2e.test_faults_support import pg_schema
from tests.integration.test_db_upgrade import _edigw

LICENCE = (
    Path(__file__).resolve().parents[2] / "samples" / "ministries" / "national-import-licence.xml"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(backend, journal path or DSN)."""
    if request.param == "sqlite":
        yield "sqlite", str(tmp_path / "journal.sqlite3")
        return
    with pg_schema() as (_role, dsn):
        yield "postgresql", dsn


@pytest.fixture
def trail(store: tuple[str, str]) -> Iterator[SqlAuditTrail]:
    t = open_audit_trail(*store)
    try:
        yield t
    finally:
        t.close()


@pytest.fixture
def records(store: tuple[str, str], tmp_path: Path) -> Iterator[LpcoRecords]:
    r = open_lpco_records(store[0], store[1], tmp_path)
    try:
        yield r
    finally:
        r.close()


# ---------------------------------------------------------------- one contract, two backends


def test_the_trail_keeps_actions_in_order_with_their_messages(trail: SqlAuditTrail) -> None:
    first = trail.record("alice", "replay", message_ids=["m2", "m1", "m2"], detail="group X")
    second = trail.record("bob", "purge", message_ids=["m3"], data={"count": 1})
    assert second > first
    assert [(e.actor, e.action, e.message_ids) for e in trail.entries()] == [
        ("bob", "purge", ("m3",)),
        ("alice", "replay", ("m2", "m1")),  # the order given, each once
    ]
    assert [e.id for e in trail.entries(message_id="m1")] == [first]
    assert [e.action for e in trail.entries(actor="bob")] == ["purge"]
    assert trail.entries(action="purge")[0].data == {"count": 1}
    assert trail.counts_by_action() == {"replay": 1, "purge": 1}


def test_an_import_keeps_time_and_messages_and_is_not_repeated(
    trail: SqlAuditTrail, tmp_path: Path
) -> None:
    local = AuditTrail(tmp_path / "operators-audit.sqlite3")
    local.record("carol", "replay", message_ids=["a", "b"], detail="old")
    local.record("carol", "edit", message_ids=["c"])
    old = list(reversed(local.entries()))
    local.close()
    trail.record("dave", "purge")

    assert trail.import_entries(old, "machine-1") == (2, 0)
    assert trail.import_entries(old, "machine-1") == (0, 2)  # again: nothing twice
    assert trail.import_entries(old[:1], "machine-2") == (1, 0)  # another machine's file
    imported = trail.entries(actor="carol")
    assert [(e.action, e.at, e.message_ids) for e in imported][-2:] == [
        ("edit", old[1].at, ("c",)),
        ("replay", old[0].at, ("a", "b")),
    ]
    assert imported[-1].data["imported_from"] == {"source": "machine-1", "id": old[0].id}


def test_lpco_rows_first_insert_wins(records: LpcoRecords) -> None:
    key = ("commerce", "MOC-ITD", "IL-1", 1)
    assert records.lookup(key) == (None, None)
    assert records.insert(key, "issued", "a" * 64, "g1", "in-1", b"<receipt-1/>")
    assert not records.insert(key, "issued", "b" * 64, "g2", "in-2", b"<receipt-2/>")
    assert records.insert(("commerce", "MOC-ITD", "IL-1", 3), "revoked", "c", "g3", "in-3", b"r")
    assert records.lookup(key) == (("a" * 64, b"<receipt-1/>", "in-1"), (3, "revoked"))
    assert [(h["version"], h["status"]) for h in records.history("IL-1")] == [
        (1, "issued"),
        (3, "revoked"),
    ]


# ---------------------------------------------------------------- two instances, one database


@pytest.fixture
def two_apps(tmp_path: Path) -> Iterator[tuple[App, App, str]]:
    """Two apps on one PostgreSQL schema, as two instances of a site (one state directory:
    the same development keys, as a site shares its key files)."""
    with pg_schema() as (_role, dsn):
        env = {
            "EDIGW_STATE_DIR": str(tmp_path / "state"),
            "EDIGW_MODE": "development",
            "EDIGW_JOURNAL_BACKEND": "postgresql",
            "EDIGW_JOURNAL_PATH": dsn,
        }
        first, second = bootstrap(load(env=env)), bootstrap(load(env=env))
        try:
            yield first, second, dsn
        finally:
            first.close()
            second.close()


def licence(number: str, version: int = 1, status: str = "ISSUED", quantity: str = "500") -> bytes:
    data = LICENCE.read_bytes()
    data = data.replace(b"IL-2026-000123", number.encode())
    data = data.replace(b"<Version>1</Version>", f"<Version>{version}</Version>".encode())
    data = data.replace(b"<Status>ISSUED</Status>", f"<Status>{status}</Status>".encode())
    return data.replace(b'unit="TNE">500<', f'unit="TNE">{quantity}<'.encode())


def send(app: App, pki: DevPki, data: bytes) -> Outcome:
    inbound = str(uuid.uuid4())
    signed = pki.sign("commerce", etree.fromstring(data))
    return app.pipeline.process(signed, app.settings.partners["commerce"], inbound, inbound)


def answer(outcome: Outcome) -> tuple[str, list[str]]:
    r = receipt_from_xml(etree.fromstring(outcome.acknowledgement))
    return r.outcome, [x.code for x in r.reasons]


def test_the_audit_trail_is_one_for_every_instance(two_apps: tuple[App, App, str]) -> None:
    first, second, _dsn = two_apps
    mine = first.audit.record("alice", "replay", message_ids=["m1"])
    theirs = second.audit.record("bob", "purge", message_ids=["m1"])
    for app in (first, second):
        assert [e.id for e in app.audit.entries(message_id="m1")] == [theirs, mine]


def test_a_certificate_one_instance_accepted_is_a_duplicate_at_the_other(
    two_apps: tuple[App, App, str],
) -> None:
    first, second, _dsn = two_apps
    pki = first.dev_pki()
    assert pki is not None
    accepted = send(first, pki, licence("IL-SHARED-1"))
    assert answer(accepted) == ("accepted", []) and len(accepted.routed) == 1

    again = send(second, pki, licence("IL-SHARED-1"))  # re-signed, the same content
    assert again.routed == [] and again.acknowledgement == accepted.acknowledgement
    assert answer(send(second, pki, licence("IL-SHARED-1", quantity="400"))) == (
        "rejected",
        ["LPCO_VERSION_CONFLICT"],
    )
    assert answer(send(second, pki, licence("IL-SHARED-1", 2, "AMENDED", "300"))) == (
        "accepted",
        [],
    )
    assert [(h["version"], h["status"]) for h in first.lpco_records.history("IL-SHARED-1")] == [
        (1, "issued"),
        (2, "amended"),
    ]


def test_one_version_received_by_both_at_once_is_accepted_once(
    two_apps: tuple[App, App, str],
) -> None:
    first, second, _dsn = two_apps
    # Whichever interleaving happens: if both decide before either keeps the version, the
    # second keep is refused and its desk decides again (MinistryDesk.finish).
    pki = first.dev_pki()
    assert pki is not None
    # Built one after the other: the development key is generated once, by the first (a site
    # installs its key files before its instances start).
    assert first.pipeline is not None and second.pipeline is not None
    for round_ in range(4):
        number = f"IL-RACE-{round_}"
        start = threading.Barrier(2)
        outcomes: dict[int, Outcome] = {}

        def receive(
            i: int,
            app: App,
            number: str = number,
            start: threading.Barrier = start,
            outcomes: dict[int, Outcome] = outcomes,
        ) -> None:
            start.wait()
            outcomes[i] = send(app, pki, licence(number))

        threads = [
            threading.Thread(target=receive, args=(i, app)) for i, app in enumerate((first, second))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert sorted(len(o.routed) for o in outcomes.values()) == [0, 1], number
        # The one not routed answers with the very receipt of the one that was.
        assert outcomes[0].acknowledgement == outcomes[1].acknowledgement
        assert len(first.lpco_records.history(number)) == 1


def test_the_console_history_is_one_for_every_instance(two_apps: tuple[App, App, str]) -> None:
    first, second, _dsn = two_apps
    assert isinstance(first.journal, SqlJournal) and isinstance(second.journal, SqlJournal)
    first.journal.add_samples(1000, {"dead": 2.0})
    second.journal.add_samples(1030, {"dead": 7.0})
    first.journal.record_message("m-apcs", type="CUSCAR", partner="apcs", correlation_id="m-apcs")
    first.journal.record_event("m-apcs", "received")
    for app in (first, second):
        journal = app.journal
        assert isinstance(journal, SqlJournal)
        assert journal.sample_buckets("dead", since=1000, until=1060, bucket=60) == [(1000, 7.0)]
        assert [(m.message_id, m.status) for m in journal.partner_messages("apcs")] == [
            ("m-apcs", "received")
        ]


def import_audit(dsn: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _edigw(dsn, tmp_path, "db", "import-audit", *args, EDIGW_MODE="development")


def test_db_import_audit_appends_a_local_trail_once(
    two_apps: tuple[App, App, str], tmp_path: Path
) -> None:
    first, _second, dsn = two_apps
    local = AuditTrail(tmp_path / "operators-audit.sqlite3")
    local.record("carol", "replay", message_ids=["x1", "x2"])
    local.close()
    args = ("--source", "m1", "--json", str(tmp_path / "operators-audit.sqlite3"))

    done = import_audit(dsn, tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"source": "m1", "imported": 1, "skipped": 0}
    again = import_audit(dsn, tmp_path, *args)
    assert json.loads(again.stdout) == {"source": "m1", "imported": 0, "skipped": 1}
    [entry] = first.audit.entries(actor="carol")
    assert entry.message_ids == ("x1", "x2")

    refused = import_audit(dsn, tmp_path, str(tmp_path / "missing.sqlite3"))
    assert refused.returncode == 1 and "no such file" in refused.stderr
    not_a_trail = tmp_path / "other.sqlite3"
    sqlite3.connect(not_a_trail).close()
    refused = import_audit(dsn, tmp_path, str(not_a_trail))
    assert refused.returncode == 1 and "not an operators' audit trail" in refused.stderr


def test_a_local_file_left_by_an_earlier_release_is_named(tmp_path: Path) -> None:
    AuditTrail(tmp_path / "operators-audit.sqlite3").close()
    with pg_schema() as (_role, dsn), capture_logs() as logs:
        open_audit_trail("postgresql", dsn, tmp_path).close()
        open_lpco_records("postgresql", dsn, tmp_path).close()
    warned = [e for e in logs if e["log_level"] == "warning"]
    assert [e["path"] for e in warned] == [str(tmp_path / "operators-audit.sqlite3")]
    assert "edigw db import-audit" in warned[0]["event"]
