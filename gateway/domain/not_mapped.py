"""The NotMapped section of canonical documents, told in words (issue #16).

Every data element of an accepted EDIFACT message is mapped into a canonical field or
carried verbatim in its document's ``not_mapped`` (:class:`gateway.domain.model.NotMappedElement`).
``edigw translate`` tells each one as a warning: ``NOT_MAPPED``, where, and a sentence.

>>> from gateway.domain.model import CargoManifest, Header, NotMappedElement, Source
>>> doc = CargoManifest(Header.new(sender="a", document_type="CargoManifest",
...     business_reference="M", source=Source("EDIFACT", message_reference="7")), "M",
...     not_mapped=[NotMappedElement("FTX", 12, 3, 0, "FRAGILE", qualifier="AAI")])
>>> for code, where, sentence in warnings([doc]):
...     print(code, where, sentence, sep=" | ")
NOT_MAPPED | message 7 segment 12 FTX element 3 component 0 | FTX+AAI element 3 component 0 'FRAGILE': no canonical field holds it as sent, so the CargoManifest carries it verbatim in its NotMapped section (position 12:3:0)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from gateway.domain.model import Header, NotMappedElement

CODE = "NOT_MAPPED"
# A value is quoted in the sentence up to this many characters (the document has all of it).
QUOTED = 70


def warnings(documents: Iterable[object]) -> Iterator[tuple[str, str, str]]:
    """(``NOT_MAPPED``, where, sentence) for each element the documents carry unmapped."""
    for doc in documents:
        header: Header | None = getattr(doc, "header", None)
        entries: list[NotMappedElement] = getattr(doc, "not_mapped", [])
        if header is None or not entries:
            continue
        message = header.source.message_reference or "?"
        for e in entries:
            yield CODE, where(e, message), sentence(e, header.document_type)


def count(documents: Iterable[object]) -> int:
    """How many elements the documents carry unmapped."""
    return sum(len(getattr(doc, "not_mapped", [])) for doc in documents)


def where(e: NotMappedElement, message: str) -> str:
    repetition = f" repetition {e.repetition}" if e.repetition else ""
    return (
        f"message {message} segment {e.segment} {e.tag} element {e.element} "
        f"component {e.component}{repetition}"
    )


def sentence(e: NotMappedElement, document_type: str) -> str:
    name = f"{e.tag}+{e.qualifier}" if e.qualifier else e.tag
    value = e.value if len(e.value) <= QUOTED else e.value[:QUOTED] + "..."
    repetition = f" (repetition {e.repetition})" if e.repetition else ""
    return (
        f"{name} element {e.element} component {e.component}{repetition} {value!r}: no "
        f"canonical field holds it as sent, so the {document_type} carries it verbatim in its "
        f"NotMapped section (position {e.position})"
    )
