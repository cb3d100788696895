"""Small helpers to map dataclasses to namespaced XML and back, shared by every canonical schema.

A :class:`Vocabulary` is bound to one namespace; the canonical customs documents
(``gateway.domain.canonical_xml``), the LPCO documents (``gateway.domain.lpco``) and the receipts
use one each, and share the writing and reading of the common :class:`Header`.

>>> v = Vocabulary("urn:example")
>>> root = v.element("Doc")
>>> v.add(root, "Count", 3)
>>> v.add(root, "Missing", None)
>>> v.opt(root, "Count", int), v.get(root, "Missing")
(3, None)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Protocol, TypeVar, cast

from lxml import etree

from gateway.domain.model import Header, NotMappedElement, Source

T = TypeVar("T")


def text(value: object) -> str:
    """The XML Schema lexical form of a Python value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


class XmlOut(Protocol):
    """Where a document's elements go, in document order: a tree (:class:`TreeOut`) or a
    stream of canonical bytes (``gateway.security.c14n.C14nWriter``). One mapping writes both, so the
    streamed manifest is the tree's document by construction (issue #8)."""

    def start(self, name: str, attrs: dict[str, str] | None = None) -> None:
        """Open element ``name`` (in the vocabulary's namespace) under the current one."""

    def leaf(self, name: str, value: object, attrs: dict[str, str] | None = None) -> None:
        """``<name>value</name>`` under the current element; nothing when ``value`` is None."""

    def end(self) -> None:
        """Close the element opened last."""


class TreeOut:
    """:class:`XmlOut` building lxml elements below ``parent``."""

    __slots__ = ("_stack", "_tag", "_top")

    def __init__(self, vocabulary: Vocabulary, parent: etree._Element) -> None:
        self._tag = vocabulary.tag
        self._top = parent
        self._stack: list[etree._Element] = []

    def start(self, name: str, attrs: dict[str, str] | None = None) -> None:
        tag = self._tag(name)
        self._stack.append(self._top)
        self._top = (
            etree.SubElement(self._top, tag, attrs) if attrs else etree.SubElement(self._top, tag)
        )

    def leaf(self, name: str, value: object, attrs: dict[str, str] | None = None) -> None:
        if value is None:
            return
        tag = self._tag(name)
        el = etree.SubElement(self._top, tag, attrs) if attrs else etree.SubElement(self._top, tag)
        el.text = value if type(value) is str else text(value)

    def end(self) -> None:
        self._top = self._stack.pop()


