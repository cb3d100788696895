"""A consolidation CUSCAR is valid in D.03B and D.99A as in D.24A (issue #16).

``tests/data/cuscar/consolidation_d03b.edi`` is hand-made: one consignment (CNI, the master
bill) with three RFF groups, the master bill and two house bills (``RFF+BH``), each with its
own parties (NAD), quantity (QTY) and goods (GID). In UN/EDIFACT CUSCAR those groups (SG11,
SG13, SG14) are groups of the reference group SG8; the packaged D.03B and D.99A tables had
them under the consignment (SG7), so the second RFF was "CNI missing" (13) and the message
was rejected, while the same message declared D.24A went through.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.edifact import parse
from adapters.edifact.directory import validate_message
from gateway.service.pipeline import translate

FILE = Path(__file__).resolve().parents[1] / "data" / "cuscar" / "consolidation_d03b.edi"
VERSIONS = ["D:03B", "D:99A", "D:24A"]


def declared(version: str) -> bytes:
    data = FILE.read_bytes()
    assert b"CUSCAR:D:03B:UN" in data
    return data.replace(b"CUSCAR:D:03B:UN", f"CUSCAR:{version}:UN".encode())


@pytest.mark.parametrize("version", VERSIONS)
def test_consolidation_is_valid_against_the_directory(version: str) -> None:
    (interchange,) = parse(declared(version))
    (message,) = interchange.messages
    tags = [s.tag for s in message.segments]
    assert tags.count("RFF") == 3 and tags.count("GID") == 3 and tags.count("CNI") == 1
    assert validate_message(message) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_consolidation_is_accepted(version: str) -> None:
    result = translate(declared(version))
    assert result.rejection is None, result.rejection
    assert result.message_types == ["CUSCAR"] and len(result.documents) == 1


def test_goods_after_a_house_bill_outside_its_group_are_still_reported() -> None:
    # The nesting is not a licence: a house bill's RFF group must still carry its goods
    # (SG14 is mandatory in SG8), so an RFF+BH with nothing after it before the next RFF is
    # reported where its group ends.
    data = declared("D:03B").replace(b"RFF+BH:HBL0001'\n", b"RFF+BH:HBL0001'\nRFF+BH:HBL0009'\n")
    data = data.replace(b"UNT+36+1", b"UNT+37+1")
    (interchange,) = parse(data)
    issues = validate_message(interchange.messages[0])
    assert [(i.severity, i.code, i.tag) for i in issues] == [("error", "13", "GID")]
