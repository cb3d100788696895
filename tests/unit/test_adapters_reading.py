"""Adapters own their reading (issue #15): the split engine, its read policy, the codec registry.

The gateway reads partner input only through public names of ``adapters``: the format and
message codecs of ``adapters.registry``, the streaming readers of ``adapters.edifact.stream``
and one ``ReadPolicy`` for every threshold and mode.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

import adapters.edifact.syntax as syntax
from adapters import cuscar, paxlst
from adapters.edifact import EdifactError, iter_interchange_segments, iter_messages, parse
from adapters.edifact.hotloop import available_lexers, use_lexer
from adapters.edifact.lexer import Lexer
from adapters.edifact.policy import DEFAULT, CharsetPolicy, ReadPolicy
from adapters.edifact.stream import MessageRereader, read_chunks
from adapters.registry import CODECS, AdapterDecoder, codec_for, decoder_for, sniff_format
from tests.helpers import SAMPLES

ROOT = Path(__file__).resolve().parents[2]
TWO = b"UNB+UNOA:3+A+B+240101:1200+7'UNH+1+CUSCAR:D:95B:UN'BGM+85+M1'UNT+3+1'" + (
    b"UNH+2+PAXLST:D:05B:UN'BGM+745+L1'UNT+3+2'UNH+3+IFTMIN:D:96A:UN'UNT+2+3'UNZ+3+7'"
)

# --- the policy ------------------------------------------------------------------------


def test_a_policy_is_frozen_and_replace_returns_another() -> None:
    strict = DEFAULT.replace(charset=CharsetPolicy.REJECT, thin_min_bytes=10)
    assert (strict.charset, strict.thin_min_bytes) == (CharsetPolicy.REJECT, 10)
    assert DEFAULT.charset is CharsetPolicy.ACCEPT and DEFAULT.thin_min_bytes == 1 << 16
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT.chunk_size = 1  # type: ignore[misc]
    assert strict == ReadPolicy(charset=CharsetPolicy.REJECT, thin_min_bytes=10)
    assert hash(strict) == hash(ReadPolicy(charset=CharsetPolicy.REJECT, thin_min_bytes=10))


@pytest.mark.parametrize(
    "changes",
    [
        {"directory_validation": "maybe"},
        {"chunk_size": 0},
        {"max_segment_bytes": -1},
        {"charset": "reject"},  # the enum, not its value
    ],
)
def test_a_policy_that_cannot_be_is_refused_when_made(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DEFAULT.replace(**changes)


def test_the_charset_of_the_policy_decides_and_the_old_keyword_still_works() -> None:
    data = b"UNB+UNOA:3+A+B+240101:1200+7'UNH+1+X:D:96A:UN'FTX+AAA+lower'UNT+3+1'UNZ+1+7'"
    assert parse(data)[0].warnings  # lenient: a warning, code 21
    for strict in (
        lambda: parse(data, policy=ReadPolicy(charset=CharsetPolicy.REJECT)),
        lambda: parse(data, charset_policy=CharsetPolicy.REJECT),
        lambda: list(iter_messages(data, policy=ReadPolicy(charset=CharsetPolicy.REJECT))),
    ):
        with pytest.raises(EdifactError) as refused:
            strict()
        assert refused.value.code == "21"


def test_the_segment_length_cap_comes_from_the_policy() -> None:
    data = b"UNH+1+X:D:96A:UN'FTX+AAA+" + b"A" * 5000 + b"'UNT+3+1'"
    assert len(parse(data)[0].messages[0].segments) == 3
    capped = ReadPolicy(max_segment_bytes=1000, chunk_size=256)
    with pytest.raises(EdifactError) as refused:
        list(iter_interchange_segments(data, policy=capped))
    assert refused.value.code == "22" and "no segment terminator" in refused.value.sentence


def test_the_chunk_size_of_the_policy_is_the_reads_and_changes_nothing_read() -> None:
    data = (SAMPLES / "02-cuscar-ferry-two-messages.edi").read_bytes()
    whole = [(s.tag, s.elements, s.number) for s in iter_interchange_segments(data)]
    for size in (1, 7, 333):
        policy = ReadPolicy(chunk_size=size)
        assert [
            (s.tag, s.elements, s.number) for s in iter_interchange_segments(data, policy=policy)
        ] == whole
        assert [len(c) for c in read_chunks(data, policy.chunk_size)][:-1] == [size] * (
            (len(data) - 1) // size
        )


@pytest.mark.parametrize("lexer", ["pure", "compiled"])
def test_a_policy_may_name_the_lexer_and_both_read_alike(lexer: str) -> None:
    data = (SAMPLES / "01-cuscar-msc-algiers.edi").read_bytes()
    default = [(s.tag, s.elements) for s in iter_interchange_segments(data)]
    named = ReadPolicy(lexer=lexer)
    assert [(s.tag, s.elements) for s in iter_interchange_segments(data, policy=named)] == default
    assert [ic.control_reference for ic in parse(data, policy=named)] == [
        ic.control_reference for ic in parse(data)
    ]


def test_a_lexer_that_is_not_there_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="not available"):
        Lexer(ReadPolicy(lexer="rust"))


def test_the_process_default_lexer_is_read_live_through_syntax() -> None:
    assert available_lexers()[0] == syntax.LEXER
    previous = use_lexer("pure")
    try:
        assert syntax.LEXER == "pure"
        from adapters.edifact.syntax import LEXER

        assert LEXER == "pure"
    finally:
        use_lexer(previous)
    assert previous == syntax.LEXER


# --- the split engine ------------------------------------------------------------------

ENGINE_MODULES = [
    "assembler",
    "errors",
    "hotloop",
    "lexer",
    "model",
    "policy",
    "serializer",
    "splitting",
    "stream",
    "syntax",
]


def test_every_public_name_of_syntax_is_still_there() -> None:
    for name in syntax.__all__:
        assert getattr(syntax, name) is not None, name
    # The names callers used before the split, each from the module that defines it now.
    assert syntax.parse.__module__ == "adapters.edifact.assembler"
    assert syntax.Segment.__module__ == "adapters.edifact.model"
    assert syntax.serialize.__module__ == "adapters.edifact.serializer"
    assert syntax.EdifactError.__module__ == "adapters.edifact.errors"
    assert DEFAULT.max_segment_bytes == syntax.MAX_SEGMENT_BYTES
    assert DEFAULT.chunk_size == syntax.CHUNK_SIZE


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_no_engine_module_is_over_700_lines(module: str) -> None:
    path = ROOT / "adapters" / "edifact" / f"{module}.py"
    assert len(path.read_text().splitlines()) <= 700


def test_the_gateway_imports_nothing_private_from_adapters() -> None:
    private = re.compile(r"from adapters[\w.]* import .*\b_\w|adapters\.[a-z_.]*\._")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "gateway").rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if private.search(line)
    ]
    assert found == []


def test_the_policy_module_imports_nothing_of_the_project() -> None:
    # Every layer may hold a policy: it depends on the standard library only.
    tree = ast.parse((ROOT / "adapters" / "edifact" / "policy.py").read_text())
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        )
    }
    assert imported == {"__future__", "dataclasses", "enum", "typing"}


# --- the registry ----------------------------------------------------------------------


def test_formats_are_sniffed_by_content() -> None:
    assert sniff_format(b"\xef\xbb\xbf \r\n<?xml version='1.0'?><a/>") == "xml"
    assert sniff_format(b"UNA:+.? 'UNB+UNOA:3") == "edifact"
    assert sniff_format(b"") == "edifact"  # the EDIFACT reader says what is wrong with it
    assert sniff_format(b" " * 600 + b"<a/>") == "edifact"  # only the head is looked at


def test_each_message_finds_its_codec_by_content() -> None:
    (ic,) = parse(TWO)
    codecs = [codec_for(m) for m in ic.messages]
    assert [c.message_type if c else None for c in codecs] == ["CUSCAR", "PAXLST", None]
    assert decoder_for(ic.messages[0]) is cuscar.decode_message
    assert decoder_for(ic.messages[1]) is paxlst.decode_message
    assert decoder_for(ic.messages[2]) is None
    # A CUSCAR with an empty UNH type (a real-world defect) is one by its BGM 85.
    (bare,) = parse(b"UNH+1+:D:95B:UN'BGM+85+M1'UNT+3+1'")
    found = codec_for(bare.messages[0])
    assert found is not None and found.message_type == "CUSCAR"


@pytest.mark.parametrize("module", ["paxlst", "cusrep", "iftdgn", "coarri"])
def test_a_codec_imported_on_use_is_its_adapter_s(module: str) -> None:
    """The registry names these adapters without importing them (issue #20, point 6): its
    type, sniffer and decoder must still be the adapter's own."""
    import importlib

    adapter = importlib.import_module(f"adapters.{module}")
    (codec,) = [c for c in CODECS if c.message_type == adapter.MESSAGE_TYPE]
    assert isinstance(codec.decode, AdapterDecoder)
    assert codec.decode.resolve() is adapter.decode_message
    (ic,) = parse(TWO.replace(b"IFTMIN", adapter.MESSAGE_TYPE.encode()))
    for message in ic.messages:
        is_adapter_s = getattr(adapter, f"is_{module}")(message)
        assert codec.sniff(message) == is_adapter_s
        assert (codec_for(message) is codec) == is_adapter_s


def test_only_a_codec_that_can_decode_as_it_reads_has_decode_stream() -> None:
    assert {c.message_type: c.decode_stream is not None for c in CODECS} == {
        "CUSCAR": True,
        "PAXLST": True,
        "CUSREP": False,
        "IFTDGN": False,
        "COARRI": False,
    }


@pytest.mark.parametrize(
    ("sample", "message_type"),
    [("02-cuscar-ferry-two-messages.edi", "CUSCAR"), ("04-paxlst-ferry-vehicles.edi", "PAXLST")],
)
def test_a_streamed_decode_is_the_held_decode(sample: str, message_type: str) -> None:
    data = (SAMPLES / sample).read_bytes()
    (codec,) = [c for c in CODECS if c.message_type == message_type]
    assert codec.decode_stream is not None
    held = [codec.decode(m, ic) for ic, m in iter_messages(data)]
    rereader = MessageRereader(data)
    streamed = []
    for index, (ic, message) in enumerate(iter_messages(data)):
        streamed.append(
            codec.decode_stream(message, ic, None, None, stream=rereader.segments(index))
        )
    released = []
    for ic, message in iter_messages(data):
        released.append(codec.decode_stream(message, ic, None, None))
        assert message.segments == []  # let go as they were read
    for h, s, r in zip(held, streamed, released, strict=True):
        assert s.header.payload_hash == r.header.payload_hash == h.header.payload_hash
        assert dataclasses.replace(s, header=h.header) == h
        assert dataclasses.replace(r, header=h.header) == h


def test_the_rereader_gives_each_message_as_the_first_read_and_skips_the_others() -> None:
    messages = [m.segments for _, m in iter_messages(TWO)]
    rereader = MessageRereader(TWO, ReadPolicy(chunk_size=5))
    assert list(rereader.segments(1)) == messages[1]  # message 0 read past
    half = rereader.segments(2)
    assert next(half).tag == "UNH"
    with pytest.raises(StopIteration):
        next(MessageRereader(TWO).segments(5))
