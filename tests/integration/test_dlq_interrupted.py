"""An interrupted bulk replay loses nothing: each message is replayed, or still dead, or both.

The replay process is killed hard (``os._exit``, no cleanup, no ack sent) after N
confirmed publishes and *before* the N-th acknowledgement: the worst moment.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from gateway.messaging.naming import Names
from tests.integration.test_dlq_support import (
    BAD_COUNT,
    channel_for,
    cli,
    dead_letter,
    depth,
    drain,
    settings_for,
    wait_depth,
)

pytestmark = pytest.mark.broker


def test_killed_bulk_replay_leaves_every_message_replayed_or_still_dead(
    gateway_env: dict[str, str],
) -> None:
    settings = settings_for(gateway_env)
    names = Names(settings.name_prefix)
    inbound = names.inbound("apcs")
    dlq = names.dead_letter(inbound)
    with channel_for(settings) as ch:
        ids = [dead_letter(ch, settings, BAD_COUNT + str(i).encode()) for i in range(10)]
        assert wait_depth(ch, dlq, 10) == 10

        crashed = subprocess.run(
            [sys.executable, "-m", "gateway", "dlq", "replay", "--all"],
            env={**gateway_env, "EDIGW_TEST_DLQ_CRASH_AFTER": "4"},
            capture_output=True,
            timeout=60,
        )
        assert crashed.returncode == 70, crashed.stderr.decode()

        # 4 published and confirmed; 3 of them acknowledged (gone from the DLQ); the 4th was
        # published but its ack never left: it is in both places (at-least-once).
        assert wait_depth(ch, inbound, 4) == 4
        assert wait_depth(ch, dlq, 7) == 7
        replayed = [_original(p.message_id) for p, _ in drain(ch, inbound)]
        still_dead = {
            d["message_id"]
            for d in map(_json, cli(gateway_env, "dlq", "list", "--json").stdout.splitlines())
        }
        assert set(replayed) | still_dead == set(ids)  # nothing lost
        assert len(set(replayed) & still_dead) == 1  # the one caught between confirm and ack
        assert len(replayed) == len(set(replayed))

        # Running it again finishes the job; the one duplicate is all at-least-once costs.
        again = cli(gateway_env, "dlq", "replay", "--all")
        assert again.exit_code == 0, again.output
        assert wait_depth(ch, inbound, 7) == 7
        again_ids = [p.message_id for p, _ in drain(ch, inbound)]
        replayed += [_original(i) for i in again_ids]
        counts = Counter(replayed)
        assert set(counts) == set(ids)
        assert sorted(counts.values()) == [1] * 9 + [2]
        # The duplicate carries the same derived id both times, so the worker's
        # idempotency recognises it: at-least-once here, effectively once downstream.
        assert all(i.endswith("~replay1") for i in again_ids)
        assert depth(ch, dlq) == 0


def test_a_message_that_cannot_go_back_stays_in_the_dlq(gateway_env: dict[str, str]) -> None:
    settings = settings_for(gateway_env)
    names = Names(settings.name_prefix)
    inbound = names.inbound("apcs")
    dlq = names.dead_letter(inbound)
    with channel_for(settings) as ch:
        ok = dead_letter(ch, settings, BAD_COUNT)
        lost_route = dead_letter(ch, settings, BAD_COUNT, partner="commerce")
        wait_depth(ch, dlq, 1)
        # The commerce exchange is gone (e.g. the partner was removed): unroutable.
        ch.exchange_delete(names.inbound("commerce"))
        result = cli(gateway_env, "dlq", "replay", "--all")
        assert result.exit_code == 1
        assert "NOT replayed" in result.stderr
        assert wait_depth(ch, inbound, 1) == 1
        assert [_original(p.message_id) for p, _ in drain(ch, inbound)] == [ok]
        commerce_dlq = names.dead_letter(names.inbound("commerce"))
        assert wait_depth(ch, commerce_dlq, 1) == 1
        [(props, _body)] = drain(ch, commerce_dlq)
        assert props.message_id == lost_route


def _json(line: str) -> dict[str, object]:
    import json

    return dict(json.loads(line))


def _original(message_id: str | None) -> str:
    return (message_id or "").split("~replay")[0]
