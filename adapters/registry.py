"""Which adapter reads what: chosen by content, never by a file name or a header.

Two levels, each a registry the gateway asks instead of knowing the adapters:

* the format of an input (:data:`FORMATS`, :func:`sniff_format`): XML or UN/EDIFACT, by
  its first bytes;
* the codec of one UN/EDIFACT message (:data:`CODECS`, :func:`codec_for`): by its UNH
  message type (and, for a CUSCAR with an empty type, its BGM).

>>> sniff_format(b"\\xef\\xbb\\xbf <?xml version='1.0'?><a/>"), sniff_format(b"UNA:+.? 'UNB")
('xml', 'edifact')
>>> from adapters.edifact import parse
>>> ic = parse(b"UNH+1+PAXLST:D:05B:UN'BGM+745+L1'UNT+3+1'")[0]
>>> codec = codec_for(ic.messages[0])
>>> codec.message_type, codec.decode_stream is None
('PAXLST', False)

A codec decodes a message it holds whole (:attr:`MessageCodec.decode`); one that can also
decode a large message as its segments are read, keeping no positions
(:attr:`MessageCodec.decode_stream`), says so by having that function. The reading side of
the engine (lexer, streaming readers, thresholds) is in :mod:`adapters.edifact`; its
thresholds and modes in one :class:`adapters.edifact.policy.ReadPolicy`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from adapters import cuscar
from adapters.common import DecodeContext, Positions
from adapters.edifact import Interchange, Message, Segment

if TYPE_CHECKING:
    from gateway.domain.model import CanonicalDocument

# What a format sniffer looks at: the first bytes, after a BOM and layout.
HEAD_BYTES: Final = 512


@dataclass(frozen=True, slots=True)
class Format:
    """An input format and how to recognise it from the first bytes (BOM and layout gone)."""

    name: str
    sniff: Callable[[bytes], bool]


def _is_xml(head: bytes) -> bool:
    return head.startswith(b"<")


def _is_anything(head: bytes) -> bool:
    # UN/EDIFACT is the default: whatever is not XML is read as EDIFACT, and the EDIFACT
    # reader says precisely what is wrong with it (a CONTRL for the partner).
    return True


#: Tried in order; the first whose ``sniff`` says yes is the format.
FORMATS: Final[tuple[Format, ...]] = (Format("xml", _is_xml), Format("edifact", _is_anything))


def sniff_format(data: bytes) -> str:
    """``"xml"`` or ``"edifact"``, chosen by content (never by file name)."""
    head = data[:HEAD_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    return next(f.name for f in FORMATS if f.sniff(head))


class MessageDecoder(Protocol):
    """One message held whole -> its canonical document (``MappingError`` when it cannot be).

    ``positions``, when given, is filled with model paths -> (segment number, tag).
    """

    def __call__(
        self,
        message: Message,
        interchange: Interchange,
        context: DecodeContext | None = None,
        positions: Positions | None = None,
        /,
    ) -> CanonicalDocument: ...


class StreamDecoder(Protocol):
    """A large message -> its canonical document, its segments not all held at once.

    With ``stream`` (the message's segments, UNH..UNT, read again from the input:
    :class:`adapters.edifact.stream.MessageRereader`), ``message`` holds only what a first
    read kept and the document is made as the segments come; without, ``message``'s
    segments are let go as they are read. A ``MappingError`` from here may not be the one
    the whole message gives first: the caller decodes the whole message again for it.
    """

    def __call__(
        self,
        message: Message,
        interchange: Interchange,
        context: DecodeContext | None,
        positions: Positions | None,
        /,
        *,
        stream: Iterable[Segment] | None = None,
    ) -> CanonicalDocument: ...


@dataclass(frozen=True, slots=True)
class MessageCodec:
    """A UN/EDIFACT message type the gateway accepts from partners, and its adapter."""

    message_type: str
    sniff: Callable[[Message], bool]
    decode: MessageDecoder
    decode_stream: StreamDecoder | None = None


def _stream_decoder(adapter: Callable[..., CanonicalDocument] | str) -> StreamDecoder:
    """The :class:`StreamDecoder` of an adapter's ``decode_message`` that takes ``release``
    and ``stream`` (CUSCAR; PAXLST, whose 1,500-traveller sailing is 20,000 segments);
    an adapter named by its module is imported on its first message, as
    :class:`AdapterDecoder` does."""

    def decode_stream(
        message: Message,
        interchange: Interchange,
        context: DecodeContext | None,
        positions: Positions | None,
        /,
        *,
        stream: Iterable[Segment] | None = None,
    ) -> CanonicalDocument:
        decode = (
            importlib.import_module(f"adapters.{adapter}").decode_message
            if isinstance(adapter, str)
            else adapter
        )
        if stream is None:
            return decode(message, interchange, context, positions, release=True)
        return decode(message, interchange, context, positions, stream=stream)

    return decode_stream


def _of_type(message_type: str) -> Callable[[Message], bool]:
    """The sniffer of a codec known by its UNH message type alone (``adapters.<type>.is_<type>``)."""

    def sniff(message: Message) -> bool:
        return message.type == message_type

    return sniff


@dataclass(frozen=True, slots=True)
class AdapterDecoder:
    """``adapters.<module>.decode_message``, imported on its first message (issue #20, point 6:
    a CUSCAR's `edigw translate` loads neither the PAXLST nor the call documents' adapters)."""

    module: str

    def resolve(self) -> MessageDecoder:
        """The adapter's own function (its module imported now, if not yet)."""
        # The call documents (issue #17) are not in CanonicalDocument's union: they are
        # Documents, decoded alike.
        decoder: MessageDecoder = importlib.import_module(f"adapters.{self.module}").decode_message
        return decoder

    def __call__(
        self,
        message: Message,
        interchange: Interchange,
        context: DecodeContext | None = None,
        positions: Positions | None = None,
        /,
    ) -> CanonicalDocument:
        return self.resolve()(message, interchange, context, positions)


