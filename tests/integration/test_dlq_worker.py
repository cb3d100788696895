"""Dead letters made by the real worker, replayed and edited back into the real worker.

The replay carries a derived new message id (the worker is idempotent by message id) and
the operator's broker user as user_id; the edited message is decoded afresh and routed.
"""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.messaging import broker
from gateway.messaging.naming import Names
from tests.integration.test_dlq_support import (
    BAD_COUNT,
    channel_for,
    cli,
    drain,
    gateway_running,
    settings_for,
    wait_depth,
)

pytestmark = [pytest.mark.broker, pytest.mark.e2e]


@pytest.fixture
def running_gateway(gateway_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    with gateway_running(gateway_env, tmp_path / "gateway.log"):
        yield gateway_env


def _letters(env: dict[str, str]) -> list[dict[str, object]]:
    out = cli(env, "dlq", "list", "--json").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _wait_letters(env: dict[str, str], n: int, timeout: float = 30) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    letters = _letters(env)
    while len(letters) != n and time.monotonic() < deadline:
        time.sleep(0.3)
        letters = _letters(env)
    return letters


def test_replayed_dead_letter_is_judged_again_and_edited_one_is_routed(
    running_gateway: dict[str, str], tmp_path: Path
) -> None:
    env = {**running_gateway, "EDIGW_OPERATOR": "dave"}
    settings = settings_for(env)
    names = Names(settings.name_prefix)
    with channel_for(settings) as ch:
        broker.publish(ch, names.inbound("apcs"), "", BAD_COUNT, message_id="bad-1")
        [first] = _wait_letters(env, 1)
        assert first["reason"] == "EDIFACT_SYNTAX" and first["attempts"] == 1

        # Replayed as is: the worker takes it again (a new derived id, so not a redelivery
        # of a finished message) and rejects it again; the failure count goes on.
        assert cli(env, "dlq", "replay", str(first["id"])).exit_code == 0
        deadline = time.monotonic() + 30
        letters = _letters(env)
        while (not letters or letters[0]["attempts"] != 2) and time.monotonic() < deadline:
            time.sleep(0.3)
            letters = _letters(env)
        [second] = letters
        assert second["message_id"] == "bad-1~replay1"
        assert second["attempts"] == 2
        assert second["first_failure"] == first["first_failure"]

        # An edited message is new content: the worker decodes it afresh and routes it.
        # Edit it into shape: routed to customs, nothing left in the DLQ.
        fixer = tmp_path / "fix.sh"
        fixer.write_text("#!/bin/sh\nsed -i 's/UNT+99+1/UNT+9+1/' \"$1\"\n")
        fixer.chmod(fixer.stat().st_mode | stat.S_IXUSR)
        edited = cli({**env, "EDITOR": str(fixer)}, "dlq", "edit", str(second["id"]))
        assert edited.exit_code == 0, edited.output
        assert wait_depth(ch, names.customs_core, 1, timeout=30) == 1
        [(props, body)] = drain(ch, names.customs_core)
        assert b"MAN-DZALG-2611-002" in body
        assert (props.correlation_id or "").startswith("bad-1")  # traceable to the original
        assert _wait_letters(env, 0) == []

    track = cli(env, "track", "bad-1")
    assert "replayed" in track.stdout
    actions = [json.loads(x)["action"] for x in cli(env, "audit", "--json").stdout.splitlines()]
    assert actions == ["edit", "replay"]
