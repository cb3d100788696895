"""CUSCAR (customs cargo report) -> canonical :class:`CargoManifest`.

This is the one place where a CUSCAR becomes a manifest. ``decode`` reads every
CUSCAR message in an interchange. The corpus shows how far real CUSCARs drift
from the directory, and each tolerance below names the file that needs it:

* an empty UNH message type with a cargo-report BGM 85 (MSC/Egypt, ``indice``);
* the bill of lading outside CNI: in ``DOC`` (US CBP ACE, ``edifabric``), in
  ``RFF+HB`` (Spanish AEAT air cargo, ``portico``), or only in the BGM of a
  one-bill message (German port community ``SCPRBL`` profile, ``smooks``);
* masses in TNE/TON/K/LBR, with either decimal mark; MEA with an empty or
  item-weight dimension; DTM formats 101/102/201/203/204/205;
* the IMO number in TDT C222 as ``IMO1234567``, ``1234567:IMO``, ``1234567:11`` or the
  standard way, ``1234567:146:11`` (agency 11, Lloyd's Register).

Consolidations (a CNI with the master bill, an ``RFF+BH`` group per house bill) keep their
hierarchy (``adapters.cuscar_consolidation``); the body is read segment by segment in
``adapters.cuscar_reader``, the segment readers that do not need the message's state are in
``adapters.cuscar_segments``. Nothing is changed on the way: a BGM message function the
gateway does not know (``VSA``) is refused, per-unit masses (MEA AAB/AAA) are carried as
such, an order acknowledgement (``RFF+AAA``) is not a bill. Nothing is lost on the way
either: what no canonical field holds is carried verbatim in the manifest's NotMapped
section (``adapters.residue``, issue #16).

>>> data = (b"UNB+UNOA:3+APCS+CUSTOMS+240101:1200+7'UNH+1+CUSCAR:D:95B:UN'BGM+85+M-1+9'"
...         b"CNI+1+BL-1'GID+1+10:PK'MEA+AAE+G+KGM:1200'UNT+6+1'UNZ+1+7'")
>>> manifest = decode(data)[0]
>>> manifest.document_number, manifest.consignments[0].goods_items[0].gross_mass_kg
('M-1', Decimal('1200.000'))
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from operator import le

from adapters.common import (
    SEGMENT_SLICE,
    DecodeContext,
    MappingError,
    Positions,
    check_xml_characters,
    check_xml_segments,
)
from adapters.cuscar_reader import READERS, ManifestReader
from adapters.edifact import Delimiters, Interchange, Message, Segment, parse, serialize_segment
from adapters.residue import NOTHING, Residue
from gateway.domain.model import CargoManifest, Header, MessageFunction, Source

MESSAGE_TYPE = "CUSCAR"

# BGM 1225 message function -> canonical function. 2 (addition) adds to a manifest
# already filed, so it is an amendment; 22 (final transmission, CBP) is the whole manifest.
FUNCTIONS: dict[str, MessageFunction] = {
    "9": "original",
    "22": "original",
    "5": "replace",
    "4": "change",
    "2": "change",
    "1": "cancel",
    "3": "cancel",
}
# The code each canonical function implies; the others read into it (22, 2, 3) are carried.
FUNCTION_CODES: dict[MessageFunction, str] = {
    "original": "9",
    "replace": "5",
    "change": "4",
    "cancel": "1",
}


def carry_function_code(residue: Residue, bgm: Segment) -> None:
    """BGM 1225 read into the header's function: a code the function does not imply is carried."""
    function = FUNCTIONS.get(bgm.get(2))
    if function is not None:
        residue.implied(bgm, 2, 0, FUNCTION_CODES[function])


def payload_hash(message: Message, delimiters: Delimiters) -> str:
    """SHA-256 of the message as written with its delimiters: same content, same hash.

    Exactly ``serialize_segment(tag, elements, delimiters)`` per segment, hashed in one go.
    A segment with no service character in its values (nearly all of them) is joined with
    ``str`` methods in C; only the others go through ``serialize_segment`` (issue #8: this
    was a third of the time of a 10,000-BL manifest).

    >>> from adapters.edifact import parse
    >>> msg = parse(b"UNB+UNOA:3+A+B+240101:1200+1'UNH+1+CUSCAR:D:95B:UN'FTX+AAA+++50?+ PCS'"
    ...             b"UNT+3+1'UNZ+1+1'")[0].messages[0]
    >>> payload_hash(msg, Delimiters()) == _slow_payload_hash(msg, Delimiters())
    True
    """
    hasher = _PayloadHasher(delimiters)
    hasher.add(message.segments)
    return hasher.hexdigest()


