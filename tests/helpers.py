"""Small helpers shared by integration and end-to-end tests."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pika

from tests.corpus import CORPUS

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "apcs"
T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.1) -> T:
    """Poll until ``predicate`` returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def drain(url: str, queue: str) -> list[tuple[Any, bytes]]:
    """Take every message currently in ``queue`` (acknowledging them)."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        out = []
        while True:
            method, props, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return out
            out.append((props, body))
    finally:
        connection.close()


def xmlsec_verify(xml: bytes, cert: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    """Verify an enveloped signature with xmlsec1, an implementation independent of signxml."""
    path = tmp / "signed.xml"
    path.write_bytes(xml)
    return subprocess.run(
        ["xmlsec1", "--verify", "--trusted-pem", str(cert), str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )


def parseable_edifact() -> Iterator[tuple[Path, list[Any]]]:
    """(file, interchanges) of every EDIFACT file of the test data, samples and the corpus
    that parses (broken files of the corpus are other tests' concern)."""
    from adapters.edifact import parse

    dirs = [
        ROOT / "tests" / "data",
        ROOT / "samples",
        CORPUS / "edifact",
    ]
    for path in [p for d in dirs if d.is_dir() for p in sorted(d.rglob("*.edi"))]:
        try:
            interchanges = parse(path.read_bytes())
        except Exception:
            continue
        yield path, interchanges


def assert_valid_contrl(data: bytes) -> list[Any]:
    """``data`` (a CONTRL we wrote) parses with pydifact and passes our own envelope checks
    and directory validator (service_v3/v4 CONTRL, errors only); its interchanges."""
    import warnings

    from pydifact.segmentcollection import Interchange as PydifactInterchange

    from adapters.contrl import acknowledge
    from adapters.edifact import directory, parse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydifact warns it has no service-segment tables
        theirs = PydifactInterchange.from_str(data.decode("latin-1"))
    assert [s.tag for s in theirs.segments][:2] == ["UNH", "UCI"]

    def check(message: Any) -> list[Any]:
        return [
            directory.to_edifact_error(issue)
            for issue in directory.validate_message(message)
            if issue.severity == "error"
        ]

    report = acknowledge(data, message_checks=[check])
    assert report.accepted, [(e.code, e.where, e.sentence) for e in report.all_errors()]
    return parse(data)


def _assert_valid_answer(data: bytes, message_type: str) -> list[Any]:
    """``data`` (an APERAK or CUSRES we wrote) parses with pydifact, passes our own envelope
    checks and our directory validator with no finding at all (errors or warnings)."""
    import warnings

    from pydifact.segmentcollection import Interchange as PydifactInterchange

    from adapters.contrl import acknowledge
    from adapters.edifact import CharsetPolicy, directory, parse
    from adapters.edifact.syntax import CHARSETS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydifact warns it has no service-segment tables
        theirs = PydifactInterchange.from_str(data.decode(CHARSETS[_syntax_id_of(data)]))
        messages = list(theirs.get_messages())
    assert messages and {m.type for m in messages} == {message_type}
    findings: list[Any] = []

    def check(message: Any) -> list[Any]:
        issues = directory.validate_message(message)
        findings.extend(issues)
        return [directory.to_edifact_error(i) for i in issues if i.severity == "error"]

    # Our own output must fit the character set it declares (UNOA: level A only). Not for
    # the 8-bit sets: the reader takes Latin-1 bytes that happen to be UTF-8 for UTF-8.
    strict = _syntax_id_of(data) in ("UNOA", "UNOB")
    policy = CharsetPolicy.REJECT if strict else CharsetPolicy.ACCEPT
    report = acknowledge(data, message_checks=[check], charset_policy=policy)
    assert report.accepted, [(e.code, e.where, e.sentence) for e in report.all_errors()]
    assert findings == [], [(i.severity, i.code, i.segment_number, i.tag) for i in findings]
    interchanges = parse(data)
    assert [m.type for ic in interchanges for m in ic.messages] == [message_type] * len(messages)
    return interchanges


def _syntax_id_of(data: bytes) -> str:
    """UNB 0001 of an interchange we wrote (no UNA: the default separators)."""
    return data.split(b"+", 2)[1][:4].decode("ascii", "replace") if b"+" in data else ""


def assert_valid_aperak(data: bytes) -> list[Any]:
    """``data`` (an APERAK we wrote) parses with pydifact and passes our own checks (envelope,
    D.96A APERAK structure, elements and code lists); its interchanges."""
    return _assert_valid_answer(data, "APERAK")


def assert_valid_cusres(data: bytes) -> list[Any]:
    """``data`` (a CUSRES we wrote) parses with pydifact and passes our own checks (envelope,
    D.96B CUSRES structure, elements and code lists); its interchanges."""
    return _assert_valid_answer(data, "CUSRES")
