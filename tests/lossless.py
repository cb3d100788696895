"""Lossless by construction (issue #16): the property, and messages to hold it to.

:func:`check` holds one decoded message to the property: its input data elements (every
non-empty value of its data segments, syntax 4 repetitions included; UNH, UNT and UNS are the
envelope's) are the mapped ones plus the ones carried verbatim in the document's NotMapped
section. Carried: each NotMapped element is an input value, at its position, as sent, once.
Mapped: each other input value is in the document, which must change when the value does
(:func:`mutated`: a digit, a letter or the last character changed); a codec that read a value
and dropped it, or claimed a value it does not keep, fails here. A message may also be
refused for the change (``MappingError``): the value mattered.

:func:`generate` builds messages from the UN/EDIFACT directory tables (the packaged ones, and
the generated ``var/directories`` when present): the message structure (groups, their
repetitions), the segments' data elements and composites, the code lists (D.95B's), and
values of the shapes the codecs read (UN/LOCODEs, container and IMO numbers, dates in their
format, masses in their units) with others around them. CUSREP and IFTDGN, which no table
defines, are built from the segments their codecs' docstrings list, with the D.95B segment
definitions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from adapters.common import MappingError
from adapters.edifact import Delimiters, Interchange, Message, Segment, parse, serialize_segment
from adapters.edifact.directory_tables import _ElementDef, _Node, _table, available_directories
from adapters.registry import MessageCodec, codec_for
from bench.gen_cuscar import container_number


class Chooser(Protocol):
    """What generation draws from: ``random.Random`` or hypothesis's ``st.randoms()``."""

    def random(self) -> float: ...

    def randint(self, a: int, b: int) -> int: ...

    def choice(self, seq: Any) -> Any: ...


Position = tuple[
    int, int, int, int
]  # segment in the message (UNH = 1), element, component, repetition


def input_elements(message: Message) -> dict[Position, tuple[str, str]]:
    """Every data element of the message's data segments: position -> (tag, value)."""
    first = message.segments[0].number
    found: dict[Position, tuple[str, str]] = {}
    for seg in message.segments:
        if seg.tag.startswith("UN"):
            continue
        n = seg.number - first + 1
        for e, element in enumerate(seg.elements):
            for c, value in enumerate(element):
                if value:
                    found[(n, e, c, 0)] = (seg.tag, value)
        for e, occurrences in seg.repeats:
            for r, element in enumerate(occurrences[1:], start=1):
                for c, value in enumerate(element):
                    if value:
                        found[(n, e, c, r)] = (seg.tag, value)
    return found


def mutated(value: str) -> str:
    """``value`` with its last digit, else its last letter, else its last character changed."""
    for i in range(len(value) - 1, -1, -1):
        ch = value[i]
        if "0" <= ch <= "9":
            return value[:i] + str((int(ch) + 1) % 10) + value[i + 1 :]
    for i in range(len(value) - 1, -1, -1):
        ch = value[i]
        if ch.isascii() and ch.isalpha():
            base = "a" if ch.islower() else "A"
            return value[:i] + chr((ord(ch) - ord(base) + 1) % 26 + ord(base)) + value[i + 1 :]
    return value[:-1] + ("X" if value[-1] != "X" else "Y")


def _with_value(message: Message, at: Position, value: str) -> Message:
    """``message`` with the data element at ``at`` (repetition 0) changed to ``value``."""
    n, e, c, _ = at
    index = n - 1
    seg = message.segments[index]
    elements = list(seg.elements)
    components = list(elements[e])
    components[c] = value
    elements[e] = tuple(components)
    repeats = tuple(
        (i, (tuple(components), *occurrences[1:])) if i == e else (i, occurrences)
        for i, occurrences in seg.repeats
    )
    segments = list(message.segments)
    segments[index] = Segment(seg.tag, tuple(elements), seg.number, repeats)
    return dataclasses.replace(message, segments=segments)


def same_document(a: Any, b: Any) -> bool:
    """The two documents are equal but for the header's ids, creation time and payload hash."""
    ha = a.header
    hb = dataclasses.replace(
        b.header,
        message_id=ha.message_id,
        correlation_id=ha.correlation_id,
        created_at=ha.created_at,
        payload_hash=ha.payload_hash,
    )
    return bool(dataclasses.replace(b, header=hb) == a)


@dataclass
class Verdict:
    """What :func:`check` found for one message."""

    accepted: bool
    inputs: int = 0
    carried: int = 0
    mapped: int = 0
    problems: list[str] = field(default_factory=list)