class _PayloadHasher:
    """:func:`payload_hash` over the segments given to :meth:`add`, in order."""

    def __init__(self, delimiters: Delimiters) -> None:
        self.delimiters = delimiters
        d = delimiters
        specials = d.component + d.element + d.segment + d.active_release + d.active_repetition
        self.needs_escape = re.compile("[" + re.escape(specials) + "]").search
        self.digest = hashlib.sha256()

    def add(self, segments: Iterable[Segment]) -> None:
        delimiters, needs_escape, digest = self.delimiters, self.needs_escape, self.digest
        comp, elem, term = delimiters.component, delimiters.element, delimiters.segment
        texts: list[str] = []
        for seg in segments:
            elements = seg.elements
            values = "".join(["".join(e) for e in elements])
            if needs_escape(values) is None:
                # No value holds a service character: trimming trailing empty components and
                # elements is rstrip of the separators, as serialize_segment's trim does.
                body = elem.join([seg.tag, *[comp.join(e).rstrip(comp) for e in elements]])
                texts.append(body.rstrip(elem) + term)
            else:
                texts.append(serialize_segment(seg.tag, elements, delimiters))
            if len(texts) >= SEGMENT_SLICE:
                # Hashed a slice at a time: the whole text of a 5,000-bill message, as str and
                # as UTF-8, was ~11 MB more at the moment its segments are all alive (issue #8).
                digest.update("".join(texts).encode("utf-8"))
                texts.clear()
        digest.update("".join(texts).encode("utf-8"))

    def hexdigest(self) -> str:
        return self.digest.hexdigest()


class StreamedBody:
    """The whole-message checks of a message decoded as it is read again (issue #8).

    :meth:`body` gives the body of ``segments`` (UNH..UNT as read) and, a slice at a time as
    they pass, checks their characters (:func:`check_xml_segments`) and hashes them as
    :func:`payload_hash` does; :attr:`hash` is complete once the body has been read.
    """

    def __init__(self, delimiters: Delimiters) -> None:
        self.hasher = _PayloadHasher(delimiters)
        self.hash = ""

    def _take(self, part: list[Segment]) -> None:
        check_xml_segments(part)
        self.hasher.add(part)
        part.clear()

    def body(self, segments: Iterable[Segment]) -> Iterator[Segment]:
        part: list[Segment] = []
        for n, seg in enumerate(segments):
            part.append(seg)
            if len(part) >= SEGMENT_SLICE:
                self._take(part)
            # The first segment is the UNH, the last the UNT (the read stops at it).
            if n and seg.tag != "UNT":
                yield seg
        self._take(part)
        self.hash = self.hasher.hexdigest()


def _slow_payload_hash(message: Message, delimiters: Delimiters) -> str:
    """The reference :func:`payload_hash` is checked against (tests), one segment at a time."""
    h = hashlib.sha256()
    for seg in message.segments:
        h.update(serialize_segment(seg.tag, seg.elements, delimiters).encode("utf-8"))
    return h.hexdigest()


