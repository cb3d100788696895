#!/usr/bin/env python3
"""Generate the compact UN/EDIFACT directory tables used by ``adapters.edifact.directory``.

Reads the XML directory definitions kept in the shared corpus (php-edifact/edifact-mapping
for D.95B and the ISO 9735 service segments, pydifact for D.24A message structures) and
writes one JSON table per directory into ``adapters/edifact/directories/``::

    .venv/bin/python tools/gen_directory_tables.py                     # default corpus path
    .venv/bin/python tools/gen_directory_tables.py ../shared/corpus/edifact/directory --out /tmp/x

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
generator and compare bytes.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "edifact" / "directory"
DEFAULT_OUT = REPO_ROOT / "adapters" / "edifact" / "directories"

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


def load_sources(corpus: Path) -> dict[str, dict[str, str]]:
    """Rows of ``SOURCES.tsv`` (one level above the directory folder) keyed by local file."""
    tsv = corpus.parent / "SOURCES.tsv"
    rows: dict[str, dict[str, str]] = {}
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


def parse_structure(path: Path) -> list[Any]:
    """The message tree of one ``messages/*.xml`` as nested compact lists."""

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

    return walk(ET.parse(path).getroot())


def segment_tags(tree: list[Any]) -> set[str]:
    tags: set[str] = set()
    for node in tree:
        if len(node) == 4:
            tags |= segment_tags(node[3])
        else:
            tags.add(node[0])
    return tags


def element_format(el: ET.Element) -> str:
    """``an..35`` style format; ``length`` in the XML means a fixed length (``n3``)."""
    kind = el.get("type", "an")
    if el.get("length"):
        return f"{kind}{el.get('length')}"
    return f"{kind}..{el.get('maxlength', '35')}"


def parse_segments(path: Path, wanted: set[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for seg in ET.parse(path).getroot().iter("segment"):
        tag = seg.get("id", "")
        if tag not in wanted:
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


def load_messages(
    corpus: Path, folder: str, sources: dict[str, dict[str, str]]
) -> tuple[dict[str, list[Any]], list[dict[str, str]]]:
    """The structures of the wanted messages that ``folder`` defines, and their provenance."""
    messages: dict[str, list[Any]] = {}
    provenance: list[dict[str, str]] = []
    for name in MESSAGES:
        rel = f"{folder}/{name.lower()}.xml"
        if (corpus / rel).is_file():
            messages[name] = parse_structure(corpus / rel)
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
        if version == "3":
            # The only service code lists in the corpus are the syntax-3 ones shipped with D95B.
            entry["codes"] = parse_codes(corpus / "D95B/service_codes_v3.xml", SERVICE_CODE_LISTS)
            entry["sources"].append(source_entry(sources, "D95B/service_codes_v3.xml"))
        else:
            entry["note"] = (
                "no syntax-4 code lists in the corpus; codes are taken from service_v3 as nearest"
            )
        tables[folder] = entry
    return tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "corpus", nargs="?", type=Path, default=DEFAULT_CORPUS, help="corpus directory folder"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    corpus: Path = args.corpus
    if not (corpus / "D95B" / "segments.xml").is_file():
        print(
            f"{corpus}: not a directory-definition folder (no D95B/segments.xml)", file=sys.stderr
        )
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for stem, table in build_tables(corpus).items():
        (args.out / f"{stem}.json").write_text(dump(table), encoding="utf-8")
        print(f"wrote {args.out / f'{stem}.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
