"""The hot loop of the lexer: the pure reference, the compiled binding, which one runs.

Most of the engine's time goes to the ordinary segments of a buffer (a known tag, no
release character): :func:`_plain_run` reads them, and ``_fastlex.plain_run``
(``adapters/edifact/_fastlex.c``, built at install time) does the same in C. Which one runs
is decided here, and only here: :data:`LEXER` names the process default (``EDIGW_LEXER=pure``
forces the reference), :func:`use_lexer` switches it, and a
:class:`adapters.edifact.policy.ReadPolicy` may name one for a read
(:func:`implementation`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from itertools import islice
from typing import Final

from adapters.edifact.model import (
    Element,
    Segment,
    _new_object,
    _set_elements,
    _set_number,
    _set_repeats,
    _set_tag,
)
from adapters.edifact.splitting import _PLAIN_TAGS

# The interface of adapters/edifact/_fastlex.c this module expects (its API constant): a
# build left over from an older source is not used (scripts/setup.sh rebuilds it).
_FASTLEX_API: Final = 1
try:  # the compiled fast path of the lexer, built at install time when a compiler is there
    from adapters.edifact import _fastlex
except ImportError:  # pragma: no cover - a machine without a compiler: the pure lexer
    _fastlex = None  # type: ignore[assignment]
else:
    if getattr(_fastlex, "API", None) != _FASTLEX_API:  # pragma: no cover - a stale build
        _fastlex = None  # type: ignore[assignment]


# Bounds of the element cache (see _ElementCache): entries, and length of a cached value.
_ELEMENT_CACHE_ENTRIES: Final = 256
_ELEMENT_CACHE_VALUE_LENGTH: Final = 64


class _ElementCache(dict[str, Element]):
    """The text of a plain data element -> its components, for one component separator.

    Real interchanges repeat most of their element values (qualifiers, code lists,
    ports, package types, parties): in the 10,000-bill benchmark 85 % of the
    elements are repeats. Looking one up is a C-level dict hit; only new values
    get split (in ``__missing__``). Sharing the immutable tuples also means fewer
    objects to allocate, for the garbage collector to scan and to free: on the
    benchmark this halves the cost of a parse.

    Memory stays bounded: at most ``_ELEMENT_CACHE_ENTRIES`` values of at most
    ``_ELEMENT_CACHE_VALUE_LENGTH`` characters (longer ones are split, not kept),
    and the cache is emptied when full.

    >>> cache = _ElementCache(":")
    >>> cache["EGALY:139:6"], cache["EGALY:139:6"] is cache["EGALY:139:6"], cache["85"]
    (('EGALY', '139', '6'), True, ('85',))
    """

    __slots__ = ("component",)

    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def __missing__(self, text: str) -> Element:
        value = tuple(text.split(self.component))
        if len(text) <= _ELEMENT_CACHE_VALUE_LENGTH:
            if len(self) >= _ELEMENT_CACHE_ENTRIES:
                self.clear()
            self[text] = value
        return value


_ELEMENT_CACHES: dict[str, _ElementCache] = {}


def _element_cache(component: str) -> _ElementCache:
    """The element cache for a component separator, shared by every parse.

    Shared, because the gateway parses many small interchanges that repeat the
    same qualifiers and codes; safe, because it holds only immutable tuples of
    strings. At most four separators are kept (fuzzed UNAs declare any).
    """
    cache = _ELEMENT_CACHES.get(component)
    if cache is None:
        if len(_ELEMENT_CACHES) >= 4:
            _ELEMENT_CACHES.clear()
        cache = _ELEMENT_CACHES[component] = _ElementCache(component)
    return cache


def _spaced(buf: bytes, element: bytes, component: bytes, release: bytes) -> bool:
    """Does ``buf`` hold a space next to a separator that is not released?

    A released separator followed by a space (``?+ PCS``) is data; those segments
    hold the release character and are read by the general code anyway.

    >>> _spaced(b"FTX+AAA+++100?+ PCS'", b"+", b":", b"?"), _spaced(b"NAD+CZ+ ACME'", b"+", b":", b"?")
    (False, True)
    """
    if b" " + element in buf or b" " + component in buf:
        return True
    for sep in (element, component):
        after = sep + b" "
        if after in buf and (not release or buf.count(after) != buf.count(release + after)):
            return True
    return False


def _layout_facts(
    buf: bytes, element: bytes, component: bytes, release: bytes, terminator: bytes, rel_in: bool
) -> tuple[bool, bool]:
    r"""Two facts about a buffer: does it hold a space next to an unreleased separator
    (:func:`_spaced`), and layout inside a segment (a tab, or CR/LF anywhere but right after
    a terminator, or right after a released one)?

    >>> _layout_facts(b"BGM+85'\r\nDTM+137'\n", b"+", b":", b"?", b"'", False)
    (False, False)
    >>> _layout_facts(b"FTX+AAA+++A?'\nB'", b"+", b":", b"?", b"'", True)
    (False, True)

    ``_fastlex.layout_facts`` computes the same in one pass (``None``: separators that
    are layout characters, left to this function).
    """
    spaced_in = _spaced(buf, element, component, release if rel_in else b"")
    # The layout after the previous buffer's last terminator may start this one.
    body = buf.lstrip(b"\r\n") if buf[:1] in (b"\r", b"\n") else buf
    inner_layout = (
        b"\t" in body
        or body.count(b"\r") != body.count(terminator + b"\r\n")
        or body.count(b"\n") != body.count(terminator + b"\n") + body.count(terminator + b"\r\n")
        # A released terminator ends no segment: the layout after it is inside one.
        or (
            rel_in
            and (release + terminator + b"\n" in body or release + terminator + b"\r" in body)
        )
    )
    return spaced_in, inner_layout


def _layout_facts_compiled(
    buf: bytes, element: bytes, component: bytes, release: bytes, terminator: bytes, rel_in: bool
) -> tuple[bool, bool]:
    """:func:`_layout_facts` in one pass of C, or by :func:`_layout_facts` when C declines."""
    assert _fastlex is not None
    facts = _fastlex.layout_facts(buf, element, component, release, terminator, rel_in)
    if facts is None:
        return _layout_facts(buf, element, component, release, terminator, rel_in)
    return facts


def _plain_run(
    pieces: list[str],
    start: int,
    number: int,
    sink: Callable[[Segment], None],
    cache: _ElementCache,
    element_separator: str,
    release: str,
    layout: str,
) -> tuple[int, int]:
    """Parse the ordinary segments of ``pieces`` from ``start`` into ``sink``.

    Ordinary: a known tag that is not an envelope, no release character (pass
    ``release=""`` when the buffer holds none). Stops at the first other piece
    (including an empty one) and returns ``(its index, segments so far)``; the
    caller's general code deals with it. This is most of the engine's work,
    so it does nothing else: strip, split, look the elements up, build.

    >>> out: list[Segment] = []
    >>> cache = _ElementCache(":")
    >>> from adapters.edifact.splitting import _check_tag
    >>> _check_tag("LOC", 0)
    >>> _plain_run(["LOC+9+EGALY:139:6", "UNT+2+1"], 0, 4, out.append, cache, "+", "", " ")
    (1, 5)
    >>> out
    [Segment(tag='LOC', elements=(('9',), ('EGALY', '139', '6')), number=5, repeats=())]

    This is the reference implementation; ``_fastlex.plain_run`` does the same in C.
    """
    plain_tags = _PLAIN_TAGS
    element_of = cache.__getitem__
    for i, text in enumerate(islice(pieces, start, None), start):
        raw = text.strip(layout)
        if not raw or (release and release in raw):
            return i, number
        parts = raw.split(element_separator)
        tag = parts[0]
        if tag not in plain_tags:
            return i, number
        del parts[0]
        number += 1
        seg = _new_object(Segment)
        _set_tag(seg, tag)
        # Through a list: tuple() of a map would allocate 10 slots and shrink them,
        # which bypasses the tuple free lists (slower, and they fill up unused).
        _set_elements(seg, tuple([*map(element_of, parts)]))
        _set_number(seg, number)
        _set_repeats(seg, ())
        sink(seg)
    return len(pieces), number


# ---------------------------------------------------------------------------
# Which implementation of the hot loop runs: decided here, and only here.
# ---------------------------------------------------------------------------

_PlainRun = Callable[
    [list[str], int, int, Callable[[Segment], None], _ElementCache, str, str, str],
    tuple[int, int],
]
_LayoutFacts = Callable[[bytes, bytes, bytes, bytes, bytes, bool], tuple[bool, bool]]
if _fastlex is not None:
    # _fastlex.plain_run is _plain_run in C (adapters/edifact/_fastlex.c): the same
    # segments, the same cache, the same piece to stop at, where the Python loop takes over.
    _fastlex.configure(
        Segment,
        ("tag", "elements", "number", "repeats"),
        _PLAIN_TAGS,
        _ELEMENT_CACHE_ENTRIES,
        _ELEMENT_CACHE_VALUE_LENGTH,
    )
LEXER_IMPLEMENTATIONS: Final[dict[str, tuple[_PlainRun, _LayoutFacts] | None]] = {
    "compiled": (_fastlex.plain_run, _layout_facts_compiled) if _fastlex is not None else None,
    "pure": (_plain_run, _layout_facts),
}
#: The implementation of the hot loop in use: ``"compiled"`` (the C extension built at
#: install time) or ``"pure"`` (no compiler at install, or ``EDIGW_LEXER=pure``).
LEXER: str = "pure"
_active: tuple[_PlainRun, _LayoutFacts] = (_plain_run, _layout_facts)


def use_lexer(name: str) -> str:
    """Make ``name`` (``"compiled"`` or ``"pure"``) the active lexer; returns the previous one.

    Raises ``ValueError`` when the compiled one was not built. For tests and the benchmark;
    the default is chosen once at import (see below).
    """
    global LEXER, _active
    functions = LEXER_IMPLEMENTATIONS.get(name)
    if functions is None:
        raise ValueError(f"lexer {name!r} is not available (built: {available_lexers()})")
    previous, LEXER, _active = LEXER, name, functions
    return previous


def available_lexers() -> list[str]:
    """The implementations that can run here, the preferred first."""
    return [name for name, run in LEXER_IMPLEMENTATIONS.items() if run is not None]


def implementation(name: str | None = None) -> tuple[_PlainRun, _LayoutFacts]:
    """The functions of lexer ``name``, or of the process default (:data:`LEXER`) for None.

    Raises ``ValueError`` for a lexer that was not built (a policy naming ``"compiled"``
    on a machine without a compiler).
    """
    if name is None:
        return _active
    functions = LEXER_IMPLEMENTATIONS.get(name)
    if functions is None:
        raise ValueError(f"lexer {name!r} is not available (built: {available_lexers()})")
    return functions


use_lexer(
    "pure" if os.environ.get("EDIGW_LEXER", "").strip().lower() == "pure" else available_lexers()[0]
)
