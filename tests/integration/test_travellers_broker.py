"""Travellers through the running gateway and the real broker (issue #18, docs/travellers.md).

The customs portal (``eservices``) files TPD requests and currency declarations, the ferry
line (``apcs``) its PAXLST, the border posts (``border``) entries and exits. Each portal and
border message is answered with a signed ``TravellersReceipt`` on ``partner.<id>.out``; a
refused one is dead-lettered with its reason (and whether it is replayable).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import etree

from gateway.config import load
from gateway.domain import sailing as sailing_xml
from gateway.domain.travellers_receipt import TravellersReceipt, receipt_from_xml
from gateway.domain.validation import validate
from gateway.interfaces.cli import main
from gateway.messaging import broker
from gateway.storage.audit import AuditTrail
from tests.e2e.test_faults_support import (
    cleanup_topologies,  # noqa: F401  (autouse: deletes each test's queues)
    declare_topology,
    done_count,
    drain,
    names_of,
    submit,
    wait_until,
    worker_thread,
)
from tests.travellers_data import (
    border_json,
    currency_json,
    encoded,
    karim,
    paxlst_bytes,
    tpd_json,
    vin,
)

pytestmark = [pytest.mark.broker]
HADDAD = {"passport": "305118822", "family": "Haddad", "given": "Nadia", "birth": "1979-09-12"}
MANSOURI = {"family": "MANSOURI", "given": "SAMIR", "birth": "1990-02-02", "passport": "411220033"}


def receipts(env: dict[str, str], partner: str) -> dict[str, TravellersReceipt]:
    """The receipts on ``partner.<id>.out``, by the inbound message they answer."""
    out = {}
    for props, body in drain(env, names_of(env).outbound(partner)):
        assert props.type == "TravellersReceipt"
        assert validate(etree.fromstring(body), schema="travellers-1.xsd") == []
        assert b"<ds:SignatureValue>" in body or b"SignatureValue" in body
        out[props.correlation_id] = receipt_from_xml(body)
    return out


def letters(env: dict[str, str], partner: str) -> dict[str, Any]:
    """The dead letters of ``partner``'s inbound, by message id: their headers."""
    names = names_of(env)
    return {
        props.message_id: props.headers
        for props, _ in drain(env, names.dead_letter(names.inbound(partner)))
    }


def step(env: dict[str, str], partner: str, messages: list[tuple[str, bytes]]) -> None:
    """Submit ``messages`` one by one, each decided before the next (their order matters)."""
    for message_id, body in messages:
        before = done_count(env)
        submit(env, [(message_id, body)], partner=partner)
        wait_until(lambda n=before: done_count(env) > n, 30, f"{message_id} decided")


