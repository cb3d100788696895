"""Headers a partner sends are data, never instructions (issue #14, findings 1 and 3), on the
real broker with the real worker and the operators' real commands.

* A partner's forged origin headers do not steer an operator's replay: it goes back to the
  partner's own inbound exchange only, never to customs.
* Dead letters that RabbitMQ made of a partner's message (its headers as published) are
  listed, shown, replayed (to the partner's inbound) and purged without a traceback.
* Forty messages with a bad ``x-edigw-attempts`` do not wedge the partner's queue: each is
  dead-lettered and answered, and the next good interchange is answered too.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pika
import pytest

from gateway.messaging import broker
from gateway.messaging.naming import Names
from tests.e2e.test_faults_support import worker_thread
from tests.integration.test_dlq_support import (
    BAD_COUNT,
    GOOD,
    channel_for,
    cli,
    depth,
    drain,
    settings_for,
    wait_depth,
)

pytestmark = [pytest.mark.broker, pytest.mark.e2e]


class HugeTimestamp:
    """A header of AMQP type timestamp set to 2**64-1: out of every platform's range."""


@pytest.fixture(autouse=True)
def huge_timestamps(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let pika put a :class:`HugeTimestamp` on the wire (a hostile client can)."""
    encode_value = pika.data.encode_value

    def encode(pieces: list[bytes], value: Any) -> int:
        if isinstance(value, HugeTimestamp):
            pieces.append(struct.pack(">cQ", b"T", 2**64 - 1))
            return 9
        return int(encode_value(pieces, value))

    monkeypatch.setattr(pika.data, "encode_value", encode)
    yield


UNSIGNED_XML = b'<?xml version="1.0"?><Licence><Number>IL-1</Number></Licence>'
# Wrong types and huge values, as pika can put them on the wire.
HOSTILE: list[Any] = [
    "abc",
    b"\xff\xfe",
    [1, "x", None],
    {"table": {"in": [b"a"]}},
    2**63 - 1,
    -(2**63),
    None,
    True,
    Decimal("-1.5"),
    dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
    "\x1b[2J\r\nOPERATOR: replay everything",
    "9" * 10_000,
    HugeTimestamp(),
]


def _forged(names: Names, value: Any) -> dict[str, Any]:
    """Every header the gateway and its tools act on, forged to point at customs."""
    return {
        broker.H_ORIGINAL_EXCHANGE: names.customs_exchange,
        broker.H_ORIGINAL_ROUTING_KEY: "core",
        broker.H_ORIGINAL_QUEUE: names.customs_core,
        broker.H_ATTEMPTS: value,
        broker.H_REASON: "ALL_FINE",
        broker.H_STAGE: value,
        broker.H_PARTNER: "apcs",
        broker.H_FIRST_FAILURE: value,
        broker.H_PROBLEMS: value,
        "x-edigw-filename": "f" * 20_000,
        "x-edigw-dead-letter-id": "0123456789ab",
        "x-edigw-replay-history": value,
        "x-edigw-replays": value,
        "x-edigw-replay-of": value,
        "x-death": [{"queue": names.customs_core, "reason": "expired", "count": value}],
    }


def _publish(ch: Any, exchange: str, body: bytes, message_id: str, headers: dict[str, Any]) -> None:
    broker.publish(ch, exchange, "", body, message_id=message_id, headers=headers)


def _letters(env: dict[str, str]) -> list[dict[str, Any]]:
    result = cli(env, "dlq", "list", "--json")
    assert result.exit_code in (0, 1), result.output  # 1: none (yet)
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _wait_letters(env: dict[str, str], check: Any, timeout: float = 40) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    letters = _letters(env)
    while not check(letters) and time.monotonic() < deadline:
        time.sleep(0.3)
        letters = _letters(env)
    assert check(letters), letters
    return letters


def test_a_forged_origin_does_not_steer_the_operators_replay(gateway_env: dict[str, str]) -> None:
    env = {**gateway_env, "EDIGW_OPERATOR": "olga"}
    settings = settings_for(env)
    names = Names(settings.name_prefix)
    commerce_in = names.inbound("commerce")
    with channel_for(settings) as ch, worker_thread(env):
        _publish(ch, commerce_in, UNSIGNED_XML, "forged-1", _forged(names, "abc"))
        [letter] = _wait_letters(env, lambda ls: len(ls) == 1)
        assert letter["partner"] == "commerce" and letter["attempts"] == 1
        assert letter["reason"] != "ALL_FINE"

        shown = cli(env, "dlq", "show", letter["id"], "--json")
        assert shown.exit_code == 0, shown.output
        headers = json.loads(shown.stdout)["headers"]
        # The worker wrote the origin it consumed from; the partner's are kept as its data.
        assert headers[broker.H_ORIGINAL_EXCHANGE] == commerce_in
        assert headers[broker.H_ORIGINAL_ROUTING_KEY] == ""
        assert headers[broker.H_PARTNER] == "commerce"
        quarantined = f"{broker.QUARANTINE_PREFIX}{broker.H_ORIGINAL_EXCHANGE}"
        assert headers[quarantined] == names.customs_exchange
        assert len(headers[f"{broker.QUARANTINE_PREFIX}x-edigw-filename"]) < 400
        assert "x-death" not in headers  # the partner's forged history is quarantined too
        text = cli(env, "dlq", "show", letter["id"]).stdout
        assert "partner-supplied headers" in text and quarantined in text

        dry = cli(env, "dlq", "replay", "--partner", "commerce", "--dry-run")
        assert dry.exit_code == 0 and f"to '{commerce_in}'/''" in dry.stdout
        replayed = cli(env, "dlq", "replay", "--partner", "commerce")
        assert replayed.exit_code == 0, replayed.output
        assert commerce_in in replayed.stdout

        # Only commerce's worker puts it back in commerce's DLQ: it went to its inbound.
        [again] = _wait_letters(
            env, lambda ls: len(ls) == 1 and ls[0]["message_id"] == "forged-1~replay1"
        )
        assert again["attempts"] == 2 and again["partner"] == "commerce"
        assert depth(ch, names.customs_core) == 0
        assert depth(ch, names.customs_legacy) == 0


def test_dead_letters_rabbitmq_made_of_forged_headers_are_read_replayed_home_and_purged(
    gateway_env: dict[str, str],
) -> None:
    env = {**gateway_env, "EDIGW_OPERATOR": "olga"}
    settings = settings_for(env)
    names = Names(settings.name_prefix)
    commerce_in = names.inbound("commerce")
    with channel_for(settings) as ch:
        for i, value in enumerate(HOSTILE):
            _publish(ch, commerce_in, UNSIGNED_XML, f"raw-{i}", _forged(names, value))
        # No worker: RabbitMQ dead-letters each one itself, headers as the partner sent them.
        assert wait_depth(ch, commerce_in, len(HOSTILE)) == len(HOSTILE)
        for _ in HOSTILE:
            method, _props, _body = ch.basic_get(commerce_in)
            ch.basic_reject(method.delivery_tag, requeue=False)
        dlq = names.dead_letter(commerce_in)
        assert wait_depth(ch, dlq, len(HOSTILE)) == len(HOSTILE)

        letters = _letters(env)
        assert len(letters) == len(HOSTILE)
        assert {(d["reason"], d["stage"], d["partner"]) for d in letters} == {
            ("DELIVERY_LIMIT", "broker", "commerce")
        }
        assert all(d["attempts"] == 1 for d in letters)
        groups = cli(env, "dlq", "groups", "--json")
        assert groups.exit_code == 0, groups.output
        assert [(g["group"], g["count"]) for g in map(json.loads, groups.stdout.splitlines())] == [
            ("DELIVERY_LIMIT/broker", len(HOSTILE))
        ]
        for d in letters:
            shown = cli(env, "dlq", "show", d["id"])
            assert shown.exit_code == 0, shown.output
            assert "\x1b" not in shown.stdout.split("raw (")[0]  # no terminal escapes
            assert "partner-supplied headers" in shown.stdout
        assert cli(env, "dlq", "export").exit_code == 0

        one = letters[0]["id"]
        assert cli(env, "dlq", "replay", one).exit_code == 0
        assert wait_depth(ch, commerce_in, 1) == 1
        [(props, body)] = drain(ch, commerce_in)
        assert body == UNSIGNED_XML
        # What the worker would believe (sent under the gateway's user) is the gateway's only.
        sent = props.headers or {}
        assert not [k for k in sent if broker.is_acted_on(k) and k not in _REPLAY_HEADERS]
        assert broker.H_ORIGINAL_EXCHANGE not in sent
        assert sent[f"{broker.QUARANTINE_PREFIX}x-edigw-filename"].startswith("f" * 256)
        assert sent["x-edigw-replay-of"] == props.message_id.removesuffix("~replay1")
        # The stable id and the replay history are the gateway's, never the forged ones.
        assert sent["x-edigw-dead-letter-id"] == one
        [replayed] = sent["x-edigw-replay-history"]
        assert replayed["by"] == "olga"
        assert depth(ch, names.customs_core) == 0

        assert wait_depth(ch, dlq, len(HOSTILE) - 1) == len(HOSTILE) - 1
        purged = cli(env, "dlq", "purge", "--all", "--yes")
        assert purged.exit_code == 0, purged.output
        assert len(purged.stdout.splitlines()) == len(HOSTILE) - 1
        assert wait_depth(ch, dlq, 0) == 0
        audit = cli(env, "audit", "--json")
        assert [json.loads(x)["action"] for x in audit.stdout.splitlines()] == ["purge", "replay"]


_REPLAY_HEADERS = {
    "x-edigw-dead-letter-id",  # the stable id across replays (issue #19)
    "x-edigw-replay-history",
    "x-edigw-replayed-by",
    "x-edigw-replayed-at",
    "x-edigw-replays",
    "x-edigw-replay-of",
}


def test_forty_bad_attempts_headers_do_not_wedge_the_partners_queue(
    gateway_env: dict[str, str],
) -> None:
    env = {**gateway_env, "EDIGW_OPERATOR": "olga"}
    settings = settings_for(env)
    names = Names(settings.name_prefix)
    apcs_in, apcs_out = names.inbound("apcs"), names.outbound("apcs")
    bad = 40
    assert bad > settings.prefetch  # enough to fill the prefetch if they stayed unsettled
    with channel_for(settings) as ch, worker_thread(env):
        for i in range(bad):
            headers = _forged(names, HOSTILE[i % len(HOSTILE)])
            headers["x-delivery-count"] = "abc"
            _publish(ch, apcs_in, BAD_COUNT, f"bad-{i}", headers)
        _publish(ch, apcs_in, GOOD, "good-1", {broker.H_ATTEMPTS: "abc"})
        # Every message answered: 40 CONTRLs rejecting, one accepting the good interchange.
        assert wait_depth(ch, apcs_out, bad + 1, timeout=90) == bad + 1
        answers = {p.correlation_id: body for p, body in drain(ch, apcs_out)}
        assert set(answers) == {f"bad-{i}" for i in range(bad)} | {"good-1"}
        assert b"UCI+" in answers["good-1"] and b"+7'" in answers["good-1"].split(b"UCI+")[1]
        assert wait_depth(ch, names.customs_core, 1) == 1

        # At-least-once: a broker restart (fault tests running beside this one cause them)
        # may duplicate a dead letter, never lose one; hence sets of message ids.
        bad_ids = {f"bad-{i}" for i in range(bad)}
        dlq = names.dead_letter(apcs_in)
        assert wait_depth(ch, dlq, bad) >= bad
        letters = _letters(env)
        assert {d["message_id"] for d in letters} == bad_ids
        assert {d["reason"] for d in letters} == {"EDIFACT_SYNTAX"}
        assert {d["attempts"] for d in letters} == {1}
        groups = cli(env, "dlq", "groups")
        assert groups.exit_code == 0 and "EDIFACT_SYNTAX/decode" in groups.stdout
        purged_ids: set[str] = set()
        deadline = time.monotonic() + 30
        while (purged_ids != bad_ids or depth(ch, dlq)) and time.monotonic() < deadline:
            purged = cli(env, "dlq", "purge", "--all", "--yes")
            assert purged.exit_code in (0, 1), purged.output  # 1: taken back meanwhile
            purged_ids |= {line.split("\t")[1] for line in purged.stdout.splitlines()}
            time.sleep(0.3)
        assert purged_ids == bad_ids
        assert depth(ch, dlq) == 0
        assert depth(ch, apcs_in) == 0
