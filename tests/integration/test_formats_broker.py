"""Formats per partner through the real broker (issue #14, finding 5), with the gateway's worker.

Commerce (a ministry, XML only) sends an EDIFACT CUSCAR, UTF-16 XML and EBCDIC XML; APCS (a
port, EDIFACT CUSCAR/PAXLST only) sends XML and an IFTMIN. Each is refused before it is
decoded, dead-lettered with its reason, and answered in the partner's own format: a negative
receipt that xmlsec1 verifies for Commerce, a rejecting CONTRL that pydifact reads for APCS.
Nothing reaches customs.core.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pika
import pytest
from lxml import etree

from gateway.service.receipts import receipt_from_xml
from tests.e2e.test_faults_support import (
    cleanup_topologies,  # noqa: F401  (autouse: deletes each test's queues)
    cuscar,
    declare_topology,
    drain,
    names_of,
    submit,
    wait_until,
    worker_thread,
)
from tests.helpers import xmlsec_verify

pytestmark = [pytest.mark.broker]
ROOT = Path(__file__).resolve().parents[2]
LICENCE = (ROOT / "samples" / "ministries" / "national-import-licence.xml").read_bytes()
UTF16 = LICENCE.replace(b'encoding="UTF-8"', b'encoding="UTF-16"').decode().encode("utf-16")
EBCDIC = LICENCE.replace(b'encoding="UTF-8"', b'encoding="IBM037"').decode().encode("cp037")
IFTMIN = (
    b"UNA:+.? 'UNB+UNOC:3+APCS:ZZZ+CUSTOMS:ZZZ+261129:0800+IF0001'"
    b"UNH+1+IFTMIN:D:96A:UN'BGM+610+T-1+9'UNT+3+1'UNZ+1+IF0001'"
)

Message = tuple[pika.BasicProperties, bytes]


def collect(env: dict[str, str], queue: str, n: int) -> Callable[[], list[Message] | None]:
    """A check for ``wait_until``: the messages of ``queue`` taken so far, once ``n`` are in."""
    taken: list[Message] = []

    def check() -> list[Message] | None:
        taken.extend(drain(env, queue))
        return taken if len(taken) >= n else None

    return check


def test_each_partner_is_refused_what_it_may_not_send_and_answered_in_its_own_format(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    env = gateway_env
    names = names_of(env)
    declare_topology(env)
    # Checked by the assertions below: the samples were made into what they claim to be.
    assert UTF16.startswith(b"\xff\xfe") and EBCDIC.startswith(b"\x4c\x6f\xa7\x94\x93")
    commerce = {"f-cuscar": cuscar(91_001), "f-utf16": UTF16, "f-ebcdic": EBCDIC}
    apcs = {"f-xml": LICENCE, "f-iftmin": IFTMIN}
    with worker_thread(env) as worker:
        submit(env, list(commerce.items()), partner="commerce")
        submit(env, list(apcs.items()), partner="apcs")
        receipts = wait_until(collect(env, names.outbound("commerce"), 3), 30, "3 receipts")
        contrls = wait_until(collect(env, names.outbound("apcs"), 2), 30, "2 CONTRLs")
        commerce_dlq = names.dead_letter(names.inbound("commerce"))
        apcs_dlq = names.dead_letter(names.inbound("apcs"))
        letters = wait_until(collect(env, commerce_dlq, 3), 30, "3 dead letters (commerce)")
        letters += wait_until(collect(env, apcs_dlq, 2), 30, "2 dead letters (apcs)")
        cert = worker.gw.settings.signing_cert
    assert drain(env, names.customs_core) == []

    reasons = {p.message_id: p.headers["x-edigw-reason"] for p, _ in letters}
    assert reasons == {
        "f-cuscar": "FORMAT_NOT_ALLOWED",
        "f-utf16": "XML_ENCODING_UNSUPPORTED",
        "f-ebcdic": "XML_ENCODING_UNSUPPORTED",
        "f-xml": "FORMAT_NOT_ALLOWED",
        "f-iftmin": "MESSAGE_TYPE_NOT_ALLOWED",
    }
    for props, body in letters:  # the partner's bytes, kept as they came, and the stage
        assert body == {**commerce, **apcs}[props.message_id]
        assert props.headers["x-edigw-stage"] == "format"

    # Commerce: a negative receipt for each, signed by the gateway (xmlsec1 verifies it).
    for props, body in receipts:
        assert props.type == "LpcoReceipt" and props.content_type == "application/xml"
        assert xmlsec_verify(body, cert, tmp_path).returncode == 0
        receipt = receipt_from_xml(etree.fromstring(body))
        assert receipt.outcome == "rejected"
        assert [r.code for r in receipt.reasons] == [reasons[props.correlation_id]]

    # APCS: a rejecting CONTRL for each, which pydifact reads.
    from pydifact.segmentcollection import Interchange as PydifactInterchange

    answered = {}
    for props, body in contrls:
        assert props.type == "CONTRL" and props.content_type == "application/edifact"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            segments = list(PydifactInterchange.from_str(body.decode()).segments)
        answered[props.correlation_id] = segments
    assert set(answered) == set(apcs)
    # The XML: the interchange rejected (4), no agreement (17).
    uci = next(s for s in answered["f-xml"] if s.tag == "UCI")
    assert uci.elements[3:5] == ["4", "17"]
    # The IFTMIN's own UCM says why: rejected (4), no agreement (17) at UNH.
    ucm = next(s for s in answered["f-iftmin"] if s.tag == "UCM")
    assert ucm.elements[1][0] == "IFTMIN" and ucm.elements[2:5] == ["4", "17", "UNH"]
