"""Hardened XML parsing for everything the gateway reads.

No DTDs, no entity expansion, no network access, and limits on size, depth,
element count and attribute length. Every XML byte string entering the gateway
goes through :func:`parse`; a refusal is an :class:`UnsafeXmlError` whose
``reason`` is machine-readable and whose sentence never quotes the input (an
XXE attempt must not get file content back in an error message).

>>> parse(b"<a><b/></a>").tag
'a'
>>> try:
...     parse(b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>')
... except UnsafeXmlError as exc:
...     exc.reason
'XML_DTD_FORBIDDEN'
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

MAX_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 64
MAX_ELEMENTS = 500_000
MAX_ATTRIBUTE_CHARS = 64 * 1024

# A DOCTYPE or ENTITY declaration in any ASCII-compatible encoding. UTF-16/32 input is caught
# after parsing (docinfo), so this scan is a fast path, not the only defence.
_DECLARATION = re.compile(rb"<!\s*(?:doctype|entity)", re.IGNORECASE)
_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")


class UnsafeXmlError(ValueError):
    """The input is not XML the gateway accepts; ``reason`` is machine-readable."""

    def __init__(self, reason: str, sentence: str) -> None:
        super().__init__(sentence)
        self.reason = reason
        self.sentence = sentence


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,  # keeps libxml2's own limits (text node size, depth 256) in force
        remove_comments=False,  # comments stay visible so that comment injection can be refused
        remove_pis=False,
        collect_ids=False,
    )


def parse(
    data: bytes,
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_elements: int = MAX_ELEMENTS,
    max_attribute_chars: int = MAX_ATTRIBUTE_CHARS,
) -> etree._Element:
    """Parse ``data`` and return the root element, or raise :class:`UnsafeXmlError`."""
    if not isinstance(data, bytes | bytearray):
        raise UnsafeXmlError("XML_MALFORMED", "the document must be given as bytes")
    if len(data) > max_bytes:
        raise UnsafeXmlError(
            "XML_TOO_LARGE", f"the document is {len(data)} bytes, at most {max_bytes} allowed"
        )
    if data.startswith(_UTF16_32_BOMS) or data[:2] in (b"<\x00", b"\x00<"):
        # Our partners agreed on UTF-8; refusing other encodings also closes byte-scan bypasses.
        raise UnsafeXmlError("XML_ENCODING_UNSUPPORTED", "only UTF-8 XML is accepted")
    if _DECLARATION.search(data):
        raise UnsafeXmlError(
            "XML_DTD_FORBIDDEN", "document type declarations and entities are not accepted"
        )
    try:
        root = etree.fromstring(bytes(data), _parser())
    except etree.XMLSyntaxError as exc:
        # libxml2's message may quote the input line; keep only its first words and no content.
        message = str(exc.msg or "syntax error").split(",")[0][:120]
        raise UnsafeXmlError(
            "XML_MALFORMED", f"the document is not well-formed XML: {message}"
        ) from None
    if root is None:
        raise UnsafeXmlError("XML_MALFORMED", "the document is empty")
    docinfo: Any = root.getroottree().docinfo  # lxml-stubs lack doctype
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXmlError(
            "XML_DTD_FORBIDDEN", "document type declarations and entities are not accepted"
        )
    _check_tree(root, max_depth, max_elements, max_attribute_chars)
    return root


def _check_tree(
    root: etree._Element, max_depth: int, max_elements: int, max_attribute_chars: int
) -> None:
    depth = 0
    count = 0
    for event, el in etree.iterwalk(root, events=("start", "end")):
        if event == "end":
            depth -= 1
            continue
        depth += 1
        count += 1
        if depth > max_depth:
            raise UnsafeXmlError(
                "XML_TOO_DEEP", f"the document nests deeper than {max_depth} levels"
            )
        if count > max_elements:
            raise UnsafeXmlError(
                "XML_TOO_MANY_ELEMENTS", f"the document has more than {max_elements} elements"
            )
        if isinstance(el, etree._Entity):
            raise UnsafeXmlError("XML_DTD_FORBIDDEN", "entity references are not accepted")
        if isinstance(el, etree._Element) and not isinstance(
            el, etree._Comment | etree._ProcessingInstruction
        ):
            for value in el.attrib.values():
                if len(value) > max_attribute_chars:
                    raise UnsafeXmlError(
                        "XML_ATTRIBUTE_TOO_LARGE",
                        f"an attribute value is longer than {max_attribute_chars} characters",
                    )
