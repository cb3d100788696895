"""Standard EDIFACT inputs unlike our samples (tests/data/unseen, see its README.md).

Each file was written by hand from ISO 9735 and the UN/EDIFACT directories, not taken from
a partner; each is read as the running gateway reads APCS's messages (``contrl_of``: the
CONTRL it sends, the documents it routes), and every CONTRL must parse with pydifact and
pass our own envelope checks and directory validator (``assert_valid_contrl``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from adapters.contrl import check_message
from adapters.edifact import Segment, parse
from gateway.config import Partner, load
from gateway.service.pipeline import Translation, contrl_of
from tests.helpers import assert_valid_contrl

DATA = Path(__file__).resolve().parent.parent / "data" / "unseen"
SETTINGS = load(env={})
APCS = SETTINGS.partners["apcs"]


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def answered(data: bytes, partner: Partner = APCS) -> tuple[Translation, list[Segment]]:
    """What the gateway makes of ``data`` from ``partner`` (APCS), and its CONTRL's segments
    (checked valid)."""
    translation, write = contrl_of(data, partner, SETTINGS.interchange_id)
    assert write is not None
    contrl = write("1")
    assert_valid_contrl(contrl)
    [ic] = parse(contrl)
    return translation, [s for m in ic.messages for s in m.segments]


def tagged(segments: list[Segment], tag: str) -> list[Segment]:
    return [s for s in segments if s.tag == tag]


# ---------------------------------------------------------------- control counts (UNT, UNE, UNZ)


@pytest.mark.parametrize(
    ("name", "documents"),
    [
        # UNT+000042, UNT+0042 and UNZ+02: numbers with leading zeros (a representation ISO 9735
        # discourages, not another value) were "UNT counts 000042 segments but message has 42"
        ("counts-leading-zeros.edi", ["MAN-UX-0001", "MAN-UX-0002"]),
        ("counts-group-leading-zeros.edi", ["MAN-UX-0003"]),
    ],
)
def test_a_count_with_leading_zeros_is_that_number(name: str, documents: list[str]) -> None:
    translation, contrl = answered(read(name))
    assert translation.rejection is None and not translation.rejected_messages
    assert [d.header.business_reference for d in translation.documents] == documents
    assert [s.get(3) for s in tagged(contrl, "UCI")] == ["7"]
    assert {s.get(2) for s in tagged(contrl, "UCM")} == {"7"}
    assert len(tagged(contrl, "UCM")) == len(documents)


@pytest.mark.parametrize(
    ("name", "tag", "code", "s011", "words"),
    [
        # each: one message's trailer is wrong, the next message is fine and still routed
        ("counts-unt-not-numeric.edi", "UCM", "37", "2", "control count '4X' is not a number"),
        ("counts-unt-empty.edi", "UCM", "13", "2", "UNT has no control count"),
        ("counts-unt-no-reference.edi", "UCM", "13", "3", "UNT has no reference"),
    ],
)
def test_a_message_trailer_missing_or_not_numeric_says_so(
    name: str, tag: str, code: str, s011: str, words: str
) -> None:
    """ISO 9735-5 code 13 (missing) and 37 (invalid type of characters), not 29 ("control
    count does not match") or 28 ("references do not match") for what is not a count or
    not there."""
    translation, contrl = answered(read(name))
    first, second = tagged(contrl, tag)
    assert (first.get(2), first.get(3), first.get(4), first.get(5)) == ("4", code, "UNT", s011)
    assert second.get(2) == "7"
    [refused] = translation.rejected_messages
    assert refused.syntax and refused.head.reference == "1"
    assert words in refused.rejection.sentence
    assert len(translation.documents) == 1


@pytest.mark.parametrize(
    ("name", "tag", "expected", "words"),
    [
        ("counts-unz-not-numeric.edi", "UCI", ("4", "37", "UNZ"), "UNZ's control count 'I'"),
        ("counts-une-empty.edi", "UCF", ("4", "13", "UNE"), "UNE has no control count"),
    ],
)
def test_an_envelope_trailer_missing_or_not_numeric_says_so(
    name: str, tag: str, expected: tuple[str, str, str], words: str
) -> None:
    """UCI and UCF: action (0083), the error (0085) and the tag it is in."""
    translation, contrl = answered(read(name))
    assert [s.get(3) for s in tagged(contrl, "UCI")] == ["4"]
    [level] = tagged(contrl, tag)
    assert (level.get(3), level.get(4), level.get(5)) == expected
    assert translation.rejection is not None and not translation.documents
    assert words in translation.rejection.sentence


# ---------------------------------------------------------------- the partner's routing in UNB


def unb_party(data: bytes, element: int) -> tuple[str, ...]:
    """UNB S002 (``element`` 1) or S003 (2) of an answer, as its components."""
    [ic] = parse(data)
    assert ic.header is not None
    return ic.header.elements[element]


@pytest.mark.parametrize(
    ("name", "sender", "recipient", "answer_to"),
    [
        # syntax 3: S002 0008 "address for reverse routing", S003 0014 "routing address"
        (
            "route-v3-reverse-routing.edi",
            ("APCS", "ZZZ", "DESK7"),
            ("CUSTOMS", "ZZZ", "MANIFESTS"),
            ("APCS", "ZZZ", "DESK7"),
        ),
        # syntax 4: S002 0008/0042 internal identification and sub-identification, to be
        # "included by the recipient in response interchanges" (S003 0014/0046)
        (
            "route-v4-internal-ids.edi",
            ("APCS", "ZZZ", "EDI-HUB", "MANIFEST-DESK"),
            ("CUSTOMS", "ZZZ", "CUSCAR-IN", "QUAY"),
            ("APCS", "ZZZ", "EDI-HUB", "MANIFEST-DESK"),
        ),
        (
            "route-v4-sub-id-only.edi",
            ("APCS", "ZZZ", "", "MANIFEST-DESK"),
            ("CUSTOMS", "ZZZ"),
            ("APCS", "ZZZ", "", "MANIFEST-DESK"),
        ),
    ],
)
def test_the_contrl_echoes_the_whole_unb_parties_and_routes_back(
    name: str,
    sender: tuple[str, ...],
    recipient: tuple[str, ...],
    answer_to: tuple[str, ...],
) -> None:
    """The UCI echoes S002 and S003 whole (they were cut after the qualifier), and the CONTRL
    goes to the partner's internal address: a hub that routes on it lost our answers."""
    _, write = contrl_of(read(name), APCS, SETTINGS.interchange_id)
    assert write is not None
    contrl = write("1")
    assert_valid_contrl(contrl)
    [ic] = parse(contrl)
    [uci] = [s for m in ic.messages for s in m.segments if s.tag == "UCI"]
    assert (uci.elements[1], uci.elements[2]) == (sender, recipient)
    assert unb_party(contrl, 2) == answer_to


@pytest.mark.parametrize(
    ("old", "new", "s011"),
    [
        # syntax 3: 0008 is an..14; its first 14 characters were the refusal's routing address
        (b"APCS:ZZZ:DESK7+", b"APCS:ZZZ:DESK7-OF-PIER-12+", "3:3"),
        # syntax 4: 0008 is an..35; the sub-identification after it goes with it
        (b"UNOC:3+APCS:ZZZ:DESK7+", b"UNOC:4+APCS:ZZZ:" + b"H" * 36 + b":SUB+", "3:3"),
    ],
)
def test_a_routing_address_too_long_is_refused_and_not_cut_to_route_the_answer(
    old: bytes, new: bytes, s011: str
) -> None:
    """A routing address longer than its data element is refused (39), and the refusal goes
    to the partner's id and qualifier alone: cut to fit, it was another address (another
    desk's, or another party's behind the partner's hub), in the UNB and the UCI."""
    data = read("route-v3-reverse-routing.edi").replace(old, new)
    if b"UNOC:4" in data:
        data = data.replace(b"+261129:0800+", b"+20261129:0800+")
    translation, write = contrl_of(data, APCS, SETTINGS.interchange_id)
    assert write is not None
    contrl = write("1")
    assert_valid_contrl(contrl)
    assert translation.documents == []
    [ic] = parse(contrl)
    [uci] = [s for m in ic.messages for s in m.segments if s.tag == "UCI"]
    assert (uci.get(3), uci.get(4), ":".join(uci.elements[6])) == ("4", "39", s011)
    assert uci.elements[1] == ("APCS", "ZZZ")
    assert unb_party(contrl, 2) == ("APCS", "ZZZ")


def test_an_aperak_routes_back_to_the_partners_reverse_routing_address(tmp_path: Path) -> None:
    from gateway.security.signing import Signer, ensure_dev_keys
    from gateway.service.pipeline import InboundPipeline
    from gateway.storage.journal import SqliteJournal
    from tests.helpers import assert_valid_aperak

    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    ensure_dev_keys(key, cert)
    pipeline = InboundPipeline(
        Signer.from_files(key, cert), SETTINGS.routes, "CUSTOMS", journal=SqliteJournal(":memory:")
    )
    # Its container's check digit is wrong: acknowledged by the CONTRL, refused by an APERAK.
    outcome = pipeline.process(read("route-v3-reverse-routing.edi"), APCS, "c1", "in-route-3")
    assert [kind for kind, _ in outcome.acknowledgements] == ["CONTRL", "APERAK"]
    for _, answer in outcome.acknowledgements:
        assert unb_party(answer, 2) == ("APCS", "ZZZ", "DESK7")
    assert_valid_aperak(outcome.acknowledgements[1][1])


def test_a_cusres_routes_back_to_the_partners_internal_ids(tmp_path: Path) -> None:
    """The routing is kept with the document's origin (``interchange_sender_route``), so that
    customs' answer, hours later, goes where the partner asked."""
    import datetime as dt

    from gateway.domain.model import CustomsResponse, Header
    from gateway.messaging.naming import Names
    from gateway.security.signing import Signer, ensure_dev_keys
    from gateway.service import responses
    from gateway.service.plan import Delivery, inbound_id_of
    from gateway.storage.journal import SqliteJournal
    from tests.decisions import decision_service
    from tests.helpers import assert_valid_cusres

    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    ensure_dev_keys(key, cert)
    names = Names("t.")
    queue = names.inbound("apcs")
    journal = SqliteJournal(":memory:")
    service = decision_service(
        SETTINGS, journal, Signer.from_files(key, cert), tmp_path / "spool", names, queue
    )
    delivery = Delivery(read("route-v4-internal-ids.edi"), "in-route-4", None, {}, queue, "", False)
    inbound = inbound_id_of(APCS.id, delivery)
    early = service.receive(APCS, queue, delivery, inbound, inbound)
    plan = service.decide(APCS, queue, delivery, inbound, inbound, lambda: early)
    assert plan.outcome == "routed"
    with journal.unit_of_work():
        journal.complete(plan.inbound_id, plan.outcome, plan.detail, plan.events)
    [routed] = plan.decision.routed
    origin = journal.origin(routed.document.header.message_id)
    assert origin is not None
    response = CustomsResponse(
        header=Header.new(
            sender="customs", document_type="CustomsResponse", business_reference="MAN-UX-0102"
        ),
        registration_number="26DZALG0000101",
        decision="accepted",
        original_message_id=routed.document.header.message_id,
        original_reference="MAN-UX-0102",
        issued_at=dt.datetime(2026, 11, 30, 9, 15, tzinfo=dt.UTC),
    )
    body, _, kind = responses.render(response, origin, our_id="CUSTOMS", reference="7")
    assert kind == "CUSRES"
    assert_valid_cusres(body)
    assert unb_party(body, 2) == ("APCS", "ZZZ", "EDI-HUB", "MANIFEST-DESK")
    journal.close()


# ---------------------------------------------------------------- other directories, all groups


@pytest.mark.parametrize(
    ("name", "kind", "number"),
    [
        # D.16A CUSCAR with every segment group and optional segment of the directory (header
        # LOC, QTY, SG1 RFF+DTM, SG2 NAD+DTM+CTA+COM, GEI, TSR, DIM, TMP+RNG, the bill's SG9
        # TDT with MEA and SG10, SG11 contacts, SG13 QTY+FTX, SG14's PAC, HAN, MOA, DGS, PCI,
        # LOC, TMD, SG15 GEI+DTM+DOC+PAC+MEA, SG16, SG17 AUT) and composites with all parts
        ("cuscar-d16a-all-groups.edi", "CargoManifest", "MAN-UX-0202"),
        # D.16A PAXLST with UNH S010 and an association code, all SG4 segments, SG5 with CPI and
        # QTY, SG6 baggage, SG7 onward TDT, a passenger and a crew member, CNT+42:1, AUT
        ("paxlst-d16a-all-groups.edi", "PassengerVehicleList", "PAX-UX-0201"),
    ],
)
def test_a_message_of_a_later_directory_with_all_its_groups_is_lossless(
    name: str, kind: str, number: str
) -> None:
    """Accepted, and every data element either mapped or carried verbatim (``tests.lossless``:
    a mapped value must change the document when it changes)."""
    from tests import lossless

    data = read(name)
    translation, contrl = answered(data)
    assert translation.rejection is None, translation.rejection
    [document] = translation.documents
    assert (type(document).__name__, document.header.business_reference) == (kind, number)
    assert [s.get(2) for s in tagged(contrl, "UCM")] == ["7"]
    [(ic, message, codec)] = list(lossless.messages_of(data))
    verdict = lossless.check(message, ic, codec)
    assert verdict.accepted and verdict.problems == []
    assert verdict.carried > 0 and verdict.mapped > 50


def test_crew_are_not_passengers_in_cnt_42() -> None:
    """CNT+42 is the total of passengers, CNT+41 of crew (UNCL 6069 as the WCO/IATA PAXLST
    guidelines use them): a list with one passenger and one crew member and CNT+42:1 was
    refused with "CNT+42 declares 1 passengers, the list has 2 travellers"."""
    translation, _ = answered(read("paxlst-d16a-all-groups.edi"))
    [plist] = translation.documents
    roles = [t.role for t in plist.travellers]  # type: ignore[attr-defined]
    assert roles == ["passenger", "crew"]
    assert plist.passenger_total == 1  # type: ignore[attr-defined]


def test_a_crew_lists_cnt_41_is_checked_against_its_crew() -> None:
    translation, contrl = answered(read("paxlst-crew-count.edi"))
    assert translation.documents == []
    [refused] = translation.rejected_messages
    assert not refused.syntax and refused.rejection.reason == "BUSINESS_RULES"
    [problem] = refused.rejection.problems
    assert problem.code == "PASSENGER_COUNT" and problem.segment == 21
    assert problem.sentence == "CNT+41 declares 3 crew, the list has 2 crew members"
    assert [s.get(2) for s in tagged(contrl, "UCM")] == ["7"]  # its syntax is fine: an APERAK


# ---------------------------------------------------------------- syntax 4 service segments


def test_a_syntax_4_ucm_echoes_the_whole_message_identifier() -> None:
    """UNH S009 in syntax 4 has 0110 (code list directory version) and 0113 (message type
    sub-function) after the association code; the CONTRL 4:1 UCM's S009 has them too."""
    translation, contrl = answered(read("syntax4-unh-all-parts.edi"))
    assert [d.header.business_reference for d in translation.documents] == ["MAN-UX-0301"]
    [ucm] = tagged(contrl, "UCM")
    assert ucm.elements[1] == ("CUSCAR", "D", "95B", "UN", "ITIGG", "D95B", "SUBF1")
    assert ucm.get(2) == "7"


def test_a_syntax_4_group_without_parties_is_answered_without_them() -> None:
    """UNG S006/S007 are conditional in syntax 4: the UCF said the group came from and went
    to "UNKNOWN", which the UNG never said; it now leaves them out, as the UNG did."""
    translation, contrl = answered(read("syntax4-group-without-parties.edi"))
    assert [d.header.business_reference for d in translation.documents] == ["MAN-UX-0302"]
    [ucf] = tagged(contrl, "UCF")
    assert (ucf.get(0), ucf.get(1), ucf.get(2), ucf.get(3)) == ("G1", "", "", "7")


# ---------------------------------------------------------------- several interchanges, one input


def test_no_interchange_is_acknowledged_when_the_input_is_refused_whole() -> None:
    """Two interchanges in one file, the second's UNZ counting 2 messages for 1: the input is
    refused whole (nothing routed, one dead letter as it came), and the first interchange's
    UCI said 7 with its message's UCM 7, for a manifest customs never got."""
    translation, contrl = answered(read("two-interchanges-second-broken.edi"))
    assert translation.documents == [] and translation.rejection is not None
    assert "UNZ counts 2 messages" in translation.rejection.sentence
    first, second = tagged(contrl, "UCI")
    assert (first.get(0), first.get(3), first.get(4), first.get(5)) == (
        "UX000401",
        "4",
        "18",
        "UNB",
    )
    assert (second.get(0), second.get(3), second.get(4)) == ("UX000402", "4", "29")
    assert {s.get(2) for s in tagged(contrl, "UCM")} <= {"4"}


# ---------------------------------------------------------------- a test interchange (UNB 0035 1)


@pytest.fixture
def decisions(tmp_path: Path) -> Any:
    from gateway.messaging.naming import Names
    from gateway.security.signing import Signer, ensure_dev_keys
    from gateway.service.calls import CallPolicy
    from gateway.storage.journal import SqliteJournal
    from tests.decisions import decision_service

    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    ensure_dev_keys(key, cert)
    names = Names("t.")
    journal = SqliteJournal(":memory:")
    service = decision_service(
        SETTINGS,
        journal,
        Signer.from_files(key, cert),
        tmp_path / "spool",
        names,
        names.inbound("apcs"),
    )
    service.calls = CallPolicy.from_config(SETTINGS.config.calls)  # the call registry on
    yield service
    journal.close()


def arrive(service: Any, body: bytes, message_id: str) -> Any:
    """``body`` received and decided as the worker does, and carried out."""
    from gateway.service.plan import Delivery, inbound_id_of

    queue = service.names.inbound("apcs")
    delivery = Delivery(body, message_id, None, {}, queue, "", False)
    inbound = inbound_id_of(APCS.id, delivery)
    early = service.receive(APCS, queue, delivery, inbound, inbound)
    plan = service.decide(APCS, queue, delivery, inbound, inbound, lambda: early)
    with service.journal.unit_of_work():
        if plan.record:
            service.journal.complete(plan.inbound_id, plan.outcome, plan.detail, plan.events)
    return plan


def routed_documents(plan: Any) -> list[Any]:
    return [p for p in plan.publishes if p.kind == "document"]


def test_a_test_interchange_does_not_stand_for_the_real_one(decisions: Any) -> None:
    """A partner's test of a manifest (UNB 0035 1) was filed as version 1 of it: the real
    manifest, sent afterwards under its own interchange reference, was an "identical resend",
    not routed, while its CONTRL said accepted; customs had the test copy only."""
    test = read("test-indicator-cuscar.edi")
    first = arrive(decisions, test, "in-test")
    assert first.outcome == "routed" and len(routed_documents(first)) == 1
    [routed] = first.decision.routed
    assert routed.document.header.test is True
    real = test.replace(b"++++++1'", b"'").replace(b"UX000501", b"UX000511")
    second = arrive(decisions, real, "in-real")
    assert second.outcome == "routed"
    [routed] = second.decision.routed
    assert routed.document.header.test is False
    assert routed.document.header.document_version == 1
    assert len(routed_documents(second)) == 1
    # The test, sent again, is a resend of the test only.
    again = arrive(decisions, test.replace(b"UX000501", b"UX000521"), "in-test-again")
    assert routed_documents(again) == []


def test_the_answers_to_a_test_interchange_are_test_interchanges(decisions: Any) -> None:
    """UNB 0035 1 in, UNB 0035 1 on the CONTRL and the APERAK back: a partner's test system,
    not its production, takes them. A real interchange's answers carry no test indicator."""
    from tests.helpers import assert_valid_aperak

    sample = open_sample("05-cuscar-rejected-container-check-digit.edi")
    test = sample.replace(b"+AP000005'", b"+AP000005++++++1'", 1)
    assert test != sample
    for body, message_id, indicator in ((test, "in-t05", "1"), (sample, "in-r05", "")):
        plan = arrive(decisions, body, message_id)
        answers = {p.type: p.body for p in plan.publishes if p.kind == "ack"}
        assert set(answers) == {"CONTRL", "APERAK"}, plan.detail
        assert_valid_contrl(answers["CONTRL"])
        assert_valid_aperak(answers["APERAK"])
        for answer in answers.values():
            [ic] = parse(answer)
            assert ic.test_indicator == indicator


def test_a_test_call_document_is_routed_but_not_filed_in_the_call_registry(
    decisions: Any,
) -> None:
    """A test arrival notification (CUSREP) announced a real call: the registry is the
    gateway's record of which ships are in port, a test must not change it."""
    test = read("test-indicator-cusrep.edi")
    plan = arrive(decisions, test, "in-call-test")
    [document] = routed_documents(plan)
    assert not any(h.startswith("x-edigw-call") for h in document.headers)
    real = arrive(
        decisions, test.replace(b"++++++1'", b"'").replace(b"UX000502", b"UX000512"), "in-call"
    )
    [document] = routed_documents(real)
    assert any(h.startswith("x-edigw-call") for h in document.headers)


def test_a_test_passenger_list_is_no_sailings_list() -> None:
    """A test PAXLST is routed (marked a test), but its travellers are no sailing's: the
    pre-clearance list customs works from is built from real lists only."""
    from gateway.service.translation import RoutedDocument
    from gateway.service.travellers_step import sailing_lists

    data = open_sample("04-paxlst-ferry-vehicles.edi").replace(
        b"+AP000004'", b"+AP000004++++++1'", 1
    )
    translation, _ = answered(data)
    [plist] = translation.documents
    assert plist.header.test is True

    class Desk:  # records what the travellers' desk is given
        def __init__(self) -> None:
            self.given: list[object] = []

        def passenger_list(self, document: object, inbound_id: str) -> list[object]:
            self.given.append(document)
            return []

    desk = Desk()
    routed = [RoutedDocument(plist, b"<signed/>", "core")]
    assert sailing_lists(desk, routed, "in-1", "apcs", SETTINGS.routes) == []  # type: ignore[arg-type]
    assert desk.given == []
    real, _ = answered(data.replace(b"++++++1'", b"'"))
    sailing_lists(
        desk, [RoutedDocument(real.documents[0], b"<s/>", "core")], "in-2", "apcs", SETTINGS.routes
    )  # type: ignore[arg-type]
    assert desk.given == [real.documents[0]]


def open_sample(name: str) -> bytes:
    return (DATA.parent.parent.parent / "samples" / "apcs" / name).read_bytes()


# ---------------------------------------------------------------- UNB sizes and constituents


@pytest.mark.parametrize(
    ("name", "code", "s011", "words"),
    [
        # 0020 is an..14: its first 14 characters, the CONTRL's echo, name another interchange
        ("unb-reference-too-long.edi", "39", "6:1", "has 16 characters, at most 14"),
        # S002 0004 is an..35: the answer went to the first 35 characters of the sender
        ("unb-sender-too-long.edi", "39", "3:1", "has 37 characters, at most 35"),
        # a 12th data element after 0035 (UNB has 11 in every syntax version)
        ("unb-too-many-elements.edi", "16", "13", "UNB has 12 data elements"),
        # S002 0042 (internal sub-identification) exists from syntax 4 only
        ("unb-v3-sub-id.edi", "16", "3:4", "which syntax version 3 does not define"),
    ],
)
def test_a_unb_part_the_contrl_echoes_must_fit_it(
    name: str, code: str, s011: str, words: str
) -> None:
    """These were acknowledged (UCI 7) with their values cut to fit the echo."""
    translation, contrl = answered(read(name))
    assert translation.documents == [] and translation.rejection is not None
    assert words in translation.rejection.sentence
    [uci] = tagged(contrl, "UCI")
    assert (uci.get(3), uci.get(4), uci.get(5)) == ("4", code, "UNB")
    assert ":".join(uci.elements[6]) == s011


def test_a_ung_reference_the_ucf_echoes_must_fit_it() -> None:
    """UNG 0048 is an..14: GROUP-0000000605 (16) was acknowledged as GROUP-00000006."""
    translation, contrl = answered(read("ung-reference-too-long.edi"))
    assert translation.documents == [] and translation.rejection is not None
    assert "has 16 characters, at most 14" in translation.rejection.sentence
    [ucf] = tagged(contrl, "UCF")
    assert (ucf.get(3), ucf.get(4), ucf.get(5), ":".join(ucf.elements[6])) == (
        "4",
        "39",
        "UNG",
        "6:1",
    )


@pytest.mark.parametrize("validation", ["reject", "warn", "off"])
def test_a_unh_reference_the_ucm_echoes_must_fit_it(validation: str) -> None:
    """UNH 0062 is an..14: with the partner's directory validation off or at warn, a
    16-character reference was accepted and acknowledged as its first 14 (a message the
    partner never sent). Refused now whatever the validation (code 39 at UNH position 2),
    the other message of the interchange accepted on its own."""
    data = open_sample("02-cuscar-ferry-two-messages.edi")
    data = data.replace(b"UNH+2+", b"UNH+REF0123456789AB+").replace(
        b"UNT+15+2'", b"UNT+15+REF0123456789AB'"
    )
    partner = dataclasses.replace(APCS, directory_validation=validation)
    translation, segments = answered(data, partner)
    assert [d.header.business_reference for d in translation.documents] == ["MAN-DZALG-2611-017"]
    [refused] = translation.rejected_messages
    # The envelope's finding (and, at reject, the directory validator's of the same element).
    assert {p.code for p in refused.rejection.problems if ", UNH," in p.where} == {"EDIFACT_39"}
    ucms = tagged(segments, "UCM")
    assert [(u.get(0), u.get(2)) for u in ucms] == [("1", "7"), ("REF0123456789A", "4")]
    assert (ucms[1].get(3), ucms[1].get(4), ":".join(ucms[1].elements[5])) == ("39", "UNH", "2")


@pytest.mark.parametrize("validation", ["reject", "warn", "off"])
def test_a_syntax_3_controlling_agency_the_ucm_cannot_echo_is_refused(validation: str) -> None:
    """UNH 0051 is an..2 up to syntax 3: 'UNX' was accepted whatever the validation and
    acknowledged as 'UN' (a message the partner never sent). Refused now (39 at UNH S009
    0051), the interchange's other message accepted on its own."""
    data = open_sample("02-cuscar-ferry-two-messages.edi").replace(
        b"UNH+2+CUSCAR:D:95B:UN'", b"UNH+2+CUSCAR:D:95B:UNX'"
    )
    partner = dataclasses.replace(APCS, directory_validation=validation)
    translation, segments = answered(data, partner)
    ucms = tagged(segments, "UCM")
    assert [d.header.business_reference for d in translation.documents] == ["MAN-DZALG-2611-017"]
    assert [(u.get(0), u.get(2)) for u in ucms] == [("1", "7"), ("2", "4")]
    assert (ucms[1].get(3), ucms[1].get(4), ":".join(ucms[1].elements[5])) == ("39", "UNH", "3:4")


def test_a_syntax_4_unh_may_hold_a_three_character_agency() -> None:
    """From syntax 4 0051 is an..3: the same UNH is sound there, and echoed whole."""
    [ic] = parse(b"UNB+UNOC:4+APCS+CUSTOMS+20261129:0800+1'UNH+1+CUSCAR:D:95B:UNX'UNT+2+1'UNZ+1+1'")
    assert check_message(ic.messages[0], syntax_version=4) == []
    assert [(e.code, e.component) for e in check_message(ic.messages[0])] == [("39", 3)]


# ---------------------------------------------------------------- each message on its own


def test_a_mixed_interchange_is_answered_message_by_message(tmp_path: Path) -> None:
    """Message 1 sound, 2 refused for its content (a container check digit), 3 for its
    directory (a letter in CNT's n..18): one CONTRL with a UCM per message (7, 7, 4 with its
    UCS), one APERAK naming message 2 alone, message 1 routed. The APERAK's position counts
    within message 2, UNH = 1, as the UCS does (it said 52: counted from the UNB)."""
    from adapters import aperak
    from gateway.security.signing import Signer, ensure_dev_keys
    from gateway.service.pipeline import InboundPipeline
    from gateway.storage.journal import SqliteJournal
    from tests.helpers import assert_valid_aperak

    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    ensure_dev_keys(key, cert)
    pipeline = InboundPipeline(
        Signer.from_files(key, cert), SETTINGS.routes, "CUSTOMS", journal=SqliteJournal(":memory:")
    )
    outcome = pipeline.process(read("mixed-good-content-directory.edi"), APCS, "c1", "in-mixed")
    assert [r.document.header.business_reference for r in outcome.routed] == ["MAN-UX-0701"]
    assert [kind for kind, _ in outcome.acknowledgements] == ["CONTRL", "APERAK"]
    contrl, answer = (ack for _, ack in outcome.acknowledgements)
    assert_valid_contrl(contrl)
    [ic] = parse(contrl)
    segments = [s for m in ic.messages for s in m.segments]
    assert [(s.get(0), s.get(2)) for s in tagged(segments, "UCM")] == [
        ("1", "7"),
        ("2", "7"),
        ("3", "4"),
    ]
    assert [s.get(0) for s in tagged(segments, "UCS")] == ["14"]  # CNT, UNH = 1
    assert_valid_aperak(answer)
    [report] = aperak.decode_all(answer)
    assert (report.message_reference, report.document_number) == ("2", "MAN-UX-0702")
    assert [(e.code, e.segment, e.tag) for e in report.errors] == [
        ("CONTAINER_CHECK_DIGIT", 9, "EQD")
    ]
    assert b"segment 9, EQD" in answer


# ---------------------------------------------------------------- service string advice (UNA)


@pytest.mark.parametrize(
    "name",
    [
        "una-decimal-comma.edi",  # UNA:+,? ' and 2400,5 / 1,2 / 23600,5
        "una-newline-terminator.edi",  # UNA:+.? <LF>: the line end is the segment terminator
        "una-crlf-and-trailing-blanks.edi",  # ' CR LF after every segment, blanks after UNZ
        "una-other-separators.edi",  # UNA|*.# ! : + and ' are plain characters there
    ],
)
def test_other_legal_service_characters_make_the_same_document(name: str) -> None:
    """Sample 01 written with other service characters is the same manifest (found fine:
    kept as regressions)."""
    from tests.lossless import same_document

    [expected] = answered(open_sample("01-cuscar-msc-algiers.edi"))[0].documents
    translation, contrl = answered(read(name))
    [document] = translation.documents
    assert same_document(expected, document)
    assert [s.get(2) for s in tagged(contrl, "UCM")] == ["7"]


def test_the_release_character_restores_every_service_character() -> None:
    translation, _ = answered(read("una-release-everything.edi"))
    [manifest] = translation.documents
    descriptions = [g.description for c in manifest.consignments for g in c.goods_items]  # type: ignore[attr-defined]
    assert "POWER SUPPLIES + CHARGERS : '12V' ?" in descriptions
