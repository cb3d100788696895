"""What a port partner receives, decided by the decision service (issue #16, items 4 to 6).

* every CONTRL and APERAK the gateway sends has its own interchange reference, from the
  partner's counter in the journal, the same again when a message is decided again;
* the answer's UNB keeps the partner's qualifier and carries ours from the configuration,
  from the gateway id the partner addressed;
* a partner's CONTRL is recorded, never answered; its APERAK or CUSRES gets no APERAK;
* a message no codec reads gets a CONTRL that refuses it (UCM 4, code 14) and a dead letter;
* bare messages get a dead letter and no CONTRL; a UNB addressed to someone else gets UCI 4,
  code 7.

Every CONTRL and APERAK of these plans passes the gateway's own validator and pydifact.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from adapters import aperak, contrl
from adapters.edifact import Interchange, parse
from gateway.config import load
from gateway.domain.canonical_xml import to_bytes, to_xml
from gateway.domain.model import CustomsResponse, Header
from gateway.messaging.naming import Names
from gateway.security.signing import Signer, ensure_dev_keys
from gateway.service import formats
from gateway.service.decision import DecisionService
from gateway.service.directory_checks import message_check
from gateway.service.plan import Delivery, Plan, Publish, inbound_id_of
from gateway.service.responses import ResponseHandler
from gateway.service.translation import Translation
from gateway.storage.journal import SqliteJournal
from gateway.storage.spool import content
from tests.decisions import decision_service
from tests.edifact_builders import VALID, interchange, message
from tests.helpers import assert_valid_aperak, assert_valid_contrl, assert_valid_cusres

NAMES = Names("t.")
QUEUE = NAMES.inbound("apcs")
# apcs may send INVOIC here, a type no codec reads: what a partner is told of it.
CONFIG = {
    "gateway": {"interchange_id_qualifier": "ZZZ"},
    "partners": {
        "apcs": {
            "gateway_ids": ["CUSTOMS", "DZDOUANE"],
            "message_types": ["CUSCAR", "PAXLST", "INVOIC"],
        }
    },
}
HEAD = VALID[: VALID.index("UNH+")]  # valid.edi's UNB: APCS:ZZZ to CUSTOMS:ZZZ, R0001


@pytest.fixture
def service(tmp_path: Path) -> Iterator[DecisionService]:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    ensure_dev_keys(key, cert)
    journal = SqliteJournal(":memory:")
    yield decision_service(
        load(CONFIG, env={}),
        journal,
        Signer.from_files(key, cert),
        tmp_path / "spool",
        NAMES,
        QUEUE,
    )
    journal.close()


def arrive(service: DecisionService, body: bytes, message_id: str, **kw: bool) -> Plan:
    d = Delivery(body, message_id, None, {}, QUEUE, "", kw.get("redelivered", False))
    partner = service.settings.partners["apcs"]
    inbound = inbound_id_of(partner.id, d)
    early = service.receive(partner, QUEUE, d, inbound, inbound)
    plan = service.decide(partner, QUEUE, d, inbound, inbound, lambda: early)
    for p in plan.publishes:
        if p.type == "CONTRL":
            assert_valid_contrl(content(p.body))
        elif p.type == "APERAK":
            assert_valid_aperak(content(p.body))
    return plan


def carried_out(service: DecisionService, plan: Plan) -> None:
    with service.journal.unit_of_work():
        if plan.record:
            service.journal.complete(plan.inbound_id, plan.outcome, plan.detail, plan.events)


def answers(plan: Plan) -> list[tuple[str | None, Interchange]]:
    return [(p.type, parse(content(p.body))[0]) for p in plan.publishes if p.kind == "ack"]


def letters(plan: Plan) -> list[Publish]:
    return [p for p in plan.publishes if p.kind == "dead-letter"]


def segments(ic: Interchange, tag: str) -> list[tuple[tuple[str, ...], ...]]:
    return [s.elements for m in ic.messages for s in m.segments if s.tag == tag]


def contrl_from_partner(answered: str, action: str, reference: str = "C0001") -> bytes:
    """A partner's CONTRL answering our interchange ``answered`` with UCI ``action``."""
    error = "+13+UNB" if action == "4" else ""
    return (
        f"{HEAD.replace('+R0001', '+' + reference)}UNH+1+CONTRL:D:3:UN'"
        f"UCI+{answered}+CUSTOMS:ZZZ+APCS:ZZZ+{action}{error}'UNT+3+1'UNZ+1+{reference}'"
    ).encode("latin-1")