def check(
    message: Message,
    interchange: Interchange,
    codec: MessageCodec,
    mutate: Callable[[list[Position]], list[Position]] | None = None,
) -> Verdict:
    """Input data elements = mapped + carried verbatim, for one message.

    ``mutate`` picks which of the mapped elements are changed to prove they are mapped (all of
    them when None).
    """
    try:
        doc: Any = codec.decode(message, interchange, None, {})
    except MappingError:
        return Verdict(accepted=False)
    inputs = input_elements(message)
    verdict = Verdict(accepted=True, inputs=len(inputs))
    carried: set[Position] = set()
    for e in doc.not_mapped:
        at = (e.segment, e.element, e.component, e.repetition)
        if at in carried:
            verdict.problems.append(f"{e.tag} {e.position} r{e.repetition} carried twice")
        carried.add(at)
        sent = inputs.get(at)
        if sent is None:
            verdict.problems.append(f"{e.tag} {e.position}: carried but not in the input")
        elif sent != (e.tag, e.value):
            verdict.problems.append(f"{e.tag} {e.position}: carried {e.value!r}, sent {sent}")
        if e.qualifier is not None:
            first = message.segments[e.segment - 1]
            if first.get(0) != e.qualifier:
                verdict.problems.append(f"{e.tag} {e.position}: qualifier {e.qualifier!r}")
    mapped = [at for at in inputs if at not in carried]
    verdict.carried, verdict.mapped = len(carried), len(mapped)
    for at in mapped if mutate is None else mutate(mapped):
        tag, value = inputs[at]
        if at[3]:
            verdict.problems.append(f"{tag} {at}: a repetition counted as mapped")
            continue
        try:
            other = codec.decode(_with_value(message, at, mutated(value)), interchange, None, {})
        except MappingError:
            continue  # refused once changed: the value mattered
        if same_document(doc, other):
            verdict.problems.append(
                f"{tag} {at[0]}:{at[1]}:{at[2]} {value!r}: neither in the document (changing it "
                "changes nothing) nor carried"
            )
    return verdict


def messages_of(data: bytes) -> Iterator[tuple[Interchange, Message, MessageCodec]]:
    """The messages of ``data`` a codec takes, with it."""
    for ic in parse(data):
        for message in ic.messages:
            codec = codec_for(message)
            if codec is not None:
                yield ic, message, codec


# ---------------------------------------------------------------- generation

D95B = "D95B"  # the one packaged table with code lists: they serve the other directories too
LOCODES = ("DZALG", "DZORN", "DZBJA", "DZSKI", "FRMRS", "ITGOA", "ESVLC", "EGALY", "NLRTM")
IMO_NUMBERS = ("9703291", "9454436", "9398371", "9287039", "9285237")
COUNTRIES = ("DZ", "FR", "ES", "IT", "EG", "US", "NL")
NAMES = ("BENALI", "KARIM", "ACME SPA", "SARL NUMIDIA", "ÉTS BOUZIDI", "AMEL", "LUC MARTIN")
WORDS = ("PIECES", "LAPTOPS", "RICE", "PAINT", "12 RUE DIDOUCHE", "QUAI 12", "ALGER", "MARSEILLE")
# Codes the codecs read, per data element: drawn more often than the rest of a code list.
CODES: dict[str, tuple[str, ...]] = {
    "1001": ("85", "785", "745", "250", "44", "46", "705", "714", "740", "703"),
    "1225": ("9", "9", "9", "5", "4", "1", "22", "2", "3"),
    "1153": ("BM", "BH", "MB", "HB", "AAM", "AAA", "ABZ", "ZVC", "ZVI", "ZVM", "ZVD", "ZCS", "TN"),
    "2005": ("132", "232", "178", "133", "186", "136", "137", "189", "329", "36", "203", "206"),
    "3035": ("CZ", "CN", "N1", "NI", "CA", "AG", "MS", "FL", "FM", "VW", "DDT", "DDU", "ZZZ"),
    "3227": (
        *("9", "11", "5", "13", "7", "8", "88", "76", "60", "125", "22", "87", "91", "178"),
        *("179", "180", "147", "61"),
    ),
    "4451": ("AAA", "AAD", "AAC", "AAI"),
    "6069": ("5", "7", "11", "16", "41", "42", "8"),
    "6311": ("AAE", "AAE", "AAI", "WT"),
    "6313": ("G", "G", "AAW", "AAB", "AAA", "AAL", "N", "T", "VGM", "AAG"),
    "8051": ("20", "20", "11", "10"),
    "8053": ("CN", "CN", "TE", "BL"),
    "8169": ("4", "5", "7"),
    "8249": ("2", "3", "6"),
    "4233": ("24", "28"),
    "8273": ("IMD", "IMD", "ADR"),
    "9017": ("2",),
    "9019": ("M", "F", "X", "m", "MALE"),
    "3493": ("2",),
    "6245": ("2", "11"),
    "9003": ("1",),
    "4347": ("5", "1"),
    "7143": ("HS", "CG", "ZZZ"),
    "1131": ("139", "139", "146", "172", "102", "103", "162", "ZZZ", "163", "HS"),
    "3055": ("6", "6", "5", "11", "20", "ZZZ", "166"),
    "6411": ("KGM", "KGM", "TNE", "LBR", "MTQ", "CEL", "FAH", "K"),
    "7065": ("CT", "PK", "BG", "DR"),
    "8067": ("1", "3", "03"),
    "3155": ("TE", "EM"),
    "3139": ("IC",),
    "9303": ("CA", "SH", "CU"),
    "8339": ("1", "2", "3", "II"),
    "8351": ("3", "2.1", "8"),
    "3207": COUNTRIES,
    "3293": COUNTRIES,
    "8453": COUNTRIES,
}