def test_travellers_from_pre_declaration_to_exit(gateway_env: dict[str, str]) -> None:
    env = gateway_env
    names = names_of(env)
    declare_topology(env)
    haddad_tpd = tpd_json("TPD-2", vehicle_vin=vin(2), plate="AB-200-CD", **HADDAD)
    # A foreign national's car that entered in January and never left: due 3 months later.
    winter = tpd_json(
        "TPD-9",
        vehicle_vin=vin(9),
        plate="CH-9",
        country="CH",
        passport="X9",
        family="Keller",
        given="Urs",
        status="foreign_national",
        day=dt.date(2026, 1, 4),
    )
    paxlst = paxlst_bytes(
        [
            karim(),  # the TPD agrees: ready
            {
                **HADDAD,
                "family": "HADDAD",
                "given": "NADIA",
                "role": "VW",
                "vehicle": {"vin": vin(2), "plate": "ZZ-999-ZZ", "country": "FR"},
            },  # to see
            {
                **MANSOURI,
                "role": "VW",
                "vehicle": {"vin": vin(3), "plate": "EF-300-GH", "country": "FR"},
            },  # missing
        ],
        number="PAX-AF2612",
    )
    with worker_thread(env):
        step(
            env,
            "eservices",
            [
                ("tp-1", encoded(tpd_json("TPD-1"))),
                ("tp-2", encoded(haddad_tpd)),
                ("tp-9", encoded(winter)),
                # The currency thresholds both ways: EUR 500 (not required), EUR 1,500.
                ("cd-1", encoded(currency_json("CD-1", amounts=[("EUR", "500.00")]))),
                (
                    "cd-2",
                    encoded(
                        currency_json(
                            "CD-2",
                            amounts=[("EUR", "1500.00")],
                            status="foreign_national",
                            passport=HADDAD["passport"],
                            family="Haddad",
                            given="Nadia",
                            birth=HADDAD["birth"],
                        )
                    ),
                ),
                (
                    "cd-3",
                    encoded(
                        currency_json(
                            "CD-3", amounts=[("EUR", "1500.00")], passport="X3", family="Amrani"
                        )
                    ),
                ),
                ("bad-json", b'{"documentType": "tpd-request", "reference": '),
            ],
        )
        portal_answers = receipts(env, "eservices")
        portal_letters = letters(env, "eservices")
        routed = drain(env, names.customs_core)
        step(env, "apcs", [("pax-1", paxlst)])
        pax_routed = drain(env, names.customs_core)
        step(
            env,
            "border",
            [
                # An exit before its entry: dead-lettered, replayable.
                ("b-exit-early", encoded(border_json("exit", tpd_ref="TPD-2"))),
                ("b-entry-1", encoded(border_json("entry", tpd_ref="TPD-1"))),
                (
                    "b-entry-9",
                    encoded(
                        border_json("entry", tpd_ref="TPD-9", time="2026-01-05T10:00:00+01:00")
                    ),
                ),
                (
                    "b-exit-1",
                    encoded(border_json("exit", tpd_ref="TPD-1", time="2026-08-20T16:00:00+01:00")),
                ),
            ],
        )
        border_answers = receipts(env, "border")
        border_letters = letters(env, "border")
        # A second TPD for a vehicle under an open one: refused.
        step(env, "eservices", [("tp-9b", encoded({**winter, "reference": "TPD-9B"}))])
        second = receipts(env, "eservices")["tp-9b"]
        second_letters = letters(env, "eservices")
        overdue = CliRunner().invoke(
            main, ["travellers", "overdue", "--on", "2026-06-01", "--json"], env=env
        )
        nothing_routed = drain(env, names.customs_core)

    # The portal: documents to customs, signed receipts back.
    types = sorted(props.type for props, _ in routed)
    assert types == ["CurrencyDeclaration"] * 3 + ["VehicleTemporaryAdmission"] * 3
    assert portal_answers["tp-1"].outcome == "accepted"
    assert portal_answers["tp-1"].status == "requested"
    assert portal_answers["cd-1"].status == "not required"  # EUR 500, threshold 1,000
    assert portal_answers["cd-2"].status == "not required"  # a foreigner: threshold 5,000
    assert portal_answers["cd-3"].status == "required"  # EUR 1,500 > 1,000
    # Bad JSON: a dead letter with its reason and a negative signed receipt.
    assert portal_answers["bad-json"].outcome == "rejected"
    assert [r.code for r in portal_answers["bad-json"].reasons] == ["JSON_MALFORMED"]
    assert portal_letters["bad-json"][broker.H_REASON] == "JSON_MALFORMED"
    assert portal_letters["bad-json"]["x-edigw-replayable"] == "false"
    assert set(portal_letters) == {"bad-json"}

    # The PAXLST: routed, and its sailing's list with ready, to-see and missing vehicles.
    by_type = {props.type: body for props, body in pax_routed}
    assert set(by_type) == {"PassengerVehicleList", "SailingClearanceList"}
    listed = sailing_xml.from_xml(by_type["SailingClearanceList"])
    groups = {v.vin: v.group for v in listed.vehicles}
    assert groups == {vin(1): "ready", vin(2): "to_see", vin(3): "missing"}
    [haddad] = [v for v in listed.vehicles if v.vin == vin(2)]
    assert [f.code for f in haddad.findings] == ["PLATE_MISMATCH"]
    assert {d.reference for d in listed.declarations} >= {"CD-1", "CD-2"}

    # The border posts: an early exit refused (replayable), entry then exit accepted.
    assert border_letters["b-exit-early"][broker.H_REASON] == "TPD_NOT_ENTERED"
    assert border_letters["b-exit-early"]["x-edigw-replayable"] == "true"
    assert border_answers["b-exit-early"].outcome == "rejected"
    assert border_answers["b-exit-early"].reasons[0].replayable
    assert border_answers["b-entry-1"].status == "open"
    assert border_answers["b-entry-1"].due_date is not None
    assert border_answers["b-exit-1"].status == "discharged"
    assert set(border_letters) == {"b-exit-early"}

    # A second TPD for a vehicle under an open one.
    assert second.outcome == "rejected"
    assert [r.code for r in second.reasons] == ["TPD_ALREADY_OPEN"]
    assert second_letters["tp-9b"][broker.H_REASON] == "TPD_ALREADY_OPEN"
    assert nothing_routed == []  # border events route nothing; a refusal neither

    # The overstay: TPD-9 entered on 5 January, due 5 April.
    assert overdue.exit_code == 0, overdue.output
    rows = [json.loads(line) for line in overdue.stdout.splitlines()]
    assert [(r["tpd"], r["due_on"]) for r in rows] == [("TPD-9", "2026-04-05")]