INVOIC = "UNH+{ref}+INVOIC:D:96A:UN'BGM+380+INV-1+9'DTM+137:20261207:102'UNT+4+{ref}'"


def addressed_to(recipient: str, number: str, reference: str) -> bytes:
    """A one-manifest interchange from APCS:ZZZ to ``recipient``:ZZZ."""
    body = interchange(message("1", number), reference=reference)
    return body.replace(b"+CUSTOMS:ZZZ+", f"+{recipient}:ZZZ+".encode(), 1)


# --- 1. our own interchange references


def test_each_answer_has_its_own_reference_never_the_partners(service: DecisionService) -> None:
    mixed = interchange(
        message("1", "MAN-DZALG-0101"),
        message("2", "MAN-DZALG-0102", container="MSCU1234565"),  # a wrong check digit
        reference="P1",
    )
    first = arrive(service, mixed, "in-1")
    second = arrive(service, interchange(message("1", "MAN-DZALG-0103"), reference="P2"), "in-2")
    got = [
        (kind, ic.control_reference, ic.trailer.get(1) if ic.trailer else "")
        for kind, ic in answers(first) + answers(second)
    ]
    assert got == [("CONTRL", "1", "1"), ("APERAK", "2", "2"), ("CONTRL", "3", "3")]
    # The APERAK's own document number is its reference: every APERAK's is different.
    [(_, aperak_ic)] = [a for a in answers(first) if a[0] == "APERAK"]
    assert segments(aperak_ic, "BGM")[0][1] == ("2",)
    assert aperak.decode(content(first.publishes[-1].body)).message_reference == "2"
    assert service.journal.sent_interchange("apcs", "2") == (
        first.publishes[-1].message_id,
        first.inbound_id,
    )


def test_a_message_decided_again_keeps_its_references(service: DecisionService) -> None:
    body = interchange(message("1", "MAN-DZORN-0201"), reference="P3")
    arrive(service, interchange(message("1", "MAN-DZORN-0200"), reference="P0"), "in-0")
    before = arrive(service, body, "in-crash")  # decided, then the process died
    after = arrive(service, body, "in-crash", redelivered=True)
    assert [ic.control_reference for _, ic in answers(before)] == ["2"]
    assert (
        content(after.publishes[-1].body).split(b"'", 1)[1]
        == content(before.publishes[-1].body).split(b"'", 1)[1]
    )
    assert [ic.control_reference for _, ic in answers(after)] == ["2"]
    carried_out(service, after)
    assert arrive(service, body, "in-crash", redelivered=True).publishes == []


def test_an_identical_resend_gets_the_same_answer_under_a_new_reference(
    service: DecisionService,
) -> None:
    body = interchange(message("1", "MAN-DZBJA-0301"), reference="P4")
    first = arrive(service, body, "in-first")
    carried_out(service, first)
    resend = arrive(service, body, "in-resend")
    [(_, a)], [(_, b)] = answers(first), answers(resend)
    assert (a.control_reference, b.control_reference) == ("1", "2")
    assert b.trailer is not None and b.trailer.get(1) == "2"
    # The same answer otherwise: the same CONTRL message, segment for segment.
    assert [s.elements for s in a.messages[0].segments] == [
        s.elements for s in b.messages[0].segments
    ]


# --- 2. the answer's UNB


def test_the_answer_keeps_the_partners_qualifier_and_says_ours(service: DecisionService) -> None:
    plan = arrive(service, interchange(message("1", "MAN-DZSKI-0401"), reference="P5"), "in-q")
    [(_, ic)] = answers(plan)
    assert (ic.sender, ic.sender_qualifier) == ("CUSTOMS", "ZZZ")
    assert (ic.recipient, ic.recipient_qualifier) == ("APCS", "ZZZ")


