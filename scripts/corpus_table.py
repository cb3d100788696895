"""The corpus table of docs/edifact.md: every corpus file, what the gateway makes of it, and why.

Every message file of the shared corpus (``../shared/corpus`` or ``$EDIGW_CORPUS``: its
``edifact/*.edi`` and the XML instance documents of ``xml/``; its licensed copies are in
``tests/data/edifact`` and ``tests/data/corpus``) goes through ``edigw translate``'s path
(``gateway.service.pipeline.translate``: the gateway's reading, directory checks, mapping,
business rules and canonical schema, without a partner's configuration). The outcome and its
codes are computed; the reason is an EDI expert's, written below per file, and the script
refuses to write a table whose computed outcome is not the one the reason explains. So the
table cannot go stale: ``tests/unit/test_corpus_table.py`` renders it again and compares.

    .venv/bin/python scripts/corpus_table.py            # print the table
    .venv/bin/python scripts/corpus_table.py --write    # write it into docs/edifact.md
    .venv/bin/python scripts/corpus_table.py --check    # exit 1 when docs/edifact.md differs
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adapters.common import DecodeContext  # noqa: E402
from gateway.domain import not_mapped  # noqa: E402
from gateway.service.pipeline import translate  # noqa: E402
from tests.corpus import CORPUS  # noqa: E402

DOC = ROOT / "docs" / "edifact.md"
BEGIN = "<!-- corpus-table: begin (scripts/corpus_table.py --write) -->"
END = "<!-- corpus-table: end -->"

UNT = "UNT counts"


@dataclass(frozen=True)
class Reason:
    """What the gateway must make of a file (outcome, its first code) and why."""

    outcome: str  # accepted | rejected
    code: str  # the rejection's reason, or "" when accepted
    why: str


def accepted(why: str) -> Reason:
    return Reason("accepted", "", why)


def rejected(code: str, why: str) -> Reason:
    return Reason("rejected", code, why)


NOT_TAKEN = "UNSUPPORTED_MESSAGE_TYPE"
SYNTAX = "EDIFACT_SYNTAX"
DIRECTORY = "EDIFACT_DIRECTORY"

ACK = (
    "an acknowledgement, which the gateway takes from no partner and answers with none "
    "(ISO 9735-5): refused before its content is read, no CONTRL sent"
)
OTHER = "refused in the CONTRL (code 14) before its content is read"

REASONS: dict[str, Reason] = {
    "edifact/APERAK_bots_1.edi": rejected(NOT_TAKEN, f"a well-formed APERAK: {ACK}"),
    "edifact/APERAK_indice_1.edi": rejected(
        SYNTAX,
        "a stray empty `UNB+++++4` opens an interchange with no syntax identifier, sender, "
        "recipient or message; the real UNB after it has no control reference, so the UNZ "
        "reference `4` matches nothing",
    ),
    "edifact/APERAK_portico_1.edi": rejected(NOT_TAKEN, f"a bare APERAK (no UNB): {ACK}"),
    "edifact/APERAK_portico_2.edi": rejected(NOT_TAKEN, f"a bare APERAK: {ACK}"),
    "edifact/APERAK_portico_3.edi": rejected(NOT_TAKEN, f"a bare APERAK: {ACK}"),
    "edifact/APERAK_pydifact_1.edi": rejected(
        NOT_TAKEN, f"an APERAK (a library fixture whose UNT miscounts): {ACK}"
    ),
    "edifact/APERAK_pydifact_2.edi": rejected(
        NOT_TAKEN, f"an APERAK in syntax 4 (a library fixture whose UNT miscounts): {ACK}"
    ),
    "edifact/BAPLIE_edifabric_1.edi": rejected(
        NOT_TAKEN,
        f"a bay plan (BAPLIE) goes from carrier to terminal, not to customs: {OTHER} (its "
        "UNT miscounts too)",
    ),
    "edifact/BAPLIE_edifacttypes_1.edi": rejected(
        NOT_TAKEN, f"a well-formed bay plan (BAPLIE), carrier to terminal: {OTHER}"
    ),
    "edifact/BAPLIE_phpedifact_1.edi": rejected(
        NOT_TAKEN, f"an SMDG bay plan (BAPLIE), carrier to terminal: {OTHER}"
    ),
    "edifact/COARRI_phpedifact_1.edi": rejected(
        "MISSING_IMO_NUMBER",
        "the terminal names the vessel by its call sign only (TDT C222 has no IMO number): no "
        "ship call can be known, so both messages are refused (APERAK); its SMDG codes (`EGW` "
        "...) are not judged by UN code lists, they are warnings",
    ),
    "edifact/CODECO_portico_1.edi": rejected(
        NOT_TAKEN, f"a gate-in/out report (CODECO), terminal to carrier: {OTHER}"
    ),
    "edifact/CODECO_portico_2.edi": rejected(
        NOT_TAKEN, f"a gate-in/out report (CODECO), terminal to carrier: {OTHER}"
    ),
    "edifact/CODECO_portico_3.edi": rejected(
        NOT_TAKEN, f"a gate-in/out report (CODECO), terminal to carrier: {OTHER}"
    ),
    "edifact/CONTRL_edifabric_1.edi": rejected(
        SYNTAX, "`UNB+UNOB+...` has no syntax version number (S001/0002 is mandatory)"
    ),
    "edifact/COPRAR_edifacttypes_1.edi": rejected(
        NOT_TAKEN, f"a container discharge/loading order (COPRAR), carrier to terminal: {OTHER}"
    ),
    "edifact/CUSCAR_cuscartools_1.edi": rejected(
        SYNTAX,
        f"{UNT} 313 segments, the message has 30; TDT's 8213 has 14 characters (an..9) and "
        "a NAD name line 38 (an..35)",
    ),
    "edifact/CUSCAR_edifabric_1.edi": rejected(
        DIRECTORY,
        "the US CBP ACE profile puts an `RFF` after the header's `LOC` and `DOC` before the "
        "goods, where D.03B's CUSCAR has no place for them (out of order)",
    ),
    "edifact/CUSCAR_indice_1.edi": rejected(
        SYNTAX,
        f"UNH has an empty message type (S009 0065) and {UNT} 53 segments for 52; tabs are "
        "layout, lower case in UNOA a warning",
    ),
    "edifact/CUSCAR_indice_2.edi": rejected(
        SYNTAX, f"the same message without UNB: empty message type, {UNT} 53 for 52"
    ),
    "edifact/CUSCAR_portico_1.edi": rejected(
        SYNTAX,
        f"a bare D.95A message: {UNT} 23 segments, it has 27; D.95A's CUSCAR has no CNI (the "
        "Spanish AEAT profile uses a later structure)",
    ),
    "edifact/CUSCAR_smooks_1.edi": rejected(
        "UNKNOWN_MESSAGE_FUNCTION",
        "BGM message function `VSA` is no UNCL 1225 code: whether each manifest is new, a "
        "replacement or a cancellation cannot be guessed, so both are refused (APERAK), "
        "never filed as originals",
    ),
    "edifact/CUSRES_portico_1.edi": rejected(
        NOT_TAKEN, f"a customs response (customs sends it; the gateway writes its own): {ACK}"
    ),
    "edifact/CUSRES_portico_2.edi": rejected(NOT_TAKEN, f"a customs response: {ACK}"),
    "edifact/DESADV_phpedifact_1.edi": rejected(
        NOT_TAKEN, f"a despatch advice between trading partners, not a port message: {OTHER}"
    ),
    "edifact/IFTMIN_chemaclass_1.edi": rejected(
        SYNTAX,
        "UNB date `19101` has 5 digits and time `118` 3 (too short); the second message's "
        f"{UNT} 19 segments for 18",
    ),
    "edifact/IFTMIN_indice_1.edi": rejected(
        SYNTAX,
        "four skeleton messages: UNZ counts 1 message for 4, every UNT 1 segment for 3, "
        "references that do not match, message reference 44 used twice",
    ),
    "edifact/INVOIC_edifabric_1.edi": rejected(
        NOT_TAKEN, f"a commercial invoice (pipe separators from its UNA): {OTHER}"
    ),
    "edifact/INVOIC_smooks_1.edi": rejected(
        NOT_TAKEN, f"a commercial invoice (its UNT miscounts too): {OTHER}"
    ),
    "edifact/PAORES_phpedifact_1.edi": rejected(
        NOT_TAKEN, f"a travel reservation answer (PAORES), not a port message: {OTHER}"
    ),
    "edifact/PAXLST_edifabric_1.edi": accepted(
        "a US CBP ACE crew and passenger list: one traveller (driver, `VW`) with two "
        "documents; CBP's codes outside D.03B's lists (`VW`, `RFA`, `5K`, `39`) are directory "
        "warnings; carried: the list type (BGM `10`), the TDT's stage (`11`, at the border), "
        "the arrival's `132` (the field implies `232`), the name format code, the code list "
        "and agency of the address's state (`VA` is its Subdivision), four more repetitions "
        "of the gender, a document's `LOC+91+VA:163` (a US state, not an issuing country)"
    ),
    "edifact/PAXLST_smooks_1.edi": accepted(
        "the same CBP list in a UNG group, syntax 4 repetitions without UNA; carried as above"
    ),
    "edifact/PAXLST_smooks_2.edi": rejected(
        SYNTAX,
        f"{UNT} 16 segments, the message has 17, and a second header RFF where the directory "
        "allows one (the corpus's negative case)",
    ),
    "edifact/PNRGOV_edifabric_1.edi": rejected(
        NOT_TAKEN, f"an airline passenger name record (IATA syntax): {OTHER}"
    ),
    "xml/cii-uncefact/samples/CII_business_example_01.xml": rejected(
        "UNSUPPORTED_DOCUMENT",
        "a UN/CEFACT Cross Industry Invoice: commercial, not a licence or certificate",
    ),
    "xml/cii-uncefact/samples/CII_example1.xml": rejected(
        "UNSUPPORTED_DOCUMENT", "a Cross Industry Invoice (EN 16931)"
    ),
    "xml/cii-uncefact/samples/CII_example5.xml": rejected(
        "UNSUPPORTED_DOCUMENT", "a Cross Industry Invoice (EN 16931)"
    ),
    "xml/cii-uncefact/samples/XRechnung-O.xml": rejected(
        "UNSUPPORTED_DOCUMENT", "a German XRechnung invoice (CII syntax)"
    ),
    "xml/customs-certex/samples/02-reserveA.request.xml": rejected(
        "LPCO_UNSUPPORTED_DOCUMENT",
        "a SOAP request of the EU CERTEX reservation service: no SPS certificate in it",
    ),
    "xml/customs-certex/samples/02-reserveA.response.xml": rejected(
        "LPCO_UNSUPPORTED_DOCUMENT", "the CERTEX service's SOAP response: no certificate in it"
    ),
    "xml/ephyto/samples/SPSCertificateContent.xml": accepted(
        "an IPPC ePhyto phytosanitary certificate (UN/CEFACT SPS schema) becomes an LPCO; "
        "offline its signature is not checked (warning), the running gateway verifies the "
        "ministry's first"
    ),
    "xml/vet-traces/samples/CHEDA.TEMPLATE.xml": accepted(
        "an EU TRACES CHED-A in the SPS certificate schema becomes an LPCO; a template, its "
        "number the placeholder `{{CHED_ID}}`: offline nothing refuses it, the running "
        "gateway refuses it unsigned"
    ),
}


def corpus_files(corpus: Path = CORPUS) -> list[str]:
    """Every message file of the corpus, relative to it: ``edifact/*.edi`` and the XML
    instance documents (schemas, WSDL and the directory definitions are not messages)."""
    edifact = sorted(p.relative_to(corpus).as_posix() for p in corpus.glob("edifact/*.edi"))
    xml = sorted(p.relative_to(corpus).as_posix() for p in corpus.glob("xml/**/*.xml"))
    return edifact + xml


