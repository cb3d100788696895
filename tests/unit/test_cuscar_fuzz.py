"""The CUSCAR and PAXLST adapters never fail on input with anything but MappingError.

Mutations of the fixtures and corpus files (bytes replaced, inserted, deleted, with
digits the way Python sees them, '²' and Arabic-Indic digits included): whatever the
EDIFACT engine accepts, the adapters either map (and the rules and the XML mapping
then run) or refuse with a MappingError. A worker must never die on a partner's file.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.common import MappingError
from adapters.edifact import EdifactError, parse
from gateway.domain.canonical_xml import to_xml
from gateway.domain.rules import check
from gateway.service.pipeline import decoder_for

DATA = Path(__file__).resolve().parent.parent / "data"
SEEDS = sorted((DATA / "cuscar").glob("*.edi")) + sorted((DATA / "paxlst").glob("*.edi"))
ALPHABET = b"0123456789EeABZ:+'?.,*- \xc2\xb2\xd9\xa3"

edits = st.lists(
    st.tuples(
        st.sampled_from(["replace", "insert", "delete"]),
        st.floats(0, 1, exclude_max=True),
        st.binary(min_size=1, max_size=4).map(
            lambda b: bytes(ALPHABET[x % len(ALPHABET)] for x in b)
        ),
    ),
    min_size=1,
    max_size=6,
)


def mutate(data: bytes, changes: list[tuple[str, float, bytes]]) -> bytes:
    out = bytearray(data)
    for kind, where, chunk in changes:
        at = int(where * len(out)) if out else 0
        if kind == "replace":
            out[at : at + len(chunk)] = chunk
        elif kind == "insert":
            out[at:at] = chunk
        else:
            del out[at : at + len(chunk) * 2]
    return bytes(out)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), edits)
def test_adapters_map_or_refuse(seed: Path, changes: list[tuple[str, float, bytes]]) -> None:
    try:
        interchanges = parse(mutate(seed.read_bytes(), changes))
    except EdifactError:
        return
    for ic in interchanges:
        for message in ic.messages:
            decoder = decoder_for(message)
            if decoder is None:
                continue
            try:
                doc = decoder(message, ic, None, {})
            except MappingError:
                continue
            check(doc)
            to_xml(doc)
