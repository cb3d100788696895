"""Reconcile after hours with two instances over one journal (issue #17): both look for the
calls due at the same moment, each on its own connection; exactly one claims the call and
tells it. On SQLite (one file) and PostgreSQL (a schema of its own, dropped afterwards).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest

from gateway.config import load
from gateway.security.signing import Signer, ensure_dev_keys
from gateway.service import call_timer, calls
from gateway.service.call_report import Reporter
from gateway.service.calls import CallPolicy
from gateway.storage.backends import open_journal
from gateway.storage.journal import Journal
from tests.decisions import decision_service
from tests.e2e.test_faults_support import pg_schema
from tests.unit.test_calls_service import ATA, KEY, manifest, vessel_call
from tests.unit.test_decision_service import NAMES, QUEUE

POLICY = CallPolicy(reconcile_after=dt.timedelta(hours=48))
DUE = ATA + dt.timedelta(hours=49)


@pytest.fixture(params=["sqlite", "postgresql"])
def two_journals(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Journal]]:
    """Two connections to one journal, as two ``edigw run`` instances have."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            where = ("sqlite", str(tmp_path / "journal.sqlite3"))
        else:
            _role, dsn = stack.enter_context(pg_schema())
            where = ("postgresql", dsn)
        journals = [open_journal(*where), open_journal(*where)]
        for j in journals:
            stack.callback(j.close)
        yield journals


def instance(journal: Journal, tmp_path: Path, name: str) -> Reporter:
    """One instance's decision service on ``journal``, as ``edigw run`` builds its reporter."""
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    ensure_dev_keys(key, cert)
    service = decision_service(
        load(env={}), journal, Signer.from_files(key, cert), tmp_path / name, NAMES, QUEUE
    )
    service.calls = POLICY
    return service.reporter()


def test_two_instances_one_claim(two_journals: list[Journal], tmp_path: Path) -> None:
    first = two_journals[0]
    calls.file(first, POLICY, manifest("MAN-1"), "in-1", now=ATA - dt.timedelta(days=1))
    calls.file(first, POLICY, vessel_call(ata=ATA), "in-2", now=ATA)
    reporters = [instance(j, tmp_path, f"i{n}") for n, j in enumerate(two_journals)]
    start = threading.Barrier(2)

    def look(n: int) -> list[call_timer.Claimed]:
        start.wait()
        return call_timer.claim_due(reporters[n], POLICY, f"instance-{n}", now=DUE)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(look, [0, 1]))
    claimed = [c for r in results for c in r]
    assert [c.call for c in claimed] == [KEY], results
    winner = 0 if results[0] else 1
    assert [p.type for p in claimed[0].told.publishes] == ["ManifestDiscrepancyReport"]
    call_timer.told(reporters[winner], claimed[0], now=DUE + dt.timedelta(minutes=1))
    # Told: the other instance, however late, finds nothing due.
    later = DUE + call_timer.STALE_AFTER + dt.timedelta(hours=1)
    assert call_timer.claim_due(reporters[1 - winner], POLICY, "other", now=later) == []
    story = {h.message_id for h in two_journals[1 - winner].track(str(KEY))}
    assert claimed[0].trigger_id in story