def test_the_answer_comes_from_the_gateway_id_the_partner_addressed(
    service: DecisionService,
) -> None:
    body = addressed_to("DZDOUANE", "MAN-DZSKI-0402", "P6")
    plan = arrive(service, body, "in-dz")
    assert plan.outcome == "routed"
    [(_, ic)] = answers(plan)
    assert (ic.sender, ic.recipient) == ("DZDOUANE", "APCS")


# --- 4. acknowledgements are never acknowledged


def test_a_partners_contrl_is_recorded_on_what_it_acknowledges_and_not_answered(
    service: DecisionService,
) -> None:
    original = arrive(service, interchange(message("1", "MAN-DZALG-0501"), reference="P7"), "in-7")
    carried_out(service, original)
    [(_, ours)] = answers(original)
    plan = arrive(service, contrl_from_partner(ours.control_reference, "7"), "in-their-contrl")
    assert plan.publishes == []  # no CONTRL for a CONTRL, nothing to customs
    assert plan.outcome == "recorded" and "acknowledges interchange 1" in plan.detail
    carried_out(service, plan)
    [history] = [
        h for h in service.journal.track(original.inbound_id) if h.message_id == original.inbound_id
    ]
    assert any(
        e.status == "acknowledged" and "apcs's CONTRL 1 acknowledges interchange 1" in e.detail
        for e in history.events
    )


def test_a_partners_contrl_that_rejects_our_answer_is_dead_lettered_with_why(
    service: DecisionService,
) -> None:
    plan = arrive(service, contrl_from_partner("1", "4"), "in-rejecting-contrl")
    assert [p.kind for p in plan.publishes] == ["dead-letter"]
    [letter] = letters(plan)
    assert letter.headers["x-edigw-reason"] == "REJECTED_BY_PARTNER"
    assert (
        "rejects interchange 1 (UCI action 4, error 13 at UNB)"
        in letter.headers["x-edigw-sentence"]
    )
    assert content(letter.body) == contrl_from_partner("1", "4")


def test_a_broken_partner_contrl_is_dead_lettered_and_still_not_answered(
    service: DecisionService,
) -> None:
    broken = contrl_from_partner("1", "7").replace(b"UNT+3+1'", b"UNT+9+1'")
    plan = arrive(service, broken, "in-broken-contrl")
    assert [p.kind for p in plan.publishes] == ["dead-letter"]
    assert letters(plan)[0].headers["x-edigw-reason"] == "EDIFACT_SYNTAX"
    envelope_broken = contrl_from_partner("1", "7", "C9").replace(b"UNZ+1+C9'", b"UNZ+2+C9'")
    plan = arrive(service, envelope_broken, "in-broken-unz")
    assert [p.kind for p in plan.publishes] == ["dead-letter"]


def test_a_contrl_reusing_an_interchange_reference_is_refused_without_a_contrl(
    service: DecisionService,
) -> None:
    carried_out(service, arrive(service, contrl_from_partner("1", "7", "C5"), "in-c5"))
    again = contrl_from_partner("2", "7", "C5")  # the same reference, other content
    plan = arrive(service, again, "in-c5-again")
    assert [p.kind for p in plan.publishes] == ["dead-letter"]
    assert plan.detail.startswith("DUPLICATE_INTERCHANGE")


def test_a_partners_contrl_sent_twice_is_recorded_once_and_not_refused(
    service: DecisionService,
) -> None:
    body = contrl_from_partner("1", "7", "C6")
    carried_out(service, arrive(service, body, "in-c6"))
    plan = arrive(service, body, "in-c6-resent")
    assert plan.publishes == [] and plan.outcome == "duplicate"
    assert ("in-c6-resent", "duplicate", "identical resend of message in-c6") in plan.events


