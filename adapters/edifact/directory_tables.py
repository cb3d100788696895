"""The directory tables: their compact form in memory, loading, and where they are found.

Packaged tables (``adapters/edifact/directories/``) first, then the ones generated on this
machine from the Bots grammars, on the search path. Part of :mod:`adapters.edifact.directory`
(which re-exports the public names).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final, TypeVar

_FORMAT = re.compile(r"^(an|a|n)(\.\.)?(\d+)$")


@dataclass(frozen=True, slots=True, eq=False)  # identity equality: stacks compare fast
class _Node:
    """A segment (no children) or a segment group (children, first one is the trigger)."""

    name: str  # segment tag or "SGn"
    minimum: int
    maximum: int
    children: tuple[_Node, ...] = ()
    tag: str = ""  # the segment that starts this node: itself, or a group's trigger
    positions: dict[str, tuple[int, ...]] = field(default_factory=dict)  # child tag -> indices

    @property
    def is_group(self) -> bool:
        return bool(self.children)


def _make_node(name: str, minimum: int, maximum: int, children: tuple[_Node, ...] = ()) -> _Node:
    positions: dict[str, list[int]] = {}
    for index, child in enumerate(children):
        positions.setdefault(child.tag, []).append(index)
    tag = children[0].tag if children else name
    return _Node(name, minimum, maximum, children, tag, {t: tuple(i) for t, i in positions.items()})


@dataclass(frozen=True, slots=True)
class _ElementDef:
    ident: str
    required: bool
    kind: str = "an"  # "a", "n" or "an"; unused for composites
    max_length: int = 0
    fixed: bool = False
    components: tuple[_ElementDef, ...] = ()


V = TypeVar("V")


class _Lazy(Mapping[str, V]):
    """A table's messages, segments or code lists, each built from its JSON when first asked
    for: a message is checked against its own structure, segments and code lists, not the
    whole directory's (issue #20, point 6).

    >>> parts = _Lazy({"A": [1, 2]}, tuple)
    >>> "A" in parts, parts["A"], parts.get("B"), len(parts)
    (True, (1, 2), None, 1)
    """

    __slots__ = ("_build", "_built", "_raw")

    def __init__(self, raw: dict[str, Any], build: Callable[[Any], V]) -> None:
        self._raw = raw
        self._build = build
        self._built: dict[str, V] = {}

    def __getitem__(self, key: str) -> V:
        try:
            return self._built[key]
        except KeyError:
            value = self._built[key] = self._build(self._raw[key])
            return value

    def __contains__(self, key: object) -> bool:
        return key in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


@dataclass(frozen=True, slots=True)
class _Table:
    name: str
    messages: Mapping[str, _Node]
    segments: Mapping[str, tuple[_ElementDef, ...]]
    codes: Mapping[str, frozenset[str]]


def _node(raw: list[Any]) -> _Node:
    if len(raw) == 4:
        return _make_node(str(raw[0]), int(raw[1]), int(raw[2]), tuple(_node(c) for c in raw[3]))
    return _make_node(str(raw[0]), int(raw[1]), int(raw[2]))


def _element(raw: list[Any]) -> _ElementDef:
    ident, required, spec = str(raw[0]), bool(raw[1]), raw[2]
    if isinstance(spec, list):
        return _ElementDef(ident, required, components=tuple(_element(c) for c in spec))
    match = _FORMAT.match(str(spec))
    if match is None:  # unknown format in the data: accept anything rather than fail
        return _ElementDef(ident, required)
    return _ElementDef(ident, required, match.group(1), int(match.group(3)), match.group(2) is None)


# Where the tables generated on this machine live (edigw directories generate, run by
# scripts/setup.sh in a checkout): derived from the Bots grammars (GPL-3.0), so never part of
# the package. An installed gateway's are in <state_dir>/directories (gateway.bootstrap).
ENV_PATH: Final = "EDIGW_DIRECTORY_PATH"
DEFAULT_LOCAL: Final = Path(__file__).resolve().parents[2] / "var" / "directories"
# The directories that generator writes (adapters/edifact/bots_grammars.DIRECTORIES; a test holds the
# two equal): every UN directory the Bots wheel carries, D.93A to D.17B, so that a partner on
# any of them is checked against its own directory. A message in one of them whose table is
# absent says how to generate it.
GENERATED: Final = (
    "D93A", "D94A", "D94B", "D95A", "D95B", "D96A", "D96B", "D97A", "D97B", "D98A", "D98B",
    "D99A", "D99B", "D00A", "D00B", "D01A", "D01B", "D01C", "D02A", "D02B", "D03A", "D03B",
    "D04A", "D04B", "D05A", "D05B", "D06A", "D06B", "D07A", "D07B", "D08A", "D08B", "D09A",
    "D09B", "D10A", "D10B", "D11A", "D11B", "D12A", "D12B", "D13A", "D13B", "D14A", "D14B",
    "D15A", "D15B", "D16A", "D16B", "D17A", "D17B",
)  # fmt: skip
GENERATE_COMMAND: Final = "edigw directories generate (in a checkout: bash scripts/setup.sh)"
# The logger keeps the name of the module this came from, which operators filter on.
LOGGER_NAME: Final = "adapters.edifact.directory"
_configured: tuple[Path, ...] | None = None


def configure_search_path(folders: Iterable[str | os.PathLike[str]] | None) -> bool:
    """Look for generated tables in ``folders`` (None: the default); whether that changed.

    On a change the cached tables are dropped (``directory.set_search_path``, the public
    entry, drops the cached plans made from them too).
    """
    global _configured
    wanted = None if folders is None else tuple(Path(f) for f in folders)
    if wanted == _configured:
        return False
    _configured = wanted
    _table.cache_clear()
    available_directories.cache_clear()
    _warned.clear()
    return True


def search_path() -> tuple[Path, ...]:
    """The folders of generated tables, searched after the packaged ones, first one first.

    :func:`set_search_path` if it was called, else ``$EDIGW_DIRECTORY_PATH`` (folders joined
    by ``os.pathsep``), else ``var/directories`` of the checkout.

    >>> search_path() == (DEFAULT_LOCAL,) or ENV_PATH in os.environ or _configured is not None
    True
    """
    if _configured is not None:
        return _configured
    env = os.environ.get(ENV_PATH)
    if env:
        return tuple(Path(f) for f in env.split(os.pathsep) if f)
    return (DEFAULT_LOCAL,)


# The packaged tables (package data of adapters.edifact.directories, beside this module in a
# checkout and in a wheel): a plain folder, as importlib.resources would find it, without
# loading importlib.resources (tempfile, shutil, zipfile: issue #20, point 6).
PACKAGED = Path(__file__).resolve().parent / "directories"


def _read_packaged(name: str) -> dict[str, Any] | None:
    resource = PACKAGED / f"{name}.json"
    if not resource.is_file():
        return None
    data: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return data


def _read_local(name: str) -> dict[str, Any] | None:
    for folder in search_path():
        path = folder / f"{name}.json"
        if path.is_file():
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return data
    return None


@cache
def _table(name: str) -> _Table | None:
    """Load one directory once: the packaged table, gaps filled from a generated one.

    The packaged table (LGPL/MIT sources) wins for every message structure, segment and code
    list it has; the generated one (Bots, on this machine only) adds the rest. None when
    neither exists.
    """
    packaged, local = _read_packaged(name), _read_local(name)
    if packaged is None and local is None:
        return None
    data: dict[str, dict[str, Any]] = {"messages": {}, "segments": {}, "codes": {}}
    for layer in (local, packaged):  # the later layer wins
        for key, part in data.items():
            part.update((layer or {}).get(key, {}))
    return _Table(
        name,
        _Lazy(data["messages"], _message),
        _Lazy(data["segments"], _segment),
        _Lazy(data["codes"], frozenset),
    )


def _message(tree: list[Any]) -> _Node:
    return _make_node("message", 1, 1, tuple(_node(n) for n in tree))


def _segment(elements: list[Any]) -> tuple[_ElementDef, ...]:
    return tuple(_element(e) for e in elements)


@cache
def packaged_directories() -> tuple[str, ...]:
    """Names of the packaged tables (part of the code, always there).

    >>> packaged_directories()
    ('D00A', 'D03B', 'D04B', 'D24A', 'D95B', 'D99A', 'service_v3', 'service_v4')
    """
    return tuple(sorted(p.name[:-5] for p in PACKAGED.iterdir() if p.name.endswith(".json")))


@cache
def available_directories() -> tuple[str, ...]:
    """Names of the packaged tables and of those generated on this machine.

    >>> set(packaged_directories()) <= set(available_directories())
    True
    """
    names = set(packaged_directories())
    for folder in search_path():
        if folder.is_dir():
            names.update(p.name[:-5] for p in folder.glob("*.json"))
    return tuple(sorted(names))


_warned: set[str] = set()


def _missing_note(directory: str) -> str:
    """What the nearest-directory note adds when the directory's own table is generated here.

    Logged once per directory as well, so an operator sees it without reading every CONTRL.
    """
    if directory not in GENERATED or directory in available_directories():
        return ""
    if directory not in _warned:
        _warned.add(directory)
        import logging  # here: a translation that warns of nothing does not load it (#20)

        logging.getLogger(LOGGER_NAME).warning(
            "UN/EDIFACT directory %s: its generated table is absent from %s; messages in it "
            "are checked against the nearest directory (warnings only). Generate it with %s",
            directory,
            os.pathsep.join(map(str, search_path())),
            GENERATE_COMMAND,
        )
    return f"; its table is generated on the installing machine: run {GENERATE_COMMAND}"
