"""A large manifest written, validated, digested and signed without its XML tree (issue #8).

:func:`sign_manifest` writes a :class:`CargoManifest` with the same mapping as
``canonical_xml.manifest_to_xml`` (``gateway.domain.xmlmap.XmlOut``), but straight into bytes that
are already in canonical form (Canonical XML 1.0 and 1.1 are the same bytes for these
documents: one default namespace on the root, no ``xml:`` attributes, no comments or
processing instructions). The enveloped signature's reference digest is then the SHA-256 of
those bytes as they are written (the enveloped-signature transform removes the Signature,
which is appended last), the same libxml2 schema checks them as they are written (a feed
parser with the schema, each Consignment cleared once read), and the SignedInfo is signed by
:meth:`gateway.security.signing.Signer.signature_for_digest` (signxml's own signature element, given
the digest). The signed bytes are the tree path's document: c14n-equal, and they verify with
xmlsec1 and signxml (tests/unit/test_c14n_stream.py).

Peak memory for a 5,000-bill message: the model and the signed bytes, not the tree (~37 MB).

>>> from gateway.domain.model import CargoManifest, Header
>>> from gateway.domain.canonical_xml import manifest_to_xml
>>> m = CargoManifest(Header.new(sender="a", document_type="CargoManifest",
...                   business_reference="M&1"), document_number="M&1")
>>> b"".join(manifest_c14n(m)) == etree.tostring(manifest_to_xml(m), method="c14n")
True
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from lxml import etree

from gateway.domain.canonical_xml import (
    NS,
    consignment_out,
    manifest_head_out,
    manifest_root,
    manifest_tail_out,
)
from gateway.domain.model import NAMESPACE, CargoManifest, Header
from gateway.domain.validation import SCHEMA_FILE, _lxml_schema
from gateway.domain.xmlmap import header_out, text

XML_DECLARATION = b"<?xml version='1.0' encoding='UTF-8'?>\n"  # what lxml writes (to_bytes)

# Canonical XML escaping: text & < > CR; attribute values & < " TAB LF CR.
_TEXT_SPECIAL = re.compile("[&<>\r]").search
_ATTR_SPECIAL = re.compile('[&<"\t\n\r]').search
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})
_ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", '"': "&quot;", "\t": "&#x9;", "\n": "&#xA;", "\r": "&#xD;"}
)
# What XML 1.0 cannot carry (lxml refuses it with a ValueError, so must this writer): every
# code point but TAB, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD and U+10000-U+10FFFF, written as
# the ranges left out; the negated class of the ranges allowed took 7 ms to compile at each
# start (issue #20, point 6). tests/unit/test_c14n_stream.py holds the two equal.
NOT_XML_PATTERN = "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]"
_NOT_XML = re.compile(NOT_XML_PATTERN).search
_FLUSH_PARTS = 4096  # pieces of markup joined, checked and encoded at a time (~100 KB)


def _attrs(attrs: dict[str, str] | None) -> str:
    """Attributes as canonical XML writes them: sorted (all are unqualified), escaped."""
    if not attrs:
        return ""
    parts = []
    for name in sorted(attrs):
        value = attrs[name]
        if _ATTR_SPECIAL(value) is not None:
            value = value.translate(_ATTR_ESCAPES)
        parts.append(f' {name}="{value}"')
    return "".join(parts)


class C14nWriter:
    """:class:`gateway.domain.xmlmap.XmlOut` writing canonical XML text to ``sink`` as UTF-8 chunks.

    ``ValueError`` (as lxml raises for the tree) for a character XML cannot carry.
    """

    __slots__ = ("_parts", "_sink", "_stack")

    def __init__(self, sink: Callable[[bytes], None]) -> None:
        self._sink = sink
        self._parts: list[str] = []
        self._stack: list[str] = []

    def root(self, element: etree._Element) -> None:
        """Open the document's root, as ``element`` (childless) is tagged and declared."""
        qname = etree.QName(element)
        if qname.namespace != NAMESPACE or set(element.nsmap) != {None}:
            raise ValueError("the canonical writer knows the customs namespace only")
        self._parts.append(
            f'<{qname.localname} xmlns="{NAMESPACE}"{_attrs(dict(element.attrib))}>'  # type: ignore[arg-type]
        )
        self._stack.append(qname.localname)

    def start(self, name: str, attrs: dict[str, str] | None = None) -> None:
        self._parts.append(f"<{name}{_attrs(attrs)}>" if attrs else f"<{name}>")
        self._stack.append(name)

    def leaf(self, name: str, value: object, attrs: dict[str, str] | None = None) -> None:
        if value is None:
            return
        t = value if type(value) is str else text(value)
        if _TEXT_SPECIAL(t) is not None:
            t = t.translate(_TEXT_ESCAPES)
        parts = self._parts
        if attrs:
            parts.append(f"<{name}{_attrs(attrs)}>{t}</{name}>")
        else:
            parts.append(f"<{name}>{t}</{name}>")
        if len(parts) >= _FLUSH_PARTS:
            self.flush()

    def end(self) -> None:
        self._parts.append(f"</{self._stack.pop()}>")

    def flush(self) -> None:
        """Hand what is written so far to the sink."""
        if not self._parts:
            return
        chunk = "".join(self._parts)
        self._parts.clear()
        bad = _NOT_XML(chunk)
        if bad is not None:
            raise ValueError(
                "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or "
                f"control characters (U+{ord(bad.group()):04X})"
            )
        self._sink(chunk.encode("utf-8"))


