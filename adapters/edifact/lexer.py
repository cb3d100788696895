"""The lexer: byte chunks -> :class:`Segment` objects, following UNA and UNB.

Cutting happens on bytes because every separator is an ASCII byte and every supported
character set (ISO 8859-x, UTF-8) is ASCII-compatible, so a separator byte can never be
part of a multi-byte character. Each segment is then decoded on its own, with the
character set its interchange declares, which lets one file hold several interchanges
with different UNA strings and character sets. The ordinary segments of a buffer go
through the hot loop of :mod:`adapters.edifact.hotloop` (pure or compiled).

>>> [s.tag for s in Lexer().segments([b"UNH+1+X:D:96A:UN'BG", b"M+85'UNT+3+1'"])]
['UNH', 'BGM', 'UNT']
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Final

from adapters.edifact import hotloop
from adapters.edifact.errors import (
    ERR_INVALID_CHAR,
    ERR_INVALID_SEPARATOR,
    ERR_MISSING,
    EdifactError,
)
from adapters.edifact.hotloop import _element_cache
from adapters.edifact.model import (
    _DEFAULT_V3,
    CHARSETS,
    CHUNK_MARK,
    Delimiters,
    Segment,
    _new_object,
    _set_elements,
    _set_number,
    _set_repeats,
    _set_tag,
)
from adapters.edifact.policy import DEFAULT, CharsetPolicy, ReadPolicy
from adapters.edifact.splitting import (
    _ENVELOPE_TAGS,
    _GOOD_TAGS,
    _parse_segment_general,
    _split_released,
    _tag_of,
    parse_segment,
)

# Bytes that may NOT occur in a segment of each character set family. Separators
# declared in UNA are added to the allowed set at run time (see Lexer._set_charset).
_UNOA_ALLOWED: Final = b"A-Z0-9 .,\\-()/='+:?!\"%&*;<>\t\n\r"
# CR, LF and TAB are layout (removed from segments), so never "bad" here.
_BAD_LEVEL_B: Final = re.compile(rb"[^\t\n\r\x1c-\x7e]")  # printable ASCII + IS1..IS4
_BAD_SINGLE_BYTE: Final = re.compile(
    rb"[\x00-\x08\x0b\x0c\x0e-\x1b\x7f-\xff]"
)  # non-ASCII: checked further
_BAD_UTF8: Final = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1b\x7f]")
_UNOA_BYTES: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-()/='+:?!\"%&*;<>\t\n\r"
_PRINTABLE_ASCII: Final = bytes(range(0x1C, 0x7F)) + b"\t\n\r"
_C1_OR_CONTROL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1b\x7f-\x9f]")

_SET_NAMES: Final = {
    "latin-1": "ISO 8859-1",
    **{f"iso8859-{n}": f"ISO 8859-{n}" for n in range(2, 10)},
}

_LAYOUT: Final = b" \r\n\t"  # layout noise around segments
_BOM: Final = b"\xef\xbb\xbf"
# parse() collects the young GC generation after a buffer of at least this many bytes
# (a small interchange makes too few objects for a collection to pay).
_COLLECT_AFTER_BYTES: Final = 1 << 14


def _b(ch: str) -> bytes:
    return ch.encode("latin-1")


_DROP_LAYOUT: Final = {9: None, 10: None, 13: None}


def _head(piece: str | bytes) -> bytes:
    """The first bytes of a piece after layout, as bytes (pieces may be str or bytes)."""
    head = piece[:64].lstrip(" \r\n\t") if isinstance(piece, str) else piece[:64].lstrip(_LAYOUT)
    if isinstance(head, str):
        return head.encode("utf-8", "replace") if not head.startswith("\ufeff") else _BOM
    return head


def _start_of(pieces: Sequence[str] | Sequence[bytes], i: int, text: str, layout: str) -> int:
    """Offset of the first non-layout byte of piece ``i`` (layout characters are 1 byte)."""
    return _position(pieces, i) + len(text) - len(text.lstrip(layout))


def _position(pieces: Sequence[str] | Sequence[bytes], i: int) -> int:
    """Offset of piece ``i`` in the buffer the pieces were cut from (1-byte terminator)."""
    return sum(len(p) for p in pieces[:i]) + i


class Lexer:
    """Cuts byte chunks into :class:`Segment` objects, following UNA/UNB.

    State that changes while reading: the delimiters (UNA, syntax 4 defaults) and
    the character set (UNB S001). ``warnings`` is the list of the interchange
    being read; the assembler hands it to the :class:`Interchange`. ``policy`` gives
    the character-set policy, the lexer implementation and the segment length cap.
    """

    def __init__(self, policy: ReadPolicy = DEFAULT) -> None:
        self.policy = policy
        self.charset_policy = policy.charset
        self.max_segment_bytes = policy.max_segment_bytes
        hotloop.implementation(policy.lexer)  # a lexer that was not built fails here, early
        self.delimiters = _DEFAULT_V3
        self.una = False  # the current delimiters came from a UNA
        self._rep_defaulted = False  # the repetition separator is a syntax-4 default
        self.syntax_id = ""
        self.warnings: list[EdifactError] = []
        self.number = 0  # segments seen (UNA not counted)
        self.offset = 0  # byte offset of the start of the current buffer
        self._warned = False
        # Where body segments go while a message is open (set by the assembler):
        # appending here instead of yielding each one saves a generator round
        # trip per segment, the biggest single cost after splitting.
        self.sink: Callable[[Segment], None] | None = None
        # With a sink: yield CHUNK_MARK before reading each further chunk, so that what the
        # sink holds can be taken a chunk at a time (a message decoded as it is read).
        self.chunk_marks = False
        # Set by parse() while it pauses the garbage collector: collect the young
        # generation after each buffer (see segments()).
        self.collect_young = False
        self._set_charset("")

    # -- character sets --------------------------------------------------
    def _set_charset(self, syntax_id: str) -> None:
        self.syntax_id = syntax_id
        self._warned = False
        codec = CHARSETS.get(syntax_id)
        self.codec = codec or "utf-8"
        d = self.delimiters
        # ``allowed``: the bytes a buffer may consist of to skip per-segment checks
        # (checked with one bytes.translate per buffer, much faster than a regex).
        self.allowed: bytes | None = _PRINTABLE_ASCII
        if syntax_id in ("UNOA", "IATA"):
            seps = "".join({d.component, d.element, d.release, d.repetition, d.segment})
            self.bad: re.Pattern[bytes] | None = re.compile(
                b"[^" + _UNOA_ALLOWED + re.escape(seps).encode("latin-1") + b"]"
            )
            self.allowed = _UNOA_BYTES + seps.encode("latin-1")
        elif syntax_id in ("UNOB", "IATB"):
            self.bad = _BAD_LEVEL_B
        elif codec == "utf-8":
            self.bad = _BAD_UTF8
        elif codec is not None:
            self.bad = _BAD_SINGLE_BYTE
        else:
            self.bad = None  # undeclared (bare messages) or unknown: sniff, no check
            self.allowed = None

    def _decode(self, raw: bytes, start: int) -> str:
        bad = self.bad
        if bad is None:
            if raw.isascii():
                return raw.decode("latin-1")
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw.decode("latin-1")
        m = bad.search(raw)
        if m is None:
            if self.codec != "utf-8":
                # Only allowed ASCII bytes: Latin-1 decoding is exact and fastest.
                return raw.decode("latin-1")
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return self._decode_slow(raw, start, exc.start)
        return self._decode_slow(raw, start, m.start())

    def _decode_slow(self, raw: bytes, start: int, first_bad: int) -> str:
        """Non-ASCII or disallowed bytes: check them against the declared set."""
        codec = self.codec
        problem = ""
        text: str | None = None
        try:
            utf8 = raw.decode("utf-8")
        except UnicodeDecodeError:
            utf8 = None
        if codec == "utf-8":
            if utf8 is None:
                problem = f"bytes that are not UTF-8 although {self.syntax_id} declares UTF-8; decoded as ISO 8859-1"
                text = raw.decode("latin-1")
            else:
                problem = "a control character" if _BAD_UTF8.search(raw) is not None else ""
                text = utf8
        elif codec == "ascii":
            ch = raw[first_bad : first_bad + 1]
            if raw.isascii():
                shown = ch.decode("latin-1")
                problem = f"{shown!r}, which {self.syntax_id} does not allow" + (
                    " (UNOA is upper case only)" if shown.islower() else ""
                )
                text = raw.decode("latin-1")
            elif utf8 is not None:
                problem = f"UTF-8 text although {self.syntax_id} is 7-bit; decoded as UTF-8"
                text = utf8
            else:
                problem = f"8-bit byte 0x{ch.hex()} although {self.syntax_id} is 7-bit; decoded as ISO 8859-1"
                text = raw.decode("latin-1")
        else:
            if utf8 is not None and not raw.isascii():
                problem = f"UTF-8 text although {self.syntax_id} is {_SET_NAMES.get(codec, codec)}; decoded as UTF-8"
                text = utf8
            else:
                try:
                    text = raw.decode(codec)
                except UnicodeDecodeError:
                    problem = (
                        f"bytes undefined in {_SET_NAMES.get(codec, codec)}; decoded as ISO 8859-1"
                    )
                    text = raw.decode("latin-1")
                if not problem and _C1_OR_CONTROL.search(text) is not None:
                    problem = f"control characters, not graphic characters of {_SET_NAMES.get(codec, codec)}"
        assert text is not None
        if problem:
            tag = raw.lstrip(_LAYOUT)[:3].decode("latin-1")
            self._charset_problem(problem, start, first_bad, tag if tag.isalnum() else "")
        return text

    def _charset_problem(self, problem: str, start: int, first_bad: int, tag: str) -> None:
        err = EdifactError(
            ERR_INVALID_CHAR,
            f"segment {self.number} contains {problem}",
            segment=self.number,
            offset=start + first_bad,
            tag=tag,
            reason="EDIFACT_CHARSET",
        )
        if self.charset_policy is CharsetPolicy.REJECT:
            raise err
        if not self._warned:  # one warning per interchange is enough to act on
            self._warned = True
            self.warnings.append(err)

    def _decoded(self, pieces: list[bytes], offset: int, number: int) -> Iterator[str]:
        """Decode pieces one by one (slow path), so charset findings carry a position."""
        for piece in pieces:
            if piece.strip(_LAYOUT):
                number += 1
            self.number = number
            yield self._decode(piece, offset)
            offset += len(piece) + 1

    # -- delimiters ------------------------------------------------------
    def _read_una(self, buf: bytes, at: int) -> None:
        una = buf[at : at + 9].decode("latin-1")
        try:
            self.delimiters = Delimiters.from_una(una)
        except EdifactError as exc:
            exc.offset = self.offset + at
            exc.segment = self.number + 1
            raise
        self.una = True
        self._rep_defaulted = False

    def _sniff(self, head: bytes) -> None:
        """No UNA: choose level A/B defaults from the byte after UNB/UNH."""
        if head[:3] in (b"UNB", b"UNH") and len(head) > 3:
            sep = head[3:4]
            if sep == b"\x1d":
                self.delimiters = Delimiters.level_b()
            elif sep != _b(self.delimiters.element):
                self.delimiters = _DEFAULT_V3
            self.una = False

    def _on_unb(self, seg: Segment) -> None:
        syntax = seg.element(0)
        ident = syntax[0] if syntax else ""
        # At most 4 digits: int() raises on 4301 and more (found in the fuzz campaign).
        version = (
            int(syntax[1])
            if len(syntax) > 1 and syntax[1].isdecimal() and len(syntax[1]) < 5
            else 0
        )
        d = self.delimiters
        if not self.una:
            # No UNA for this interchange: the repetition separator is the default
            # of its syntax version ('*' or IS2 from syntax 4, none before), even
            # when the previous interchange was of another version.
            want = ("\x1e" if d.segment == "\x1c" else "*") if version >= 4 else " "
            if d.repetition != want and (d.repetition == " " or self._rep_defaulted):
                self.delimiters = Delimiters(
                    d.component, d.element, d.decimal, d.release, want, d.segment
                )
                self._rep_defaulted = want != " "
        self.warnings = []
        self._set_charset(ident)

    def _on_unz(self) -> None:
        # The character set stays until the next UNB: a file of many interchanges
        # in one set then never has to be cut again (see the UNB restart). The
        # separators stay too (they cut the rest of the buffer), but they no
        # longer count as declared by a UNA for the next interchange.
        self.warnings = []
        self.una = False

    # -- the cutting loop ------------------------------------------------
    def segments(self, chunks: Iterable[bytes]) -> Iterator[Segment]:
        """Every segment of the byte stream, in order.

        This is the hot loop of the engine. Whatever can be decided once per
        buffer (is it clean ASCII, does it hold release characters, spaces next
        to separators, layout inside segments, a UNA) is decided once per
        buffer with C-speed scans, so the common segment costs a split and a
        tuple build. A clean ASCII buffer is decoded in one call; otherwise each
        segment is decoded on its own under the character-set rules.
        """
        buf = b""
        sniff = True  # at the start of an interchange: look for UNA / defaults
        una_cut = False  # sniff was set again because a segment read as a UNA
        eof = False
        it = iter(chunks)
        number = self.number
        offset = self.offset  # byte offset of buf[0] in the input
        good_tags, envelope = _GOOD_TAGS, _ENVELOPE_TAGS
        sink = self.sink
        plain_run, layout_facts = hotloop.implementation(self.policy.lexer)
        max_segment = self.max_segment_bytes
        new, set_tag, set_elements, set_number, set_repeats = (
            _new_object,
            _set_tag,
            _set_elements,
            _set_number,
            _set_repeats,
        )
        while not eof:
            if self.chunk_marks and sink is not None:
                yield CHUNK_MARK
                sink = self.sink
            chunk = next(it, None)
            if chunk is None:
                eof = True
                chunk = b""
            buf = buf + chunk if buf else bytes(chunk)
            if (
                not sniff
                and not eof
                and _b(self.delimiters.segment) not in chunk
                and len(buf) <= max_segment
            ):
                # No terminator came, so no segment ended: cutting the whole buffer again
                # would make a long segment fed in small chunks quadratic (found by fuzzing).
                continue
            while True:
                if sniff:
                    head = buf.lstrip(_LAYOUT)
                    while head.startswith(_BOM):
                        head = head[3:].lstrip(_LAYOUT)
                    if len(head) < 9 and not eof:
                        break  # need more bytes to decide
                    offset += len(buf) - len(head)
                    buf = head
                    sniff = False
                    if head.startswith(b"UNA"):
                        self.offset, self.number = offset, number
                        self._read_una(head, 0)
                        buf = head[9:]
                        offset += 9
                    elif una_cut:
                        # Layout inside the UNA ("U\nNA"): the segment read as a UNA but the
                        # bytes do not start with one; sniffing again would loop forever.
                        raise EdifactError(
                            ERR_INVALID_SEPARATOR,
                            "the UNA service string advice is broken by layout characters",
                            segment=number + 1,
                            offset=offset,
                            tag="UNA",
                        )
                    else:
                        self._sniff(head)
                    una_cut = False
                d = self.delimiters
                el, comp, rel, rep = d.element, d.component, d.active_release, d.active_repetition
                cache = _element_cache(comp)
                element_of = cache.__getitem__
                term_b = _b(d.segment)
                allowed = self.allowed
                fast = buf.isascii() and (allowed is None or not buf.translate(None, allowed))
                if fast:
                    spieces = _split_released(buf.decode("latin-1"), d.segment, rel)
                    rest = buf[len(buf) - len(spieces.pop()) :]
                    lengths: list[str] | list[bytes] = spieces
                    bpieces: list[bytes] = []
                else:
                    bpieces = _split_released(buf, term_b, _b(rel))
                    rest = bpieces.pop()
                    lengths = bpieces
                    spieces = []
                # Per-buffer facts; each False lets every segment skip a check.
                rel_in = bool(rel) and _b(rel) in buf
                rep_in = bool(rep) and _b(rep) in buf
                spaced = (" " + el, el + " ", " " + comp, comp + " ")
                spaced_in, inner_layout = layout_facts(
                    buf, _b(el), _b(comp), _b(rel), term_b, rel_in
                )
                una_in = b"UNA" in buf
                bom_in = _BOM in buf
                layout, drop = " \r\n\t", _DROP_LAYOUT
                if d.segment in "\r\n\t" or d.element in "\r\n\t" or d.component in "\r\n\t":
                    # A UNA made a layout character a separator: it is data now.
                    seps = (d.segment, d.element, d.component, d.release, d.repetition)
                    layout = "".join(c for c in layout if c not in seps)
                    drop = {k: v for k, v in _DROP_LAYOUT.items() if chr(k) not in seps}
                special = inner_layout or bom_in or una_in
                restart_at = -1
                # Ordinary segments go through _plain_run; the loop below sees the others.
                plain = fast and not (special or rep_in or spaced_in)
                release_in = rel if rel_in else ""
                decoded = None if fast else self._decoded(bpieces, offset, number)
                count = len(spieces)
                i = -1
                while True:
                    i += 1
                    if decoded is None:
                        if plain and sink is not None:
                            i, number = plain_run(
                                spieces, i, number, sink, cache, el, release_in, layout
                            )
                        if i >= count:
                            break
                        text = spieces[i]
                    else:
                        following = next(decoded, None)
                        if following is None:
                            break
                        text = following
                    raw = text.strip(layout)
                    if not raw:
                        continue
                    if special:  # one test for the three rare cases below
                        if inner_layout and ("\n" in raw or "\r" in raw or "\t" in raw):
                            raw = raw.translate(drop)
                        if bom_in and raw[0] in "\ufeff\xef":
                            raw = raw.removeprefix("\ufeff").removeprefix("\xef\xbb\xbf")
                            raw = raw.lstrip(layout)
                            if not raw:
                                continue
                        if (
                            una_in
                            and raw.startswith("UNA")
                            and (len(raw) == 3 or not raw[3].isalnum())
                        ):
                            restart_at = i  # a new UNA: the rest is cut with its separators
                            sniff = una_cut = True
                            break
                    number += 1
                    if (
                        (not rel_in or rel not in raw)
                        and (not rep_in or rep not in raw)
                        and (
                            not spaced_in
                            or " " not in raw
                            or not (
                                spaced[0] in raw
                                or spaced[1] in raw
                                or spaced[2] in raw
                                or spaced[3] in raw
                            )
                        )
                    ):
                        parts = raw.split(el)
                        tag = parts[0]
                        if tag not in good_tags:
                            try:
                                tag = _tag_of(tag, comp, number)
                            except EdifactError as exc:
                                exc.offset = offset + _start_of(lengths, i, text, layout)
                                raise
                        del parts[0]
                        seg = new(Segment)
                        set_tag(seg, tag)
                        set_elements(seg, tuple([*map(element_of, parts)]))
                        set_number(seg, number)
                        set_repeats(seg, ())
                    else:
                        try:
                            seg = _parse_segment_general(raw, d, number)
                        except EdifactError as exc:
                            exc.offset = offset + _start_of(lengths, i, text, layout)
                            raise
                        tag = seg.tag
                    if tag not in envelope:
                        if sink is not None:
                            sink(seg)
                        else:
                            yield seg
                            sink = self.sink
                        continue
                    self.number = number
                    if tag == "UNB":
                        old = (self.codec, self.bad)
                        self._on_unb(seg)
                        d = self.delimiters
                        rep = d.active_repetition
                        rep_in = bool(rep) and _b(rep) in buf
                        plain = plain and not rep_in  # a syntax 4 UNB: '*' repeats now
                        if (self.codec, self.bad) != old:
                            # Later segments of this buffer need the new character set.
                            yield seg
                            sink = self.sink
                            restart_at = i + 1
                            break
                    elif tag == "UNZ":
                        self._on_unz()
                        yield seg
                        sink = self.sink
                        # The next interchange may come with other separators (a
                        # UNA, level B) or a BOM: then cut the rest anew.
                        nxt = lengths[i + 1] if i + 1 < len(lengths) else None
                        head = _head(nxt if nxt is not None else rest)
                        if (
                            (nxt is None and len(head) < 9)
                            or head.startswith(b"\xef\xbb\xbf")
                            or head.startswith(b"UNA")
                            or (head[:3] in (b"UNB", b"UNH") and head[3:4] != _b(el))
                        ):
                            restart_at = i + 1
                            sniff = True
                            break
                        continue
                    yield seg
                    sink = self.sink
                if restart_at >= 0:
                    cut = _position(lengths, restart_at)
                    buf = buf[cut:]
                    offset += cut
                    continue
                offset += len(buf) - len(rest)
                if self.collect_young and len(buf) - len(rest) >= _COLLECT_AFTER_BYTES:
                    # parse() pauses the collector; collecting what this buffer made
                    # while it is still in the CPU cache is far cheaper than one pass
                    # over hundreds of thousands of cold objects after the parse.
                    gc.collect(0)
                buf = rest
                if len(buf) > max_segment:
                    raise EdifactError(
                        ERR_INVALID_SEPARATOR,
                        f"no segment terminator {d.segment!r} in {len(buf)} bytes: wrong separators or not EDIFACT",
                        segment=number + 1,
                        offset=offset,
                    )
                break
        self.number, self.offset = number, offset
        tail = buf.strip(_LAYOUT)
        if tail:
            # Lenient: a last segment without terminator (trimmed samples) is read.
            tail = tail.translate(None, b"\r\n\t")
            self.number += 1
            seg = parse_segment(self._decode(tail, self.offset), self.delimiters, self.number)
            self.warnings.append(
                EdifactError(
                    ERR_MISSING,
                    f"the last segment ({seg.tag}) has no segment terminator",
                    segment=self.number,
                    offset=self.offset,
                    tag=seg.tag,
                    reason="EDIFACT_LAYOUT",
                )
            )
            yield seg
