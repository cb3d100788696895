"""Travellers' personal data never reaches the logs (issue #18): message ids and a hash only.

Everything the travellers' path logs is captured (JSON lines, as in production) while the
samples' family goes through it: TPD request with co-travellers, currency declarations, a
refusal, border events, the ferry's passenger list, erasure.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.config import load
from gateway.logs import configure, message_context
from gateway.security.signing import Signer, ensure_dev_keys
from gateway.service.travellers import TravellersService
from gateway.service.travellers_desk import TravellersDesk, signer_function, travellers_policy
from gateway.storage.journal import SqliteJournal
from tests.travellers_data import (
    SAILING,
    border_json,
    currency_json,
    encoded,
    karim,
    passenger_list,
    sample,
    tpd_json,
)

# Every name and document number of the samples' family (tpd-request.json), in every
# spelling the ferry line uses too.
PERSONAL = (
    "Benaïssa",
    "BENAISSA",
    "Karim",
    "KARIM",
    "Hélène",
    "ياسمين",
    "بن عيسى",
    "197845612",
    "X4RTBPFW4",
    "214587963",
    "1984-03-21",
)


def test_logs_carry_message_ids_and_a_hash_never_names_or_documents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, cert = ensure_dev_keys(tmp_path / "key.pem", tmp_path / "cert.pem")
    journal = SqliteJournal(":memory:")
    policy = travellers_policy(load(env={}))
    service = TravellersService(journal, policy, pseudonym_key=b"secret", today=lambda: SAILING)
    desk = TravellersDesk(service, signer_function(Signer.from_files(key, cert)))
    family = sample("tpd-request.json")["coTravellers"]
    assert {p["givenNames"] for p in family} == {"Hélène", "ياسمين"}  # the data under test
    configure("json")
    capsys.readouterr()
    with message_context(message_id="in-1", partner="eservices", correlation_id="in-1"):
        accepted = desk.portal(encoded(tpd_json("TPD-1")), partner="eservices", inbound_id="in-1")
    with message_context(message_id="in-2", partner="eservices", correlation_id="in-2"):
        bad = tpd_json("TPD-2")
        bad["vehicle"]["vin"] = "1M8GDM9A1KP042788"
        desk.portal(encoded(bad), partner="eservices", inbound_id="in-2")
    amounts = [("EUR", "4000")]
    desk.portal(
        encoded(currency_json("CD-1", amounts=amounts)), partner="eservices", inbound_id="c"
    )
    exit_first = encoded(border_json("exit", tpd_ref="TPD-1", time="2026-08-30T18:00:00+01:00"))
    desk.border(exit_first, partner="border", inbound_id="b-1")
    desk.border(encoded(border_json("entry", tpd_ref="TPD-1")), partner="border", inbound_id="b-2")
    desk.border(exit_first, partner="border", inbound_id="b-1")
    desk.passenger_list(passenger_list([karim()]), "pax-1")
    service.forget(document="197845612")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    journal.close()
    text = json.dumps(lines, ensure_ascii=False)
    leaked = [p for p in PERSONAL if p in text]
    assert leaked == [], f"personal data in the logs: {leaked}"
    events = {line["event"] for line in lines}
    assert {
        "tpd request decided",
        "currency declaration decided",
        "border event decided",
        "travellers' message refused",
        "sailing list built",
    } <= events
    decided = [line for line in lines if line["event"] == "tpd request decided"]
    assert decided[0]["message_id"] == "in-1"
    assert accepted.document is not None
    assert decided[0]["document"] == accepted.document.header.message_id
    assert decided[0]["holder"] == service.pseudonym("197845612")
    assert service.pseudonym("197845612") != service.pseudonym("197845613")