def test_a_departure_list_through_the_broker(gateway_env: dict[str, str]) -> None:
    """A ferry leaving Algiers (LOC+125 DZALG, LOC+87 FRMRS): each vehicle matched to the TPD
    it entered under, ready to be discharged; to see when none is open or the plate differs;
    the exit currency declarations, an exit above its entry flagged."""
    env = gateway_env
    names = names_of(env)
    declare_topology(env)
    leaves = dt.date(2026, 8, 20)
    departure = paxlst_bytes(
        [
            karim(),  # entered under TPD-1: ready
            {
                **HADDAD,
                "family": "HADDAD",
                "given": "NADIA",
                "role": "VW",
                "vehicle": {"vin": vin(2), "plate": "ZZ-999-ZZ", "country": "FR"},
            },  # entered under TPD-2 with another plate: to see
            {
                **MANSOURI,
                "role": "VW",
                "vehicle": {"vin": vin(3), "plate": "EF-300-GH", "country": "FR"},
            },  # no TPD open: to see
        ],
        number="PAX-AF2613",
        departure=leaves,
        ports=("DZALG", "FRMRS"),
    )
    with worker_thread(env):
        step(
            env,
            "eservices",
            [
                ("tp-1", encoded(tpd_json("TPD-1"))),
                (
                    "tp-2",
                    encoded(tpd_json("TPD-2", vehicle_vin=vin(2), plate="AB-200-CD", **HADDAD)),
                ),
                ("cd-in", encoded(currency_json("CD-IN", amounts=[("EUR", "1500.00")]))),
                (
                    "cd-out",
                    encoded(
                        currency_json(
                            "CD-OUT",
                            direction="exit",
                            amounts=[("EUR", "2500.00")],
                            entry_reference="CD-IN",
                            submitted="2026-08-19T10:00:00+02:00",
                        )
                    ),
                ),
            ],
        )
        step(
            env,
            "border",
            [
                ("b-entry-1", encoded(border_json("entry", tpd_ref="TPD-1"))),
                ("b-entry-2", encoded(border_json("entry", tpd_ref="TPD-2"))),
            ],
        )
        drain(env, names.customs_core)
        step(env, "apcs", [("pax-out", departure)])
        pax_routed = drain(env, names.customs_core)
        shown = CliRunner().invoke(
            main,
            ["travellers", "sailing", "Tariq Ibn Ziyad", leaves.isoformat(), "--json"],
            env=env,
        )
        page = CliRunner().invoke(
            main, ["travellers", "sailing", "Tariq Ibn Ziyad", leaves.isoformat()], env=env
        )

    by_type = {props.type: body for props, body in pax_routed}
    assert set(by_type) == {"PassengerVehicleList", "SailingClearanceList"}
    assert validate(etree.fromstring(by_type["SailingClearanceList"]), "travellers-1.xsd") == []
    listed = sailing_xml.from_xml(by_type["SailingClearanceList"])
    assert listed.direction == "departure"
    assert (listed.port_of_departure, listed.port_of_entry) == ("DZALG", "FRMRS")
    found = {
        v.vin: (v.group, v.tpd_reference, [f.code for f in v.findings]) for v in listed.vehicles
    }
    assert found == {
        vin(1): ("ready", "TPD-1", []),
        vin(2): ("to_see", "TPD-2", ["PLATE_MISMATCH"]),
        vin(3): ("to_see", None, ["NO_OPEN_TPD"]),
    }
    assert [(d.reference, d.exceeds_entry) for d in listed.declarations] == [("CD-OUT", True)]

    assert shown.exit_code == 0, shown.output
    as_json = json.loads(shown.stdout)
    assert as_json["direction"] == "departure"
    assert as_json["groups"] == {"to_see": 2, "missing": 0, "ready": 1}
    assert page.exit_code == 0, page.output
    assert "DEPARTURE  DZALG -> FRMRS" in page.stdout.splitlines()[0]
    assert "EXCEEDS ENTRY" in page.stdout