def decode_message(
    message: Message,
    interchange: Interchange,
    context: DecodeContext | None = None,
    positions: Positions | None = None,
    *,
    release: bool = False,
    stream: Iterable[Segment] | None = None,
) -> CargoManifest:
    """One CUSCAR message as a canonical manifest; :class:`MappingError` when it cannot be.

    ``release``: the message's segments are let go as they are read (``message.segments``
    is empty afterwards), so that a large message's segments and its manifest are not all
    alive at once (issue #8: 27 MB and 10 MB at 5,000 bills).

    ``positions``, when given, is filled with model paths -> (segment number, tag),
    so that a rule broken by ``consignments[0].goods_items[1]`` can point at its GID.

    ``stream``: the message's segments (UNH..UNT) read again from the input, decoded as they
    come; ``message`` then holds what the first read kept (its first segments and first BGM,
    ``contrl.StreamingAcknowledgement``), the characters are checked and the payload hashed
    as the segments pass. A ``MappingError`` may then not be the one the whole message
    gives first (a bad character later in the message wins over it): the caller decodes
    the whole message again for it (``gateway.service.pipeline``).
    """
    context = context or DecodeContext()
    pos: Positions = positions if positions is not None else {}
    if stream is None:
        check_xml_characters(message)
    d = interchange.delimiters
    body = message.body()
    bgm = next((s for s in body if s.tag == "BGM"), None)
    if bgm is None:
        raise MappingError(
            "MISSING_BGM",
            f"CUSCAR {message.reference} has no BGM segment",
            f"message {message.reference}",
            message.segments[0].number,
        )
    number = bgm.get(1)
    if not number:
        raise MappingError(
            "MISSING_DOCUMENT_NUMBER",
            f"BGM of CUSCAR {message.reference} carries no document number (C106/1004)",
            f"segment {bgm.number} BGM element 1",
            bgm.number,
        )
    pos["document_number"] = (bgm.number, "BGM")
    function = _function(bgm, message.reference)
    manifest = CargoManifest(
        header=Header.new(
            sender=context.sender,
            receiver=context.receiver,
            document_type=CargoManifest.DOCUMENT_TYPE,
            business_reference=number[:70],
            correlation_id=context.correlation_id,
            function=function,
            test=interchange.test_indicator == "1",
            payload_hash=payload_hash(message, d) if stream is None else "",
            source=Source(
                format="EDIFACT",
                message_type=message.type or MESSAGE_TYPE,
                directory=message.directory,
                syntax_version=str(interchange.syntax_version),
                interchange_reference=interchange.control_reference,
                message_reference=message.reference,
            ),
        ),
        document_number=number[:35],
    )
    residue = Residue(message.segments[0].number if message.segments else 1)
    if len(number) > 35:
        residue.keep(bgm, 1)  # the document number cut to 35: carried whole
    carry_function_code(residue, bgm)
    reader = ManifestReader(manifest, residue, pos, d.decimal, bgm.number)
    segments, streamed = body_segments(message, body, d, release=release, stream=stream)
    readers = READERS
    account, rest = residue.account, residue.rest
    for seg in segments:
        read = readers.get(seg.tag)
        if read is not None:
            shape = read(reader, seg)
            if shape is None:
                continue  # accounted at the end (finish)
            # Residue.account's fast path, inline: this loop runs 15 times a bill (issue #8).
            elements = seg.elements
            if (
                len(elements) > len(shape)
                or seg.repeats
                or not all(map(le, map(len, elements), shape))
            ):
                rest(seg, shape)
        elif not seg.tag.startswith("UN"):  # service segments (UNS) are the envelope's
            account(seg, NOTHING)
    reader.finish(message.reference)
    manifest.not_mapped = residue.finish()
    if streamed is not None:
        manifest.header.payload_hash = streamed.hash
    return manifest


def _function(bgm: Segment, reference: str) -> MessageFunction:
    """The BGM message function (1225): absent is an original; one the gateway does not know
    is refused rather than guessed (a "VSA" read as an original would file it as new)."""
    code = bgm.get(2)
    if not code:
        return "original"
    function = FUNCTIONS.get(code)
    if function is None:
        raise MappingError(
            "UNKNOWN_MESSAGE_FUNCTION",
            f"BGM of CUSCAR {reference} has message function (1225) {code!r}, which the "
            "gateway does not know (9 original, 22 final transmission, 5 replacement, "
            "4 change, 2 addition, 1 or 3 cancellation): what the document should do to a "
            "manifest already filed cannot be guessed",
            f"segment {bgm.number} BGM element 2",
            bgm.number,
        )
    return function


def body_segments(
    message: Message,
    body: list[Segment],
    delimiters: Delimiters,
    *,
    release: bool,
    stream: Iterable[Segment] | None,
) -> tuple[Iterable[Segment], StreamedBody | None]:
    """The segments of a message's ``body`` to decode, and how (see :func:`decode_message`):
    as held; let go as they are read (``release``); or read again (``stream``), checked and
    hashed as they pass by the :class:`StreamedBody` returned beside them."""
    if stream is not None:
        streamed = StreamedBody(delimiters)
        return streamed.body(stream), streamed
    if release:
        message.segments.clear()
        body.reverse()
        return drain_segments(body), None
    return body, None


def drain_segments(stack: list[Segment]) -> Iterator[Segment]:
    """The segments of ``stack`` (reversed) in order, each dropped from it as it is given."""
    while stack:
        yield stack.pop()


def is_cuscar(message: Message) -> bool:
    """CUSCAR by UNH, or (a real-world defect) an empty UNH type with a cargo-report BGM 85."""
    if message.type == MESSAGE_TYPE:
        return True
    return not message.type and any(
        s.tag == "BGM" and s.get(0) == "85" for s in message.segments[1:3]
    )


def decode(data: bytes, context: DecodeContext | None = None) -> list[CargoManifest]:
    """Every CUSCAR message in ``data`` as a manifest (other message types are skipped)."""
    manifests = []
    for interchange in parse(data):
        for message in interchange.messages:
            if is_cuscar(message):
                manifests.append(decode_message(message, interchange, context))
    return manifests