def manifest_c14n(m: CargoManifest) -> Iterator[bytes]:
    """The canonical XML of ``manifest_to_xml(m)``, in chunks (a list; no tree is built)."""
    chunks: list[bytes] = []
    _write(m, chunks.append)
    return iter(chunks)


def _write(m: CargoManifest, sink: Callable[[bytes], None]) -> None:
    out = C14nWriter(sink)
    out.root(manifest_root(m))
    manifest_head_out(out, m)
    out.flush()
    for c in m.consignments:
        consignment_out(out, c)
    manifest_tail_out(out, m)
    out.end()
    out.flush()


class StreamValidator:
    """The canonical schema checked on bytes as they are written (libxml2, as ``validate``).

    Each Consignment is cleared once read, so the parser's tree stays the size of one bill.
    :meth:`valid` is the verdict (libxml2's; the tree path explains a failure).
    """

    def __init__(self, schema: str = SCHEMA_FILE) -> None:
        self._parser = etree.XMLPullParser(
            events=("end",), tag=f"{NS}Consignment", schema=_lxml_schema(schema)
        )
        self.failed = False

    def feed(self, chunk: bytes) -> None:
        if self.failed:
            return
        try:
            self._parser.feed(chunk)
        except etree.XMLSyntaxError:
            self.failed = True
            return
        for _, element in self._parser.read_events():
            if not isinstance(element, etree._Element):
                continue
            element.clear()
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]

    def valid(self) -> bool:
        if self.failed:
            return False
        try:
            self._parser.close()
        except etree.XMLSyntaxError:
            self.failed = True
        return not self.failed


SignDigest = Callable[[str, Mapping[str | None, str], bytes], bytes]


def sign_manifest(
    m: CargoManifest, signature_for_digest: SignDigest, *, validate: bool = True
) -> bytes | None:
    """``m`` as signed XML bytes, written without a tree; None when the schema refuses it.

    ``signature_for_digest(root_tag, nsmap, digest)`` is the serialised ds:Signature for the
    document whose reference digest is ``digest``
    (:meth:`gateway.security.signing.Signer.signature_for_digest`). ``ValueError`` for a value XML
    cannot carry, as ``to_xml`` raises it.
    """
    parts = signed_parts(m, signature_for_digest, validate=validate)
    return None if parts is None else joined(parts)


