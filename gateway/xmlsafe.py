"""Hardened XML parsing for everything the gateway reads.

No DTDs, no entity expansion, no network access, a size limit and a depth
limit. Every XML byte string entering the gateway goes through :func:`parse`.

>>> parse(b"<a><b/></a>").tag
'a'
"""

from __future__ import annotations

from lxml import etree

MAX_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 64


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
        huge_tree=False,
        remove_comments=False,
        remove_pis=False,
    )


def parse(data: bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> etree._Element:
    """Parse ``data`` and return the root element, or raise :class:`UnsafeXmlError`."""
    if len(data) > max_bytes:
        raise UnsafeXmlError(
            "XML_TOO_LARGE", f"the document is {len(data)} bytes, at most {max_bytes} allowed"
        )
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise UnsafeXmlError(
            "XML_DTD_FORBIDDEN", "document type declarations and entities are not accepted"
        )
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise UnsafeXmlError(
            "XML_MALFORMED", f"the document is not well-formed XML: {exc.msg}"
        ) from None
    if root is None:
        raise UnsafeXmlError("XML_MALFORMED", "the document is empty")
    _check_depth(root, max_depth)
    return root


def _check_depth(root: etree._Element, max_depth: int) -> None:
    depth = 0
    for event, _el in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > max_depth:
            raise UnsafeXmlError(
                "XML_TOO_DEEP", f"the document nests deeper than {max_depth} levels"
            )
