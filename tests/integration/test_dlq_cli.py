"""Every ``edigw dlq`` verb and ``edigw audit`` against the real broker."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from gateway.messaging.naming import Names
from tests.integration.test_dlq_support import (
    BAD_COUNT,
    GOOD,
    channel_for,
    cli,
    dead_letter,
    depth,
    drain,
    settings_for,
    wait_depth,
)

pytestmark = pytest.mark.broker


@pytest.fixture
def env(gateway_env: dict[str, str]) -> dict[str, str]:
    return {**gateway_env, "EDIGW_OPERATOR": "alice"}


def _list(env: dict[str, str], *args: str) -> list[dict[str, object]]:
    result = cli(env, "dlq", "list", "--json", *args)
    listed = [line for line in result.stdout.splitlines() if line.strip()]
    # The convention: exit 1 whenever nothing matched, 0 otherwise.
    assert result.exit_code == (0 if listed else 1), result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_list_groups_show_export_leave_every_message_in_place(env: dict[str, str]) -> None:
    settings = settings_for(env)
    names = Names(settings.name_prefix)
    dlq = names.dead_letter(names.inbound("apcs"))
    with channel_for(settings) as ch:
        m1 = dead_letter(ch, settings, BAD_COUNT)
        m2 = dead_letter(ch, settings, BAD_COUNT, reason="CANONICAL_INVALID", stage="validate")
        m3 = dead_letter(ch, settings, GOOD, partner="commerce", reason="UNROUTABLE", stage="route")
        assert wait_depth(ch, dlq, 2) == 2

        listed = _list(env)
        assert {d["message_id"] for d in listed} == {m1, m2, m3}
        one = next(d for d in listed if d["message_id"] == m1)
        assert one["reason"] == "EDIFACT_SYNTAX"
        assert one["stage"] == "decode"
        assert one["partner"] == "apcs"
        assert one["type"] == "CUSCAR"
        assert one["business_reference"] == "MAN-DZALG-2611-002"
        assert one["attempts"] == 1
        assert one["first_failure"] and one["last_failure"]
        assert set(one) >= {"id", "sentence"}

        # Filters.
        assert [d["message_id"] for d in _list(env, "--reason", "UNROUTABLE")] == [m3]
        assert {d["message_id"] for d in _list(env, "--partner", "apcs")} == {m1, m2}
        assert len(_list(env, "--type", "CUSCAR")) == 3
        assert _list(env, "--type", "CUSRES") == []
        assert len(_list(env, "--since", "1h")) == 3
        assert _list(env, "--since", "2999-01-01") == []
        # Search in body and headers.
        assert {d["message_id"] for d in _list(env, "--grep", "unt+99")} == {m1, m2}
        assert [d["message_id"] for d in _list(env, "--grep", m3)] == [m3]
        assert _list(env, "--grep", "no such text anywhere") == []

        groups = cli(env, "dlq", "groups", "--json")
        assert groups.exit_code == 0, groups.output
        by_key = {g["group"]: g for g in map(json.loads, groups.stdout.splitlines())}
        assert set(by_key) == {
            "EDIFACT_SYNTAX/decode",
            "CANONICAL_INVALID/validate",
            "UNROUTABLE/route",
        }
        assert by_key["EDIFACT_SYNTAX/decode"]["count"] == 1
        assert (
            by_key["EDIFACT_SYNTAX/decode"]["oldest"] <= by_key["EDIFACT_SYNTAX/decode"]["newest"]
        )
        text = cli(env, "dlq", "groups")
        assert "UNROUTABLE/route" in text.stdout

        shown = cli(env, "dlq", "show", str(one["id"]))
        assert shown.exit_code == 0, shown.output
        assert "x-edigw-reason" in shown.stdout
        assert "still rejected: EDIFACT_SYNTAX" in shown.stdout
        assert "UNT+99+1" in shown.stdout  # the raw bytes
        shown_good = json.loads(cli(env, "dlq", "show", m3, "--json").stdout)
        assert shown_good["decoded"]["ok"] is True
        assert "MAN-DZALG-2611-002" in shown_good["decoded"]["documents"][0]
        assert base64.b64decode(shown_good["body_base64"]) == GOOD
        missing = cli(env, "dlq", "show", "nope")
        assert missing.exit_code == 1

        exported = cli(env, "dlq", "export", "--format", "jsonl")
        assert exported.exit_code == 0
        lines = [json.loads(x) for x in exported.stdout.splitlines()]
        assert {base64.b64decode(x["body_base64"]) for x in lines} == {BAD_COUNT, GOOD}
        assert len(lines) == 3

        # Reading took nothing away.
        # (a closed channel's deliveries go back asynchronously: wait, do not sleep)
        assert wait_depth(ch, dlq, 2) == 2
        assert wait_depth(ch, names.dead_letter(names.inbound("commerce")), 1) == 1


def test_replay_one_group_and_all_goes_back_to_the_original_queue(env: dict[str, str]) -> None:
    settings = settings_for(env)
    names = Names(settings.name_prefix)
    inbound = names.inbound("apcs")
    dlq = names.dead_letter(inbound)
    with channel_for(settings) as ch:
        a = dead_letter(ch, settings, BAD_COUNT)
        b = dead_letter(ch, settings, BAD_COUNT, reason="CANONICAL_INVALID", stage="validate")
        c = dead_letter(ch, settings, BAD_COUNT, reason="CANONICAL_INVALID", stage="validate")
        d = dead_letter(ch, settings, GOOD, reason="UNROUTABLE", stage="route")
        wait_depth(ch, dlq, 4)

        dry = cli(env, "dlq", "replay", "--group", "CANONICAL_INVALID/validate", "--dry-run")
        assert dry.exit_code == 0, dry.output
        assert dry.stdout.count("would replay") == 2
        assert wait_depth(ch, dlq, 4) == 4 and depth(ch, inbound) == 0

        one = cli(env, "dlq", "replay", a)
        assert one.exit_code == 0, one.output
        assert wait_depth(ch, inbound, 1) == 1
        assert wait_depth(ch, dlq, 3) == 3
        [(props, body)] = drain(ch, inbound)
        # A new, derived id: the worker is idempotent by message id.
        assert props.message_id == f"{a}~replay1" and body == BAD_COUNT
        assert props.correlation_id == a
        headers = props.headers or {}
        assert headers["x-edigw-replay-of"] == a
        assert headers["x-edigw-replayed-by"] == "alice"
        assert "x-edigw-reason" not in headers  # a second failure must not look like the first
        assert headers["x-edigw-attempts"] == 1  # kept: the next failure counts 2

        group = cli(env, "dlq", "replay", "--group", "CANONICAL_INVALID/validate", "--progress")
        assert group.exit_code == 0, group.output
        assert "replaying: 2/2" in group.stderr  # the progress of a batch, asked for
        # No gateway consumes the inbound queue here: nothing waits for a decision.
        assert "0 accepted, 0 failed again, 2 not decided (no gateway consumes" in group.stderr
        assert wait_depth(ch, inbound, 2) == 2
        assert {p.message_id for p, _ in drain(ch, inbound)} == {f"{b}~replay1", f"{c}~replay1"}

        everything = cli(env, "dlq", "replay", "--all")
        assert everything.exit_code == 0, everything.output
        assert wait_depth(ch, inbound, 1) == 1
        assert [p.message_id for p, _ in drain(ch, inbound)] == [f"{d}~replay1"]
        assert depth(ch, dlq) == 0

        nothing = cli(env, "dlq", "replay", "--all")
        assert nothing.exit_code == 1
        usage = cli(env, "dlq", "replay")
        assert usage.exit_code == 2

    trail = [json.loads(x) for x in cli(env, "audit", "--json").stdout.splitlines()]
    assert [e["action"] for e in trail] == ["replay", "replay", "replay"]
    assert all(e["actor"] == "alice" for e in trail)
    assert trail[-1]["message_ids"] == [a]
    assert set(trail[-2]["message_ids"]) == {b, c}
    assert "replayed" in cli(env, "audit").stdout


def test_poison_message_dead_lettered_by_rabbitmq_replays_to_its_queue(env: dict[str, str]) -> None:
    """A message RabbitMQ dead-letters at the quorum delivery limit: reason DELIVERY_LIMIT."""
    from gateway.messaging import broker

    settings = settings_for(env)
    names = Names(settings.name_prefix)
    inbound = names.inbound("apcs")
    dlq = names.dead_letter(inbound)
    with channel_for(settings) as ch:
        broker.publish(ch, inbound, "", GOOD, message_id="poison-1")
        # A worker that crashes on it every time: the broker gives up after delivery_limit.
        for _ in range(settings.delivery_limit + 3):
            method, _props, _body = ch.basic_get(inbound, auto_ack=False)
            if method is None:
                break
            ch.basic_nack(method.delivery_tag, requeue=True)
        assert wait_depth(ch, dlq, 1) == 1
        [letter] = _list(env)
        assert letter["reason"] == "DELIVERY_LIMIT"
        assert letter["stage"] == "broker"
        assert letter["partner"] == "apcs"
        shown = cli(env, "dlq", "show", "poison-1")
        assert "x-death history" in shown.stdout
        replayed = cli(env, "dlq", "replay", "--reason", "DELIVERY_LIMIT")
        assert replayed.exit_code == 0, replayed.output
        assert wait_depth(ch, inbound, 1) == 1
        [(props, body)] = drain(ch, inbound)
        assert props.message_id == "poison-1~replay1" and body == GOOD
        assert "x-death" not in (props.headers or {})
        assert depth(ch, dlq) == 0


def test_edit_validates_replays_and_audits_the_diff(env: dict[str, str], tmp_path: Path) -> None:
    settings = settings_for(env)
    names = Names(settings.name_prefix)
    inbound = names.inbound("apcs")
    dlq = names.dead_letter(inbound)
    # $EDITOR is run with the file name; these "editors" are scripts.
    fixer = tmp_path / "fix.sh"
    fixer.write_text("#!/bin/sh\nsed -i 's/UNT+99+1/UNT+9+1/' \"$1\"\n")
    breaker = tmp_path / "break.sh"
    breaker.write_text("#!/bin/sh\nsed -i 's/UNT+99+1/UNT+7+1/' \"$1\"\n")
    for f in (fixer, breaker):
        f.chmod(f.stat().st_mode | stat.S_IXUSR)
    with channel_for(settings) as ch:
        m = dead_letter(ch, settings, BAD_COUNT)
        wait_depth(ch, dlq, 1)

        refused = cli({**env, "EDITOR": str(breaker)}, "dlq", "edit", m)
        assert refused.exit_code == 1
        assert "still rejected" in refused.stderr
        assert wait_depth(ch, dlq, 1) == 1 and depth(ch, inbound) == 0

        done = cli({**env, "EDITOR": str(fixer)}, "dlq", "edit", m)
        assert done.exit_code == 0, done.output
        assert wait_depth(ch, inbound, 1) == 1
        [(props, body)] = drain(ch, inbound)
        assert body == BAD_COUNT.replace(b"UNT+99+1", b"UNT+9+1")
        assert props.message_id == f"{m}~replay1"
        assert (props.headers or {})["x-edigw-edited-by"] == "alice"
        assert depth(ch, dlq) == 0

    [entry] = [
        json.loads(x) for x in cli(env, "audit", "--json", "--action", "edit").stdout.splitlines()
    ]
    assert entry["message_ids"] == [m]
    assert base64.b64decode(entry["data"]["original_base64"]) == BAD_COUNT
    assert "-UNT+99+1'" in entry["data"]["diff"] and "+UNT+9+1'" in entry["data"]["diff"]


def test_purge_needs_yes_and_keeps_the_content_in_the_audit(env: dict[str, str]) -> None:
    settings = settings_for(env)
    names = Names(settings.name_prefix)
    dlq = names.dead_letter(names.inbound("apcs"))
    with channel_for(settings) as ch:
        keep = dead_letter(ch, settings, GOOD, reason="UNROUTABLE", stage="route")
        gone = dead_letter(ch, settings, BAD_COUNT)
        wait_depth(ch, dlq, 2)
        assert cli(env, "dlq", "purge", "--reason", "EDIFACT_SYNTAX").exit_code == 2
        assert cli(env, "dlq", "purge", "--yes").exit_code == 2  # no selection: refused
        assert wait_depth(ch, dlq, 2) == 2
        purged = cli(env, "dlq", "purge", "--reason", "EDIFACT_SYNTAX", "--yes")
        assert purged.exit_code == 0, purged.output
        assert wait_depth(ch, dlq, 1) == 1
        assert [d["message_id"] for d in _list(env)] == [keep]
    [entry] = [
        json.loads(x) for x in cli(env, "audit", "--json", "--message", gone).stdout.splitlines()
    ]
    assert entry["action"] == "purge"
    assert base64.b64decode(entry["data"]["messages"][0]["body_base64"]) == BAD_COUNT


def test_reading_while_messages_keep_coming_loses_nothing(env: dict[str, str]) -> None:
    """Browsing many times never drops a message (channel close returns what we held)."""
    settings = settings_for(env)
    names = Names(settings.name_prefix)
    dlq = names.dead_letter(names.inbound("apcs"))
    with channel_for(settings) as ch:
        ids = {dead_letter(ch, settings, BAD_COUNT) for _ in range(5)}
        for _ in range(25):  # more than RabbitMQ 4's default quorum delivery limit (20)
            assert {d["message_id"] for d in _list(env)} == ids
        ids.add(dead_letter(ch, settings, BAD_COUNT))
        assert {d["message_id"] for d in _list(env)} == ids
        assert wait_depth(ch, dlq, 6) == 6


def test_broker_unreachable_exits_3(env: dict[str, str]) -> None:
    result = cli({**env, "EDIGW_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2F"}, "dlq", "list")
    assert result.exit_code == 3