@pytest.mark.parametrize("kind", ["APERAK", "CUSRES"])
def test_a_partners_aperak_or_cusres_gets_no_aperak(service: DecisionService, kind: str) -> None:
    body = (f"{HEAD}UNH+1+{kind}:D:96A:UN'BGM+962+X1+9'UNT+3+1'UNZ+1+R0001'").encode("latin-1")
    plan = arrive(service, body, f"in-{kind}")
    assert [k for k, _ in answers(plan)] == ["CONTRL"]
    [(_, ic)] = answers(plan)
    assert [e[:3] for e in segments(ic, "UCM")] == [(("1",), (kind, "D", "96A", "UN"), ("4",))]
    assert letters(plan)[0].headers["x-edigw-reason"] == "MESSAGE_TYPE_NOT_ALLOWED"


# --- 5. a message type no codec reads


def test_an_invoic_is_refused_in_its_ucm_with_code_14_not_accepted_then_aperaked(
    service: DecisionService,
) -> None:
    body = interchange(INVOIC.format(ref="1"), message("2", "MAN-DZALG-0601"), reference="P8")
    plan = arrive(service, body, "in-invoic")
    assert [k for k, _ in answers(plan)] == ["CONTRL"]  # no APERAK
    [(_, ic)] = answers(plan)
    ucm = segments(ic, "UCM")
    assert ucm[0] == (("1",), ("INVOIC", "D", "96A", "UN"), ("4",), ("14",), ("UNH",), ("3", "1"))
    assert ucm[1][2] == ("7",)
    [letter] = letters(plan)
    assert letter.headers["x-edigw-reason"] == "UNSUPPORTED_MESSAGE_TYPE"
    assert (
        "of type INVOIC, is a type the gateway does not read" in letter.headers["x-edigw-sentence"]
    )
    assert [p.kind for p in plan.publishes].count("document") == 1  # the CUSCAR went on


# --- 6. the envelope


def test_bare_messages_are_dead_lettered_and_answered_by_nobody(service: DecisionService) -> None:
    bare = message("1", "MAN-DZALG-0701").encode("latin-1")
    plan = arrive(service, bare, "in-bare")
    assert [p.kind for p in plan.publishes] == ["dead-letter"]
    [letter] = letters(plan)
    assert letter.headers["x-edigw-reason"] == "MISSING_UNB"
    assert content(letter.body) == bare
    assert b"UNKNOWN" not in b"".join(content(p.body) for p in plan.publishes)


def test_an_interchange_for_someone_else_is_refused_with_error_7(service: DecisionService) -> None:
    body = addressed_to("PORTAUTH", "MAN-DZALG-0801", "P9")
    plan = arrive(service, body, "in-else")
    assert [p.kind for p in plan.publishes] == ["dead-letter", "ack"]
    [(_, ic)] = answers(plan)
    [uci] = segments(ic, "UCI")
    assert uci == (
        ("P9",),
        ("APCS", "ZZZ"),
        ("PORTAUTH", "ZZZ"),
        ("4",),
        ("7",),
        ("UNB",),
        ("4", "1"),
    )
    assert ic.sender == "CUSTOMS"  # not the id the partner wrongly addressed
    assert letters(plan)[0].headers["x-edigw-reason"] == "EDIFACT_SYNTAX"
    assert "not this gateway" in letters(plan)[0].headers["x-edigw-sentence"]


# --- 3. a CONTRL echoing anything is valid itself

