"""What a port partner receives on its outbound queue, through the real broker (issue #16).

One gateway (a worker thread) configured with our qualifier and a second id for apcs, and
apcs allowed to send INVOIC (a type no codec reads). The partner sends, in order: two
manifests, its CONTRL acknowledging our first answer, bare messages, an interchange for
someone else, and an INVOIC beside a manifest. On ``partner.apcs.out`` it finds:

* one CONTRL per interchange that gets one, each with its own control reference (1, 2, 3,
  4: never its own, never twice), from the id it addressed, with our qualifier and its own;
* nothing for its CONTRL (recorded on the message it acknowledges) and nothing for the
  bare messages (dead-lettered, MISSING_UNB);
* UCI 4 with error 7 for the interchange addressed to someone else (dead-lettered);
* UCM 4 with code 14 for the INVOIC (dead-lettered alone), no APERAK.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.edifact import Interchange, parse
from gateway.messaging import broker
from tests.e2e.test_faults_support import (
    cuscar,
    declare_topology,
    done_count,
    drain,
    events_of,
    names_of,
    submit,
    wait_until,
    worker_thread,
)
from tests.helpers import assert_valid_contrl

pytestmark = [pytest.mark.broker]

CONFIG = """
[gateway]
interchange_id_qualifier = "ZZZ"