#: Tried in order; the first whose ``sniff`` says yes decodes the message. Only CUSCAR's
#: adapter is imported with the registry; each other one when its first message comes
#: (``tests/unit/test_adapters_reading.py`` holds each to its adapter's type and sniffer).
CODECS: Final[tuple[MessageCodec, ...]] = (
    MessageCodec(
        cuscar.MESSAGE_TYPE,
        cuscar.is_cuscar,
        cuscar.decode_message,
        _stream_decoder(cuscar.decode_message),
    ),
    MessageCodec("PAXLST", _of_type("PAXLST"), AdapterDecoder("paxlst"), _stream_decoder("paxlst")),
    MessageCodec("CUSREP", _of_type("CUSREP"), AdapterDecoder("cusrep")),
    MessageCodec("IFTDGN", _of_type("IFTDGN"), AdapterDecoder("iftdgn")),
    MessageCodec("COARRI", _of_type("COARRI"), AdapterDecoder("coarri")),
)


def codec_for(message: Message) -> MessageCodec | None:
    """The codec of this EDIFACT message, or None for a type the gateway does not take."""
    return next((c for c in CODECS if c.sniff(message)), None)


def decoder_for(message: Message) -> MessageDecoder | None:
    """The function that decodes this EDIFACT message held whole, or None (see :func:`codec_for`)."""
    codec = codec_for(message)
    if codec is None:
        return None
    return codec.decode.resolve() if isinstance(codec.decode, AdapterDecoder) else codec.decode


#: Message types that answer another message: the gateway never answers them with one of
#: its own acknowledgements (ISO 9735-5: no CONTRL for a CONTRL; an APERAK answers
#: application messages, never an acknowledgement or a customs response).
ACKNOWLEDGEMENTS: Final = frozenset({"CONTRL", "APERAK", "CUSRES"})


def is_acknowledgement(message_type: str) -> bool:
    """True for a message type that is itself an acknowledgement or response.

    The gateway sends no CONTRL and no APERAK in answer to one (acknowledgements are never
    acknowledged). The type is compared as a partner may write it (case, spaces).

    >>> is_acknowledgement("CONTRL"), is_acknowledgement(" aperak"), is_acknowledgement("CUSCAR")
    (True, True, False)
    """
    return message_type.strip().upper() in ACKNOWLEDGEMENTS
