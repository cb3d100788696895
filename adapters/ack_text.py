"""What the gateway's acknowledgements (CONTRL, APERAK, CUSRES) may write, in the partner's set.

An answer is written in the character set its partner declared (UNB S001/0001): level A
(``UNOA``) is upper case letters, digits and a few signs; ``UNOB`` is ASCII; the others are
their ISO 8859 part or UTF-8. A value the set cannot carry (a partner's lower-case id, an
accented sentence, a control character) is changed here, never written as is: a partner's
translator refuses a whole interchange for one character outside its level.

>>> fit("Poids brut: 3 000 kg (été)", "UNOA")
'POIDS BRUT: 3 000 KG (?T?)'
>>> fit("été\\x00", "UNOC"), fit("été", "UNOB")
('été', '?t?')
>>> fit("HS_CODE", "UNOA"), fit("HS_CODE", "UNOB")
('HS-CODE', 'HS_CODE')
>>> fit("too long", "UNOA", 3)
'TOO'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from adapters.edifact.syntax import CHARSETS

#: Syntax identifiers an acknowledgement is written in; any other falls back to UNOA.
OUTPUT_SETS: Final = frozenset({"UNOA", "UNOB", "UNOC", "UNOD", "UNOE", "UNOF", "UNOW", "UNOY"})
#: The characters of level A (ISO 9735, UNOA); separators among them are escaped when written.
LEVEL_A: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-()/='+:?!\"%&*;<>")


def output_set(syntax_id: str) -> str:
    """The syntax identifier an answer to a ``syntax_id`` interchange is written in."""
    return syntax_id if syntax_id in OUTPUT_SETS else "UNOA"


def fit(text: str, syntax_id: str, size: int | None = None) -> str:
    """``text`` as ``syntax_id`` can carry it: printable, in the set, at most ``size`` long.

    Characters the set lacks become ``?`` (which the serializer escapes). A value with a
    ``size`` is an identifier or code: its surrounding spaces go, before and after the cut;
    free text (no ``size``) keeps its spaces, so that parts of a long text join back.
    """
    syntax_id = output_set(syntax_id)
    text = "".join(ch for ch in text if ch.isprintable())
    if syntax_id == "UNOA":  # "_" (in the gateway's reason codes) is not in level A
        text = "".join(ch if ch in LEVEL_A else "?" for ch in text.upper().replace("_", "-"))
    codec = CHARSETS[syntax_id]
    text = text.encode(codec, "replace").decode(codec)
    if size is None:
        return text
    return text.strip()[:size].strip()


def route(parts: Sequence[str], syntax_id: str, version: int) -> list[str]:
    """A partner's routing components (UNB S002 0008 [, 0042]) as an answer's S003 carries
    them after the id and qualifier: 0014, an..14 in syntax 1-3 (the routing address); 0014
    and 0046, an..35 each, in syntax 4 (internal identification and sub-identification).

    A component longer than its data element is left out with those after it, never cut:
    its first 14 characters are another address, another desk's (the interchange that sent
    it is refused with code 39; the refusal goes to the partner's id and qualifier alone).

    >>> route(["ROUTE-TO-DESK-7-LONG", "SUB"], "UNOC", 3), route(["INT", "SUB"], "UNOC", 4)
    ([], ['INT', 'SUB'])
    >>> route(["DESK7"], "UNOC", 3), route(["I" * 36, "SUB"], "UNOC", 4)
    (['DESK7'], [])
    """
    size = 35 if version >= 4 else 14
    kept: list[str] = []
    for part in parts[:2] if version >= 4 else parts[:1]:
        found = fit(part, syntax_id)
        if len(found.strip()) > size:
            break
        kept.append(fit(part, syntax_id, size))
    return kept


def codec(syntax_id: str) -> str:
    """The Python codec an answer in ``syntax_id`` is encoded with."""
    return CHARSETS[output_set(syntax_id)]
