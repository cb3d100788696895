"""The streamed syntax report (issue #8) is the report ``acknowledge`` gives, input by input.

Every EDIFACT file of the real corpus, the test data and the samples, plus broken
multi-message interchanges made here, is acknowledged both ways with the directory
check plugged in as the gateway plugs it; the CONTRL bytes and the findings must match.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import pytest

from adapters import cuscar
from adapters.contrl import (
    MessageCheck,
    StreamingAcknowledgement,
    SyntaxReport,
    acknowledge,
    encode,
)
from adapters.edifact import EdifactError, Message, directory

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2024, 1, 2, 3, 4)


def _directory(message: Message) -> list[EdifactError]:
    message_type = "CUSCAR" if cuscar.is_cuscar(message) else None
    return [
        directory.to_edifact_error(i)
        for i in directory.validate_message(message, message_type=message_type)
        if i.severity == "error"
    ]


def _files(corpus: Path) -> list[Path]:
    dirs = [corpus, ROOT / "tests" / "data", ROOT / "samples"]
    return sorted(p for d in dirs for p in d.rglob("*.edi"))


def _message(ref: int, unt: int = 5) -> bytes:
    return (
        b"UNH+%d+CUSCAR:D:95B:UN'BGM+85+DOC%d+9'DTM+137:202403150830:203'"
        b"LOC+5+DZALG:139:6'UNT+%d+%d'" % (ref, ref, unt, ref)
    )


def _interchange(*messages: bytes, count: int | None = None, tail: bytes = b"") -> bytes:
    n = len(messages) if count is None else count
    return b"UNB+UNOA:3+SND+RCV+240101:1200+77'" + b"".join(messages) + tail + b"UNZ+%d+77'" % n


CRAFTED = {
    "fine": _interchange(_message(1), _message(2), _message(3)),
    "unt-count-last": _interchange(_message(1), _message(2), _message(3, unt=9)),
    "unt-count-first": _interchange(_message(1, unt=9), _message(2), _message(3)),
    "unz-count": _interchange(_message(1), _message(2), count=5),
    "duplicate-reference": _interchange(_message(1), _message(1), _message(2)),
    "fatal-after-messages": _interchange(_message(1), _message(2), tail=b"FTX+AAA'"),
    "no-unt-at-end": _interchange(_message(1), _message(2)).replace(b"UNT+5+2'", b""),
    "no-unz": _interchange(_message(1), _message(2))[:-9],
    "two-interchanges": _interchange(_message(1)) + _interchange(_message(1), count=2),
    "bare-messages": _message(1) + _message(2),
    "empty": b"",
    "only-una": b"UNA:+.? '",
    "no-terminator": _interchange(_message(1))[:-1],
}


def _same(streamed: SyntaxReport, whole: SyntaxReport) -> None:
    assert encode(streamed, now=NOW) == encode(whole, now=NOW)
    assert repr(streamed.all_errors()) == repr(whole.all_errors())
    assert repr(streamed.warnings) == repr(whole.warnings)
    assert streamed.accepted == whole.accepted


def _streamed(data: bytes, checks: Iterable[MessageCheck]) -> tuple[SyntaxReport, list[bool]]:
    s = StreamingAcknowledgement(data, message_checks=checks)
    clean = [ok for _, _, ok in s.messages()]
    return s.report(), clean


def test_every_real_file_is_acknowledged_the_same_streamed(corpus: Path) -> None:
    files = _files(corpus)
    assert len(files) > 50
    for path in files:
        data = path.read_bytes()
        streamed, clean = _streamed(data, [_directory])
        _same(streamed, acknowledge(data, message_checks=[_directory]))
        # Clean until the first message with an error, never again after it.
        assert clean == sorted(clean, reverse=True), path


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_broken_interchanges_are_acknowledged_the_same_streamed(name: str) -> None:
    data = CRAFTED[name]
    streamed, _ = _streamed(data, [_directory])
    _same(streamed, acknowledge(data, message_checks=[_directory]))


def test_clean_says_whether_decoding_is_still_of_use() -> None:
    _, clean = _streamed(CRAFTED["unt-count-first"], [])
    assert clean == [False, False, False]
    _, clean = _streamed(CRAFTED["unt-count-last"], [])
    assert clean == [True, True, False]
    report, clean = _streamed(CRAFTED["unz-count"], [])
    assert clean == [True, True]  # the UNZ count is known only at the end ...
    assert not report.accepted  # ... and still rejects


def test_a_check_that_raises_loses_to_a_later_fatal_error_as_in_acknowledge() -> None:
    def raising(message: Message) -> list[EdifactError]:
        if message.reference == "2":
            raise RuntimeError("check broke")
        return []

    for name in ("fatal-after-messages", "fine"):
        data = CRAFTED[name]
        streamed, clean = _streamed(data, [raising])
        _same(streamed, acknowledge(data, message_checks=[raising]))
        assert clean[1:] == [False] * (len(clean) - 1)
    assert "check broke" in repr(_streamed(CRAFTED["fine"], [raising])[0].all_errors())
