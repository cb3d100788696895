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


# What a partner may put in a message id, a reference or a sentence: retitle the window, clear
# the screen, a C1 CSI, a right-to-left override, a bell, a carriage return.
HOSTILE = ("\x1b]0;owned\x07", "\x1b[2J", "\x9b31m", "\u202e", "\r")


def test_readable_lines_escape_a_partners_control_characters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue #19, point 8: a readable line is for a terminal; a partner's text reaches it as
    data, whether the renderer would quote the value or not (no space: it would not)."""
    try:
        configure("console")
        with message_context(message_id="evil\x1b[2J-1", partner="apcs", correlation_id="c-3"):
            get_logger().warning(
                "dead-lettered",
                business_reference="MAN\x1b]0;owned\x07\x9b31m\u202e\r1",
                sentence="UNT counts 99 but message '1\x1b[2J' has 3",
            )
        line = capsys.readouterr().err
        for escape in HOSTILE:
            assert escape not in line, repr(escape)
        assert "evil\\x1b[2J-1" in line  # escaped, not dropped: the operator sees it was there
        assert "\\u202e" in line
        # JSON lines escape them by themselves, and keep the data exact once parsed.
        configure("json")
        get_logger().warning("dead-lettered", business_reference="MAN\x1b[2J\u202e")
        raw = capsys.readouterr().err
        assert "\x1b" not in raw and "\u202e" not in raw
        assert json.loads(raw)["business_reference"] == "MAN\x1b[2J\u202e"
    finally:
        configure("json")