def _digits(rng: Chooser, low: int, high: int) -> str:
    width = rng.randint(low, high)
    return str(rng.randint(0, 10**width - 1)).zfill(width)


def _date(rng: Chooser, fmt: str) -> str:
    day = dt.datetime(2020, 1, 1) + dt.timedelta(minutes=rng.randint(0, 4_000_000))
    return day.strftime("%Y%m%d%H%M" if fmt == "203" else "%Y%m%d")


# Values of the shapes the codecs read, per data element (else by the element's format).
VALUES: dict[str, Callable[[Chooser], str]] = {
    "3225": lambda r: r.choice(LOCODES) if r.random() < 0.9 else r.choice(("0901", "XX")),
    "8260": lambda r: container_number(r.randint(1, 999_999)),
    "8213": lambda r: r.choice(IMO_NUMBERS) if r.random() < 0.96 else "D5LQ7",
    "1004": lambda r: "DOC" + _digits(r, 3, 8),
    "1154": lambda r: r.choice(("BL", "REF", "")) + _digits(r, 3, 8),
    "6314": lambda r: _digits(r, 1, 5) + (("." + _digits(r, 1, 4)) if r.random() < 0.4 else ""),
    "6066": lambda r: _digits(r, 1, 4),
    "7224": lambda r: _digits(r, 1, 4),
    "1496": lambda r: _digits(r, 1, 2),
    "1490": lambda r: _digits(r, 1, 2),
    "7124": lambda r: r.choice(("1170", "1263", "1203", "3082")) if r.random() < 0.95 else "UN12",
    "7106": lambda r: r.choice(("23", "-5", "013", "1.5")),
    "8364": lambda r: r.choice(("F-E,S-E", "F-A")),
    "6246": lambda r: r.choice(("-18", "5.5", "2")),
    "7361": lambda r: r.choice(("847130", "8471.30", "1006")),
    "7140": lambda r: r.choice(("847130", "8471.30")),
    "3229": lambda r: r.choice(("VA", "13")),
    "3251": lambda r: _digits(r, 5, 5),
    "8155": lambda r: r.choice(("45G1", "22G1", "45R1")),
    "3127": lambda r: r.choice(("MSC", "CMDU")),
    "9308": lambda r: "SL" + _digits(r, 5, 7),
    "3148": lambda r: r.choice(("00213550123456", "agent@port.dz")),
    "9005": lambda r: r.choice(("CR2", "CR1")),
}
_LETTERS = string.ascii_uppercase
_ALNUM = string.ascii_uppercase + string.digits + string.ascii_uppercase
# Components whose value depends on the composite they are in (an IMO number's list, agency).
COMPONENTS: dict[tuple[str, int], tuple[str, ...]] = {
    ("C222", 1): ("146", "146", "IMO", ""),
    ("C222", 2): ("11", "11", ""),
    ("C517", 1): ("139", "139", ""),
    ("C517", 2): ("6", "6", ""),
}
TEXT_ELEMENTS = ("3036", "3124", "3042", "3164", "3128", "8212", "3412", "4440", "7102", "7064")