_ANY = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from("+:'?* \r\n\x00"),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    sender=_ANY,
    qualifier=_ANY,
    recipient=_ANY,
    reference=_ANY,
    message_reference=_ANY,
    message_type=_ANY,
    association=_ANY,
    syntax=st.sampled_from(["UNOA:3", "UNOB:4", "UNOC:3", "UNOY:4", "UNOW:4", "XXXX:9", ""]),
)
# Found by this property run randomized: in a version 4 CONTRL without UNA, ``*`` repeats;
# echoed unreleased, the partner's id ``*`` emptied the UCI's mandatory S002.
@example(
    sender="*",
    qualifier="",
    recipient="",
    reference="",
    message_type="",
    message_reference="",
    association="",
    syntax="UNOB:4",
)
def test_property_a_contrl_answering_hostile_values_is_valid(
    sender: str,
    qualifier: str,
    recipient: str,
    reference: str,
    message_type: str,
    message_reference: str,
    association: str,
    syntax: str,
) -> None:
    """Whatever the partner wrote where the CONTRL echoes it (ids, qualifiers, references,
    the message type, an association code), empty or invalid, and whatever errors it gets
    (the recipient, error 7; the type, error 14), the CONTRL parses with pydifact and passes
    the gateway's own envelope checks and directory validator."""
    text = (
        f"UNB+{syntax}+{sender}:{qualifier}+{recipient}+240101:1200+{reference}'"
        f"UNH+{message_reference}+{message_type}:D:96A:UN:{association}'UNT+2+{message_reference}'"
        f"UNZ+1+{reference}'"
    )
    report = contrl.acknowledge(
        text.encode("utf-8"),
        partial=True,
        recipients=["CUSTOMS"],
        message_checks=[lambda m: [e for e in [formats.type_unsupported(m)] if e is not None]],
    )
    for receipt_only in (False, True):
        out = contrl.encode(
            report, our_id="CUSTOMS", our_qualifier="ZZZ", reference="42", receipt_only=receipt_only
        )
        (ic,) = assert_valid_contrl(out)
        assert ic.control_reference == "42" and (ic.sender, ic.sender_qualifier) == (
            "CUSTOMS",
            "ZZZ",
        )


def test_a_version_4_contrl_releases_the_partners_repetition_separator() -> None:
    """Without a UNA a version 4 reader takes ``*`` as the repetition separator, so a
    partner id ``*`` (or ``A*B``) comes back released, and reads back as sent."""
    for sender in ("*", "A*B"):
        text = (
            f"UNB+UNOC:4+{sender}+CUSTOMS+20240101:1200+R1'UNH+1+CUSCAR:D:96A:UN'UNT+2+1'UNZ+1+R1'"
        )
        out = contrl.encode(contrl.acknowledge(text.encode()), our_id="CUSTOMS", reference="7")
        assert sender.replace("*", "?*").encode() in out
        (ic,) = assert_valid_contrl(out)
        assert ic.recipient == sender
        [uci] = segments(ic, "UCI")
        assert uci[1] == (sender,)


# --- a CUSRES is an interchange of its own too


def test_a_cusres_takes_the_partners_next_reference_and_names_what_the_partner_knows(
    service: DecisionService,
) -> None:
    body = addressed_to("DZDOUANE", "MAN-DZALG-0901", "P10")
    routed = arrive(service, body, "in-cusres")
    carried_out(service, routed)
    [document] = [p for p in routed.publishes if p.kind == "document"]
    response = CustomsResponse(
        Header.new(sender="customs", document_type="CustomsResponse", business_reference="R1"),
        "DZ-2026-000042",
        "released",
        document.message_id,
        "MAN-DZALG-0901",
        channel="green",
    )
    d = Delivery(to_bytes(to_xml(response)), "resp-1", None, {}, "t.customs.responses", "", False)
    plan = ResponseHandler(service).decide("t.customs.responses", d)
    again = ResponseHandler(service).decide("t.customs.responses", d)  # decided again
    [out] = plan.publishes
    [ic] = assert_valid_cusres(content(out.body))
    [ic_again] = parse(content(again.publishes[0].body))
    assert out.type == "CUSRES" and ic_again.control_reference == ic.control_reference
    # The CONTRL of the manifest was 1; the CUSRES is 2, from the id the partner addressed.
    assert ic.control_reference == "2"
    assert (ic.sender, ic.sender_qualifier, ic.recipient, ic.recipient_qualifier) == (
        "DZDOUANE",
        "ZZZ",
        "APCS",
        "ZZZ",
    )
    references = [e[0] for e in segments(ic, "RFF")]
    assert ("INO", "P10") in references and ("ACW", "1") in references
    assert ("DM", "MAN-DZALG-0901") in references
    assert service.journal.sent_interchange("apcs", "2") == (out.message_id, "resp-1")


# --- 7. an association's code lists


