"""Every log line carries message_id, partner and correlation_id; JSON off a terminal."""

from __future__ import annotations

import json

import pytest

from gateway.logs import configure, get_logger, message_context


def test_json_lines_carry_the_message_context(capsys: pytest.CaptureFixture[str]) -> None:
    configure("json")
    with message_context(message_id="m-1", partner="apcs", correlation_id="c-1"):
        get_logger().info("received", bytes=42)
    get_logger().info("idle")
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert first["event"] == "received"
    assert (first["message_id"], first["partner"], first["correlation_id"]) == (
        "m-1",
        "apcs",
        "c-1",
    )
    assert first["bytes"] == 42 and first["level"] == "info" and "timestamp" in first
    # Outside a message the keys are still there (null), so a search by them never misses a line.
    assert {"message_id", "partner", "correlation_id"} <= second.keys()
    assert second["message_id"] is None


def test_console_format_is_readable(capsys: pytest.CaptureFixture[str]) -> None:
    configure("console")
    with message_context(message_id="m-2", partner="agriculture", correlation_id="c-2"):
        get_logger().warning("dead-lettered", reason="SIGNATURE_INVALID")
    line = capsys.readouterr().err
    assert "dead-lettered" in line and "agriculture" in line and "SIGNATURE_INVALID" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)
