"""Writing EDIFACT: segments, messages and interchanges as text and bytes.

:func:`serialize` is the inverse of :func:`adapters.edifact.parse`;
:func:`build_interchange` makes a new interchange with correct envelopes and counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from adapters.edifact.errors import ERR_INVALID_CHAR, EdifactError
from adapters.edifact.model import Delimiters, Element, Interchange, Message, Segment, _make_segment


def _escape(value: str, d: Delimiters) -> str:
    rel = d.active_release
    specials = [d.component, d.element, d.segment]
    if d.active_repetition:
        specials.append(d.repetition)
    if rel:
        if rel in value:
            value = value.replace(rel, rel + rel)
        for ch in specials:
            if ch in value:
                value = value.replace(ch, rel + ch)
    return value


def serialize_segment(
    tag: str,
    elements: Sequence[Sequence[str]] | tuple[Element, ...],
    d: Delimiters,
    *,
    trim: bool = True,
    repeats: Sequence[tuple[int, Sequence[Sequence[str]]]] = (),
) -> str:
    """One segment as text, with its terminator.

    With ``trim`` (the default, for building segments) trailing empty components
    and elements are removed; ``trim=False`` writes exactly what is given, which
    :func:`serialize` uses so that parse and serialize are inverse.

    >>> serialize_segment("FTX", [["AAA"], [], [""], ["50+ PCS", ""]], Delimiters())
    "FTX+AAA+++50?+ PCS'"
    """
    rep_map = dict(repeats)
    parts = [tag]
    for idx, element in enumerate(elements):
        occurrences = rep_map.get(idx) or [element]
        texts = []
        for occ in occurrences:
            comps = [_escape(c, d) for c in occ]
            if trim:
                while comps and comps[-1] == "":
                    comps.pop()
            texts.append(d.component.join(comps))
        parts.append(d.repetition.join(texts))
    if trim:
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()
    return d.element.join(parts) + d.segment


def segment_text(seg: Segment, d: Delimiters) -> str:
    """A parsed segment written back exactly (repetitions included)."""
    return serialize_segment(seg.tag, seg.elements, d, trim=False, repeats=seg.repeats)


def _with(seg: Segment, values: dict[int, str]) -> Segment:
    """``seg`` with the first component of some elements replaced (for trailers)."""
    elements = list(seg.elements)
    for idx, value in values.items():
        while len(elements) <= idx:
            elements.append(("",))
        elements[idx] = (value, *elements[idx][1:])
    return _make_segment(seg.tag, tuple(elements), seg.number, seg.repeats)


def serialize_message(
    msg: Message, d: Delimiters, *, recount: bool = True, newline: str = ""
) -> str:
    """The message as text; with ``recount`` the UNT count and reference are computed."""
    segs = msg.segments
    if len(segs) > 1 and segs[-1].tag == "UNT":
        out, unt = [segment_text(s, d) for s in segs[:-1]], segs[-1]
    else:
        out, unt = [segment_text(s, d) for s in segs], _make_segment("UNT", (("",), ("",)), 0)
    if recount:
        unt = _with(unt, {0: str(len(out) + 1), 1: msg.reference})
    out.append(segment_text(unt, d))
    return newline.join(out)


def serialize(
    interchanges: Interchange | Sequence[Interchange],
    *,
    recount: bool = True,
    newline: str = "",
    encoding: str | None = None,
) -> bytes:
    """Write interchanges as bytes in their declared character set.

    A UNA is written when the input had one or the delimiters are not the
    defaults of the syntax version. With ``recount`` the UNT/UNE/UNZ counts and
    references are computed from the content. Characters that the character set
    cannot hold raise ``UnicodeEncodeError`` (choose a wider syntax identifier).

    >>> ic = build_interchange([("1", "CUSRES", "D", "96B", "UN", [Segment("BGM", (("962",),))])],
    ...                        sender="CUSTOMS", recipient="AGENT", reference="9",
    ...                        when=dt.datetime(2024, 1, 2, 3, 4))
    >>> serialize(ic, newline="\\n").decode()
    "UNB+UNOA:3+CUSTOMS+AGENT+240102:0304+9'\\nUNH+1+CUSRES:D:96B:UN'\\nBGM+962'\\nUNT+3+1'\\nUNZ+1+9'"
    """
    items = [interchanges] if isinstance(interchanges, Interchange) else list(interchanges)
    out: list[bytes] = []
    for ic in items:
        d = ic.delimiters
        parts: list[str] = []
        if ic.una or d != Delimiters.default(ic.syntax_version):
            parts.append(d.una())
        if ic.header is not None:
            parts.append(segment_text(ic.header, d))
        if ic.groups:
            for g in ic.groups:
                parts.append(segment_text(g.header, d))
                parts.extend(
                    serialize_message(m, d, recount=recount, newline=newline) for m in g.messages
                )
                une = g.trailer or _make_segment("UNE", (("",), ("",)), 0)
                if recount:
                    une = _with(une, {0: str(len(g.messages)), 1: g.reference})
                parts.append(segment_text(une, d))
            ungrouped = [m for m in ic.messages if not m.group_reference]
        else:
            ungrouped = ic.messages
        parts.extend(serialize_message(m, d, recount=recount, newline=newline) for m in ungrouped)
        if ic.header is not None:
            unz = ic.trailer or _make_segment("UNZ", (("",), ("",)), 0)
            if recount:
                unz = _with(
                    unz, {0: str(len(ic.groups) or len(ic.messages)), 1: ic.control_reference}
                )
            parts.append(segment_text(unz, d))
        text = newline.join(parts)
        codec = encoding or ic.encoding
        try:
            out.append(text.encode(codec))
        except UnicodeEncodeError as exc:
            raise EdifactError(
                ERR_INVALID_CHAR,
                f"{text[exc.start : exc.end]!r} cannot be written in {ic.syntax_id or codec}; "
                "declare a wider character set (e.g. UNOW)",
                offset=exc.start,
            ) from None
    return newline.encode().join(out)


def build_interchange(
    messages: Iterable[tuple[str, str, str, str, str, Sequence[Segment]]],
    *,
    sender: str,
    recipient: str,
    reference: str,
    syntax_id: str = "UNOA",
    syntax_version: int = 3,
    sender_qualifier: str = "",
    recipient_qualifier: str = "",
    when: dt.datetime | None = None,
    delimiters: Delimiters | None = None,
    test_indicator: str = "",
) -> Interchange:
    """An interchange ready to :func:`serialize`, numbered exactly as :func:`parse` would.

    ``messages`` are ``(reference, type, version, release, agency, body)``; the
    UNH/UNT and UNB/UNZ are made here with correct counts. Body segments may be
    made with ``Segment(tag, elements)``; their numbers are assigned.
    """
    when = when or dt.datetime.now(dt.UTC)
    d = delimiters or Delimiters.default(syntax_version)
    date = when.strftime("%Y%m%d" if syntax_version >= 4 else "%y%m%d")
    unb_elements: list[Element] = [
        (syntax_id, str(syntax_version)),
        (sender, sender_qualifier) if sender_qualifier else (sender,),
        (recipient, recipient_qualifier) if recipient_qualifier else (recipient,),
        (date, when.strftime("%H%M")),
        (reference,),
    ]
    if test_indicator:
        unb_elements += [("",)] * 5 + [(test_indicator,)]
    number = 1
    header = _make_segment("UNB", tuple(unb_elements), number)
    msgs: list[Message] = []
    for ref, mtype, version, release, agency, body in messages:
        number += 1
        segs = [_make_segment("UNH", ((ref,), (mtype, version, release, agency)), number)]
        for s in body:
            number += 1
            segs.append(_make_segment(s.tag, s.elements, number, s.repeats))
        number += 1
        segs.append(_make_segment("UNT", ((str(len(segs) + 1),), (ref,)), number))
        msgs.append(Message(ref, mtype, version, release, agency, "", segs))
    number += 1
    trailer = _make_segment("UNZ", ((str(len(msgs)),), (reference,)), number)
    return Interchange(
        delimiters=d,
        syntax_id=syntax_id,
        syntax_version=syntax_version,
        sender=sender,
        sender_qualifier=sender_qualifier,
        recipient=recipient,
        recipient_qualifier=recipient_qualifier,
        date=date,
        time=when.strftime("%H%M"),
        control_reference=reference,
        test_indicator=test_indicator,
        header=header,
        messages=msgs,
        trailer=trailer,
        una=d != Delimiters.default(syntax_version),
        message_count=len(msgs),
    )