_SORTED: dict[str, tuple[str, ...]] = {}


def _listed(codes: dict[str, frozenset[str]], ident: str) -> tuple[str, ...]:
    """A code list in a fixed order (a draw must not depend on a set's order)."""
    found = _SORTED.get(ident)
    if found is None:
        found = _SORTED[ident] = tuple(sorted(codes.get(ident, ())))
    return found


def _value(rng: Chooser, d: _ElementDef, codes: dict[str, frozenset[str]]) -> str:
    maker = VALUES.get(d.ident)
    if maker is not None:
        return maker(rng)
    hot = CODES.get(d.ident)
    listed = _listed(codes, d.ident)
    if hot and (not listed or rng.random() < 0.93):
        return str(rng.choice(hot))
    if listed:
        return str(rng.choice(listed))
    if d.ident in TEXT_ELEMENTS:
        text = str(rng.choice(NAMES + WORDS))
        return text if rng.random() < 0.97 else text * 20  # longer than its field: cut, carried
    width = max(1, min(d.max_length or 12, 12))
    if d.kind == "n":
        return _digits(rng, 1, width)
    alphabet = _LETTERS if d.kind == "a" else _ALNUM
    start = rng.randint(0, len(alphabet) - width)
    return alphabet[start : start + rng.randint(1, width)]


def _composite(
    rng: Chooser, d: _ElementDef, codes: dict[str, frozenset[str]], fill: float
) -> list[str]:
    if d.ident == "C507":  # a date in the format it says
        fmt = str(rng.choice(("102", "203", "203", "")))
        value = _date(rng, fmt or "102")
        if rng.random() < 0.05:
            value = value[:-1]  # a date that is not one
        return [_value(rng, d.components[0], codes), value, fmt]
    values = []
    for i, c in enumerate(d.components):
        wanted = c.required or rng.random() < fill
        hint = COMPONENTS.get((d.ident, i))
        if hint is not None and rng.random() < 0.7:
            values.append(str(rng.choice(hint)))
        else:
            values.append(_value(rng, c, codes) if wanted else "")
    return values


# The qualifier of the port of call, per call message type: its first LOC is given it.
PORTS = {"CUSREP": "60", "IFTDGN": "60", "COARRI": "11"}

# Elements filled even when optional: what makes a message a codec can take.
ALWAYS: dict[str, tuple[int, ...]] = {
    "BGM": (0, 1, 2),
    "CNI": (1,),
    "NAD": (0, 3),
    "EQD": (1,),
    "TDT": (1, 7),
    "LOC": (1,),
    "RFF": (0,),
    "DGS": (1, 2),
    "GID": (1,),
}


@dataclass
class Built:
    """A message being written: its segment texts, and the choices it draws from."""

    rng: Chooser
    directory: str
    message_type: str
    delimiters: Delimiters
    syntax: int
    segments: list[str] = field(default_factory=list)
    port_said: bool = False

    def segment(
        self, tag: str, defs: tuple[_ElementDef, ...], codes: dict[str, frozenset[str]]
    ) -> None:
        rng = self.rng
        fill = rng.choice((0.25, 0.4, 0.7))
        elements: list[tuple[str, ...]] = []
        always = ALWAYS.get(tag, ())
        for i, d in enumerate(defs):
            wanted = d.required or i in always or rng.random() < fill
            if not wanted:
                elements.append(("",))
            elif d.components:
                comps = _composite(rng, d, codes, fill)
                if i in always and not comps[0]:
                    comps[0] = _value(rng, d.components[0], codes)
                elements.append(tuple(comps))
            else:
                elements.append((_value(rng, d, codes),))
        if tag == "BGM" and self.message_type == "COARRI" and rng.random() < 0.9:
            elements[0] = (str(rng.choice(("44", "46"))), *elements[0][1:])
        port = PORTS.get(self.message_type)
        if tag == "LOC" and port is not None and not self.port_said and rng.random() < 0.9:
            # The port of call the call codecs need, first: an Algerian UN/LOCODE.
            elements[0] = (port,)
            elements[1] = (str(rng.choice(LOCODES[:4])), *elements[1][1:])
            self.port_said = True
        text = serialize_segment(tag, elements, self.delimiters)
        if self.syntax == 4 and self.delimiters.element in text and rng.random() < 0.05:
            # A syntax 4 repetition of the last element: carried, never mapped.
            text = text[:-1] + self.delimiters.repetition + "REPEAT" + text[-1]
        self.segments.append(text)