@dataclass(frozen=True)
class Row:
    file: str
    outcome: str
    codes: str
    why: str


def outcome(data: bytes) -> tuple[str, str, str]:
    """(outcome, first code, codes as the table says them) of ``data`` through the gateway."""
    result = translate(data, DecodeContext(sender="corpus"))
    if result.rejection is not None:
        codes = [result.rejection.reason] + [p.code for p in result.rejection.problems]
        unique = list(dict.fromkeys(c for c in codes if c != "TOO_MANY_PROBLEMS"))
        return "rejected", result.rejection.reason, ", ".join(f"`{c}`" for c in unique)
    if result.rejected_messages:
        codes = [m.rejection.reason for m in result.rejected_messages]
        return "partly", codes[0], ", ".join(f"`{c}`" for c in dict.fromkeys(codes))
    warnings = Counter(w.code for w in result.warnings)
    carried = not_mapped.count(result.documents)
    if carried:
        warnings[not_mapped.CODE] = carried
    said = ", ".join(f"`{code}` x{n}" for code, n in sorted(warnings.items()))
    types = ", ".join(sorted({type(d).__name__ for d in result.documents}))
    return "accepted", "", f"{types}; warnings: {said}" if said else types


def rows(corpus: Path = CORPUS) -> list[Row]:
    """The table's rows; ValueError when a file's outcome is not the one its reason explains."""
    files = corpus_files(corpus)
    unexplained = sorted(set(files) - set(REASONS))
    if unexplained:
        raise ValueError(f"corpus files without a reason: {unexplained}")
    table = []
    for name in files:
        found, code, codes = outcome((corpus / name).read_bytes())
        reason = REASONS[name]
        if (found, code) != (reason.outcome, reason.code):
            raise ValueError(
                f"{name}: the gateway says {found} {code!r}, the reason explains "
                f"{reason.outcome} {reason.code!r}: the reason must be written again"
            )
        table.append(Row(name, found, codes, reason.why))
    return table


def render(corpus: Path = CORPUS) -> str:
    lines = [
        BEGIN,
        "| File | Outcome | Codes | Why |",
        "|---|---|---|---|",
        *(f"| `{r.file}` | {r.outcome} | {r.codes} | {r.why} |" for r in rows(corpus)),
        END,
    ]
    return "\n".join(lines)


def _in_doc(text: str) -> tuple[int, int]:
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return start, end


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write it into docs/edifact.md")
    parser.add_argument("--check", action="store_true", help="exit 1 when the doc differs")
    args = parser.parse_args()
    table = render()
    text = DOC.read_text(encoding="utf-8")
    start, end = _in_doc(text)
    if args.write:
        DOC.write_text(text[:start] + table + text[end:], encoding="utf-8")
    elif args.check:
        if text[start:end] != table:
            print("docs/edifact.md's corpus table is stale: scripts/corpus_table.py --write")
            return 1
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
