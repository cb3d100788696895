"""Headers from partners are data (issue #14): the sanitising functions and the operators'
reading of dead letters, whatever a header holds."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from gateway.interfaces.operators.deadletters import DeadLetter, jsonable, replay_target
from gateway.interfaces.operators.store import next_replay_id
from gateway.messaging import broker

# What a hostile partner can put in a header: wrong types, huge and odd values.
HOSTILE_VALUES: list[Any] = [
    "abc",
    "",
    "-3",
    "9" * 40,
    b"\xff\xfe",
    b"12",
    [1, 2, "x"],
    {"nested": {"deeper": [b"x", None]}},
    1.5,
    float("nan"),
    float("inf"),
    -(2**63),
    2**63 - 1,
    2**200,
    Decimal("1e999"),
    Decimal("NaN"),
    None,
    True,
    dt.datetime(9999, 12, 31, 23, 59, 59),
    "\x1b[2J\x1b[31mOPERATOR: run rm -rf\r\n",
    "é" * 100_000,
]
ACTED_ON = [
    broker.H_REASON,
    broker.H_SENTENCE,
    broker.H_STAGE,
    broker.H_PARTNER,
    broker.H_ORIGINAL_EXCHANGE,
    broker.H_ORIGINAL_ROUTING_KEY,
    broker.H_ORIGINAL_QUEUE,
    broker.H_ATTEMPTS,
    broker.H_FIRST_FAILURE,
    broker.H_PROBLEMS,
    "x-edigw-replays",
    "x-edigw-replay-of",
    "x-edigw-filename",
    "x-edigw-business-reference",
    "X-EDIGW-ORIGINAL-EXCHANGE",
    "x-death",
    "x-first-death-queue",
]


def test_quarantine_renames_every_header_the_gateway_acts_on_and_bounds_it() -> None:
    headers = {name: "x" * 5000 for name in ACTED_ON} | {"filename": "a.edi", "x-other": 7}
    out = broker.quarantine(headers)
    assert out["filename"] == "a.edi" and out["x-other"] == 7  # not acted on: unchanged
    assert not [k for k in out if broker.is_acted_on(k)]
    quarantined = {k: v for k, v in out.items() if k.startswith(broker.QUARANTINE_PREFIX)}
    assert len(quarantined) == len(ACTED_ON)
    assert f"{broker.QUARANTINE_PREFIX}{broker.H_ORIGINAL_EXCHANGE}" in quarantined
    for name, value in quarantined.items():
        assert len(name.encode()) <= 255
        assert isinstance(value, str) and value.startswith("x" * broker.QUARANTINE_MAX_VALUE)
        assert len(value) < broker.QUARANTINE_MAX_VALUE + 40


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=repr)
def test_quarantine_takes_any_value_as_bounded_printable_text(value: Any) -> None:
    out = broker.quarantine({broker.H_ATTEMPTS: value, "x-death": [value]})
    for text in out.values():
        assert isinstance(text, str)
        assert text.isprintable()  # no terminal escapes, no newlines
        assert len(text) <= broker.QUARANTINE_MAX_VALUE * 6 + 40


def test_quarantine_keeps_at_most_32_and_counts_the_rest() -> None:
    out = broker.quarantine({f"x-edigw-h{i}": i for i in range(100)})
    assert len([k for k in out if k.startswith(broker.QUARANTINE_PREFIX)]) == 32
    assert out[broker.H_PARTNER_HEADERS_DROPPED] == 68


def test_quarantine_of_a_partners_own_quarantine_name_bounds_it_too() -> None:
    out = broker.quarantine({f"{broker.QUARANTINE_PREFIX}x": "y" * 1000, "\x1b" * 300: 1})
    assert out[f"{broker.QUARANTINE_PREFIX}x"].startswith("y" * 256)
    assert len(out[f"{broker.QUARANTINE_PREFIX}x"]) < 300
    assert "\x1b" * 300 in out  # not a header the gateway reads: left as the partner sent it


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0), (7, 7), ("12", 12), (b"3", 3), (Decimal(4), 4), (10**6, 10**6)]
    + [(v, 0) for v in ("abc", "-3", "9" * 40, 1.5, -1, 10**6 + 1, True, None, [1], {"a": 1})],
)
def test_header_count_is_a_small_whole_number_or_the_default(value: Any, expected: int) -> None:
    assert broker.header_count(value) == expected


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=repr)
def test_header_count_and_time_never_raise(value: Any) -> None:
    assert 0 <= broker.header_count(value) <= broker.MAX_HEADER_COUNT
    assert isinstance(broker.header_time(value), str)


def test_from_gateway_believes_the_own_user_and_the_retry_tiers_only() -> None:
    retry_death = {"x-death": [{"queue": "p.edigw.retry.2", "reason": "expired"}]}

    def judge(user: str | None, exchange: str, headers: dict[str, Any]) -> bool:
        return broker.from_gateway(
            user, exchange, headers, own_user="edigw", retry_exchange="p.edigw.retry"
        )

    assert judge("edigw", "p.partner.apcs.in", {})  # an operator's replay
    assert judge(None, "", retry_death)  # back from a retry tier
    assert not judge(None, "p.partner.apcs.in", retry_death)  # a partner's forged x-death
    assert not judge("p.partner.apcs", "p.partner.apcs.in", {})
    assert not judge(None, "", {"x-death": [{"queue": "p.partner.apcs.in", "reason": "expired"}]})
    assert not judge(None, "", {"x-death": "not a list"})
    assert not judge(None, "", {"x-death": [b"\x00"]})


def test_dead_letter_headers_take_the_origin_from_the_caller_never_from_the_message() -> None:
    forged = broker.quarantine(
        {
            broker.H_ORIGINAL_EXCHANGE: "edigw.customs",
            broker.H_ORIGINAL_ROUTING_KEY: "core",
            broker.H_ATTEMPTS: "abc",
        }
    )
    why = broker.DeadLetterReason("X", "why", "decode", "commerce")
    h = broker.dead_letter_headers(
        forged,
        "partner.commerce.in",
        why,
        original_exchange="partner.commerce.in",
        original_routing_key="",
    )
    assert (h[broker.H_ORIGINAL_EXCHANGE], h[broker.H_ORIGINAL_ROUTING_KEY]) == (
        "partner.commerce.in",
        "",
    )
    assert h[broker.H_ATTEMPTS] == 1
    # Even unsanitised headers (a message of the gateway's side) cannot steer or break it.
    raw = {broker.H_ORIGINAL_EXCHANGE: "edigw.customs", broker.H_ATTEMPTS: [1]}
    raw[broker.H_FIRST_FAILURE] = 2**63 - 1
    h = broker.dead_letter_headers(raw, "partner.commerce.in", why)
    assert h[broker.H_ORIGINAL_EXCHANGE] == "" and h[broker.H_ATTEMPTS] == 1
    assert dt.datetime.fromisoformat(h[broker.H_FIRST_FAILURE])


def test_replay_target_is_the_partners_inbound_exchange_from_the_queue_name() -> None:
    assert replay_target("t1.partner.commerce.in.dlq") == ("t1.partner.commerce.in", "")
    assert replay_target("t1.customs.responses.dlq") == ("t1.edigw.customs", "responses")
    for other in ("t1.customs.core.dlq", "t1.partner.commerce.in", "t1.partner.commerce.out.dlq"):
        assert replay_target(other) is None


def _letter(queue: str, headers: dict[str, Any], **props: Any) -> DeadLetter:
    return DeadLetter.from_amqp(queue, {"message_id": "m1", "headers": headers, **props}, b"<x/>")


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=repr)
def test_a_dead_letter_with_any_header_value_is_read_shown_and_exported(value: Any) -> None:
    headers = {name: value for name in ACTED_ON if not name.startswith("x-death")}
    headers["x-death"] = [
        {"queue": value, "reason": value, "count": value, "time": value, "routing-keys": value}
    ]
    headers["x-delivery-count"] = value
    for queue in ("t1.partner.commerce.in.dlq", "t1.customs.core.dlq"):
        dl = _letter(queue, headers, timestamp=value, correlation_id=value, type=value)
        assert dl.attempts >= 1
        for text in (dl.reason, dl.sentence, dl.stage, dl.partner, dl.first_failure, *dl.problems):
            assert isinstance(text, str) and "\x1b" not in text and "\n" not in text
            assert len(text) <= 2100
        assert json.loads(json.dumps(dl.to_json()))  # export, audit of a purge
        ours, theirs = dl.shown_headers()
        json.dumps([ours, theirs])
        assert dl.contains("nothing like this") is False
        next_replay_id(dl)
        dl.replay_headers()
        assert dl.original_exchange in ("t1.partner.commerce.in", "")


def test_a_broker_dead_letter_believes_none_of_the_partners_x_edigw_headers() -> None:
    forged = {
        broker.H_REASON: "ALL_FINE",
        broker.H_PARTNER: "apcs",
        broker.H_ORIGINAL_EXCHANGE: "t1.edigw.customs",
        broker.H_ORIGINAL_ROUTING_KEY: "core",
        broker.H_ATTEMPTS: 99,
        "x-edigw-replays": 7,
        "x-edigw-replay-of": "someone-else",
        "x-death": [
            # RabbitMQ's own entry is always first; the partner's forged ones follow.
            {"queue": "t1.partner.commerce.in", "reason": "rejected", "count": 1},
            {"queue": "t1.edigw.retry.1", "reason": "expired", "count": "zz"},
        ],
    }
    dl = _letter("t1.partner.commerce.in.dlq", forged)
    assert not dl.gateway_written
    assert (dl.reason, dl.stage, dl.partner, dl.attempts) == (
        "DELIVERY_LIMIT",
        "broker",
        "commerce",
        1,
    )
    assert (dl.original_exchange, dl.original_routing_key) == ("t1.partner.commerce.in", "")
    assert next_replay_id(dl) == "m1~replay1"
    replayed = dl.replay_headers()
    assert not [k for k in replayed if broker.is_acted_on(k)]  # the worker will believe these
    assert replayed[f"{broker.QUARANTINE_PREFIX}x-edigw-replay-of"] == "someone-else"
    assert broker.H_ORIGINAL_EXCHANGE not in replayed
    _ours, theirs = dl.shown_headers()
    assert broker.H_REASON in dict(theirs) and broker.H_ORIGINAL_EXCHANGE in dict(theirs)


def test_a_gateway_dead_letter_shows_quarantined_headers_as_the_partners() -> None:
    headers = broker.dead_letter_headers(
        broker.quarantine({"x-edigw-filename": "évil\x1b.edi", "filename": "a.edi"}),
        "t1.partner.apcs.in",
        broker.DeadLetterReason("EDIFACT_SYNTAX", "bad", "decode", "apcs"),
        original_exchange="t1.partner.apcs.in",
    )
    dl = _letter("t1.partner.apcs.in.dlq", headers)
    assert dl.gateway_written and dl.reason == "EDIFACT_SYNTAX"
    ours, theirs = dl.shown_headers()
    assert dict(theirs) == {f"{broker.QUARANTINE_PREFIX}x-edigw-filename": "évil\\x1b.edi"}
    assert broker.H_REASON in dict(ours) and "filename" in dict(ours)


def test_jsonable_is_total() -> None:
    for value in HOSTILE_VALUES:
        json.dumps(jsonable({"v": value, "l": [value], "t": {"x": value}}), allow_nan=False)