# Per message type, the segments (or groups they open) a message has at least once: what its
# codec needs to take it (the voyage, the port, a traveller, a bill), most of the time.
WANTED: dict[str, tuple[str, ...]] = {
    "CUSCAR": ("BGM", "CNI", "GID"),
    "PAXLST": ("BGM", "NAD"),
    "COARRI": ("BGM", "TDT", "LOC", "EQD"),
}


def _walk(built: Built, node: _Node, table: Any, codes: dict[str, frozenset[str]]) -> None:
    rng = built.rng
    wanted = WANTED.get(built.message_type, ())
    for child in node.children:
        if child.name in ("UNH", "UNT"):
            continue
        low = child.minimum
        if child.tag in wanted and rng.random() < 0.95:
            low = max(low, 1)
        high = min(child.maximum, 2)
        count = low if rng.random() < 0.6 else rng.randint(low, max(low, high))
        for _ in range(count):
            if child.is_group:
                _walk_group(built, child, table, codes)
            else:
                _emit(built, child.name, table, codes)


def _walk_group(built: Built, group: _Node, table: Any, codes: dict[str, frozenset[str]]) -> None:
    trigger, *rest = group.children
    _emit(built, trigger.name, table, codes)
    _walk(built, _Node(group.name, 1, 1, tuple(rest)), table, codes)


def _emit(built: Built, tag: str, table: Any, codes: dict[str, frozenset[str]]) -> None:
    defs = table.segments.get(tag)
    if defs is not None:
        built.segment(tag, defs, codes)


# The call profiles no table defines (their codecs' docstrings), as (tag, min, max) per group.
PROFILES: dict[str, tuple[tuple[str, int, int], ...]] = {
    "CUSREP": (
        ("BGM", 1, 1),
        ("DTM", 0, 2),
        ("TDT", 1, 1),
        ("RFF", 0, 2),
        ("LOC", 1, 4),
        ("DTM", 0, 3),
        ("QTY", 0, 4),
        ("MEA", 0, 1),
        ("FTX", 0, 2),
        ("GIS", 0, 1),
    ),
    "IFTDGN": (("BGM", 1, 1), ("DTM", 0, 1), ("TDT", 1, 1), ("LOC", 1, 1)),
}
IFTDGN_ITEM = (
    ("DGS", 1, 1),
    ("FTX", 0, 2),
    ("MEA", 0, 1),
    ("EQD", 0, 1),
    ("SGP", 0, 1),
    ("LOC", 0, 1),
)


def _profile(built: Built, table: Any, codes: dict[str, frozenset[str]]) -> None:
    rng = built.rng
    steps = PROFILES[built.message_type]
    if built.message_type == "IFTDGN":
        steps = steps + IFTDGN_ITEM * rng.randint(1, 3)
    for tag, low, high in steps:
        for _ in range(rng.randint(low, high)):
            _emit(built, tag, table, codes)


TARGETS: tuple[tuple[str, str], ...] = tuple(
    sorted(
        {
            (name, message_type)
            for name in available_directories()
            if name.startswith("D")
            for message_type in ("CUSCAR", "PAXLST", "COARRI")
            if (table := _table(name)) is not None and message_type in table.messages
        }
        | {(D95B, "CUSREP"), (D95B, "IFTDGN")}
    )
)


def generate(rng: Chooser, directory: str, message_type: str) -> bytes:
    """One interchange of one ``message_type`` message built from ``directory``'s table."""
    table = _table(directory)
    base = _table(D95B)
    assert table is not None and base is not None
    codes = base.codes
    syntax = int(rng.choice((3, 4)))
    delimiters = Delimiters.default(syntax)
    built = Built(rng, directory, message_type, delimiters, syntax)
    if message_type in PROFILES:
        _profile(built, base, codes)
    else:
        _walk(built, table.messages[message_type], table, codes)
    version, release = directory[1:3], directory[3:]
    charset = "UNOW" if syntax == 4 else "UNOC"
    date = "20261207:0600" if syntax == 4 else "261207:0600"
    head = [
        f"UNB+{charset}:{syntax}+APCS:ZZZ+CUSTOMS:ZZZ+{date}+G1'",
        f"UNH+1+{message_type}:D:{version}{release}:UN'",
    ]
    body = built.segments
    tail = [f"UNT+{len(body) + 2}+1'", "UNZ+1+G1'"]
    return "".join(head + body + tail).encode("utf-8")
