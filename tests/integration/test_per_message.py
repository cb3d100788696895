"""Each message of an interchange decided on its own, through the real broker (issue #15).

* A mixed interchange: message 1 reaches customs.core, message 2 is dead-lettered alone
  (its own envelope, its own reason), the CONTRL acknowledges the interchange and an
  APERAK names message 2. The dead letter, corrected, is accepted when it comes back with
  the same interchange reference.
* An original and its replacement in one interchange: both versions reach customs.
"""

from __future__ import annotations

import pytest
from lxml import etree

from adapters import aperak
from adapters.edifact import parse
from gateway.messaging import broker
from tests.e2e.test_faults_support import (
    declare_topology,
    done_count,
    drain,
    names_of,
    submit,
    wait_until,
    worker_thread,
)
from tests.edifact_builders import interchange, message

pytestmark = [pytest.mark.broker]
NS = "{urn:port-edi-gateway:customs:1}"


def header(xml: bytes, name: str) -> str | None:
    el = etree.fromstring(xml).find(f"{NS}Header/{NS}{name}")
    return None if el is None else el.text


def uci_and_ucms(contrl: bytes) -> tuple[str, list[tuple[str, str]]]:
    [ic] = parse(contrl)
    segments = [s for m in ic.messages for s in m.segments]
    uci = next(s for s in segments if s.tag == "UCI")
    return uci.get(3), [(s.get(0), s.get(2)) for s in segments if s.tag == "UCM"]


def test_mixed_interchange_and_an_amendment_pair(gateway_env: dict[str, str]) -> None:
    names = names_of(gateway_env)
    declare_topology(gateway_env)
    mixed = interchange(
        message("1", "MAN-DZALG-2612-001"),
        message("2", "MAN-DZALG-2612-002", container="MSCU1234565"),  # wrong check digit
        reference="PM01",
    )
    pair = interchange(
        message("1", "MAN-DZORN-2612-007", "9"),
        message("2", "MAN-DZORN-2612-007", "5").replace("LAPTOPS", "NOTEBOOKS"),
        reference="PM02",
    )
    with worker_thread(gateway_env):
        submit(gateway_env, [("pm-mixed", mixed), ("pm-pair", pair)])
        wait_until(lambda: done_count(gateway_env) >= 2, 30, "both interchanges done")
        [(letter_props, letter)] = drain(gateway_env, names.dead_letter(names.inbound("apcs")))
        # The operator corrects the refused message and sends it back, same UNB reference.
        corrected = letter.replace(b"MSCU1234565", b"MSCU1234566")
        submit(gateway_env, [("pm-corrected", corrected)])
        wait_until(lambda: done_count(gateway_env) >= 3, 30, "the corrected message done")
        docs = drain(gateway_env, names.customs_core)
        acks: dict[str, list[tuple[str, bytes]]] = {}
        for props, body in drain(gateway_env, names.outbound("apcs")):
            acks.setdefault(props.correlation_id, []).append((props.type, body))

    by_reference: dict[str, list[tuple[str | None, str | None]]] = {}
    for props, body in docs:
        reference = props.headers["x-edigw-business-reference"]
        by_reference.setdefault(reference, []).append(
            (header(body, "Function"), header(body, "DocumentVersion"))
        )
    # Message 1 of the mixed interchange reached customs, and later the corrected message 2.
    assert by_reference["MAN-DZALG-2612-001"] == [("original", "1")]
    assert by_reference["MAN-DZALG-2612-002"] == [("original", "1")]
    # The original and its replacement in one interchange: both versions, in order.
    assert by_reference["MAN-DZORN-2612-007"] == [("original", "1"), ("replace", "2")]

    # The dead letter holds message 2 alone, in a valid copy of its envelope.
    assert letter_props.headers[broker.H_REASON] == "BUSINESS_RULES"
    assert letter_props.headers["x-edigw-message-reference"] == "2"
    [ic] = parse(letter)
    assert [m.reference for m in ic.messages] == ["2"] and ic.control_reference == "PM01"
    assert letter.rstrip().endswith(b"UNZ+1+PM01'")

    # The mixed interchange's answer: CONTRL acknowledging both messages' syntax, and an
    # APERAK that names message 2 only.
    kinds = [kind for kind, _ in acks["pm-mixed"]]
    assert kinds == ["CONTRL", "APERAK"]
    assert uci_and_ucms(acks["pm-mixed"][0][1]) == ("7", [("1", "7"), ("2", "7")])
    answer = aperak.decode(acks["pm-mixed"][1][1])
    assert (answer.message_reference, answer.document_number) == ("2", "MAN-DZALG-2612-002")
    assert [kind for kind, _ in acks["pm-pair"]] == ["CONTRL"]
    assert [kind for kind, _ in acks["pm-corrected"]] == ["CONTRL"]
