"""Large signed documents spooled between decision and publish, against the real broker
(issue #8): the published bytes are the spooled bytes, the files go once the inbound message
is settled, and a redelivery after publishing republishes the same document ids."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bench.common import valid_cuscar
from gateway.config import load
from gateway.messaging import malloc
from gateway.messaging.worker import Plan, Worker
from gateway.storage.journal import JournalUnavailable, derived_id
from gateway.storage.spool import SpooledDocument
from tests.e2e.test_faults_support import (
    cleanup_topologies,  # noqa: F401  (autouse: deletes each test's queues)
    declare_topology,
    delete_queue,
    done_count,
    drain,
    events_of,
    names_of,
    submit,
    wait_until,
    worker_thread,
)
from tests.helpers import xmlsec_verify
from tests.integration.test_routing_migration import _consuming

pytestmark = [pytest.mark.broker]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, bytes]]:
    """Every spooled document read back (for its publish): path and bytes."""
    seen: list[tuple[Path, bytes]] = []
    read = SpooledDocument.read

    def recording(self: SpooledDocument) -> bytes:
        data = read(self)
        seen.append((self.path, data))
        return data

    monkeypatch.setattr(SpooledDocument, "read", recording)
    return seen


def _spool_files(env: dict[str, str]) -> list[Path]:
    root = load(env=env).state_dir / "spool"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_large_manifest_is_published_from_its_spool_file_which_then_goes(
    gateway_env: dict[str, str],
    reads: list[tuple[Path, bytes]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trims: list[int] = []
    monkeypatch.setattr(malloc, "trim", lambda: trims.append(1) or True)
    names = names_of(gateway_env)
    declare_topology(gateway_env)
    leftover = load(env=gateway_env).state_dir / "spool" / "999999999"  # a process long gone
    leftover.mkdir(parents=True)
    (leftover / "old.xml").write_bytes(b"<old/>")
    data = valid_cuscar(2_400)  # 1.1 MB: read twice (THIN_MIN_BYTES), trimmed after
    with worker_thread(gateway_env):
        submit(gateway_env, [("spool-1", data)])
        wait_until(lambda: done_count(gateway_env) >= 1, 60, "the manifest done")
        docs = drain(gateway_env, names.customs_core)
        acks = drain(gateway_env, names.outbound("apcs"))
        wait_until(lambda: not _spool_files(gateway_env), 10, "the spool files removed")
    assert not leftover.exists()
    assert [p.message_id for p, _ in docs] == [derived_id("spool-1", 0)]
    assert len(acks) == 1
    # The inbound body was spooled too (let go while publishing), but it is read back only
    # for a late dead letter: the one read is the manifest's, for its publish.
    published = docs[0][1]
    assert [body for _, body in reads] == [published]
    assert reads[0][0].parent.name == str(os.getpid())  # the worker thread's process
    cert = load(env=gateway_env).signing_cert
    assert xmlsec_verify(published, cert, tmp_path).returncode == 0
    assert "routed" in events_of(gateway_env, "spool-1")
    assert len(data) >= 1 << 20 and trims == [1]  # the arenas given back once, when decided


def test_a_redelivery_after_publishing_republishes_the_same_document(
    gateway_env: dict[str, str], reads: list[tuple[Path, bytes]], tmp_path: Path
) -> None:
    """The journal fails after the confirms (as a crash before the ack would): the message
    is requeued, decided again, and its manifest published again with the same id, from a
    new spool file; every spool file is gone at the end."""
    names = names_of(gateway_env)
    declare_topology(gateway_env)
    data = valid_cuscar(1_100, seed=7)
    failed: list[str] = []
    record = Worker._record

    def failing_once(self: Worker, plan: Plan) -> Any:
        if not failed and plan.inbound_id == "spool-2":
            failed.append(plan.inbound_id)
            raise JournalUnavailable("injected: the journal went away after publishing")
        return record(self, plan)

    pytest.MonkeyPatch.setattr(pytest.MonkeyPatch(), Worker, "_record", failing_once)
    try:
        with worker_thread(gateway_env):
            submit(gateway_env, [("spool-2", data)])
            wait_until(lambda: done_count(gateway_env) >= 1, 60, "the manifest done")
            docs = wait_until(
                lambda: (d := drain(gateway_env, names.customs_core)) and d, 20, "documents"
            )
            wait_until(lambda: not _spool_files(gateway_env), 10, "the spool files removed")
    finally:
        Worker._record = record  # type: ignore[method-assign]
    if len(docs) < 2:
        docs += drain(gateway_env, names.customs_core)
    assert failed == ["spool-2"]
    assert [p.message_id for p, _ in docs] == [derived_id("spool-2", 0)] * 2
    assert [body for _, body in reads] == [body for _, body in docs]
    assert len({path for path, _ in reads}) == 2  # each decision spooled its own file
    cert = load(env=gateway_env).signing_cert
    for _, body in docs:
        assert xmlsec_verify(body, cert, tmp_path).returncode == 0


def test_a_stopped_worker_leaves_no_spool_folder(gateway_env: dict[str, str]) -> None:
    declare_topology(gateway_env)
    with worker_thread(gateway_env) as worker:
        submit(gateway_env, [("spool-3", valid_cuscar(1_050, seed=3))])
        wait_until(lambda: done_count(gateway_env) >= 1, 60, "the manifest done")
        folder = worker.spool.directory
    assert not folder.exists()


def test_a_large_inbound_body_let_go_while_publishing_is_read_back_for_a_dead_letter(
    gateway_env: dict[str, str], reads: list[tuple[Path, bytes]]
) -> None:
    """The inbound body (1.1 MB) is spooled once decided; when the broker returns the
    document (its queue deleted: UNROUTABLE), the dead letter carries the very bytes the
    partner sent, read back from the spool; no spool file is left."""
    names = names_of(gateway_env)
    declare_topology(gateway_env)
    data = valid_cuscar(2_400, seed=5)
    with worker_thread(gateway_env):
        wait_until(lambda: _consuming(gateway_env), 20, "the worker consuming")
        # Someone deleted the customs queue: the broker returns the document (mandatory).
        delete_queue(gateway_env, names.customs_core)
        submit(gateway_env, [("spool-4", data)])
        dlq = names.dead_letter(names.inbound("apcs"))
        [(props, body)] = wait_until(lambda: drain(gateway_env, dlq), 60, "dead-lettered")
        wait_until(lambda: not _spool_files(gateway_env), 10, "the spool files removed")
    assert props.headers["x-edigw-reason"] == "UNROUTABLE"
    assert body == data
    assert data in [b for _, b in reads]  # the inbound body came back from its spool file
