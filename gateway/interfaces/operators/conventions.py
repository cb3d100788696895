"""The operators' command-line conventions (issue #19): safe text, JSON lines, id prefixes.

* Whatever a partner sent is printed through :func:`terminal_safe` (text) or
  :func:`json_line` (``--json``): a terminal escape, a carriage return or a bidirectional
  override in a body, a header or a reason never reaches the operator's terminal as such.
* ``--json`` prints one object per line (:func:`json_line`).
* An id may be given by an unambiguous prefix (:func:`resolve_ids`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

# Written once, beside the log lines' own escaping (gateway.logs, which every layer may use).
from gateway.logs import terminal_safe as terminal_safe


class Identified(Protocol):
    """What an id is resolved among: a dead letter, or a kept draft of one."""

    @property
    def id(self) -> str: ...

    @property
    def message_id(self) -> str: ...


#: Shortest prefix accepted for an id: fewer characters match too much by accident.
MIN_PREFIX = 4

# C0 and C1 controls, DEL, and the invisible format characters that reorder or hide text
# (bidirectional overrides and isolates, zero-width characters, line/paragraph separators).
_UNSAFE_JSON = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def terminal_line(value: Any) -> str:
    """One line of a table or a message: only tabs kept (columns), not even newlines."""
    return terminal_safe("" if value is None else str(value), keep="\t")


def json_line(obj: Any) -> str:
    r"""``obj`` as one line of JSON that is safe on a terminal (``\uNNNN`` for what
    :func:`json.dumps` would leave raw: DEL, C1 controls, bidirectional overrides).

    >>> json_line({"reason": "x\x9b31m\u202e"})
    '{"reason": "x\\u009b31m\\u202e"}'
    >>> json.loads(json_line({"a": "\x9b"})) == {"a": "\x9b"}
    True
    """
    text = json.dumps(obj, ensure_ascii=False, default=str)
    return _UNSAFE_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class IdNotFound(LookupError):
    pass


class AmbiguousId(LookupError):
    def __init__(self, prefix: str, candidates: Sequence[str]) -> None:
        self.prefix = prefix
        self.candidates = list(candidates)
        super().__init__(
            f"{prefix!r} is the start of {len(candidates)} dead letters' ids "
            f"({', '.join(candidates[:5])}{', ...' if len(candidates) > 5 else ''}): "
            "give more characters"
        )


def resolve_ids(letters: Iterable[Identified], wanted: Sequence[str]) -> tuple[str, ...]:
    """The full ids meant by ``wanted``: each an id, an AMQP message id, or a prefix of either
    (at least :data:`MIN_PREFIX` characters) that only one dead letter has.

    Raises :class:`IdNotFound` (naming every id that matched nothing) or :class:`AmbiguousId`.
    An exact id or message id always wins over a prefix.
    """
    letters = list(letters)
    resolved: list[str] = []
    missing: list[str] = []
    for want in wanted:
        exact = [d.id for d in letters if want and (d.id == want or d.message_id == want)]
        if exact:
            resolved.extend(exact)
            continue
        if len(want) < MIN_PREFIX:
            missing.append(want)
            continue
        found = list(
            dict.fromkeys(
                d.id for d in letters if d.id.startswith(want) or d.message_id.startswith(want)
            )
        )
        if len(found) > 1:
            raise AmbiguousId(want, found)
        if not found:
            missing.append(want)
        resolved.extend(found)
    if missing:
        raise IdNotFound(", ".join(repr(m) for m in missing))
    return tuple(dict.fromkeys(resolved))
