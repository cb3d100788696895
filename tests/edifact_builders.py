"""Interchanges of several CUSCAR messages, built from tests/data/cuscar/valid.edi (issue #15)."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "cuscar"
VALID = (DATA / "valid.edi").read_bytes().decode("latin-1")


def message(
    reference: str, number: str, function: str = "9", container: str = "MSCU1234566"
) -> str:
    """Message ``reference`` of valid.edi, with its own document number and BGM function."""
    body = VALID[VALID.index("UNH+") : VALID.index("UNZ+")]
    return (
        body.replace("UNH+1+", f"UNH+{reference}+")
        .replace("UNT+20+1'", f"UNT+20+{reference}'")
        .replace("BGM+85+RULES-0001+9'", f"BGM+85+{number}+{function}'")
        .replace("MSCU1234566", container)
    )


def interchange(*messages: str, count: int | None = None, reference: str = "R0001") -> bytes:
    """valid.edi's UNB (with ``reference``) around ``messages``; the UNZ says ``count``."""
    head = VALID[: VALID.index("UNH+")].replace("+R0001'", f"+{reference}'")
    n = len(messages) if count is None else count
    return (head + "".join(messages) + f"UNZ+{n}+{reference}'\n").encode("latin-1")