def test_an_associations_codes_are_not_judged_by_the_un_lists() -> None:
    """BGM 1225 '99' is in no UN D.95B list: an error (a CONTRL rejects the message); in a
    message that names SMDG20 (UNH S009 0057), whose lists the gateway lacks, the code is
    reported as not checked, a warning, and the CONTRL accepts the message."""
    un = parse(b"UNH+1+CUSCAR:D:95B:UN'BGM+85+X+99'UNT+3+1'")[0].messages[0]
    smdg = parse(b"UNH+1+CUSCAR:D:95B:UN:SMDG20'BGM+85+X+99'UNT+3+1'")[0].messages[0]
    other_agency = parse(b"UNH+1+CUSCAR:D:95B:EN'BGM+85+X+99'UNT+3+1'")[0].messages[0]
    result = Translation()
    check = message_check("reject", result, None, "apcs")
    assert [(e.code, e.tag, e.s011()) for e in check(un)] == [("12", "BGM", (4, None))]
    assert list(check(smdg)) == [] and list(check(other_agency)) == []
    not_checked = [w for w in result.warnings if w.code == "EDIFACT_12"]
    assert [w.tag for w in not_checked] == ["BGM", "BGM"]
    assert "uses SMDG20's code lists (UNH S009), which the gateway does not have: not checked" in (
        not_checked[0].sentence
    )
    assert "uses EN's code lists" in not_checked[1].sentence


# --- the UNB sender: one of the partner's interchange_ids (issue #14's review)


def from_sender(sender: str, number: str, reference: str) -> bytes:
    """A one-manifest interchange from ``sender``:ZZZ to CUSTOMS:ZZZ."""
    body = interchange(message("1", number), reference=reference)
    return body.replace(b"+APCS:ZZZ+", f"+{sender}:ZZZ+".encode(), 1)


def test_a_unb_sender_that_is_none_of_the_partners_ids_is_refused(tmp_path: Path) -> None:
    """``interchange_ids`` was read and never checked: apcs could send interchanges in the
    name of any other EDI party. Now an interchange whose UNB sender is none of them is
    rejected whole (UCI 4, ISO 9735 error 23 at UNB S002, position 3), dead-lettered, nothing routed."""
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    ensure_dev_keys(key, cert)
    config = {**CONFIG, "partners": {"apcs": {**CONFIG["partners"]["apcs"]}}}
    config["partners"]["apcs"]["interchange_ids"] = ["APCS", "APCS-BACKUP"]
    journal = SqliteJournal(":memory:")
    service = decision_service(
        load(config, env={}), journal, Signer.from_files(key, cert), tmp_path / "sp", NAMES, QUEUE
    )
    try:
        assert arrive(service, from_sender("APCS", "MAN-DZALG-0901", "S1"), "in-s1").outcome == (
            "routed"
        )
        ok = arrive(service, from_sender("APCS-BACKUP", "MAN-DZALG-0902", "S2"), "in-s2")
        assert ok.outcome == "routed"
        for spoofed in ("TERMINAL2", "apcs", "APCS2", "\u0410PCS"):  # case, suffix, Cyrillic A
            plan = arrive(service, from_sender(spoofed, "MAN-DZALG-0903", "S3"), f"in-{spoofed}")
            assert plan.outcome == "rejected", spoofed
            assert [p.kind for p in plan.publishes] == ["dead-letter", "ack"]
            [(_, ic)] = answers(plan)
            [uci] = segments(ic, "UCI")
            assert uci[3:] == (("4",), ("23",), ("UNB",), ("3", "1")), uci  # S002: position 3
            assert "EDIFACT_23" in str(letters(plan)[0].headers["x-edigw-problems"])
    finally:
        journal.close()


def test_without_interchange_ids_any_unb_sender_is_taken(service: DecisionService) -> None:
    """An empty ``interchange_ids`` takes any sender (the queue says who the partner is)."""
    plan = arrive(service, from_sender("TERMINAL2", "MAN-DZALG-0904", "S4"), "in-s4")
    assert plan.outcome == "routed"
