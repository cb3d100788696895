"""A large input is read twice (issue #8) and translated exactly as when read once.

``translate`` reads an input of ``ReadPolicy.thin_min_bytes`` or more thin first (each message's
segments go through the envelope checks and ``directory.MessageValidator`` as they are read,
and are dropped), then reads each clean message again: a large CUSCAR (``UNRECORDED_MIN_
SEGMENTS``) is decoded as it is read, the others are held whole and decoded as before. Here
both thresholds are set to 0 and to "never", and everything ``translate`` returns must be the
same: rejection and problems (positions included), CONTRL report, documents (XML), warnings,
heads, message types, positions. On every EDIFACT file of the corpus, ``tests/data`` and the
samples, on generated manifests with a fault placed early, in the middle or at the end of a
large message, and on hypothesis edits of a multi-message interchange.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

import gateway.service.pipeline as pipeline
from adapters import contrl
from adapters.common import DecodeContext
from adapters.edifact import EdifactError, iter_messages
from adapters.edifact.stream import MessageRereader
from bench.common import valid_cuscar
from gateway.service.pipeline import Translation, translate
from tests.corpus import CORPUS
from tests.helpers import SAMPLES

REPO = Path(__file__).resolve().parents[2]
NEVER = 1 << 62
NOW = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)


@contextlib.contextmanager
def thresholds(thin: int, unrecorded: int) -> Iterator[None]:
    saved = pipeline.READ_POLICY
    pipeline.READ_POLICY = saved.replace(thin_min_bytes=thin, unrecorded_min_segments=unrecorded)
    try:
        yield
    finally:
        pipeline.READ_POLICY = saved


_TIMES = re.compile(
    rb"<CreatedAt>[^<]*</CreatedAt>|created_at=datetime\.datetime\([^)]*\)|"
    rb"DTM\+137:[0-9]+|UNB\+([^+']*\+){3}[0-9:]+"
)


def outcome(t: Translation) -> list[bytes]:
    """All that ``t`` says, the creation times left out (the rest is derived from the input)."""
    report = t.syntax_report
    parts = [
        repr(t.rejection).encode(),
        repr(t.warnings).encode(),
        repr((t.message_types, t.heads, t.format, t.positions)).encode(),
        *[etree.tostring(e, method="c14n") for e in t.elements],
        repr(t.documents).encode(),
        b"" if report is None else contrl.encode(report, now=NOW),
        b"" if report is None else repr((report.accepted, report.all_errors())).encode(),
    ]
    return [_TIMES.sub(b"-", part) for part in parts]


def _translate(data: bytes, directory_validation: str) -> Translation:
    context = DecodeContext(sender="apcs", correlation_id="corr")
    policy = pipeline.READ_POLICY.replace(directory_validation=directory_validation)
    return translate(data, context, inbound_id="in", policy=policy)


def same(data: bytes, directory_validation: str = "reject") -> Translation:
    """``translate`` read once and read twice (decoded as read, or held whole): all equal."""
    with thresholds(NEVER, pipeline.READ_POLICY.unrecorded_min_segments):
        once = _translate(data, directory_validation)
    expected = outcome(once)
    for unrecorded in (0, pipeline.READ_POLICY.unrecorded_min_segments, NEVER):
        with thresholds(0, unrecorded):
            twice = _translate(data, directory_validation)
        assert outcome(twice) == expected, unrecorded
    return once


def edifact_files() -> list[Path]:
    files = sorted((CORPUS / "edifact").glob("*.edi")) if (CORPUS / "edifact").is_dir() else []
    files += sorted((REPO / "tests" / "data").rglob("*.edi"))
    files += sorted(SAMPLES.rglob("*.edi"))
    return files


@pytest.mark.parametrize("path", edifact_files(), ids=lambda p: p.name)
def test_every_edifact_file(path: Path) -> None:
    same(path.read_bytes())


def test_every_edifact_file_under_each_directory_policy() -> None:
    for path in edifact_files()[:12]:
        for policy in ("warn", "off"):
            same(path.read_bytes(), policy)


MANIFEST = valid_cuscar(700)  # one message of ~10,000 segments


def _segments(data: bytes) -> list[bytes]:
    return [s + b"'" for s in data.split(b"'") if s.strip()]


def _at(data: bytes, where: float, edit: str) -> bytes:
    """``data`` with one ``edit`` at the segment ``where`` (0..1) of the way through."""
    segs = _segments(data)

    def pick(tag: bytes) -> int:
        found = [n for n, seg in enumerate(segs) if seg.lstrip().startswith(tag)]
        return found[min(int(where * len(found)), len(found) - 1)]

    if edit == "control":  # a character XML cannot carry: the adapter refuses the message
        i = pick(b"FTX")
        segs[i] = segs[i].replace(b"+", b"+\x07", 1)
    elif edit == "stray":  # a segment out of place: a directory finding
        segs.insert(pick(b"GID"), b"BGM+85+X+9'")
    elif edit == "drop":  # the count in UNT no longer matches
        del segs[pick(b"MEA")]
    elif edit == "container":  # a broken business rule (a check digit)
        i = pick(b"EQD")
        segs[i] = segs[i].replace(b"MSCU", b"MSCX", 1)
    elif edit == "cni":  # a consignment without its bill number: the adapter refuses it
        i = pick(b"CNI")
        segs[i], segs[i + 1] = b"CNI+'", b"RFF+ZZZ:1'"
    elif edit == "fatal":  # a segment outside any message, after the messages
        segs.insert(len(segs) - 1, b"FTX+AAA'")
    return b"".join(segs)


@pytest.mark.parametrize("where", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("edit", ["control", "stray", "drop", "container", "cni", "fatal"])
def test_a_large_manifest_with_a_fault(where: float, edit: str) -> None:
    data = _at(MANIFEST, where, edit)
    assert data != MANIFEST
    same(data)


def test_a_large_manifest_as_it_is_and_beside_small_ones() -> None:
    assert same(MANIFEST).rejection is None
    small = valid_cuscar(2, seed=7)
    head, _, _ = small.partition(b"UNH+")
    messages = [b"UNH+" + m for m in (MANIFEST.split(b"UNH+")[1], small.split(b"UNH+")[1])]
    interchange = head + b"".join(messages).replace(b"UNZ+1", b"UNZ+2")
    same(interchange)


SMALL = (SAMPLES / "02-cuscar-ferry-two-messages.edi").read_bytes()


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False))
def test_hypothesis_edits_of_an_interchange(rng: random.Random) -> None:
    segs = _segments(SMALL)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(segs))
        op = rng.choice(["drop", "duplicate", "swap", "value", "type"])
        if op == "drop":
            del segs[i]
        elif op == "duplicate":
            segs.insert(i, segs[i])
        elif op == "swap":
            j = rng.randrange(len(segs))
            segs[i], segs[j] = segs[j], segs[i]
        elif op == "value":
            segs[i] = segs[i].replace(b"+", b"+" + rng.choice([b"9", b"\x07", b"", b"ZZ"]), 1)
        else:
            segs[i] = segs[i].replace(b"CUSCAR", b"", 1)
    same(b"".join(segs))


@pytest.mark.parametrize("path", edifact_files()[:40], ids=lambda p: p.name)
def test_the_second_read_gives_each_message_as_the_first(path: Path) -> None:
    data = path.read_bytes()
    try:
        messages = [m.segments for _, m in iter_messages(data)]
    except EdifactError:
        return  # not read at all: never read a second time
    for step in (1, 2):  # every message, or every other one (the others read past)
        second = MessageRereader(data)
        for index in range(0, len(messages), step):
            assert list(second.segments(index)) == messages[index]


def test_the_second_read_reads_past_a_message_left_half_read() -> None:
    data = valid_cuscar(12, seed=3).replace(b"UNZ+1", b"UNZ+2")
    head, _, rest = data.partition(b"UNH+")
    body, _, tail = rest.rpartition(b"UNZ+")
    data = head + b"UNH+" + body + b"UNH+" + body.replace(b"UNH+1+", b"UNH+2+", 1)
    data += b"UNZ+" + tail
    messages = [m.segments for _, m in iter_messages(data)]
    assert len(messages) == 2 and len(messages[0]) > 100
    second = MessageRereader(data)
    first = second.segments(0)
    assert [next(first) for _ in range(5)] == messages[0][:5]
    assert list(second.segments(1)) == messages[1]
