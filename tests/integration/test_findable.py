"""Every message findable, one story, and its log lines (issue #19, points 1 and 8).

The real worker on the real broker: a manifest refused for its syntax and one refused by a
business rule are found by their document number, bill and container, in any case and by
prefix; a replay shows beside its original; every log line of a message's story says
whose it is, its correlation id and (once decoded) its business reference.
"""

from __future__ import annotations

import json
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
    gateway_running,
    settings_for,
)

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
BAD_CONTAINER = (
    ROOT / "samples" / "apcs" / "05-cuscar-rejected-container-check-digit.edi"
).read_bytes()


@pytest.fixture
def gateway_log(gateway_env: dict[str, str], tmp_path: Path) -> Iterator[Path]:
    with gateway_running(gateway_env, tmp_path / "gateway.log") as path:
        yield path


def _letters(env: dict[str, str]) -> list[dict[str, object]]:
    out = cli(env, "dlq", "list", "--json").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _wait(predicate: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.3)
    raise AssertionError("timed out")


def _lines(log: Path, message_id: str) -> list[dict[str, object]]:
    out = []
    for raw in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("message_id") == message_id:
            out.append(line)
    return out


def test_refused_messages_are_found_by_their_references_and_replays_join_the_story(
    gateway_env: dict[str, str], gateway_log: Path
) -> None:
    env = {**gateway_env, "EDIGW_OPERATOR": "dave"}
    names = Names(settings_for(env).name_prefix)
    with channel_for(settings_for(env)) as ch:
        broker.publish(ch, names.inbound("apcs"), "", BAD_COUNT, message_id="find-syntax")
        broker.publish(
            ch, names.inbound("apcs"), "", BAD_CONTAINER, message_id="find-rules",
            correlation_id="corr-rules",
        )  # fmt: skip
        _wait(lambda: len(_letters(env)) == 2)

    # Refused for its syntax: its document number (BGM), in lower case, by a prefix.
    found = cli(env, "track", "man-dzalg-2611-00")
    assert found.exit_code == 0, found.output
    assert "find-syntax" in found.stdout and "find-rules" in found.stdout
    # Refused by a business rule: decoded first, so its bills and containers are indexed.
    for reference in ("MEDUAB123457", "mscu123", "TghU76543"):
        tracked = cli(env, "track", reference, "--json")
        assert tracked.exit_code == 0, (reference, tracked.output)
        [payload] = [json.loads(x) for x in tracked.stdout.splitlines()]  # one object, one line
        assert [m["message_id"] for m in payload["messages"]] == ["find-rules"]
    # A limit, said on stderr when more matched.
    limited = cli(env, "track", "MAN-DZALG", "--limit", "1")
    assert limited.exit_code == 0 and "more than 1 messages match" in limited.stderr
    # Nothing matched: exit 1, nothing on stdout. Wildcards are not wildcards.
    nothing = cli(env, "track", "MAN_DZALG")
    assert nothing.exit_code == 1 and nothing.stdout == "" and "no message" in nothing.stderr

    # A replay shows beside its original: one story.
    [letter] = [x for x in _letters(env) if x["message_id"] == "find-syntax"]
    assert cli(env, "dlq", "replay", str(letter["id"])).exit_code == 0
    _wait(lambda: any(x["message_id"] == "find-syntax~replay1" for x in _letters(env)))
    story = cli(env, "track", "MAN-DZALG-2611-002")
    assert story.exit_code == 0
    assert "find-syntax~replay1  inbound" not in story.stdout  # decided: its type is known
    assert "find-syntax~replay1" in story.stdout and "(replay of find-syntax)" in story.stdout
    by_id = {
        m["message_id"]: m
        for m in json.loads(cli(env, "track", "find-syntax", "--json").stdout)["messages"]
    }
    assert by_id["find-syntax~replay1"]["parent_id"] == "find-syntax"
    assert "rejected" in [e["status"] for e in by_id["find-syntax~replay1"]["events"]]

    # Every line of a message's story: whose, which correlation, about what.
    _wait(lambda: any(line["event"] == "done" for line in _lines(gateway_log, "find-rules")))
    lines = _lines(gateway_log, "find-rules")
    events = [line["event"] for line in lines]
    assert {"received", "decided", "dead-lettered", "done"} <= set(events), events
    for line in lines:
        assert line["partner"] == "apcs", line
        assert line["correlation_id"] == "corr-rules", line
        assert "business_reference" in line, line
    decided_from = events.index("dead-lettered")
    for line in lines[decided_from:]:
        assert line["business_reference"] == "MAN-DZALG-2611-005", line
    syntax = _lines(gateway_log, "find-syntax")
    assert [line["business_reference"] for line in syntax if line["event"] == "done"] == [
        "MAN-DZALG-2611-002"
    ]
    assert all(line["correlation_id"] == "find-syntax" for line in syntax)


def test_topology_and_submit_print_one_json_object_per_line(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    """Issue #19, point 7: ``--json`` on ``topology`` and ``submit``."""
    declared = cli(gateway_env, "topology", "--json")
    assert declared.exit_code == 0, declared.output
    objects = [json.loads(line) for line in declared.stdout.splitlines()]
    names = Names(settings_for(gateway_env).name_prefix)
    inbound = next(
        o for o in objects if o["kind"] == "queue" and o["name"] == names.inbound("apcs")
    )
    assert inbound["arguments"]["x-queue-type"] == "quorum" and inbound["bindings"]
    assert any(o["kind"] == "exchange" for o in objects)

    sample = tmp_path / "bad.edi"
    sample.write_bytes(BAD_COUNT)
    submitted = cli(gateway_env, "submit", "--partner", "apcs", "--json", str(sample), str(sample))
    assert submitted.exit_code == 0, submitted.output
    lines = [json.loads(line) for line in submitted.stdout.splitlines()]
    assert [(x["file"], x["partner"]) for x in lines] == [(str(sample), "apcs")] * 2
    assert len({x["message_id"] for x in lines}) == 2
    with channel_for(settings_for(gateway_env)) as ch:
        queue = names.inbound("apcs")
        assert int(ch.queue_declare(queue, passive=True).method.message_count) == 2