class Vocabulary:
    """Element names in one namespace, and the read/write helpers that go with them."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.prefix = f"{{{namespace}}}"
        # lxml-stubs do not allow the default-namespace key None.
        self.nsmap: Any = {None: namespace}
        self._tags: dict[str, str] = {}

    def q(self, name: str) -> str:
        return self.prefix + name

    def tag(self, name: str) -> str:
        """:meth:`q`, looked up rather than rebuilt: writers call it once per element (a
        10,000-bill manifest: ~200,000 times)."""
        tag = self._tags.get(name)
        if tag is None:
            tag = self._tags[name] = self.prefix + name
        return tag

    def element(self, name: str, **attrs: str) -> etree._Element:
        """A root element in this namespace (default namespace, no prefix)."""
        return etree.Element(self.q(name), attrib=attrs, nsmap=self.nsmap)

    # ------------------------------------------------------------ writing
    def add(self, parent: etree._Element, name: str, value: object, **attrs: str) -> None:
        """Append <name>value</name> unless value is None (optional elements stay absent)."""
        if value is None:
            return
        # Called once per value of a document: a str is its own lexical form.
        tag = self.tag(name)
        el = etree.SubElement(parent, tag, attrs) if attrs else etree.SubElement(parent, tag)
        el.text = value if type(value) is str else text(value)

    def header_to_xml(self, parent: etree._Element, h: Header) -> None:
        header_out(TreeOut(self, parent), h)

    # ------------------------------------------------------------ reading
    def find(self, el: etree._Element, name: str) -> etree._Element | None:
        return el.find(self.q(name))

    def get(self, el: etree._Element, name: str) -> str | None:
        child = el.find(self.q(name))
        return None if child is None else (child.text or "")

    def req(self, el: etree._Element, name: str) -> str:
        value = self.get(el, name)
        if value is None:
            raise ValueError(f"{etree.QName(el).localname} has no {name}")
        return value

    def opt(self, el: etree._Element, name: str, conv: Callable[[str], T]) -> T | None:
        value = self.get(el, name)
        return None if value is None else conv(value)

    def get_all(self, el: etree._Element, name: str) -> list[str]:
        return [c.text or "" for c in el.findall(self.q(name))]

    def not_mapped_from_xml(self, root: etree._Element) -> list[NotMappedElement]:
        """The NotMapped section below ``root`` (:func:`not_mapped_out`), empty without one."""
        section = root.find(self.q("NotMapped"))
        if section is None:
            return []
        entries = []
        for el in section.findall(self.q("Element")):
            segment, element, component = (int(n) for n in (el.get("position") or "").split(":"))
            entries.append(
                NotMappedElement(
                    tag=el.get("segment") or "",
                    segment=segment,
                    element=element,
                    component=component,
                    value=el.text or "",
                    repetition=int(el.get("repetition") or 0),
                    qualifier=el.get("qualifier"),
                )
            )
        return entries

    def header_from_xml(self, el: etree._Element) -> Header:
        src = el.find(self.q("Source"))
        if src is None:
            raise ValueError("Header has no Source")
        return Header(
            message_id=self.req(el, "MessageId"),
            correlation_id=self.req(el, "CorrelationId"),
            previous_message_id=self.get(el, "PreviousMessageId"),
            function=cast(Any, self.req(el, "Function")),
            sender=self.req(el, "Sender"),
            receiver=self.req(el, "Receiver"),
            document_type=self.req(el, "DocumentType"),
            document_version=int(self.req(el, "DocumentVersion")),
            business_reference=self.req(el, "BusinessReference"),
            test=self.req(el, "Test").strip() in {"true", "1"},
            created_at=dt.datetime.fromisoformat(self.req(el, "CreatedAt")),
            payload_hash=self.req(el, "PayloadHash"),
            source=Source(
                format=src.get("format", ""),
                message_type=src.get("messageType", ""),
                directory=src.get("directory", ""),
                syntax_version=src.get("syntaxVersion", ""),
                interchange_reference=src.get("interchangeReference", ""),
                message_reference=src.get("messageReference", ""),
            ),
        )


def header_out(out: XmlOut, h: Header) -> None:
    """The common :class:`Header` of every canonical document, to ``out``."""
    out.start("Header")
    out.leaf("MessageId", h.message_id)
    out.leaf("CorrelationId", h.correlation_id)
    out.leaf("PreviousMessageId", h.previous_message_id)
    out.leaf("Function", h.function)
    out.leaf("Sender", h.sender)
    out.leaf("Receiver", h.receiver)
    out.leaf("DocumentType", h.document_type)
    out.leaf("DocumentVersion", h.document_version)
    out.leaf("BusinessReference", h.business_reference)
    out.leaf("Test", h.test)
    out.leaf("CreatedAt", h.created_at)
    out.leaf("PayloadHash", h.payload_hash, {"algorithm": "sha256"})
    source = {"format": h.source.format}
    for attr, value in (
        ("messageType", h.source.message_type),
        ("directory", h.source.directory),
        ("syntaxVersion", h.source.syntax_version),
        ("interchangeReference", h.source.interchange_reference),
        ("messageReference", h.source.message_reference),
    ):
        if value:
            source[attr] = value
    out.start("Source", source)
    out.end()
    out.end()


def not_mapped_out(out: XmlOut, entries: Sequence[NotMappedElement]) -> None:
    """The document's NotMapped section (issue #16), nothing when every element was mapped.

    ``<Element segment="FTX" position="12:3:0" qualifier="AAI">value</Element>`` per data
    element no canonical field holds: position is segment:element:component as
    :class:`NotMappedElement` counts them; ``repetition`` only for a syntax 4 repetition.
    """
    if not entries:
        return
    out.start("NotMapped")
    for e in entries:
        attrs = {"segment": e.tag, "position": f"{e.segment}:{e.element}:{e.component}"}
        if e.repetition:
            attrs["repetition"] = str(e.repetition)
        if e.qualifier is not None:
            attrs["qualifier"] = e.qualifier
        out.leaf("Element", e.value, attrs)
    out.end()
