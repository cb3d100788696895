"""The decision service alone: an in-memory journal, no broker (issue #15).

``DecisionService`` takes an arrival and returns a plan; nothing is published. These tests
read the plans: what would go to customs, to the partner, to the dead-letter queue, and what
the journal holds once a plan is carried out (``Journal.complete``, as the worker does after
the broker's confirms) or not (a crash between two publishes).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.edifact import parse
from gateway.config import Partner, load
from gateway.messaging.naming import Names
from gateway.security.signing import Signer, ensure_dev_keys
from gateway.service.decision import DecisionService
from gateway.service.plan import Delivery, Plan, decided_as, inbound_id_of
from gateway.storage.journal import SqliteJournal
from gateway.storage.spool import content
from tests.decisions import decision_service
from tests.edifact_builders import interchange, message

NAMES = Names("t.")
QUEUE = NAMES.inbound("apcs")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[DecisionService]:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    ensure_dev_keys(key, cert)
    journal = SqliteJournal(":memory:")
    yield decision_service(
        load(env={}),
        journal,
        Signer.from_files(key, cert),
        tmp_path / "spool",
        NAMES,
        QUEUE,
        {"t.partner-commerce": "commerce"},
    )
    journal.close()


def apcs(service: DecisionService) -> Partner:
    return service.settings.partners["apcs"]


def arrive(service: DecisionService, body: bytes, message_id: str, **kw: object) -> Plan:
    """Receive and decide ``body`` as the worker does (arrival first, then the decision)."""
    d = Delivery(body, message_id, None, {}, QUEUE, "", bool(kw.get("redelivered")))
    if "user_id" in kw:
        d.user_id = str(kw["user_id"])
    partner = kw.get("partner") or apcs(service)
    assert isinstance(partner, Partner)
    inbound = inbound_id_of(partner.id, d)
    early = service.receive(partner, QUEUE, d, inbound, inbound)
    return service.decide(partner, QUEUE, d, inbound, inbound, lambda: early)


def carried_out(service: DecisionService, plan: Plan) -> None:
    """What the worker does once every publish of ``plan`` is confirmed."""
    with service.journal.unit_of_work():
        if plan.record:
            service.journal.complete(plan.inbound_id, plan.outcome, plan.detail, plan.events)


def kinds(plan: Plan) -> list[tuple[str, str]]:
    return [(p.kind, p.routing_key) for p in plan.publishes]


def test_the_mixed_interchange_routes_message_one_and_dead_letters_message_two_alone(
    service: DecisionService,
) -> None:
    body = interchange(
        message("1", "MAN-DZALG-0101"), message("2", "MAN-DZALG-0102", container="MSCU1234565")
    )
    plan = arrive(service, body, "in-mixed")
    assert plan.outcome == "routed" and "1 message(s) rejected" in plan.detail
    assert kinds(plan) == [
        ("document", "core"),
        ("dead-letter", QUEUE),
        ("ack", "apcs"),
        ("ack", "apcs"),
    ]
    assert [p.type for p in plan.publishes if p.kind == "ack"] == ["CONTRL", "APERAK"]
    letter = next(p for p in plan.publishes if p.kind == "dead-letter")
    [ic] = parse(content(letter.body))
    assert [m.reference for m in ic.messages] == ["2"]
    assert letter.headers["x-edigw-reason"] == "BUSINESS_RULES"
    assert letter.headers["x-edigw-message-reference"] == "2"


def test_a_duplicate_interchange_is_refused_before_anything_is_routed(
    service: DecisionService,
) -> None:
    first = interchange(message("1", "MAN-DZORN-0201"), reference="DUP1")
    carried_out(service, arrive(service, first, "in-first"))
    # The same UNB reference with other content, under another AMQP message id.
    again = interchange(message("1", "MAN-DZORN-0299"), reference="DUP1")
    plan = arrive(service, again, "in-again")
    assert plan.outcome == "rejected" and plan.detail.startswith("DUPLICATE_INTERCHANGE")
    # Noticed before the interchange was decoded: no message of it was read.
    assert plan.decision.translation.message_types == []
    assert [k for k, _ in kinds(plan)] == ["dead-letter", "ack"]
    assert b"+4" in content(plan.publishes[1].body).split(b"UCI+")[1][:40]
    # An identical resend is answered as the first time, and routes nothing.
    resend = arrive(service, first, "in-resend")
    assert [k for k, _ in kinds(resend)] == ["ack"]


def test_an_amendment_inside_one_interchange(service: DecisionService) -> None:
    body = interchange(
        message("1", "MAN-DZBJA-0301", "9"),
        message("2", "MAN-DZBJA-0301", "5").replace("LAPTOPS", "NOTEBOOKS"),
    )
    plan = arrive(service, body, "in-pair")
    documents = [p for p in plan.publishes if p.kind == "document"]
    assert len(documents) == 2
    versions = [service.journal.document_versions("apcs", "CargoManifest:MAN-DZBJA-0301")]
    assert [(v.version, v.function) for v in versions[0]] == [(1, "original"), (2, "replace")]
    assert [p.message_id for p in documents] == [v.message_id for v in versions[0]]


def test_a_crash_between_two_publishes_gives_one_effect_per_message(
    service: DecisionService,
) -> None:
    """The plan was decided and its first publish went out, then the process died: the
    redelivery decides again and publishes the very same message ids (consumers drop the
    repeat); once a plan is carried out, a redelivery publishes nothing."""
    body = interchange(
        message("1", "MAN-DZSKI-0401"),
        message("2", "MAN-DZSKI-0402"),
        message("3", "MAN-DZSKI-0403", container="MSCU1234565"),
    )
    before = arrive(service, body, "in-crash")  # ... and no completion: the crash
    after = arrive(service, body, "in-crash", redelivered=True)
    assert [(p.kind, p.message_id) for p in after.publishes] == [
        (p.kind, p.message_id) for p in before.publishes
    ]
    assert len({p.message_id for p in after.publishes}) == len(after.publishes)
    carried_out(service, after)
    done = arrive(service, body, "in-crash", redelivered=True)
    assert done.outcome == "redelivery" and done.publishes == []


def test_another_partners_broker_user_is_refused_at_arrival(service: DecisionService) -> None:
    plan = arrive(
        service, interchange(message("1", "MAN-DZDJE-0501")), "in-u", user_id="t.partner-commerce"
    )
    assert plan.outcome == "rejected" and plan.detail.startswith("SENDER_MISMATCH")
    assert [k for k, _ in kinds(plan)] == ["dead-letter"]


def test_a_message_id_another_partner_used_is_not_taken_for_a_redelivery(
    service: DecisionService,
) -> None:
    """A message id is the partner's word: a second port partner that sends (by chance or on
    purpose) the id of apcs's message is decided on its own, routed under ids of its own, and
    answered with its own message id as correlation id; it is never acknowledged as a
    "redelivery" of apcs's message with nothing routed nor answered."""
    first = arrive(service, interchange(message("1", "MAN-DZALG-0601")), "shared-1")
    carried_out(service, first)
    other = dataclasses.replace(apcs(service), id="djendjen", name="Djen Djen terminal")
    plan = arrive(
        service,
        interchange(message("1", "MAN-DZDJE-0602"), reference="DJ1"),
        "shared-1",
        partner=other,
    )
    assert plan.outcome == "routed", plan.detail
    assert [k for k, _ in kinds(plan)] == ["document", "ack"]
    assert plan.inbound_id.startswith("shared-1~djendjen~")
    ids = {p.message_id for p in first.publishes} | {p.message_id for p in plan.publishes}
    assert len(ids) == len(first.publishes) + len(plan.publishes)  # no id of apcs's reused
    answers = [p for p in plan.publishes if p.kind == "ack"]
    assert [p.correlation_id for p in answers] == ["shared-1"]  # the partner's own id
    carried_out(service, plan)
    # apcs's own redelivery is still one, and so is the other partner's.
    assert arrive(service, interchange(message("1", "MAN-DZALG-0601")), "shared-1").outcome == (
        "redelivery"
    )
    again = arrive(
        service,
        interchange(message("1", "MAN-DZDJE-0602"), reference="DJ1"),
        "shared-1",
        partner=other,
    )
    assert again.outcome == "redelivery" and again.inbound_id == plan.inbound_id


