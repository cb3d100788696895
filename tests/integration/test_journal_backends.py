"""The journal's contract, run against both backends: SQLite (a file) and PostgreSQL.

Each PostgreSQL test gets a role and schema of its own, dropped afterwards.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.storage.backends import open_journal
from gateway.storage.journal import Journal, JournalUnavailable, Origin
from tests.e2e.test_faults_support import pg_cut, pg_restore, pg_schema

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """(backend, path or DSN, PostgreSQL role or "")."""
    if request.param == "sqlite":
        yield "sqlite", str(tmp_path / "journal.sqlite3"), ""
    else:
        with pg_schema() as (role, dsn):
            yield "postgresql", dsn, role


@pytest.fixture
def journal(backend: tuple[str, str, str]) -> Iterator[Journal]:
    j = open_journal(backend[0], backend[1])
    try:
        yield j
    finally:
        j.close()


def test_track_follows_the_family_by_reference(journal: Journal) -> None:
    journal.record_message("in-1", type="inbound", partner="apcs", correlation_id="in-1")
    journal.record_message("in-1", type="CUSCAR", partner="apcs", correlation_id="in-1")
    journal.record_message(
        "doc-1", type="CargoManifest", partner="apcs", correlation_id="in-1", parent_id="in-1"
    )
    journal.add_references("doc-1", ["BL-9", "BL-9", ""])
    journal.record_event("in-1", "received", "1 KB")
    journal.record_event("doc-1", "routed", "to customs.core")
    found = journal.track("BL-9")
    assert [(h.message_id, h.type) for h in found] == [
        ("in-1", "CUSCAR"),
        ("doc-1", "CargoManifest"),
    ]
    assert [e.status for e in found[1].events] == ["routed"]
    assert journal.track("nothing") == []
    with pytest.raises(ValueError):
        journal.record_event("in-1", "teleported")


def test_track_matches_any_case_by_prefix_with_a_limit_and_tells_one_story(
    journal: Journal,
) -> None:
    """Issue #19: a refused manifest found by a prefix of its number, in any case; its
    dead letter's replay (filed under it) and the replay's document in the same story."""
    for n in range(3):
        journal.record_message(f"in-{n}", type="CUSCAR", partner="apcs", correlation_id="c")
        journal.add_references(f"in-{n}", [f"MAN-DZALG-{n}"])
    journal.record_message(
        "in-0~replay1", type="CUSCAR", partner="apcs", correlation_id="c", parent_id="in-0"
    )
    journal.record_message(
        "doc-r", type="CargoManifest", partner="apcs", correlation_id="c", parent_id="in-0~replay1"
    )
    journal.add_references("weird", ["A_B%C"])
    journal.record_message("weird", type="CUSCAR", partner="apcs", correlation_id="w")

    found = journal.track("man-dzalg-0")
    assert {h.message_id for h in found} == {"in-0", "in-0~replay1", "doc-r"}
    assert not found.more
    # From the replay's document, up to the original and down again: the same story.
    assert {h.message_id for h in journal.track("DOC-R")} == {"in-0", "in-0~replay1", "doc-r"}
    assert {h.message_id for h in journal.track("Man-DzAlg")} >= {"in-0", "in-1", "in-2"}
    limited = journal.track("man-dzalg", limit=2)
    assert limited.more
    assert {h.message_id for h in limited if h.parent_id is None} == {"in-0", "in-1"}
    # LIKE's wildcards are plain characters in a reference.
    assert [h.message_id for h in journal.track("a_b%")] == ["weird"]
    assert journal.track("a%") == [] and journal.track("_") == []


def test_processed_goes_from_decided_to_done_with_its_events(journal: Journal) -> None:
    assert journal.processed("m1") is None
    journal.record_message("m1", type="inbound", partner="apcs", correlation_id="m1")
    journal.decide("m1", "routed", "to core")
    decided = journal.processed("m1")
    assert decided is not None and decided.state == "decided"
    journal.complete(
        "m1", "routed", "to core", [("m1", "routed", "x"), ("m1", "acknowledged", "y")]
    )
    done = journal.processed("m1")
    assert done is not None and (done.state, done.outcome) == ("done", "routed")
    # A late decide (a redelivery racing) never takes a done message back.
    journal.decide("m1", "rejected")
    assert journal.processed("m1").state == "done"  # type: ignore[union-attr]
    [history] = journal.track("m1")
    assert [e.status for e in history.events] == ["routed", "acknowledged"]


def test_claims_are_first_come_and_redeliveries_are_no_conflict(journal: Journal) -> None:
    assert journal.claim("m1", {"icr:apcs:A:1": "h1", "doc:apcs:CM:M1:1:original": "p1"}) == []
    assert journal.claim("m1", {"icr:apcs:A:1": "h1"}) == []  # the same message again
    conflicts = journal.claim("m2", {"icr:apcs:A:1": "h1", "doc:apcs:CM:M1:1:original": "p2"})
    assert sorted((c.key, c.owner, c.same_content) for c in conflicts) == [
        ("doc:apcs:CM:M1:1:original", "m1", False),
        ("icr:apcs:A:1", "m1", True),
    ]


def test_concurrent_claims_have_exactly_one_winner(backend: tuple[str, str, str]) -> None:
    journals = [open_journal(backend[0], backend[1]) for _ in range(4)]
    results: dict[str, list[object]] = {}
    start = threading.Barrier(len(journals))

    def claim(i: int) -> None:
        start.wait()
        results[f"m{i}"] = list(journals[i].claim(f"m{i}", {"icr:apcs:A:race": "h"}))

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(journals))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for j in journals:
        j.close()
    winners = [m for m, conflicts in results.items() if not conflicts]
    assert len(results) == 4 and len(winners) == 1


def test_origins_answered_once_and_overdue(journal: Journal) -> None:
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)).isoformat(timespec="milliseconds")
    for mid, routed_at in (("d-old", old), ("d-new", dt.datetime.now(dt.UTC).isoformat())):
        journal.record_origin(
            Origin(
                mid,
                f"in-{mid}",
                "apcs",
                routed_at,
                {"document_type": "CargoManifest", "business_reference": mid},
            )
        )
    assert [o.message_id for o in journal.overdue(dt.timedelta(hours=4))] == ["d-old"]
    origin = journal.origin("in-d-old")
    assert origin is not None and origin.message_id == "d-old"
    assert origin.facts["business_reference"] == "d-old"
    assert journal.mark_answered("d-old", "released") is True
    assert journal.mark_answered("d-old", "released") is False  # a redelivered response
    assert journal.overdue(dt.timedelta(hours=4)) == []
    assert journal.origin("unknown") is None


def test_unreachable_store_is_a_transient_failure(
    backend: tuple[str, str, str], tmp_path: Path
) -> None:
    if backend[0] == "sqlite":
        (tmp_path / "is-a-dir").mkdir()
        with pytest.raises(JournalUnavailable):
            open_journal("sqlite", str(tmp_path / "is-a-dir"))
        return
    journal = open_journal(backend[0], backend[1])
    try:
        pg_cut(backend[2])
        try:
            with pytest.raises(JournalUnavailable):
                journal.processed("m1")
            with pytest.raises(JournalUnavailable):
                journal.processed("m1")  # reconnecting fails too while the role is cut
        finally:
            pg_restore(backend[2])
        assert journal.processed("m1") is None  # and it recovers by itself
    finally:
        journal.close()


def test_withdrawn_acceptance_frees_versions_answers_and_claims(journal: Journal) -> None:
    from gateway.storage.journal import DocumentVersion

    journal.add_document_version(
        DocumentVersion("apcs", "CargoManifest:M1", 1, "original", "doc-1", "h1", "in-1")
    )
    journal.save_acknowledgements("apcs", "body-hash", "in-1", [("CONTRL", b"UNB...")])
    assert journal.claim("in-1", {"icr:apcs:APCS:7": "body-hash"}) == []
    # Another message's records stay.
    journal.add_document_version(
        DocumentVersion("apcs", "CargoManifest:M2", 1, "original", "doc-2", "h2", "in-2")
    )
    assert journal.withdraw_acceptance("apcs", "in-1") == 3
    assert journal.document_versions("apcs", "CargoManifest:M1") == []
    assert journal.saved_acknowledgements("apcs", "body-hash") is None
    assert journal.claim("in-1~replay1", {"icr:apcs:APCS:7": "body-hash"}) == []
    assert [v.inbound_id for v in journal.document_versions("apcs", "CargoManifest:M2")] == ["in-2"]


def test_a_unit_of_work_records_all_or_nothing(backend: tuple[str, str, str]) -> None:
    journal, other = open_journal(backend[0], backend[1]), open_journal(backend[0], backend[1])
    try:
        with journal.unit_of_work():
            journal.record_message("in-1", type="CUSCAR", partner="apcs", correlation_id="in-1")
            journal.add_references("in-1", ["BL-UOW-1"])
            assert journal.claim("in-1", {"icr:apcs:A:uow": "h"}) == []
            with journal.unit_of_work():  # a nested unit joins the outer one
                journal.decide("in-1", "routed", "to customs.core")
            # Not committed yet: another connection does not see it.
            assert other.track("BL-UOW-1") == []
        assert [m.message_id for m in other.track("BL-UOW-1")] == ["in-1"]
        decided = other.processed("in-1")
        assert decided is not None and decided.state == "decided"

        with pytest.raises(RuntimeError), journal.unit_of_work():
            journal.record_message("in-2", type="CUSCAR", partner="apcs", correlation_id="in-2")
            journal.add_references("in-2", ["BL-UOW-2"])
            assert journal.claim("in-2", {"icr:apcs:A:uow2": "h"}) == []
            raise RuntimeError("the worker dies before the commit")
        # Nothing of the failed unit remains: the redelivery can claim the same keys.
        assert journal.track("BL-UOW-2") == [] and journal.processed("in-2") is None
        assert journal.claim("in-2-again", {"icr:apcs:A:uow2": "h"}) == []
    finally:
        journal.close()
        other.close()


def test_other_threads_wait_for_an_open_unit_of_work(journal: Journal) -> None:
    seen: list[str] = []
    inside = threading.Event()

    def writer() -> None:
        inside.wait(10)
        journal.record_event("in-1", "received", "from another thread")
        seen.append("other thread wrote")

    thread = threading.Thread(target=writer)
    thread.start()
    with journal.unit_of_work():
        journal.record_message("in-1", type="CUSCAR", partner="apcs", correlation_id="in-1")
        inside.set()
        thread.join(timeout=0.5)
        seen.append("unit committed")
    thread.join(timeout=10)
    assert seen == ["unit committed", "other thread wrote"]
    assert [e.detail for e in journal.track("in-1")[0].events] == ["from another thread"]


# --- the gateway's own interchange references (issue #16)


def test_interchange_references_count_per_partner_and_stay_with_their_owner(
    journal: Journal,
) -> None:
    first = journal.interchange_reference("apcs", "ack-1", "in-1")
    second = journal.interchange_reference("apcs", "ack-2", "in-2")
    assert (first, second) == ("1", "2")
    # The same owner (a redelivery decided again) gets the same reference: no second number.
    assert journal.interchange_reference("apcs", "ack-1", "in-1") == "1"
    assert journal.interchange_reference("apcs", "ack-3") == "3"
    # Another partner counts on its own.
    assert journal.interchange_reference("terminal-djendjen", "ack-t1") == "1"
    assert journal.sent_interchange("apcs", "2") == ("ack-2", "in-2")
    assert journal.sent_interchange("apcs", "4") is None
    assert journal.sent_interchange("terminal-djendjen", "2") is None
    with pytest.raises(ValueError, match="not to terminal-djendjen"):
        journal.interchange_reference("terminal-djendjen", "ack-1")


def test_a_reference_given_in_a_failed_unit_of_work_is_not_given_out(
    backend: tuple[str, str, str],
) -> None:
    journal = open_journal(backend[0], backend[1])
    try:
        assert journal.interchange_reference("apcs", "ack-before") == "1"
        with pytest.raises(RuntimeError), journal.unit_of_work():
            assert journal.interchange_reference("apcs", "ack-crash", "in-crash") == "2"
            raise RuntimeError("the worker dies before the commit")
        assert journal.sent_interchange("apcs", "2") is None
        # The redelivery decides again: the counter went back with the decision.
        assert journal.interchange_reference("apcs", "ack-crash", "in-crash") == "2"
    finally:
        journal.close()


def test_concurrent_instances_never_give_one_reference_twice(
    backend: tuple[str, str, str],
) -> None:
    """Four journals (four gateway instances on PostgreSQL), 50 answers each, one partner:
    200 references, all different, 1 to 200; one owner asked by all four gets one."""
    journals = [open_journal(backend[0], backend[1]) for _ in range(4)]
    given: dict[str, str] = {}
    shared: list[str] = []
    start = threading.Barrier(len(journals))

    def allocate(i: int) -> None:
        start.wait()
        for n in range(50):
            given[f"ack-{i}-{n}"] = journals[i].interchange_reference("apcs", f"ack-{i}-{n}")
        shared.append(journals[i].interchange_reference("apcs", "ack-shared"))

    threads = [threading.Thread(target=allocate, args=(i,)) for i in range(len(journals))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for j in journals:
        j.close()
    assert len(given) == 200 and len(set(given.values())) == 200
    assert len(set(shared)) == 1 and shared[0] not in given.values()
    numbers = sorted(int(r) for r in [*given.values(), shared[0]])
    # A race for the shared owner may leave a gap (a number not used), never a reuse.
    assert numbers[0] == 1 and numbers[-1] <= 200 + len(journals)


def test_references_never_pass_fourteen_characters(journal: Journal) -> None:
    from gateway.storage.sent_interchanges import REFERENCE_MAX, ReferencesUsedUp

    assert journal.interchange_reference("apcs", "ack-0") == "1"
    with journal.unit_of_work():  # the counter as if 10^14 - 2 interchanges had gone
        journal._exec(  # type: ignore[attr-defined]
            journal._uow_cursor,  # type: ignore[attr-defined]
            "UPDATE interchange_counters SET last_number = ? WHERE partner = ?",
            (REFERENCE_MAX - 1, "apcs"),
        )
    last = journal.interchange_reference("apcs", "ack-last")
    assert last == "99999999999999" and len(last) == 14
    with pytest.raises(ReferencesUsedUp, match=r"an\.\.14"):
        journal.interchange_reference("apcs", "ack-past")
    assert journal.sent_interchange("apcs", "100000000000000") is None


def test_track_tells_messages_of_the_same_millisecond_in_the_order_their_story_began(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Documents filed within one millisecond (one interchange, a fast machine) are listed in
    the order their first event was written, not by their random message ids."""
    from gateway.storage import journal as journal_module

    monkeypatch.setattr(journal_module, "_now", lambda: "2026-12-07T10:00:00.000+00:00")
    for message_id in ("zz-manifest", "mm-notification", "aa-report"):
        journal.record_message(message_id, type="X", partner="apcs", correlation_id="c")
        journal.record_event(message_id, "routed", "to customs")
        journal.add_references(message_id, ["CMAU3000009"])
    assert [h.message_id for h in journal.track("CMAU3000009")] == [
        "zz-manifest",
        "mm-notification",
        "aa-report",
    ]