def test_forget_erases_the_dead_letters_that_carry_a_traveller(
    gateway_env: dict[str, str],
) -> None:
    """``edigw travellers forget`` reaches the broker's copies: the dead letters of the
    portal's queue past retention that name the traveller's document go, audited as
    tombstones; another traveller's stay, and so does what retention still allows."""
    env = {**gateway_env, "EDIGW_OPERATOR": "amina"}
    names = names_of(env)
    declare_topology(env)
    karim_bad = tpd_json("TPD-K", vehicle_vin="VF1RFB00000000IOQ")  # I, O, Q: VIN_INVALID
    haddad_bad = tpd_json("TPD-H", vehicle_vin="VF1RFB00000000IOQ", **HADDAD)
    with worker_thread(env):
        step(env, "eservices", [("bad-k", encoded(karim_bad)), ("bad-h", encoded(haddad_bad))])
    drain(env, names.outbound("eservices"))

    def forget(*args: str) -> Any:
        return CliRunner().invoke(main, ["travellers", "forget", *args, "--json"], env=env)

    # Within retention (they failed today): nothing goes.
    kept = forget("--document", "197845612")
    assert kept.exit_code == 1, kept.output
    assert kept.stdout == "" and "nothing past retention" in kept.stderr  # nothing matched
    # A year and more later: a dry run shows Karim's, and removes nothing.
    later = ("--on", "2031-01-01")
    preview = forget("--document", "197845612", "--dry-run", *later)
    assert preview.exit_code == 0, preview.output
    shown = json.loads(preview.stdout)
    assert shown["dead_letters"] == 1 and shown["dry_run"] is True
    assert [t["message_id"] for t in shown["tombstones"]] == ["bad-k"]
    assert shown["tombstones"][0]["reason"] == "VIN_INVALID"
    done = forget("--document", "197845612", *later)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["dead_letters"] == 1

    left = drain(env, names.dead_letter(names.inbound("eservices")))
    assert [props.message_id for props, _ in left] == ["bad-h"]  # Haddad's stays
    trail = AuditTrail(load(env=env).journal_path)
    [entry] = trail.entries(action="travellers-forget")
    trail.close()
    assert entry.actor == "amina" and entry.message_ids == ("bad-k",)
    [stone] = entry.data["removed_dead_letters"]
    assert (stone["queue"], stone["reason"]) == (
        names.dead_letter(names.inbound("eservices")),
        "VIN_INVALID",
    )
    said = json.dumps(entry.to_json())
    assert "197845612" not in said and "Benaïssa" not in said  # a tombstone, not the letter


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"documentType": "tpd-request", "reference": ' + b"7" * 5_000 + b"}", "JSON_MALFORMED"),
        (b'{"documentType": ["tpd-request"]}', "JSON_UNSUPPORTED_DOCUMENT"),
    ],
)
def test_json_python_cannot_read_is_answered_at_once(
    gateway_env: dict[str, str], body: bytes, reason: str
) -> None:
    """A portal document with an integer of 5,000 digits (Python refuses it with a
    ValueError) or a documentType that is a list (a TypeError): the error went past the JSON
    reader, so the message failed on each delivery and was dead-lettered INTERNAL_ERROR on
    the fifth, with no receipt. Now each is refused like any other bad JSON: a negative
    signed receipt and a dead letter, on its first delivery."""
    env = gateway_env
    declare_topology(env)
    with worker_thread(env):
        step(env, "eservices", [("odd-json", body)])
        answers = receipts(env, "eservices")
        dead = letters(env, "eservices")
    assert answers["odd-json"].outcome == "rejected"
    assert [r.code for r in answers["odd-json"].reasons] == [reason]
    assert dead["odd-json"][broker.H_REASON] == reason
    assert dead["odd-json"][broker.H_ATTEMPTS] == 1
