"""An interchange is translated one message at a time (issue #8), with the old verdicts.

Each document's XML goes to ``sign`` as soon as it is validated, before the next message
is read; what can only be known at the end (a fatal error after the messages, a UNZ
count) still rejects the whole interchange and keeps nothing of what was signed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from gateway.config import Partner, Route
from gateway.domain.canonical_xml import from_xml
from gateway.security.signing import Signer, ensure_dev_keys
from gateway.service.pipeline import InboundPipeline, translate
from gateway.storage.journal import SqliteJournal
from tests.helpers import SAMPLES, xmlsec_verify

# Two CUSCAR messages (MAN-DZALG-2611-017 and -018) in one interchange.
TWO = (SAMPLES / "02-cuscar-ferry-two-messages.edi").read_bytes()


def _signed_in_order(data: bytes) -> tuple[list[str], list[bytes]]:
    numbers: list[str] = []

    def sign(element: etree._Element) -> bytes:
        numbers.append(from_xml(etree.tostring(element)).header.business_reference)
        return etree.tostring(element)

    t = translate(data, sign=sign)
    assert t.elements == []
    return numbers, t.signed


def test_each_document_is_signed_as_its_message_is_read() -> None:
    numbers, signed = _signed_in_order(TWO)
    assert len(numbers) == 2 and numbers[0] != numbers[1]
    assert [from_xml(s).header.business_reference for s in signed] == numbers
    # Without sign, the validated trees are kept as before (edigw translate).
    t = translate(TWO)
    assert len(t.elements) == 2 and t.signed == []


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        (lambda d: d.replace(b"UNZ+", b"FTX+AAA'\nUNZ+"), "EDIFACT_SYNTAX"),  # fatal, at the end
        (lambda d: d.replace(b"UNZ+2+", b"UNZ+3+"), "EDIFACT_SYNTAX"),  # known at the end only
    ],
)
def test_an_error_after_the_messages_still_rejects_all(
    broken: Callable[[bytes], bytes], reason: str
) -> None:
    data = broken(TWO)
    assert data != TWO
    numbers, signed = _signed_in_order(data)
    assert len(numbers) == 2  # both were signed on the way ...
    t = translate(data, sign=lambda e: b"")
    assert t.rejection is not None and t.rejection.reason == reason
    assert signed == [] and t.documents == [] and t.heads == []  # ... and nothing is kept


def test_pipeline_routes_documents_signed_while_streaming(tmp_path: Path) -> None:
    signer = Signer.from_files(*ensure_dev_keys(tmp_path / "key.pem", tmp_path / "cert.pem"))
    pipeline = InboundPipeline(
        signer, [Route(destination="core")], "CUSTOMS", journal=SqliteJournal(":memory:")
    )
    apcs = Partner(
        id="apcs", name="APCS", role="port", formats=("edifact",), message_types=("CUSCAR",)
    )
    outcome = pipeline.process(TWO, apcs, "c-1", "in-1")
    assert outcome.rejection is None
    assert [r.destination for r in outcome.routed] == ["core", "core"]
    for r in outcome.routed:
        assert xmlsec_verify(r.signed_xml, tmp_path / "cert.pem", tmp_path).returncode == 0
    assert outcome.translation.signed == [] and outcome.translation.elements == []