def signed_parts(
    m: CargoManifest, signature_for_digest: SignDigest, *, validate: bool = True
) -> list[bytes] | None:
    """:func:`sign_manifest` in pieces (:func:`joined` makes the bytes): a caller can let go
    of ``m`` before the signed document is joined (issue #8: the model, 13 MB at 5,000
    bills, and the joined bytes are then never alive together)."""
    digest = hashlib.sha256()
    chunks: list[bytes] = [XML_DECLARATION]
    checker = StreamValidator() if validate else None

    def sink(chunk: bytes) -> None:
        digest.update(chunk)
        chunks.append(chunk)
        if checker is not None:
            checker.feed(chunk)

    _write(m, sink)
    if checker is not None and not checker.valid():
        return None
    root = manifest_root(m)
    closing = f"</{etree.QName(root).localname}>".encode()
    last = chunks[-1]
    if not last.endswith(closing):
        raise AssertionError("the canonical writer did not end with the root's end tag")
    chunks[-1] = last[: -len(closing)]
    chunks.append(signature_for_digest(root.tag, root.nsmap, digest.digest()))
    chunks.append(closing)
    return chunks


def joined(parts: list[bytes]) -> bytes:
    """The bytes of :func:`signed_parts`; the parts are let go (``parts`` is emptied)."""
    signed = b"".join(parts)
    parts.clear()
    return signed


@dataclass(slots=True)
class SignedManifest(CargoManifest):
    """What is kept of a streamed manifest once it is signed: everything but its bills.

    The signed bytes are the document; the worker reads a routed document's header, its
    references (journal), office and port (routing). The bills and containers are gone
    (``consignments`` and ``equipment`` empty, ``bills`` counts them); ``references()``
    answers what the whole manifest answered. Not a document to write again: ``to_xml``
    does not know this type, and a changed header is spliced into the signed bytes
    (:func:`resign_header`). At 5,000 bills: ~13 MB of model less per message kept.
    """

    # The references in one string (NUL, which no value can hold, between them): thousands of
    # small strings, each shared with the parsed segments, kept alive the allocator's blocks
    # they lie in once the segments and bills were freed, and the process did not give that
    # memory back (issue #8: 46 -> 39 MB peak growth on the 10k-BL manifest).
    kept_references: str = field(default="", repr=False)  # ~150 KB at 5,000 bills
    bills: int = 0

    @classmethod
    def of(cls, m: CargoManifest) -> SignedManifest:
        kept = {f.name: getattr(m, f.name) for f in dataclasses.fields(CargoManifest)}
        kept.update(consignments=[], equipment=[])
        refs = "\0".join(m.references())
        return cls(**kept, kept_references=refs, bills=len(m.consignments))

    def references(self) -> list[str]:
        return self.kept_references.split("\0") if self.kept_references else []


def resign_header(signed: bytes, header: Header, signature_for_digest: SignDigest) -> bytes:
    """``signed`` (written by :func:`sign_manifest`) with ``header`` instead of its Header.

    Amendments change a header's version, previous message and id after the document was
    signed (issue #4); the rest of the canonical bytes stays as written, so the new Header
    is written in their place, the digest taken again and the SignedInfo signed again.
    (Values are escaped, so ``</Header>`` and ``<ds:Signature`` cannot occur in text.)
    """
    if not signed.startswith(XML_DECLARATION):
        raise ValueError("not a document written by the streaming writer")
    view = memoryview(signed)
    start = signed.index(b"<Header>")
    end = signed.index(b"</Header>", start) + len(b"</Header>")
    sig = signed.rindex(b"<ds:Signature ")
    close = signed.rindex(b"</")
    pieces: list[bytes] = []
    out = C14nWriter(pieces.append)
    header_out(out, header)
    out.flush()
    new_header = b"".join(pieces)
    digest = hashlib.sha256()
    for part in (view[len(XML_DECLARATION) : start], new_header, view[end:sig], view[close:]):
        digest.update(part)
    root = manifest_root(CargoManifest(header, ""))
    signature = signature_for_digest(root.tag, root.nsmap, digest.digest())
    return b"".join((view[:start], new_header, view[end:sig], signature, view[close:]))