[partners.apcs]
gateway_ids = ["CUSTOMS", "DZDOUANE"]
message_types = ["CUSCAR", "PAXLST", "CUSREP", "IFTDGN", "COARRI", "INVOIC"]
"""
INVOIC = b"UNH+2+INVOIC:D:96A:UN'BGM+380+INV-1+9'DTM+137:20261207:102'UNT+4+2'"


def segments(ic: Interchange, tag: str) -> list[tuple[tuple[str, ...], ...]]:
    return [s.elements for m in ic.messages for s in m.segments if s.tag == tag]


def test_what_a_partner_receives(gateway_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(CONFIG)
    gateway_env["EDIGW_CONFIG"] = str(config)
    names = names_of(gateway_env)
    declare_topology(gateway_env)
    first, second = cuscar(1), cuscar(2).replace(b"+CUSTOMS:ZZZ+", b"+DZDOUANE:ZZZ+", 1)
    elsewhere = cuscar(3).replace(b"+CUSTOMS:ZZZ+", b"+PORTAUTH:ZZZ+", 1)
    head, tail = cuscar(4).split(b"UNZ+1+")
    with_invoic = head + INVOIC + b"UNZ+2+" + tail
    bare = cuscar(5)[cuscar(5).index(b"UNH+") : cuscar(5).index(b"UNZ+")]
    with worker_thread(gateway_env):
        submit(gateway_env, [("env-1", first), ("env-2", second)])
        wait_until(lambda: done_count(gateway_env) >= 2, 30, "two manifests done")
        answers = {p.correlation_id: body for p, body in drain(gateway_env, names.outbound("apcs"))}
        [ours] = parse(answers["env-1"])
        their_contrl = (
            b"UNB+UNOC:3+APCS:ZZZ+CUSTOMS:ZZZ+261207:1000+PC0001'UNH+1+CONTRL:D:3:UN'"
            b"UCI+" + ours.control_reference.encode() + b"+CUSTOMS:ZZZ+APCS:ZZZ+7'UNT+3+1'"
            b"UNZ+1+PC0001'"
        )
        submit(
            gateway_env,
            [
                ("env-contrl", their_contrl),
                ("env-bare", bare),
                ("env-elsewhere", elsewhere),
                ("env-invoic", with_invoic),
            ],
        )
        wait_until(lambda: done_count(gateway_env) >= 6, 30, "the other four done")
        for props, body in drain(gateway_env, names.outbound("apcs")):
            answers[props.correlation_id] = body
        letters = sorted(
            (p.headers[broker.H_REASON], p.headers.get("x-edigw-message-reference", ""))
            for p, _ in drain(gateway_env, names.dead_letter(names.inbound("apcs")))
        )

    assert sorted(answers) == ["env-1", "env-2", "env-elsewhere", "env-invoic"]
    interchanges = {k: parse(v)[0] for k, v in answers.items()}
    for body in answers.values():
        assert_valid_contrl(body)
    # Our own references, one per interchange sent, none the partner's.
    references = [interchanges[k].control_reference for k in sorted(interchanges)]
    assert sorted(references, key=int) == ["1", "2", "3", "4"]
    assert all(
        ic.trailer is not None and ic.trailer.get(1) == ic.control_reference
        for ic in interchanges.values()
    )
    # From the id the partner addressed, with our qualifier, to its id with its own.
    envelopes = {
        k: (ic.sender, ic.sender_qualifier, ic.recipient, ic.recipient_qualifier)
        for k, ic in interchanges.items()
    }
    assert envelopes["env-1"] == ("CUSTOMS", "ZZZ", "APCS", "ZZZ")
    assert envelopes["env-2"] == ("DZDOUANE", "ZZZ", "APCS", "ZZZ")
    # Someone else's interchange: UCI 4, error 7 at UNB S003.
    [uci] = segments(interchanges["env-elsewhere"], "UCI")
    assert uci[3:] == (("4",), ("7",), ("UNB",), ("4", "1"))
    # The INVOIC refused in its UCM with code 14; the manifest beside it acknowledged.
    ucms = segments(interchanges["env-invoic"], "UCM")
    assert [u[1][0] for u in ucms] == ["CUSCAR", "INVOIC"]
    assert ucms[1][2:4] == (("4",), ("14",)) and ucms[0][2] == ("7",)
    # Dead letters: the bare messages, the interchange for someone else, the INVOIC alone.
    assert letters == [
        ("EDIFACT_SYNTAX", ""),
        ("MISSING_UNB", ""),
        ("UNSUPPORTED_MESSAGE_TYPE", "2"),
    ]
    # The partner's CONTRL: not answered, recorded on the message whose answer it acknowledges.
    assert "acknowledged" in events_of(gateway_env, "env-1")[-1:]
    assert events_of(gateway_env, "env-contrl").count("received") == 2


def test_an_interchange_in_another_partys_name_is_refused(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    """apcs configured with ``interchange_ids = ["APCS"]`` sends a manifest whose UNB says it
    is from TERMINAL2 (another EDI party): rejected whole (UCI 4, error 23 at UNB S002),
    dead-lettered with its reason, nothing at customs; its own manifest next is routed."""
    config = tmp_path / "gateway.toml"
    config.write_text('[partners.apcs]\ninterchange_ids = ["APCS"]\n')
    gateway_env["EDIGW_CONFIG"] = str(config)
    names = names_of(gateway_env)
    declare_topology(gateway_env)
    spoofed = cuscar(11).replace(b"+APCS:ZZZ+", b"+TERMINAL2:ZZZ+", 1)
    with worker_thread(gateway_env):
        submit(gateway_env, [("snd-spoofed", spoofed), ("snd-own", cuscar(12))])
        wait_until(lambda: done_count(gateway_env) >= 2, 30, "both decided")
        answers = {p.correlation_id: body for p, body in drain(gateway_env, names.outbound("apcs"))}
        letters = drain(gateway_env, names.dead_letter(names.inbound("apcs")))
        docs = drain(gateway_env, names.customs_core)
    for body in answers.values():
        assert_valid_contrl(body)
    [uci] = segments(parse(answers["snd-spoofed"])[0], "UCI")
    assert uci[3:] == (("4",), ("23",), ("UNB",), ("3", "1"))
    [(props, body)] = letters
    assert props.message_id == "snd-spoofed" and body == spoofed
    assert props.headers[broker.H_REASON] == "EDIFACT_SYNTAX"
    assert "TERMINAL2" in props.headers[broker.H_SENTENCE]
    assert [p.headers["x-edigw-inbound-id"] for p, _ in docs] == ["snd-own"]