def test_a_message_id_reused_for_other_content_is_decided_as_a_new_message(
    service: DecisionService,
) -> None:
    """The same partner, the same message id, another manifest: not a redelivery of the first
    (which would be acknowledged with nothing routed): routed and answered on its own."""
    carried_out(service, arrive(service, interchange(message("1", "MAN-DZORN-0701")), "m-1"))
    plan = arrive(service, interchange(message("1", "MAN-DZORN-0702"), reference="R2"), "m-1")
    assert plan.outcome == "routed", plan.detail
    assert [k for k, _ in kinds(plan)] == ["document", "ack"]
    assert plan.inbound_id != "m-1"


def test_a_replay_whose_id_was_taken_is_found_under_its_own(service: DecisionService) -> None:
    """An operator's replay is read under the id the gateway decided it by (``edigw dlq
    replay`` observes it so): its ``<id>~replayN``, or the id of its own it got when another
    message took that one first; nothing while it has not arrived, never the other's."""
    journal = service.journal
    sent = interchange(message("1", "MAN-DZAAE-0801"))
    # Nothing arrived yet: no id of its own to read under.
    assert decided_as(journal, "apcs", "m-9~replay1", sent) is None
    # Another message took the replay's id first (another manifest, the same partner).
    taken = arrive(
        service, interchange(message("1", "MAN-DZAAE-0802"), reference="T1"), "m-9~replay1"
    )
    carried_out(service, taken)
    assert taken.inbound_id == "m-9~replay1"
    assert decided_as(journal, "apcs", "m-9~replay1", sent) is None  # the taker's, not ours
    replay = arrive(service, sent, "m-9~replay1")
    carried_out(service, replay)
    assert replay.outcome == "routed" and replay.inbound_id != "m-9~replay1"
    assert decided_as(journal, "apcs", "m-9~replay1", sent) == replay.inbound_id
    # A message whose id was free is read under it.
    free = interchange(message("1", "MAN-DZAAE-0803"), reference="F1")
    carried_out(service, arrive(service, free, "m-10~replay1"))
    assert decided_as(journal, "apcs", "m-10~replay1", free) == "m-10~replay1"


def test_a_message_whose_every_readable_id_was_taken_still_gets_one(
    service: DecisionService,
) -> None:
    """Another partner that learnt a message's id and content first can take its id and the
    ids of its own the gateway would give it next, by sending messages under those ids; the
    last id the gateway tries is longer than any AMQP message id, so nobody can take it."""
    from gateway.service import plan as plans

    sent = interchange(message("1", "MAN-DZSKI-0901"))
    other = dataclasses.replace(apcs(service), id="djendjen", name="Djen Djen terminal")
    _, candidates = plans._candidates("apcs", "v-1", hashlib.sha256(sent).hexdigest())
    for n, taken in enumerate(candidates[:-1]):
        body = interchange(message("1", f"MAN-DZDJE-09{n:02d}"), reference=f"X{n}")
        carried_out(service, arrive(service, body, taken, partner=other))
    plan = arrive(service, sent, "v-1")
    assert plan.outcome == "routed", plan.detail
    assert plan.inbound_id == candidates[-1] and len(plan.inbound_id) > plans.AMQP_ID_BYTES
    assert decided_as(service.journal, "apcs", "v-1", sent) == plan.inbound_id
